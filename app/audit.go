package app

import (
	"context"
	"fmt"
	"log/slog"

	"corridor"
	"corridor/record"
	"corridor/store"
)

// Replayer rebuilds a projection from log entries handed to it one at a
// time, in index order, from any source (an auditor's download, a local
// copy). Every record's signature and the domain rules are checked, as
// Verify does; a record that fails is reported and left out, and the
// replay goes on, so one bad record does not hide the others.
type Replayer struct {
	a       *App
	pending []store.Entry
	skipped int64 // first index left out, or -1
	trust   bool  // skip signature checks (rebuilding from one's own log)
}

// NewReplayer starts a replay into st, which should be empty.
func NewReplayer(st *store.Store) *Replayer {
	return &Replayer{a: newReadOnly(st), skipped: -1}
}

// newReadOnly returns an App with no log and no writer: Submit answers
// ErrClosed and Close returns at once.
func newReadOnly(st *store.Store) *App {
	done, closed := make(chan struct{}), make(chan struct{})
	close(done)
	close(closed)
	a := &App{store: st, st: corridor.NewState(), lg: slog.Default(), done: done, closed: closed}
	a.once.Do(func() {})
	return a
}

// Add checks and applies the entry at index i. A record that does not
// parse, whose signature fails, or that breaks a rule is returned as an
// *IndexError and skipped; the records after it are still checked against
// the state, but no longer projected (see Complete). Any other error (the
// database) is fatal.
func (r *Replayer) Add(ctx context.Context, i uint64, data []byte) error {
	rec, err := record.ParseEntry(data)
	if err != nil {
		return &IndexError{Index: i, Err: err}
	}
	st := r.a.st
	st.Begin()
	p, err := st.Check(rec, i, nil, r.trust)
	if err != nil {
		st.Rollback()
		if r.skipped < 0 {
			r.skipped = int64(i)
		}
		return &IndexError{Index: i, Err: fmt.Errorf("%s %s: %w", rec.Type, rec.ID, err)}
	}
	st.Commit()
	if r.skipped >= 0 {
		// The projection holds every index up to the first bad one; the
		// records after it are still checked, not projected.
		return nil
	}
	r.pending = append(r.pending, r.a.entry(i, rec, p))
	if len(r.pending) >= 1000 {
		return r.flush(ctx)
	}
	return nil
}

func (r *Replayer) flush(ctx context.Context) error {
	err := r.a.store.Apply(ctx, r.pending)
	r.pending = r.pending[:0]
	return err
}

// Complete reports whether every record so far was projected; if not, it
// returns the first index left out.
func (r *Replayer) Complete() (bool, uint64) {
	return r.skipped < 0, uint64(max(r.skipped, 0))
}

// Finish projects what is pending and returns a read-only App over the
// rebuilt projection and state, for the API handlers to answer from (it
// accepts no records).
func (r *Replayer) Finish(ctx context.Context) (*App, error) {
	if err := r.flush(ctx); err != nil {
		return nil, err
	}
	return r.a, nil
}
