package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"corridor"
	"corridor/record"
)

// A checkpoint's operator changes from a day on: the checkpoint shows its
// history, a convoy planned after the day asks the new operator for
// clearance, one planned before keeps the one it asked, and registering
// the checkpoint again with another authority is refused.
func TestCheckpointOperatorChange(t *testing.T) {
	e := newEnv(t, true)
	change := sign(t, e.op, "change-askeran", corridor.TypeCPChange, 1, &corridor.CheckpointChange{
		Checkpoint: "askeran-pkc", From: "2023-09-01", Authority: "az-sbs", Note: "handed over"})
	if r := e.post(map[string]any{"records": []*record.Record{change}}); r.Status != http.StatusCreated {
		t.Fatalf("POST checkpoint.change: %d %s", r.Status, r.Body)
	}
	var cp struct {
		Authority string `json:"authority"`
		Changes   []struct {
			From      string `json:"from"`
			Authority string `json:"authority"`
		} `json:"changes"`
	}
	e.get("/api/v1/checkpoints/askeran-pkc", &cp)
	if cp.Authority != "ru-pkc" || len(cp.Changes) != 1 || cp.Changes[0].Authority != "az-sbs" || cp.Changes[0].From != "2023-09-01" {
		t.Errorf("GET the checkpoint: %+v; want registered to ru-pkc with one change to az-sbs from 2023-09-01", cp)
	}

	again := sign(t, e.op, "checkpoint-askeran-again", corridor.TypeCheckpoint, 1, &corridor.Checkpoint{
		ID: "askeran-pkc", Names: []corridor.Name{{Name: "Askeran", Lang: "en"}}, Route: "aghdam-khankendi", Place: "askeran-post", Authority: "az-sbs", From: "2020-11-10"})
	r := e.post(map[string]any{"records": []*record.Record{again}})
	if p := r.problem(t); r.Status != http.StatusConflict || p.Field != "records[0].payload.authority" || !strings.Contains(p.Detail, corridor.TypeCPChange) {
		t.Errorf("re-registering with another authority: %d %+v; want 409 at records[0].payload.authority pointing to %s", r.Status, p, corridor.TypeCPChange)
	}

	late := sign(t, e.keys["arcs"], "convoy-arcs-2023-09", corridor.TypeConvoy, 1, &corridor.Convoy{
		ID: "arcs-2023-09", Organisation: "arcs", Route: "aghdam-khankendi", Origin: "aghdam", Destination: "khankendi", Planned: "2023-09-05",
		Vehicles: []corridor.Vehicle{{Kind: "lorry"}}, Manifest: []corridor.Line{{Item: "wheat flour", Sector: "food", Quantity: 20, Unit: "t", Kg: 20000}}})
	if r := e.post(map[string]any{"records": []*record.Record{late}}); r.Status != http.StatusCreated {
		t.Fatalf("POST the September convoy: %d %s", r.Status, r.Body)
	}
	asked := func(convoy string) []string {
		var v struct {
			Items []struct {
				Authority string `json:"authority"`
			} `json:"items"`
		}
		e.get("/api/v1/convoys/"+convoy+"/clearance", &v)
		var out []string
		for _, it := range v.Items {
			out = append(out, it.Authority)
		}
		return out
	}
	if got := asked("arcs-2023-09"); len(got) != 1 || got[0] != "az-sbs" {
		t.Errorf("the convoy planned after the change asks %v, want [az-sbs]", got)
	}
	if got := asked("arcs-2023-08"); len(got) != 1 || got[0] != "ru-pkc" {
		t.Errorf("the convoy planned before the change asks %v, want [ru-pkc] as before", got)
	}

	// A change recorded after a convoy was filed, from a day before it is
	// planned, changes whom it asks: in the projection as in the rules.
	oct := sign(t, e.keys["arcs"], "convoy-arcs-2023-10", corridor.TypeConvoy, 1, &corridor.Convoy{
		ID: "arcs-2023-10", Organisation: "arcs", Route: "aghdam-khankendi", Origin: "aghdam", Destination: "khankendi", Planned: "2023-10-01",
		Vehicles: []corridor.Vehicle{{Kind: "lorry"}}, Manifest: []corridor.Line{{Item: "wheat flour", Sector: "food", Quantity: 20, Unit: "t", Kg: 20000}}})
	back := sign(t, e.op, "change-askeran-back", corridor.TypeCPChange, 1, &corridor.CheckpointChange{Checkpoint: "askeran-pkc", From: "2023-09-20", Authority: "ru-pkc"})
	for _, rec := range []*record.Record{oct, back} {
		if r := e.post(map[string]any{"records": []*record.Record{rec}}); r.Status != http.StatusCreated {
			t.Fatalf("POST %s: %d %s", rec.Type, r.Status, r.Body)
		}
	}
	if got := asked("arcs-2023-10"); len(got) != 1 || got[0] != "ru-pkc" {
		t.Errorf("after the second change the October convoy asks %v, want [ru-pkc]", got)
	}
	for _, c := range []struct {
		by     string
		status int
	}{{"az-sbs", http.StatusForbidden}, {"ru-pkc", http.StatusCreated}} {
		ans := sign(t, e.keys[c.by], "clearance-oct-"+c.by, corridor.TypeClearance, 1, &corridor.ClearanceAnswer{
			Convoy: "arcs-2023-10", Authority: c.by, Decision: corridor.Approved, At: mustTime(t, "2023-09-25T10:00:00+04:00")})
		if r := e.post(map[string]any{"records": []*record.Record{ans}}); r.Status != c.status {
			t.Errorf("%s approves the October convoy: %d %s, want %d", c.by, r.Status, r.Body, c.status)
		}
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// The clearance view lists a route's notified authorities apart: their
// state is notified until they acknowledge.
func TestClearanceViewListsNotified(t *testing.T) {
	e := newEnv(t, true)
	rt := sign(t, e.op, "route-notify-road", corridor.TypeRoute, 1, &corridor.Route{ID: "notify-road", Names: []corridor.Name{{Name: "Notify road", Lang: "en"}},
		Places: []string{"aghdam", "khankendi"}, ClearanceBy: []string{"ru-pkc"}, Notify: []string{"az-sbs"}})
	cv := sign(t, e.keys["arcs"], "convoy-notify-1", corridor.TypeConvoy, 1, &corridor.Convoy{
		ID: "notify-1", Organisation: "arcs", Route: "notify-road", Origin: "aghdam", Destination: "khankendi", Planned: "2023-09-05",
		Vehicles: []corridor.Vehicle{{Kind: "lorry"}}, Manifest: []corridor.Line{{Item: "wheat flour", Sector: "food", Quantity: 20, Unit: "t", Kg: 20000}}})
	for _, rec := range []*record.Record{rt, cv} {
		if r := e.post(map[string]any{"records": []*record.Record{rec}}); r.Status != http.StatusCreated {
			t.Fatalf("POST %s: %d %s", rec.Type, r.Status, r.Body)
		}
	}
	states := func() map[string]string {
		var v struct {
			Items []struct {
				Authority string `json:"authority"`
				State     string `json:"state"`
				Notified  bool   `json:"notified"`
			} `json:"items"`
		}
		e.get("/api/v1/convoys/notify-1/clearance", &v)
		out := map[string]string{}
		for _, it := range v.Items {
			out[it.Authority] = fmt.Sprintf("%s notified=%v", it.State, it.Notified)
		}
		return out
	}
	if got := states(); got["ru-pkc"] != "unanswered notified=false" || got["az-sbs"] != "notified notified=true" {
		t.Errorf("clearance view: %v; want ru-pkc asked (unanswered by now) and az-sbs notified", got)
	}
	ack := sign(t, e.keys["az-sbs"], "ack-notify-1", corridor.TypeClearance, 1, &corridor.ClearanceAnswer{
		Convoy: "notify-1", Authority: "az-sbs", Decision: corridor.Acknowledged, At: mustTime(t, "2023-09-01T10:00:00+04:00")})
	if r := e.post(map[string]any{"records": []*record.Record{ack}}); r.Status != http.StatusCreated {
		t.Fatalf("acknowledge: %d %s", r.Status, r.Body)
	}
	if got := states(); got["az-sbs"] != "acknowledged notified=true" {
		t.Errorf("after the acknowledgement: %v", got)
	}
}

// A checkpoint registered after a convoy was filed, in force by the day it
// is planned, on its way: its authority's clearance is needed, in the
// projection (what readers and the clearance queue see) as in the rules
// (which accept that authority's answer).
func TestCheckpointRegisteredAfterFiling(t *testing.T) {
	e := newEnv(t, true)
	convoy := sign(t, e.keys["arcs"], "convoy-arcs-2023-11", corridor.TypeConvoy, 1, &corridor.Convoy{
		ID: "arcs-2023-11", Organisation: "arcs", Route: "aghdam-khankendi", Origin: "aghdam", Destination: "khankendi", Planned: "2023-11-01",
		Vehicles: []corridor.Vehicle{{Kind: "lorry"}}, Manifest: []corridor.Line{{Item: "wheat flour", Sector: "food", Quantity: 20, Unit: "t", Kg: 20000}}})
	post := sign(t, e.op, "checkpoint-askeran-town", corridor.TypeCheckpoint, 1, &corridor.Checkpoint{
		ID: "askeran-town", Names: []corridor.Name{{Name: "Askeran town post", Lang: "en"}}, Place: "askeran", Authority: "az-sbs", From: "2023-10-01"})
	for _, rec := range []*record.Record{convoy, post} {
		if r := e.post(map[string]any{"records": []*record.Record{rec}}); r.Status != http.StatusCreated {
			t.Fatalf("POST %s: %d %s", rec.Type, r.Status, r.Body)
		}
	}
	var v struct {
		Items []struct {
			Authority string `json:"authority"`
			State     string `json:"state"`
		} `json:"items"`
	}
	e.get("/api/v1/convoys/arcs-2023-11/clearance", &v)
	got := fmt.Sprint(v.Items)
	if !strings.Contains(got, "az-sbs") || !strings.Contains(got, "ru-pkc") {
		t.Fatalf("clearance of a convoy whose way gained a checkpoint after it was filed: %s; want ru-pkc and az-sbs", got)
	}
	answer := sign(t, e.keys["az-sbs"], "clearance-arcs-2023-11-az", corridor.TypeClearance, 1, &corridor.ClearanceAnswer{
		Convoy: "arcs-2023-11", Authority: "az-sbs", Decision: corridor.Approved, At: time.Date(2023, 10, 20, 10, 0, 0, 0, time.UTC)})
	if r := e.post(map[string]any{"records": []*record.Record{answer}}); r.Status != http.StatusCreated {
		t.Fatalf("the new checkpoint's authority answers: %d %s", r.Status, r.Body)
	}
	e.get("/api/v1/convoys/arcs-2023-11/clearance", &v)
	if got := fmt.Sprint(v.Items); !strings.Contains(got, "{az-sbs approved}") {
		t.Errorf("after its answer: %s", got)
	}
}
