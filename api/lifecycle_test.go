package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"corridor"
	"corridor/api"
	"corridor/record"
)

// road is a test route with two checkpoints run by two authorities:
// goris → kornidzor (t-cp1, az-sbs) → lachin (t-cp2, ru-pkc) → khankendi.
func road(t *testing.T, e *env) {
	t.Helper()
	e.mustPost(sign(t, e.op, "road", corridor.TypeRoute, 1, &corridor.Route{ID: "test-road",
		Names: []corridor.Name{{Name: "Test road", Lang: "en"}}, Places: []string{"goris", "kornidzor", "lachin", "khankendi"}}))
	e.mustPost(sign(t, e.op, "t-cp1", corridor.TypeCheckpoint, 1, &corridor.Checkpoint{ID: "t-cp1", Route: "test-road", Place: "kornidzor",
		Authority: "az-sbs", Names: []corridor.Name{{Name: "Test checkpoint 1", Lang: "en"}}}))
	e.mustPost(sign(t, e.op, "t-cp2", corridor.TypeCheckpoint, 1, &corridor.Checkpoint{ID: "t-cp2", Route: "test-road", Place: "lachin",
		Authority: "ru-pkc", Names: []corridor.Name{{Name: "Test checkpoint 2", Lang: "en"}}}))
}

func (e *env) mustPost(r *record.Record) uint64 {
	e.tb.Helper()
	resp := e.post(r)
	if resp.Status != http.StatusCreated {
		e.tb.Fatalf("POST %s %s: %d %s", r.Type, r.ID, resp.Status, resp.Body)
	}
	var res results
	if err := jsonUnmarshal(resp.Body, &res); err != nil {
		e.tb.Fatal(err)
	}
	return res.Results[0].Index
}

// by signs a payload with the key of party.
func (e *env) by(party, id, typ string, payload any) *record.Record {
	e.tb.Helper()
	k := e.keys[party]
	if k == nil {
		e.tb.Fatalf("no key for %s", party)
	}
	return sign(e.tb, k, id, typ, 1, payload)
}

var t0 = time.Date(2023, 9, 1, 8, 0, 0, 0, time.FixedZone("+04", 4*3600))

func hour(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }

func testConvoy(id, org string) *corridor.Convoy {
	return &corridor.Convoy{ID: id, Organisation: org, Route: "test-road", Origin: "goris", Destination: "khankendi", Planned: "2023-09-01",
		Vehicles: []corridor.Vehicle{{Kind: "lorry"}, {Kind: "lorry"}},
		Manifest: []corridor.Line{
			{Item: "wheat flour", Sector: "food", Quantity: 20, Unit: "t", Kg: 20000},
			{Item: "generators", Sector: "energy", Quantity: 4, Unit: "units", Kg: 1600}}}
}

func (e *env) convoyView(id string) api.ConvoyView {
	e.tb.Helper()
	var v api.ConvoyView
	e.get("/api/v1/convoys/"+id, &v)
	return v
}

