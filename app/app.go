// Package app holds corridor's use cases: it takes signed records from any
// client, checks them against the current state, appends them durably to
// the log and projects them into SQL, in that order.
package app

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"corridor"
	"corridor/ledger"
	"corridor/record"
	"corridor/store"
	"corridor/wire"
)

// Limits on one submission.
const (
	MaxBatch        = wire.MaxBatch
	MaxPrivateValue = 200
)

// ErrBusy means the log is pushing back; the client should retry later.
var ErrBusy = errors.New("the log is busy; retry shortly")

// ErrClosed means the app is shutting down.
var ErrClosed = errors.New("shutting down")

// Submission and Result are the wire types: what a client sends and what
// it gets back for each accepted record.
type (
	Submission = wire.Submission
	Result     = wire.Result
)

// pending is a submission as precheck left it: decoded, and with the key
// its signature verified against when that key was already known.
type pending struct {
	*Submission
	pub     ed25519.PublicKey
	typ     *corridor.RecordType
	payload corridor.Payload
}

// Appender is the part of the log the app writes to.
type Appender interface {
	Append(ctx context.Context, entries [][]byte) ([]uint64, error)
	Size(ctx context.Context) (uint64, error)
	Entries(ctx context.Context, from, to uint64, fn func(uint64, []byte) error) error
}

// App is a running corridor node.
type App struct {
	log   Appender
	store *store.Store
	lg    *slog.Logger

	mu sync.RWMutex // guards st
	st *corridor.State

	jobs   chan *job
	done   chan struct{}
	closed chan struct{}
	once   sync.Once
}

type callerKey struct{}

// WithCaller marks ctx as a request from a member of party: every record
// it submits must then be signed by a key of that party.
func WithCaller(ctx context.Context, party string) context.Context {
	return context.WithValue(ctx, callerKey{}, party)
}

// Caller returns the party set by WithCaller, or "".
func Caller(ctx context.Context) string {
	p, _ := ctx.Value(callerKey{}).(string)
	return p
}

type job struct {
	caller string
	ctx    context.Context
	subs   []*pending
	reply  chan jobResult
}

type jobResult struct {
	results []Result
	err     error
}

// New starts an app over an open log and store: it replays the log into
// the domain state, brings the projection up to date, and starts the
// single writer that sequences records.
func New(ctx context.Context, lg Appender, st *store.Store, logger *slog.Logger) (*App, error) {
	if logger == nil {
		logger = slog.Default()
	}
	a := &App{log: lg, store: st, lg: logger, st: corridor.NewState(),
		jobs: make(chan *job, 256), done: make(chan struct{}), closed: make(chan struct{})}
	start := time.Now()
	if err := a.catchUp(ctx); err != nil {
		return nil, err
	}
	a.lg.Info("state loaded from log", slog.Uint64("records", a.st.Size), slog.Duration("took", time.Since(start)))
	go a.writer()
	return a, nil
}

// Store gives read access to the projection.
func (a *App) Store() *store.Store { return a.store }

// View runs fn with read access to the current domain state.
func (a *App) View(fn func(st *corridor.State)) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	fn(a.st)
}

// Close stops the writer after the records already queued are answered.
func (a *App) Close() {
	a.once.Do(func() { close(a.closed) })
	<-a.done
}

