package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"corridor/api"
)

// TestWaitPublishedTimesOutWithAccepted: when no tree head covers the
// records in time, the answer is 202 with their indices (they are durable),
// and the receipt can be fetched once a tree head is published.
func TestWaitPublishedTimesOutWithAccepted(t *testing.T) {
	e := newEnv(t, false)
	mux := http.NewServeMux()
	api.New(e.node.App, nil).WithLog(e.node.Log, api.LogOptions{PublishWait: time.Nanosecond}).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	before := e.logSize()
	rec := placeRecord(t, e.op, "wait-published", 39.6)
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/records?wait=published", strings.NewReader(string(mustJSON(t, rec))))
	req.Header.Set("Authorization", "Bearer "+e.tokenFor("operator"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Results  []struct{ Index uint64 }
		Receipts string
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusAccepted || len(body.Results) != 1 || body.Receipts == "" {
		t.Fatalf("status %d, %+v: want 202 with the result and a note on receipts", resp.StatusCode, body)
	}
	if e.logSize() != before+1 {
		t.Fatalf("the record was not written")
	}

	deadline := time.Now().Add(15 * time.Second)
	for {
		r, err := http.Get(srv.URL + "/api/v1/records/" + rec.ID + "/receipt")
		if err != nil {
			t.Fatal(err)
		}
		msg, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if r.StatusCode == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("receipt still %d after the tree head interval: %s", r.StatusCode, msg)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
