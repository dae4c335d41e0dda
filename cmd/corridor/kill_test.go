package main

import (
	"context"
	"corridor/internal/skipped"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"corridor"
	"corridor/app"
	"corridor/client"
	"corridor/ledger"
	"corridor/record"
	"corridor/store"
)

// buildBinary builds the corridor command into a temporary folder.
func buildBinary(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		skipped.Skip(t, "process tests (cmd/corridor)", "the go command is not on PATH: cannot build the corridor binary to run and kill as a real process")
	}
	bin := filepath.Join(t.TempDir(), "corridor")
	cmd := exec.Command(goBin, "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// proc is a "corridor serve" child process.
type proc struct {
	cmd     *exec.Cmd
	url     string
	stdout  *syncBuffer
	errPath string
	exited  chan struct{}
	waitErr error
}

func (p *proc) stderrTail() string {
	b, _ := os.ReadFile(p.errPath)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// startServe starts "corridor serve" on a free loopback port and waits until
// it answers /healthz.
func startServe(t *testing.T, bin, dir, logName string) *proc {
	t.Helper()
	var lastErr string
	for attempt := 0; attempt < 3; attempt++ {
		port := freePort(t)
		errPath := filepath.Join(filepath.Dir(bin), fmt.Sprintf("%s-%d.stderr", logName, attempt))
		ef, err := os.Create(errPath)
		if err != nil {
			t.Fatal(err)
		}
		p := &proc{stdout: &syncBuffer{}, errPath: errPath, exited: make(chan struct{})}
		p.cmd = exec.Command(bin, "serve", "--data", dir, "--addr", "127.0.0.1:"+port)
		p.cmd.Stdout = p.stdout
		p.cmd.Stderr = ef
		if err := p.cmd.Start(); err != nil {
			ef.Close()
			t.Fatal(err)
		}
		ef.Close()
		go func() { p.waitErr = p.cmd.Wait(); close(p.exited) }()
		t.Cleanup(func() {
			select {
			case <-p.exited:
			default:
				p.cmd.Process.Kill()
				<-p.exited
			}
		})
		want := "http://127.0.0.1:" + port
		deadline := time.Now().Add(30 * time.Second)
		for {
			select {
			case <-p.exited:
				lastErr = fmt.Sprintf("serve exited (%v) before answering\nstderr:\n%s", p.waitErr, p.stderrTail())
			default:
			}
			if lastErr != "" {
				break
			}
			if strings.Contains(p.stdout.String(), "corridor: serving "+want) {
				var h map[string]any
				if err := getJSONInto(want, "/healthz", &h); err == nil && h["status"] == "ok" {
					p.url = want
					return p
				}
			}
			if time.Now().After(deadline) {
				p.cmd.Process.Kill()
				<-p.exited
				t.Fatalf("serve did not become healthy within 30s\nstdout:\n%s\nstderr:\n%s", p.stdout, p.stderrTail())
			}
			time.Sleep(10 * time.Millisecond)
		}
		if !strings.Contains(lastErr, "address already in use") {
			break
		}
	}
	t.Fatal(lastErr)
	return nil
}

// terminate sends SIGTERM and requires a clean exit.
func (p *proc) terminate(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(60 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
		t.Fatalf("serve did not stop within 60s of SIGTERM\nstderr:\n%s", p.stderrTail())
	}
	if p.waitErr != nil {
		t.Fatalf("serve exited with %v after SIGTERM, want status 0\nstderr:\n%s", p.waitErr, p.stderrTail())
	}
}

// traffic is what the writers saw in one cycle.
type traffic struct {
	mu       sync.Mutex
	acked    map[string]uint64 // answered 2xx, with the index given
	unknown  map[string]bool   // no answer (or a 5xx): may or may not be in the log
	refused  int               // connection refused: nothing reached a server
	rejected []string          // 4xx answers: none expected
	problems map[string]int    // 5xx answers by code and Retry-After, such as "503 unavailable retry=30s"
}

func (tr *traffic) ackCount() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return len(tr.acked)
}

func (tr *traffic) problemCount() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	n := 0
	for _, c := range tr.problems {
		n += c
	}
	return n
}

// writeRecords posts distinct place.register records signed by the
// operator from several goroutines, their ids starting with prefix, until
// stop is called (which waits for them).
func writeRecords(p *proc, op *record.Key, token, prefix string) (tr *traffic, stop func()) {
	return writeRecordsTo(func() string { return p.url }, 8, op, token, prefix, nil)
}

