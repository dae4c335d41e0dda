package ledger

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	flog "github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera/api/layout"
	"golang.org/x/mod/sumdb/note"
)

const testOrigin = "corridor.test/ledger"

// testKeys returns a tree head signer and the matching verifier.
func testKeys(t testing.TB) (note.Signer, note.Verifier) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, testOrigin)
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

var testOpts = Options{CheckpointInterval: 100 * time.Millisecond}

func openTest(t testing.TB, dir string, s note.Signer) *Log {
	t.Helper()
	l, err := Open(context.Background(), dir, s, testOpts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return l
}

func closeTest(t testing.TB, l *Log) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := l.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func entryData(i int) []byte {
	return fmt.Appendf(nil, `{"event":"crossing","n":%d,"pad":%q}`, i, strings.Repeat("x", i%50))
}

func makeEntries(from, n int) [][]byte {
	es := make([][]byte, n)
	for i := range es {
		es[i] = entryData(from + i)
	}
	return es
}

func appendOK(t testing.TB, l *Log, es [][]byte) []uint64 {
	t.Helper()
	idx, err := l.Append(context.Background(), es)
	if err != nil {
		t.Fatalf("Append(%d entries): %v", len(es), err)
	}
	if len(idx) != len(es) {
		t.Fatalf("Append returned %d indices for %d entries", len(idx), len(es))
	}
	return idx
}

func readAll(t testing.TB, size uint64, entries func(context.Context, uint64, uint64, func(uint64, []byte) error) error) [][]byte {
	t.Helper()
	var got [][]byte
	next := uint64(0)
	err := entries(context.Background(), 0, size, func(i uint64, d []byte) error {
		if i != next {
			return fmt.Errorf("got index %d, want %d", i, next)
		}
		next++
		got = append(got, d)
		return nil
	})
	if err != nil {
		t.Fatalf("Entries: %v", err)
	}
	return got
}

func TestAppendAndRead(t *testing.T) {
	s, _ := testKeys(t)
	l := openTest(t, t.TempDir(), s)
	defer closeTest(t, l)
	ctx := context.Background()

	var want [][]byte
	var next uint64
	for _, n := range []int{1, 1, 10, 300, 1, 700} {
		es := makeEntries(len(want), n)
		idx := appendOK(t, l, es)
		for i, got := range idx {
			if got != next {
				t.Fatalf("batch of %d: entry %d got index %d, want %d", n, i, got, next)
			}
			next++
		}
		want = append(want, es...)
	}

	size, err := l.Size(ctx)
	if err != nil || size != uint64(len(want)) {
		t.Fatalf("Size = %d, %v; want %d", size, err, len(want))
	}
	got := readAll(t, size, l.Entries)
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("entry %d = %q, want %q", i, got[i], want[i])
		}
	}

	// Sub-ranges crossing bundle boundaries, and empty ones.
	for _, r := range [][2]uint64{{5, 260}, {255, 257}, {256, 256}, {700, 1013}, {1012, 1013}} {
		i := r[0]
		err := l.Entries(ctx, r[0], r[1], func(idx uint64, d []byte) error {
			if idx != i || !bytes.Equal(d, want[idx]) {
				return fmt.Errorf("index %d (want %d) data %q", idx, i, d)
			}
			i++
			return nil
		})
		if err != nil || i != r[1] {
			t.Fatalf("Entries[%d,%d): %v (stopped at %d)", r[0], r[1], err, i)
		}
	}
	if err := l.Entries(ctx, 0, size+1, func(uint64, []byte) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Entries past the end: err = %v, want ErrNotFound", err)
	}
	stop := errors.New("stop")
	if err := l.Entries(ctx, 0, size, func(uint64, []byte) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("Entries did not pass fn's error through: %v", err)
	}

	// An empty Append is a no-op.
	if idx, err := l.Append(ctx, nil); err != nil || len(idx) != 0 {
		t.Fatalf("empty Append = %v, %v", idx, err)
	}
}