// TestConvoyLifecycleOverHTTP drives one convoy from filing to delivery
// through the API and checks every state and the signed history.
func TestConvoyLifecycleOverHTTP(t *testing.T) {
	e := newEnv(t, true)
	road(t, e)
	type step struct {
		party, typ string
		payload    any
		status     string
		checkpoint string
	}
	steps := []step{
		{"fr-cities", corridor.TypeConvoy, testConvoy("life", "fr-cities"), "filed", ""},
		{"az-sbs", corridor.TypeClearance, &corridor.ClearanceAnswer{Convoy: "life", Authority: "az-sbs", Decision: corridor.Approved, At: hour(0)}, "filed", ""},
		{"ru-pkc", corridor.TypeClearance, &corridor.ClearanceAnswer{Convoy: "life", Authority: "ru-pkc", Decision: corridor.ApprovedWithConditions, Conditions: "escort from Lachin", At: hour(1)}, "filed", ""},
		{"fr-cities", corridor.TypeMove, &corridor.ConvoyMove{Convoy: "life", Event: corridor.MvDeparted, At: hour(2)}, "departed", ""},
		{"az-sbs", corridor.TypeCheckEvent, &corridor.CheckpointEvent{Convoy: "life", Checkpoint: "t-cp1", Event: corridor.EvArrived, At: hour(3)}, "at-checkpoint", "t-cp1"},
		{"az-sbs", corridor.TypeCheckEvent, &corridor.CheckpointEvent{Convoy: "life", Checkpoint: "t-cp1", Event: corridor.EvPassedLess, At: hour(4),
			Removed: []corridor.LineQty{{Line: 1, Quantity: 2, Kg: 800}}, ReasonCategory: "prohibited-items", Reason: "generators not on the agreed list"}, "en-route", "t-cp1"},
		{"ru-pkc", corridor.TypeCheckEvent, &corridor.CheckpointEvent{Convoy: "life", Checkpoint: "t-cp2", Event: corridor.EvHeld, At: hour(5),
			ReasonCategory: "security", Reason: "road closed overnight", ExpectedRelease: "2023-09-02"}, "held", "t-cp2"},
		{"ru-pkc", corridor.TypeCheckEvent, &corridor.CheckpointEvent{Convoy: "life", Checkpoint: "t-cp2", Event: corridor.EvPassed, At: hour(20)}, "en-route", "t-cp2"},
		{"fr-cities", corridor.TypeMove, &corridor.ConvoyMove{Convoy: "life", Event: corridor.MvDelivered, At: hour(23),
			Received: []corridor.LineQty{{Line: 0, Quantity: 20, Kg: 20000}, {Line: 1, Quantity: 2, Kg: 800}}}, "delivered", "t-cp2"},
		{"monitor", corridor.TypeConfirm, &corridor.DeliveryConfirm{Convoy: "life", At: hour(26)}, "delivered", "t-cp2"},
	}
	var indexes []uint64
	for i, s := range steps {
		idx := e.mustPost(e.by(s.party, fmt.Sprintf("life-%d", i), s.typ, s.payload))
		indexes = append(indexes, idx)
		v := e.convoyView("life")
		if v.Status != s.status || v.Checkpoint != s.checkpoint {
			t.Fatalf("after step %d (%s by %s): status %s at %q, want %s at %q", i, s.typ, s.party, v.Status, v.Checkpoint, s.status, s.checkpoint)
		}
		if v.Updated != idx {
			t.Errorf("after step %d: updated_index %d, want %d", i, v.Updated, idx)
		}
	}
	v := e.convoyView("life")
	if len(v.Events) != len(steps) {
		t.Fatalf("history has %d events, want %d", len(v.Events), len(steps))
	}
	for i, ev := range v.Events {
		if ev.LogIndex != indexes[i] || ev.Party != steps[i].party || ev.Type != steps[i].typ {
			t.Errorf("event %d: %s by %s at %d, want %s by %s at %d", i, ev.Type, ev.Party, ev.LogIndex, steps[i].typ, steps[i].party, indexes[i])
		}
		// Each event's log index holds the record the event says it does.
		var row struct {
			Index uint64 `json:"index"`
			Party string `json:"party"`
		}
		e.get(fmt.Sprintf("/api/v1/records/life-%d", i), &row)
		if row.Index != ev.LogIndex || row.Party != ev.Party {
			t.Errorf("record life-%d: index %d by %s; history says %d by %s", i, row.Index, row.Party, ev.LogIndex, ev.Party)
		}
	}
	if hasFlag(v, corridor.FlagNoAgreement) || !hasFlag(v, corridor.FlagConfirmed) {
		t.Errorf("flags %v: want confirmed, and no departed-without-agreement (both authorities agreed)", v.Flags)
	}
	if got := v.Progress.Passed; strings.Join(got, ",") != "t-cp1,t-cp2" {
		t.Errorf("passed %v", got)
	}
	for _, c := range v.Clearance {
		want := map[string]string{"az-sbs": corridor.Approved, "ru-pkc": corridor.ApprovedWithConditions}[c.Authority]
		if c.State != want {
			t.Errorf("clearance of %s: %s, want %s", c.Authority, c.State, want)
		}
	}
	// The checkpoint queue no longer lists the convoy; it listed it while held.
	var cp api.CheckpointView
	e.get("/api/v1/checkpoints/t-cp2", &cp)
	if len(cp.Queue) != 0 {
		t.Errorf("t-cp2 queue after passing: %+v", cp.Queue)
	}
}

