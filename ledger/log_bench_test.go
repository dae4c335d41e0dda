package ledger

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Benchmarks use the default Options (5ms batch age, 1s tree head interval),
// a fresh log per run, and ~200-byte entries. Open/Close are outside the timer.

func benchEntry(i int) []byte {
	e := make([]byte, 0, 200)
	e = append(e, entryData(i)...)
	for len(e) < 200 {
		e = append(e, '.')
	}
	return e
}

func benchLog(b *testing.B) *Log {
	b.Helper()
	s, _ := testKeys(b)
	l, err := Open(context.Background(), b.TempDir(), s, Options{})
	if err != nil {
		b.Fatal(err)
	}
	return l
}

func benchClose(b *testing.B, l *Log) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := l.Close(ctx); err != nil {
		b.Fatal(err)
	}
}

// reportLatency reports entries/s and the p50/p99 latency of the calls.
func reportLatency(b *testing.B, entries int, elapsed time.Duration, lat []time.Duration) {
	b.ReportMetric(float64(entries)/elapsed.Seconds(), "entries/s")
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		i := int(p * float64(len(lat)-1))
		return float64(lat[i].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50_ms")
	b.ReportMetric(pct(0.99), "p99_ms")
}

// BenchmarkAppendSingle: one goroutine, one entry per Append.
func BenchmarkAppendSingle(b *testing.B) {
	l := benchLog(b)
	defer benchClose(b, l)
	ctx := context.Background()
	var lat []time.Duration
	n := 0
	start := time.Now()
	for b.Loop() {
		t0 := time.Now()
		if _, err := l.Append(ctx, [][]byte{benchEntry(n)}); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
		n++
	}
	reportLatency(b, n, time.Since(start), lat)
}

// BenchmarkAppendConcurrent32: 32 goroutines each appending single entries;
// b.N is the total number of entries.
func BenchmarkAppendConcurrent32(b *testing.B) {
	const workers = 32
	l := benchLog(b)
	defer benchClose(b, l)
	ctx := context.Background()

	var next atomic.Int64
	lats := make([][]time.Duration, workers)
	var wg sync.WaitGroup
	errc := make(chan error, workers)
	b.ResetTimer()
	start := time.Now()
	for w := range workers {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				t0 := time.Now()
				if _, err := l.Append(ctx, [][]byte{benchEntry(int(i))}); err != nil {
					errc <- err
					return
				}
				lats[w] = append(lats[w], time.Since(t0))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	close(errc)
	for err := range errc {
		b.Fatal(err)
	}
	reportLatency(b, b.N, elapsed, slices.Concat(lats...))
}

// BenchmarkAppendBatch1000: one goroutine, 1000 entries per Append.
func BenchmarkAppendBatch1000(b *testing.B) {
	const batch = 1000
	l := benchLog(b)
	defer benchClose(b, l)
	ctx := context.Background()
	es := make([][]byte, batch)
	for i := range es {
		es[i] = benchEntry(i)
	}
	var lat []time.Duration
	calls := 0
	start := time.Now()
	for b.Loop() {
		t0 := time.Now()
		if _, err := l.Append(ctx, es); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
		calls++
	}
	reportLatency(b, calls*batch, time.Since(start), lat)
}
