package witness_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"corridor/ledger"
	"corridor/witness"
)

const origin = "corridor.test/log"

func logKeys(t *testing.T) (note.Signer, note.Verifier) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return s, v
}

// testLog is a real log on disk; grow appends entries named prefix-i and
// returns the published tree head covering them.
type testLog struct {
	t      *testing.T
	l      *ledger.Log
	prefix string
	n      int
}

func newLog(t *testing.T, s note.Signer, prefix string, opts ledger.Options) *testLog {
	t.Helper()
	if opts.CheckpointInterval == 0 {
		opts.CheckpointInterval = 100 * time.Millisecond
	}
	l, err := ledger.Open(context.Background(), t.TempDir(), s, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		l.Close(ctx)
	})
	return &testLog{t: t, l: l, prefix: prefix}
}

func (tl *testLog) grow(k int) []byte {
	tl.t.Helper()
	ctx := context.Background()
	var es [][]byte
	for i := 0; i < k; i++ {
		es = append(es, fmt.Appendf(nil, "%s-%d", tl.prefix, tl.n+i))
	}
	tl.n += k
	idx, err := tl.l.Append(ctx, es)
	if err != nil {
		tl.t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := tl.l.WaitPublished(wctx, idx[len(idx)-1]); err != nil {
		tl.t.Fatal(err)
	}
	raw, _, _, err := tl.l.TreeHead(ctx)
	if err != nil {
		tl.t.Fatal(err)
	}
	return raw
}

// request makes an add-checkpoint body from old to the tree head's size.
func (tl *testLog) request(old uint64, treeHead []byte) []byte {
	tl.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "old %d\n", old)
	if old > 0 {
		size := sizeOf(tl.t, treeHead)
		p, err := tl.l.ConsistencyProof(context.Background(), old, size)
		if err != nil {
			tl.t.Fatal(err)
		}
		for _, h := range p {
			b.WriteString(base64.StdEncoding.EncodeToString(h) + "\n")
		}
	}
	b.WriteString("\n")
	b.Write(treeHead)
	return []byte(b.String())
}

func sizeOf(t *testing.T, treeHead []byte) uint64 {
	t.Helper()
	var size uint64
	lines := strings.Split(string(treeHead), "\n")
	if _, err := fmt.Sscan(lines[1], &size); err != nil {
		t.Fatal(err)
	}
	return size
}

func newWitness(t *testing.T, dir string, v note.Verifier) (*witness.Witness, note.Verifier, string) {
	t.Helper()
	skey, vkey, err := witness.GenerateKey("witness.test")
	if err != nil {
		t.Fatal(err)
	}
	s, err := witness.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	w, err := witness.New(witness.Config{Signer: s, Logs: map[string]note.Verifier{origin: v}, StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	p, err := witness.ParsePolicy([]byte("witness w " + vkey + "\nquorum w\n"))
	if err != nil {
		t.Fatal(err)
	}
	return w, p.Witnesses[0].Verifier, vkey
}

func wantRefusal(t *testing.T, err error, status int, reason string) {
	t.Helper()
	var we *witness.Error
	if !errors.As(err, &we) {
		t.Fatalf("got %v, want a refusal %d", err, status)
	}
	if we.Status != status || !strings.Contains(we.Reason, reason) {
		t.Fatalf("refusal %d %q, want %d naming %q", we.Status, we.Reason, status, reason)
	}
	t.Logf("refused as expected: %v", we)
}

func TestWitnessCosignsConsistentTreeHeads(t *testing.T) {
	s, v := logKeys(t)
	a := newLog(t, s, "a", ledger.Options{})
	dir := t.TempDir()
	w, wv, _ := newWitness(t, dir, v)

	th := a.grow(3)
	sig, err := w.AddCheckpoint(a.request(0, th))
	if err != nil {
		t.Fatal(err)
	}
	cosigned := append(append([]byte{}, th...), sig...)
	if _, err := note.Open(cosigned, note.VerifierList(wv)); err != nil {
		t.Fatalf("cosignature does not verify: %v", err)
	}

	// A stale old size gets 409 with the witness's size.
	th2 := a.grow(5)
	_, err = w.AddCheckpoint(a.request(0, th2))
	var we *witness.Error
	if !errors.As(err, &we) || we.Status != http.StatusConflict || we.Size == nil || *we.Size != 3 {
		t.Fatalf("stale old size: got %v, want 409 with size 3", err)
	}
	if _, err := w.AddCheckpoint(a.request(3, th2)); err != nil {
		t.Fatalf("consistent tree head refused: %v", err)
	}

	// The state survives a restart.
	w2, _, _ := newWitness(t, dir, v)
	st, err := w2.Latest(origin)
	if err != nil || st.Size != 8 {
		t.Fatalf("after restart the witness remembers size %d (%v), want 8", st.Size, err)
	}
}

func TestWitnessRefusesFork(t *testing.T) {
	s, v := logKeys(t)
	a := newLog(t, s, "a", ledger.Options{})
	b := newLog(t, s, "b", ledger.Options{}) // same key and origin, other entries
	w, _, _ := newWitness(t, t.TempDir(), v)

	thA := a.grow(4)
	if _, err := w.AddCheckpoint(a.request(0, thA)); err != nil {
		t.Fatal(err)
	}
	// Same size, other root: a fork.
	thB := b.grow(4)
	_, err := w.AddCheckpoint(b.request(4, thB))
	wantRefusal(t, err, http.StatusConflict, "fork")

	// Larger, with a proof from the other tree: not consistent.
	thB2 := b.grow(3)
	_, err = w.AddCheckpoint(b.request(4, thB2))
	wantRefusal(t, err, http.StatusUnprocessableEntity, "not consistent with the cosigned tree head of size 4")

	// A tree head from another key for the same origin: forbidden.
	other, _ := logKeys(t)
	c := newLog(t, other, "c", ledger.Options{})
	_, err = w.AddCheckpoint(c.request(0, c.grow(1)))
	wantRefusal(t, err, http.StatusForbidden, "not signed")

	// An unknown origin: not found.
	_, err = w.AddCheckpoint([]byte("old 0\n\nother.example/log\n1\n" + base64.StdEncoding.EncodeToString(make([]byte, 32)) + "\n\n— other.example/log AAAA\n"))
	wantRefusal(t, err, http.StatusNotFound, "unknown log origin")
}

// witnessServer serves a witness that can be switched off (503).
func witnessServer(t *testing.T, w *witness.Witness) (*httptest.Server, *atomic.Bool) {
	down := new(atomic.Bool)
	h := w.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(rw, "down", http.StatusServiceUnavailable)
			return
		}
		h.ServeHTTP(rw, r)
	}))
	t.Cleanup(srv.Close)
	return srv, down
}

