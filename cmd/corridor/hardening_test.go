package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"corridor/app"
	"corridor/internal/testdb"
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

// A rebuild killed at any moment leaves a whole projection: the old one
// until the new one is complete. Tokens (not in the log) survive it.
func TestKillDuringRebuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a folder of 2,000 records")
	}
	bin := buildBinary(t)
	for _, b := range testdb.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			if code, out, errOut := runCLI(t, "bench", "--data", dir, "--records", "2000"); code != 0 {
				t.Fatalf("bench: %d\n%s%s", code, out, errOut)
			}
			// The projection under test: the folder's SQLite file, or a
			// PostgreSQL database first built from the log.
			dsn, db := filepath.Join(dir, app.ProjectionFile), []string{}
			if b.Name != "sqlite" {
				dsn = b.DSN(t)
				db = []string{"--db", dsn}
				if code, out, errOut := runCLI(t, append([]string{"rebuild", "--data", dir}, db...)...); code != 0 {
					t.Fatalf("rebuild: %d\n%s%s", code, out, errOut)
				}
			}
			ctx := context.Background()
			st, err := store.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			tok, _, err := st.IssueToken(ctx, "operator", "before the rebuild")
			st.Close()
			if err != nil {
				t.Fatal(err)
			}
			for _, after := range []time.Duration{30 * time.Millisecond, 150 * time.Millisecond, 400 * time.Millisecond, 900 * time.Millisecond} {
				cmd := exec.Command(bin, append([]string{"rebuild", "--data", dir}, db...)...)
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				time.Sleep(after)
				cmd.Process.Kill()
				cmd.Wait()
				if code, out, errOut := runCLI(t, append([]string{"verify", "--data", dir}, db...)...); code != 0 {
					t.Fatalf("verify after a rebuild killed at %v: %d\n%s%s", after, code, out, errOut)
				}
			}
			if code, out, errOut := runCLI(t, append([]string{"rebuild", "--data", dir}, db...)...); code != 0 {
				t.Fatalf("rebuild: %d\n%s%s", code, out, errOut)
			}
			st, err = store.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if party, err := st.TokenParty(ctx, tok); err != nil || party != "operator" {
				t.Errorf("a token issued before the rebuilds: party %q, %v; want it kept", party, err)
			}
		})
	}
}
