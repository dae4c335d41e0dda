package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"corridor/app"
	"corridor/store"
)

// rebuild refuses a folder that serve has open, and verify tells a
// projection that only trails the log from a corrupt one.
func TestRebuildAndVerifyBesideServe(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	s := startInProcess(t, "demo", "--data", dir, "--addr", "127.0.0.1:0")
	code, out, errOut := runCLI(t, "rebuild", "--data", dir)
	if code == 0 || !strings.Contains(errOut, "stop corridor serve") {
		t.Errorf("rebuild beside serve: status %d\n%s%s\nwant a refusal that says to stop serve", code, out, errOut)
	}
	if code := s.stop(t); code != 0 {
		t.Fatalf("demo ended with %d", code)
	}

	st, err := store.Open(context.Background(), filepath.Join(dir, app.ProjectionFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.DB().Exec(`UPDATE projection_state SET applied = applied - 3`); err != nil {
		t.Fatal(err)
	}
	st.Close()
	code, out, errOut = runCLI(t, "verify", "--data", dir)
	if code == 0 || !strings.Contains(out+errOut, "trails the log") || !strings.Contains(out+errOut, "corridor serve") {
		t.Errorf("verify of a trailing projection: status %d\n%s%s\nwant a failure that says it trails and how to catch up", code, out, errOut)
	}
	if code, out, errOut := runCLI(t, "rebuild", "--data", dir); code != 0 {
		t.Fatalf("rebuild with serve stopped: %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := runCLI(t, "verify", "--data", dir); code != 0 {
		t.Errorf("verify after rebuild: %d\n%s%s", code, out, errOut)
	}
}
