// Package audit checks a corridor log from its public resources alone and
// recomputes what the server publishes from it: it reads every entry
// bundle and hash tile (C2SP tlog-tiles, over HTTP or from a local copy),
// checks the tree head's signature and cosignatures against a policy,
// every Merkle hash and every record's signature, replays the records
// through the domain rules into a temporary SQLite projection, and
// compares the API answers computed from it with the server's.
package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	flog "github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	tapi "github.com/transparency-dev/tessera/api"
	"github.com/transparency-dev/tessera/api/layout"
	"github.com/transparency-dev/tessera/client"
	"golang.org/x/mod/sumdb/note"

	"corridor/api"
	"corridor/app"
	"corridor/store"
	"corridor/witness"
)

// Source reads a log's public resources; tessera's client.HTTPFetcher and
// client.FileFetcher are both Sources.
type Source interface {
	ReadCheckpoint(ctx context.Context) ([]byte, error)
	ReadTile(ctx context.Context, level, index uint64, p uint8) ([]byte, error)
	ReadEntryBundle(ctx context.Context, index uint64, p uint8) ([]byte, error)
}

// Options configure an audit.
type Options struct {
	Source Source
	// Policy must name the log key (its "log" line); its witnesses and
	// quorum are checked against the tree head's cosignatures.
	Policy *witness.Policy
	// API is the base URL of the server whose answers to compare with the
	// recomputed ones; empty to skip the comparison.
	API  string
	HTTP *http.Client
	// Previous is an earlier tree head of the same log (from an earlier
	// audit): the new one must be consistent with it.
	Previous []byte
	// Progress receives a progress line (nil: none).
	Progress io.Writer
	// Workers is how many tiles and bundles are fetched at once (default 8).
	Workers int
	// TempDir holds the temporary projection (default os.TempDir()).
	TempDir string
}

// Problem is one thing found wrong. Index is the log index at fault, or -1.
type Problem struct {
	Index int64  `json:"index"`
	What  string `json:"what"`
}

func (p Problem) String() string {
	if p.Index >= 0 {
		return fmt.Sprintf("log index %d: %s", p.Index, p.What)
	}
	return p.What
}

// Report is the outcome of an audit.
type Report struct {
	Origin    string
	TreeSize  uint64
	Root      []byte
	TreeHead  []byte
	Cosigners []string
	Replayed  uint64   // records that passed signature and rule checks
	Compared  []string // API paths compared
	Problems  []Problem
	Notes     []string
	Took      time.Duration
}

// OK reports whether nothing was found wrong.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

func (r *Report) problem(index int64, format string, args ...any) {
	r.Problems = append(r.Problems, Problem{Index: index, What: fmt.Sprintf(format, args...)})
}

// maxLeafProblems bounds the reports of mismatching hashes, so a wholly
// different tree does not print a million lines.
const maxLeafProblems = 100

