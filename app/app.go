// Package app holds corridor's use cases: it takes signed records from any
// client, checks them against the current state, appends them durably to
// the log and projects them into SQL, in that order.
package app

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"corridor"
	"corridor/evidence"
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

// ErrUnavailable means the log could not store a group (the disk full, a
// write or sync that failed): nothing of it was acknowledged, the state is
// what the log holds, and the client should retry later.
var ErrUnavailable = errors.New("the log could not store the records, so nothing was recorded; retry later")

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
	opts  Options

	// st is the writer's validation state: only the writer goroutine (or,
	// before it starts, New; or a Replayer in a read-only App) reads or
	// changes it. mu is there for View
	// alone, which is on its way out: the writer holds it while it changes
	// st, never across an fsync or an SQL commit.
	mu sync.RWMutex
	st *corridor.State

	keys atomic.Pointer[map[string]*corridor.KeyInfo] // registered keys, for precheck; replaced by the writer
	size atomic.Uint64                                // records in the state, all durable in the log

	jobs   chan *job
	done   chan struct{}
	closed chan struct{}
	once   sync.Once

	// sending is held (shared) by Submit while it queues a job, and by
	// Close to close closed, so that no job is queued after the writer
	// has answered the last ones.
	sending  sync.RWMutex
	stopping bool

	w  *writerState // the writer's own bookkeeping; nil in a read-only App
	rs *readServer  // a read server's; nil elsewhere
}

// Options tune an App. The zero value is what New does: no snapshot.
type Options struct {
	Logger *slog.Logger
	// SnapshotPath is the file the writer keeps its state in, so that a
	// start replays only the records after it (see docs/WRITER.md). Empty:
	// no snapshot, every start replays the whole log.
	SnapshotPath string
	// A snapshot is written once SnapshotEvery records (default 50,000) or
	// SnapshotInterval (default 5 minutes) have gone by since the last one,
	// and on Close.
	SnapshotEvery    uint64
	SnapshotInterval time.Duration
	// Files keeps the evidence files records point to; nil: records
	// with files are refused.
	Files *evidence.Store
}

// Defaults of Options.
const (
	DefaultSnapshotEvery    = 50_000
	DefaultSnapshotInterval = 5 * time.Minute
)

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

// New starts an app over an open log and store, without a snapshot: it
// replays the whole log into the domain state, brings the projection up to
// date, and starts the single writer that sequences records.
func New(ctx context.Context, lg Appender, st *store.Store, logger *slog.Logger) (*App, error) {
	return NewWithOptions(ctx, lg, st, Options{Logger: logger})
}

// NewWithOptions is New with a snapshot and its tuning. The state comes
// from the snapshot when there is a usable one (it covers part of this
// very log, and the projection has applied at least as much), and only
// the log entries after it are replayed; otherwise the whole log is, and
// the log says why.
func NewWithOptions(ctx context.Context, lg Appender, st *store.Store, opts Options) (*App, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.SnapshotEvery == 0 {
		opts.SnapshotEvery = DefaultSnapshotEvery
	}
	if opts.SnapshotInterval <= 0 {
		opts.SnapshotInterval = DefaultSnapshotInterval
	}
	a := &App{log: lg, store: st, lg: opts.Logger, opts: opts, st: corridor.NewState(),
		jobs: make(chan *job, 256), done: make(chan struct{}), closed: make(chan struct{}),
		w: newWriterState()}
	size, err := lg.Size(ctx)
	if err != nil {
		return nil, fmt.Errorf("read log size: %w", err)
	}
	applied, err := st.Applied(ctx)
	if err != nil {
		return nil, err
	}
	if applied > size {
		return nil, fmt.Errorf("the projection has applied %d records but the log holds only %d: rebuild the projection", applied, size)
	}
	start := time.Now()
	from := "log"
	if opts.SnapshotPath != "" {
		if s := a.startFromSnapshot(ctx, size, applied); s != nil {
			a.st, from = s, "snapshot"
			a.w.snapSize = s.Size
			a.w.saved = s.Size
		}
	}
	loaded := time.Since(start)
	base := a.st.Size
	project := func(entries []store.Entry) error { return st.Apply(ctx, entries) }
	err = a.catchUp(ctx, applied, project)
	if err != nil && from == "snapshot" {
		// The log is checked against the snapshot before it is used, so
		// this means a damaged log; a replay from the start says where.
		a.lg.Warn("the log does not continue the snapshot: replaying the whole log", slog.Any("err", err))
		a.st, from, base = corridor.NewState(), "log", 0
		if applied, err = st.Applied(ctx); err == nil {
			err = a.catchUp(ctx, applied, project)
		}
	}
	if err != nil {
		return nil, err
	}
	a.w.setProjected(a.st.Size)
	a.lg.Info("state loaded", slog.String("from", from), slog.Uint64("records", a.st.Size),
		slog.Uint64("replayed", a.st.Size-base), slog.Duration("snapshot_load", loaded), slog.Duration("took", time.Since(start)))
	go a.writer()
	return a, nil
}