// writeRecordsTo is writeRecords to whichever server target names at
// each request, from writers goroutines; acked, if set, hears of each
// acknowledgement and the server that gave it.
func writeRecordsTo(target func() string, writers int, op *record.Key, token, prefix string, acked func(url string, at time.Time)) (tr *traffic, stop func()) {
	tr = &traffic{acked: map[string]uint64{}, unknown: map[string]bool{}, problems: map[string]int{}}
	done := make(chan struct{})
	var wg sync.WaitGroup
	hc := &http.Client{Timeout: 15 * time.Second}
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := 0; ; seq++ {
				select {
				case <-done:
					return
				default:
				}
				id := fmt.Sprintf("%s-g%d-%d", prefix, g, seq)
				rec, err := record.Sign(op, id, corridor.TypePlace, 1, &corridor.Place{
					ID:    "p-" + id,
					Kind:  "village",
					Names: []corridor.Name{{Name: "Test village " + id, Lang: "en"}},
					Lat:   39.0 + float64(seq%1000)/1000,
					Lon:   46.0 + float64(g)/100,
				})
				if err != nil {
					panic(err)
				}
				url := target()
				c := client.New(url)
				c.HTTP, c.Token = hc, token
				res, err := c.Submit(context.Background(), []*app.Submission{{Record: rec}})
				var pe *client.ProblemError
				tr.mu.Lock()
				switch {
				case err == nil && len(res) == 1 && res[0].ID == id && !res[0].Duplicate:
					tr.acked[id] = res[0].Index
					if acked != nil {
						acked(url, time.Now())
					}
				case err == nil:
					tr.rejected = append(tr.rejected, fmt.Sprintf("%s: unexpected answer %+v", id, res))
				case errors.As(err, &pe) && pe.Status < 500:
					tr.rejected = append(tr.rejected, fmt.Sprintf("%s: %v", id, err))
				case errors.As(err, &pe):
					tr.problems[fmt.Sprintf("%d %s retry=%v", pe.Status, pe.Code, pe.RetryAfter)]++
					tr.unknown[id] = true
				case errors.Is(err, syscall.ECONNREFUSED):
					tr.refused++
				default:
					tr.unknown[id] = true
				}
				tr.mu.Unlock()
				if err != nil {
					time.Sleep(5 * time.Millisecond) // do not spin once the server is gone
				}
			}
		}()
	}
	var once sync.Once
	return tr, func() { once.Do(func() { close(done) }); wg.Wait() }
}