// Run audits the log. Problems found are in the report; the error is for
// an audit that could not be carried out (unreachable log, no policy).
func Run(ctx context.Context, o Options) (*Report, error) {
	start := time.Now()
	if o.Policy == nil || o.Policy.Log == nil {
		return nil, errors.New("audit: the log's verifier key is needed (a policy with a log line)")
	}
	if o.Workers <= 0 {
		o.Workers = 8
	}
	if o.HTTP == nil {
		o.HTTP = &http.Client{Timeout: 2 * time.Minute}
	}
	rep := &Report{}

	raw, err := o.Source.ReadCheckpoint(ctx)
	if err != nil {
		return nil, fmt.Errorf("audit: reading the tree head: %w", err)
	}
	rep.TreeHead = raw
	n, err := note.Open(raw, note.VerifierList(o.Policy.Log))
	if err != nil {
		rep.problem(-1, "tree head is not signed by the log key %s: %v", o.Policy.Log.Name(), err)
		return rep, nil
	}
	var cp flog.Checkpoint
	if _, err := cp.Unmarshal([]byte(n.Text)); err != nil {
		rep.problem(-1, "tree head: %v", err)
		return rep, nil
	}
	if cp.Origin != o.Policy.Log.Name() {
		rep.problem(-1, "tree head origin %q is not the log key's name %q", cp.Origin, o.Policy.Log.Name())
	}
	rep.Origin, rep.TreeSize, rep.Root = cp.Origin, cp.Size, cp.Hash
	rep.Cosigners = o.Policy.Cosigners(raw)
	if err := o.Policy.Check(raw); err != nil {
		rep.problem(-1, "%v", err)
	}
	if o.Previous != nil {
		checkPrevious(ctx, o, rep, &cp)
	}

	tmp, err := os.MkdirTemp(o.TempDir, "corridor-audit-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	st, err := store.OpenSQLite(ctx, filepath.Join(tmp, "audit.db"))
	if err != nil {
		return nil, err
	}
	defer st.Close()
	rp := app.NewReplayer(st)

	if err := walk(ctx, o, rep, cp.Size, cp.Hash, rp); err != nil {
		return nil, err
	}
	a, err := rp.Finish(ctx)
	if err != nil {
		return nil, err
	}
	if ok, at := rp.Complete(); !ok && o.API != "" {
		rep.Notes = append(rep.Notes, fmt.Sprintf("the server's answers were not compared: the recomputed projection stops at the refused record %d", at))
	} else if o.API != "" {
		if err := compare(ctx, o, rep, a); err != nil {
			return nil, err
		}
	}
	rep.Took = time.Since(start)
	return rep, nil
}

// checkPrevious checks the new tree head is consistent with an earlier one.
func checkPrevious(ctx context.Context, o Options, rep *Report, cp *flog.Checkpoint) {
	pn, err := note.Open(o.Previous, note.VerifierList(o.Policy.Log))
	if err != nil {
		rep.problem(-1, "previous tree head is not signed by the log key: %v", err)
		return
	}
	var prev flog.Checkpoint
	if _, err := prev.Unmarshal([]byte(pn.Text)); err != nil {
		rep.problem(-1, "previous tree head: %v", err)
		return
	}
	if prev.Size > cp.Size {
		rep.problem(-1, "the log shrank: previous tree head has %d entries, this one %d", prev.Size, cp.Size)
		return
	}
	if prev.Size == 0 {
		return
	}
	pb, err := client.NewProofBuilder(ctx, cp.Size, o.Source.ReadTile)
	if err != nil {
		rep.problem(-1, "consistency with the previous tree head: %v", err)
		return
	}
	p, err := pb.ConsistencyProof(ctx, prev.Size, cp.Size)
	if err != nil {
		rep.problem(-1, "consistency with the previous tree head: %v", err)
		return
	}
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, prev.Size, cp.Size, p, prev.Hash, cp.Hash); err != nil {
		rep.problem(-1, "the tree head of size %d is not consistent with the previous one of size %d: the log rewrote history: %v", cp.Size, prev.Size, err)
		return
	}
	rep.Notes = append(rep.Notes, fmt.Sprintf("consistent with the previous tree head of size %d", prev.Size))
}

type fetched struct {
	ri     layout.RangeInfo
	bundle tapi.EntryBundle
	tile   tapi.HashTile
	err    error
}

