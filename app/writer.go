package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"corridor"
	"corridor/ledger"
	"corridor/record"
	"corridor/store"
)

// The writer is a pipeline of two goroutines. The writer takes the queued
// jobs as a group, checks them against its private state, saves their
// personal values and appends them to the log; once the log says they are
// durable it commits them to the state and hands the group to the
// projector, then goes on with the next group. The projector writes each
// group into SQL, in log order, and only then answers its clients, so that
// a client reads its own writes. No lock is held across the append's fsync
// or the projection's commit.

// maxBehind bounds the records the projector keeps to write again after a
// failed projection write; beyond it the projection catches up at the next
// start.
const maxBehind = 100_000

// writerState is the writer's bookkeeping, apart from the domain state.
type writerState struct {
	proj chan *projection // groups to project, in log order

	pmu         sync.Mutex
	pcond       *sync.Cond
	projected   uint64 // records the projection holds
	projStopped bool

	// Owned by the writer goroutine:
	snapSize uint64        // records covered by the last snapshot taken (or loaded)
	snapTime time.Time     // when it was taken
	snapBusy chan struct{} // closed when the snapshot being written is done; nil if none
	saved    uint64        // records covered by the last snapshot on disk; written under pmu
}

func newWriterState() *writerState {
	w := &writerState{proj: make(chan *projection, 4)}
	w.pcond = sync.NewCond(&w.pmu)
	return w
}

func (w *writerState) setProjected(n uint64) {
	w.pmu.Lock()
	w.projected = n
	w.pcond.Broadcast()
	w.pmu.Unlock()
}

func (w *writerState) projectedSize() uint64 {
	w.pmu.Lock()
	defer w.pmu.Unlock()
	return w.projected
}

// waitProjected waits until the projection holds n records, and reports
// false if the projector stopped first.
func (w *writerState) waitProjected(n uint64) bool {
	w.pmu.Lock()
	defer w.pmu.Unlock()
	for w.projected < n && !w.projStopped {
		w.pcond.Wait()
	}
	return w.projected >= n
}

func (w *writerState) setSaved(n uint64) {
	w.pmu.Lock()
	w.saved = n
	w.pmu.Unlock()
}

func (w *writerState) savedSize() uint64 {
	w.pmu.Lock()
	defer w.pmu.Unlock()
	return w.saved
}

// projection is one group for the projector: its entries, and the jobs to
// answer once they are written.
type projection struct {
	entries []store.Entry
	jobs    []*job
	results [][]Result
}

// writer is the single goroutine that sequences records.
func (a *App) writer() {
	defer close(a.done)
	w := a.w
	projDone := make(chan struct{})
	go a.projector(projDone)
	w.snapTime = time.Now()
	a.maybeSnapshot() // after a long replay
	for {
		group, ok := a.nextGroup()
		if !ok {
			break
		}
		a.commit(group)
		a.maybeSnapshot()
	}
	close(w.proj)
	<-projDone
	a.closingSnapshot()
}

// nextGroup waits for a job and takes every other job queued with it. At
// Close it answers what is still queued and reports false.
func (a *App) nextGroup() ([]*job, bool) {
	var group []*job
	select {
	case j := <-a.jobs:
		group = append(group, j)
	case <-a.closed:
		for {
			select {
			case j := <-a.jobs:
				j.reply <- jobResult{err: ErrClosed}
			default:
				return nil, false
			}
		}
	}
	for len(group) < 256 {
		select {
		case j := <-a.jobs:
			group = append(group, j)
		default:
			return group, true
		}
	}
	return group, true
}

