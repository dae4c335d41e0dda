package scenario_test

import (
	"context"
	"os"
	"slices"
	"testing"

	"corridor"
	"corridor/internal/testdb"
	"corridor/report"
	"corridor/scenario"
	"corridor/store"
)

// TestLachinScenario loads the reference scenario file into a fresh data
// folder and reads back what a user sees of its cases: the daily status of
// both roads, whom each convoy's clearance went to, the flags of convoys
// that left without agreement, the aid held and refused against the need
// of the area, the verdicts on the claims, and the categories of the
// incidents derived from the stops.
func TestLachinScenario(t *testing.T) {
	for _, b := range testdb.Backends(t) {
		t.Run(b.Name, func(t *testing.T) { lachinRun(t, b.DSN(t)) })
	}
}

func lachinRun(t *testing.T, dsn string) {
	ctx := context.Background()
	sc, err := scenario.Parse(must[[]byte](t)(os.ReadFile("lachin-2023.json")))
	if err != nil {
		t.Fatal(err)
	}
	n := testdb.NewNode(t, dsn)
	defer n.Close(ctx)
	signed, err := sc.SignFor(n.Dir, n.Config.Operator)
	if err != nil {
		t.Fatal(err)
	}
	if err := signed.SubmitTo(ctx, n.App); err != nil {
		t.Fatalf("a record of the scenario was refused: %v", err)
	}
	g := &loaded{sc: sc, steps: stepsByID(t, sc), signed: signed, n: n, st: n.Store()}
	t.Run("route status", g.lachinStatus)
	t.Run("operator of the Hakari bridge checkpoint", func(t *testing.T) { g.lachinOperator(t, n.Config.Operator) })
	t.Run("clearances and flags", g.lachinClearances)
	t.Run("coverage", g.lachinCoverage)
	t.Run("verdicts", g.lachinVerdicts)
	t.Run("incident categories", g.lachinCategories)
}

// The Lachin corridor is blocked to cargo on every day from 15 June to 31
// August 2023 (the report that no humanitarian cargo passed the Hakari
// bridge), the refusal of 30 August among the records of its day; the
// report of the blockade from December 2022 names no traffic, so the day
// before 15 June is unknown. The Aghdam road is blocked from the hold of
// 29 August to the end of the records. Nothing is recorded of civilians.
func (g *loaded) lachinStatus(t *testing.T) {
	rep := must[report.RouteReport](t)(report.RouteStatusOf(ctx, g.st, "lachin-corridor", "2023-06-15", "2023-08-31"))
	cargo := trafficOf(t, rep, corridor.Cargo)
	if cargo.Totals["blocked"] != len(cargo.Days) || len(cargo.Days) != 78 || len(cargo.Blockades) != 1 || cargo.Blockades[0].From != "2023-06-15" || cargo.Blockades[0].To != "2023-08-31" {
		t.Errorf("the Lachin corridor for cargo, 15 June to 31 August: %v over %d days, blockades %+v; want 78 days blocked in one blockade", cargo.Totals, len(cargo.Days), cargo.Blockades)
	}
	noCargo := g.index(t, "incident-lachin-cargo-2023-06-15")
	for _, d := range cargo.Days {
		if !slices.Contains(d.Records, noCargo) {
			t.Errorf("the Lachin corridor on %s is not decided by the report that no cargo passed", d.Date)
			break
		}
	}
	if d := g.day(t, "lachin-corridor", corridor.Cargo, "2023-08-30"); !slices.Contains(d.Records, g.index(t, "convoy-fr-2023-08-refused")) {
		t.Errorf("the Lachin corridor on 30 August is decided by %v, which lacks the refusal of the French convoy", d.Records)
	}
	if d := g.day(t, "lachin-corridor", corridor.Cargo, "2023-06-14"); d.Status != corridor.Unknown {
		t.Errorf("the Lachin corridor for cargo on 14 June: %s decided by %v; want unknown (the report of December names no traffic)", d.Status, d.Records)
	}
	if d := g.day(t, "lachin-corridor", corridor.Civilians, "2023-08-30"); d.Status != corridor.Unknown {
		t.Errorf("the Lachin corridor for civilians on 30 August: %s; want unknown (nothing recorded of civilians)", d.Status)
	}
	held := g.index(t, "convoy-arcs-2023-08-held")
	for _, day := range []corridor.Date{"2023-08-29", "2023-08-31"} {
		if d := g.day(t, "aghdam-khankendi", corridor.Cargo, day); d.Status != corridor.Blocked || !slices.Contains(d.Records, held) {
			t.Errorf("the Aghdam road for cargo on %s: %s decided by %v; want blocked by the hold at the peacekeepers' post", day, d.Status, d.Records)
		}
	}
	if d := g.day(t, "aghdam-khankendi", corridor.Cargo, "2023-08-28"); d.Status != corridor.Unknown {
		t.Errorf("the Aghdam road for cargo on 28 August, before the hold: %s", d.Status)
	}
}