func TestReopen(t *testing.T) {
	s, v := testKeys(t)
	dir := t.TempDir()
	l := openTest(t, dir, s)
	first := makeEntries(0, 50)
	appendOK(t, l, first)

	// A second Log on the same directory is refused while the first is open.
	if l2, err := Open(context.Background(), dir, s, testOpts); err == nil {
		_ = l2.Close(context.Background())
		t.Fatal("second Open of the same dir succeeded")
	}
	closeTest(t, l)
	if err := l.Close(context.Background()); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := l.Append(context.Background(), first[:1]); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close: err = %v, want ErrClosed", err)
	}

	// Close published a tree head covering everything.
	if size, err := VerifyTree(context.Background(), dir, v); err != nil || size != 50 {
		t.Fatalf("VerifyTree after Close = %d, %v; want 50, nil", size, err)
	}

	l = openTest(t, dir, s)
	defer closeTest(t, l)
	size, err := l.Size(context.Background())
	if err != nil || size != 50 {
		t.Fatalf("Size after reopen = %d, %v; want 50", size, err)
	}
	got := readAll(t, size, l.Entries)
	for i := range first {
		if !bytes.Equal(got[i], first[i]) {
			t.Fatalf("entry %d = %q, want %q", i, got[i], first[i])
		}
	}
	idx := appendOK(t, l, makeEntries(50, 3))
	if !slices.Equal(idx, []uint64{50, 51, 52}) {
		t.Fatalf("indices after reopen = %v, want [50 51 52]", idx)
	}

	// A Reader sees the same log without taking the lock.
	r := OpenReader(dir)
	if size, err := r.Size(context.Background()); err != nil || size != 53 {
		t.Fatalf("Reader.Size = %d, %v; want 53", size, err)
	}
	rgot := readAll(t, 53, r.Entries)
	if !bytes.Equal(rgot[10], first[10]) {
		t.Fatalf("Reader entry 10 = %q", rgot[10])
	}
}

