package corridor_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"corridor"
)

// monIncident is a valid incident on the Lachin road of the test world.
func monIncident(id string) *corridor.Incident {
	return &corridor.Incident{
		ID: id, Category: "restriction-of-movement", Occurred: "2023-08-29", Until: "2023-08-30", Reported: "2023-08-31",
		Route: lachinRoad, Checkpoint: cp2, Place: "hakari", Perpetrator: "auth2", Affected: "Party org",
		People: 1200, PeopleEstimated: true, AidDenied: []string{"food"}, Traffic: []string{corridor.Cargo},
		Description: "Cargo stopped at the bridge.", Source: "field report", Verification: corridor.Unverified,
	}
}

// monStatement is a statement recorded by a monitor.
func monStatement(id string) *corridor.Statement {
	return &corridor.Statement{ID: id, Kind: "statement", Speaker: "A speaker", SaidOn: "2023-08-30", Quote: "Words.", Lang: "en"}
}

// monClaim is a valid claim with a typed assertion, carrying its own words.
func monClaim(id string) *corridor.Claim {
	return &corridor.Claim{
		ID: id, Speaker: "A speaker", SaidOn: "2023-08-30", Quote: "The road is open.", Lang: "en",
		AboutRoutes: []string{lachinRoad}, Period: &corridor.Period{From: "2023-08-29", To: "2023-08-30"},
		Assertion: &corridor.Assertion{Kind: corridor.AssertOpen, Route: lachinRoad, Traffic: corridor.Civilians},
	}
}

func TestMonitoringRecords(t *testing.T) {
	w := newCorridor(t)
	w.must("mon", corridor.TypeIncident, monIncident("i-1"))
	w.must("org", corridor.TypeIncident, monIncident("i-2")) // organisations report incidents too
	w.must("mon", corridor.TypeIncidentVerify, &corridor.IncidentVerification{Incident: "i-1", Verification: corridor.Verified})
	if got := w.st.Incidents["i-1"].Verification; got != corridor.Verified {
		t.Errorf("verification %q after incident.verify", got)
	}
	w.must("mon", corridor.TypeClaim, monClaim("c-1"))
	w.must("mon", corridor.TypeStatement, monStatement("s-1"))
	w.must("mon", corridor.TypeClaim, &corridor.Claim{ID: "c-2", Statement: "s-1", Period: &corridor.Period{From: "2023-08-30", To: "2023-08-30"},
		Assertion: &corridor.Assertion{Kind: corridor.AssertDelivered, Place: "stepanakert", Tonnes: 40}})
	link := &corridor.ClaimLink{Claim: "c-1", Record: firstRecordID(w), Relation: corridor.Supports}
	w.must("mon", corridor.TypeClaimLink, link)
	if n := len(w.st.Claims["c-1"].Links); n != 1 {
		t.Errorf("%d links on c-1", n)
	}
	w.must("auth2", corridor.TypeRouteClosed, &corridor.RouteClosure{Route: lachinRoad, Checkpoint: cp2, Traffic: []string{corridor.Civilians}, From: "2023-08-29", ReasonCategory: "security"})
	w.must("auth2", corridor.TypeRouteOpened, &corridor.RouteOpening{Route: lachinRoad, Traffic: []string{corridor.Civilians}, From: "2023-09-01"})
	w.must("op", corridor.TypePlace, &corridor.Place{ID: "region", Kind: "region", Names: []corridor.Name{{Name: "Region", Lang: "en"}}, Lat: 39.8, Lon: 46.7, Population: 120000})
	w.must("mon", corridor.TypeArea, &corridor.Area{Place: "region", Places: []string{"stepanakert", "askeran"}})
}

// firstRecordID is the id of the first record the world signed.
func firstRecordID(w *world) string {
	for id, ref := range w.st.Records {
		if ref.Index == 0 {
			return id
		}
	}
	w.t.Fatal("no record at index 0")
	return ""
}

