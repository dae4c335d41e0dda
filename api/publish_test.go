package api_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"corridor/api"
	"corridor/record"
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
	// A tree head published in the instant between the append and the wait
	// would answer 201; try a few records until one meets the timeout.
	var rec *record.Record
	for attempt := 0; ; attempt++ {
		before := e.logSize()
		rec = placeRecord(t, e.op, fmt.Sprintf("wait-published-%d", attempt), 39.6)
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/records?wait=published", strings.NewReader(string(mustJSON(t, rec))))
		req.Header.Set("Authorization", "Bearer "+e.tokenFor("operator"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Results []struct {
				Index   uint64
				Receipt string
			}
			Receipts string
		}
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if e.logSize() != before+1 || len(body.Results) != 1 {
			t.Fatalf("the record was not written: %+v", body)
		}
		if resp.StatusCode == http.StatusCreated && body.Results[0].Receipt != "" && attempt < 3 {
			continue // published in time after all
		}
		if resp.StatusCode != http.StatusAccepted || body.Receipts == "" {
			t.Fatalf("status %d, %+v: want 202 with the result and a note on receipts", resp.StatusCode, body)
		}
		break
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