func hasFlag(v api.ConvoyView, flag string) bool { return slices.Contains(v.Flags, flag) }

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// tokenFor returns a bearer token of party.
func (e *env) tokenFor(party string) string {
	e.tb.Helper()
	tok, _, err := e.node.Store().IssueToken(context.Background(), party, "test")
	if err != nil {
		e.tb.Fatal(err)
	}
	return tok
}

// doWithToken sends a request with exactly the bearer token given (none
// for ""), bypassing the env's automatic tokens.
func (e *env) doWithToken(method, path string, body []byte, token string) response {
	e.tb.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		e.tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.tb.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Type: resp.Header.Get("Content-Type"), Body: data}
}

// TestConvoyInvariantsOverHTTP: each rule of the lifecycle answers 4xx
// naming the field, and writes nothing.
func TestConvoyInvariantsOverHTTP(t *testing.T) {
	e := newEnv(t, true)
	road(t, e)
	e.mustPost(e.by("fr-cities", "inv-file", corridor.TypeConvoy, testConvoy("inv", "fr-cities")))
	e.mustPost(e.by("fr-cities", "inv-dep", corridor.TypeMove, &corridor.ConvoyMove{Convoy: "inv", Event: corridor.MvDeparted, At: hour(2)}))
	e.mustPost(e.by("az-sbs", "inv-pass1", corridor.TypeCheckEvent, &corridor.CheckpointEvent{Convoy: "inv", Checkpoint: "t-cp1", Event: corridor.EvPassedLess, At: hour(3),
		Removed: []corridor.LineQty{{Line: 0, Quantity: 5, Kg: 5000}}, ReasonCategory: "inspection", Reason: "damaged sacks"}))

	cases := []struct {
		name, party, typ string
		payload          any
		status           int
		code, field      string
	}{
		{"event at a checkpoint not on the route", "az-sbs", corridor.TypeCheckEvent,
			&corridor.CheckpointEvent{Convoy: "inv", Checkpoint: "hakari", Event: corridor.EvArrived, At: hour(4)}, 409, "conflict", "records[0].payload.checkpoint"},
		{"decision at another authority-s checkpoint", "az-sbs", corridor.TypeCheckEvent,
			&corridor.CheckpointEvent{Convoy: "inv", Checkpoint: "t-cp2", Event: corridor.EvPassed, At: hour(4)}, 403, "forbidden", "records[0].payload.checkpoint"},
		{"delivery of more than loaded less removed", "fr-cities", corridor.TypeMove,
			&corridor.ConvoyMove{Convoy: "inv", Event: corridor.MvDelivered, At: hour(5), Received: []corridor.LineQty{{Line: 0, Quantity: 16, Kg: 16000}}}, 409, "conflict", "records[0].payload.received[0]"},
		{"time earlier than the previous event", "ru-pkc", corridor.TypeCheckEvent,
			&corridor.CheckpointEvent{Convoy: "inv", Checkpoint: "t-cp2", Event: corridor.EvArrived, At: hour(1)}, 409, "conflict", "records[0].payload.at"},
		{"a second organisation moving the convoy", "arcs", corridor.TypeMove,
			&corridor.ConvoyMove{Convoy: "inv", Event: corridor.MvReturned, At: hour(6)}, 403, "forbidden", "records[0].payload.convoy"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := e.logSize()
			r := e.post(e.by(c.party, "inv-"+strings.ReplaceAll(c.name, " ", "-"), c.typ, c.payload))
			wantProblem(t, e, r, before, c.status, c.code, c.field)
		})
	}

	// Out of route order: a second convoy, departed, recorded first at t-cp2.
	e.mustPost(e.by("fr-cities", "ooo-file", corridor.TypeConvoy, testConvoy("ooo", "fr-cities")))
	e.mustPost(e.by("fr-cities", "ooo-dep", corridor.TypeMove, &corridor.ConvoyMove{Convoy: "ooo", Event: corridor.MvDeparted, At: hour(2)}))
	before := e.logSize()
	skip := &corridor.CheckpointEvent{Convoy: "ooo", Checkpoint: "t-cp2", Event: corridor.EvPassed, At: hour(3)}
	wantProblem(t, e, e.post(e.by("ru-pkc", "ooo-1", corridor.TypeCheckEvent, skip)), before, 409, "conflict", "records[0].payload.checkpoint")
	skip.OutOfOrder = "convoy took the bypass around Kornidzor (reported by the driver)"
	e.mustPost(e.by("ru-pkc", "ooo-2", corridor.TypeCheckEvent, skip))
	if v := e.convoyView("ooo"); !hasFlag(v, corridor.FlagOutOfOrder) {
		t.Errorf("passing out of order with a reason: flags %v, want %s", v.Flags, corridor.FlagOutOfOrder)
	}
}

