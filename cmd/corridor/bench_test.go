package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"corridor"
	"corridor/app"
	"corridor/store"
)

// TestBenchThenAudit writes a small log with the bench tool from each
// shipped scenario (the 1,000,000-record run is in docs/PERFORMANCE.md,
// not here) and audits it. The generated convoys are stopped where the
// scenario's own convoys were, at each of those checkpoints in turn.
func TestBenchThenAudit(t *testing.T) {
	t.Parallel()
	for file, sc := range shippedScenarios(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "bench")
			code, out, errOut := runCLI(t, "bench", "--data", dir, "--records", "1203", "--scenario", file)
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

			stopped := map[string]bool{} // checkpoints where the scenario's convoys were held or refused
			for _, r := range sc.Records {
				var e struct{ Checkpoint, Event string }
				if r.Type == corridor.TypeCheckEvent && json.Unmarshal(r.Payload, &e) == nil && (e.Event == corridor.EvHeld || e.Event == corridor.EvRefused) {
					stopped[e.Checkpoint] = true
				}
			}
			st, err := store.Open(context.Background(), filepath.Join(dir, app.ProjectionFile))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			convoys, err := st.Convoys(context.Background(), store.ConvoyFilter{After: -1})
			if err != nil {
				t.Fatal(err)
			}
			at := map[string]int{}
			for _, c := range convoys {
				if !strings.HasPrefix(c.ID, "bench-") {
					continue
				}
				if c.Status != string(corridor.StatusHeld) || !stopped[c.Checkpoint] {
					t.Fatalf("generated convoy %s is %s at %q; want held at one of %v", c.ID, c.Status, c.Checkpoint, stopped)
				}
				at[c.Checkpoint]++
			}
			if len(at) < min(2, len(stopped)) {
				t.Errorf("generated convoys held at %v only; the scenario's convoys were stopped at %v", at, stopped)
			}
			t.Logf("%s: generated convoys held at %v", filepath.Base(file), at)
		})
	}
}
