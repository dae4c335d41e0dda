package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for a writer goroutine and a reader.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// runCLI runs the CLI in-process and returns its exit status and output.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

var servingLine = regexp.MustCompile(`corridor: serving (http://\S+)`)

// server is a serve or demo command running in-process in a goroutine.
type server struct {
	URL    string
	Stdout *syncBuffer
	Stderr *syncBuffer
	cancel context.CancelFunc
	done   chan int
	code   int
	ended  bool
}

// startInProcess runs "corridor args..." (serve or demo) in a goroutine and
// waits for its "corridor: serving URL" line. The server is stopped at the
// end of the test if the test has not stopped it.
func startInProcess(t *testing.T, args ...string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{Stdout: &syncBuffer{}, Stderr: &syncBuffer{}, cancel: cancel, done: make(chan int, 1)}
	go func() { s.done <- run(ctx, args, s.Stdout, s.Stderr) }()
	t.Cleanup(func() { s.stop(t) })
	deadline := time.After(60 * time.Second)
	for {
		if m := servingLine.FindStringSubmatch(s.Stdout.String()); m != nil {
			s.URL = m[1]
			return s
		}
		select {
		case code := <-s.done:
			s.ended, s.code = true, code
			t.Fatalf("corridor %s ended with status %d before serving\nstdout:\n%s\nstderr:\n%s", args[0], code, s.Stdout, s.Stderr)
		case <-deadline:
			t.Fatalf("corridor %s did not print its serving line in time\nstdout:\n%s\nstderr:\n%s", args[0], s.Stdout, s.Stderr)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// stop cancels the command's context and returns its exit status.
func (s *server) stop(t *testing.T) int {
	t.Helper()
	if s.ended {
		return s.code
	}
	s.cancel()
	select {
	case s.code = <-s.done:
	case <-time.After(90 * time.Second):
		t.Fatalf("server did not stop within 90s after its context was cancelled\nstderr:\n%s", s.Stderr)
	}
	s.ended = true
	return s.code
}

// getJSON GETs base+path, requires 200 and decodes the JSON answer.
func getJSON(t *testing.T, base, path string) any {
	t.Helper()
	var v any
	if err := getJSONInto(base, path, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func getJSONInto(base, path string, out any) error {
	c := &http.Client{Timeout: 30 * time.Second}
	resp, err := c.Get(base + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", path, resp.Status, buf.String())
	}
	if err := json.Unmarshal(buf.Bytes(), out); err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	return nil
}

// itemsOf returns the "items" array of a list answer.
func itemsOf(t *testing.T, v any) []any {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("answer is not a JSON object: %v", v)
	}
	items, ok := m["items"].([]any)
	if !ok {
		t.Fatalf("answer has no items array: %v", v)
	}
	return items
}

func TestInitCreatesDataFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	code, out, errOut := runCLI(t, "init", "--data", dir)
	if code != 0 {
		t.Fatalf("init: status %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	for _, f := range []string{"corridor.json", "log.key", "operator.key"} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Errorf("init did not create %s: %v", f, err)
		} else if fi.Size() == 0 {
			t.Errorf("%s is empty", f)
		}
	}
	for _, f := range []string{"log.key", "operator.key"} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err == nil && fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v: a private key must not be readable by others", f, fi.Mode().Perm())
		}
	}
	if !strings.Contains(out, dir) {
		t.Errorf("init output does not name the folder %s:\n%s", dir, out)
	}

	// A second init on the now non-empty folder must refuse.
	code, _, errOut = runCLI(t, "init", "--data", dir)
	if code != 1 {
		t.Errorf("init on a non-empty folder: status %d, want 1\nstderr:\n%s", code, errOut)
	}
	if !strings.Contains(errOut, "not empty") {
		t.Errorf("init on a non-empty folder: stderr does not say why:\n%s", errOut)
	}

	// init on some other non-empty folder refuses as well and leaves it alone.
	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "keep.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI(t, "init", "--data", other); code != 1 {
		t.Errorf("init on a folder holding a file: status %d, want 1\nstderr:\n%s", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(other, "corridor.json")); err == nil {
		t.Errorf("init wrote corridor.json into a non-empty folder")
	}

	// The new folder verifies.
	if code, out, errOut := runCLI(t, "verify", "--data", dir); code != 0 {
		t.Errorf("verify of a new folder: status %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // in stderr
	}{
		{[]string{"init"}, "-data"},
		{[]string{"serve"}, "-data"},
		{[]string{"verify"}, "-data"},
		{[]string{"rebuild"}, "-data"},
		{[]string{"keygen"}, "-out"},
		{[]string{"init", "--data", t.TempDir(), "stray"}, "stray"},
		{[]string{"serve", "--data", t.TempDir(), "--addr", "nonsense"}, "-addr"},
		{[]string{"serve", "--data", t.TempDir(), "--public-url", "corridor.example"}, "-public-url"},
		{[]string{"serve", "--data", t.TempDir(), "--public-url", "https://corridor.example/app?x=1"}, "-public-url"},
		{[]string{"load", "--data", t.TempDir()}, "FILE"},
		{[]string{"bench", "--data", t.TempDir(), "--records", "0"}, "-records"},
		{[]string{"verify", "--no-such-flag"}, "no-such-flag"},
		{[]string{"frobnicate"}, "frobnicate"},
	} {
		code, _, errOut := runCLI(t, tc.args...)
		if code != 2 {
			t.Errorf("corridor %s: status %d, want 2\nstderr:\n%s", strings.Join(tc.args, " "), code, errOut)
			continue
		}
		if !strings.Contains(errOut, tc.want) {
			t.Errorf("corridor %s: stderr does not mention %q:\n%s", strings.Join(tc.args, " "), tc.want, errOut)
		}
	}
	// Help is not an error.
	if code, out, _ := runCLI(t, "help"); code != 0 || !strings.Contains(out, "verify") {
		t.Errorf("corridor help: status %d, output:\n%s", code, out)
	}
	if code, _, _ := runCLI(t); code != 0 {
		t.Errorf("corridor with no arguments: status %d, want 0 (usage)", code)
	}
}

func TestKeygen(t *testing.T) {
	f := filepath.Join(t.TempDir(), "party.key")
	code, out, errOut := runCLI(t, "keygen", "--out", f)
	if code != 0 {
		t.Fatalf("keygen: status %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	fi, err := os.Stat(f)
	if err != nil {
		t.Fatalf("keygen did not write %s: %v", f, err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", f, fi.Mode().Perm())
	}
	if _, err := os.Stat(f + ".pub"); err != nil {
		t.Errorf("keygen did not write %s.pub: %v", f, err)
	}
	if !strings.Contains(out, "key id ") {
		t.Errorf("keygen output does not give the key id:\n%s", out)
	}
	priv, _ := os.ReadFile(f)
	pub, _ := os.ReadFile(f + ".pub")

	// A second keygen must not overwrite the key.
	code, _, errOut = runCLI(t, "keygen", "--out", f)
	if code == 0 {
		t.Errorf("keygen over an existing key succeeded; want a refusal")
	} else if code != 1 {
		t.Errorf("keygen over an existing key: status %d, want 1\nstderr:\n%s", code, errOut)
	}
	if b, _ := os.ReadFile(f); !bytes.Equal(b, priv) {
		t.Errorf("keygen overwrote the private key %s", f)
	}
	if b, _ := os.ReadFile(f + ".pub"); !bytes.Equal(b, pub) {
		t.Errorf("keygen overwrote the public key %s.pub", f)
	}
}

func TestDemoServesScenarioAndVerifies(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	s := startInProcess(t, "demo", "--data", dir, "--addr", "127.0.0.1:0")
	if !strings.HasPrefix(s.URL, "http://127.0.0.1:") || strings.HasSuffix(s.URL, ":0") {
		t.Errorf("demo printed serving URL %q, want http://127.0.0.1:PORT with a real port", s.URL)
	}

	// The summary follows the serving line; wait until it is complete.
	want := []string{
		"Lachin corridor", "Aghdam–Khankendi road",
		"am-2023-07", "arcs-2023-08", "fr-2023-08",
		"State Border Service of the Republic of Azerbaijan", "Russian peacekeeping contingent",
	}
	var out string
	for deadline := time.Now().Add(20 * time.Second); ; {
		out = s.Stdout.String()
		missing := false
		for _, w := range want {
			missing = missing || !strings.Contains(out, w)
		}
		if !missing || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("demo summary does not mention %q", w)
		}
	}
	// Each checkpoint is named on one line together with its authority.
	lines := strings.Split(out, "\n")
	for _, cp := range []struct{ id, authority string }{
		{"[hakari]", "State Border Service of the Republic of Azerbaijan"},
		{"[askeran-pkc]", "Russian peacekeeping contingent"},
	} {
		found := false
		for _, l := range lines {
			if strings.Contains(l, "checkpoint") && strings.Contains(l, cp.id) && strings.Contains(l, cp.authority) {
				found = true
			}
		}
		if !found {
			t.Errorf("demo summary has no line naming checkpoint %s run by %s", cp.id, cp.authority)
		}
	}
	if t.Failed() {
		t.Logf("demo stdout:\n%s", out)
	}

	convoys := itemsOf(t, getJSON(t, s.URL, "/api/v1/convoys"))
	if len(convoys) != 3 {
		t.Errorf("GET /api/v1/convoys: %d convoys, want 3: %v", len(convoys), convoys)
	}
	ids := map[string]bool{}
	for _, c := range convoys {
		if m, ok := c.(map[string]any); ok {
			ids[fmt.Sprint(m["id"])] = true
		}
	}
	for _, id := range []string{"am-2023-07", "arcs-2023-08", "fr-2023-08"} {
		if !ids[id] {
			t.Errorf("GET /api/v1/convoys lacks convoy %s (has %v)", id, ids)
		}
	}

	if code := s.stop(t); code != 0 {
		t.Fatalf("demo ended with status %d after cancel\nstderr:\n%s", code, s.Stderr)
	}
	code, vout, verr := runCLI(t, "verify", "--data", dir)
	if code != 0 {
		t.Fatalf("verify after demo: status %d\nstdout:\n%s\nstderr:\n%s", code, vout, verr)
	}
	if !strings.Contains(vout, "corridor: verified") {
		t.Errorf("verify output lacks its closing line:\n%s", vout)
	}

	// Starting the demo again on the same folder serves the same data and
	// does not load the scenario a second time.
	s2 := startInProcess(t, "demo", "--data", dir, "--addr", "127.0.0.1:0")
	if n := len(itemsOf(t, getJSON(t, s2.URL, "/api/v1/convoys"))); n != 3 {
		t.Errorf("demo restarted on its folder: %d convoys, want 3", n)
	}
	if code := s2.stop(t); code != 0 {
		t.Fatalf("second demo ended with status %d\nstderr:\n%s", code, s2.Stderr)
	}
	if code, vout, verr := runCLI(t, "verify", "--data", dir); code != 0 {
		t.Fatalf("verify after the second demo: status %d\nstdout:\n%s\nstderr:\n%s", code, vout, verr)
	}
}