// TestMonitoringRefusals checks that bad incidents, claims, links,
// closures and areas are refused with the field at fault and leave the
// state as it was.
func TestMonitoringRefusals(t *testing.T) {
	inc := func(f func(*corridor.Incident)) func(*world) any {
		return func(*world) any { i := monIncident("i-new"); f(i); return i }
	}
	claim := func(f func(*corridor.Claim)) func(*world) any {
		return func(*world) any { c := monClaim("c-new"); f(c); return c }
	}
	for _, tc := range []struct {
		name  string
		by    string
		typ   string
		p     func(*world) any
		code  corridor.Code
		field string
	}{
		{"unknown category", "mon", corridor.TypeIncident, inc(func(i *corridor.Incident) { i.Category = "looting" }), corridor.CodeInvalid, "payload.category"},
		{"no category", "mon", corridor.TypeIncident, inc(func(i *corridor.Incident) { i.Category = "" }), corridor.CodeInvalid, "payload.category"},
		{"period end before start", "mon", corridor.TypeIncident, inc(func(i *corridor.Incident) { i.Until = "2023-08-28" }), corridor.CodeInvalid, "payload.until"},
		{"reported before it occurred", "mon", corridor.TypeIncident, inc(func(i *corridor.Incident) { i.Reported = "2023-08-01"; i.Until = "" }), corridor.CodeInvalid, "payload.reported"},
		{"attests days after the report", "mon", corridor.TypeIncident, inc(func(i *corridor.Incident) { i.Until = "2023-09-30" }), corridor.CodeInvalid, "payload.until"},
		{"negative people", "mon", corridor.TypeIncident, inc(func(i *corridor.Incident) { i.People = -5 }), corridor.CodeInvalid, "payload.people_affected"},
		{"absurd people", "mon", corridor.TypeIncident, inc(func(i *corridor.Incident) { i.People = 9_000_000_000 }), corridor.CodeInvalid, "payload.people_affected"},
		{"unknown place", "mon", corridor.TypeIncident, inc(func(i *corridor.Incident) { i.Place = "atlantis" }), corridor.CodeInvalid, "payload.place"},
		{"unknown route", "mon", corridor.TypeIncident, inc(func(i *corridor.Incident) { i.Route = "nowhere"; i.Checkpoint = "" }), corridor.CodeInvalid, "payload.route"},
		{"checkpoint off the route", "mon", corridor.TypeIncident, inc(func(i *corridor.Incident) { i.Checkpoint = cp3 }), corridor.CodeInvalid, "payload.checkpoint"},
		{"unknown perpetrator", "mon", corridor.TypeIncident, inc(func(i *corridor.Incident) { i.Perpetrator = "ghost" }), corridor.CodeInvalid, "payload.perpetrator"},
		{"unknown traffic", "mon", corridor.TypeIncident, inc(func(i *corridor.Incident) { i.Traffic = []string{"tanks"} }), corridor.CodeInvalid, "payload.traffic[0]"},
		{"unknown aid sector", "mon", corridor.TypeIncident, inc(func(i *corridor.Incident) { i.AidDenied = []string{"weapons"} }), corridor.CodeInvalid, "payload.aid_denied[0]"},
		{"unknown verification", "mon", corridor.TypeIncident, inc(func(i *corridor.Incident) { i.Verification = "probably" }), corridor.CodeInvalid, "payload.verification"},
		{"nowhere", "mon", corridor.TypeIncident, inc(func(i *corridor.Incident) { i.Place, i.Route, i.Checkpoint, i.Traffic = "", "", "", nil }), corridor.CodeInvalid, "payload.place"},
		{"incident id reused", "mon", corridor.TypeIncident, func(*world) any { return monIncident("i-1") }, corridor.CodeConflict, "payload.id"},
		{"witness may not report", "wit", corridor.TypeIncident, inc(func(*corridor.Incident) {}), corridor.CodeForbidden, "type"},
		{"verify unknown incident", "mon", corridor.TypeIncidentVerify, func(*world) any {
			return &corridor.IncidentVerification{Incident: "nope", Verification: corridor.Verified}
		}, corridor.CodeInvalid, "payload.incident"},
		{"claim period end before start", "mon", corridor.TypeClaim, claim(func(c *corridor.Claim) { c.Period.To = "2023-08-01" }), corridor.CodeInvalid, "payload.period.to"},
		{"unknown assertion", "mon", corridor.TypeClaim, claim(func(c *corridor.Claim) { c.Assertion.Kind = "route-sunny" }), corridor.CodeInvalid, "payload.assertion.kind"},
		{"assertion without period", "mon", corridor.TypeClaim, claim(func(c *corridor.Claim) { c.Period = nil }), corridor.CodeInvalid, "payload.period"},
		{"negative tonnes", "mon", corridor.TypeClaim, claim(func(c *corridor.Claim) {
			c.Assertion = &corridor.Assertion{Kind: corridor.AssertDelivered, Place: "stepanakert", Tonnes: -40}
		}), corridor.CodeInvalid, "payload.assertion.tonnes"},
		{"absurd tonnes", "mon", corridor.TypeClaim, claim(func(c *corridor.Claim) {
			c.Assertion = &corridor.Assertion{Kind: corridor.AssertDelivered, Place: "stepanakert", Tonnes: 5e8}
		}), corridor.CodeInvalid, "payload.assertion.tonnes"},
		{"delivered to an unknown place", "mon", corridor.TypeClaim, claim(func(c *corridor.Claim) {
			c.Assertion = &corridor.Assertion{Kind: corridor.AssertDelivered, Place: "atlantis", Tonnes: 40}
		}), corridor.CodeInvalid, "payload.assertion.place"},
		{"claim about an unknown place", "mon", corridor.TypeClaim, claim(func(c *corridor.Claim) { c.AboutPlaces = []string{"atlantis"} }), corridor.CodeInvalid, "payload.about_places[0]"},
		{"claim on an unknown route", "mon", corridor.TypeClaim, claim(func(c *corridor.Claim) { c.Assertion.Route = "nowhere" }), corridor.CodeInvalid, "payload.assertion.route"},
		{"unknown traffic in a claim", "mon", corridor.TypeClaim, claim(func(c *corridor.Claim) { c.Assertion.Traffic = "tourists" }), corridor.CodeInvalid, "payload.assertion.traffic"},
		{"claim of an unknown statement", "mon", corridor.TypeClaim, claim(func(c *corridor.Claim) {
			c.Statement, c.Speaker, c.SaidOn, c.Quote, c.Lang = "nope", "", "", "", ""
		}), corridor.CodeInvalid, "payload.statement"},
		{"claim with statement and its own words", "mon", corridor.TypeClaim, claim(func(c *corridor.Claim) { c.Statement = "s-1" }), corridor.CodeInvalid, "payload.speaker"},
		{"organisation may not record claims", "org", corridor.TypeClaim, claim(func(*corridor.Claim) {}), corridor.CodeForbidden, "type"},
		{"link to an unknown claim", "mon", corridor.TypeClaimLink, func(w *world) any {
			return &corridor.ClaimLink{Claim: "nope", Record: firstRecordID(w), Relation: corridor.Supports}
		}, corridor.CodeInvalid, "payload.claim"},
		{"link to an unknown record", "mon", corridor.TypeClaimLink, func(w *world) any {
			return &corridor.ClaimLink{Claim: "c-1", Record: "no-such-record", Relation: corridor.Supports}
		}, corridor.CodeInvalid, "payload.record"},
		{"link twice", "mon", corridor.TypeClaimLink, func(w *world) any {
			return &corridor.ClaimLink{Claim: "c-1", Record: firstRecordID(w), Relation: corridor.Contradicts}
		}, corridor.CodeConflict, "payload.record"},
		{"unknown relation", "mon", corridor.TypeClaimLink, func(w *world) any {
			return &corridor.ClaimLink{Claim: "c-1", Record: firstRecordID(w), Relation: "maybe"}
		}, corridor.CodeInvalid, "payload.relation"},
		{"closure by an authority not on the route", "auth3", corridor.TypeRouteClosed, func(*world) any {
			return &corridor.RouteClosure{Route: lachinRoad, Traffic: []string{corridor.Cargo}, From: "2023-08-29", ReasonCategory: "security"}
		}, corridor.CodeForbidden, "payload.route"},
		{"closure at another's checkpoint", "auth1", corridor.TypeRouteClosed, func(*world) any {
			return &corridor.RouteClosure{Route: lachinRoad, Checkpoint: cp2, Traffic: []string{corridor.Cargo}, From: "2023-08-29", ReasonCategory: "security"}
		}, corridor.CodeForbidden, "payload.checkpoint"},
		{"closure ends before it starts", "auth1", corridor.TypeRouteClosed, func(*world) any {
			return &corridor.RouteClosure{Route: lachinRoad, Traffic: []string{corridor.Cargo}, From: "2023-08-29", To: "2023-08-01", ReasonCategory: "security"}
		}, corridor.CodeInvalid, "payload.to"},
		{"closure without traffic", "auth1", corridor.TypeRouteClosed, func(*world) any {
			return &corridor.RouteClosure{Route: lachinRoad, From: "2023-08-29", ReasonCategory: "security"}
		}, corridor.CodeInvalid, "payload.traffic"},
		{"monitor may not close a route", "mon", corridor.TypeRouteClosed, func(*world) any {
			return &corridor.RouteClosure{Route: lachinRoad, Traffic: []string{corridor.Cargo}, From: "2023-08-29", ReasonCategory: "security"}
		}, corridor.CodeForbidden, "type"},
		{"area of a place without population", "op", corridor.TypeArea, func(*world) any {
			return &corridor.Area{Place: "hakari", Places: []string{"stepanakert"}}
		}, corridor.CodeInvalid, "payload.place"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newCorridor(t)
			w.must("mon", corridor.TypeIncident, monIncident("i-1"))
			w.must("mon", corridor.TypeClaim, monClaim("c-1"))
			w.must("mon", corridor.TypeStatement, monStatement("s-1"))
			w.must("mon", corridor.TypeClaimLink, &corridor.ClaimLink{Claim: "c-1", Record: firstRecordID(w), Relation: corridor.Supports})
			p := tc.p(w)
			before := snapshot(t, w.st)
			links := len(w.st.Claims["c-1"].Links)
			wantErr(t, w.do(tc.by, tc.typ, p), tc.code, tc.field)
			if snapshot(t, w.st) != before || len(w.st.Claims["c-1"].Links) != links {
				t.Fatal("a refused record changed the state")
			}
		})
	}
}