// catchUp applies to the state every log entry it has not seen, and
// projects every entry the projection has not applied.
func (a *App) catchUp(ctx context.Context) error {
	size, err := a.log.Size(ctx)
	if err != nil {
		return fmt.Errorf("read log size: %w", err)
	}
	applied, err := a.store.Applied(ctx)
	if err != nil {
		return err
	}
	if applied > size {
		return fmt.Errorf("the projection has applied %d records but the log holds only %d: rebuild the projection", applied, size)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	var pending []store.Entry
	flush := func() error {
		err := a.store.Apply(ctx, pending)
		pending = pending[:0]
		return err
	}
	err = a.log.Entries(ctx, a.st.Size, size, func(i uint64, data []byte) error {
		r, err := record.ParseEntry(data)
		if err != nil {
			return fmt.Errorf("log index %d: %w", i, err)
		}
		p, err := a.st.Check(r, i, nil, true)
		if err != nil {
			return fmt.Errorf("log index %d (%s %s) does not apply: %w", i, r.Type, r.ID, err)
		}
		if i > 0 && i%100_000 == 0 {
			a.lg.Info("replaying the log", slog.Uint64("done", i), slog.Uint64("of", size))
		}
		if i >= applied {
			pending = append(pending, a.entry(i, r, p))
			if len(pending) >= 1000 {
				return flush()
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
}

// entry builds the projection entry for a record the state just applied.
func (a *App) entry(i uint64, r *record.Record, p corridor.Payload) store.Entry {
	e := store.Entry{Index: i, Record: r, Payload: p}
	if k, ok := a.st.Keys[r.KeyID]; ok {
		e.Party = k.Party
	} else if party, ok := p.(*corridor.Party); ok {
		e.Party = party.ID // genesis, or a key replaced by this very record
	}
	if id := corridor.ConvoyOf(p); id != "" {
		e.Convoy = a.st.Convoys[id]
	}
	return e
}

// Submit checks a batch of records and, if every one is acceptable,
// appends them to the log and projects them. It answers only once they are
// durable. A batch is all or nothing: on any error nothing is written, and
// the error is a *corridor.Error naming the record ("records[3].payload.kg").
func (a *App) Submit(ctx context.Context, subs []*Submission) ([]Result, error) {
	if len(subs) == 0 {
		return nil, &corridor.Error{Code: corridor.CodeInvalid, Field: "records", Reason: "no records"}
	}
	if len(subs) > MaxBatch {
		return nil, &corridor.Error{Code: corridor.CodeInvalid, Field: "records", Reason: fmt.Sprintf("more than %d records in one batch", MaxBatch)}
	}
	seen := map[string]int{}
	ps := make([]*pending, len(subs))
	for i, sub := range subs {
		s := &pending{Submission: sub}
		ps[i] = s
		if err := a.precheck(s); err != nil {
			return nil, corridor.AsError(err, prefix(i))
		}
		if j, ok := seen[s.Record.ID]; ok {
			return nil, &corridor.Error{Code: corridor.CodeDuplicate, Field: prefix(i) + ".id", Reason: fmt.Sprintf("same record id as records[%d]", j)}
		}
		seen[s.Record.ID] = i
	}
	j := &job{caller: Caller(ctx), ctx: ctx, subs: ps, reply: make(chan jobResult, 1)}
	select {
	case a.jobs <- j:
	case <-a.closed:
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	// Once queued, the job is answered even if the client has gone: the
	// writer decides, and a retry with the same ids finds the outcome.
	r := <-j.reply
	return r.results, r.err
}

// prefix names record i of a submission in errors. A single record is
// "records[0]", as in a batch, so that clients see one naming.
func prefix(i int) string { return fmt.Sprintf("records[%d]", i) }

// precheck does every check that needs no sequencing: shape, canonical
// payload, entry size, private openings, and the signature where the key
// is already known (the costly part, done here in the caller's goroutine).
func (a *App) precheck(s *pending) error {
	if s.Record == nil {
		return &corridor.Error{Code: corridor.CodeInvalid, Field: "", Reason: "record is missing"}
	}
	r := s.Record
	if err := r.CheckShape(); err != nil {
		return err
	}
	if err := r.Canonicalize(); err != nil {
		return err
	}
	entry, err := r.Entry()
	if err != nil {
		return err
	}
	if len(entry) > ledger.MaxEntrySize {
		return &corridor.Error{Code: corridor.CodeInvalid, Field: "payload", Reason: fmt.Sprintf("the record is %d bytes; the log takes at most %d", len(entry), ledger.MaxEntrySize)}
	}
	t, p, err := corridor.Decode(r)
	if err != nil {
		return err
	}
	if err := checkOpenings(p, s.Private); err != nil {
		return err
	}
	s.typ, s.payload = t, p
	a.mu.RLock()
	k := a.st.Keys[r.KeyID]
	a.mu.RUnlock()
	if k != nil {
		if err := r.Verify(k.Public); err != nil {
			return err
		}
		s.pub = k.Public
	}
	return nil
}

// checkOpenings makes sure every commitment in the payload is opened by the
// submission, and nothing else is.
func checkOpenings(p corridor.Payload, private map[string]record.Opening) error {
	var commits []string
	if c, ok := p.(corridor.Committer); ok {
		commits = c.Commitments()
	}
	for _, c := range commits {
		o, ok := private[c]
		if !ok {
			return &corridor.Error{Code: corridor.CodeInvalid, Field: "private", Reason: fmt.Sprintf("commitment %s has no opening (value and salt)", c)}
		}
		if len(o.Value) > MaxPrivateValue || len(o.Salt) < 16 || len(o.Salt) > 128 {
			return &corridor.Error{Code: corridor.CodeInvalid, Field: "private." + c, Reason: fmt.Sprintf("value must be at most %d bytes and salt 16 to 128 characters", MaxPrivateValue)}
		}
		if record.Commitment(o.Salt, o.Value) != c {
			return &corridor.Error{Code: corridor.CodeInvalid, Field: "private." + c, Reason: "value and salt do not match the commitment"}
		}
	}
	for c := range private {
		if !slices.Contains(commits, c) {
			return &corridor.Error{Code: corridor.CodeInvalid, Field: "private." + c, Reason: "opening for a commitment the record does not make"}
		}
	}
	return nil
}

// writer is the single goroutine that sequences records: it takes every
// queued job, checks each against the state, appends the accepted ones to
// the log in one go, waits until they are durable, projects them, and
// answers.
func (a *App) writer() {
	defer close(a.done)
	for {
		var group []*job
		select {
		case j := <-a.jobs:
			group = append(group, j)
		case <-a.closed:
			// answer whatever is still queued
			for {
				select {
				case j := <-a.jobs:
					j.reply <- jobResult{err: ErrClosed}
				default:
					return
				}
			}
		}
	drain:
		for len(group) < 256 {
			select {
			case j := <-a.jobs:
				group = append(group, j)
			default:
				break drain
			}
		}
		a.commit(group)
	}
}

func (a *App) commit(group []*job) {
	ctx := context.Background()
	a.mu.Lock()
	st := a.st
	st.Begin()
	base := st.Size
	var entries [][]byte
	var proj []store.Entry
	openings := map[string]record.Opening{}
	results := make([][]Result, len(group))
	errs := make([]error, len(group))
	for gi, j := range group {
		mark := st.Mark()
		nEntries := len(entries)
		nProj := len(proj)
		mine := map[string]record.Opening{}
		for i, s := range j.subs {
			r := s.Record
			if ref, ok := st.Records[r.ID]; ok && ref.Hash == r.Hash() {
				results[gi] = append(results[gi], Result{ID: r.ID, Index: ref.Index, Duplicate: true})
				continue
			}
			idx := base + uint64(len(entries))
			p := s.payload
			err := st.CheckDecoded(r, s.typ, p, idx, s.pub, false)
			if err != nil {
				errs[gi] = corridor.AsError(err, prefix(i))
				break
			}
			pe := a.entry(idx, r, p)
			if j.caller != "" && pe.Party != j.caller {
				errs[gi] = &corridor.Error{Code: corridor.CodeForbidden, Field: prefix(i) + ".key",
					Reason: fmt.Sprintf("signed by a key of %q, but the caller's token is for %q", pe.Party, j.caller)}
				break
			}
			e, _ := r.Entry()
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
	var err error
	if len(entries) > 0 {
		err = a.append(ctx, base, entries, openings)
	}
	if err != nil {
		st.Rollback()
		a.mu.Unlock()
		a.lg.Error("append failed", slog.Any("err", err))
		// Some entries may have become durable: bring the state and
		// projection up to whatever the log now holds.
		if cerr := a.catchUp(ctx); cerr != nil {
			a.lg.Error("catch up after failed append", slog.Any("err", cerr))
		}
		for gi, j := range group {
			if errs[gi] == nil {
				errs[gi] = err
			}
			j.reply <- jobResult{err: errs[gi]}
		}
		return
	}
	st.Commit()
	if err := a.store.Apply(ctx, proj); err != nil {
		// The records are durable in the log; the projection catches up
		// from the log on the next start or the next failed append.
		a.lg.Error("projection write failed", slog.Any("err", err))
	}
	a.mu.Unlock()
	for gi, j := range group {
		j.reply <- jobResult{results: results[gi], err: errs[gi]}
	}
}

// append stores the private openings, then appends the entries and checks
// they landed where the state expects them.
func (a *App) append(ctx context.Context, base uint64, entries [][]byte, openings map[string]record.Opening) error {
	if err := a.store.SavePrivate(ctx, openings); err != nil {
		return fmt.Errorf("save private values: %w", err)
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

// DecodeSubmissions parses a POST body (see wire.DecodeSubmissions).
func DecodeSubmissions(body []byte) ([]*Submission, error) { return wire.DecodeSubmissions(body) }
