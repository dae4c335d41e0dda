package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
	tapi "github.com/transparency-dev/tessera/api"
	"github.com/transparency-dev/tessera/api/layout"

	"corridor/app"
)

// windowEntries is how many entries are made ready for the replay at a
// time (whole bundles, so a little more). At most three windows are in
// memory at once: the one being replayed, one ready, one being prepared.
const windowEntries = 1 << 12

type fetched struct {
	ri     layout.RangeInfo
	bundle tapi.EntryBundle
	tile   tapi.HashTile
	err    error
}

// want is how many entries of the bundle belong to the tree.
func (f *fetched) want() int { return int(f.ri.First + f.ri.N) }

// window is a run of bundles with their entries prepared for the replay.
type window struct {
	bundles []fetched
	entries [][]byte   // the bundles' entries in the tree, in order
	prep    []prepared // prep[i] for entries[i]
}

// walk reads every bundle and level-0 tile of the tree of size, in
// order, and replays every record. Three stages run at once: the fetch
// (o.Workers tiles and bundles at a time), the preparation of a window of
// entries on every core (leaf hashes, parsing, signatures: see prepare),
// and, in this goroutine, the sequential part: each leaf hash against its
// tile, the compact range that rebuilds the tree (and checks the stored
// upper tiles), and the replay through the rules into the projection.
func walk(ctx context.Context, o Options, rep *Report, size uint64, root []byte, rp *app.Replayer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	windows := make(chan *window, 1)
	dec, _ := any(rp).(decodedAdder)
	go prepareWindows(ctx, o.window, o.Verifiers, fetchAll(ctx, o, size), windows, dec != nil)

	rf := compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}
	cr := rf.NewEmptyRange(0)
	up := &upperTiles{ctx: ctx, src: o.Source, size: size, cache: map[uint64]cachedTile{}, rep: rep}
	prog := newProgress(o.Progress, size)
	leafProblems := 0
	for w := range windows {
		k := 0
		for _, f := range w.bundles {
			first := f.ri.Index * layout.EntryBundleWidth
			bundlePath := layout.EntriesPath(f.ri.Index, f.ri.Partial)
			tilePath := layout.TilePath(0, f.ri.Index, f.ri.Partial)
			if f.err != nil {
				return fmt.Errorf("audit: log index %d: %w", first, f.err)
			}
			want := f.want()
			if len(f.bundle.Entries) < want {
				rep.problem(int64(first)+int64(len(f.bundle.Entries)), "entry bundle %s holds %d entries, want %d", bundlePath, len(f.bundle.Entries), want)
				return nil
			}
			for j := 0; j < want; j++ {
				idx := first + uint64(j)
				p := &w.prep[k]
				data := w.entries[k]
				k++
				switch {
				case j >= len(f.tile.Nodes):
					if leafProblems++; leafProblems <= maxLeafProblems {
						rep.problem(int64(idx), "tile %s lacks the leaf hash", tilePath)
					}
				case !bytes.Equal(p.leaf, f.tile.Nodes[j]):
					if leafProblems++; leafProblems <= maxLeafProblems {
						rep.problem(int64(idx), "leaf hash in tile %s does not match the hash of the entry in %s", tilePath, bundlePath)
					}
				}
				if err := cr.Append(p.leaf, up.visit); err != nil {
					return fmt.Errorf("audit: compact range: %w", err)
				}
				var err error
				if dec != nil && p.decoded {
					err = dec.AddDecoded(ctx, idx, p.rec, p.typ, p.pl, p.pub)
				} else {
					err = rp.Add(ctx, idx, data)
				}
				*p = prepared{} // let the record go
				if err != nil {
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
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	prog.done()
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

// fetchAll reads the bundles and level-0 tiles of the tree, workers at a
// time, and hands them on in order: each element of the channel is the
// future of the next bundle.
func fetchAll(ctx context.Context, o Options, size uint64) <-chan chan fetched {
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
	return order
}

// prepareWindows gathers the fetched bundles into windows, prepares their
// entries on every core, and sends them on in order. A bundle that could
// not be read, or holds too few entries, ends the last window: the replay
// reports it there.
func prepareWindows(ctx context.Context, size, workers int, order <-chan chan fetched, out chan<- *window, decode bool) {
	defer close(out)
	keys := keyring{}
	for more := true; more; {
		w := &window{}
		for len(w.entries) < size {
			fut, ok := <-order
			if !ok {
				more = false
				break
			}
			f := <-fut
			w.bundles = append(w.bundles, f)
			if f.err != nil || len(f.bundle.Entries) < f.want() {
				more = false
				break
			}
			w.entries = append(w.entries, f.bundle.Entries[:f.want()]...)
		}
		if len(w.bundles) == 0 {
			return
		}
		w.prep = make([]prepared, len(w.entries))
		prepare(workers, keys, w.entries, w.prep, decode)
		select {
		case out <- w:
		case <-ctx.Done():
			return
		}
	}
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

// progressEvery is how many entries a progress line stands for.
const progressEvery = 1 << 16

// progress prints a line every progressEvery entries: how far, how fast,
// and how long to go at that rate.
type progress struct {
	w     io.Writer
	total uint64
	next  uint64
	start time.Time
}

func newProgress(w io.Writer, total uint64) *progress {
	return &progress{w: w, total: total, next: progressEvery, start: time.Now()}
}

func (p *progress) set(n uint64) {
	if p.w == nil || n < p.next || n >= p.total {
		return
	}
	p.next = (n/progressEvery + 1) * progressEvery
	took := time.Since(p.start)
	rate := float64(n) / max(took.Seconds(), 1e-3)
	eta := time.Duration(float64(p.total-n) / rate * float64(time.Second))
	fmt.Fprintf(p.w, "audit: %d / %d entries (%.0f%%), %.0f entries/s, %s so far, about %s to go\n",
		n, p.total, float64(n)*100/float64(p.total), rate, took.Round(time.Second), eta.Round(time.Second))
}

func (p *progress) done() {
	if p.w == nil {
		return
	}
	took := time.Since(p.start)
	fmt.Fprintf(p.w, "audit: %d entries checked and replayed in %s (%.0f entries/s)\n",
		p.total, took.Round(time.Millisecond), float64(p.total)/max(took.Seconds(), 1e-3))
}
