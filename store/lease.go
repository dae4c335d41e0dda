package store

// lease.go: the writer lease. Several writers may be started over one
// shared log and one PostgreSQL projection; only the holder of the lease
// appends. The lease is a row with a deadline in PostgreSQL's clock: the
// holder renews it often; a standby takes it once the deadline has passed.
// The holder stops appending (Valid turns false) a safety margin before
// its own reckoning of the deadline, a reckoning that starts before the
// renewing statement is sent, so it stops before anyone else can start.
//
// The row is not part of the projection: a rebuild leaves it alone.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"
)

// LeaseHolder is who holds (or last held) the writer lease.
type LeaseHolder struct {
	Holder   string    `json:"holder"`
	Addr     string    `json:"addr"`
	Term     int64     `json:"term"`
	Deadline time.Time `json:"deadline"`
	Since    time.Time `json:"since"`
	Live     bool      `json:"live"` // the deadline has not passed
}

// ErrNoLease means no writer has ever taken the lease.
var ErrNoLease = errors.New("no writer holds the lease")

const leaseName = "writer"

// Leases is the lease table in a PostgreSQL database, on a connection of
// its own (a standby waits for the lease before it opens the projection).
type Leases struct{ db *sql.DB }

// OpenLeases connects to the PostgreSQL database dsn and makes the lease
// table if need be.
func OpenLeases(ctx context.Context, dsn string) (*Leases, error) {
	if !IsPostgres(dsn) {
		return nil, errors.New("the writer lease needs the projection on PostgreSQL (--db postgres://…)")
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(2)
	s := &Leases{db: db}
	if err := s.ensureLeaseTable(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("writer lease: %w", err)
	}
	return s, nil
}

// Close closes the connection.
func (s *Leases) Close() error { return s.db.Close() }

// Lease is a held writer lease.
type Lease struct {
	s        *Leases
	holder   string
	addr     string
	ttl      time.Duration
	margin   time.Duration
	term     int64
	mu       sync.Mutex
	validTil time.Time // monotonic reckoning, minus the margin
	lost     chan struct{}
	lostOnce sync.Once
}

func (s *Leases) ensureLeaseTable(ctx context.Context) error {
	_, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS corridor_writer_lease (
		name TEXT PRIMARY KEY, holder TEXT NOT NULL, addr TEXT NOT NULL,
		term BIGINT NOT NULL, deadline TIMESTAMPTZ NOT NULL, since TIMESTAMPTZ NOT NULL)`)
	return err
}

// Current returns the lease row; ErrNoLease when there is none.
func (s *Leases) Current(ctx context.Context) (LeaseHolder, error) {
	var h LeaseHolder
	err := s.db.QueryRowContext(ctx, `SELECT holder, addr, term, deadline, since, deadline > now() FROM corridor_writer_lease WHERE name = $1`, leaseName).
		Scan(&h.Holder, &h.Addr, &h.Term, &h.Deadline, &h.Since, &h.Live)
	if errors.Is(err, sql.ErrNoRows) || err != nil && isUndefinedTable(err) {
		return h, ErrNoLease
	}
	return h, err
}

func isUndefinedTable(err error) bool {
	var coded interface{ SQLState() string }
	return errors.As(err, &coded) && coded.SQLState() == "42P01"
}

// Acquire takes the writer lease for holder (a name unique to this
// process) serving at addr, waiting while another holds it; waiting is
// called each time the wait goes on with who holds it. ttl is how long the
// lease lasts without renewal (at least 3 s).
func (s *Leases) Acquire(ctx context.Context, holder, addr string, ttl time.Duration, waiting func(LeaseHolder)) (*Lease, error) {
	if ttl < 3*time.Second {
		return nil, fmt.Errorf("writer lease: ttl %v: want at least 3s", ttl)
	}
	l := &Lease{s: s, holder: holder, addr: addr, ttl: ttl, margin: ttl / 4, lost: make(chan struct{})}
	for {
		start := time.Now()
		var term int64
		err := s.db.QueryRowContext(ctx, `INSERT INTO corridor_writer_lease (name, holder, addr, term, deadline, since)
			VALUES ($1, $2, $3, 1, now() + $4 * interval '1 millisecond', now())
			ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, addr = EXCLUDED.addr,
				term = corridor_writer_lease.term + 1, deadline = EXCLUDED.deadline, since = now()
			WHERE corridor_writer_lease.deadline < now()
			RETURNING term`, leaseName, holder, addr, ttl.Milliseconds()).Scan(&term)
		switch {
		case err == nil:
			l.term = term
			l.setValid(start)
			return l, nil
		case !errors.Is(err, sql.ErrNoRows):
			return nil, fmt.Errorf("writer lease: %w", err)
		}
		if waiting != nil {
			if h, err := s.Current(ctx); err == nil {
				waiting(h)
			}
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(ttl / 10):
		}
	}
}

func (l *Lease) setValid(start time.Time) {
	l.mu.Lock()
	l.validTil = start.Add(l.ttl - l.margin)
	l.mu.Unlock()
}

// Term is the lease's term: one more at every change of holder.
func (l *Lease) Term() int64 { return l.term }

// Valid reports whether the holder may still append, and until when.
func (l *Lease) Valid() (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.validTil, time.Now().Before(l.validTil)
}

// Lost is closed once the lease is lost (not renewed in time, or taken).
func (l *Lease) Lost() <-chan struct{} { return l.lost }

// Keep renews the lease every ttl/5 until ctx ends or the lease is lost,
// and returns why it stopped. A renewal that fails is retried until the
// lease's validity runs out.
func (l *Lease) Keep(ctx context.Context) error {
	t := time.NewTicker(l.ttl / 5)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		start := time.Now()
		rctx, cancel := context.WithTimeout(ctx, l.ttl/5)
		res, err := l.s.db.ExecContext(rctx, `UPDATE corridor_writer_lease SET deadline = now() + $1 * interval '1 millisecond'
			WHERE name = $2 AND holder = $3 AND term = $4`, l.ttl.Milliseconds(), leaseName, l.holder, l.term)
		cancel()
		if err == nil {
			if n, _ := res.RowsAffected(); n == 1 {
				l.setValid(start)
				continue
			}
			l.markLost()
			return errors.New("writer lease: taken by another writer")
		}
		if _, ok := l.Valid(); !ok {
			l.markLost()
			return fmt.Errorf("writer lease: not renewed in time: %w", err)
		}
	}
}

func (l *Lease) markLost() {
	l.lostOnce.Do(func() {
		l.mu.Lock()
		l.validTil = time.Time{}
		l.mu.Unlock()
		close(l.lost)
	})
}

// Release gives the lease up at once, so that a standby need not wait for
// its deadline (a clean shutdown).
func (l *Lease) Release(ctx context.Context) error {
	l.markLost()
	_, err := l.s.db.ExecContext(ctx, `UPDATE corridor_writer_lease SET deadline = now() - interval '1 second'
		WHERE name = $1 AND holder = $2 AND term = $3`, leaseName, l.holder, l.term)
	return err
}
