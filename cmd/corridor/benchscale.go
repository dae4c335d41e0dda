package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/mod/sumdb/note"

	"corridor"
	"corridor/app"
	"corridor/client"
	"corridor/ledger"
	"corridor/record"
	"corridor/scenario"
)

func init() {
	commands["bench-scale"] = command{"build bench folders of several sizes and measure reads, writes, start-up, memory and audits beside references measured in the same run", cmdBenchScale}
}

// cmdBenchScale builds a bench folder per size (or reuses one) and, for
// each, serves it with this binary on loopback and measures start-up to
// /healthz, sequential reads (route status over 90 days, coverage, the
// first page of claims and of convoys, the overview), the overview's
// weight with its assets, RSS, the same reads while 32 clients write,
// ingest over HTTP (one client, 32 clients, batches of 1,000) and the two
// audits. References measured in the same run: Ed25519 verification on
// all cores and raw Tessera appends of entries of the same size, one
// writer and 32; the smallest size is the reference of the reads. The
// machine is shared and noisy: the ratios are what count.
func cmdBenchScale(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench-scale", stderr)
	dir := fs.String("dir", "", "folder for the bench folders (kept, and reused when run again)")
	sizes := fs.String("sizes", "10000,100000,1000000", "comma-separated record counts, smallest first")
	requests := fs.Int("requests", 200, "sequential requests per read (1 to 10,000)")
	writes := fs.Bool("writes", true, "measure reads under writers and ingest (adds up to 13,800 records to each folder)")
	audits := fs.Bool("audit", true, "measure corridor audit --dir and corridor audit URL")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := requireFlag("dir", *dir); err != nil {
		return err
	}
	if *requests < 1 || *requests > 10000 {
		return usagef("-requests %d: want 1 to 10,000", *requests)
	}
	var ns []int
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 100 || n > 10_000_000 {
			return usagef("-sizes %q: want record counts from 100 to 10,000,000, separated by commas", *sizes)
		}
		ns = append(ns, n)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	progress := func(format string, a ...any) { fmt.Fprintf(stderr, "bench-scale: "+format+"\n", a...) }
	var refs scaleRefs
	if *writes {
		progress("references: Ed25519 on %d cores, raw Tessera", runtime.NumCPU())
		if refs, err = measureRefs(ctx); err != nil {
			return fmt.Errorf("references: %w", err)
		}
	}
	var results []scaleFigures
	for _, n := range ns {
		data := filepath.Join(*dir, fmt.Sprintf("bench-%d", n))
		if _, err := os.Stat(data); err != nil {
			progress("building %d records in %s", n, data)
			if err := cmdBench(ctx, []string{"--data", data, "--records", strconv.Itoa(n)}, io.Discard, stderr); err != nil {
				return fmt.Errorf("build %d records: %w", n, err)
			}
		}
		f := scaleFigures{records: n, p50: map[string]time.Duration{}, p99: map[string]time.Duration{}, loadedP99: map[string]time.Duration{}}
		if err := measureSize(ctx, self, data, *requests, *writes, *audits, &f, progress); err != nil {
			return fmt.Errorf("%d records: %w", n, err)
		}
		results = append(results, f)
	}
	writeScaleTable(stdout, refs, results, *requests)
	return nil
}

// scaleRefs are the references measured once per run.
type scaleRefs struct {
	verifyRate  float64       // Ed25519 verifications per second, all cores
	tesseraP50  time.Duration // one writer, one entry per append
	tessera32   float64       // entries per second, 32 writers
	entryBytes  int
	cores       int
	tesseraSize int
}

type scaleFigures struct {
	records            int
	startup            time.Duration
	names              []string
	p50, p99           map[string]time.Duration
	overview, assets   int // bytes: the overview's HTML, and with its assets
	rssStart, rss      int // MB
	loadedP99          map[string]time.Duration
	loadedWrites       float64 // records/s written during the loaded reads
	singleP50          time.Duration
	concurrent, batch  float64 // records/s
	auditDir, auditURL time.Duration
	auditDirMB         int
	auditURLMB         int
}

