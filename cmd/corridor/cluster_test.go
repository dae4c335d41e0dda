package main

// cluster_test.go: corridor beyond one machine, on the engines
// scripts/cluster starts (MariaDB, SeaweedFS's S3, PostgreSQL): two
// writers over one log on Tessera's AWS driver, two read servers, SIGKILL
// of the active writer again and again while clients write and read.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera/api/layout"
	tclient "github.com/transparency-dev/tessera/client"
	"golang.org/x/mod/sumdb/note"

	"corridor"
	"corridor/app"
	"corridor/evidence"
	"corridor/internal/skipped"
	"corridor/internal/testcluster"
	"corridor/internal/testdb"
	"corridor/internal/testfiles"
	"corridor/ledger"
	"corridor/record"
	"corridor/store"
)

// cluster is one log on the object store, its projection, and the
// corridor processes over them.
type cluster struct {
	t      *testing.T
	bin    string
	env    testcluster.Env
	log    string // --log
	db     string // --db
	data   string // the data folder made by init (read servers use it)
	op     *record.Key
	token  string
	origin note.Verifier
	n      int // processes started, for names
}

// newCluster makes a log in a new bucket and database, a projection in a
// new PostgreSQL database, and a data folder for it.
func newCluster(t *testing.T, env testcluster.Env) *cluster {
	t.Helper()
	c := &cluster{t: t, bin: buildBinary(t), env: env, log: env.Log(t)}
	c.db = testdb.FreshPostgres(t, env.Postgres)
	c.data = filepath.Join(t.TempDir(), "data")
	if out, err := exec.Command(c.bin, "init", "--data", c.data, "--log", c.log, "--db", c.db).CombinedOutput(); err != nil {
		t.Fatalf("corridor init on the cluster: %v\n%s", err, out)
	}
	var err error
	if c.op, err = record.ReadKeyFile(filepath.Join(c.data, "operator.key")); err != nil {
		t.Fatal(err)
	}
	cfg, err := app.ReadConfig(c.data)
	if err != nil {
		t.Fatal(err)
	}
	if c.origin, err = cfg.LogVerifier(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, c.db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if c.token, _, err = st.IssueToken(ctx, "operator", "cluster test"); err != nil {
		t.Fatal(err)
	}
	return c
}

// spawn starts "corridor serve ARGS" on a free port without waiting.
func (c *cluster) spawn(name string, args ...string) *proc {
	c.t.Helper()
	c.n++
	port := freePort(c.t)
	errPath := filepath.Join(filepath.Dir(c.bin), fmt.Sprintf("%s-%d.stderr", name, c.n))
	ef, err := os.Create(errPath)
	if err != nil {
		c.t.Fatal(err)
	}
	defer ef.Close()
	p := &proc{stdout: &syncBuffer{}, errPath: errPath, exited: make(chan struct{}), url: "http://127.0.0.1:" + port}
	p.cmd = exec.Command(c.bin, append([]string{"serve", "--addr", "127.0.0.1:" + port, "--log", c.log, "--db", c.db}, args...)...)
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, ef
	if err := p.cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	go func() { p.waitErr = p.cmd.Wait(); close(p.exited) }()
	c.t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			p.cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

// writer starts a writer on its own copy of the data folder (as another
// machine would have); it stands by until it holds the lease.
func (c *cluster) writer(name, dir string) *proc {
	c.t.Helper()
	if _, err := os.Stat(dir); err != nil {
		if out, err := exec.Command("cp", "-r", c.data, dir).CombinedOutput(); err != nil {
			c.t.Fatalf("copy the data folder: %v %s", err, out)
		}
	}
	return c.spawn(name, "--data", dir, "--lease-ttl", "3s")
}

// reader starts a read server and waits until it answers.
func (c *cluster) reader(name string) *proc {
	c.t.Helper()
	p := c.spawn(name, "--read-only", "--data", c.data)
	waitHealthy(c.t, p, 30*time.Second)
	return p
}

// waitHealthy waits until p answers /healthz with status ok.
func waitHealthy(t *testing.T, p *proc, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var h map[string]any
		if err := getJSONInto(p.url, "/healthz", &h); err == nil && h["status"] == "ok" {
			return
		}
		select {
		case <-p.exited:
			t.Fatalf("%s exited (%v) before answering\nstderr:\n%s", p.url, p.waitErr, p.stderrTail())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not healthy within %v\nstderr:\n%s", p.url, within, p.stderrTail())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// health is a server's /healthz.
type health struct {
	Status    string   `json:"status"`
	Role      string   `json:"role"`
	Writer    string   `json:"writer"`
	Records   uint64   `json:"records"`
	Projected uint64   `json:"projected"`
	Missing   []string `json:"missing"`
}

func healthOf(base string) (health, error) {
	_, h, err := healthCode(base)
	return h, err
}

// healthCode is a server's /healthz with its HTTP status.
func healthCode(base string) (int, health, error) {
	var h health
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		return 0, h, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &h); err != nil {
		return resp.StatusCode, h, fmt.Errorf("healthz %d: %s", resp.StatusCode, b)
	}
	return resp.StatusCode, h, nil
}

// readLoad reads from the servers in turn from n goroutines until stop,
// and keeps every latency and failure.
type readLoad struct {
	mu        sync.Mutex
	latencies []time.Duration
	failures  map[string]int
	stop      chan struct{}
	wg        sync.WaitGroup
}

var readPaths = []string{"/api/v1/records?after=-1&limit=50", "/", "/api/v1/places", "/log/checkpoint"}

func startReads(servers []string, n int) *readLoad {
	rl := &readLoad{failures: map[string]int{}, stop: make(chan struct{})}
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: n}}
	for g := range n {
		rl.wg.Add(1)
		go func() {
			defer rl.wg.Done()
			for i := g; ; i++ {
				select {
				case <-rl.stop:
					return
				default:
				}
				u := servers[i%len(servers)] + readPaths[i%len(readPaths)]
				start := time.Now()
				resp, err := hc.Get(u)
				ok := err == nil && resp.StatusCode == http.StatusOK
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				d := time.Since(start)
				rl.mu.Lock()
				if ok {
					rl.latencies = append(rl.latencies, d)
				} else if err != nil {
					rl.failures[err.Error()]++
				} else {
					rl.failures[resp.Status+" "+u]++
				}
				rl.mu.Unlock()
			}
		}()
	}
	return rl
}

func (rl *readLoad) finish() (n int, p50, p99 time.Duration, failures map[string]int) {
	close(rl.stop)
	rl.wg.Wait()
	slices.Sort(rl.latencies)
	if len(rl.latencies) == 0 {
		return 0, 0, 0, rl.failures
	}
	q := func(f float64) time.Duration {
		return rl.latencies[min(len(rl.latencies)-1, int(f*float64(len(rl.latencies))))]
	}
	return len(rl.latencies), q(0.50), q(0.99), rl.failures
}

func quantile(ds []time.Duration, f float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(f*float64(len(s))))]
}

