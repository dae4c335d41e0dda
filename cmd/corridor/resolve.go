package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"corridor"
	"corridor/client"
)

// resolver turns what a user typed for a place, route, party or
// checkpoint into its id: the id itself, or any of its names in any
// language (case ignored). An ambiguous name, or one that matches nothing,
// is refused naming the flag, with what it could mean.
type resolver struct {
	ctx   context.Context
	c     *client.Client
	lists map[string][]named // by API collection, read once
}

type named struct {
	ID    string          `json:"id"`
	Names []corridor.Name `json:"names"`
}

func newResolver(ctx context.Context, c *client.Client) *resolver {
	return &resolver{ctx: ctx, c: c, lists: map[string][]named{}}
}

func (r *resolver) list(collection string) ([]named, error) {
	if l, ok := r.lists[collection]; ok {
		return l, nil
	}
	var got struct{ Items []named }
	if err := r.c.Get(r.ctx, "/api/v1/"+collection, &got); err != nil {
		return nil, err
	}
	r.lists[collection] = got.Items
	return got.Items, nil
}

// id resolves one value of flag among collection (places, routes, parties,
// checkpoints); "" stays "".
func (r *resolver) id(flag, collection, v string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", nil
	}
	all, err := r.list(collection)
	if err != nil {
		return "", err
	}
	var hits []named
	for _, n := range all {
		if n.ID == v {
			return v, nil
		}
		for _, nm := range n.Names {
			if strings.EqualFold(nm.Name, v) {
				hits = append(hits, n)
				break
			}
		}
	}
	what := strings.TrimSuffix(collection, "s")
	switch len(hits) {
	case 1:
		return hits[0].ID, nil
	case 0:
		near := nearest(v, all)
		if len(near) == 0 {
			return "", usagef("-%s %q: no %s has that id or name (GET /api/v1/%s lists them)", flag, v, what, collection)
		}
		return "", usagef("-%s %q: no %s has that id or name; did you mean %s?", flag, v, what, strings.Join(near, ", or "))
	}
	return "", usagef("-%s %q: names more than one %s: %s; give its id", flag, v, what, strings.Join(describe(hits), ", "))
}

// ids resolves a comma-separated list.
func (r *resolver) ids(flag, collection, v string) (string, error) {
	var out []string
	for _, x := range splitList(v) {
		id, err := r.id(flag, collection, x)
		if err != nil {
			return "", err
		}
		out = append(out, id)
	}
	return strings.Join(out, ","), nil
}

// resolve sets each flag value to the id it names.
func (r *resolver) resolve(flags ...resolveFlag) error {
	for _, f := range flags {
		var err error
		if f.list {
			*f.v, err = r.ids(f.flag, f.collection, *f.v)
		} else {
			*f.v, err = r.id(f.flag, f.collection, *f.v)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// resolve sets each flag to the id it names, asking the server named by
// the client flags.
func (o *clientOpts) resolve(ctx context.Context, flags ...resolveFlag) error {
	c, err := o.client()
	if err != nil {
		return err
	}
	return newResolver(ctx, c).resolve(flags...)
}

type resolveFlag struct {
	flag, collection string
	v                *string
	list             bool
}

func describe(ns []named) []string {
	var out []string
	for _, n := range ns {
		var names []string
		for _, nm := range n.Names {
			names = append(names, nm.Name)
		}
		out = append(out, fmt.Sprintf("%s (%s)", n.ID, strings.Join(names, " / ")))
	}
	return out
}

// nearest lists, closest first, up to three entries whose id or a name
// contains v or is within a few edits of it.
func nearest(v string, all []named) []string {
	type cand struct {
		n    named
		dist int
	}
	lv := strings.ToLower(v)
	var cs []cand
	for _, n := range all {
		best := -1
		for _, s := range append([]string{n.ID}, namesOf(n)...) {
			ls := strings.ToLower(s)
			d := editDistance(lv, ls)
			if strings.Contains(ls, lv) || strings.Contains(lv, ls) {
				d = 0
			}
			if best < 0 || d < best {
				best = d
			}
		}
		if best <= max(2, utf8.RuneCountInString(v)/4) {
			cs = append(cs, cand{n, best})
		}
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].dist < cs[j].dist })
	var out []named
	for i := 0; i < len(cs) && i < 3; i++ {
		out = append(out, cs[i].n)
	}
	return describe(out)
}

func namesOf(n named) []string {
	var out []string
	for _, nm := range n.Names {
		out = append(out, nm.Name)
	}
	return out
}

// editDistance is the Levenshtein distance between a and b, in runes.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