// commit checks every job of a group against the state, appends the
// accepted records to the log in one go and, once they are durable, hands
// them to the projector. A refused job is answered at once; the others
// once the projector has written them.
func (a *App) commit(group []*job) {
	ctx := context.Background()
	st := a.st
	a.mu.Lock()
	st.Begin()
	base := st.Size
	var entries [][]byte
	var proj []store.Entry
	openings := map[string]record.Opening{}
	results := make([][]Result, len(group))
	errs := make([]error, len(group))
	keysChange := false
	for gi, j := range group {
		mark := st.Mark()
		nEntries, nProj := len(entries), len(proj)
		mine := map[string]record.Opening{}
		for i, s := range j.subs {
			r := s.Record
			if ref, ok := st.Records[r.ID]; ok && ref.Hash == r.Hash() {
				results[gi] = append(results[gi], Result{ID: r.ID, Index: ref.Index, Duplicate: true})
				continue
			}
			idx := base + uint64(len(entries))
			p := s.payload
			if err := st.CheckDecoded(r, s.typ, p, idx, s.pub, false); err != nil {
				errs[gi] = corridor.AsError(err, prefix(i))
				break
			}
			pe := a.entry(idx, r, p)
			if j.caller != "" && pe.Party != j.caller {
				errs[gi] = &corridor.Error{Code: corridor.CodeForbidden, Field: prefix(i) + ".key",
					Reason: fmt.Sprintf("signed by a key of %q, but the caller's token is for %q", pe.Party, j.caller)}
				break
			}
			e, _ := r.Entry() // computed by precheck
			entries = append(entries, e)
			proj = append(proj, pe)
			for c, o := range s.Private {
				mine[c] = o
			}
			results[gi] = append(results[gi], Result{ID: r.ID, Index: idx})
		}
		if errs[gi] != nil {
			st.RollbackTo(mark)
			entries, proj, results[gi] = entries[:nEntries], proj[:nProj], nil
			continue
		}
		for c, o := range mine {
			openings[c] = o
		}
	}
	a.mu.Unlock()
	for _, e := range proj {
		if _, ok := e.Payload.(*corridor.Party); ok {
			keysChange = true
		}
	}
	var accepted []*job
	var answers [][]Result
	for gi, j := range group {
		if errs[gi] != nil {
			j.reply <- jobResult{err: errs[gi]}
			continue
		}
		accepted = append(accepted, j)
		answers = append(answers, results[gi])
	}

	var err error
	if len(entries) > 0 {
		err = a.append(ctx, base, entries, openings)
	}
	if err != nil {
		a.mu.Lock()
		st.Rollback()
		a.mu.Unlock()
		a.lg.Error("append failed", slog.Any("err", err))
		// Some entries may have become durable: bring the state up to
		// whatever the log now holds, and project that too.
		if cerr := a.catchUp(ctx, st.Size, a.toProjector); cerr != nil {
			a.lg.Error("catch up after failed append", slog.Any("err", cerr))
		}
		err = appendFailure(err)
		for _, j := range accepted {
			j.reply <- jobResult{err: err}
		}
		return
	}
	a.mu.Lock()
	st.Commit()
	a.mu.Unlock()
	if keysChange {
		a.published()
	} else {
		a.size.Store(st.Size)
	}
	a.w.proj <- &projection{entries: proj, jobs: accepted, results: answers}
}

// toProjector queues entries for the projector, with nobody to answer.
func (a *App) toProjector(entries []store.Entry) error {
	a.w.proj <- &projection{entries: entries}
	return nil
}

// append stores the private openings, then appends the entries and checks
// they landed where the state expects them.
func (a *App) append(ctx context.Context, base uint64, entries [][]byte, openings map[string]record.Opening) error {
	if len(openings) > 0 {
		if err := a.store.SavePrivate(ctx, openings); err != nil {
			return fmt.Errorf("save private values: %w", err)
		}
	}
	idx, err := a.log.Append(ctx, entries)
	if err != nil {
		if errors.Is(err, ledger.ErrPushback) {
			return fmt.Errorf("%w: %v", ErrBusy, err)
		}
		return err
	}
	for i, x := range idx {
		if x != base+uint64(i) {
			return fmt.Errorf("log placed entry %d at index %d, expected %d", i, x, base+uint64(i))
		}
	}
	return nil
}

// appendFailure is what the clients of a group hear when its append
// failed: busy and shutting down as they are, anything else (a disk that
// is full, a write or sync that failed) as ErrUnavailable.
func appendFailure(err error) error {
	switch {
	case errors.Is(err, ErrBusy), errors.Is(err, ErrClosed), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.Is(err, ledger.ErrClosed):
		return fmt.Errorf("%w: %v", ErrClosed, err)
	}
	return fmt.Errorf("%w: %v", ErrUnavailable, err)
}

// projector writes the groups the writer hands it into SQL, in order, and
// answers their clients. When a write fails, the records are durable in
// the log all the same: the projector writes them again with the next
// group, and a start catches the projection up from the log in any case.
func (a *App) projector(done chan<- struct{}) {
	defer close(done)
	defer func() {
		a.w.pmu.Lock()
		a.w.projStopped = true
		a.w.pcond.Broadcast()
		a.w.pmu.Unlock()
	}()
	ctx := context.Background()
	var behind []store.Entry
	for p := range a.w.proj {
		entries := p.entries
		if len(behind) > 0 {
			entries = append(behind, p.entries...)
		}
		if len(entries) > 0 {
			if err := a.store.Apply(ctx, entries); err != nil {
				a.lg.Error("projection write failed; the records are in the log", slog.Any("err", err),
					slog.Uint64("from", entries[0].Index), slog.Int("records", len(entries)))
				behind = entries
				if len(behind) > maxBehind {
					a.lg.Error("projection write failed too often: it catches up at the next start")
					behind = nil
				}
			} else {
				behind = nil
				a.w.setProjected(entries[len(entries)-1].Index + 1)
			}
		}
		for i, j := range p.jobs {
			j.reply <- jobResult{results: p.results[i]}
		}
	}
}
