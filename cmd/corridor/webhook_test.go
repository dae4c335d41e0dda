package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"corridor/store"
	"corridor/webhook"
)

// TestWebhooks: a newsroom subscribes to refusals and clearance deadlines.
// A refusal at a checkpoint reaches it as a signed POST (its receiver
// failing once, so that it comes again after a backoff, with the same
// delivery id); a convoy filed with a clearance deadline already passed
// and no answer gives a deadline event; a forged request is refused by
// the receiver's check; the delivery log says what was tried. What was
// in the log before the subscription started is not sent.
func TestWebhooks(t *testing.T) {
	const secret = "newsroom-secret-0123456789"
	var mu sync.Mutex
	var got []webhook.Event
	deliveries := map[string]int{}
	failed := false
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !webhook.Verify(secret, body, r.Header.Get(webhook.SignatureHeader)) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		deliveries[r.Header.Get(webhook.DeliveryHeader)]++
		if !failed { // the receiver is down the first time
			failed = true
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		var ev webhook.Event
		if err := json.Unmarshal(body, &ev); err != nil || ev.Event != r.Header.Get(webhook.EventHeader) {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		got = append(got, ev)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer recv.Close()
	hooks := filepath.Join(t.TempDir(), "webhooks.json")
	if err := os.WriteFile(hooks, []byte(`{"webhooks": [{"id": "newsroom", "url": "`+recv.URL+`", "secret": "`+secret+`", "events": ["refusal", "deadline"]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"CORRIDOR_SERVER", "CORRIDOR_TOKEN", "CORRIDOR_KEY"} {
		t.Setenv(v, "")
	}
	// A subscriptions file with a mistake is refused, naming the field.
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"webhooks": [{"id": "x", "url": "ftp://x", "secret": "0123456789abcdef", "events": ["refusal"]}]}`), 0o600)
	if code, _, errOut := runCLI(t, "demo", "--data", filepath.Join(t.TempDir(), "d"), "--addr", "127.0.0.1:0", "--webhooks", bad); code == 0 || !strings.Contains(errOut, "webhooks[0].url") {
		t.Errorf("a subscription to ftp://: %d %q; want a refusal naming webhooks[0].url", code, errOut)
	}
	dir := filepath.Join(t.TempDir(), "demo")
	s := startInProcess(t, "demo", "--data", dir, "--addr", "127.0.0.1:0", "--webhooks", hooks)
	keys := filepath.Join(dir, "demo-keys")
	as := func(party string, cmd ...string) {
		t.Helper()
		args := append(cmd, "--server", s.URL, "--key", filepath.Join(keys, party+".key"), "--token-file", filepath.Join(keys, party+".token"))
		if code, out, errOut := runCLI(t, args...); code != 0 {
			t.Fatalf("corridor %s: %d\n%s%s", strings.Join(cmd[:2], " "), code, out, errOut)
		}
	}
	// The border service refuses the Armenian convoy held at the bridge.
	as("az-sbs", "checkpoint", "record", "--convoy", "am-2023-07", "--checkpoint", "hakari", "--event", "refused",
		"--reason-category", "no-prior-agreement", "--reason", "No agreement.", "--at", "2023-09-01T10:00:00+04:00")
	// The Red Crescent files a convoy whose clearance deadline has passed.
	file := filepath.Join(t.TempDir(), "convoy.json")
	os.WriteFile(file, []byte(cliConvoyJSON), 0o644)
	as("arcs", "convoy", "file", "--file", file)

	kinds := func() map[string]webhook.Event {
		mu.Lock()
		defer mu.Unlock()
		out := map[string]webhook.Event{}
		for _, e := range got {
			out[e.Event] = e
		}
		return out
	}
	if !waitFor(30*time.Second, func() bool { k := kinds(); return k[webhook.Refusal].ID != "" && k[webhook.Deadline].ID != "" }) {
		t.Fatalf("events received: %+v", kinds())
	}
	k := kinds()
	if r := k[webhook.Refusal]; r.Convoy != "am-2023-07" || r.Checkpoint != "hakari" || r.Party != "az-sbs" || r.Reason != "no-prior-agreement" || r.LogIndex == nil ||
		!strings.HasSuffix(r.URL, "/convoys/am-2023-07") {
		t.Errorf("the refusal event: %+v", r)
	}
	if d := k[webhook.Deadline]; d.Convoy != cliConvoyID || d.Authority != "ru-pkc" || d.At != "2023-09-05" {
		t.Errorf("the deadline event: %+v", d)
	}
	mu.Lock()
	n := len(got)
	retried := 0
	for _, c := range deliveries {
		if c > 1 {
			retried++
		}
	}
	mu.Unlock()
	if n != 2 || retried != 1 {
		t.Errorf("%d events taken, %d delivered twice: want the two, the first after one retry (the scenario's own holds and refusals are not sent)", n, retried)
	}
	// A forged delivery is refused by the receiver's check.
	req, _ := http.NewRequest(http.MethodPost, recv.URL, strings.NewReader(`{"id":"refusal/x","event":"refusal","convoy":"am-2023-07"}`))
	req.Header.Set(webhook.SignatureHeader, webhook.Sign("not-the-secret-0000", []byte(`{"id":"refusal/x","event":"refusal","convoy":"am-2023-07"}`)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a forged delivery: %d, want 401", resp.StatusCode)
	}
	// The delivery log.
	st, err := store.Open(context.Background(), filepath.Join(dir, "projection.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// The receiver has the events; the dispatcher writes what it was
	// answered just after.
	var log []store.Delivery
	waitFor(10*time.Second, func() bool {
		log, err = st.Deliveries(context.Background(), 10)
		done := err == nil && len(log) == 2
		for _, d := range log {
			done = done && d.Status != "pending"
		}
		return done
	})
	if err != nil {
		t.Fatal(err)
	}
	attempts := 0
	for _, d := range log {
		if d.Status != "delivered" || d.LastStatus != http.StatusNoContent {
			t.Errorf("delivery %s: %s, last answer %d", d.ID, d.Status, d.LastStatus)
		}
		attempts += d.Attempts
	}
	if len(log) != 2 || attempts != 3 {
		t.Errorf("delivery log: %d deliveries, %d attempts; want 2 and 3", len(log), attempts)
	}
}