// TestClusterFailover writes through the API while the active writer is
// killed (SIGKILL) again and again, with reads going on at two read
// servers, then checks that every acknowledged record is in the log and
// the projection, that verify and audit pass, and that a standard tlog
// client verifies the log from the object store. It reports the
// take-over times, reads p99 during the failovers, read throughput on one
// and two read servers, and ingest against the POSIX default.
func TestClusterFailover(t *testing.T) {
	env := testcluster.Get(t)
	failovers := 10
	if s := os.Getenv("CORRIDOR_CLUSTER_FAILOVERS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("CORRIDOR_CLUSTER_FAILOVERS=%q: want a positive number", s)
		}
		failovers = n
	}
	c := newCluster(t, env)
	wdir := []string{filepath.Join(t.TempDir(), "w0"), filepath.Join(t.TempDir(), "w1")}
	active := c.writer("writer0", wdir[0])
	waitHealthy(t, active, time.Minute)
	standby := c.writer("writer1", wdir[1])
	r1, r2 := c.reader("reader1"), c.reader("reader2")
	t.Logf("cluster: writers %s (active) and %s (standby); read servers %s and %s", active.url, standby.url, r1.url, r2.url)
	if out, err := exec.Command(c.bin, "init", "--data", filepath.Join(t.TempDir(), "again"), "--log", c.log, "--db", c.db).CombinedOutput(); err == nil || !strings.Contains(string(out), "already holds") {
		t.Errorf("init on a log that holds records: %v\n%s\nwant a refusal", err, out)
	}
	if h, err := healthOf(r1.url); err != nil || h.Writer != active.url || h.Role != "reader" {
		t.Fatalf("read server's healthz = %+v, %v; want it to name the writer %s", h, err, active.url)
	}
	// A record sent to a read server is refused with the writer's address.
	rec, err := record.Sign(c.op, "sent-to-reader", corridor.TypePlace, 1, &corridor.Place{ID: "x", Kind: "village", Names: []corridor.Name{{Name: "X", Lang: "en"}}, Lat: 40, Lon: 46})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"records": []any{map[string]any{"record": rec}}})
	req, _ := http.NewRequest("POST", r1.url+"/api/v1/records", strings.NewReader(string(body)))
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusMisdirectedRequest || resp.Header.Get("Corridor-Writer") != active.url || !strings.Contains(string(b), active.url) {
		t.Errorf("POST to a read server: %s %q, Corridor-Writer %q; want 421 naming %s", resp.Status, b, resp.Header.Get("Corridor-Writer"), active.url)
	}

	filesFollowTheLog(t, c, active.url, r1.url)

	// Clients find the writer the way a load balancer would: through the
	// read servers' healthz.
	var target atomic.Value
	target.Store(active.url)
	findWriter := make(chan struct{})
	go func() {
		for {
			select {
			case <-findWriter:
				return
			case <-time.After(50 * time.Millisecond):
			}
			if h, err := healthOf(r2.url); err == nil && h.Writer != "" {
				target.Store(h.Writer)
			}
		}
	}()
	defer close(findWriter)

	// The last acknowledgement from each writer: a take-over is done when
	// the standby acknowledges (not when an answer the killed writer sent
	// just before dying is read).
	var ackMu sync.Mutex
	lastAck := map[string]time.Time{}
	ackedBy := func(url string) time.Time {
		ackMu.Lock()
		defer ackMu.Unlock()
		return lastAck[url]
	}
	reads := startReads([]string{r1.url, r2.url}, 4)
	tr, stopWrites := writeRecordsTo(func() string { return target.Load().(string) }, 8, c.op, c.token, "fo", func(url string, at time.Time) {
		ackMu.Lock()
		lastAck[url] = at
		ackMu.Unlock()
	})
	var takeovers []time.Duration
	for i := range failovers {
		// Some traffic, then a kill at a random moment.
		start := time.Now()
		before := tr.ackCount()
		for time.Since(start) < 300*time.Millisecond+rand.N(700*time.Millisecond) || tr.ackCount() < before+20 {
			if time.Since(start) > 30*time.Second {
				t.Fatalf("failover %d: only %d records acknowledged in 30 s by %s\nstderr:\n%s", i, tr.ackCount()-before, active.url, active.stderrTail())
			}
			time.Sleep(5 * time.Millisecond)
		}
		if err := active.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		killed := time.Now()
		<-active.exited
		// Taken over once the standby acknowledges a record. Meanwhile the
		// read servers stay in a load balancer's rotation: 200, saying
		// the writer is missing.
		lastCheck := time.Time{}
		for !ackedBy(standby.url).After(killed) {
			if time.Since(killed) > time.Minute {
				t.Fatalf("failover %d: no record acknowledged within a minute of killing %s\nstandby stderr:\n%s", i, active.url, standby.stderrTail())
			}
			if time.Since(lastCheck) > 100*time.Millisecond {
				lastCheck = time.Now()
				if code, h, err := healthCode(r1.url); err != nil || code != http.StatusOK {
					t.Errorf("failover %d: read server's /healthz answered %d %+v %v while the writers failed over; want 200", i, code, h, err)
				}
			}
			time.Sleep(5 * time.Millisecond)
		}
		took := ackedBy(standby.url).Sub(killed)
		takeovers = append(takeovers, took)
		t.Logf("failover %d: killed %s after %d acknowledged records; %s took over in %v (%s)", i, active.url, tr.ackCount(), standby.url, took.Round(time.Millisecond), catchUp(standby))
		// The killed writer's machine comes back as the standby.
		dead := slices.Index([]string{wdir[0], wdir[1]}, argOf(active.cmd.Args, "--data"))
		active, standby = standby, c.writer(fmt.Sprintf("writer%d", dead), wdir[dead])
	}
	stopWrites()
	nReads, rp50, rp99, rfail := reads.finish()

	// Every acknowledged record is in the projection (through a read
	// server) and in the log on the object store.
	if len(tr.rejected) > 0 {
		t.Errorf("%d records refused with a 4xx answer, e.g. %s", len(tr.rejected), tr.rejected[0])
	}
	maxIdx := waitProjected(t, r1.url, tr.acked)
	lost := checkServedAt(t, r1.url, tr.acked)
	loc, err := ledger.ParseLocation(c.log)
	if err != nil {
		t.Fatal(err)
	}
	lr, err := ledger.OpenReaderAt(context.Background(), loc)
	if err != nil {
		t.Fatal(err)
	}
	if !waitFor(time.Minute, func() bool { _, n, _, err := lr.TreeHead(context.Background()); return err == nil && n > maxIdx }) {
		t.Fatalf("no tree head covering index %d within a minute", maxIdx)
	}
	size := checkLogAt(t, lr, tr.acked)

	// verify (tree, signatures, projection against a replay) and audit
	// (over HTTP, from a read server's /log/, that is from the object store).
	out, err := exec.Command(c.bin, "verify", "--data", wdir[0], "--log", c.log, "--db", c.db).CombinedOutput()
	if err != nil || !strings.Contains(string(out), fmt.Sprintf("verified %d records", size)) {
		t.Errorf("corridor verify on the cluster: %v\n%s", err, out)
	}
	cfg, _ := app.ReadConfig(c.data)
	out, err = exec.Command(c.bin, "audit", "--quiet", "--log-key", cfg.Verifier, r2.url).CombinedOutput()
	if err != nil {
		t.Errorf("corridor audit of a read server: %v\n%s", err, out)
	}
	tlogClientVerifies(t, r1.url, c.origin)

	t.Logf("cluster: %d failovers: %d records acknowledged, %d lost; %d sent to a writer that died before answering or answered 5xx (in the log or not), %d refused a connection; log size %d",
		failovers, len(tr.acked), lost, len(tr.unknown), tr.refused, size)
	t.Logf("cluster: take-over (kill to the next acknowledged record): p50 %v, max %v (lease 3 s)", quantile(takeovers, 0.5).Round(time.Millisecond), slices.Max(takeovers).Round(time.Millisecond))
	t.Logf("cluster: reads during the failovers: %d answered, p50 %v, p99 %v, %d failed %v", nReads, rp50.Round(time.Microsecond), rp99.Round(time.Microsecond), sumCounts(rfail), rfail)
	if sumCounts(rfail) > 0 {
		t.Errorf("read servers failed %d reads while the writers failed over: %v", sumCounts(rfail), rfail)
	}

	// Read scaling: the same load against one read server, then two.
	for _, servers := range [][]string{{r1.url}, {r1.url, r2.url}} {
		rl := startReads(servers, 16)
		time.Sleep(3 * time.Second)
		n, p50, p99, fails := rl.finish()
		t.Logf("cluster: reads on %d read server(s), 16 clients, 3 s: %.0f/s, p50 %v, p99 %v, %d failed", len(servers), float64(n)/3, p50.Round(time.Microsecond), p99.Round(time.Microsecond), sumCounts(fails))
	}

	// Ingest: the same writers against the active cluster writer and
	// against a POSIX data folder served alone, one after the other.
	cw, stop := writeRecordsTo(func() string { return active.url }, 8, c.op, c.token, "ingest-s3", nil)
	time.Sleep(5 * time.Second)
	stop()
	pdir := filepath.Join(t.TempDir(), "posix")
	if out, err := exec.Command(c.bin, "init", "--data", pdir).CombinedOutput(); err != nil {
		t.Fatalf("init: %v %s", err, out)
	}
	pop, _ := record.ReadKeyFile(filepath.Join(pdir, "operator.key"))
	ptoken := operatorToken(t, pdir)
	pp := startServe(t, c.bin, pdir, "posix")
	pw, stop := writeRecordsTo(func() string { return pp.url }, 8, pop, ptoken, "ingest-posix", nil)
	time.Sleep(5 * time.Second)
	stop()
	t.Logf("cluster: ingest, 8 clients one record per request, 5 s: S3+MariaDB %.0f records/s, POSIX %.0f records/s (ratio %.2f)",
		float64(cw.ackCount())/5, float64(pw.ackCount())/5, float64(cw.ackCount())/float64(max(1, pw.ackCount())))

	// With every writer stopped, the read servers say so and stay in
	// rotation: 200, the writer named missing, reads answered.
	standby.terminate(t) // standing by: it stops at once
	active.terminate(t)  // releases the lease
	var h health
	if !waitFor(10*time.Second, func() bool {
		code, got, err := healthCode(r1.url)
		h = got
		return err == nil && code == http.StatusOK && h.Status == "degraded" && h.Writer == "" &&
			slices.ContainsFunc(h.Missing, func(m string) bool { return strings.HasPrefix(m, "writer:") })
	}) {
		t.Errorf("read server with no writer: /healthz %+v; want 200, degraded, the writer missing", h)
	}
	if resp, err := http.Get(r1.url + "/api/v1/places"); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("read server with no writer: GET /api/v1/places: %v %v", err, resp)
	} else {
		resp.Body.Close()
	}
}

