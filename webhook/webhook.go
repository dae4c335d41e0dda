// Package webhook tells subscribers, as it happens, of the records they
// follow: a convoy held or refused at a checkpoint, a route closed, a
// clearance deadline passing without an answer. Each event is a JSON body
// signed with HMAC-SHA256 under the subscriber's secret, posted to its
// URL, retried with backoff until it is taken, and kept in a delivery
// log. Events follow only from records in the log (and, for a deadline,
// from the day): the dispatcher reads the projection, never the writer's
// state, so any server that projects the log can run it.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"corridor"
	"corridor/record"
	"corridor/store"
)

// Events a subscriber may follow.
const (
	Hold     = "hold"     // a convoy held at a checkpoint
	Refusal  = "refusal"  // a convoy refused at a checkpoint
	Closure  = "closure"  // a route closed to some traffic
	Deadline = "deadline" // a clearance deadline passed with an authority's answer missing
)

// Events lists them.
var Events = []string{Hold, Refusal, Closure, Deadline}

// Header names of a delivery.
const (
	SignatureHeader = "Corridor-Signature" // sha256=HEX of HMAC-SHA256(secret, body)
	EventHeader     = "Corridor-Event"
	DeliveryHeader  = "Corridor-Delivery" // the event's id: the same on every retry
)

// Limits.
const (
	MaxHooks     = 50
	MinSecret    = 16
	MaxAttempts  = 12               // then the delivery is marked failed
	MaxBackoff   = time.Hour        // between two attempts
	FirstBackoff = 2 * time.Second  // after the first failure
	Timeout      = 10 * time.Second // for one attempt
	batch        = 500              // records read at once
)

// Hook is one subscription.
type Hook struct {
	ID     string   `json:"id"`
	URL    string   `json:"url"`
	Secret string   `json:"secret"`
	Events []string `json:"events"`
}

