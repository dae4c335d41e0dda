package corridor_test

import (
	"slices"
	"testing"

	"corridor"
)

// The shared world's two roads meet at stepanakert. A checkpoint there,
// registered on no route, serves both; a convoy's way may leave its route
// and follow the other one.
//
//	lachin-road: goris → kornidzor (cp1) → hakari (cp2) → lachin → stepanakert (cp-city)
//	aghdam-road: aghdam → askeran (cp3, cp4) → stepanakert (cp-city)
func newNetwork(t *testing.T) *world {
	t.Helper()
	w := newCorridor(t)
	w.must("op", corridor.TypeCheckpoint, &corridor.Checkpoint{ID: "cp-city", Names: []corridor.Name{{Name: "city gate", Lang: "en"}}, Place: "stepanakert", Authority: "auth3"})
	return w
}

// crossing is a convoy of org from goris along the Lachin road, then on
// along the Aghdam road (driven the other way) to aghdam.
func crossing(id string) *corridor.Convoy {
	c := convoy(id, "org")
	c.Destination = "aghdam"
	c.Way = []string{"goris", "kornidzor", "hakari", "lachin", "stepanakert", "askeran", "aghdam"}
	return c
}

func ids(cps []*corridor.Checkpoint) []string {
	var out []string
	for _, c := range cps {
		out = append(out, c.ID)
	}
	return out
}

func TestConvoyWayAcrossTwoRoutes(t *testing.T) {
	w := newNetwork(t)
	c := crossing("x")
	w.must("org", corridor.TypeConvoy, c)
	if got, want := ids(w.st.ConvoyCheckpoints(c)), []string{cp1, cp2, "cp-city", cp3, cp4}; !slices.Equal(got, want) {
		t.Fatalf("checkpoints on the way = %v, want %v", got, want)
	}
	if got, want := w.st.ConvoyAuthorities(c), []string{"auth1", "auth2", "auth3"}; !slices.Equal(got, want) {
		t.Fatalf("clearance goes to %v, want %v", got, want)
	}
	for _, a := range []string{"auth1", "auth2", "auth3"} {
		w.must(a, corridor.TypeClearance, approve("x", a, 0))
	}
	w.must("org", corridor.TypeMove, move("x", corridor.MvDeparted, 1))
	if cs := w.convoyState("x"); cs.HasFlag(corridor.FlagNoAgreement) {
		t.Fatalf("approved by everyone on its way, yet flagged %v", cs.Flags)
	}
	// The next checkpoint rule follows the way, across the two roads.
	w.must("auth1", corridor.TypeCheckEvent, event("x", cp1, corridor.EvPassed, 2))
	w.must("auth2", corridor.TypeCheckEvent, event("x", cp2, corridor.EvPassed, 3))
	wantErr(t, w.do("auth3", corridor.TypeCheckEvent, event("x", cp3, corridor.EvArrived, 4)), corridor.CodeConflict, "payload.checkpoint")
	w.must("auth3", corridor.TypeCheckEvent, event("x", "cp-city", corridor.EvPassed, 4))
	w.must("auth3", corridor.TypeCheckEvent, event("x", cp3, corridor.EvPassed, 5))

	// A convoy that keeps to the Lachin road meets the city gate too (it
	// serves every way through its place), but not the Aghdam road's.
	own := convoy("own", "org")
	w.must("org", corridor.TypeConvoy, own)
	if got, want := ids(w.st.ConvoyCheckpoints(own)), []string{cp1, cp2, "cp-city"}; !slices.Equal(got, want) {
		t.Fatalf("checkpoints of a convoy on its route = %v, want %v", got, want)
	}
	w.must("auth3", corridor.TypeClearance, approve("own", "auth3", 0))
	w.must("auth1", corridor.TypeClearance, approve("own", "auth1", 0))
	w.must("auth2", corridor.TypeClearance, approve("own", "auth2", 0))
	w.must("org", corridor.TypeMove, move("own", corridor.MvDeparted, 1))
	wantErr(t, w.do("auth3", corridor.TypeCheckEvent, event("own", cp3, corridor.EvArrived, 2)), corridor.CodeConflict, "payload.checkpoint")
}

