package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"corridor/app"
	"corridor/client"
	"corridor/record"
	"corridor/store"
)

func init() {
	commands["soak"] = command{"serve a folder under many writers and readers for a while, then check that every acknowledged record is there", cmdSoak}
}

// cmdSoak serves a data folder with this binary on loopback, has writers
// post statements and readers read the dashboard and the API for a given
// time, samples the server's memory, and afterwards checks, with the
// server stopped, that every record it acknowledged is in the log and the
// projection and that verify passes. It prints load held, errors by kind,
// p50/p99 latencies and RSS over time.
func cmdSoak(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("soak", stderr)
	data := fs.String("data", "", "data folder (made with corridor bench --records 1000 when missing)")
	duration := fs.Duration("duration", time.Minute, "how long the load runs (1s to 24h)")
	writers := fs.Int("writers", 64, "concurrent writing clients (0 to 1,000)")
	readers := fs.Int("readers", 64, "concurrent reading clients (0 to 1,000)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := requireFlag("data", *data); err != nil {
		return err
	}
	if *duration < time.Second || *duration > 24*time.Hour {
		return usagef("-duration %v: want 1s to 24h", *duration)
	}
	if *writers < 0 || *writers > 1000 || *readers < 0 || *readers > 1000 {
		return usagef("-writers and -readers: want 0 to 1,000 each")
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if _, err := os.Stat(*data); err != nil {
		fmt.Fprintf(stderr, "soak: building 1,000 records in %s\n", *data)
		if err := cmdBench(ctx, []string{"--data", *data, "--records", "1000"}, io.Discard, stderr); err != nil {
			return err
		}
	}
	key, token, err := benchWriter(ctx, *data)
	if err != nil {
		return err
	}
	plan, err := writerPlan()
	if err != nil {
		return err
	}
	s, _, err := serveFolder(ctx, self, *data)
	if err != nil {
		return err
	}
	defer func() {
		if s != nil {
			s.stop()
		}
	}()
	names, paths, err := s.readPaths()
	if err != nil {
		return err
	}
	paths["incidents feed"] = "/incidents.atom"
	names = append(names, "incidents feed")

	var (
		mu       sync.Mutex
		errs     = map[string]int{}
		acked    []string
		writeLat []time.Duration
		readLat  []time.Duration
		seq      atomic.Int64
	)
	fail := func(kind string) { mu.Lock(); errs[kind]++; mu.Unlock() }
	kindOf := func(err error) string {
		var pe *client.ProblemError
		if errors.As(err, &pe) {
			return fmt.Sprintf("%d %s", pe.Status, pe.Code)
		}
		return "transport: " + err.Error()
	}
	deadline := time.Now().Add(*duration)
	run := fmt.Sprintf("soak%x", time.Now().UnixNano())
	var wg sync.WaitGroup
	for range *writers {
		c := &client.Client{Base: s.base, HTTP: s.hc, Token: token}
		wg.Go(func() {
			keys := map[string]*record.Key{plan.monitor: key}
			for time.Now().Before(deadline) {
				sub, err := plan.statement(keys, fmt.Sprintf("%s-%d", run, seq.Add(1)))
				if err != nil {
					fail("sign: " + err.Error())
					return
				}
				t0 := time.Now()
				res, err := c.Submit(ctx, []*app.Submission{sub})
				d := time.Since(t0)
				if err != nil {
					fail("write " + kindOf(err))
					continue
				}
				mu.Lock()
				writeLat = append(writeLat, d)
				for _, r := range res {
					acked = append(acked, r.ID)
				}
				mu.Unlock()
			}
		})
	}
	for i := range *readers {
		wg.Go(func() {
			for n := i; time.Now().Before(deadline); n++ {
				t0 := time.Now()
				_, err := s.get(paths[names[n%len(names)]])
				d := time.Since(t0)
				if err != nil {
					fail("read " + names[n%len(names)] + ": " + err.Error()[:min(60, len(err.Error()))])
					continue
				}
				mu.Lock()
				readLat = append(readLat, d)
				mu.Unlock()
			}
		})
	}
	var rss []string
	tick := time.NewTicker(max(time.Second, *duration/10))
	for done := false; !done; {
		select {
		case <-tick.C:
			rss = append(rss, fmt.Sprintf("%s %d MB", time.Until(deadline).Round(time.Second), rssMB(s.cmd.Process.Pid)))
			done = time.Now().After(deadline)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	tick.Stop()
	wg.Wait()
	peak := rssMB(s.cmd.Process.Pid)
	s.stop()
	s = nil

	// With the server stopped: every acknowledged record is in the
	// projection, and the folder verifies.
	st, err := store.Open(ctx, filepath.Join(*data, app.ProjectionFile))
	if err != nil {
		return err
	}
	missing := 0
	for _, id := range acked {
		if _, err := st.RecordByID(ctx, id); err != nil {
			missing++
		}
	}
	st.Close()
	n, verr := app.Verify(ctx, *data, "", io.Discard)

	fmt.Fprintf(stdout, "soak: %v, %d writers, %d readers on %s\n", *duration, *writers, *readers, *data)
	fmt.Fprintf(stdout, "writes acknowledged: %d (%.0f/s), p50 %.1f ms, p99 %.1f ms\n", len(acked), float64(len(acked))/duration.Seconds(),
		ms(percentile(writeLat, 50)), ms(percentile(writeLat, 99)))
	fmt.Fprintf(stdout, "reads answered: %d (%.0f/s), p50 %.1f ms, p99 %.1f ms\n", len(readLat), float64(len(readLat))/duration.Seconds(),
		ms(percentile(readLat, 50)), ms(percentile(readLat, 99)))
	kinds := make([]string, 0, len(errs))
	for k := range errs {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	if len(kinds) == 0 {
		fmt.Fprintln(stdout, "errors: none")
	}
	for _, k := range kinds {
		fmt.Fprintf(stdout, "errors: %s: %d\n", k, errs[k])
	}
	fmt.Fprintf(stdout, "server RSS (time left, MB): %v; at the end %d MB\n", rss, peak)
	if missing > 0 {
		return fmt.Errorf("soak: %d of %d acknowledged records are missing after the run", missing, len(acked))
	}
	if verr != nil {
		return fmt.Errorf("soak: verify after the run: %w", verr)
	}
	fmt.Fprintf(stdout, "every acknowledged record is present (%d); verify passes (%s records)\n", len(acked), strconv.FormatUint(n, 10))
	return nil
}