// walk reads every bundle and level-0 tile of the tree of size, in
// order (fetching several at once), checks each entry against its leaf
// hash, rebuilds the tree with a compact range that also checks the
// stored upper tiles, and replays every record.
func walk(ctx context.Context, o Options, rep *Report, size uint64, root []byte, rp *app.Replayer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	order := make(chan chan fetched, o.Workers*2)
	go func() {
		defer close(order)
		sem := make(chan struct{}, o.Workers)
		for ri := range layout.Range(0, size, size) {
			fut := make(chan fetched, 1)
			select {
			case order <- fut:
			case <-ctx.Done():
				return
			}
			sem <- struct{}{}
			go func() {
				defer func() { <-sem }()
				fut <- fetch(ctx, o.Source, ri)
			}()
		}
	}()

	rf := compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}
	cr := rf.NewEmptyRange(0)
	up := &upperTiles{ctx: ctx, src: o.Source, size: size, cache: map[uint64]cachedTile{}, rep: rep}
	prog := newProgress(o.Progress, size)
	leafProblems := 0
	for fut := range order {
		f := <-fut
		first := f.ri.Index * layout.EntryBundleWidth
		bundlePath := layout.EntriesPath(f.ri.Index, f.ri.Partial)
		tilePath := layout.TilePath(0, f.ri.Index, f.ri.Partial)
		if f.err != nil {
			return fmt.Errorf("audit: log index %d: %w", first, f.err)
		}
		want := int(f.ri.First + f.ri.N)
		if len(f.bundle.Entries) < want {
			rep.problem(int64(first)+int64(len(f.bundle.Entries)), "entry bundle %s holds %d entries, want %d", bundlePath, len(f.bundle.Entries), want)
			return nil
		}
		for j := 0; j < want; j++ {
			idx := first + uint64(j)
			data := f.bundle.Entries[j]
			leaf := rfc6962.DefaultHasher.HashLeaf(data)
			switch {
			case j >= len(f.tile.Nodes):
				if leafProblems++; leafProblems <= maxLeafProblems {
					rep.problem(int64(idx), "tile %s lacks the leaf hash", tilePath)
				}
			case !bytes.Equal(leaf, f.tile.Nodes[j]):
				if leafProblems++; leafProblems <= maxLeafProblems {
					rep.problem(int64(idx), "leaf hash in tile %s does not match the hash of the entry in %s", tilePath, bundlePath)
				}
			}
			if err := cr.Append(leaf, up.visit); err != nil {
				return fmt.Errorf("audit: compact range: %w", err)
			}
			if err := rp.Add(ctx, idx, data); err != nil {
				var ie *app.IndexError
				if !errors.As(err, &ie) {
					return fmt.Errorf("audit: replay: %w", err)
				}
				rep.problem(int64(ie.Index), "record refused on replay: %v", ie.Err)
			} else {
				rep.Replayed++
			}
		}
		prog.set(first + uint64(want))
	}
	prog.done()
	if err := ctx.Err(); err != nil {
		return err
	}
	got := rfc6962.DefaultHasher.EmptyRoot()
	if size > 0 {
		var err error
		if got, err = cr.GetRootHash(nil); err != nil {
			return fmt.Errorf("audit: root: %w", err)
		}
	}
	if !bytes.Equal(got, root) {
		rep.problem(-1, "the root of the %d entries served, %x, is not the signed root %x: the entries are not the ones the log signed", size, got, root)
	} else if leafProblems > 0 {
		rep.Notes = append(rep.Notes, "the entries match the signed root: the mismatching hashes are in the tiles, not in the entries")
	}
	if leafProblems > maxLeafProblems {
		rep.problem(-1, "%d more leaf hash mismatches not listed", leafProblems-maxLeafProblems)
	}
	return nil
}

func fetch(ctx context.Context, src Source, ri layout.RangeInfo) fetched {
	f := fetched{ri: ri}
	b, err := src.ReadEntryBundle(ctx, ri.Index, ri.Partial)
	if err != nil {
		f.err = fmt.Errorf("reading %s: %w", layout.EntriesPath(ri.Index, ri.Partial), err)
		return f
	}
	if err := f.bundle.UnmarshalText(b); err != nil {
		f.err = fmt.Errorf("parsing %s: %w", layout.EntriesPath(ri.Index, ri.Partial), err)
		return f
	}
	t, err := src.ReadTile(ctx, 0, ri.Index, ri.Partial)
	if err != nil {
		f.err = fmt.Errorf("reading %s: %w", layout.TilePath(0, ri.Index, ri.Partial), err)
		return f
	}
	if err := f.tile.UnmarshalText(t); err != nil {
		f.err = fmt.Errorf("parsing %s: %w", layout.TilePath(0, ri.Index, ri.Partial), err)
	}
	return f
}

// upperTiles compares the nodes at tree levels 8, 16, ... recomputed by the
// compact range with the hashes stored in the tiles above level 0. It keeps
// one tile per level.
type upperTiles struct {
	ctx      context.Context
	src      Source
	size     uint64
	cache    map[uint64]cachedTile
	rep      *Report
	problems int
}

type cachedTile struct {
	index uint64
	nodes [][]byte
	err   error
}

func (u *upperTiles) visit(id compact.NodeID, hash []byte) {
	if id.Level == 0 || id.Level%layout.TileHeight != 0 || u.problems > maxLeafProblems {
		return
	}
	level := uint64(id.Level / layout.TileHeight)
	tileIndex, pos := id.Index/layout.TileWidth, id.Index%layout.TileWidth
	leafIndex := int64(id.Index << id.Level)
	p := layout.PartialTileSize(level, tileIndex, u.size)
	path := layout.TilePath(level, tileIndex, p)
	ct, ok := u.cache[level]
	if !ok || ct.index != tileIndex {
		ct = cachedTile{index: tileIndex}
		raw, err := u.src.ReadTile(u.ctx, level, tileIndex, p)
		if err == nil {
			var t tapi.HashTile
			if err = t.UnmarshalText(raw); err == nil {
				ct.nodes = t.Nodes
			}
		}
		ct.err = err
		u.cache[level] = ct
		if err != nil {
			u.problems++
			u.rep.problem(leafIndex, "reading tile %s: %v", path, err)
		}
	}
	if ct.err != nil {
		return
	}
	if pos >= uint64(len(ct.nodes)) {
		u.problems++
		u.rep.problem(leafIndex, "tile %s holds %d hashes, lacks the one at %d", path, len(ct.nodes), pos)
		return
	}
	if !bytes.Equal(ct.nodes[pos], hash) {
		u.problems++
		u.rep.problem(leafIndex, "hash %d of tile %s (tree level %d, node %d) does not match the hash recomputed from the entries", pos, path, id.Level, id.Index)
	}
}