func TestLogPublishesWithCosignaturesAndHoldsWhenWitnessDown(t *testing.T) {
	s, v := logKeys(t)
	w, _, vkey := newWitness(t, t.TempDir(), v)
	srv, down := witnessServer(t, w)
	p, err := witness.ParsePolicy([]byte("witness w " + vkey + " " + srv.URL + "\nquorum w\n"))
	if err != nil {
		t.Fatal(err)
	}
	tl := newLog(t, s, "a", ledger.Options{Witnesses: p.Group, WitnessTimeout: 500 * time.Millisecond})
	th := tl.grow(2)
	if got := p.Cosigners(th); len(got) != 1 {
		t.Fatalf("published tree head cosigned by %v, want [w]\n%s", got, th)
	}

	// Witness unreachable: entries are durable, publication is held.
	down.Store(true)
	idx, err := tl.l.Append(context.Background(), [][]byte{[]byte("held")})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	err = tl.l.WaitPublished(ctx, idx[0])
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("with the witness down a tree head was published (err %v): publication should be held", err)
	}
	if size, _ := tl.l.Size(context.Background()); size != 3 {
		t.Fatalf("integrated size %d, want 3: the entry must be durable even while publication is held", size)
	}
	// Back up: publication resumes, cosigned.
	down.Store(false)
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tl.l.WaitPublished(ctx, idx[0]); err != nil {
		t.Fatalf("publication did not resume once the witness was back: %v", err)
	}
	raw, _, _, _ := tl.l.TreeHead(ctx)
	if !p.Satisfied(raw) {
		t.Fatalf("resumed tree head lacks the cosignature:\n%s", raw)
	}
}

func TestLogFailOpenPublishesWithoutCosignature(t *testing.T) {
	s, v := logKeys(t)
	w, _, vkey := newWitness(t, t.TempDir(), v)
	srv, down := witnessServer(t, w)
	down.Store(true)
	p, err := witness.ParsePolicy([]byte("witness w " + vkey + " " + srv.URL + "\nquorum w\n"))
	if err != nil {
		t.Fatal(err)
	}
	tl := newLog(t, s, "a", ledger.Options{Witnesses: p.Group, WitnessTimeout: 300 * time.Millisecond, WitnessFailOpen: true})
	th := tl.grow(2)
	if p.Satisfied(th) {
		t.Fatal("a tree head published while the witness was down carries its cosignature?")
	}
	if err := p.Check(th); err == nil || !strings.Contains(err.Error(), "too few cosignatures") {
		t.Fatalf("policy check of an uncosigned tree head: %v", err)
	}
}

