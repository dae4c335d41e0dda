package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"sort"
	"strings"

	"corridor/api"
	"corridor/app"
)

// ListPaths are the API lists compared with the server's, page by page
// (a list that pages answers next_after, the cursor of its next page).
// Lists the server does not have (404 on both sides) are skipped, so
// routes added later are compared as soon as both sides serve them.
var ListPaths = []string{
	"/api/v1/parties",
	"/api/v1/places",
	"/api/v1/routes",
	"/api/v1/checkpoints",
	"/api/v1/convoys",
	"/api/v1/statements",
	"/api/v1/clearances",
	"/api/v1/incidents",
	"/api/v1/claims",
	"/api/v1/access-categories",
	"/api/v1/records",
}

// pageSize is the limit asked for each page (the API's largest).
const pageSize = 1000

// maxDiffs bounds the differences listed for one answer or one list.
const maxDiffs = 20

// comparer asks the server and the recomputed projection the same
// questions. Only one page of each is held at a time.
type comparer struct {
	ctx   context.Context
	http  *http.Client
	base  string
	local http.Handler
	rep   *Report
	prog  io.Writer
}

// compare asks the server and the recomputed projection the same questions
// and reports every difference.
func compare(ctx context.Context, o Options, rep *Report, a *app.App) error {
	local := http.NewServeMux()
	api.New(a, slog.New(slog.DiscardHandler)).Register(local)
	c := &comparer{ctx: ctx, http: o.HTTP, base: strings.TrimRight(o.API, "/"), local: local, rep: rep, prog: o.Progress}

	var health struct {
		Records uint64 `json:"records"`
	}
	if code, body, err := get(ctx, o.HTTP, c.base+"/healthz"); err == nil && code == http.StatusOK {
		if json.Unmarshal(body, &health) == nil && health.Records != rep.TreeSize {
			rep.Notes = append(rep.Notes, fmt.Sprintf("the server holds %d records, the audited tree head %d: answers about the newer records may differ", health.Records, rep.TreeSize))
		}
	}

	for _, p := range ListPaths {
		if err := c.list(p); err != nil {
			return err
		}
	}
	// Details: every route's status, every settlement's coverage, and the
	// first convoys (all of them for a small log).
	details := []struct {
		list  string
		paths []string
		max   int
	}{
		{"/api/v1/routes", []string{"/api/v1/routes/%s", "/api/v1/routes/%s/status"}, 1000},
		{"/api/v1/places", []string{"/api/v1/settlements/%s/coverage"}, 1000},
		{"/api/v1/convoys", []string{"/api/v1/convoys/%s", "/api/v1/convoys/%s/clearance"}, 100},
	}
	for _, d := range details {
		for _, id := range c.localIDs(d.list, d.max) {
			for _, f := range d.paths {
				p := fmt.Sprintf(f, url.PathEscape(id))
				var ds diffs
				ok, _, _, err := c.one(p, &ds)
				if err != nil {
					return err
				}
				if ok {
					rep.Compared = append(rep.Compared, p)
					rep.Pages++
				}
				ds.report(rep, p)
			}
		}
	}
	return nil
}

// diffs gathers the differences found in an answer or a list: the first
// maxDiffs of them, and how many there are.
type diffs struct {
	first []string
	n     int
}

func (d *diffs) add(format string, args ...any) {
	if d.n++; d.n <= maxDiffs {
		d.first = append(d.first, fmt.Sprintf(format, args...))
	}
}

func (d *diffs) report(rep *Report, path string) {
	for _, s := range d.first {
		rep.problem(-1, "%s", s)
	}
	if d.n > maxDiffs {
		rep.problem(-1, "GET %s: %d more differences", path, d.n-maxDiffs)
	}
}

// list compares a list page by page, following the cursor (next_after)
// for as long as both sides give the same one.
func (c *comparer) list(path string) error {
	var ds diffs
	pages, after := 0, ""
	for {
		p := fmt.Sprintf("%s?limit=%d", path, pageSize)
		if after != "" {
			p += "&after=" + url.QueryEscape(after)
		}
		ok, lnext, snext, err := c.one(p, &ds)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		pages++
		if lnext == "" || lnext != snext {
			break // the last page, or the two sides no longer page alike (a difference already listed)
		}
		after = lnext
	}
	if pages == 0 {
		return nil
	}
	c.rep.Compared = append(c.rep.Compared, path)
	c.rep.Pages += pages
	ds.report(c.rep, path)
	if c.prog != nil {
		fmt.Fprintf(c.prog, "audit: compared %s with the server: %d pages, %d differences\n", path, pages, ds.n)
	}
	return nil
}