// The Azerbaijani checkpoint at the Hakari bridge operates from 23 April
// 2023, run by the State Border Service. The Russian peacekeepers' control
// of the road before that day is not recorded as an earlier operator: a
// change of operator must come after the registration's first day, so it
// could only be recorded by rewriting the registration, which the rules
// refuse (and the sources name an observation post of the peacekeepers
// there, not a checkpoint they ran).
func (g *loaded) lachinOperator(t *testing.T, operator string) {
	cp := must[store.CheckpointRow](t)(g.st.Checkpoint(ctx, "hakari"))
	if cp.OperatorOn("2023-04-22") != "" || cp.OperatorOn("2023-04-23") != "az-sbs" || cp.OperatorOn("2023-08-30") != "az-sbs" || len(cp.History) != 0 {
		t.Errorf("the Hakari bridge checkpoint: operator on 22 April %q, 23 April %q, 30 August %q, changes %+v; want none before 23 April, then the border service",
			cp.OperatorOn("2023-04-22"), cp.OperatorOn("2023-04-23"), cp.OperatorOn("2023-08-30"), cp.History)
	}
	// A probe, not part of the scenario: an operator before 23 April is
	// refused, and so is a registration that would rewrite the first day.
	err := g.submit(t, operator, "probe-hakari-earlier-operator", corridor.TypeCPChange, &corridor.CheckpointChange{Checkpoint: "hakari", From: "2023-04-01", Authority: "ru-pkc"})
	refused(t, err, corridor.CodeConflict, "payload.from", "a change of the Hakari checkpoint's operator before its first day")
	again := payload(t, g.steps["checkpoint-hakari"])
	again["authority"], again["from"] = "ru-pkc", "2020-11-10"
	refused(t, g.submit(t, operator, "probe-hakari-rewritten", corridor.TypeCheckpoint, again), corridor.CodeConflict, "payload.authority", "registering the Hakari checkpoint again with an earlier operator")
}

// The convoys on the Lachin corridor asked clearance of the border service
// only (the one operator on their way), the convoy on the Aghdam road of
// the peacekeepers only; the two stopped for want of prior agreement left
// without an agreement recorded, and are flagged so.
func (g *loaded) lachinClearances(t *testing.T) {
	for convoy, want := range map[string][]string{"am-2023-07": {"az-sbs"}, "fr-2023-08": {"az-sbs"}, "arcs-2023-08": {"ru-pkc"}} {
		if got := must[[]string](t)(g.st.ConvoyAuthorities(ctx, convoy)); !slices.Equal(got, want) {
			t.Errorf("convoy %s asks clearance of %v, want %v", convoy, got, want)
		}
	}
	stopped := 0
	for _, s := range g.sc.Records {
		p := payload(t, s)
		if s.Type != corridor.TypeCheckEvent || p["reason_category"] != "no-prior-agreement" {
			continue
		}
		stopped++
		c := must[store.ConvoyRow](t)(g.st.Convoy(ctx, p["convoy"].(string)))
		if !slices.Contains(c.Flags, corridor.FlagNoAgreement) || len(c.Progress.Clearance) != 0 {
			t.Errorf("convoy %s, stopped for want of prior agreement: flags %v, answers %v; want flagged as departed without agreement, with no answer", c.ID, c.Flags, c.Progress.Clearance)
		}
	}
	if stopped != 2 {
		t.Errorf("%d stops for want of prior agreement, want 2 (the Armenian and the French convoys)", stopped)
	}
}