// FuzzAddCheckpoint: any add-checkpoint body is answered with a
// cosignature or refused with an *Error; nothing panics, and a refused
// body leaves no state behind.
func FuzzAddCheckpoint(f *testing.F) {
	skey, _, err := witness.GenerateKey("witness.fuzz")
	if err != nil {
		f.Fatal(err)
	}
	signer, err := witness.NewSigner(skey)
	if err != nil {
		f.Fatal(err)
	}
	dir := f.TempDir()
	w, err := witness.New(witness.Config{Signer: signer, StateDir: dir})
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte("old 0\n\ncorridor.test/log\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n— corridor.test/log AAAAAAAA\n"))
	f.Add([]byte("old 5\nAAAA\nBBBB\n\n"))
	f.Add([]byte("old x\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		if _, err := w.AddCheckpoint(body); err != nil {
			var we *witness.Error
			if !errors.As(err, &we) {
				t.Fatalf("refused with %T %v, want a *witness.Error", err, err)
			}
		}
	})
}

// TestLogHoldsWhileWitnessMisbehaves: a witness that answers too slowly,
// never, with another key's cosignature, with garbage or with a size it
// never saw holds publication (the entries stay durable) and puts no
// cosignature of its own on a tree head; once it behaves, publication
// resumes with a tree head the policy accepts.
func TestLogHoldsWhileWitnessMisbehaves(t *testing.T) {
	const timeout = 300 * time.Millisecond
	for _, mode := range []string{"slow", "never", "other key", "garbage", "made-up size"} {
		t.Run(mode, func(t *testing.T) {
			s, v := logKeys(t)
			w, _, vkey := newWitness(t, t.TempDir(), v)
			impostor, _, _ := newWitness(t, t.TempDir(), v)
			var bad atomic.Bool
			release := make(chan struct{})
			good, other := w.Handler(), impostor.Handler()
			srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
				if !bad.Load() {
					good.ServeHTTP(rw, r)
					return
				}
				switch mode {
				case "slow":
					time.Sleep(3 * timeout)
					good.ServeHTTP(rw, r)
				case "never":
					select {
					case <-r.Context().Done():
					case <-release:
					}
				case "other key":
					other.ServeHTTP(rw, r)
				case "garbage":
					rw.Write([]byte("— 0123456789abcdef\n\x00\xff"))
				case "made-up size":
					rw.Header().Set("Content-Type", "text/x.tlog.size")
					rw.WriteHeader(http.StatusConflict)
					rw.Write([]byte("987654321\n"))
				}
			}))
			t.Cleanup(srv.Close)
			t.Cleanup(func() { close(release) }) // first: Close waits for handlers
			p, err := witness.ParsePolicy([]byte("witness w " + vkey + " " + srv.URL + "\nquorum w\n"))
			if err != nil {
				t.Fatal(err)
			}
			tl := newLog(t, s, "a", ledger.Options{Witnesses: p.Group, WitnessTimeout: timeout})
			if th := tl.grow(2); !p.Satisfied(th) {
				t.Fatalf("first tree head not cosigned:\n%s", th)
			}

			bad.Store(true)
			idx, err := tl.l.Append(context.Background(), [][]byte{[]byte("held")})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 6*timeout)
			err = tl.l.WaitPublished(ctx, idx[0])
			cancel()
			if !errors.Is(err, context.DeadlineExceeded) {
				raw, _, _, _ := tl.l.TreeHead(context.Background())
				t.Fatalf("with the witness %s a tree head was published (err %v):\n%s", mode, err, raw)
			}
			if size, _ := tl.l.Size(context.Background()); size != 3 {
				t.Fatalf("integrated size %d, want 3: the entry is durable while publication is held", size)
			}
			if raw, _, _, _ := tl.l.TreeHead(context.Background()); !p.Satisfied(raw) || sizeOf(t, raw) != 2 {
				t.Fatalf("the published tree head changed while the witness was %s:\n%s", mode, raw)
			}

			bad.Store(false)
			ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := tl.l.WaitPublished(ctx, idx[0]); err != nil {
				t.Fatalf("publication did not resume once the witness behaved: %v", err)
			}
			if raw, _, _, _ := tl.l.TreeHead(ctx); !p.Satisfied(raw) || sizeOf(t, raw) != 3 {
				t.Fatalf("resumed tree head:\n%s", raw)
			}
		})
	}
}
