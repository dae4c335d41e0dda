package main

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"corridor/ledger"
)

// demoFolder makes a fresh data folder holding the reference scenario, by
// running the demo in-process and stopping it. It returns the folder and
// the API answers the demo gave for the main lists.
func demoFolder(t *testing.T) (string, map[string]any) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "demo")
	s := startInProcess(t, "demo", "--data", dir, "--addr", "127.0.0.1:0")
	snap := snapshot(t, s.URL)
	if code := s.stop(t); code != 0 {
		t.Fatalf("demo ended with status %d\nstderr:\n%s", code, s.Stderr)
	}
	return dir, snap
}

// snapshotPaths are the lists compared before tampering and after rebuild.
var snapshotPaths = []string{"/api/v1/convoys", "/api/v1/routes", "/api/v1/places", "/api/v1/checkpoints", "/api/v1/parties"}

func snapshot(t *testing.T, base string) map[string]any {
	t.Helper()
	out := map[string]any{}
	for _, p := range snapshotPaths {
		v := getJSON(t, base, p)
		if len(itemsOf(t, v)) == 0 {
			t.Fatalf("GET %s: empty list on a demo folder", p)
		}
		out[p] = v
	}
	return out
}

func openProjection(t *testing.T, dir string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "projection.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// execOne runs a statement that must change exactly one row.
func execOne(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	res, err := db.Exec(q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		t.Fatalf("%s: changed %d rows (%v), want 1", q, n, err)
	}
}

// verifyFails runs verify and requires a failure (status 1) whose output
// contains want.
func verifyFails(t *testing.T, dir, want string) {
	t.Helper()
	code, out, errOut := runCLI(t, "verify", "--data", dir)
	if code == 0 {
		t.Fatalf("verify passed on a tampered folder (want a failure naming %q)\nstdout:\n%s", want, out)
	}
	if code != 1 {
		t.Errorf("verify on a tampered folder: status %d, want 1", code)
	}
	if !strings.Contains(out+errOut, want) {
		t.Fatalf("verify failed but its output does not name %q\nstdout:\n%s\nstderr:\n%s", want, out, errOut)
	}
	msg := strings.TrimSpace(errOut)
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	t.Logf("verify (as expected) says: %s", msg)
}

func verifyPasses(t *testing.T, dir string) {
	t.Helper()
	if code, out, errOut := runCLI(t, "verify", "--data", dir); code != 0 {
		t.Fatalf("verify: status %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
}

func TestTamperLogEntry(t *testing.T) {
	t.Parallel()
	dir, _ := demoFolder(t)
	verifyPasses(t, dir)

	logDir := filepath.Join(dir, "log")
	size, err := ledger.OpenReader(logDir).Size(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if size < 10 || size >= 256 {
		t.Fatalf("demo log holds %d entries; this test expects 10 to 255 (one partial entry bundle)", size)
	}
	// The C2SP entry bundle for indices [0, size): each entry is a 2-byte
	// big-endian length followed by the entry.
	bundle := filepath.Join(logDir, "tile", "entries", "000.p", fmt.Sprint(size))
	data, err := os.ReadFile(bundle)
	if err != nil {
		t.Fatalf("read the entry bundle: %v", err)
	}
	target := size / 2
	off := 0
	var start, n int
	for i := uint64(0); ; i++ {
		if off+2 > len(data) {
			t.Fatalf("entry bundle %s ends before entry %d", bundle, target)
		}
		l := int(binary.BigEndian.Uint16(data[off:]))
		if i == target {
			start, n = off+2, l
			break
		}
		off += 2 + l
	}
	entry := data[start : start+n]
	if !strings.HasPrefix(string(entry), "{") {
		t.Fatalf("entry %d does not look like JSON: %.40q", target, entry)
	}
	// Change one lowercase letter in the middle of the entry's JSON for
	// another letter: the bundle still parses, the JSON may still parse,
	// only the content differs.
	pos := -1
	for j := n / 2; j < n; j++ {
		if c := entry[j]; c >= 'a' && c <= 'y' {
			pos = j
			break
		}
	}
	if pos < 0 {
		t.Fatalf("no letter to change in entry %d", target)
	}
	entry[pos]++
	if err := os.WriteFile(bundle, data, 0o644); err != nil {
		t.Fatal(err)
	}
	verifyFails(t, dir, fmt.Sprintf("log index %d:", target))
}

func TestTamperProjectedRowThenRebuild(t *testing.T) {
	t.Parallel()
	dir, before := demoFolder(t)
	verifyPasses(t, dir)

	db := openProjection(t, dir)
	var status string
	if err := db.QueryRow(`SELECT status FROM convoys WHERE id = 'am-2023-07'`).Scan(&status); err != nil {
		t.Fatal(err)
	}
	if status == "delivered" {
		t.Fatalf("convoy am-2023-07 is already delivered in the demo; pick another change")
	}
	execOne(t, db, `UPDATE convoys SET status = 'delivered' WHERE id = 'am-2023-07'`)
	db.Close()
	verifyFails(t, dir, "table convoys")

	code, out, errOut := runCLI(t, "rebuild", "--data", dir)
	if code != 0 {
		t.Fatalf("rebuild: status %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	verifyPasses(t, dir)

	s := startInProcess(t, "serve", "--data", dir, "--addr", "127.0.0.1:0")
	after := snapshot(t, s.URL)
	for _, p := range snapshotPaths {
		if !reflect.DeepEqual(before[p], after[p]) {
			t.Errorf("GET %s after tamper and rebuild differs from before\nbefore: %v\nafter:  %v", p, before[p], after[p])
		}
	}
	if code := s.stop(t); code != 0 {
		t.Fatalf("serve ended with status %d\nstderr:\n%s", code, s.Stderr)
	}
	verifyPasses(t, dir)
}

func TestTamperPrivateValue(t *testing.T) {
	t.Parallel()
	dir, _ := demoFolder(t)
	verifyPasses(t, dir)

	db := openProjection(t, dir)
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM private_values`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("the demo stored no private values")
	}
	execOne(t, db, `UPDATE private_values SET value = 'X' WHERE commitment = (SELECT MIN(commitment) FROM private_values)`)
	db.Close()
	verifyFails(t, dir, "private_values")
}