// What was sent to the area from 26 July to 31 August: the Armenian and
// Red Crescent convoys held, the French convoy refused, nothing delivered.
func (g *loaded) lachinCoverage(t *testing.T) {
	kg := func(id string) float64 {
		var sum float64
		for _, l := range payload(t, g.steps[id])["manifest"].([]any) {
			sum += l.(map[string]any)["kg"].(float64)
		}
		return sum
	}
	held, turnedAway := kg("convoy-am-2023-07")+kg("convoy-arcs-2023-08"), kg("convoy-fr-2023-08")
	cov := must[report.CoverageReport](t)(report.CoverageOf(ctx, g.st, "karabakh", "2023-07-26", "2023-08-31", 0))
	if cov.Population != 120000 || cov.Totals.HeldKg != held || cov.Totals.RefusedKg != turnedAway || cov.Totals.DeliveredKg != 0 || cov.Totals.DeliveredPD != 0 {
		t.Errorf("coverage of the area, 26 July to 31 August: population %d, held %g kg, refused %g kg, delivered %g kg (%g person-days); want 120,000, %g kg held, %g kg refused, nothing delivered",
			cov.Population, cov.Totals.HeldKg, cov.Totals.RefusedKg, cov.Totals.DeliveredKg, cov.Totals.DeliveredPD, held, turnedAway)
	}
	for mode, kg := range cov.Totals.DeliveredKgByMode {
		if kg != 0 {
			t.Errorf("%g kg delivered by %s", kg, mode)
		}
	}
}

// The mayor of Paris (no aid can get in) and Armenia (closed to cargo
// since 15 June) are borne out by the records; Azerbaijan's claim that the
// corridor is open to civilians has no evidence either way.
func (g *loaded) lachinVerdicts(t *testing.T) {
	claims := must[[]report.ClaimView](t)(report.ClaimsPage(ctx, g.st, store.Page{After: -1, Limit: 1000}))
	for id, want := range map[string]string{"paris-mayor-2023-08-30": corridor.Consistent, "armenia-un-2023-08-30": corridor.Consistent, "azerbaijan-2023-08-30": corridor.NoEvidence} {
		if c := claimOf(t, claims, id); c.Verdict == nil || c.Verdict.Verdict != want {
			t.Errorf("claim %s: verdict %+v, want %s", id, c.Verdict, want)
		}
	}
	if c := claimOf(t, claims, "paris-mayor-2023-08-30"); c.Verdict == nil || !slices.Contains(c.Verdict.Records, g.index(t, "convoy-fr-2023-08-refused")) {
		t.Errorf("the Paris claim is not decided by the refusal of the French convoy: %+v", c.Verdict)
	}
}

// The stops at the Hakari bridge and at the peacekeepers' post near
// Askeran are restrictions of movement within the country: the places are
// registered as a bridge and a checkpoint site, not as an international
// border crossing.
func (g *loaded) lachinCategories(t *testing.T) {
	want := map[uint64]string{
		g.index(t, "convoy-am-2023-07-held"):    "hakari-bridge",
		g.index(t, "convoy-fr-2023-08-refused"): "hakari-bridge",
		g.index(t, "convoy-arcs-2023-08-held"):  "askeran-post",
	}
	for _, i := range must[[]report.IncidentView](t)(report.IncidentsPage(ctx, g.st, "", store.IncidentCursor{}, 1000)) {
		if !i.Derived {
			continue
		}
		place, ok := want[*i.DerivedFrom]
		if !ok {
			t.Errorf("incident %s derived from an unexpected record", i.ID)
			continue
		}
		delete(want, *i.DerivedFrom)
		if i.Category != "restriction-of-movement" || i.CategoryNumber != 4 || i.Place != place {
			t.Errorf("incident %s: %s (%d) at %s; want restriction of movement within the country (4) at %s", i.ID, i.Category, i.CategoryNumber, i.Place, place)
		}
	}
	if len(want) != 0 {
		t.Errorf("no incident derived from the records at log indices %v", want)
	}
}