// catchUp is what a writer said of its take-over: when it got the lease
// and how long catching up with the log took.
func catchUp(p *proc) string {
	lines := grepLines(p.stderrTail(), "holding the writer lease", "caught up with the log")
	var parts []string
	for _, l := range strings.Split(lines, "\n") {
		for _, f := range strings.Fields(l) {
			if strings.HasPrefix(f, "time=") || strings.HasPrefix(f, "took=") {
				parts = append(parts, f)
			}
		}
	}
	return strings.Join(parts, " ")
}

func sumCounts(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func argOf(args []string, flag string) string {
	for i, a := range args {
		if a == flag && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

// waitProjected waits until the server at base has projected every
// acknowledged record, and returns the highest index among them.
func waitProjected(t *testing.T, base string, acked map[string]uint64) uint64 {
	t.Helper()
	last := slices.Max(slices.Collect(maps.Values(acked)))
	if !waitFor(time.Minute, func() bool { h, err := healthOf(base); return err == nil && h.Projected > last }) {
		t.Fatalf("%s has not projected index %d within a minute", base, last)
	}
	return last
}

// checkServedAt checks that every acknowledged record is served at its
// index by the server at base.
func checkServedAt(t *testing.T, base string, acked map[string]uint64) (lost int) {
	t.Helper()
	ids := listRecords(t, base)
	for id, idx := range acked {
		if idx >= uint64(len(ids)) || ids[idx] != id {
			lost++
			if lost <= 5 {
				t.Errorf("record %s was acknowledged at index %d but the projection does not hold it there", id, idx)
			}
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d acknowledged records are not in the projection", lost, len(acked))
	}
	return lost
}

// tlogClientVerifies reads the log through a read server's /log/ (the
// object store's resources) with Tessera's own client: the checkpoint is
// checked against the log key, and inclusion proofs built from the tiles
// are checked against its root for entries read from the bundles.
func tlogClientVerifies(t *testing.T, base string, v note.Verifier) {
	t.Helper()
	ctx := context.Background()
	root, _ := url.Parse(base + "/log/")
	f, err := tclient.NewHTTPFetcher(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	cp, _, _, err := tclient.FetchCheckpoint(ctx, f.ReadCheckpoint, v, v.Name())
	if err != nil {
		t.Fatalf("tlog client: checkpoint: %v", err)
	}
	pb, err := tclient.NewProofBuilder(ctx, cp.Size, f.ReadTile)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []uint64{0, cp.Size / 3, cp.Size / 2, cp.Size - 1} {
		b, err := tclient.GetEntryBundle(ctx, f.ReadEntryBundle, i/layout.EntryBundleWidth, cp.Size)
		if err != nil {
			t.Fatalf("tlog client: bundle of %d: %v", i, err)
		}
		p, err := pb.InclusionProof(ctx, i)
		if err != nil {
			t.Fatalf("tlog client: inclusion proof of %d: %v", i, err)
		}
		leaf := rfc6962.DefaultHasher.HashLeaf(b.Entries[i%layout.EntryBundleWidth])
		if err := proof.VerifyInclusion(rfc6962.DefaultHasher, i, cp.Size, leaf, p, cp.Hash); err != nil {
			t.Errorf("tlog client: entry %d does not verify against the checkpoint of size %d: %v", i, cp.Size, err)
		}
	}
	resp, err := http.Get(base + "/log/tile/0/000")
	if err == nil {
		resp.Body.Close()
		if cc := resp.Header.Get("Cache-Control"); cp.Size >= 256 && !strings.Contains(cc, "immutable") {
			t.Errorf("a full tile from the object store is served with Cache-Control %q, want it immutable", cc)
		}
	}
	t.Logf("cluster: Tessera's client verified the checkpoint (size %d) and 4 inclusion proofs from %s/log/", cp.Size, base)
}

// cutProxy forwards loopback TCP connections to target until cut, after
// which it drops every open connection and resets new ones, as a store
// that went away would; restore lets connections through again.
type cutProxy struct {
	addr   string
	target string
	mu     sync.Mutex
	cut    bool
	conns  map[net.Conn]bool
	ln     net.Listener
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{addr: ln.Addr().String(), target: target, conns: map[net.Conn]bool{}, ln: ln}
	t.Cleanup(func() { ln.Close(); p.setCut(true) })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			if p.cut {
				p.mu.Unlock()
				c.Close()
				continue
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				p.mu.Unlock()
				c.Close()
				continue
			}
			p.conns[c], p.conns[up] = true, true
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
	return p
}

func (p *cutProxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for c := range p.conns {
			c.Close()
		}
		p.conns = map[net.Conn]bool{}
	}
}

// TestClusterFaults cuts the log's database, then its object store, away
// from a running writer and read server: the writer refuses records with
// 503 and Retry-After while its database is gone, the read server goes on
// answering reads, both say in /healthz what is missing, nothing
// acknowledged is lost, and both recover when the engine is back.
func TestClusterFaults(t *testing.T) {
	env := testcluster.Get(t)
	c := newCluster(t, env)
	u, _ := url.Parse(c.log)
	q := u.Query()
	mu, _ := url.Parse(q.Get("db"))
	su, _ := url.Parse(q.Get("endpoint"))
	dbProxy, s3Proxy := newCutProxy(t, mu.Host), newCutProxy(t, su.Host)
	mu.Host, su.Host = dbProxy.addr, s3Proxy.addr
	q.Set("db", mu.String())
	q.Set("endpoint", su.String())
	u.RawQuery = q.Encode()
	c.log = u.String() // every process reaches the engines through the proxies

	w := c.writer("writer", filepath.Join(t.TempDir(), "w"))
	waitHealthy(t, w, time.Minute)
	r := c.reader("reader")
	tr, stop := writeRecordsTo(func() string { return w.url }, 4, c.op, c.token, "fault", nil)
	defer stop()
	time.Sleep(time.Second)

	expectMissing := func(p *proc, what string) {
		t.Helper()
		var h health
		if !waitFor(30*time.Second, func() bool {
			var err error
			h, err = healthOf(p.url)
			return err == nil && h.Status == "degraded" && slices.ContainsFunc(h.Missing, func(m string) bool { return strings.HasPrefix(m, what) })
		}) {
			t.Errorf("%s: /healthz %+v does not say %q is missing", p.url, h, what)
		}
	}
	readsGoOn := func() {
		t.Helper()
		for _, path := range []string{"/api/v1/records?after=-1&limit=20", "/", "/api/v1/places"} {
			resp, err := http.Get(r.url + path)
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Errorf("read server, GET %s with an engine away: %v %v", path, err, resp)
				continue
			}
			resp.Body.Close()
		}
	}

	// The database goes away: records are refused with 503 and Retry-After.
	before := tr.ackCount()
	dbProxy.setCut(true)
	expectMissing(w, "log database")
	time.Sleep(2 * time.Second)
	tr.mu.Lock()
	problems := maps.Clone(tr.problems)
	tr.mu.Unlock()
	if !slices.ContainsFunc(slices.Collect(maps.Keys(problems)), func(k string) bool { return strings.HasPrefix(k, "503 unavailable retry=30s") }) {
		t.Errorf("with the log's database away the writer answered %v, want 503 unavailable with Retry-After", problems)
	}
	readsGoOn()
	dbProxy.setCut(false)
	if !waitFor(time.Minute, func() bool { return tr.ackCount() > before+20 }) {
		t.Fatalf("the writer takes no records after its database came back\nstderr:\n%s", w.stderrTail())
	}
	t.Logf("cluster: database away: records answered %v; back: the writer took records again", problems)

	// The object store goes away: records are still durable (sequenced in
	// the database), tree heads wait, both servers say the store is
	// missing, and the read server answers from the projection.
	s3Proxy.setCut(true)
	expectMissing(w, "log store")
	expectMissing(r, "log store")
	readsGoOn()
	time.Sleep(3 * time.Second)
	tr.mu.Lock()
	for k := range tr.problems {
		if !strings.HasPrefix(k, "503 ") || strings.HasSuffix(k, "retry=0s") {
			t.Errorf("with an engine away the writer answered %q; want 503 with Retry-After", k)
		}
	}
	problems = maps.Clone(tr.problems)
	tr.mu.Unlock()
	before = tr.ackCount()
	s3Proxy.setCut(false)
	if !waitFor(time.Minute, func() bool { return tr.ackCount() > before+20 }) {
		t.Fatalf("the writer takes no records after the object store came back\nstderr:\n%s", w.stderrTail())
	}
	t.Logf("cluster: object store away: records answered %v (with the one before); back: the writer took records again", problems)
	stop()
	waitHealthy(t, w, time.Minute)
	waitHealthy(t, r, time.Minute)

	waitProjected(t, r.url, tr.acked)
	lost := checkServedAt(t, r.url, tr.acked)
	t.Logf("cluster: faults: %d records acknowledged, %d lost", len(tr.acked), lost)
}

// TestClusterRestore backs a cluster up the way docs/OPERATIONS.md says
// (the log's objects, a dump of its sequencing database, a dump of the
// projection), checks that the copied objects alone verify as a log
// (corridor audit --dir), restores all three into new places, and starts
// a writer there: every acknowledged record is back at its index, the
// log goes on at the right index, and verify passes.
func TestClusterRestore(t *testing.T) {
	env := testcluster.Get(t)
	for _, tool := range []string{"mysqldump", "mysql", "pg_dump", "psql"} {
		if _, err := exec.LookPath(tool); err != nil {
			skipped.Skip(t, "cluster restore test", tool+" is not on PATH: apt-get install mariadb-client postgresql-client")
		}
	}
	ctx := context.Background()
	c := newCluster(t, env)
	w := c.writer("writer", filepath.Join(t.TempDir(), "w"))
	waitHealthy(t, w, time.Minute)
	tr, stop := writeRecordsTo(func() string { return w.url }, 4, c.op, c.token, "backup", nil)
	time.Sleep(2 * time.Second)
	stop()
	w.terminate(t) // a clean stop publishes every record

	// Back up.
	loc, err := ledger.ParseLocation(c.log)
	if err != nil {
		t.Fatal(err)
	}
	s3c, err := env.S3Client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	backup := t.TempDir()
	n := copyObjects(t, s3c, loc.Bucket, loc.Prefix+"/", func(key string, body []byte) {
		p := filepath.Join(backup, "log", filepath.FromSlash(strings.TrimPrefix(key, loc.Prefix+"/")))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, body, 0o644); err != nil {
			t.Fatal(err)
		}
	})
	mysqlURL, _ := url.Parse(ledgerQuery(t, c.log, "db"))
	pw, _ := mysqlURL.User.Password()
	host, port, _ := strings.Cut(mysqlURL.Host, ":")
	mysqlArgs := []string{"--no-defaults", "-h", host, "-P", port, "-u", mysqlURL.User.Username(), "-p" + pw}
	seqDump := runOut(t, "mysqldump", append(mysqlArgs, "--single-transaction", strings.TrimPrefix(mysqlURL.Path, "/"))...)
	projDump := runOut(t, "pg_dump", "--no-owner", "-d", c.db)
	cfg, _ := app.ReadConfig(c.data)
	if out, err := exec.Command(c.bin, "audit", "--quiet", "--log-key", cfg.Verifier, "--dir", filepath.Join(backup, "log")).CombinedOutput(); err != nil {
		t.Fatalf("the copied objects do not verify as a log: %v\n%s", err, out)
	}
	t.Logf("cluster: backup: %d objects (%d records), sequencing dump %d bytes, projection dump %d bytes; the copy verifies with corridor audit --dir", n, len(tr.acked), len(seqDump), len(projDump))

	// Restore into a new prefix, a new sequencing database and a new
	// projection database.
	restored := env.Log(t)
	rloc, _ := ledger.ParseLocation(restored)
	err = filepath.WalkDir(filepath.Join(backup, "log"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(filepath.Join(backup, "log"), p)
		body, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		_, err = s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(rloc.Bucket), Key: aws.String(rloc.Prefix + "/" + filepath.ToSlash(rel)), Body: bytes.NewReader(body)})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	rdb, _ := url.Parse(ledgerQuery(t, restored, "db"))
	runIn(t, seqDump, "mysql", append(mysqlArgs, strings.TrimPrefix(rdb.Path, "/"))...)
	c.db = testdb.FreshPostgres(t, env.Postgres)
	runIn(t, projDump, "psql", "-q", "-v", "ON_ERROR_STOP=1", "-d", c.db)
	c.log = restored

	w2 := c.writer("restored", filepath.Join(t.TempDir(), "w2"))
	waitHealthy(t, w2, time.Minute)
	if lost := checkServedAt(t, w2.url, tr.acked); lost > 0 {
		t.Fatalf("%d acknowledged records not back after the restore", lost)
	}
	more, stop := writeRecordsTo(func() string { return w2.url }, 2, c.op, c.token, "after-restore", nil)
	time.Sleep(time.Second)
	stop()
	maxIdx := slices.Max(slices.Collect(maps.Values(tr.acked)))
	for id, idx := range more.acked {
		if idx <= maxIdx {
			t.Errorf("record %s written after the restore got index %d, inside the restored log (last %d)", id, idx, maxIdx)
		}
	}
	// A rebuild of the shared projection needs the log to itself.
	if out, err := exec.Command(c.bin, "rebuild", "--data", c.data, "--log", c.log, "--db", c.db).CombinedOutput(); err == nil || !strings.Contains(string(out), "the writer at "+w2.url+" holds the lease") {
		t.Errorf("rebuild beside a running writer: %v\n%s\nwant a refusal naming the writer", err, out)
	}
	w2.terminate(t)
	if out, err := exec.Command(c.bin, "rebuild", "--data", c.data, "--log", c.log, "--db", c.db).CombinedOutput(); err != nil {
		t.Errorf("rebuild of the restored projection: %v\n%s", err, out)
	}
	if out, err := exec.Command(c.bin, "verify", "--data", argOf(w2.cmd.Args, "--data"), "--log", c.log, "--db", c.db).CombinedOutput(); err != nil {
		t.Errorf("verify after the restore: %v\n%s", err, out)
	}
	t.Logf("cluster: restore: %d records back at their indexes, %d written after it", len(tr.acked), len(more.acked))
}

// copyObjects calls fn with every object under prefix.
func copyObjects(t *testing.T, c *s3.Client, bucket, prefix string, fn func(key string, body []byte)) int {
	t.Helper()
	ctx := context.Background()
	n := 0
	pages := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: o.Key})
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(out.Body)
			out.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			fn(*o.Key, body)
			n++
		}
	}
	return n
}