// progress prints "audit: N / M entries" on one line, at most 5 times a second.
type progress struct {
	w     io.Writer
	total uint64
	last  time.Time
	start time.Time
}

func newProgress(w io.Writer, total uint64) *progress {
	return &progress{w: w, total: total, start: time.Now()}
}

func (p *progress) set(n uint64) {
	if p.w == nil || time.Since(p.last) < 200*time.Millisecond {
		return
	}
	p.last = time.Now()
	p.print(n)
}

func (p *progress) print(n uint64) {
	pct := 100.0
	if p.total > 0 {
		pct = float64(n) * 100 / float64(p.total)
	}
	const width = 30
	bar := strings.Repeat("#", int(pct/100*width)) + strings.Repeat(".", width-int(pct/100*width))
	fmt.Fprintf(p.w, "\raudit [%s] %d / %d entries (%.0f%%) %s ", bar, n, p.total, pct, time.Since(p.start).Round(time.Second))
}

func (p *progress) done() {
	if p.w == nil {
		return
	}
	p.print(p.total)
	fmt.Fprintln(p.w)
}

// ListPaths are the API lists compared with the server's. Lists the server
// does not have (404 on both sides) are skipped, so routes added later by
// the monitoring work are compared as soon as both sides serve them.
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
}

// compare asks the server and the recomputed projection the same questions
// and reports every difference.
func compare(ctx context.Context, o Options, rep *Report, a *app.App) error {
	local := http.NewServeMux()
	api.New(a, slog.New(slog.NewTextHandler(io.Discard, nil))).Register(local)
	base := strings.TrimRight(o.API, "/")

	var health struct {
		Records uint64 `json:"records"`
	}
	if code, body, err := get(ctx, o.HTTP, base+"/healthz"); err == nil && code == http.StatusOK {
		if json.Unmarshal(body, &health) == nil && health.Records != rep.TreeSize {
			rep.Notes = append(rep.Notes, fmt.Sprintf("the server holds %d records, the audited tree head %d: answers about the newer records may differ", health.Records, rep.TreeSize))
		}
	}

	paths := append([]string{}, ListPaths...)
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
		var list struct {
			Items []struct {
				ID string `json:"id"`
			} `json:"items"`
		}
		if code, body, _ := serve(local, d.list); code == http.StatusOK {
			_ = json.Unmarshal(body, &list)
			for i, it := range list.Items {
				if i == d.max {
					break
				}
				for _, f := range d.paths {
					paths = append(paths, fmt.Sprintf(f, url.PathEscape(it.ID)))
				}
			}
		}
	}
	paths = append(paths, "/api/v1/records?limit=1000")
	if rep.TreeSize > 1000 {
		paths = append(paths, "/api/v1/records?limit=1000&after="+strconv.FormatUint(rep.TreeSize-1001, 10))
	}

	for _, p := range paths {
		lcode, lbody, _ := serve(local, p)
		scode, sbody, err := get(ctx, o.HTTP, base+p)
		if err != nil {
			return fmt.Errorf("audit: GET %s: %w", base+p, err)
		}
		if lcode == http.StatusNotFound && scode == http.StatusNotFound {
			continue
		}
		rep.Compared = append(rep.Compared, p)
		if lcode != scode {
			rep.problem(-1, "GET %s: the server answers %d, the recomputed projection %d", p, scode, lcode)
			continue
		}
		var lv, sv any
		if err := json.Unmarshal(lbody, &lv); err != nil {
			return fmt.Errorf("audit: recomputed %s: %w", p, err)
		}
		if err := json.Unmarshal(sbody, &sv); err != nil {
			rep.problem(-1, "GET %s: the server's answer is not JSON: %v", p, err)
			continue
		}
		var diffs []string
		diff("", sv, lv, &diffs)
		for i, d := range diffs {
			if i == 20 {
				rep.problem(-1, "GET %s: %d more differences", p, len(diffs)-20)
				break
			}
			rep.problem(-1, "GET %s: %s", p, d)
		}
	}
	return nil
}

func serve(h http.Handler, path string) (int, []byte, error) {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes(), nil
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
