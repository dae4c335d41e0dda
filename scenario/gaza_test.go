package scenario_test

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"testing"
	"time"

	"corridor"
	"corridor/internal/testdb"
	"corridor/report"
	"corridor/scenario"
	"corridor/store"
)

// TestGazaScenario loads the Gaza file into a fresh data folder and reads
// back what a user sees: every record accepted, the road of the refused
// convoy not open on the day of the refusal, claims judged as the records
// say, coverage of the settlement the refused convoy was bound for, and
// nothing of the reference scenario.
func TestGazaScenario(t *testing.T) {
	for _, b := range testdb.Backends(t) {
		t.Run(b.Name, func(t *testing.T) { gazaRun(t, b.DSN(t)) })
	}
}

func gazaRun(t *testing.T, dsn string) {
	ctx := context.Background()
	sc, err := scenario.Parse(must[[]byte](t)(os.ReadFile("gaza-2024.json")))
	if err != nil {
		t.Fatal(err)
	}
	n := testdb.NewNode(t, dsn)
	defer n.Close(ctx)
	dir := n.Dir
	before := n.Size() // the operator's own records, made by Init
	signed, err := sc.SignFor(dir, n.Config.Operator)
	if err != nil {
		t.Fatal(err)
	}
	if err := signed.SubmitTo(ctx, n.App); err != nil {
		t.Fatalf("a record of the scenario was refused: %v", err)
	}
	st := n.Store()

	// Every record is in the log and in the projection.
	want := before + uint64(len(sc.Parties)+len(sc.Records))
	if got := n.Size(); got != want {
		t.Errorf("the log holds %d records, want %d (%d before, %d parties, %d records)", got, want, before, len(sc.Parties), len(sc.Records))
	}
	if applied, err := st.Applied(ctx); err != nil || applied != want {
		t.Errorf("the projection applied %d records (%v), want %d", applied, err, want)
	}

	// The refusal at a checkpoint: its convoy's road is not open that day.
	steps := stepsByID(t, sc)
	refusal := only(t, sc, func(s scenario.Step, p map[string]any) bool {
		return s.Type == corridor.TypeCheckEvent && p["event"] == corridor.EvRefused
	})
	ev := payload(t, steps[refusal])
	convoyID := ev["convoy"].(string)
	filing := payload(t, steps[only(t, sc, func(s scenario.Step, p map[string]any) bool {
		return s.Type == corridor.TypeConvoy && p["id"] == convoyID
	})])
	route := filing["route"].(string)
	day := string(corridor.DayOf(mustTime(t, ev["at"].(string))))
	rep, err := report.RouteStatusOf(ctx, st, route, day, day)
	if err != nil {
		t.Fatal(err)
	}
	cargo := trafficOf(t, rep, corridor.Cargo)
	if len(cargo.Days) != 1 {
		t.Fatalf("route %s on %s: %d days of status", route, day, len(cargo.Days))
	}
	refusedAt, err := st.RecordByID(ctx, refusal)
	if err != nil {
		t.Fatal(err)
	}
	if d := cargo.Days[0]; d.Status == corridor.Open || d.Status != corridor.Blocked || !slices.Contains(d.Records, refusedAt.Index) {
		t.Errorf("route %s for cargo on %s: %s decided by %v; want blocked, decided among others by the refusal at log index %d", route, day, d.Status, d.Records, refusedAt.Index)
	}

	// Claims: the one linked to the refusal asserts the road blocked that
	// day, which the refusal bears out; the one that asserts a road open
	// has only a statement and an opening behind it, neither of them a
	// passage, so the records give no evidence either way.
	claims, err := report.ClaimsPage(ctx, st, store.Page{After: -1, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	link := payload(t, steps[only(t, sc, func(s scenario.Step, p map[string]any) bool {
		return s.Type == corridor.TypeClaimLink && p["record"] == refusal
	})])
	c := claimOf(t, claims, link["claim"].(string))
	if c.Assertion == nil || c.Assertion.Kind != corridor.AssertBlocked || c.Assertion.Route != route {
		t.Fatalf("claim %s asserts %+v; want the road %s blocked", c.ID, c.Assertion, route)
	}
	if c.Verdict == nil || c.Verdict.Verdict != corridor.Consistent || !slices.Contains(c.Verdict.Records, refusedAt.Index) {
		t.Errorf("claim %s: verdict %+v; want consistent, decided among others by the refusal at log index %d", c.ID, c.Verdict, refusedAt.Index)
	}
	opened := 0
	for _, c := range claims {
		if c.Assertion == nil || c.Assertion.Kind != corridor.AssertOpen {
			continue
		}
		opened++
		if c.Verdict == nil || c.Verdict.Verdict != corridor.NoEvidence {
			t.Errorf("claim %s that route %s is open: verdict %+v; want no evidence (no passage is recorded in its period)", c.ID, c.Assertion.Route, c.Verdict)
		}
	}
	if opened == 0 {
		t.Error("no claim asserts a road open")
	}

	// Coverage: the refused convoy's load counts as refused for the area
	// its destination serves.
	area := payload(t, steps[only(t, sc, func(s scenario.Step, p map[string]any) bool { return s.Type == corridor.TypeArea })])
	if !slices.Contains(anyStrings(area["places"]), filing["destination"].(string)) {
		t.Fatalf("the area %v does not serve the refused convoy's destination %v", area["places"], filing["destination"])
	}
	var kg float64
	for _, l := range filing["manifest"].([]any) {
		kg += l.(map[string]any)["kg"].(float64)
	}
	cov, err := report.CoverageOf(ctx, st, area["place"].(string), day, day, 0)
	if err != nil {
		t.Fatal(err)
	}
	// What came by other ways than the road that day (an air drop) is
	// delivered, and counted under its mode, not as road aid.
	byMode := map[string]float64{}
	for _, s := range sc.Records {
		pl := payload(t, s)
		if s.Type != corridor.TypeMove || pl["event"] != corridor.MvDelivered || string(corridor.DayOf(mustTime(t, pl["at"].(string)))) != day {
			continue
		}
		f := payload(t, steps[only(t, sc, func(x scenario.Step, p map[string]any) bool {
			return x.Type == corridor.TypeConvoy && p["id"] == pl["convoy"]
		})])
		mode, _ := f["mode"].(string)
		if mode == "" {
			mode = corridor.ModeRoad
		}
		for _, r := range pl["received"].([]any) {
			byMode[mode] += r.(map[string]any)["kg"].(float64)
		}
	}
	if byMode[corridor.ModeAirDrop] == 0 {
		t.Fatalf("no air drop is delivered on %s: the scenario no longer has aid by another way than the road", day)
	}
	if cov.Population <= 0 || cov.Totals.RefusedKg != kg || cov.Totals.DeliveredKgByMode[corridor.ModeRoad] != 0 ||
		cov.Totals.DeliveredKgByMode[corridor.ModeAirDrop] != byMode[corridor.ModeAirDrop] || cov.Totals.DeliveredKg != byMode[corridor.ModeAirDrop] {
		t.Errorf("coverage of %s on %s: population %d, refused %g kg, delivered %g kg by mode %v; want a population, %g kg refused, none by road and %g kg by air drop",
			cov.Place, day, cov.Population, cov.Totals.RefusedKg, cov.Totals.DeliveredKg, cov.Totals.DeliveredKgByMode, kg, byMode[corridor.ModeAirDrop])
	}

	// A convoy whose way follows parts of several routes: its clearance
	// goes to the operators of the checkpoints on its way, in the order it
	// meets them, and a passage at a checkpoint is evidence on the route
	// it went on by, not on the other routes through that place.
	wayConvoy := only(t, sc, func(s scenario.Step, p map[string]any) bool { return s.Type == corridor.TypeConvoy && p["way"] != nil })
	wc := payload(t, steps[wayConvoy])
	way := anyStrings(wc["way"])
	routeOf := map[string][]string{} // route id -> places
	var wantAuth []string
	for _, p := range way {
		for _, s := range sc.Records {
			pl := payload(t, s)
			switch {
			case s.Type == corridor.TypeRoute && routeOf[pl["id"].(string)] == nil:
				routeOf[pl["id"].(string)] = anyStrings(pl["places"])
			case s.Type == corridor.TypeCheckpoint && pl["place"] == p && !slices.Contains(wantAuth, pl["authority"].(string)):
				wantAuth = append(wantAuth, pl["authority"].(string))
			}
		}
	}
	if got := must[[]string](t)(st.ConvoyAuthorities(ctx, wc["id"].(string))); !slices.Equal(got, wantAuth) || len(got) < 2 {
		t.Errorf("convoy %s along %v: clearance goes to %v, want %v (the operators on its way)", wc["id"], way, got, wantAuth)
	}
	joins := func(places []string, a, b string) bool {
		i := slices.Index(places, a)
		return i >= 0 && ((i+1 < len(places) && places[i+1] == b) || (i > 0 && places[i-1] == b))
	}
	passages := 0
	for _, s := range sc.Records {
		pl := payload(t, s)
		if s.Type != corridor.TypeCheckEvent || pl["convoy"] != wc["id"] || pl["event"] != corridor.EvPassed {
			continue
		}
		var place string
		for _, c := range sc.Records {
			if cp := payload(t, c); c.Type == corridor.TypeCheckpoint && cp["id"] == pl["checkpoint"] {
				place = cp["place"].(string)
			}
		}
		next := way[slices.Index(way, place)+1]
		rec := must[store.RecordRow](t)(st.RecordByID(ctx, s.ID))
		day := string(corridor.DayOf(mustTime(t, pl["at"].(string))))
		for id, places := range routeOf {
			if !slices.Contains(places, place) {
				continue
			}
			cargo := trafficOf(t, must[report.RouteReport](t)(report.RouteStatusOf(ctx, st, id, day, day)), corridor.Cargo)
			has := len(cargo.Days) == 1 && slices.Contains(cargo.Days[0].Records, rec.Index)
			if on := joins(places, place, next); on != has {
				t.Errorf("passage %s at %s on to %s: on route %s's status of %s is %v, want %v", s.ID, place, next, id, day, has, on)
			}
			passages++
		}
	}
	if passages < 3 {
		t.Errorf("only %d route-days checked for the passages of convoy %s", passages, wc["id"])
	}

	// Nothing of the reference scenario: no party, place, route or
	// checkpoint id of it is registered here.
	ref := referenceIDs(t)
	var ids []string
	for _, p := range must[[]store.PartyRow](t)(st.Parties(ctx)) {
		ids = append(ids, p.ID)
	}
	for _, p := range must[[]store.PlaceRow](t)(st.Places(ctx)) {
		ids = append(ids, p.ID)
	}
	for _, r := range must[[]store.RouteRow](t)(st.Routes(ctx)) {
		ids = append(ids, r.ID)
	}
	for _, c := range must[[]store.CheckpointRow](t)(st.Checkpoints(ctx, "")) {
		ids = append(ids, c.ID)
	}
	if len(ids) < len(sc.Parties) {
		t.Fatalf("only %d ids registered", len(ids))
	}
	for _, id := range ids {
		if ref[id] {
			t.Errorf("id %q of the reference scenario is registered by the Gaza scenario", id)
		}
	}
}

// must unwraps a value and an error, failing the test on the error.
func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func stepsByID(t *testing.T, sc *scenario.Scenario) map[string]scenario.Step {
	out := map[string]scenario.Step{}
	for _, s := range sc.Records {
		if _, ok := out[s.ID]; ok {
			t.Fatalf("record id %s twice in the file", s.ID)
		}
		out[s.ID] = s
	}
	return out
}

func payload(t *testing.T, s scenario.Step) map[string]any {
	t.Helper()
	var p map[string]any
	if err := json.Unmarshal(s.Payload, &p); err != nil {
		t.Fatalf("record %s: %v", s.ID, err)
	}
	return p
}

// only returns the id of the one record that matches.
func only(t *testing.T, sc *scenario.Scenario, match func(scenario.Step, map[string]any) bool) string {
	t.Helper()
	var ids []string
	for _, s := range sc.Records {
		if match(s, payload(t, s)) {
			ids = append(ids, s.ID)
		}
	}
	if len(ids) != 1 {
		t.Fatalf("%d records match (%v), want one", len(ids), ids)
	}
	return ids[0]
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func trafficOf(t *testing.T, rep report.RouteReport, traffic string) report.TrafficStatus {
	t.Helper()
	for _, ts := range rep.Traffic {
		if ts.Traffic == traffic {
			return ts
		}
	}
	t.Fatalf("route %s has no status for %s", rep.Route, traffic)
	return report.TrafficStatus{}
}

func claimOf(t *testing.T, claims []report.ClaimView, id string) report.ClaimView {
	t.Helper()
	for _, c := range claims {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("claim %s is not listed", id)
	return report.ClaimView{}
}

func anyStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// referenceIDs collects the party, place, route and checkpoint ids of the
// reference scenario.
func referenceIDs(t *testing.T) map[string]bool {
	ref := scenario.Reference()
	out := map[string]bool{}
	for _, p := range ref.Parties {
		out[p.ID] = true
	}
	for _, s := range ref.Records {
		switch s.Type {
		case corridor.TypePlace, corridor.TypeRoute, corridor.TypeCheckpoint:
			out[payload(t, s)["id"].(string)] = true
		}
	}
	if len(out) == 0 {
		t.Fatal("the reference scenario names no ids")
	}
	return out
}
