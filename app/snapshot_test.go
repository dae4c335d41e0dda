package app

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"corridor"
	"corridor/record"
	"corridor/store"
)

// snapshotSize reads the log size a snapshot file says it covers (0 if
// there is none).
func snapshotSize(t testing.TB, dir string) uint64 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, SnapshotFile))
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < snapshotHeaderSize {
		t.Fatalf("snapshot of %d bytes", len(b))
	}
	return binary.BigEndian.Uint64(b[len(snapshotMagic):])
}

// grown is a data folder holding n cycles of records, closed, with its
// snapshot.
func grown(t testing.TB, n int) (string, *fixture) {
	t.Helper()
	dir := newFolder(t)
	f := newFixture(t, dir)
	node := openNode(t, dir, NodeOptions{})
	submitAll(t, node.App, f.records(0, n), 40)
	closeNode(t, node)
	return dir, f
}

// reopen opens the folder, checks the state and projection equal a replay
// of the log, closes it and returns what it logged.
func reopen(t testing.TB, dir string) string {
	t.Helper()
	logs := &logBuffer{}
	node := openNode(t, dir, NodeOptions{Logger: logs.logger()})
	if got, want := lockedDump(t, node.App), stateDump(t, replayedState(t, dir)); got != want {
		t.Fatalf("state after start differs from a replay of the log\n%s", logs)
	}
	closeNode(t, node)
	sameAsRebuild(t, dir)
	return logs.String()
}

func TestStartFromSnapshotAndTail(t *testing.T) {
	dir, f := grown(t, 20)
	covered := snapshotSize(t, dir)
	if covered != logSize(t, dir) {
		t.Fatalf("Close left a snapshot of %d records, the log holds %d", covered, logSize(t, dir))
	}
	// A tail the snapshot does not cover.
	node := openNode(t, dir, NodeOptions{NoSnapshot: true})
	tail := len(submitAll(t, node.App, f.records(20, 10), 25))
	closeNode(t, node)
	if snapshotSize(t, dir) != covered {
		t.Fatal("NoSnapshot wrote a snapshot")
	}

	logs := reopen(t, dir)
	if !strings.Contains(logs, "from=snapshot") || !strings.Contains(logs, fmt.Sprintf("replayed=%d ", tail)) {
		t.Fatalf("the start did not use the snapshot and replay the %d records of the tail:\n%s", tail, logs)
	}
	if snapshotSize(t, dir) != logSize(t, dir) {
		t.Fatalf("Close did not write a new snapshot: %d, log %d", snapshotSize(t, dir), logSize(t, dir))
	}
	if logs := reopen(t, dir); !strings.Contains(logs, "replayed=0 ") {
		t.Fatalf("a start after a clean close replayed records:\n%s", logs)
	}
}

func TestUnusableSnapshotFallsBackToReplay(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		harm func(t *testing.T, dir string)
		why  string
	}{
		{"corrupt", func(t *testing.T, dir string) {
			path := filepath.Join(dir, SnapshotFile)
			b, _ := os.ReadFile(path)
			b[len(b)/2] ^= 0x20
			os.WriteFile(path, b, 0o600)
		}, "snapshot of the writer's state not used"},
		{"truncated", func(t *testing.T, dir string) {
			path := filepath.Join(dir, SnapshotFile)
			b, _ := os.ReadFile(path)
			os.WriteFile(path, b[:len(b)*2/3], 0o600)
		}, "snapshot of the writer's state not used"},
		{"empty", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, SnapshotFile), nil, 0o600)
		}, "cut short"},
		{"another version", func(t *testing.T, dir string) {
			path := filepath.Join(dir, SnapshotFile)
			b, _ := os.ReadFile(path)
			copy(b, "corridor-writer-snapshot-v9")
			os.WriteFile(path, b, 0o600)
		}, "not a snapshot of this version"},
		{"another log", func(t *testing.T, dir string) {
			other, _ := grown(t, 1) // a shorter log from another init
			b, _ := os.ReadFile(filepath.Join(other, SnapshotFile))
			os.WriteFile(filepath.Join(dir, SnapshotFile), b, 0o600)
		}, "made from another log"},
		{"beyond the log", func(t *testing.T, dir string) {
			// A snapshot of a longer history of this very log, as after
			// restoring the log from a backup.
			long := filepath.Join(t.TempDir(), "long")
			if err := os.CopyFS(long, os.DirFS(dir)); err != nil {
				t.Fatal(err)
			}
			f := newFixture(t, long)
			f.seq = 1_000_000 // past the ids of grown
			node := openNode(t, long, NodeOptions{})
			submitAll(t, node.App, f.records(100, 2), 40)
			closeNode(t, node)
			b, _ := os.ReadFile(filepath.Join(long, SnapshotFile))
			os.WriteFile(filepath.Join(dir, SnapshotFile), b, 0o600)
		}, "the log holds"},
		{"projection behind", func(t *testing.T, dir string) {
			st, err := store.Open(ctx, filepath.Join(dir, ProjectionFile))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if err := st.Reset(ctx); err != nil {
				t.Fatal(err)
			}
		}, "the projection is behind the snapshot"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, _ := grown(t, 6)
			tc.harm(t, dir)
			logs := reopen(t, dir)
			if !strings.Contains(logs, tc.why) || !strings.Contains(logs, "from=log") {
				t.Fatalf("the start does not replay the log saying %q:\n%s", tc.why, logs)
			}
			// Close wrote a good one.
			if logs := reopen(t, dir); !strings.Contains(logs, "from=snapshot") {
				t.Fatalf("the snapshot written after a replay is not used:\n%s", logs)
			}
		})
	}
}