// benchStatements signs n statements of the bench writer: the records
// the write figures and the Tessera reference use.
func benchStatements(key *record.Key, plan benchPlan, prefix string, n int) ([]*app.Submission, error) {
	keys := map[string]*record.Key{plan.monitor: key}
	out := make([]*app.Submission, n)
	for i := range out {
		s, err := plan.statement(keys, fmt.Sprintf("%s-%d", prefix, i))
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}

// benchWriterID is the monitor that bench-scale registers in each folder
// to write with.
const benchWriterID = "bench-writer"

func writerPlan() (benchPlan, error) {
	p, err := planFrom(scenario.Reference())
	p.monitor = benchWriterID
	return p, err
}

func measureRefs(ctx context.Context) (scaleRefs, error) {
	r := scaleRefs{cores: runtime.NumCPU()}
	key, err := record.GenerateKey()
	if err != nil {
		return r, err
	}
	plan, err := writerPlan()
	if err != nil {
		return r, err
	}
	subs, err := benchStatements(key, plan, "ref", 4000)
	if err != nil {
		return r, err
	}
	// Ed25519: every statement's signature, on every core, for about 2 s.
	msgs := make([][]byte, len(subs))
	for i, s := range subs {
		msgs[i] = record.SignedMessage(s.Record.ID, s.Record.Type, s.Record.Version, s.Record.KeyID, s.Record.Payload)
	}
	var done atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for w := range r.cores {
		wg.Go(func() {
			for i := w; time.Since(start) < 2*time.Second; i = (i + r.cores) % len(msgs) {
				if !ed25519.Verify(key.Public, msgs[i], subs[i].Record.Sig) {
					panic("bench: a signature made here does not verify")
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	r.verifyRate = float64(done.Load()) / time.Since(start).Seconds()

	// Raw Tessera: the same entries into a fresh POSIX log.
	entries := make([][]byte, len(subs))
	for i, s := range subs {
		if entries[i], err = s.Record.Entry(); err != nil {
			return r, err
		}
		r.entryBytes += len(entries[i])
	}
	r.entryBytes /= len(entries)
	tmp, err := os.MkdirTemp("", "corridor-tessera-ref-")
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(tmp)
	skey, _, err := note.GenerateKey(rand.Reader, "bench.localhost/reference")
	if err != nil {
		return r, err
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		return r, err
	}
	lg, err := ledger.Open(ctx, tmp, signer, ledger.Options{})
	if err != nil {
		return r, err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		lg.Close(cctx)
	}()
	lat := make([]time.Duration, 0, 200)
	for i := range 200 {
		t0 := time.Now()
		if _, err := lg.Append(ctx, entries[i:i+1]); err != nil {
			return r, err
		}
		lat = append(lat, time.Since(t0))
	}
	r.tesseraP50 = percentile(lat, 50)
	var next atomic.Int64
	next.Store(200)
	errc := make(chan error, 32)
	start = time.Now()
	for range 32 {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(len(entries)) {
					return
				}
				if _, err := lg.Append(ctx, entries[i:i+1]); err != nil {
					errc <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return r, err
	}
	r.tessera32 = float64(len(entries)-200) / time.Since(start).Seconds()
	r.tesseraSize = len(entries) - 200
	return r, nil
}

func percentile(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)]
}

// benchWriter registers the bench writer in a folder (once: its key is
// kept beside the data) and issues it a token.
func benchWriter(ctx context.Context, data string) (*record.Key, string, error) {
	node, err := app.OpenNode(ctx, data, app.NodeOptions{Logger: logger(io.Discard)})
	if err != nil {
		return nil, "", err
	}
	defer node.Close(context.Background())
	keyFile := filepath.Join(data, benchWriterID+".key")
	key, err := record.ReadKeyFile(keyFile)
	if errors.Is(err, os.ErrNotExist) {
		if key, err = record.GenerateKey(); err != nil {
			return nil, "", err
		}
		op, err := record.ReadKeyFile(filepath.Join(data, app.OperatorKey))
		if err != nil {
			return nil, "", err
		}
		p := corridor.Party{ID: benchWriterID, Kind: corridor.Monitor, Names: []corridor.Name{{Name: "Benchmark writer", Lang: "en"}},
			Keys: []corridor.PartyKey{{ID: key.ID, Public: key.Public}}}
		r, err := record.Sign(op, "party-"+benchWriterID, corridor.TypeParty, 1, &p)
		if err != nil {
			return nil, "", err
		}
		if _, err := node.Submit(ctx, []*app.Submission{{Record: r}}); err != nil {
			return nil, "", err
		}
		if err := record.WriteKeyFiles(key, keyFile); err != nil {
			return nil, "", err
		}
	} else if err != nil {
		return nil, "", err
	}
	token, _, err := node.Store().IssueToken(ctx, benchWriterID, "bench-scale")
	return key, token, err
}

// served is a `corridor serve` child process on loopback.
type served struct {
	cmd  *exec.Cmd
	base string
	hc   *http.Client
}

func serveFolder(ctx context.Context, self, data string) (*served, time.Duration, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, 0, err
	}
	addr := l.Addr().String()
	l.Close()
	start := time.Now()
	cmd := exec.CommandContext(ctx, self, "serve", "--data", data, "--addr", addr)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		return nil, 0, err
	}
	s := &served{cmd: cmd, base: "http://" + addr, hc: &http.Client{Timeout: 5 * time.Minute,
		Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	for {
		if _, err := s.get("/healthz"); err == nil {
			return s, time.Since(start), nil
		}
		if time.Since(start) > 10*time.Minute {
			s.stop()
			return nil, 0, fmt.Errorf("serve did not answer /healthz within 10 minutes")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *served) stop() {
	s.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(90 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
}

func (s *served) get(path string) ([]byte, error) {
	resp, err := s.hc.Get(s.base + path)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	return b, err
}

// readPaths picks what to read: the first route over the last 90 days,
// the most populous settlement, so that any scenario serves.
func (s *served) readPaths() ([]string, map[string]string, error) {
	var routes struct{ Items []struct{ ID string } }
	var places struct {
		Items []struct {
			ID         string
			Kind       string
			Population int64
		}
	}
	for path, v := range map[string]any{"/api/v1/routes": &routes, "/api/v1/places": &places} {
		b, err := s.get(path)
		if err != nil {
			return nil, nil, err
		}
		if err := json.Unmarshal(b, v); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	if len(routes.Items) == 0 {
		return nil, nil, fmt.Errorf("the folder has no route")
	}
	settlement := ""
	var pop int64
	for _, p := range places.Items {
		if p.Population > pop && p.Kind != "region" {
			settlement, pop = p.ID, p.Population
		}
	}
	var status struct {
		AsOf corridor.Date `json:"as_of"`
	}
	b, err := s.get("/api/v1/routes/" + routes.Items[0].ID + "/status?from=2000-01-01&to=2000-01-01")
	if err != nil {
		return nil, nil, err
	}
	json.Unmarshal(b, &status)
	from := corridor.AddDays(status.AsOf, -89)
	names := []string{"route status, 90 days", "coverage", "claims, first page", "convoys, first page", "overview"}
	return names, map[string]string{
		names[0]: fmt.Sprintf("/api/v1/routes/%s/status?from=%s&to=%s", routes.Items[0].ID, from, status.AsOf),
		names[1]: "/api/v1/settlements/" + settlement + "/coverage",
		names[2]: "/api/v1/claims?limit=100",
		names[3]: "/api/v1/convoys?limit=100",
		names[4]: "/",
	}, nil
}

// reads times n sequential GETs of each path.
func (s *served) reads(names []string, paths map[string]string, n int) (map[string][]time.Duration, error) {
	out := map[string][]time.Duration{}
	for _, name := range names {
		for range n {
			t0 := time.Now()
			if _, err := s.get(paths[name]); err != nil {
				return nil, err
			}
			out[name] = append(out[name], time.Since(t0))
		}
	}
	return out, nil
}

var assetRef = regexp.MustCompile(`(?:href|src)="(/[^"/][^"]*)"`)

// assetsWeight is the overview with what a browser fetches to draw it:
// style sheets, scripts, images and icons of the same origin.
func (s *served) assetsWeight(html []byte) (int, error) {
	total := len(html)
	seen := map[string]bool{}
	for _, m := range assetRef.FindAllSubmatch(html, -1) {
		path := string(m[1])
		if seen[path] || !isAsset(path) {
			continue
		}
		seen[path] = true
		b, err := s.get(path)
		if err != nil {
			return 0, err
		}
		total += len(b)
	}
	return total, nil
}

func isAsset(path string) bool {
	p, _, _ := strings.Cut(path, "?")
	for _, ext := range []string{".css", ".js", ".svg", ".png", ".ico", ".woff2", ".webmanifest"} {
		if strings.HasSuffix(p, ext) {
			return true
		}
	}
	return false
}

// writers posts single records from n clients until stop is closed and
// says how many were written.
func (s *served) writers(ctx context.Context, token string, subs []*app.Submission, n int, stop <-chan struct{}) func() (int, error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for range n {
		c := &client.Client{Base: s.base, HTTP: s.hc, Token: token}
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				i := next.Add(1) - 1
				if i >= int64(len(subs)) {
					return
				}
				if _, err := c.Submit(ctx, subs[i:i+1]); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
			}
		})
	}
	return func() (int, error) {
		wg.Wait()
		if err, _ := firstErr.Load().(error); err != nil {
			return 0, err
		}
		return int(min(next.Load(), int64(len(subs)))), nil
	}
}

// loadedWrites bounds the records the 32 writers post while reads are
// timed: more than they write in that time.
const loadedWrites = 10000

func measureSize(ctx context.Context, self, data string, requests int, writes, audits bool, f *scaleFigures, progress func(string, ...any)) error {
	var key *record.Key
	var token string
	var err error
	if writes {
		if key, token, err = benchWriter(ctx, data); err != nil {
			return fmt.Errorf("bench writer: %w", err)
		}
	}
	progress("serving and reading %d records", f.records)
	s, startup, err := serveFolder(ctx, self, data)
	if err != nil {
		return err
	}
	defer func() {
		if s != nil {
			s.stop()
		}
	}()
	f.startup = startup
	f.rssStart = rssMB(s.cmd.Process.Pid)
	names, paths, err := s.readPaths()
	if err != nil {
		return err
	}
	f.names = names
	times, err := s.reads(names, paths, requests)
	if err != nil {
		return err
	}
	for name, t := range times {
		f.p50[name], f.p99[name] = percentile(t, 50), percentile(t, 99)
	}
	html, err := s.get("/")
	if err != nil {
		return err
	}
	f.overview = len(html)
	if f.assets, err = s.assetsWeight(html); err != nil {
		return err
	}
	f.rss = rssMB(s.cmd.Process.Pid)
	if writes {
		plan, err := writerPlan()
		if err != nil {
			return err
		}
		prefix := fmt.Sprintf("w%x", time.Now().UnixNano())
		subs, err := benchStatements(key, plan, prefix, loadedWrites+200+1600+2000)
		if err != nil {
			return err
		}
		progress("%d records: reads while 32 clients write", f.records)
		stop := make(chan struct{})
		wait := s.writers(ctx, token, subs[:loadedWrites], 32, stop)
		t0 := time.Now()
		loaded, err := s.reads(names, paths, requests/4+1)
		close(stop)
		written, werr := wait()
		if err != nil {
			return err
		}
		if werr != nil {
			return fmt.Errorf("writers: %w", werr)
		}
		f.loadedWrites = float64(written) / time.Since(t0).Seconds()
		for name, t := range loaded {
			f.loadedP99[name] = percentile(t, 99)
		}
		progress("%d records: ingest", f.records)
		c := &client.Client{Base: s.base, HTTP: s.hc, Token: token}
		rest := subs[loadedWrites:]
		var lat []time.Duration
		for i := range 200 {
			t0 := time.Now()
			if _, err := c.Submit(ctx, rest[i:i+1]); err != nil {
				return err
			}
			lat = append(lat, time.Since(t0))
		}
		f.singleP50 = percentile(lat, 50)
		rest = rest[200:]
		t0 = time.Now()
		wait = s.writers(ctx, token, rest[:1600], 32, nil)
		n, err := wait()
		if err != nil {
			return err
		}
		f.concurrent = float64(n) / time.Since(t0).Seconds()
		rest = rest[1600:]
		t0 = time.Now()
		for i := 0; i+1000 <= len(rest); i += 1000 {
			if _, err := c.Submit(ctx, rest[i:i+1000]); err != nil {
				return err
			}
		}
		f.batch = float64(len(rest)/1000*1000) / time.Since(t0).Seconds()
	}
	s.stop()
	s = nil
	if !audits {
		return nil
	}
	progress("%d records: audit --dir", f.records)
	if f.auditDir, f.auditDirMB, err = timed(ctx, self, "audit", "--dir", data, "--quiet"); err != nil {
		return fmt.Errorf("audit --dir: %w", err)
	}
	progress("%d records: audit over HTTP", f.records)
	if s, _, err = serveFolder(ctx, self, data); err != nil {
		return err
	}
	if f.auditURL, f.auditURLMB, err = timed(ctx, self, "audit", "--quiet", s.base); err != nil {
		return fmt.Errorf("audit URL: %w", err)
	}
	return nil
}

// timed runs this binary with args and gives its wall time and peak RSS.
func timed(ctx context.Context, self string, args ...string) (time.Duration, int, error) {
	cmd := exec.CommandContext(ctx, self, args...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = io.Discard, &out
	t0 := time.Now()
	if err := cmd.Run(); err != nil {
		return 0, 0, fmt.Errorf("%v: %s", err, lastLines(out.String(), 5))
	}
	mb := 0
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		mb = int(ru.Maxrss / 1024)
	}
	return time.Since(t0), mb, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// rssMB reads a process's resident set size, in MB (0 where /proc is not).
func rssMB(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return kb / 1024
		}
	}
	return 0
}

func writeScaleTable(w io.Writer, refs scaleRefs, rs []scaleFigures, requests int) {
	if len(rs) == 0 {
		return
	}
	ref := rs[0]
	fmt.Fprintf(w, "%d sequential requests per read (a quarter of that under writers); reads' ratio against %d records, writes' against the references\n\n", requests, ref.records)
	if refs.cores > 0 {
		fmt.Fprintf(w, "references, same run: Ed25519 verification on %d cores %.0f/s; raw Tessera (POSIX, entries of %d bytes) one writer p50 %.1f ms, 32 writers %.0f entries/s\n\n",
			refs.cores, refs.verifyRate, refs.entryBytes, ms(refs.tesseraP50), refs.tessera32)
	}
	fmt.Fprintf(w, "| | target |")
	for _, r := range rs {
		fmt.Fprintf(w, " %d records |", r.records)
	}
	fmt.Fprintf(w, "\n|---|---|")
	for range rs {
		fmt.Fprintf(w, "---|")
	}
	fmt.Fprintln(w)
	// row prints one figure per size, with its ratio to against (0: no
	// ratio); rows measured at no size are left out.
	row := func(name, target string, val func(scaleFigures) float64, unit string, against func(scaleFigures) float64) {
		if !slices.ContainsFunc(rs, func(r scaleFigures) bool { return val(r) != 0 }) {
			return
		}
		fmt.Fprintf(w, "| %s | %s |", name, target)
		for _, r := range rs {
			v, ratio := val(r), ""
			if base := against(r); base > 0 {
				ratio = fmt.Sprintf(" (%.2f×)", v/base)
			}
			fmt.Fprintf(w, " %s %s%s |", fig(v), unit, ratio)
		}
		fmt.Fprintln(w)
	}
	// bySize is the ratio to the smallest size (none at that size).
	bySize := func(val func(scaleFigures) float64) func(scaleFigures) float64 {
		return func(r scaleFigures) float64 {
			if r.records == ref.records {
				return 0
			}
			return val(ref)
		}
	}
	noRef := func(scaleFigures) float64 { return 0 }
	startup := func(r scaleFigures) float64 { return r.startup.Seconds() }
	row("serve start-up to /healthz", "≤ 5 s at 1M", startup, "s", bySize(startup))
	for _, name := range ref.names {
		p50 := func(r scaleFigures) float64 { return ms(r.p50[name]) }
		p99 := func(r scaleFigures) float64 { return ms(r.p99[name]) }
		row(name+" p50", "", p50, "ms", bySize(p50))
		row(name+" p99", "≤ 20 ms; 1M ≤ 1.5 × 10k", p99, "ms", bySize(p99))
	}
	row("overview HTML", "", func(r scaleFigures) float64 { return float64(r.overview) / 1024 }, "KB", noRef)
	row("overview with its assets", "≤ 150 KB", func(r scaleFigures) float64 { return float64(r.assets) / 1024 }, "KB", noRef)
	row("RSS after start-up", "≤ 300 MB", func(r scaleFigures) float64 { return float64(r.rssStart) }, "MB", noRef)
	row("RSS after the reads", "≤ 300 MB", func(r scaleFigures) float64 { return float64(r.rss) }, "MB", noRef)
	row("reads while 32 clients write, worst p99", "≤ 50 ms", func(r scaleFigures) float64 {
		var worst time.Duration
		for _, d := range r.loadedP99 {
			worst = max(worst, d)
		}
		return ms(worst)
	}, "ms", noRef)
	row("records written meanwhile", "", func(r scaleFigures) float64 { return r.loadedWrites }, "/s", noRef)
	row("ingest, one client p50 (÷ raw Tessera one writer p50)", "≤ 1.2×", func(r scaleFigures) float64 { return ms(r.singleP50) }, "ms",
		func(scaleFigures) float64 { return ms(refs.tesseraP50) })
	row("ingest, 32 clients (÷ raw Tessera 32 writers)", "≥ 0.6×", func(r scaleFigures) float64 { return r.concurrent }, "records/s",
		func(scaleFigures) float64 { return refs.tessera32 })
	row("ingest, batches of 1,000 (÷ Ed25519 all cores)", "≥ 0.6×", func(r scaleFigures) float64 { return r.batch }, "records/s",
		func(scaleFigures) float64 { return refs.verifyRate })
	row("audit --dir", "≤ 90 s at 1M", func(r scaleFigures) float64 { return r.auditDir.Seconds() }, "s", noRef)
	row("audit --dir peak RSS", "", func(r scaleFigures) float64 { return float64(r.auditDirMB) }, "MB", noRef)
	row("audit URL", "≤ 10 min at 1M", func(r scaleFigures) float64 { return r.auditURL.Seconds() }, "s", noRef)
	row("audit URL peak RSS", "≤ 1.5 GB", func(r scaleFigures) float64 { return float64(r.auditURLMB) }, "MB", noRef)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// fig writes a figure with sensible precision.
func fig(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}