func ledgerQuery(t *testing.T, loc, key string) string {
	t.Helper()
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get(key)
}

func runOut(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	var errb strings.Builder
	cmd := exec.Command(name, args...)
	cmd.Stderr = &errb
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", name, err, errb.String())
	}
	return out
}

func runIn(t *testing.T, stdin []byte, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", name, err, out)
	}
}

// grepLines keeps the lines of s holding any of words.
func grepLines(s string, words ...string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		for _, w := range words {
			if strings.Contains(l, w) {
				out = append(out, l)
				break
			}
		}
	}
	return strings.Join(out, "\n")
}

// filesFollowTheLog: a photo uploaded to the writer and signed for is
// served by a read server on another machine (another data folder), which
// fetches it from the writer once, checks it against the SHA-256 the
// record signed, and keeps it; its thumbnail too.
func filesFollowTheLog(t *testing.T, c *cluster, writer, reader string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, writer+"/api/v1/files", bytes.NewReader(testfiles.PhotoWithGPS()))
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "image/jpeg")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var up struct {
		SHA256    string `json:"sha256"`
		MediaType string `json:"media_type"`
		Size      int64  `json:"size"`
	}
	err = json.NewDecoder(resp.Body).Decode(&up)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || err != nil {
		t.Fatalf("upload to the writer: %s %v", resp.Status, err)
	}
	st := &corridor.Statement{ID: "st-cluster-photo", Kind: "statement", Speaker: "Operator", SaidOn: "2023-08-31", Reported: "A photo of the road.", Lang: "en",
		Files: []corridor.Attachment{{SHA256: up.SHA256, MediaType: up.MediaType, Size: up.Size, Caption: "the road"}}}
	rec, err := record.Sign(c.op, "st-cluster-photo", corridor.TypeStatement, 1, st)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"records": []any{map[string]any{"record": rec}}})
	req, _ = http.NewRequest(http.MethodPost, writer+"/api/v1/records", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+c.token)
	if resp, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		t.Fatalf("the statement with its photo: %s", resp.Status)
	}
	var got []byte
	var status int
	if !waitFor(30*time.Second, func() bool {
		r, err := http.Get(reader + "/files/" + up.SHA256)
		if err != nil {
			return false
		}
		defer r.Body.Close()
		status = r.StatusCode
		got, _ = io.ReadAll(r.Body)
		return r.StatusCode == http.StatusOK
	}) {
		t.Fatalf("the read server does not serve the photo a record published: %d %.200s", status, got)
	}
	if evidence.Sum(got) != up.SHA256 {
		t.Errorf("the read server served %d bytes that do not match the signed SHA-256", len(got))
	}
	r, err := http.Get(reader + "/files/" + up.SHA256 + "/thumb")
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusOK || r.Header.Get("Content-Type") != "image/jpeg" {
		t.Errorf("the read server's thumbnail: %s %s", r.Status, r.Header.Get("Content-Type"))
	}
}