func TestAccessCategories(t *testing.T) {
	if len(corridor.AccessCategories) != 9 {
		t.Fatalf("%d categories, want the nine indicators", len(corridor.AccessCategories))
	}
	for i, c := range corridor.AccessCategories {
		if c.Number != i+1 {
			t.Errorf("category %s is number %d at position %d", c.Code, c.Number, i)
		}
		if got, ok := corridor.CategoryOf(c.Code); !ok || got != c {
			t.Errorf("CategoryOf(%q) = %v, %v", c.Code, got, ok)
		}
	}
}

func TestStoppedAtCategoryFollowsThePlace(t *testing.T) {
	for kind, want := range map[string]int{"border-crossing": 3, "bridge": 4, "checkpoint-site": 4, "": 4} {
		if got := corridor.StoppedAtCategory(kind); got.Number != want {
			t.Errorf("a convoy stopped at a %q: category %d (%s), want %d", kind, got.Number, got.Code, want)
		}
	}
}

func TestJudgeCoverageBelow(t *testing.T) {
	// 1,000 people for 10 days at 2,100 kcal: 21,000,000 kcal of need.
	for _, c := range []struct {
		percent, kcal float64
		records       []uint64
		want          string
	}{
		{50, 2_100_000, []uint64{7}, corridor.Consistent},   // 10 % covered
		{5, 2_100_000, []uint64{7}, corridor.Contradicted},  // 10 % is not below 5 %
		{50, 0, nil, corridor.NoEvidence},                   // nothing recorded
		{50, 0, []uint64{9}, corridor.Consistent},           // a held convoy only: 0 % delivered
		{10, 2_100_000, []uint64{7}, corridor.Contradicted}, // exactly 10 % is not below 10 %
	} {
		v := corridor.JudgeCoverageBelow(c.percent, c.kcal, 1000, 10, corridor.KcalPerPersonDay, c.records, nil)
		if v.Verdict != c.want {
			t.Errorf("below %g %% with %g kcal delivered, records %v: %s (%s), want %s", c.percent, c.kcal, c.records, v.Verdict, v.Reason, c.want)
		}
	}
}

