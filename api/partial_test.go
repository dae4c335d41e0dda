package api_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/transparency-dev/tessera/api/layout"

	"corridor/api"
)

// A partial entry bundle that a later tree head has superseded (a
// narrower one of the same index) is not served: readers and auditors
// only ever see the bundles the published tree head implies.
func TestSupersededPartialBundlesAreNotServed(t *testing.T) {
	e := newEnv(t, false)
	mux := http.NewServeMux()
	api.New(e.node.App, nil).WithLog(e.node.Log, api.LogOptions{}).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	get := func(path string) int {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	waitPublished := func(size uint64) {
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if _, n, _, err := e.node.Log.TreeHead(t.Context()); err == nil && n >= size {
				return
			}
		}
		t.Fatalf("no tree head of %d records published", size)
	}
	post := func(i int) {
		if r := e.post(placeRecord(t, e.op, fmt.Sprintf("partial-%d", i), 39.6)); r.Status != http.StatusCreated {
			t.Fatalf("POST: %d %s", r.Status, r.Body)
		}
	}
	post(0)
	first := e.logSize()
	waitPublished(first)
	old := layout.EntriesPath(0, uint8(first))
	if code := get("/log/" + old); code != http.StatusOK {
		t.Fatalf("the current partial bundle %s: %d", old, code)
	}
	post(1)
	post(2)
	size := e.logSize()
	waitPublished(size)
	if _, err := os.Stat(filepath.Join(e.dir, "log", old)); err != nil {
		t.Skipf("Tessera removed %s already; nothing superseded is left to serve", old)
	}
	if code := get("/log/" + old); code != http.StatusNotFound {
		t.Errorf("the superseded partial bundle %s: %d, want 404", old, code)
	}
	if code := get("/log/" + layout.EntriesPath(0, uint8(size))); code != http.StatusOK {
		t.Errorf("the current partial bundle: %d, want 200", code)
	}
	if code := get("/log/" + layout.TilePath(0, 0, uint8(first))); code != http.StatusNotFound {
		t.Errorf("the superseded partial tile: %d, want 404", code)
	}
}
