package app

// cluster.go: corridor on more than one machine. Writers share a log on
// an object store (ledger.OpenAt with an s3:// location) and a PostgreSQL
// projection; only the holder of the writer lease appends, through
// leasedLog. Read servers (OpenReadOnly) hold no writer state: they
// answer from the projection and the published log, and refuse records
// with a ReadOnlyError that names the writer.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"corridor/evidence"
	"corridor/ledger"
	"corridor/store"
)

// ErrNoLease means this writer does not (or no longer) hold the writer
// lease, so it appends nothing.
var ErrNoLease = errors.New("this server no longer holds the writer lease, so it records nothing; send the records to the writer")

// leasedLog appends only while the lease is valid, and gives each append
// no longer than the lease's validity: a writer that loses its lease stops
// appending before a standby can take over.
type leasedLog struct {
	*ledger.Log
	lease *store.Lease
}

func (l leasedLog) Append(ctx context.Context, entries [][]byte) ([]uint64, error) {
	until, ok := l.lease.Valid()
	if !ok {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, ErrNoLease)
	}
	ctx, cancel := context.WithDeadline(ctx, until)
	defer cancel()
	return l.Log.Append(ctx, entries)
}

// Size is, on a log that integrates after it sequences (the AWS driver),
// the size once every sequenced entry is integrated: the writer catches
// up to all that is durable.
func (l leasedLog) Size(ctx context.Context) (uint64, error) { return l.Log.Settle(ctx) }

// ReadOnlyError answers a record sent to a read server.
type ReadOnlyError struct {
	Writer string // the writer's address, "" when none holds the lease
}

func (e *ReadOnlyError) Error() string {
	if e.Writer == "" {
		return "this is a read server and records nothing; no writer holds the lease right now: retry in a few seconds"
	}
	return "this is a read server and records nothing: send records to the writer at " + e.Writer
}

// readServer is what a read-only App knows beyond its store.
type readServer struct {
	leases *store.Leases

	mu      sync.Mutex
	size    uint64
	sizeAt  time.Time
	writer  string
	checked time.Time
}

// writerAddr returns the lease holder's address, looked up at most once
// a second.
func (r *readServer) writerAddr(ctx context.Context) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if time.Since(r.checked) > time.Second {
		r.checked = time.Now()
		r.writer = ""
		if h, err := r.leases.Current(ctx); err == nil && h.Live {
			r.writer = h.Addr
		}
	}
	return r.writer
}

// appliedSize returns how many records the projection holds, read at
// most ten times a second.
func (r *readServer) appliedSize(st *store.Store) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if time.Since(r.sizeAt) > 100*time.Millisecond {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if n, err := st.Applied(ctx); err == nil {
			r.size, r.sizeAt = n, time.Now()
		}
	}
	return r.size
}

// Writer returns, on a read server, where the writer is ("" when no
// writer holds the lease, or on a writer).
func (a *App) Writer(ctx context.Context) string {
	if a.rs == nil {
		return ""
	}
	return a.rs.writerAddr(ctx)
}

// Lease reports whether appends are gated by a writer lease, and whether
// it is valid now.
func (a *App) Lease() (held, valid bool) {
	l, ok := a.log.(leasedLog)
	if !ok {
		return false, false
	}
	_, valid = l.lease.Valid()
	return true, valid
}

// ReadOnly reports whether the App is a read server's.
func (a *App) ReadOnly() bool { return a.rs != nil }

// ReadOnlyOptions tune OpenReadOnly.
type ReadOnlyOptions struct {
	DB     string // the writers' PostgreSQL projection
	Log    string // where the log is: "" for the data folder's log/, or an s3:// location
	Logger *slog.Logger
}

// OpenReadOnly opens a read server over the writers' PostgreSQL projection
// and the published log: no signing key, no writer state, no replay, so it
// starts in the time a few queries take whatever the log's size.
func OpenReadOnly(ctx context.Context, dir string, opts ReadOnlyOptions) (*Node, error) {
	cfg, err := ReadConfig(dir)
	if err != nil {
		return nil, err
	}
	v, err := cfg.LogVerifier()
	if err != nil {
		return nil, fmt.Errorf("%s: log_verifier_key: %w", ConfigFile, err)
	}
	loc, err := logLocation(dir, opts.Log)
	if err != nil {
		return nil, err
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	leases, err := store.OpenLeases(ctx, opts.DB)
	if err != nil {
		return nil, err
	}
	st, err := store.OpenReadOnly(ctx, opts.DB, func(have, want int) {
		opts.Logger.Info("waiting for a writer to bring the projection's schema to this version", slog.Int("have", have), slog.Int("want", want))
	})
	if err != nil {
		leases.Close()
		return nil, err
	}
	lg, err := ledger.OpenPublished(ctx, loc, v)
	if err != nil {
		st.Close()
		leases.Close()
		return nil, err
	}
	files, err := evidence.Open(filepath.Join(dir, FilesDir))
	if err != nil {
		lg.Close(ctx)
		st.Close()
		leases.Close()
		return nil, err
	}
	a := newReadOnly(st)
	a.lg = opts.Logger
	a.opts.Files = files
	a.rs = &readServer{leases: leases}
	return &Node{App: a, Dir: dir, Config: cfg, Log: lg, closers: []func() error{leases.Close}}, nil
}

// logLocation is where a data folder's log is: opt (--log) if given.
func logLocation(dir, opt string) (ledger.Location, error) {
	if opt == "" {
		return ledger.Location{Dir: filepath.Join(dir, LogDir)}, nil
	}
	return ledger.ParseLocation(opt)
}