// "N tonnes a day" over a period of 10 days is judged as 10 N tonnes, and
// its reason gives the daily average the records show.
func TestJudgeTonnesPerDay(t *testing.T) {
	p := corridor.Period{From: "2024-03-01", To: "2024-03-10"}
	for _, c := range []struct {
		perDay, kg float64
		records    []uint64
		want       string
	}{
		{10, 100_000, []uint64{7}, corridor.Consistent},    // 10 t a day
		{10, 95_000, []uint64{7}, corridor.Consistent},     // 9.5 t a day: within 10 %
		{10, 10_000, []uint64{7}, corridor.Contradicted},   // 1 t a day
		{1, 100_000, []uint64{7}, corridor.Contradicted},   // ten times the claim
		{10, 0, nil, corridor.NoEvidence},                  // nothing recorded
		{10, 0, []uint64{9}, corridor.Contradicted},        // only a held convoy: none delivered
		{100, 1_000_000, []uint64{7}, corridor.Consistent}, // the same at scale
	} {
		v := corridor.JudgeAtPlace(corridor.Assertion{Kind: corridor.AssertTonnesPerDay, Place: "x", Tonnes: c.perDay}, p, corridor.AtPlace{Kg: c.kg, Population: 1000, Deliveries: c.records})
		if v.Verdict != c.want {
			t.Errorf("%g t a day claimed, %g kg delivered in 10 days, records %v: %s (%s), want %s", c.perDay, c.kg, c.records, v.Verdict, v.Reason, c.want)
		}
		if c.want != corridor.NoEvidence && !strings.Contains(v.Reason, fmt.Sprintf("%.1f t a day", c.kg/10_000)) {
			t.Errorf("reason %q does not give the recorded daily average", v.Reason)
		}
	}
	// Trucks a day: 10 days, 95 vehicles delivered, against 10 a day claimed.
	for _, c := range []struct {
		claimed  float64
		vehicles int64
		want     string
	}{{10, 95, corridor.Consistent}, {10, 50, corridor.Contradicted}, {5, 95, corridor.Contradicted}} {
		v := corridor.JudgeAtPlace(corridor.Assertion{Kind: corridor.AssertTrucksPerDay, Place: "x", Trucks: c.claimed}, p, corridor.AtPlace{Vehicles: c.vehicles, Deliveries: []uint64{3}})
		if v.Verdict != c.want || !strings.Contains(v.Reason, fmt.Sprintf("%.1f vehicles a day", float64(c.vehicles)/10)) {
			t.Errorf("%g trucks a day claimed, %d delivered in 10 days: %s (%s), want %s", c.claimed, c.vehicles, v.Verdict, v.Reason, c.want)
		}
	}
	if v := corridor.JudgeAtPlace(corridor.Assertion{Kind: corridor.AssertTrucksPerDay, Place: "x", Trucks: 3}, p, corridor.AtPlace{}); v.Verdict != corridor.NoEvidence {
		t.Errorf("trucks a day with nothing recorded: %s", v.Verdict)
	}
	for _, a := range []corridor.Assertion{{Kind: corridor.AssertTrucksPerDay, Place: "x"}, {Kind: corridor.AssertTrucksPerDay, Place: "x", Trucks: -1}} {
		c := &corridor.Claim{ID: "c", Speaker: "s", SaidOn: "2024-03-01", Quote: "q", Lang: "en", Period: &p, Assertion: &a}
		var e *corridor.Error
		if err := c.Validate(); !errors.As(err, &e) || e.Field != "assertion.trucks" {
			t.Errorf("%+v: %v, want an error at assertion.trucks", a, err)
		}
	}
	bad := &corridor.Claim{ID: "c", Speaker: "s", SaidOn: "2024-03-01", Quote: "q", Lang: "en", Period: &p,
		Assertion: &corridor.Assertion{Kind: corridor.AssertTonnesPerDay, Place: "x", Tonnes: 5, Route: "r"}}
	var e *corridor.Error
	if err := bad.Validate(); !errors.As(err, &e) || e.Field != "assertion" {
		t.Errorf("tonnes-per-day with a route: %v, want an error at assertion", err)
	}
}