func TestWayRefusals(t *testing.T) {
	w := newNetwork(t)
	for _, tc := range []struct {
		name  string
		edit  func(c *corridor.Convoy)
		code  corridor.Code
		field string
	}{
		{"a step that is no road", func(c *corridor.Convoy) { c.Way = []string{"goris", "kornidzor", "askeran", "aghdam"} }, corridor.CodeInvalid, "payload.way[2]"},
		{"an unknown place", func(c *corridor.Convoy) { c.Way = []string{"goris", "nowhere", "aghdam"} }, corridor.CodeInvalid, "payload.way[1]"},
		{"a way off its route", func(c *corridor.Convoy) {
			c.Origin, c.Way = "stepanakert", []string{"stepanakert", "askeran", "aghdam"}
		}, corridor.CodeInvalid, "payload.way"},
		{"off the route with no way", func(c *corridor.Convoy) { c.Way = nil }, corridor.CodeInvalid, "payload.destination"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := crossing("bad")
			tc.edit(c)
			wantErr(t, w.do("org", corridor.TypeConvoy, c), tc.code, tc.field)
			if _, ok := w.st.Convoys["bad"]; ok {
				t.Fatal("a refused filing is in the state")
			}
		})
	}
	// A checkpoint registered on no route must stand where a route passes.
	bare := &corridor.Checkpoint{ID: "cp-off", Names: []corridor.Name{{Name: "off", Lang: "en"}}, Place: "nowhere", Authority: "auth1"}
	w.must("op", corridor.TypePlace, place("nowhere", "village", 40, 47))
	wantErr(t, w.do("op", corridor.TypeCheckpoint, bare), corridor.CodeInvalid, "payload.place")
	// A route registered again may not change its places.
	wantErr(t, w.do("op", corridor.TypeRoute, route(aghdamRoad, "aghdam", "stepanakert")), corridor.CodeConflict, "payload.places")
}

// Closing one crossing blocks exactly the routes through it; a convoy's
// evidence is on the routes of its way.
func TestEvidenceFollowsTheNetwork(t *testing.T) {
	w := newNetwork(t)
	w.must("op", corridor.TypeRoute, route("north", "goris", "lachin"))
	var routes []*corridor.Route
	for _, id := range []string{aghdamRoad, lachinRoad, "north"} {
		routes = append(routes, w.st.Routes[id])
	}
	closed := func(route, checkpoint string) corridor.Logged[*corridor.RouteClosure] {
		return corridor.Logged[*corridor.RouteClosure]{Index: 1, By: "auth3", Payload: &corridor.RouteClosure{
			Route: route, Checkpoint: checkpoint, Traffic: []string{corridor.Cargo}, From: "2023-08-01", To: "2023-08-02", ReasonCategory: "security"}}
	}
	on := func(ev []corridor.Evidence) []string {
		var out []string
		for _, e := range ev {
			if !slices.Contains(out, e.Route) {
				out = append(out, e.Route)
			}
		}
		slices.Sort(out)
		return out
	}
	for _, tc := range []struct {
		name string
		in   corridor.EvidenceInput
		want []string
	}{
		{"a closure at the city gate", corridor.EvidenceInput{Closures: []corridor.Logged[*corridor.RouteClosure]{closed(aghdamRoad, "cp-city")}}, []string{aghdamRoad, lachinRoad}},
		{"a closure at askeran", corridor.EvidenceInput{Closures: []corridor.Logged[*corridor.RouteClosure]{closed(aghdamRoad, cp3)}}, []string{aghdamRoad}},
		{"a closure of a whole route", corridor.EvidenceInput{Closures: []corridor.Logged[*corridor.RouteClosure]{closed(lachinRoad, "")}}, []string{lachinRoad}},
		{"an incident at the city gate", corridor.EvidenceInput{Incidents: []corridor.Logged[*corridor.Incident]{{Index: 2, Payload: &corridor.Incident{
			ID: "i", Category: "other", Occurred: "2023-08-01", Reported: "2023-08-01", Checkpoint: "cp-city", Traffic: []string{corridor.Civilians}}}}}, []string{aghdamRoad, lachinRoad}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.Routes, tc.in.Checkpoints = routes, w.st.Checkpoints
			if got := on(corridor.RouteEvidence(tc.in)); !slices.Equal(got, tc.want) {
				t.Fatalf("evidence on %v, want %v", got, tc.want)
			}
		})
	}

	// A convoy refused at askeran, on its way across both roads: the
	// refusal is on the Aghdam road only; its clearance refusal would be
	// on both.
	c := crossing("x")
	h := corridor.ConvoyHistory{Convoy: *c, Events: []corridor.Logged[corridor.Payload]{
		{Index: 10, Payload: event("x", cp3, corridor.EvRefused, 5)},
	}}
	in := corridor.EvidenceInput{Routes: routes, Checkpoints: w.st.Checkpoints, Convoys: []corridor.ConvoyHistory{h}}
	if got := on(corridor.RouteEvidence(in)); !slices.Equal(got, []string{aghdamRoad}) {
		t.Fatalf("a refusal at askeran is evidence on %v, want [%s]", got, aghdamRoad)
	}
	// Let through at the city gate, it goes on along the Aghdam road: the
	// passage is evidence there, not on the road it came by.
	h.Events = []corridor.Logged[corridor.Payload]{{Index: 12, Payload: event("x", "cp-city", corridor.EvPassed, 4)}}
	in.Convoys = []corridor.ConvoyHistory{h}
	if got := on(corridor.RouteEvidence(in)); !slices.Equal(got, []string{aghdamRoad}) {
		t.Fatalf("a passage at the city gate on the way to aghdam is evidence on %v, want [%s]", got, aghdamRoad)
	}
	// Held there at the end of its way, a convoy on the Lachin road is
	// evidence on the road it came by.
	own := corridor.ConvoyHistory{Convoy: *convoy("own", "org"), Events: []corridor.Logged[corridor.Payload]{{Index: 13, Payload: event("own", "cp-city", corridor.EvHeld, 4)}}}
	if got := on(corridor.RouteEvidence(corridor.EvidenceInput{Routes: routes, Checkpoints: w.st.Checkpoints, Convoys: []corridor.ConvoyHistory{own}, AsOf: "2023-09-01"})); !slices.Equal(got, []string{lachinRoad}) {
		t.Fatalf("a hold at the destination is evidence on %v, want [%s]", got, lachinRoad)
	}
	h.Events = []corridor.Logged[corridor.Payload]{{Index: 11, Payload: refuse("x", "auth2", 0)}}
	in.Convoys = []corridor.ConvoyHistory{h}
	if got, want := on(corridor.RouteEvidence(in)), []string{aghdamRoad, lachinRoad}; !slices.Equal(got, want) {
		t.Fatalf("a refused clearance is evidence on %v, want %v", got, want)
	}
}