// writeUntilKilled writes records and kills the server mid-stream.
func writeUntilKilled(t *testing.T, p *proc, op *record.Key, token string, cycle int) *traffic {
	t.Helper()
	tr, stop := writeRecords(p, op, token, fmt.Sprintf("kill%d", cycle))
	// Kill at a random moment after 300 ms to 1 s of traffic, once some
	// records have been answered.
	start := time.Now()
	killAt := start.Add(300*time.Millisecond + rand.N(700*time.Millisecond))
	for time.Now().Before(killAt) || tr.ackCount() < 20 {
		if time.Since(start) > 20*time.Second {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.exited
	stop()
	return tr
}

// listRecords pages through GET /api/v1/records and returns the record id
// at each index.
func listRecords(t *testing.T, base string) []string {
	t.Helper()
	var ids []string
	after := int64(-1)
	for {
		var page struct {
			Items []struct {
				Index  uint64 `json:"index"`
				Record struct {
					ID string `json:"id"`
				} `json:"record"`
			} `json:"items"`
			Next *int64 `json:"next_after"`
		}
		if err := getJSONInto(base, fmt.Sprintf("/api/v1/records?after=%d&limit=1000", after), &page); err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			if it.Index != uint64(len(ids)) {
				t.Fatalf("GET /api/v1/records: index %d follows index %d: the projected log has a gap or is out of order", it.Index, len(ids)-1)
			}
			ids = append(ids, it.Record.ID)
		}
		if page.Next == nil || len(page.Items) == 0 {
			return ids
		}
		after = *page.Next
	}
}

// checkServed checks, on a running server, that every acknowledged record
// is projected at the index it was given.
func checkServed(t *testing.T, base string, acked map[string]uint64, unknown map[string]bool) {
	t.Helper()
	var h struct {
		Records   uint64 `json:"records"`
		Projected uint64 `json:"projected"`
	}
	if err := getJSONInto(base, "/healthz", &h); err != nil {
		t.Fatal(err)
	}
	if h.Records != h.Projected {
		t.Errorf("after restart /healthz says %d records in the state but %d projected", h.Records, h.Projected)
	}
	ids := listRecords(t, base)
	if uint64(len(ids)) != h.Records {
		t.Errorf("GET /api/v1/records lists %d records, /healthz says %d", len(ids), h.Records)
	}
	missing := 0
	for id, idx := range acked {
		var row struct {
			Index  uint64 `json:"index"`
			Record struct {
				ID string `json:"id"`
			} `json:"record"`
		}
		if err := getJSONInto(base, "/api/v1/records/"+id, &row); err != nil {
			missing++
			if missing <= 10 {
				t.Errorf("record %s was acknowledged at index %d but is lost after the kill: %v", id, idx, err)
			}
			continue
		}
		if row.Index != idx || row.Record.ID != id {
			t.Errorf("record %s was acknowledged at index %d; after restart GET /api/v1/records/%s gives index %d (id %q)", id, idx, id, row.Index, row.Record.ID)
		}
		if idx >= uint64(len(ids)) || ids[idx] != id {
			got := "nothing"
			if idx < uint64(len(ids)) {
				got = ids[idx]
			}
			t.Errorf("record %s was acknowledged at index %d; GET /api/v1/records lists %s there", id, idx, got)
		}
	}
	if missing > 10 {
		t.Errorf("... %d acknowledged records lost in all", missing)
	}
	present := 0
	for i, id := range ids {
		if unknown[id] {
			present++
			var row struct {
				Index uint64 `json:"index"`
			}
			if err := getJSONInto(base, "/api/v1/records/"+id, &row); err != nil || row.Index != uint64(i) {
				t.Errorf("unanswered record %s is listed at index %d but GET by id gives index %d (%v)", id, i, row.Index, err)
			}
		}
	}
	t.Logf("after restart: %d records in the log; %d of %d unanswered records made it in", len(ids), present, len(unknown))
}

// checkLog reads the log files directly (server stopped) and checks every
// acknowledged record is there at its index.
func checkLog(t *testing.T, dir string, acked map[string]uint64) uint64 {
	t.Helper()
	return checkLogAt(t, ledger.OpenReader(filepath.Join(dir, "log")), acked)
}

// checkLogAt is checkLog on the log r reads.
func checkLogAt(t *testing.T, r *ledger.Reader, acked map[string]uint64) uint64 {
	t.Helper()
	ctx := context.Background()
	size, err := r.Size(ctx)
	if err != nil {
		t.Fatal(err)
	}
	at := map[string]uint64{}
	err = r.Entries(ctx, 0, size, func(i uint64, data []byte) error {
		rec, err := record.ParseEntry(data)
		if err != nil {
			return fmt.Errorf("log index %d: %w", i, err)
		}
		if j, dup := at[rec.ID]; dup {
			return fmt.Errorf("record %s is in the log twice, at %d and %d", rec.ID, j, i)
		}
		at[rec.ID] = i
		return nil
	})
	if err != nil {
		t.Fatalf("read the log: %v", err)
	}
	for id, idx := range acked {
		if got, ok := at[id]; !ok {
			t.Errorf("acknowledged record %s (index %d) is not in the log files", id, idx)
		} else if got != idx {
			t.Errorf("acknowledged record %s was given index %d but is at %d in the log files", id, idx, got)
		}
	}
	return size
}

// operatorToken issues an API token for the operator party directly in the
// projection of a stopped folder: writes need a member's bearer token.
func operatorToken(t *testing.T, dir string) string {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(dir, "projection.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tok, _, err := st.IssueToken(ctx, "operator", "kill test")
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestKillDuringWrites kills a real "corridor serve" process with SIGKILL
// while several clients are writing, restarts it, and checks that nothing
// acknowledged was lost and that the folder still verifies.
func TestKillDuringWrites(t *testing.T) {
	bin := buildBinary(t)
	dir := filepath.Join(t.TempDir(), "data")
	if out, err := exec.Command(bin, "init", "--data", dir).CombinedOutput(); err != nil {
		t.Fatalf("corridor init: %v\n%s", err, out)
	}
	op, err := record.ReadKeyFile(filepath.Join(dir, "operator.key"))
	if err != nil {
		t.Fatal(err)
	}
	token := operatorToken(t, dir)

	acked := map[string]uint64{} // over all cycles
	for cycle := range 3 {
		p := startServe(t, bin, dir, "serve"+strconv.Itoa(cycle))
		tr := writeUntilKilled(t, p, op, token, cycle)
		t.Logf("cycle %d: killed after %d acknowledged, %d unanswered records", cycle, len(tr.acked), len(tr.unknown))
		if len(tr.rejected) > 0 {
			sort.Strings(tr.rejected)
			t.Errorf("cycle %d: %d records rejected with a 4xx answer, e.g. %s", cycle, len(tr.rejected), tr.rejected[0])
		}
		if len(tr.acked) == 0 {
			t.Fatalf("cycle %d: no record was acknowledged before the kill\nstderr:\n%s", cycle, p.stderrTail())
		}
		seen := map[uint64]string{}
		for id, idx := range acked {
			seen[idx] = id
		}
		for id, idx := range tr.acked {
			if other, dup := seen[idx]; dup {
				t.Errorf("cycle %d: records %s and %s were both acknowledged at index %d", cycle, id, other, idx)
			}
			seen[idx] = id
			acked[id] = idx
		}

		p2 := startServe(t, bin, dir, "restart"+strconv.Itoa(cycle))
		checkServed(t, p2.url, acked, tr.unknown)
		p2.terminate(t)
		size := checkLog(t, dir, acked)

		out, err := exec.Command(bin, "verify", "--data", dir).CombinedOutput()
		if err != nil {
			t.Fatalf("cycle %d: corridor verify after kill and restart: %v\n%s", cycle, err, out)
		}
		if want := fmt.Sprintf("verified %d records", size); !strings.Contains(string(out), want) {
			t.Errorf("cycle %d: verify output lacks %q:\n%s", cycle, want, out)
		}
		if t.Failed() {
			t.FailNow()
		}
	}
	t.Logf("%d records acknowledged over 3 kill cycles, all present", len(acked))
}