// Store gives read access to the projection.
func (a *App) Store() *store.Store { return a.store }

// Size returns how many records the log holds, as far as the writer has
// sequenced them: every one of them is durable.
func (a *App) Size() uint64 {
	if a.rs != nil { // a read server: what the projection holds
		return a.rs.appliedSize(a.store)
	}
	if a.w == nil { // read-only: the replay is over
		a.mu.RLock()
		defer a.mu.RUnlock()
		return a.st.Size
	}
	return a.size.Load()
}

// Key returns a registered signing key (a copy), as of the last group of
// records the writer committed.
func (a *App) Key(id string) (corridor.KeyInfo, bool) {
	if a.w == nil { // read-only: the replay is over
		a.mu.RLock()
		defer a.mu.RUnlock()
		if k := a.st.Keys[id]; k != nil {
			return *k, true
		}
		return corridor.KeyInfo{}, false
	}
	if m := a.keys.Load(); m != nil {
		if k := (*m)[id]; k != nil {
			return *k, true
		}
	}
	return corridor.KeyInfo{}, false
}

// Close stops the writer after the records already queued are answered,
// and writes a snapshot of the state.
func (a *App) Close() {
	a.once.Do(func() {
		a.sending.Lock()
		a.stopping = true
		close(a.closed)
		a.sending.Unlock()
	})
	<-a.done
}

// catchUp applies to the state every log entry it has not seen, and hands
// project every one from index from on, in runs of at most 1,000. project
// may keep the slices it is given.
func (a *App) catchUp(ctx context.Context, from uint64, project func([]store.Entry) error) error {
	size, err := a.log.Size(ctx)
	if err != nil {
		return fmt.Errorf("read log size: %w", err)
	}
	defer a.published()
	var pending []store.Entry
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		err := project(pending)
		pending = nil
		return err
	}
	start := time.Now()
	err = a.log.Entries(ctx, a.st.Size, size, func(i uint64, data []byte) error {
		r, err := record.ParseEntry(data)
		if err != nil {
			return fmt.Errorf("log index %d: %w", i, err)
		}
		a.mu.Lock()
		p, err := a.st.Check(r, i, nil, true)
		var e store.Entry
		if err == nil && i >= from {
			e = a.entry(i, r, p)
		}
		a.mu.Unlock()
		if err != nil {
			return fmt.Errorf("log index %d (%s %s) does not apply: %w", i, r.Type, r.ID, err)
		}
		if i > 0 && i%100_000 == 0 {
			a.lg.Info("replaying the log", slog.Uint64("done", i), slog.Uint64("of", size), slog.Duration("took", time.Since(start)))
		}
		if i >= from {
			pending = append(pending, e)
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

// published makes what the writer's state holds visible to precheck and
// to Size: the registered keys and the number of records.
func (a *App) published() {
	m := maps.Clone(a.st.Keys)
	a.keys.Store(&m)
	a.size.Store(a.st.Size)
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
// durable, and once the projection holds them (unless writing it failed:
// the records are durable all the same, and the projection catches up from
// the log). A batch is all or nothing: on any error nothing
// is written, and the error is a *corridor.Error naming the record
// ("records[3].payload.kg").
func (a *App) Submit(ctx context.Context, subs []*Submission) ([]Result, error) {
	if a.rs != nil {
		return nil, &ReadOnlyError{Writer: a.rs.writerAddr(ctx)}
	}
	if len(subs) == 0 {
		return nil, &corridor.Error{Code: corridor.CodeInvalid, Field: "records", Reason: "no records"}
	}
	if len(subs) > MaxBatch {
		return nil, &corridor.Error{Code: corridor.CodeInvalid, Field: "records", Reason: fmt.Sprintf("more than %d records in one batch", MaxBatch)}
	}
	ps, errs := a.prechecks(subs)
	seen := map[string]int{}
	for i, s := range ps {
		if errs[i] != nil {
			return nil, corridor.AsError(errs[i], prefix(i))
		}
		if j, ok := seen[s.Record.ID]; ok {
			return nil, &corridor.Error{Code: corridor.CodeDuplicate, Field: prefix(i) + ".id", Reason: fmt.Sprintf("same record id as records[%d]", j)}
		}
		seen[s.Record.ID] = i
	}
	j := &job{caller: Caller(ctx), ctx: ctx, subs: ps, reply: make(chan jobResult, 1)}
	a.sending.RLock()
	if a.stopping {
		a.sending.RUnlock()
		return nil, ErrClosed
	}
	select {
	case a.jobs <- j:
	case <-a.closed: // a read-only App
		a.sending.RUnlock()
		return nil, ErrClosed
	case <-ctx.Done():
		a.sending.RUnlock()
		return nil, ctx.Err()
	}
	a.sending.RUnlock()
	// Once queued, the job is answered even if the client has gone: the
	// writer decides, and a retry with the same ids finds the outcome.
	r := <-j.reply
	return r.results, r.err
}

// prechecks runs precheck on every submission of a batch, spread over all
// cores: the signatures are the costly part (tens of microseconds each). It
// returns an error for every record up to the first that fails (those
// after it may be left unchecked).
func (a *App) prechecks(subs []*Submission) ([]*pending, []error) {
	ps := make([]*pending, len(subs))
	errs := make([]error, len(subs))
	var keys map[string]*corridor.KeyInfo
	if m := a.keys.Load(); m != nil {
		keys = *m
	}
	n := len(subs)
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		for i, sub := range subs {
			ps[i] = &pending{Submission: sub}
			if errs[i] = precheck(ps[i], keys, a.opts.Files); errs[i] != nil {
				break
			}
		}
		return ps, errs
	}
	var next atomic.Int64
	var bad atomic.Int64 // lowest index that failed so far
	bad.Store(int64(n))
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(n) || i > bad.Load() {
					return
				}
				ps[i] = &pending{Submission: subs[i]}
				if errs[i] = precheck(ps[i], keys, a.opts.Files); errs[i] != nil {
					for b := bad.Load(); i < b && !bad.CompareAndSwap(b, i); b = bad.Load() {
					}
				}
			}
		})
	}
	wg.Wait()
	return ps, errs
}