func TestCoverageBelowAssertionFields(t *testing.T) {
	base := func(a corridor.Assertion) *corridor.Claim {
		return &corridor.Claim{ID: "c", Speaker: "s", SaidOn: "2024-03-01", Quote: "q", Lang: "en",
			Period: &corridor.Period{From: "2024-03-01", To: "2024-03-31"}, Assertion: &a}
	}
	for _, c := range []struct {
		a     corridor.Assertion
		field string
	}{
		{corridor.Assertion{Kind: corridor.AssertCoverageBelow, Place: "x"}, "assertion.percent"},
		{corridor.Assertion{Kind: corridor.AssertCoverageBelow, Place: "x", Percent: 120}, "assertion.percent"},
		{corridor.Assertion{Kind: corridor.AssertCoverageBelow, Percent: 20}, "assertion.place"},
		{corridor.Assertion{Kind: corridor.AssertCoverageBelow, Place: "x", Percent: 20, Tonnes: 3}, "assertion"},
	} {
		err := base(c.a).Validate()
		var e *corridor.Error
		if !errors.As(err, &e) || e.Field != c.field {
			t.Errorf("%+v: %v, want an error at %s", c.a, err, c.field)
		}
	}
	if err := base(corridor.Assertion{Kind: corridor.AssertCoverageBelow, Place: "x", Percent: 20}).Validate(); err != nil {
		t.Errorf("a valid coverage-below assertion: %v", err)
	}
	l := corridor.ClaimLink{Claim: "c", Record: "r", Relation: corridor.Context}
	if err := l.Validate(); err != nil {
		t.Errorf("a context link: %v", err)
	}
}

// Reported speech stands beside or instead of an exact quote; one of
// them is required.
func TestReportedSpeech(t *testing.T) {
	st := func(quote, reported string) *corridor.Statement {
		return &corridor.Statement{ID: "s", Kind: "statement", Speaker: "Ministry of Foreign Affairs", SaidOn: "2024-05-07", Quote: quote, Reported: reported, Lang: "en"}
	}
	if err := st("", "The ministry said the crossing would reopen within days.").Validate(); err != nil {
		t.Errorf("reported speech alone: %v", err)
	}
	if err := st("We will reopen it.", "").Validate(); err != nil {
		t.Errorf("a quote alone: %v", err)
	}
	var e *corridor.Error
	if err := st("", "").Validate(); !errors.As(err, &e) || e.Field != "quote" || !strings.Contains(e.Reason, "reported") {
		t.Errorf("neither: %v, want an error at quote that names reported", err)
	}
}