// An inspection site off the road: convoys stopped at the checkpoint are
// inspected there, but their way does not pass it.
func TestInspectionSite(t *testing.T) {
	w := newCorridor(t)
	w.must("op", corridor.TypePlace, place("depot", "checkpoint-site", 39.35, 46.20))
	cp := &corridor.Checkpoint{ID: "cp-insp", Names: []corridor.Name{{Name: "inspection", Lang: "en"}}, Route: lachinRoad, Place: "lachin", Site: "depot", Authority: "auth2"}
	bad := *cp
	bad.Site = "nowhere"
	wantErr(t, w.do("op", corridor.TypeCheckpoint, &bad), corridor.CodeInvalid, "payload.site")
	bad.Site = "lachin"
	wantErr(t, w.do("op", corridor.TypeCheckpoint, &bad), corridor.CodeInvalid, "payload.site")
	w.must("op", corridor.TypeCheckpoint, cp)
	moved := *cp
	moved.Site = "goris"
	wantErr(t, w.do("op", corridor.TypeCheckpoint, &moved), corridor.CodeConflict, "payload.site")

	w.departed("c")
	w.must("auth1", corridor.TypeCheckEvent, event("c", cp1, corridor.EvPassed, 3))
	w.must("auth2", corridor.TypeCheckEvent, event("c", cp2, corridor.EvPassed, 4))
	w.must("auth2", corridor.TypeCheckEvent, event("c", "cp-insp", corridor.EvInspected, 5))
	w.must("auth2", corridor.TypeCheckEvent, event("c", "cp-insp", corridor.EvPassed, 6))
	if way := w.st.ConvoyWay(&w.convoyState("c").Convoy); slices.Contains(way, "depot") {
		t.Fatalf("the convoy's way %v passes the inspection site", way)
	}
}