// prefix names record i of a submission in errors. A single record is
// "records[0]", as in a batch, so that clients see one naming.
func prefix(i int) string { return fmt.Sprintf("records[%d]", i) }

// precheck does every check that needs no sequencing: shape, canonical
// payload, entry size, private openings, and the signature where the key
// is already registered (keys, a copy of the writer's).
func precheck(s *pending, keys map[string]*corridor.KeyInfo, files *evidence.Store) error {
	if s.Record == nil {
		return &corridor.Error{Code: corridor.CodeInvalid, Field: "", Reason: "record is missing"}
	}
	r := s.Record
	if err := r.CheckShape(); err != nil {
		return err
	}
	entry, err := canonicalEntry(r)
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
	if err := checkAttached(p, s.Private, files); err != nil {
		return err
	}
	s.typ, s.payload = t, p
	if k := keys[r.KeyID]; k != nil {
		if err := r.Verify(k.Public); err != nil {
			return err
		}
		s.pub = k.Public
	}
	return nil
}

// canonicalEntry makes the record's payload canonical and returns its log
// entry, canonicalising once: the entry is the canonical JSON of the whole
// record, so its payload member is the canonical payload, and is cut out
// of it. When a field of the envelope holds characters that JSON escapes,
// the member's bounds are not known without parsing, and the payload is
// canonicalised on its own as well.
func canonicalEntry(r *record.Record) ([]byte, error) {
	e, err := r.Entry()
	if err == nil {
		if p, ok := payloadMember(e, r); ok {
			r.Payload = p // the entry is unchanged: it is canonical already
			return e, nil
		}
	}
	if err := r.Canonicalize(); err != nil {
		return nil, err // the same error as always for a payload that is not JSON
	}
	return r.Entry()
}

// payloadMember finds the payload in the canonical entry of r. RFC 8785
// writes the members in the order id, key, payload, sig, type, v; a string
// of printable ASCII without quote or backslash is written as it is, and an
// integer of at most 2^53 in decimal.
func payloadMember(e []byte, r *record.Record) ([]byte, bool) {
	if !plainJSON(r.ID) || !plainJSON(r.KeyID) || !plainJSON(r.Type) || r.Version > 1<<53 || r.Version < -(1<<53) {
		return nil, false
	}
	head := `{"id":"` + r.ID + `","key":"` + r.KeyID + `","payload":`
	tail := `,"sig":"` + base64.StdEncoding.EncodeToString(r.Sig) + `","type":"` + r.Type + `","v":` + strconv.Itoa(r.Version) + `}`
	if len(e) < len(head)+len(tail) || string(e[:len(head)]) != head || string(e[len(e)-len(tail):]) != tail {
		return nil, false
	}
	return e[len(head) : len(e)-len(tail) : len(e)-len(tail)], true
}

func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
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

// DecodeSubmissions parses a POST body (see wire.DecodeSubmissions).
func DecodeSubmissions(body []byte) ([]*Submission, error) { return wire.DecodeSubmissions(body) }