// TestRacingDecisions: two conflicting decisions on one convoy posted at
// once; exactly one is written and the convoy is in the state it says.
func TestRacingDecisions(t *testing.T) {
	e := newEnv(t, true)
	road(t, e)
	for round := 0; round < 5; round++ {
		id := fmt.Sprintf("race-%d", round)
		e.mustPost(e.by("fr-cities", id+"-file", corridor.TypeConvoy, testConvoy(id, "fr-cities")))
		e.mustPost(e.by("fr-cities", id+"-dep", corridor.TypeMove, &corridor.ConvoyMove{Convoy: id, Event: corridor.MvDeparted, At: hour(2)}))
		before := e.logSize()
		recs := []*record.Record{
			e.by("az-sbs", id+"-pass", corridor.TypeCheckEvent, &corridor.CheckpointEvent{Convoy: id, Checkpoint: "t-cp1", Event: corridor.EvPassed, At: hour(3)}),
			e.by("az-sbs", id+"-refuse", corridor.TypeCheckEvent, &corridor.CheckpointEvent{Convoy: id, Checkpoint: "t-cp1", Event: corridor.EvRefused, At: hour(3),
				ReasonCategory: "documentation", Reason: "papers incomplete"}),
		}
		statuses := make([]int, len(recs))
		var wg sync.WaitGroup
		for i, r := range recs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				statuses[i] = e.post(r).Status
			}()
		}
		wg.Wait()
		won := -1
		for i, s := range statuses {
			switch s {
			case http.StatusCreated:
				if won >= 0 {
					t.Fatalf("round %d: both passed and refused were written", round)
				}
				won = i
			case http.StatusConflict:
			default:
				t.Fatalf("round %d: record %d answered %d", round, i, s)
			}
		}
		if won < 0 {
			t.Fatalf("round %d: neither decision was written", round)
		}
		if n := e.logSize() - before; n != 1 {
			t.Fatalf("round %d: the log grew by %d, want 1", round, n)
		}
		v := e.convoyView(id)
		want := []string{"en-route", "refused"}[won]
		if v.Status != want || len(v.Events) != 3 || v.Events[2].Event != []string{corridor.EvPassed, corridor.EvRefused}[won] {
			t.Errorf("round %d: %s won, but the convoy is %s with %d events", round, recs[won].ID, v.Status, len(v.Events))
		}
	}
}

// TestTokenMustMatchSigner: a member of one party cannot post a record
// signed by another party's key, even a valid one.
func TestTokenMustMatchSigner(t *testing.T) {
	e := newEnv(t, true)
	rec := statementRecord(t, e.keys["monitor"], "s-stolen")
	before := e.logSize()
	tok := e.tokenFor("arcs")
	r := e.doWithToken(http.MethodPost, "/api/v1/records", mustJSON(t, rec), tok)
	wantProblem(t, e, r, before, 403, "forbidden", "records[0].key")
	r = e.doWithToken(http.MethodPost, "/api/v1/records", mustJSON(t, rec), "")
	wantProblem(t, e, r, before, 401, "unauthenticated", "Authorization")
	r = e.doWithToken(http.MethodPost, "/api/v1/records", mustJSON(t, rec), "corridor_not-a-token")
	wantProblem(t, e, r, before, 401, "unauthenticated", "Authorization")
}