func TestCrashWhileWritingSnapshot(t *testing.T) {
	dir, f := grown(t, 4)
	node := openNode(t, dir, NodeOptions{NoSnapshot: true})
	submitAll(t, node.App, f.records(4, 2), 40)
	closeNode(t, node)
	// A crash left half a temporary file beside the last snapshot.
	tmp := filepath.Join(dir, SnapshotFile+".tmp")
	b, _ := os.ReadFile(filepath.Join(dir, SnapshotFile))
	os.WriteFile(tmp, b[:len(b)/2], 0o600)
	if logs := reopen(t, dir); !strings.Contains(logs, "from=snapshot") {
		t.Fatalf("a half-written temporary file kept the snapshot from being used:\n%s", logs)
	}
	// A crash while writing the very first snapshot.
	os.Remove(filepath.Join(dir, SnapshotFile))
	os.WriteFile(tmp, b[:len(b)/2], 0o600)
	if logs := reopen(t, dir); !strings.Contains(logs, "from=log") {
		t.Fatalf("without a snapshot the start does not replay the log:\n%s", logs)
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Errorf("the temporary file is still there after a snapshot was written: %v", err)
	}
}

func TestPeriodicSnapshot(t *testing.T) {
	dir := newFolder(t)
	f := newFixture(t, dir)
	node := openNode(t, dir, NodeOptions{SnapshotEvery: 50})
	submitAll(t, node.App, f.records(0, 20), 30)
	waitFor(t, "a snapshot of 50 records or more", func() bool { return snapshotSize(t, dir) >= 50 })
	closeNode(t, node)

	// By time: an hour's worth of records, one record.
	node = openNode(t, dir, NodeOptions{SnapshotEvery: 1 << 40, SnapshotInterval: time.Millisecond})
	time.Sleep(5 * time.Millisecond)
	submitAll(t, node.App, f.records(20, 1), 30)
	want := logSize(t, dir)
	waitFor(t, "a snapshot of the whole log", func() bool { return snapshotSize(t, dir) == want })
	closeNode(t, node)
	sameAsRebuild(t, dir)
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !ok(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no %s", what)
		}
	}
}

// TestMeasureStartup times a start from the log and from the snapshot on a
// large folder. CORRIDOR_MEASURE_DIR names a data folder (for example one
// made by corridor bench); without it, CORRIDOR_MEASURE_RECORDS builds one.
func TestMeasureStartup(t *testing.T) {
	dir := os.Getenv("CORRIDOR_MEASURE_DIR")
	if dir == "" {
		var n int
		if _, err := fmt.Sscan(os.Getenv("CORRIDOR_MEASURE_RECORDS"), &n); err != nil {
			t.Skip("set CORRIDOR_MEASURE_DIR or CORRIDOR_MEASURE_RECORDS to measure start-up")
		}
		dir = newFolder(t)
		f := newFixture(t, dir)
		node := openNode(t, dir, NodeOptions{})
		start := time.Now()
		for i := 0; node.Size() < uint64(n); i += 100 {
			submitAll(t, node.App, f.records(i, 100), 1000)
		}
		closeNode(t, node)
		t.Logf("built %d records in %s", logSize(t, dir), time.Since(start))
	}
	node := openNode(t, dir, NodeOptions{})
	closeNode(t, node) // makes sure the snapshot covers the log
	fi, err := os.Stat(filepath.Join(dir, SnapshotFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, noSnapshot := range []bool{true, false, true, false} {
		logs := &logBuffer{}
		start := time.Now()
		node := openNode(t, dir, NodeOptions{NoSnapshot: noSnapshot, Logger: logs.logger()})
		took := time.Since(start)
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		closeNode(t, node)
		t.Logf("records %d, snapshot %d bytes, no snapshot %v: open %s, heap %d MB (%s)", logSize(t, dir), fi.Size(), noSnapshot, took,
			ms.HeapAlloc>>20, logLine(logs.String(), "state loaded"))
	}
	// What a periodic snapshot costs the writer: one record (a place, signed
	// by the operator) past SnapshotEvery. This adds a record to the folder.
	logs := &logBuffer{}
	node = openNode(t, dir, NodeOptions{SnapshotEvery: 1, Logger: logs.logger()})
	op, err := record.ReadKeyFile(filepath.Join(dir, OperatorKey))
	if err != nil {
		t.Fatal(err)
	}
	id := fmt.Sprintf("measure-%d", time.Now().UnixNano())
	r, err := record.Sign(op, id, corridor.TypePlace, 1, &corridor.Place{ID: id, Kind: "town", Names: names(id), Lat: 40, Lon: 46})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := node.Submit(context.Background(), []*Submission{{Record: r}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a periodic snapshot", func() bool { return strings.Contains(logs.String(), "writer_copy") })
	closeNode(t, node)
	t.Logf("periodic snapshot: %s", logLine(logs.String(), "writer_copy"))
}

// logLine returns the first line of logs that holds s.
func logLine(logs, s string) string {
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}
