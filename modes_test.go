package corridor_test

import (
	"testing"

	"corridor"
)

func airDrop(id string) *corridor.Convoy {
	c := convoy(id, "org")
	c.Mode, c.Route, c.Origin, c.Destination = corridor.ModeAirDrop, "", "goris", "stepanakert"
	c.Vehicles = []corridor.Vehicle{{Kind: "aircraft"}}
	return c
}

// An air drop follows no route: no checkpoint, no clearance request, no
// road evidence; what it delivers counts, under its mode.
func TestAirDrop(t *testing.T) {
	w := newCorridor(t)
	c := airDrop("drop")
	w.must("org", corridor.TypeConvoy, c)
	if got := w.st.ConvoyAuthorities(c); len(got) != 0 {
		t.Fatalf("an air drop asks clearance of %v", got)
	}
	wantErr(t, w.do("auth1", corridor.TypeClearance, approve("drop", "auth1", 0)), corridor.CodeForbidden, "payload.convoy")
	w.must("org", corridor.TypeMove, move("drop", corridor.MvDeparted, 1))
	if cs := w.convoyState("drop"); cs.HasFlag(corridor.FlagNoAgreement) {
		t.Fatalf("an air drop, which needs no clearance, is flagged %v", cs.Flags)
	}
	wantErr(t, w.do("auth1", corridor.TypeCheckEvent, event("drop", cp1, corridor.EvArrived, 2)), corridor.CodeConflict, "payload.checkpoint")
	mv := move("drop", corridor.MvDelivered, 3)
	mv.Received = []corridor.LineQty{{Line: 0, Quantity: 40, Kg: 40000}}
	w.must("org", corridor.TypeMove, mv)

	h := corridor.ConvoyHistory{Convoy: *c, Events: []corridor.Logged[corridor.Payload]{{Index: 9, Payload: mv}}}
	if ev := corridor.RouteEvidence(corridor.EvidenceInput{Routes: []*corridor.Route{w.st.Routes[lachinRoad]}, Convoys: []corridor.ConvoyHistory{h}}); len(ev) != 0 {
		t.Fatalf("an air drop is road evidence: %+v", ev)
	}
	o, ok := corridor.Outcome(h)
	if !ok || o.Outcome != corridor.OutcomeDelivered || len(o.Items) != 1 || o.Items[0].Mode != corridor.ModeAirDrop {
		t.Fatalf("outcome %+v (%v), want delivered by air drop", o, ok)
	}
	weeks := corridor.Coverage(corridor.CoverageInput{Population: 1000, Catchment: []string{"stepanakert"}, Convoys: []corridor.ConvoyHistory{h}, From: "2023-08-28", To: "2023-09-03"})
	if got := weeks[0].DeliveredKgByMode; got[corridor.ModeAirDrop] != 40000 || got[corridor.ModeRoad] != 0 {
		t.Fatalf("delivered by mode %v, want 40,000 kg by air drop and none by road", got)
	}
}

func TestModeFields(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(c *corridor.Convoy)
		field string
	}{
		{"an unknown mode", func(c *corridor.Convoy) { c.Mode = "rail" }, "payload.mode"},
		{"an air drop with a route", func(c *corridor.Convoy) { c.Route = lachinRoad }, "payload.route"},
		{"a ship with a way", func(c *corridor.Convoy) { c.Mode, c.Way = corridor.ModeSea, []string{"goris", "stepanakert"} }, "payload.way"},
		{"on foot with no route", func(c *corridor.Convoy) { c.Mode = corridor.ModeFoot }, "payload.route"},
		{"by road with no route", func(c *corridor.Convoy) { c.Mode = "" }, "payload.route"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newCorridor(t)
			c := airDrop("x")
			tc.edit(c)
			wantErr(t, w.do("org", corridor.TypeConvoy, c), corridor.CodeInvalid, tc.field)
		})
	}
	w := newCorridor(t)
	c := airDrop("y")
	c.Destination = "nowhere"
	wantErr(t, w.do("org", corridor.TypeConvoy, c), corridor.CodeInvalid, "payload.destination")
}
