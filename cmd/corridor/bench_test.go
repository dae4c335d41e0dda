package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestBenchThenAudit writes a small log with the bench tool (the
// 1,000,000-record run is in docs/PERFORMANCE.md, not here) and audits it.
func TestBenchThenAudit(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "bench")
	code, out, errOut := runCLI(t, "bench", "--data", dir, "--records", "1203")
	if code != 0 {
		t.Fatalf("bench: %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, "wrote 1203 records") {
		t.Fatalf("bench: %s", out)
	}
	code, out, errOut = runCLI(t, "audit", "--quiet", "--dir", dir)
	if code != 0 || !strings.Contains(out, "records: 1203 replayed") {
		t.Fatalf("audit of the bench log: %d\n%s%s", code, out, errOut)
	}
}
