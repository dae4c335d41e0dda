package api_test

import (
	"bytes"
	"corridor/record"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// postBody sends one POST and fails unless it is answered 201.
func postBody(b *testing.B, hc *http.Client, url string, body []byte) {
	resp, err := hc.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		b.Error(err)
		return
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		b.Errorf("%d %s", resp.StatusCode, data)
	}
}

func reportLatency(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	q := func(p float64) float64 {
		i := int(p * float64(len(lat)-1))
		return float64(lat[i]) / float64(time.Millisecond)
	}
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
}

// BenchmarkPostSingle: one client, one record per POST.
func BenchmarkPostSingle(b *testing.B) {
	e := newEnv(b, false)
	bodies := placeBodies(b, e.op, "single", b.N)
	url := e.srv.URL + "/api/v1/records"
	postBody(b, e.hc, url, placeBodies(b, e.op, "warm", 1)[0]) // open the connection
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		postBody(b, e.hc, url, bodies[i])
		lat = append(lat, time.Since(t0))
	}
	el := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/el.Seconds(), "records/s")
	reportLatency(b, lat)
}

// BenchmarkPostConcurrent32: 32 clients, one record per POST each.
func BenchmarkPostConcurrent32(b *testing.B) {
	const clients = 32
	e := newEnv(b, false)
	bodies := placeBodies(b, e.op, "conc", b.N)
	url := e.srv.URL + "/api/v1/records"
	warm := placeBodies(b, e.op, "warm", clients)
	var wg sync.WaitGroup
	for i := range clients { // one connection per client
		wg.Go(func() { postBody(b, e.hc, url, warm[i]) })
	}
	wg.Wait()
	var next atomic.Int64
	lats := make([][]time.Duration, clients)
	b.ResetTimer()
	start := time.Now()
	for c := range clients {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				t0 := time.Now()
				postBody(b, e.hc, url, bodies[i])
				lats[c] = append(lats[c], time.Since(t0))
			}
		})
	}
	wg.Wait()
	el := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/el.Seconds(), "records/s")
	reportLatency(b, slices.Concat(lats...))
}

// BenchmarkPostBatch1000: one client, 1000 records per POST.
func BenchmarkPostBatch1000(b *testing.B) {
	const batch = 1000
	e := newEnv(b, false)
	bodies := make([][]byte, b.N)
	for i := range bodies {
		recs := make([]*record.Record, batch)
		for j := range recs {
			recs[j] = placeRecord(b, e.op, fmt.Sprintf("batch-%d-%d", i, j), 39.5)
		}
		var err error
		if bodies[i], err = json.Marshal(map[string]any{"records": recs}); err != nil {
			b.Fatal(err)
		}
	}
	url := e.srv.URL + "/api/v1/records"
	postBody(b, e.hc, url, placeBodies(b, e.op, "warm", 1)[0])
	lat := make([]time.Duration, 0, b.N)
	b.SetBytes(int64(len(bodies[0])))
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		postBody(b, e.hc, url, bodies[i])
		lat = append(lat, time.Since(t0))
	}
	el := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N*batch)/el.Seconds(), "records/s")
	reportLatency(b, lat)
}
