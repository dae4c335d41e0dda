package scenario_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"corridor"
	"corridor/app"
	"corridor/internal/testdb"
	"corridor/record"
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

	// Coverage: the refused convoy's load counts as refused for every area
	// its destination serves.
	var areas []map[string]any
	for _, s := range sc.Records {
		if a := payload(t, s); s.Type == corridor.TypeArea && slices.Contains(anyStrings(a["places"]), filing["destination"].(string)) {
			areas = append(areas, a)
		}
	}
	if len(areas) == 0 {
		t.Fatalf("no area serves the refused convoy's destination %v", filing["destination"])
	}
	var kg float64
	for _, l := range filing["manifest"].([]any) {
		kg += l.(map[string]any)["kg"].(float64)
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
	for _, area := range areas {
		cov, err := report.CoverageOf(ctx, st, area["place"].(string), day, day, 0)
		if err != nil {
			t.Fatal(err)
		}
		if cov.Population <= 0 || cov.Totals.RefusedKg != kg || cov.Totals.DeliveredKgByMode[corridor.ModeRoad] != 0 ||
			cov.Totals.DeliveredKgByMode[corridor.ModeAirDrop] != byMode[corridor.ModeAirDrop] || cov.Totals.DeliveredKg != byMode[corridor.ModeAirDrop] {
			t.Errorf("coverage of %s on %s: population %d, refused %g kg, delivered %g kg by mode %v; want a population, %g kg refused, none by road and %g kg by air drop",
				cov.Place, day, cov.Population, cov.Totals.RefusedKg, cov.Totals.DeliveredKg, cov.Totals.DeliveredKgByMode, kg, byMode[corridor.ModeAirDrop])
		}
	}

	// A convoy whose way follows parts of several routes: its clearance
	// goes to the operators of the checkpoints on its way that operate on
	// its planned day, in the order it meets them (the Egyptian side of
	// the Rafah crossing, then Kerem Shalom); not to the Gaza side of the
	// Rafah crossing, closed since 7 May, nor to the army, only notified.
	// A passage at a checkpoint is evidence on the route it went on by,
	// not on the other routes through that place.
	wayConvoy := only(t, sc, func(s scenario.Step, p map[string]any) bool { return s.Type == corridor.TypeConvoy && p["way"] != nil })
	wc := payload(t, steps[wayConvoy])
	way := anyStrings(wc["way"])
	routeOf := map[string][]string{} // route id -> places
	for _, s := range sc.Records {
		if pl := payload(t, s); s.Type == corridor.TypeRoute && routeOf[pl["id"].(string)] == nil {
			routeOf[pl["id"].(string)] = anyStrings(pl["places"])
		}
	}
	if got, want := must[[]string](t)(st.ConvoyAuthorities(ctx, wc["id"].(string))), []string{"eg-gov", "cogat"}; !slices.Equal(got, want) {
		t.Errorf("convoy %s along %v: clearance goes to %v, want %v (the operators in force on its way, and COGAT)", wc["id"], way, got, want)
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

	g := &loaded{sc: sc, steps: steps, signed: signed, n: n, st: st}
	t.Run("operator history", g.operatorHistory)
	t.Run("inspection site", g.inspectionSite)
	t.Run("clearance and notification", g.clearanceAndNotification)
	t.Run("dual use", g.dualUse)
	t.Run("aid by sea", g.bySea)
	t.Run("below needs", g.belowNeeds)
	t.Run("closure of one crossing", g.oneCrossingClosed)
	t.Run("incident categories", g.incidentCategories)
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

// loaded is a scenario loaded into a node, for the cases recorded from
// public reporting: each case reads back what a user sees of it.
type loaded struct {
	sc     *scenario.Scenario
	steps  map[string]scenario.Step
	signed *scenario.Signed
	n      *app.Node
	st     *store.Store
}

var ctx = context.Background()

// index is the log index of a record of the scenario.
func (g *loaded) index(t *testing.T, id string) uint64 {
	t.Helper()
	return must[store.RecordRow](t)(g.st.RecordByID(ctx, id)).Index
}

// day reads the status of route for traffic on one day.
func (g *loaded) day(t *testing.T, route, traffic string, day corridor.Date) corridor.Day {
	t.Helper()
	rep := must[report.RouteReport](t)(report.RouteStatusOf(ctx, g.st, route, string(day), string(day)))
	ts := trafficOf(t, rep, traffic)
	if len(ts.Days) != 1 {
		t.Fatalf("route %s on %s: %d days of status", route, day, len(ts.Days))
	}
	return ts.Days[0]
}

// submit signs a record as party with the key the scenario was loaded
// with and submits it: a probe of what the rules accept, not part of the
// scenario.
func (g *loaded) submit(t *testing.T, party, id, typ string, p any) error {
	t.Helper()
	r, err := record.Sign(g.signed.Keys[party], id, typ, 1, p)
	if err != nil {
		t.Fatal(err)
	}
	_, err = g.n.App.Submit(app.WithCaller(ctx, party), []*app.Submission{{Record: r}})
	return err
}

// refused checks that err refuses a record with code at a field ending
// in field.
func refused(t *testing.T, err error, code corridor.Code, field, what string) {
	t.Helper()
	var e *corridor.Error
	if !errors.As(err, &e) || e.Code != code || !strings.HasSuffix(e.Field, field) {
		t.Errorf("%s: %v; want it refused (%s) at %s", what, err, code, field)
	}
}

func at(t *testing.T, s string) time.Time { return mustTime(t, s) }

// The Gaza side of the Rafah crossing was run by the Gaza crossings
// authority until 7 May 2024, then closed when Israeli forces took it: a
// convoy planned before asks that authority, one planned after does not,
// the closed side records no passage, and the record of the change leaves
// the registration as it was.
func (g *loaded) operatorHistory(t *testing.T) {
	before := must[[]string](t)(g.st.ConvoyAuthorities(ctx, "ercs-2023-11-28"))
	if want := []string{"cogat", "eg-gov", "gaza-crossings"}; !slices.Equal(before, want) {
		t.Errorf("the convoy of 28 November 2023 through the Rafah crossing asks clearance of %v, want %v (the inspection at Nitzana, the Egyptian side, the Gaza side)", before, want)
	}
	after := must[[]string](t)(g.st.ConvoyAuthorities(ctx, "ercs-2024-05-26"))
	if slices.Contains(after, "gaza-crossings") || slices.Contains(after, "idf") {
		t.Errorf("the convoy of 26 May 2024, past the Rafah crossing after its Gaza side closed, asks clearance of %v", after)
	}
	cp := must[store.CheckpointRow](t)(g.st.Checkpoint(ctx, "rafah-crossing-gaza-side"))
	if cp.Authority != "gaza-crossings" || len(cp.History) != 1 || !cp.History[0].Closed || cp.History[0].From != "2024-05-07" {
		t.Errorf("the Gaza side of the Rafah crossing: registered with %q, changes %+v; want the registration kept and one closure from 2024-05-07", cp.Authority, cp.History)
	}
	// Neither its former operator nor the army can record a passage there
	// once it is closed.
	for _, party := range []string{"gaza-crossings", "idf"} {
		err := g.submit(t, party, "probe-rafah-gaza-side-"+party, corridor.TypeCheckEvent, &corridor.CheckpointEvent{
			Convoy: "ercs-2024-05-26", Checkpoint: "rafah-crossing-gaza-side", Event: corridor.EvPassed, At: at(t, "2024-05-26T09:00:00+03:00")})
		refused(t, err, corridor.CodeConflict, "payload.at", party+" recording a passage at the closed Gaza side of the Rafah crossing")
	}
	// The road through the crossing: open the day the November convoy was
	// let through the inspection, blocked while the crossing was closed.
	if d := g.day(t, "rafah-crossing-road", corridor.Cargo, "2023-11-28"); d.Status != corridor.Open || !slices.Contains(d.Records, g.index(t, "convoy-ercs-2023-11-28-passed")) {
		t.Errorf("the Rafah crossing road for cargo on 28 November 2023: %s decided by %v; want open, by the passage of the inspection", d.Status, d.Records)
	}
	if d := g.day(t, "rafah-crossing-road", corridor.Cargo, "2024-05-14"); d.Status != corridor.Blocked || !slices.Contains(d.Records, g.index(t, "incident-rafah-crossing-2024-05-07")) {
		t.Errorf("the Rafah crossing road for cargo on 14 May 2024: %s decided by %v; want blocked, by the report of the closure", d.Status, d.Records)
	}
}

// Lorries for the Rafah crossing were inspected at Nitzana, off the road:
// the convoy is inspected and let through at the checkpoint whose site is
// there, and its way never passes Nitzana.
func (g *loaded) inspectionSite(t *testing.T) {
	cp := must[store.CheckpointRow](t)(g.st.Checkpoint(ctx, "nitzana-inspection"))
	if cp.Site != "nitzana" || cp.Place != "rafah-crossing" || cp.Authority != "cogat" {
		t.Fatalf("the inspection checkpoint: at %s, site %q, run by %s; want at the Rafah crossing, inspecting at Nitzana, run by COGAT", cp.Place, cp.Site, cp.Authority)
	}
	c := must[store.ConvoyRow](t)(g.st.Convoy(ctx, "ercs-2023-11-28"))
	routes := must[[]*corridor.Route](t)(g.st.Network(ctx))
	var own *corridor.Route
	for _, r := range routes {
		if r.ID == c.Filing.Route {
			own = r
		}
	}
	if way := c.Filing.WayOn(own); slices.Contains(way, "nitzana") || !slices.Contains(way, "rafah-crossing") {
		t.Errorf("the convoy's way %v: want it through the Rafah crossing, never through the inspection site", way)
	}
	var inspected bool
	for _, e := range must[store.ConvoyRow](t)(g.st.Convoy(ctx, "ercs-2023-11-28")).Events {
		inspected = inspected || (e.Event == corridor.EvInspected && e.Checkpoint == "nitzana-inspection" && e.Party == "cogat")
	}
	if !inspected || !slices.Equal(c.Progress.Passed, []string{"nitzana-inspection"}) || c.Status != string(corridor.StatusEnRoute) {
		t.Errorf("the convoy of 28 November: inspected %v, passed %v, %s; want inspected by COGAT at Nitzana, let through there, and on its way", inspected, c.Progress.Passed, c.Status)
	}
}

// COGAT clears convoys on roads where it runs no checkpoint; the army is
// only notified of movements in the south, and its acknowledgement is
// never an approval.
func (g *loaded) clearanceAndNotification(t *testing.T) {
	for _, cp := range must[[]store.CheckpointRow](t)(g.st.Checkpoints(ctx, "wadi-gaza-road")) {
		if cp.Authority == "cogat" {
			t.Fatalf("COGAT runs checkpoint %s on the road north: the case needs a body that runs none", cp.ID)
		}
	}
	if got, want := must[[]string](t)(g.st.ConvoyAuthorities(ctx, "wfp-2024-03-05")), []string{"idf", "cogat"}; !slices.Equal(got, want) {
		t.Errorf("the WFP convoy to the north asks clearance of %v, want %v (the army at Wadi Gaza, then COGAT)", got, want)
	}
	if c := must[store.ConvoyRow](t)(g.st.Convoy(ctx, "wfp-2024-03-05")); !slices.Contains(c.Flags, corridor.FlagNoAgreement) {
		t.Errorf("the WFP convoy left with no approval recorded, yet its flags are %v", c.Flags)
	}
	network := must[[]*corridor.Route](t)(g.st.Network(ctx))
	c := must[store.ConvoyRow](t)(g.st.Convoy(ctx, "ercs-2024-05-26"))
	if got := corridor.NotifiedAuthorities(c.Filing.Routes(network), c.Authorities); !slices.Equal(got, []string{"idf"}) || slices.Contains(c.Authorities, "idf") {
		t.Errorf("the convoy of 26 May: clearance asked of %v, notified %v; want the army notified only", c.Authorities, got)
	}

	// Probes on the scenario's roads (not part of the scenario: no report
	// gives an acknowledgement): two convoys by the Kerem Shalom road,
	// each notified to the army. The army cannot approve; it acknowledges.
	// The convoy that has only the acknowledgement leaves without
	// agreement; the one COGAT approved does not.
	for _, probe := range []struct {
		id       string
		approved bool
	}{{"probe-acknowledged-only", false}, {"probe-approved", true}} {
		cv := &corridor.Convoy{ID: probe.id, Organisation: "ercs", Route: "kerem-shalom-road", Origin: "el-arish", Destination: "rafah", Planned: "2024-05-27",
			Vehicles: []corridor.Vehicle{{Kind: "lorry"}}, Manifest: []corridor.Line{{Item: "wheat flour", Sector: "food", Quantity: 15, Unit: "t", Kg: 15000}}}
		if err := g.submit(t, "ercs", "file-"+probe.id, corridor.TypeConvoy, cv); err != nil {
			t.Fatal(err)
		}
		if got := must[[]string](t)(g.st.ConvoyAuthorities(ctx, probe.id)); !slices.Equal(got, []string{"cogat"}) {
			t.Fatalf("a convoy by the Kerem Shalom road asks clearance of %v, want [cogat]", got)
		}
		approve := &corridor.ClearanceAnswer{Convoy: probe.id, Authority: "idf", Decision: corridor.Approved, At: at(t, "2024-05-26T09:00:00+03:00")}
		refused(t, g.submit(t, "idf", "approve-"+probe.id, corridor.TypeClearance, approve), corridor.CodeForbidden, "payload.decision", "the army approving a convoy it is only notified of")
		ack := &corridor.ClearanceAnswer{Convoy: probe.id, Authority: "idf", Decision: corridor.Acknowledged, At: at(t, "2024-05-26T10:00:00+03:00")}
		if err := g.submit(t, "idf", "ack-"+probe.id, corridor.TypeClearance, ack); err != nil {
			t.Fatalf("the army's acknowledgement: %v", err)
		}
		if probe.approved {
			ok := &corridor.ClearanceAnswer{Convoy: probe.id, Authority: "cogat", Decision: corridor.Approved, At: at(t, "2024-05-26T11:00:00+03:00")}
			if err := g.submit(t, "cogat", "approve-cogat-"+probe.id, corridor.TypeClearance, ok); err != nil {
				t.Fatal(err)
			}
		}
		if err := g.submit(t, "ercs", "depart-"+probe.id, corridor.TypeMove, &corridor.ConvoyMove{Convoy: probe.id, Event: corridor.MvDeparted, At: at(t, "2024-05-27T08:00:00+03:00")}); err != nil {
			t.Fatal(err)
		}
		row := must[store.ConvoyRow](t)(g.st.Convoy(ctx, probe.id))
		if row.Progress.Clearance["idf"].Decision != corridor.Acknowledged {
			t.Errorf("%s: the army's answer shows as %+v, want acknowledged", probe.id, row.Progress.Clearance["idf"])
		}
		if flagged := slices.Contains(row.Flags, corridor.FlagNoAgreement); flagged == probe.approved {
			t.Errorf("%s (approved by COGAT: %v, acknowledged by the army): flags %v", probe.id, probe.approved, row.Flags)
		}
	}
}

// Items refused as dual use: COGAT's published list is in force, and the
// claim that medical scissors were refused is linked to it as context.
// No checkpoint event records a refused line: the reports name no convoy,
// crossing or day, and COGAT denied the refusal.
func (g *loaded) dualUse(t *testing.T) {
	var list *corridor.RestrictedList
	for _, l := range must[[]store.RestrictedListRow](t)(g.st.RestrictedLists(ctx, "cogat")) {
		if l.From <= "2024-03-11" {
			list = &l.RestrictedList
		}
	}
	if list == nil {
		t.Fatal("COGAT has no restricted list in force on 11 March 2024")
	}
	if e, ok := list.Entry("X-ray machines"); !ok || e.Category != "dual-use" {
		t.Errorf("COGAT's list %s: x-ray machines %+v (%v), want listed as dual-use", list.ID, e, ok)
	}
	if _, ok := list.Entry("medical scissors"); ok {
		t.Errorf("COGAT's list %s names medical scissors; the sources do not", list.ID)
	}
	claims := must[[]report.ClaimView](t)(report.ClaimsPage(ctx, g.st, store.Page{After: -1, Limit: 1000}))
	c := claimOf(t, claims, "unrwa-2024-03-11")
	if c.Verdict != nil || len(c.Links) != 1 || c.Links[0].Relation != corridor.Context || c.Links[0].Record != "restricted-cogat-2015" {
		t.Errorf("the scissors claim: verdict %+v, links %+v; want no verdict and the list linked as context", c.Verdict, c.Links)
	}
}

// Aid by sea over the temporary pier: delivered, counted under its mode
// for the Gaza Strip, asked of no authority and no evidence on any road.
func (g *loaded) bySea(t *testing.T) {
	var kg float64
	for _, r := range payload(t, g.steps["convoy-usaid-pier-2024-05-17-delivered"])["received"].([]any) {
		kg += r.(map[string]any)["kg"].(float64)
	}
	for _, p := range [][2]string{{"2024-05-17", "2024-05-17"}, {"2024-05-07", "2024-05-28"}} {
		cov := must[report.CoverageReport](t)(report.CoverageOf(ctx, g.st, "gaza-strip", p[0], p[1], 0))
		if by := cov.Totals.DeliveredKgByMode; kg == 0 || by[corridor.ModeSea] != kg || by[corridor.ModeRoad] != 0 || cov.Totals.DeliveredKg != kg {
			t.Errorf("coverage of the Gaza Strip %s to %s: %g kg delivered, by mode %v; want %g kg, all by sea", p[0], p[1], cov.Totals.DeliveredKg, by, kg)
		}
	}
	c := must[store.ConvoyRow](t)(g.st.Convoy(ctx, "usaid-pier-2024-05-17"))
	if c.Status != string(corridor.StatusDelivered) || len(c.Authorities) != 0 || len(c.Flags) != 0 {
		t.Errorf("the delivery by sea: %s, clearance asked of %v, flags %v; want delivered, asked of nobody, no flag", c.Status, c.Authorities, c.Flags)
	}
	delivered := g.index(t, "convoy-usaid-pier-2024-05-17-delivered")
	for _, r := range must[[]*corridor.Route](t)(g.st.Network(ctx)) {
		if d := g.day(t, r.ID, corridor.Cargo, "2024-05-17"); slices.Contains(d.Records, delivered) {
			t.Errorf("the delivery by sea decides the status of road %s on 17 May", r.ID)
		}
	}
}

// OCHA's statement that aid was insufficient for the needs, read as
// coverage below 100 % of the Gaza Strip's need from 7 to 28 May, is borne
// out by what the records show delivered.
func (g *loaded) belowNeeds(t *testing.T) {
	claims := must[[]report.ClaimView](t)(report.ClaimsPage(ctx, g.st, store.Page{After: -1, Limit: 1000}))
	c := claimOf(t, claims, "ocha-2024-05-29")
	if c.Assertion == nil || c.Assertion.Kind != corridor.AssertCoverageBelow || c.Assertion.Place != "gaza-strip" {
		t.Fatalf("the OCHA claim asserts %+v; want coverage below a share of the Gaza Strip's need", c.Assertion)
	}
	if c.Verdict == nil || c.Verdict.Verdict != corridor.Consistent || !slices.Contains(c.Verdict.Records, g.index(t, "convoy-usaid-pier-2024-05-17-delivered")) {
		t.Errorf("the OCHA claim: verdict %+v; want consistent, decided among others by the delivery by sea", c.Verdict)
	}
	if len(c.Links) != 1 || c.Links[0].Relation != corridor.Context {
		t.Errorf("the OCHA claim's links %+v; want the closure of the Rafah crossing as context", c.Links)
	}
}

// The closure of the Kerem Shalom crossing on 5 May blocks the ways
// through it, and only those: the other roads' status is untouched.
func (g *loaded) oneCrossingClosed(t *testing.T) {
	closure := payload(t, g.steps["closure-kerem-shalom-2024-05-05"])
	var place string
	for _, s := range g.sc.Records {
		if p := payload(t, s); s.Type == corridor.TypeCheckpoint && p["id"] == closure["checkpoint"] {
			place = p["place"].(string)
		}
	}
	idx := g.index(t, "closure-kerem-shalom-2024-05-05")
	through := 0
	for _, r := range must[[]*corridor.Route](t)(g.st.Network(ctx)) {
		d := g.day(t, r.ID, corridor.Cargo, "2024-05-06")
		has := slices.Contains(d.Records, idx)
		switch {
		case r.Passes(place):
			through++
			if d.Status != corridor.Blocked || !has {
				t.Errorf("road %s, through %s, on 6 May: %s decided by %v; want blocked by the closure", r.ID, place, d.Status, d.Records)
			}
		case has || d.Status == corridor.Blocked:
			t.Errorf("road %s, not through %s, on 6 May: %s decided by %v; want untouched by the closure", r.ID, place, d.Status, d.Records)
		}
	}
	if through < 2 {
		t.Errorf("only %d roads pass %s: the case needs a crossing on several ways", through, place)
	}
}

// The convoy stopped at the army checkpoint at Wadi Gaza, inside the Gaza
// Strip, is a restriction of movement within the country.
func (g *loaded) incidentCategories(t *testing.T) {
	held := g.index(t, "convoy-wfp-2024-03-05-held")
	for _, i := range must[[]report.IncidentView](t)(report.IncidentsPage(ctx, g.st, "", store.IncidentCursor{}, 1000)) {
		if i.Derived && *i.DerivedFrom == held {
			if i.Category != "restriction-of-movement" || i.CategoryNumber != 4 || i.Place != "wadi-gaza" {
				t.Errorf("the hold at Wadi Gaza is categorised %s (%d) at %s; want restriction of movement within the country (4)", i.Category, i.CategoryNumber, i.Place)
			}
			return
		}
	}
	t.Error("no incident is derived from the hold at Wadi Gaza")
}