// TestScenarioConvoys: the reference scenario's three convoys, as
// GET /api/v1/convoys shows them, took the steps DESIGN.md describes.
func TestScenarioConvoys(t *testing.T) {
	e := newEnv(t, true)
	var list struct{ Items []api.ConvoyView }
	e.get("/api/v1/convoys", &list)
	want := map[string]struct{ status, checkpoint, day, org string }{
		"am-2023-07":   {"held", "hakari", "2023-07-26", "am-gov"},
		"arcs-2023-08": {"held", "askeran-pkc", "2023-08-29", "arcs"},
		"fr-2023-08":   {"refused", "hakari", "2023-08-30", "fr-cities"},
	}
	if len(list.Items) != len(want) {
		t.Fatalf("%d convoys, want %d", len(list.Items), len(want))
	}
	for _, c := range list.Items {
		w, ok := want[c.ID]
		if !ok {
			t.Errorf("unexpected convoy %s", c.ID)
			continue
		}
		at, err := time.Parse(time.RFC3339, c.LastAt)
		if err != nil {
			t.Fatalf("%s: last_at %q: %v", c.ID, c.LastAt, err)
		}
		if c.Status != w.status || c.Checkpoint != w.checkpoint || at.In(time.FixedZone("+04", 4*3600)).Format(time.DateOnly) != w.day || c.Organisation != w.org {
			t.Errorf("%s: %s at %s on %s by %s; want %s at %s on %s by %s", c.ID, c.Status, c.Checkpoint, at.Format(time.DateOnly), c.Organisation, w.status, w.checkpoint, w.day, w.org)
		}
	}
	fr := e.convoyView("fr-2023-08")
	if !hasFlag(fr, corridor.FlagNoAgreement) {
		t.Errorf("the French convoy's flags %v lack %s", fr.Flags, corridor.FlagNoAgreement)
	}
	for _, c := range fr.Clearance {
		if c.Authority == "az-sbs" && c.State != corridor.ClearanceUnanswered {
			t.Errorf("the French convoy's clearance by az-sbs is %s, want unanswered", c.State)
		}
	}
	// The Hakari bridge checkpoint's queue holds the Armenian convoy.
	var cp api.CheckpointView
	e.get("/api/v1/checkpoints/hakari", &cp)
	if len(cp.Queue) != 1 || cp.Queue[0].Convoy != "am-2023-07" || cp.Queue[0].Status != "held" {
		t.Errorf("hakari queue %+v, want the held am-2023-07", cp.Queue)
	}
}

// TestQueueFollowsTheConvoysWay: a convoy that sets out past a checkpoint
// is approaching the next checkpoint on its own way, not the one behind it.
func TestQueueFollowsTheConvoysWay(t *testing.T) {
	e := newEnv(t, true)
	road(t, e)
	c := testConvoy("mid-way", "fr-cities")
	c.Origin = "lachin" // t-cp2's place: t-cp1 at kornidzor is behind it
	e.mustPost(e.by("fr-cities", "mid-file", corridor.TypeConvoy, c))
	e.mustPost(e.by("fr-cities", "mid-dep", corridor.TypeMove, &corridor.ConvoyMove{Convoy: "mid-way", Event: corridor.MvDeparted, At: hour(1)}))
	approaching := func(cp string) bool {
		var v api.CheckpointView
		e.get("/api/v1/checkpoints/"+cp, &v)
		for _, q := range v.Approaching {
			if q.Convoy == "mid-way" {
				return true
			}
		}
		return false
	}
	if approaching("t-cp1") || !approaching("t-cp2") {
		t.Errorf("approaching t-cp1: %v, t-cp2: %v; want only t-cp2", approaching("t-cp1"), approaching("t-cp2"))
	}
}