// Parse reads a subscriptions file: {"webhooks": [{"id", "url", "secret",
// "events"}]}. Every problem names its field.
func Parse(data []byte) ([]Hook, error) {
	var f struct {
		Webhooks []Hook `json:"webhooks"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("webhooks: %w", err)
	}
	if len(f.Webhooks) > MaxHooks {
		return nil, fmt.Errorf("webhooks: %d subscriptions; at most %d", len(f.Webhooks), MaxHooks)
	}
	seen := map[string]bool{}
	for i, h := range f.Webhooks {
		at := fmt.Sprintf("webhooks[%d]", i)
		if err := record.CheckID(at+".id", h.ID); err != nil {
			return nil, err
		}
		if seen[h.ID] {
			return nil, fmt.Errorf("%s.id: %q is used twice", at, h.ID)
		}
		seen[h.ID] = true
		u, err := url.Parse(h.URL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("%s.url: %q is not an http(s) address", at, h.URL)
		}
		if len(h.Secret) < MinSecret {
			return nil, fmt.Errorf("%s.secret: at least %d characters", at, MinSecret)
		}
		if len(h.Events) == 0 {
			return nil, fmt.Errorf("%s.events: name at least one of %s", at, strings.Join(Events, ", "))
		}
		for j, e := range h.Events {
			if !slices.Contains(Events, e) {
				return nil, fmt.Errorf("%s.events[%d]: %q is not one of %s", at, j, e, strings.Join(Events, ", "))
			}
		}
	}
	return f.Webhooks, nil
}

// Load reads a subscriptions file.
func Load(path string) ([]Hook, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) > 1<<20 {
		return nil, fmt.Errorf("%s: larger than 1 MiB", path)
	}
	return Parse(b)
}

// Sign is the signature header value of body under secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether sig is the signature of body under secret, as a
// receiver checks it (in constant time).
func Verify(secret string, body []byte, sig string) bool {
	return hmac.Equal([]byte(Sign(secret, body)), []byte(sig))
}

// Event is the body of a delivery.
type Event struct {
	ID         string  `json:"id"`
	Event      string  `json:"event"`
	Record     string  `json:"record,omitempty"` // the record it follows from
	LogIndex   *uint64 `json:"log_index,omitempty"`
	Party      string  `json:"party,omitempty"` // who signed it
	Convoy     string  `json:"convoy,omitempty"`
	Checkpoint string  `json:"checkpoint,omitempty"`
	Route      string  `json:"route,omitempty"`
	Authority  string  `json:"authority,omitempty"` // for a deadline: whose answer is missing
	At         string  `json:"at,omitempty"`        // when it happened (or the deadline day)
	Reason     string  `json:"reason,omitempty"`    // the reason category given
	URL        string  `json:"url,omitempty"`       // the page that shows it
}

// Dispatcher finds the events of each subscription and delivers them.
type Dispatcher struct {
	Store  *store.Store
	Hooks  []Hook
	Public string // the server's public URL, for links in events
	Client *http.Client
	Logger *slog.Logger
	Every  time.Duration    // how often it looks (default 1 s)
	Now    func() time.Time // the clock (default time.Now)
}

// Run looks for events and delivers them until ctx ends.
func (d *Dispatcher) Run(ctx context.Context) {
	if d.Client == nil {
		d.Client = &http.Client{Timeout: Timeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Every == 0 {
		d.Every = time.Second
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	t := time.NewTicker(d.Every)
	defer t.Stop()
	for {
		if err := d.Step(ctx); err != nil && ctx.Err() == nil {
			d.Logger.Warn("webhooks", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Step finds new events for every subscription and makes the deliveries
// that are due.
func (d *Dispatcher) Step(ctx context.Context) error {
	var errs []error
	for _, h := range d.Hooks {
		if err := d.find(ctx, h); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", h.ID, err))
		}
	}
	if err := d.deliver(ctx); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// find reads the records after the subscription's cursor and the watched
// deadlines that have passed. A new subscription starts at the end of the
// log: it is told of what happens from then on.
func (d *Dispatcher) find(ctx context.Context, h Hook) error {
	cursor, ok, err := d.Store.WebhookCursor(ctx, h.ID)
	if err != nil {
		return err
	}
	if !ok {
		n, err := d.Store.Applied(ctx)
		if err != nil {
			return err
		}
		return d.Store.AdvanceWebhook(ctx, h.ID, int64(n)-1, nil, nil)
	}
	now := d.Now()
	for {
		rows, err := d.Store.Records(ctx, cursor, batch)
		if err != nil || len(rows) == 0 {
			if err == nil {
				break
			}
			return err
		}
		var ds []store.Delivery
		watch := map[string]string{}
		for _, r := range rows {
			for _, ev := range d.events(h, r, watch) {
				ds = append(ds, d.delivery(h, ev, now))
			}
			cursor = int64(r.Index)
		}
		if err := d.Store.AdvanceWebhook(ctx, h.ID, cursor, ds, watch); err != nil {
			return err
		}
		if len(rows) < batch {
			break
		}
	}
	if !slices.Contains(h.Events, Deadline) {
		return nil
	}
	today := now.UTC().Format(time.DateOnly)
	due, err := d.Store.WatchesDue(ctx, h.ID, today)
	if err != nil {
		return err
	}
	for _, id := range due {
		c, err := d.Store.Convoy(ctx, id)
		if err != nil {
			return err
		}
		var ds []store.Delivery
		for _, a := range c.Authorities {
			if _, answered := c.Progress.Clearance[a]; answered {
				continue
			}
			ev := Event{ID: "deadline/" + c.ID + "/" + a, Event: Deadline, Convoy: c.ID, Authority: a, At: string(c.Filing.Deadline()), URL: d.link("/convoys/" + c.ID)}
			ds = append(ds, d.delivery(h, ev, now))
		}
		if err := d.Store.Unwatch(ctx, h.ID, c.ID, ds); err != nil {
			return err
		}
	}
	return nil
}

// events are the events one record gives a subscription.
func (d *Dispatcher) events(h Hook, r store.RecordRow, watch map[string]string) []Event {
	var rec record.Record
	if json.Unmarshal(r.Record, &rec) != nil {
		return nil
	}
	idx := r.Index
	base := Event{Record: rec.ID, LogIndex: &idx, Party: r.Party}
	switch rec.Type {
	case corridor.TypeCheckEvent:
		var e corridor.CheckpointEvent
		if json.Unmarshal(rec.Payload, &e) != nil {
			return nil
		}
		kind := map[string]string{corridor.EvHeld: Hold, corridor.EvRefused: Refusal}[e.Event]
		if kind == "" || !slices.Contains(h.Events, kind) {
			return nil
		}
		ev := base
		ev.ID, ev.Event, ev.Convoy, ev.Checkpoint, ev.At, ev.Reason = kind+"/"+rec.ID, kind, e.Convoy, e.Checkpoint, e.At.Format(time.RFC3339), e.ReasonCategory
		ev.URL = d.link("/convoys/" + e.Convoy)
		return []Event{ev}
	case corridor.TypeRouteClosed:
		var c corridor.RouteClosure
		if json.Unmarshal(rec.Payload, &c) != nil || !slices.Contains(h.Events, Closure) {
			return nil
		}
		ev := base
		ev.ID, ev.Event, ev.Route, ev.Checkpoint, ev.At, ev.Reason = Closure+"/"+rec.ID, Closure, c.Route, c.Checkpoint, string(c.From), c.ReasonCategory
		ev.URL = d.link("/routes/" + c.Route)
		return []Event{ev}
	case corridor.TypeConvoy:
		var c corridor.Convoy
		if json.Unmarshal(rec.Payload, &c) == nil && slices.Contains(h.Events, Deadline) {
			watch[c.ID] = string(c.Deadline())
		}
	}
	return nil
}

func (d *Dispatcher) link(path string) string {
	if d.Public == "" {
		return path
	}
	return strings.TrimRight(d.Public, "/") + path
}

func (d *Dispatcher) delivery(h Hook, ev Event, now time.Time) store.Delivery {
	body, _ := json.Marshal(ev)
	return store.Delivery{ID: h.ID + "/" + ev.ID, Webhook: h.ID, Event: ev.Event, Body: string(body), NextAt: now.UnixMilli(), Created: now.UnixMilli()}
}

// deliver makes every due attempt: a 2xx answer delivers; anything else
// is tried again after a backoff that doubles (2 s, 4 s, … up to an
// hour), and after MaxAttempts the delivery is marked failed.
func (d *Dispatcher) deliver(ctx context.Context) error {
	due, err := d.Store.DueDeliveries(ctx, d.Now().UnixMilli(), 100)
	if err != nil {
		return err
	}
	hooks := map[string]Hook{}
	for _, h := range d.Hooks {
		hooks[h.ID] = h
	}
	for _, dl := range due {
		h, ok := hooks[dl.Webhook]
		if !ok {
			continue // a subscription since removed
		}
		status, err := d.post(ctx, h, dl)
		if ctx.Err() != nil {
			return nil
		}
		dl.Attempts++
		dl.LastStatus, dl.LastError = status, ""
		if err != nil {
			dl.LastError = err.Error()
		}
		switch {
		case err == nil && status >= 200 && status < 300:
			dl.Status = "delivered"
		case dl.Attempts >= MaxAttempts:
			dl.Status = "failed"
		default:
			back := FirstBackoff << (dl.Attempts - 1)
			if back > MaxBackoff || back <= 0 {
				back = MaxBackoff
			}
			dl.NextAt = d.Now().Add(back).UnixMilli()
		}
		if err := d.Store.Attempted(ctx, dl); err != nil {
			return err
		}
		if dl.Status == "failed" {
			d.Logger.Warn("webhook delivery failed", "webhook", h.ID, "event", dl.ID, "attempts", dl.Attempts, "status", status, "err", dl.LastError)
		}
	}
	return nil
}

func (d *Dispatcher) post(ctx context.Context, h Hook, dl store.Delivery) (int, error) {
	body := []byte(dl.Body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "corridor-webhook")
	req.Header.Set(SignatureHeader, Sign(h.Secret, body))
	req.Header.Set(EventHeader, dl.Event)
	req.Header.Set(DeliveryHeader, strings.TrimPrefix(dl.ID, h.ID+"/"))
	resp, err := d.Client.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		return resp.StatusCode, fmt.Errorf("answered %s", resp.Status)
	}
	return resp.StatusCode, nil
}