// rootOf computes the RFC 6962 root of the given entries.
func rootOf(t testing.TB, es [][]byte) []byte {
	t.Helper()
	rf := compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}
	cr := rf.NewEmptyRange(0)
	for _, e := range es {
		if err := cr.Append(rfc6962.DefaultHasher.HashLeaf(e), nil); err != nil {
			t.Fatal(err)
		}
	}
	if len(es) == 0 {
		return rfc6962.DefaultHasher.EmptyRoot()
	}
	root, err := cr.GetRootHash(nil)
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func TestTreeHeadAndProofs(t *testing.T) {
	s, v := testKeys(t)
	dir := t.TempDir()
	l := openTest(t, dir, s)
	defer closeTest(t, l)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// A fresh log publishes an empty tree head at once.
	raw0, size0, root0, err := l.TreeHead(ctx)
	if err != nil || size0 != 0 || !bytes.Equal(root0, rfc6962.DefaultHasher.EmptyRoot()) || len(raw0) == 0 {
		t.Fatalf("empty TreeHead = size %d root %x err %v", size0, root0, err)
	}

	all := makeEntries(0, 40)
	appendOK(t, l, all)
	if err := l.WaitPublished(ctx, 39); err != nil {
		t.Fatal(err)
	}
	_, size1, root1, err := l.TreeHead(ctx)
	if err != nil || size1 != 40 {
		t.Fatalf("TreeHead = %d, %v; want 40", size1, err)
	}

	more := makeEntries(40, 600)
	idx := appendOK(t, l, more)
	all = append(all, more...)
	if err := l.WaitPublished(ctx, idx[len(idx)-1]); err != nil {
		t.Fatal(err)
	}
	raw, size, root, err := l.TreeHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if size != uint64(len(all)) {
		t.Fatalf("tree head size %d, want %d", size, len(all))
	}

	// The signature verifies with the public key and the body parses.
	n, err := note.Open(raw, note.VerifierList(v))
	if err != nil {
		t.Fatalf("tree head does not verify: %v", err)
	}
	var cp flog.Checkpoint
	if _, err := cp.Unmarshal([]byte(n.Text)); err != nil {
		t.Fatal(err)
	}
	if cp.Origin != testOrigin || cp.Size != size || !bytes.Equal(cp.Hash, root) {
		t.Fatalf("parsed tree head %+v, TreeHead gave size %d root %x", cp, size, root)
	}
	if want := rootOf(t, all); !bytes.Equal(root, want) {
		t.Fatalf("root %x, recomputed %x", root, want)
	}
	if want := rootOf(t, all[:40]); !bytes.Equal(root1, want) {
		t.Fatalf("root at 40 %x, recomputed %x", root1, want)
	}

	// The Reader sees the same tree head.
	rraw, rsize, rroot, err := OpenReader(dir).TreeHead(ctx)
	if err != nil || !bytes.Equal(rraw, raw) || rsize != size || !bytes.Equal(rroot, root) {
		t.Fatalf("Reader.TreeHead = %d %x %v", rsize, rroot, err)
	}

	// Inclusion proofs for random indices (and both ends) verify.
	checks := []uint64{0, size - 1, 255, 256}
	for range 8 {
		r, _ := rand.Int(rand.Reader, big.NewInt(int64(size)))
		checks = append(checks, r.Uint64())
	}
	for _, i := range checks {
		p, err := l.InclusionProof(ctx, i, size)
		if err != nil {
			t.Fatalf("InclusionProof(%d, %d): %v", i, size, err)
		}
		leaf := rfc6962.DefaultHasher.HashLeaf(all[i])
		if err := proof.VerifyInclusion(rfc6962.DefaultHasher, i, size, leaf, p, root); err != nil {
			t.Fatalf("inclusion proof of %d in %d: %v", i, size, err)
		}
	}
	// An inclusion proof in the older, smaller tree.
	p, err := l.InclusionProof(ctx, 17, 40)
	if err != nil {
		t.Fatal(err)
	}
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, 17, 40, rfc6962.DefaultHasher.HashLeaf(all[17]), p, root1); err != nil {
		t.Fatalf("inclusion proof of 17 in 40: %v", err)
	}
	if _, err := l.InclusionProof(ctx, size, size); err == nil {
		t.Fatal("inclusion proof for an index outside the tree succeeded")
	}
	if _, err := l.InclusionProof(ctx, 0, size+1000); !errors.Is(err, ErrNotFound) {
		t.Fatalf("inclusion proof in a tree larger than the log: %v", err)
	}

	// Consistency between the two tree heads.
	cpf, err := l.ConsistencyProof(ctx, 40, size)
	if err != nil {
		t.Fatal(err)
	}
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, 40, size, cpf, root1, root); err != nil {
		t.Fatalf("consistency 40→%d: %v", size, err)
	}
	if _, err := l.ConsistencyProof(ctx, size, 40); err == nil {
		t.Fatal("consistency proof with smaller > larger succeeded")
	}

	// Raw C2SP resources.
	if b, err := l.ReadCheckpoint(ctx); err != nil || !bytes.Equal(b, raw) {
		t.Fatalf("ReadCheckpoint: %v", err)
	}
	if b, err := l.ReadTile(ctx, 0, 0, 0); err != nil || len(b) != 32*256 {
		t.Fatalf("ReadTile(0,0,full) = %d bytes, %v", len(b), err)
	}
	if _, err := l.ReadEntryBundle(ctx, 0, 0); err != nil {
		t.Fatalf("ReadEntryBundle(0, full): %v", err)
	}
	if _, err := l.ReadTile(ctx, 0, 99, 0); !errors.Is(err, ErrNotFound) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("ReadTile of a missing tile: %v", err)
	}
}

func TestWaitPublishedContext(t *testing.T) {
	s, _ := testKeys(t)
	l := openTest(t, t.TempDir(), s)
	defer closeTest(t, l)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := l.WaitPublished(ctx, 5); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitPublished for an absent index: %v", err)
	}
}

