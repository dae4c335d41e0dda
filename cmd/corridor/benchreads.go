package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"corridor"
)

func init() {
	commands["bench-reads"] = command{"build bench folders of several sizes, serve each and measure its reads side by side", cmdBenchReads}
}

// cmdBenchReads builds a bench folder per size (or reuses one), serves it
// with this binary on loopback and measures, for each, start-up to
// /healthz, the p50 and p99 of sequential reads (route status over 90
// days, coverage, the first page of claims and of convoys, the overview),
// the overview's weight and the server's RSS. The smallest size is the
// reference: the ratios beside each figure are what count on a shared
// machine.
func cmdBenchReads(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench-reads", stderr)
	dir := fs.String("dir", "", "folder for the bench folders (kept, and reused when run again)")
	sizes := fs.String("sizes", "10000,100000", "comma-separated record counts, smallest first")
	requests := fs.Int("requests", 200, "sequential requests per read (1 to 10,000)")
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
	var results []readFigures
	for _, n := range ns {
		data := filepath.Join(*dir, fmt.Sprintf("bench-%d", n))
		if _, err := os.Stat(data); err != nil {
			fmt.Fprintf(stderr, "bench-reads: building %d records in %s\n", n, data)
			if err := cmdBench(ctx, []string{"--data", data, "--records", strconv.Itoa(n)}, io.Discard, stderr); err != nil {
				return fmt.Errorf("build %d records: %w", n, err)
			}
		}
		fmt.Fprintf(stderr, "bench-reads: serving and reading %d records\n", n)
		f, err := measureReads(ctx, self, data, *requests)
		if err != nil {
			return fmt.Errorf("%d records: %w", n, err)
		}
		f.records = n
		results = append(results, f)
	}
	writeReadTable(stdout, results, *requests)
	return nil
}

type readFigures struct {
	records   int
	startup   time.Duration
	names     []string
	p50, p99  map[string]time.Duration
	overview  int // bytes
	rss       int // MB after the reads
	rssStart  int // MB after start-up
	readPaths map[string]string
}

func measureReads(ctx context.Context, self, data string, requests int) (readFigures, error) {
	f := readFigures{p50: map[string]time.Duration{}, p99: map[string]time.Duration{}, readPaths: map[string]string{}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return f, err
	}
	addr := l.Addr().String()
	l.Close()
	start := time.Now()
	cmd := exec.CommandContext(ctx, self, "serve", "--data", data, "--addr", addr)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		return f, err
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	base := "http://" + addr
	hc := &http.Client{Timeout: 5 * time.Minute}
	get := func(path string) ([]byte, error) {
		resp, err := hc.Get(base + path)
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
	for {
		if _, err := get("/healthz"); err == nil {
			break
		}
		if time.Since(start) > 10*time.Minute {
			return f, fmt.Errorf("serve did not answer /healthz within 10 minutes")
		}
		time.Sleep(50 * time.Millisecond)
	}
	f.startup = time.Since(start)
	f.rssStart = rssMB(cmd.Process.Pid)
	// What to read: the first route and the most populous settlement, so
	// that any scenario serves.
	var routes struct{ Items []struct{ ID string } }
	var places struct {
		Items []struct {
			ID         string
			Kind       string
			Population int64
		}
	}
	var health struct{ Records uint64 }
	for path, v := range map[string]any{"/api/v1/routes": &routes, "/api/v1/places": &places, "/healthz": &health} {
		b, err := get(path)
		if err != nil {
			return f, err
		}
		if err := json.Unmarshal(b, v); err != nil {
			return f, fmt.Errorf("%s: %w", path, err)
		}
	}
	if len(routes.Items) == 0 {
		return f, fmt.Errorf("the folder has no route")
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
	b, err := get("/api/v1/routes/" + routes.Items[0].ID + "/status?from=2000-01-01&to=2000-01-01")
	if err != nil {
		return f, err
	}
	json.Unmarshal(b, &status)
	from := corridor.AddDays(status.AsOf, -89)
	f.names = []string{"route status, 90 days", "coverage", "claims, first page", "convoys, first page", "overview"}
	f.readPaths = map[string]string{
		f.names[0]: fmt.Sprintf("/api/v1/routes/%s/status?from=%s&to=%s", routes.Items[0].ID, from, status.AsOf),
		f.names[1]: "/api/v1/settlements/" + settlement + "/coverage",
		f.names[2]: "/api/v1/claims?limit=100",
		f.names[3]: "/api/v1/convoys?limit=100",
		f.names[4]: "/",
	}
	for _, name := range f.names {
		path := f.readPaths[name]
		times := make([]time.Duration, 0, requests)
		for range requests {
			t0 := time.Now()
			body, err := get(path)
			if err != nil {
				return f, err
			}
			times = append(times, time.Since(t0))
			if name == "overview" {
				f.overview = len(body)
			}
		}
		slices.Sort(times)
		f.p50[name], f.p99[name] = times[len(times)/2], times[min(len(times)-1, len(times)*99/100)]
	}
	f.rss = rssMB(cmd.Process.Pid)
	return f, nil
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

func writeReadTable(w io.Writer, rs []readFigures, requests int) {
	if len(rs) == 0 {
		return
	}
	ref := rs[0]
	fmt.Fprintf(w, "reads, %d sequential requests each; ratio: against %d records (the reference, same run)\n\n", requests, ref.records)
	fmt.Fprintf(w, "| |")
	for _, r := range rs {
		fmt.Fprintf(w, " %d records |", r.records)
	}
	fmt.Fprintf(w, "\n|---|")
	for range rs {
		fmt.Fprintf(w, "---|")
	}
	fmt.Fprintln(w)
	row := func(name string, val func(readFigures) float64, unit string) {
		fmt.Fprintf(w, "| %s |", name)
		for _, r := range rs {
			v, base := val(r), val(ref)
			ratio := ""
			if r.records != ref.records && base > 0 {
				ratio = fmt.Sprintf(" (%.2f×)", v/base)
			}
			fmt.Fprintf(w, " %.1f %s%s |", v, unit, ratio)
		}
		fmt.Fprintln(w)
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	row("serve start-up to /healthz", func(r readFigures) float64 { return r.startup.Seconds() }, "s")
	for _, name := range ref.names {
		row(name+" p50", func(r readFigures) float64 { return ms(r.p50[name]) }, "ms")
		row(name+" p99", func(r readFigures) float64 { return ms(r.p99[name]) }, "ms")
	}
	row("overview HTML", func(r readFigures) float64 { return float64(r.overview) / 1024 }, "KB")
	row("RSS after start-up", func(r readFigures) float64 { return float64(r.rssStart) }, "MB")
	row("RSS after the reads", func(r readFigures) float64 { return float64(r.rss) }, "MB")
}