// one compares one answer and adds its differences to ds. It reports
// whether the answer was compared (not a 404 on both sides) and returns
// the next_after cursors of the recomputed answer and of the server's.
func (c *comparer) one(p string, ds *diffs) (ok bool, lnext, snext string, err error) {
	// The server answers while the recomputed answer is made and decoded.
	type answer struct {
		code int
		body []byte
		err  error
	}
	server := make(chan answer, 1)
	go func() {
		code, body, err := get(c.ctx, c.http, c.base+p)
		server <- answer{code, body, err}
	}()
	lcode, lbody := serve(c.local, p)
	lv, lerr := decode(lbody)
	s := <-server
	if s.err != nil {
		return false, "", "", fmt.Errorf("audit: GET %s: %w", c.base+p, s.err)
	}
	if lcode == http.StatusNotFound && s.code == http.StatusNotFound {
		return false, "", "", nil
	}
	if lcode != s.code {
		ds.add("GET %s: the server answers %d, the recomputed projection %d", p, s.code, lcode)
		return true, "", "", nil
	}
	if lerr != nil {
		return false, "", "", fmt.Errorf("audit: recomputed %s: %w", p, lerr)
	}
	sv, err := decode(s.body)
	if err != nil {
		ds.add("GET %s: the server's answer is not JSON: %v", p, err)
		return true, "", "", nil
	}
	var found []string
	diff("", sv, lv, &found)
	for _, d := range found {
		ds.add("GET %s: %s", p, d)
	}
	return true, cursor(lv), cursor(sv), nil
}

// localIDs lists the ids of the first max items of a recomputed list.
func (c *comparer) localIDs(path string, max int) []string {
	var ids []string
	after := ""
	for len(ids) < max {
		p := fmt.Sprintf("%s?limit=%d", path, pageSize)
		if after != "" {
			p += "&after=" + url.QueryEscape(after)
		}
		code, body := serve(c.local, p)
		if code != http.StatusOK {
			break
		}
		var page struct {
			Items []struct {
				ID string `json:"id"`
			} `json:"items"`
		}
		if json.Unmarshal(body, &page) != nil {
			break
		}
		for _, it := range page.Items {
			if len(ids) < max {
				ids = append(ids, it.ID)
			}
		}
		v, _ := decode(body)
		if after = cursor(v); after == "" {
			break
		}
	}
	return ids
}

// decode reads a JSON answer, keeping numbers as they are written.
func decode(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}

// cursor is a list answer's next_after (a log index, or a string).
func cursor(v any) string {
	m, ok := v.(map[string]any)
	if !ok {
		return ""
	}
	switch n := m["next_after"].(type) {
	case json.Number:
		return n.String()
	case string:
		return n
	}
	return ""
}

func serve(h http.Handler, path string) (int, []byte) {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}

func get(ctx context.Context, c *http.Client, url string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	return resp.StatusCode, b, err
}

// diff lists the differences between the server's value s and the
// recomputed value l, by JSON path.
func diff(path string, s, l any, out *[]string) {
	switch sv := s.(type) {
	case map[string]any:
		lv, ok := l.(map[string]any)
		if !ok {
			break
		}
		keys := map[string]bool{}
		for k := range sv {
			keys[k] = true
		}
		for k := range lv {
			keys[k] = true
		}
		names := make([]string, 0, len(keys))
		for k := range keys {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			a, inS := sv[k]
			b, inL := lv[k]
			switch {
			case !inS:
				*out = append(*out, fmt.Sprintf("%s.%s: missing on the server, recomputed %s", path, k, short(b)))
			case !inL:
				*out = append(*out, fmt.Sprintf("%s.%s: the server has %s, not in the log", path, k, short(a)))
			default:
				diff(path+"."+k, a, b, out)
			}
		}
		return
	case []any:
		lv, ok := l.([]any)
		if !ok {
			break
		}
		for i := 0; i < len(sv) || i < len(lv); i++ {
			p := fmt.Sprintf("%s[%d]", path, i)
			switch {
			case i >= len(sv):
				*out = append(*out, fmt.Sprintf("%s: missing on the server, recomputed %s", p, short(lv[i])))
			case i >= len(lv):
				*out = append(*out, fmt.Sprintf("%s: the server has %s, not in the log", p, short(sv[i])))
			default:
				diff(p, sv[i], lv[i], out)
			}
		}
		return
	}
	if !reflect.DeepEqual(s, l) {
		*out = append(*out, fmt.Sprintf("%s: the server says %s, the log gives %s", strings.TrimPrefix(path, "."), short(s), short(l)))
	}
}

func short(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}