// bundleEntryOffset returns the byte offset of entry j's data within a
// serialised entry bundle.
func bundleEntryOffset(t *testing.T, bundle []byte, j int) int {
	t.Helper()
	off := 0
	for range j {
		off += 2 + int(binary.BigEndian.Uint16(bundle[off:]))
	}
	if int(binary.BigEndian.Uint16(bundle[off:])) == 0 {
		t.Fatalf("entry %d is empty", j)
	}
	return off + 2
}

func flipEntryByte(t *testing.T, dir string, index, size uint64) {
	t.Helper()
	p := filepath.Join(dir, layout.EntriesPathForLogIndex(index, size))
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	off := bundleEntryOffset(t, b, int(index%layout.EntryBundleWidth))
	b[off+3] ^= 0x01
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// closedLog writes n entries to a new log, closes it, and returns its dir.
func closedLog(t *testing.T, s note.Signer, n int) string {
	t.Helper()
	dir := t.TempDir()
	l := openTest(t, dir, s)
	appendOK(t, l, makeEntries(0, n))
	closeTest(t, l)
	return dir
}

func TestVerifyTree(t *testing.T) {
	s, v := testKeys(t)
	ctx := context.Background()

	t.Run("good", func(t *testing.T) {
		dir := closedLog(t, s, 300)
		size, err := VerifyTree(ctx, dir, v)
		if err != nil || size != 300 {
			t.Fatalf("VerifyTree = %d, %v; want 300, nil", size, err)
		}
	})

	t.Run("empty", func(t *testing.T) {
		dir := t.TempDir()
		closeTest(t, openTest(t, dir, s))
		if size, err := VerifyTree(ctx, dir, v); err != nil || size != 0 {
			t.Fatalf("VerifyTree(empty) = %d, %v", size, err)
		}
	})

	t.Run("large", func(t *testing.T) {
		// 256*256+3 entries: exercises a level-1 tile and the upper-tile check.
		if testing.Short() {
			t.Skip("short")
		}
		dir := t.TempDir()
		l := openTest(t, dir, s)
		for i := 0; i < 65539; i += 4096 {
			appendOK(t, l, makeEntries(i, min(4096, 65539-i)))
		}
		closeTest(t, l)
		if size, err := VerifyTree(ctx, dir, v); err != nil || size != 65539 {
			t.Fatalf("VerifyTree = %d, %v", size, err)
		}
		// Corrupt one stored level-1 hash: tile/1/000 holds the roots of the
		// 256-leaf subtrees (tree level 8).
		p := filepath.Join(dir, layout.TilePath(1, 0, layout.PartialTileSize(1, 0, 65539)))
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		b[32*3] ^= 0x80 // node 3 of level 8 = leaves 768..1023
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err = VerifyTree(ctx, dir, v)
		var te *TreeError
		if !errors.As(err, &te) || te.Index != 768 {
			t.Fatalf("VerifyTree after corrupting a level-1 tile: %v", err)
		}
	})

	for _, idx := range []uint64{17, 255, 261} {
		t.Run(fmt.Sprintf("flipped entry %d", idx), func(t *testing.T) {
			dir := closedLog(t, s, 300)
			flipEntryByte(t, dir, idx, 300)
			_, err := VerifyTree(ctx, dir, v)
			var te *TreeError
			if !errors.As(err, &te) {
				t.Fatalf("VerifyTree after flipping entry %d: err = %v, want *TreeError", idx, err)
			}
			if te.Index != int64(idx) || !strings.Contains(err.Error(), fmt.Sprintf("log index %d: entry does not match its leaf hash in tile", idx)) {
				t.Fatalf("VerifyTree after flipping entry %d: %v (index %d)", idx, err, te.Index)
			}
		})
	}

	t.Run("bad signature", func(t *testing.T) {
		dir := closedLog(t, s, 20)
		p := filepath.Join(dir, layout.CheckpointPath)
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		// Last line: "— <name> <base64(keyhash||sig)>"; flip a signature bit.
		lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
		last := lines[len(lines)-1]
		cut := strings.LastIndexByte(last, ' ')
		sig, err := base64.StdEncoding.DecodeString(last[cut+1:])
		if err != nil {
			t.Fatal(err)
		}
		sig[10] ^= 0x01
		lines[len(lines)-1] = last[:cut+1] + base64.StdEncoding.EncodeToString(sig)
		if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err = VerifyTree(ctx, dir, v)
		var te *TreeError
		if !errors.As(err, &te) || te.Index != -1 || !strings.Contains(te.Reason, "signature") {
			t.Fatalf("VerifyTree with altered signature: %v", err)
		}
		// The Reader still parses it (it does not verify signatures).
		if _, size, _, err := OpenReader(dir).TreeHead(ctx); err != nil || size != 20 {
			t.Fatalf("Reader.TreeHead = %d, %v", size, err)
		}
	})

	t.Run("wrong key", func(t *testing.T) {
		dir := closedLog(t, s, 3)
		_, other := testKeys(t)
		if _, err := VerifyTree(ctx, dir, other); err == nil {
			t.Fatal("VerifyTree with another key succeeded")
		}
	})

	t.Run("altered tree head body", func(t *testing.T) {
		dir := closedLog(t, s, 20)
		p := filepath.Join(dir, layout.CheckpointPath)
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		raw = bytes.Replace(raw, []byte("\n20\n"), []byte("\n19\n"), 1)
		if err := os.WriteFile(p, raw, 0o644); err != nil {
			t.Fatal(err)
		}
		var te *TreeError
		if _, err := VerifyTree(ctx, dir, v); !errors.As(err, &te) {
			t.Fatalf("VerifyTree with altered size: %v", err)
		}
	})

	t.Run("missing dir", func(t *testing.T) {
		var te *TreeError
		if _, err := VerifyTree(ctx, filepath.Join(t.TempDir(), "nope"), v); !errors.As(err, &te) || !errors.Is(err, ErrNotFound) {
			t.Fatalf("VerifyTree on a missing dir: %v", err)
		}
	})
}

func TestOversizedEntry(t *testing.T) {
	s, _ := testKeys(t)
	l := openTest(t, t.TempDir(), s)
	defer closeTest(t, l)
	ctx := context.Background()
	appendOK(t, l, makeEntries(0, 2))

	_, err := l.Append(ctx, [][]byte{[]byte("ok"), make([]byte, MaxEntrySize+1)})
	if !errors.Is(err, ErrEntryTooLarge) {
		t.Fatalf("oversized Append: err = %v, want ErrEntryTooLarge", err)
	}
	if size, err := l.Size(ctx); err != nil || size != 2 {
		t.Fatalf("Size after rejected Append = %d, %v; want 2", size, err)
	}
	// Exactly MaxEntrySize is accepted and reads back.
	big := bytes.Repeat([]byte{'z'}, MaxEntrySize)
	idx := appendOK(t, l, [][]byte{big})
	err = l.Entries(ctx, idx[0], idx[0]+1, func(_ uint64, d []byte) error {
		if !bytes.Equal(d, big) {
			return errors.New("max-size entry differs")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestPushback(t *testing.T) {
	s, _ := testKeys(t)
	opts := testOpts
	opts.PushbackMaxOutstanding = 4
	l, err := Open(context.Background(), t.TempDir(), s, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer closeTest(t, l)
	// Pretend three entries are outstanding.
	l.outstanding.Add(3)
	if _, err := l.Append(context.Background(), makeEntries(0, 2)); !errors.Is(err, ErrPushback) {
		t.Fatalf("Append over the limit: err = %v, want ErrPushback", err)
	}
	l.outstanding.Add(-3)
	// With nothing outstanding, even an oversized batch goes through.
	appendOK(t, l, makeEntries(0, 10))
}

func TestConcurrentAppend(t *testing.T) {
	s, v := testKeys(t)
	dir := t.TempDir()
	l := openTest(t, dir, s)
	ctx := context.Background()

	const workers, calls = 32, 15
	type result struct {
		idx  []uint64
		data [][]byte
	}
	results := make(chan result, workers*calls)
	errs := make(chan error, workers*calls)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for c := range calls {
				n := 1 + (w+c)%3
				es := make([][]byte, n)
				for k := range es {
					es[k] = fmt.Appendf(nil, "worker %d call %d entry %d", w, c, k)
				}
				idx, err := l.Append(ctx, es)
				if err != nil {
					errs <- err
					return
				}
				results <- result{idx, es}
			}
		})
	}
	wg.Wait()
	close(results)
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent Append: %v", err)
	}

	want := map[uint64][]byte{}
	for r := range results {
		for k, i := range r.idx {
			if k > 0 && i != r.idx[k-1]+1 {
				t.Fatalf("one call got non-consecutive indices %v", r.idx)
			}
			if _, dup := want[i]; dup {
				t.Fatalf("index %d assigned twice", i)
			}
			want[i] = r.data[k]
		}
	}
	size, err := l.Size(ctx)
	if err != nil || size != uint64(len(want)) {
		t.Fatalf("Size = %d, %v; want %d", size, err, len(want))
	}
	got := readAll(t, size, l.Entries)
	for i, d := range got {
		if !bytes.Equal(d, want[uint64(i)]) {
			t.Fatalf("entry %d = %q, want %q", i, d, want[uint64(i)])
		}
	}
	closeTest(t, l)
	if n, err := VerifyTree(ctx, dir, v); err != nil || n != size {
		t.Fatalf("VerifyTree = %d, %v; want %d", n, err, size)
	}
}

// TestPublishesAfterClockStepsBack: when the wall clock steps back, the
// published tree head's file is dated in the future, which Tessera reads
// as "published a moment ago" until the clock catches up. The log dates it
// now and goes on publishing within a few intervals, not an hour later.
func TestPublishesAfterClockStepsBack(t *testing.T) {
	s, _ := testKeys(t)
	dir := t.TempDir()
	l := openTest(t, dir, s)
	defer closeTest(t, l)
	ctx := context.Background()
	appendOK(t, l, makeEntries(0, 3))
	wait, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := l.WaitPublished(wait, 2); err != nil {
		t.Fatal(err)
	}
	// What a clock stepped back by an hour sees.
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(filepath.Join(dir, layout.CheckpointPath), later, later); err != nil {
		t.Fatal(err)
	}
	appendOK(t, l, makeEntries(3, 1))
	wait, cancel = context.WithTimeout(ctx, 20*testOpts.CheckpointInterval+2*time.Second)
	defer cancel()
	if err := l.WaitPublished(wait, 3); err != nil {
		t.Fatalf("no tree head with the new entry after the clock stepped back an hour: %v", err)
	}
	if at, _ := l.TreeHeadTime(); at.After(time.Now().Add(time.Second)) {
		t.Errorf("the tree head is still dated ahead: %v", at)
	}
}

// TestLargeAppendInOrder: calls far larger than a batch, and longer to add
// than the shortest batch age, land in the order given (tessera's queue
// hands a batch cut by its timer to the sequencer from another goroutine
// than one cut by size, so two batches of one call could arrive in either
// order). Under the race detector, adding 1,024 entries takes longer than
// the age: parts are cut by size, by the age and by the end of the call.
func TestLargeAppendInOrder(t *testing.T) {
	s, _ := testKeys(t)
	l, err := Open(context.Background(), t.TempDir(), s, Options{CheckpointInterval: 100 * time.Millisecond, BatchMaxSize: 1024, BatchMaxAge: time.Microsecond})
	if err != nil {
		t.Fatal(err)
	}
	defer closeTest(t, l)
	if l.opts.BatchMaxAge != minBatchMaxAge {
		t.Errorf("a batch age of 1µs is kept as %v, not raised to %v", l.opts.BatchMaxAge, minBatchMaxAge)
	}
	for round := range 6 {
		idx, err := l.Append(context.Background(), makeEntries(round*5000, 5000))
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		for i := range idx {
			if idx[i] != idx[0]+uint64(i) {
				t.Fatalf("round %d: entry %d at %d after %d", round, i, idx[i], idx[0])
			}
		}
	}
}
