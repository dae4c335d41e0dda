package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"corridor/internal/testdb"
	"corridor/store"
)

// TestWriterLease: one writer at a time. A standby waits while the lease
// is held and renewed, takes it at once when it is released, and after
// its deadline when its holder stops renewing; the old holder is told it
// lost the lease, and stopped counting itself valid before the new one
// took over.
func TestWriterLease(t *testing.T) {
	dsn := testdb.Postgres(t)
	ctx := context.Background()
	leases, err := store.OpenLeases(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer leases.Close()
	if _, err := leases.Current(ctx); err != store.ErrNoLease {
		t.Fatalf("before any writer: %v, want ErrNoLease", err)
	}
	const ttl = 3 * time.Second
	a, err := leases.Acquire(ctx, "a", "http://a", ttl, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := a.Valid(); !ok {
		t.Fatal("a new lease is not valid")
	}
	kctx, stopA := context.WithCancel(ctx)
	keptA := make(chan error, 1)
	go func() { keptA <- a.Keep(kctx) }()

	// While a renews, b waits and hears who holds it.
	wctx, cancel := context.WithTimeout(ctx, 2*ttl)
	var heard store.LeaseHolder
	_, err = leases.Acquire(wctx, "b", "http://b", ttl, func(h store.LeaseHolder) { heard = h })
	cancel()
	if err == nil || heard.Addr != "http://a" || !heard.Live {
		t.Fatalf("b took a renewed lease (%v), or did not hear who holds it (%+v)", err, heard)
	}

	// a stops renewing (a dead process): b takes over after the deadline,
	// by which time a no longer counts itself valid.
	stopA()
	<-keptA
	start := time.Now()
	b, err := leases.Acquire(ctx, "b", "http://b", ttl, nil)
	if err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited > 2*ttl {
		t.Errorf("b waited %v for a lease of %v", waited, ttl)
	}
	if _, ok := a.Valid(); ok {
		t.Error("a still counts itself valid after b took the lease")
	}
	if b.Term() != a.Term()+1 {
		t.Errorf("terms %d then %d, want one more", a.Term(), b.Term())
	}
	if h, err := leases.Current(ctx); err != nil || h.Addr != "http://b" || h.Term != b.Term() {
		t.Errorf("current lease %+v, %v; want b's", h, err)
	}
	// a renewing now learns it was taken.
	if err := a.Keep(ctx); err == nil || !strings.Contains(err.Error(), "taken") {
		t.Errorf("a's renewal after b took over: %v", err)
	}
	select {
	case <-a.Lost():
	default:
		t.Error("a's Lost channel is open after the lease was taken")
	}

	// A clean stop hands over at once.
	if err := b.Release(ctx); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	c, err := leases.Acquire(ctx, "c", "http://c", ttl, nil)
	if err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited > time.Second {
		t.Errorf("after a release c waited %v", waited)
	}
	c.Release(ctx)

	if _, err := leases.Acquire(ctx, "d", "http://d", time.Second, nil); err == nil {
		t.Error("a lease of 1s was accepted")
	}
}

// TestLeaseNeedsPostgres: an SQLite projection cannot carry a lease.
func TestLeaseNeedsPostgres(t *testing.T) {
	_, err := store.OpenLeases(context.Background(), t.TempDir()+"/p.db")
	if err == nil || !strings.Contains(err.Error(), "PostgreSQL") {
		t.Fatalf("OpenLeases on SQLite: %v", err)
	}
}
