package corridor_test

import (
	"math"
	"testing"

	"corridor"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestEnergyCatalogue(t *testing.T) {
	for _, tc := range []struct {
		item string
		kcal float64
		ok   bool
	}{
		{"wheat flour", 3500, true},
		{"  Wheat Flour ", 3500, true},
		{"flour", 3500, true},
		{"rice", 3600, true},
		{"vegetable oil", 8850, true},
		{"sugar", 4000, true},
		{"lentils", 3350, true},
		{"baby formula", 5000, true},
		{"infant formula", 5000, true},
		{"generators", 0, false},
		{"other food (pasta, rice, pulses, baby food)", 0, false}, // mixed: no single value
	} {
		kcal, ok := corridor.EnergyPerKg(tc.item)
		if kcal != tc.kcal || ok != tc.ok {
			t.Errorf("EnergyPerKg(%q) = %g, %v; want %g, %v", tc.item, kcal, ok, tc.kcal, tc.ok)
		}
	}
}

// flourConvoy is 40 t of flour and 20 generators to town, on route r.
func flourConvoy(id string) corridor.Convoy {
	return corridor.Convoy{ID: id, Route: "r", Destination: "town", Manifest: []corridor.Line{
		{Item: "wheat flour", Sector: "food", Quantity: 40, Unit: "t", Kg: 40000},
		{Item: "generators", Sector: "energy", Quantity: 20, Unit: "units", Kg: 8000},
	}}
}

func TestFortyTonnesOfFlour(t *testing.T) {
	// The design's figure: 40 t of flour feed 120,000 people for about 0.56 day.
	c := corridor.ConvoyHistory{Convoy: flourConvoy("a"), Events: []corridor.Logged[corridor.Payload]{
		logged(7, &corridor.CheckpointEvent{Checkpoint: "cp", Event: corridor.EvHeld, At: atDay(29)}),
	}}
	weeks := corridor.Coverage(corridor.CoverageInput{Population: 120000, Catchment: []string{"town"},
		Convoys: []corridor.ConvoyHistory{c}, From: day(28), To: day(31)})
	if len(weeks) != 1 {
		t.Fatalf("%d weeks, want 1", len(weeks))
	}
	w := weeks[0]
	if !near(w.HeldPD, 40000*3500/2100.0, 0.01) || !near(w.HeldPD/120000, 0.556, 0.001) {
		t.Errorf("held %g person-days = %.3f days for 120,000 people, want 66,667 = 0.556", w.HeldPD, w.HeldPD/120000)
	}
	if w.HeldKg != 48000 || w.UnratedKg != 8000 || w.DeliveredPD != 0 || w.RefusedPD != 0 {
		t.Errorf("week %+v", w)
	}
	if w.NeedPD != 4*120000 || w.Days != 4 {
		t.Errorf("need %g person-days over %d days, want 480,000 over 4", w.NeedPD, w.Days)
	}
	if len(w.Records) != 1 || w.Records[0] != 7 {
		t.Errorf("decided by %v, want the hold (7)", w.Records)
	}
}

func TestOutcome(t *testing.T) {
	ev := func(i uint64, e string, dd int, removed ...corridor.LineQty) corridor.Logged[corridor.Payload] {
		return logged(i, &corridor.CheckpointEvent{Checkpoint: "cp", Event: e, At: atDay(dd), Removed: removed})
	}
	for _, tc := range []struct {
		name    string
		events  []corridor.Logged[corridor.Payload]
		outcome string
		day     corridor.Date
		kg      float64
	}{
		{"still moving", []corridor.Logged[corridor.Payload]{ev(1, corridor.EvArrived, 2)}, "", "", 0},
		{"held", []corridor.Logged[corridor.Payload]{ev(1, corridor.EvArrived, 2), ev(2, corridor.EvHeld, 3)}, corridor.OutcomeHeld, day(3), 48000},
		{"refused after a hold", []corridor.Logged[corridor.Payload]{ev(1, corridor.EvHeld, 2), ev(2, corridor.EvRefused, 4), ev(3, corridor.EvTurnedBack, 4)}, corridor.OutcomeRefused, day(2), 48000},
		{"held, then passed with removals, then stuck for good elsewhere", []corridor.Logged[corridor.Payload]{
			ev(1, corridor.EvHeld, 2), ev(2, corridor.EvPassedLess, 3, corridor.LineQty{Line: 1, Quantity: 20, Kg: 8000}),
			logged(3, &corridor.CheckpointEvent{Checkpoint: "cp2", Event: corridor.EvRefused, At: atDay(4)})}, corridor.OutcomeRefused, day(4), 40000},
		{"held, released and delivered", []corridor.Logged[corridor.Payload]{ev(1, corridor.EvHeld, 2), ev(2, corridor.EvPassed, 3),
			logged(3, &corridor.ConvoyMove{Event: corridor.MvDelivered, At: atDay(5), Received: []corridor.LineQty{{Line: 0, Quantity: 39, Kg: 39000}}})},
			corridor.OutcomeDelivered, day(5), 39000},
	} {
		o, ok := corridor.Outcome(corridor.ConvoyHistory{Convoy: flourConvoy("a"), Events: tc.events})
		if ok != (tc.outcome != "") || o.Outcome != tc.outcome || o.Day != tc.day || o.Kg() != tc.kg {
			t.Errorf("%s: %q on %s, %g kg (ok %v); want %q on %s, %g kg", tc.name, o.Outcome, o.Day, o.Kg(), ok, tc.outcome, tc.day, tc.kg)
		}
	}
}

func TestCoverageWeeks(t *testing.T) {
	delivered := corridor.ConvoyHistory{Convoy: flourConvoy("a"), Events: []corridor.Logged[corridor.Payload]{
		logged(3, &corridor.ConvoyMove{Event: corridor.MvDelivered, At: atDay(16), Received: []corridor.LineQty{{Line: 0, Quantity: 21, Kg: 21000}}}),
	}}
	elsewhere := delivered
	elsewhere.Convoy.Destination = "city"
	// Wed 9 Aug to Tue 22 Aug 2023: a partial week, a full week, a partial week.
	weeks := corridor.Coverage(corridor.CoverageInput{Population: 1000, KcalPerDay: 2100, Catchment: []string{"town"},
		Convoys: []corridor.ConvoyHistory{delivered, elsewhere}, From: day(9), To: day(22)})
	want := []struct {
		start, end corridor.Date
		days       int
	}{{day(9), day(13), 5}, {day(14), day(20), 7}, {day(21), day(22), 2}}
	if len(weeks) != len(want) {
		t.Fatalf("%d weeks: %+v", len(weeks), weeks)
	}
	for i, w := range want {
		if weeks[i].Start != w.start || weeks[i].End != w.end || weeks[i].Days != w.days {
			t.Errorf("week %d = %s..%s (%d days), want %s..%s (%d)", i, weeks[i].Start, weeks[i].End, weeks[i].Days, w.start, w.end, w.days)
		}
	}
	// 21 t of flour = 35,000 person-days: 35 days of need for 1,000 people.
	if w := weeks[1]; !near(w.DeliveredPD, 35000, 1e-6) || !near(w.DaysCovered, 35, 1e-9) || w.DeliveredKg != 21000 {
		t.Errorf("week 2: %+v", w)
	}
	if weeks[0].DeliveredPD != 0 || weeks[2].DeliveredPD != 0 {
		t.Error("a delivery counted outside its week")
	}
}

// A line refused or held at a checkpoint counts as refused or held beside
// what the convoy delivered; a removed one counts nowhere.
func TestLineDecisions(t *testing.T) {
	c := convoy("c", "org") // line 0: 40 t flour; line 1: 500 kg medicine
	at := func(h int) corridor.CheckpointEvent {
		return corridor.CheckpointEvent{Convoy: "c", Checkpoint: cp1, Event: corridor.EvPassedLess, At: at(h), ReasonCategory: "dual-use"}
	}
	passed := at(3)
	passed.Removed = []corridor.LineQty{{Line: 0, Quantity: 10, Kg: 10000, Decision: corridor.LineHeld}, {Line: 1, Quantity: 100, Kg: 500, Decision: corridor.LineRefused}}
	h := corridor.ConvoyHistory{Convoy: *c, Events: []corridor.Logged[corridor.Payload]{{Index: 5, Payload: &passed}}}
	o, ok := corridor.Outcome(h)
	if !ok || o.Index != 5 {
		t.Fatalf("under way with lines kept: outcome %+v (%v), want one decided by index 5", o, ok)
	}
	kg := map[string]float64{}
	for _, it := range o.Items {
		kg[it.Outcome] += it.Kg
	}
	if kg[corridor.OutcomeHeld] != 10000 || kg[corridor.OutcomeRefused] != 500 {
		t.Fatalf("kept lines count %v, want 10,000 kg held and 500 kg refused", kg)
	}
	mv := move("c", corridor.MvDelivered, 5)
	mv.Received = []corridor.LineQty{{Line: 0, Quantity: 30, Kg: 30000}}
	h.Events = append(h.Events, corridor.Logged[corridor.Payload]{Index: 6, Payload: mv})
	o, _ = corridor.Outcome(h)
	kg = map[string]float64{}
	for _, it := range o.Items {
		kg[it.Outcome] += it.Kg
	}
	if o.Outcome != corridor.OutcomeDelivered || kg[corridor.OutcomeDelivered] != 30000 || kg[corridor.OutcomeHeld] != 10000 || kg[corridor.OutcomeRefused] != 500 {
		t.Fatalf("delivered with lines kept: %s %v, want 30,000 kg delivered, 10,000 held, 500 refused", o.Outcome, kg)
	}
	// A removal without a decision counts nowhere, as before.
	passed.Removed = []corridor.LineQty{{Line: 0, Quantity: 10, Kg: 10000}}
	h.Events = h.Events[1:]
	h.Events = append([]corridor.Logged[corridor.Payload]{{Index: 5, Payload: &passed}}, h.Events...)
	o, _ = corridor.Outcome(h)
	if len(o.Items) != 1 || o.Items[0].Outcome != corridor.OutcomeDelivered {
		t.Fatalf("a plain removal counts as %+v", o.Items)
	}

	// A decision is only for a line taken off at a checkpoint.
	w := newCorridor(t)
	w.departed("d")
	bad := event("d", cp1, corridor.EvPassedLess, 3)
	bad.Removed = []corridor.LineQty{{Line: 0, Quantity: 1, Kg: 1000, Decision: "confiscated"}}
	wantErr(t, w.do("auth1", corridor.TypeCheckEvent, bad), corridor.CodeInvalid, "payload.removed[0].decision")
	mvBad := move("d", corridor.MvDelivered, 4)
	mvBad.Received = []corridor.LineQty{{Line: 0, Quantity: 1, Kg: 1000, Decision: corridor.LineHeld}}
	wantErr(t, w.do("org", corridor.TypeMove, mvBad), corridor.CodeInvalid, "payload.received[0].decision")
}

// A refusal may name the line it is about (a dual-use item on the
// authority's list): that line counts as refused by itself, the rest of
// the load as refused with the convoy, and no kilogram twice.
func TestRefusalNamesItsLine(t *testing.T) {
	w := newCorridor(t)
	w.must("auth1", corridor.TypeRestricted, &corridor.RestrictedList{ID: "l1", Authority: "auth1", From: "2023-08-01",
		Items: []corridor.RestrictedItem{{Item: "Medicine", Category: "dual-use"}}})
	w.departed("c") // line 0: 40 t flour; line 1: 500 kg medicine
	refused := event("c", cp1, corridor.EvRefused, 3)
	refused.ReasonCategory = "dual-use"
	removed := *refused
	removed.Removed = []corridor.LineQty{{Line: 1, Quantity: 100, Kg: 500, Listed: true}}
	wantErr(t, w.do("auth1", corridor.TypeCheckEvent, &removed), corridor.CodeInvalid, "payload.removed[0].decision")
	held := *refused
	held.Event = corridor.EvHeld
	held.Removed = []corridor.LineQty{{Line: 1, Quantity: 100, Kg: 500, Decision: corridor.LineRefused}}
	wantErr(t, w.do("auth1", corridor.TypeCheckEvent, &held), corridor.CodeInvalid, "payload.removed")
	missing := *refused
	missing.Removed = []corridor.LineQty{{Line: 7, Quantity: 1, Kg: 1, Decision: corridor.LineRefused}}
	wantErr(t, w.do("auth1", corridor.TypeCheckEvent, &missing), corridor.CodeInvalid, "payload.removed[0].line")
	refused.Removed = []corridor.LineQty{{Line: 1, Quantity: 100, Kg: 500, Listed: true, Decision: corridor.LineRefused, ReasonCategory: "dual-use"}}
	w.must("auth1", corridor.TypeCheckEvent, refused)
	if c := w.convoyState("c"); c.Status != corridor.StatusRefused || len(c.Removed) != 1 {
		t.Fatalf("after a refusal naming line 1: status %s, lines %+v", c.Status, c.Removed)
	}

	c := convoy("c", "org")
	h := corridor.ConvoyHistory{Convoy: *c, Events: []corridor.Logged[corridor.Payload]{{Index: 9, Payload: refused}}}
	o, ok := corridor.Outcome(h)
	if !ok || o.Outcome != corridor.OutcomeRefused || o.Index != 9 {
		t.Fatalf("outcome %+v (%v), want refused by index 9", o, ok)
	}
	kg := map[string]float64{}
	for _, it := range o.Items {
		if it.Outcome != corridor.OutcomeRefused {
			t.Errorf("%s counted %s", it.Item, it.Outcome)
		}
		kg[it.Item] += it.Kg
	}
	if len(o.Items) != 2 || kg["wheat flour"] != 40000 || kg["medicine"] != 500 {
		t.Fatalf("refused items %+v, want the 40 t of flour and the named 500 kg of medicine once each", o.Items)
	}
}

// An authority's restricted list, in force from its day: a line decision
// that cites it must name an item on it; lists are never rewritten.
func TestRestrictedList(t *testing.T) {
	w := newCorridor(t)
	list := &corridor.RestrictedList{ID: "l1", Authority: "auth1", From: "2023-08-01",
		Items: []corridor.RestrictedItem{{Item: "Wheat flour", Category: "dual-use", Note: "as published"}}}
	wantErr(t, w.do("auth2", corridor.TypeRestricted, list), corridor.CodeForbidden, "payload.authority")
	w.must("auth1", corridor.TypeRestricted, list)
	wantErr(t, w.do("auth1", corridor.TypeRestricted, list), corridor.CodeConflict, "payload.id")
	earlier := *list
	earlier.ID, earlier.From = "l0", "2023-07-01"
	wantErr(t, w.do("auth1", corridor.TypeRestricted, &earlier), corridor.CodeConflict, "payload.from")
	dup := *list
	dup.ID, dup.From, dup.Items = "l2", "2023-09-01", []corridor.RestrictedItem{{Item: "rice", Category: "prohibited"}, {Item: " RICE", Category: "dual-use"}}
	wantErr(t, w.do("auth1", corridor.TypeRestricted, &dup), corridor.CodeInvalid, "payload.items[1].item")
	if got := w.st.Parties["auth1"].ListOn("2023-08-29"); got == nil || got.ID != "l1" {
		t.Fatalf("list in force on 29 August: %+v", got)
	}
	// A re-registration of the party keeps its lists.
	w.must("op", corridor.TypeParty, &corridor.Party{ID: "auth1", Kind: corridor.Authority, Names: []corridor.Name{{Name: "auth1", Lang: "en"}}, Keys: w.st.Parties["auth1"].Keys})
	if w.st.Parties["auth1"].ListOn("2023-08-29") == nil {
		t.Fatal("registering the authority again lost its restricted list")
	}

	w.departed("c")
	medicine := event("c", cp1, corridor.EvPassedLess, 3)
	medicine.Removed = []corridor.LineQty{{Line: 1, Quantity: 10, Kg: 50, Listed: true, Decision: corridor.LineRefused}}
	wantErr(t, w.do("auth1", corridor.TypeCheckEvent, medicine), corridor.CodeInvalid, "payload.removed[0].listed")
	flour := event("c", cp1, corridor.EvPassedLess, 3)
	flour.Removed = []corridor.LineQty{{Line: 0, Quantity: 10, Kg: 10000, Listed: true, Decision: corridor.LineRefused, ReasonCategory: "dual-use"}}
	w.must("auth1", corridor.TypeCheckEvent, flour)
	// auth2 has published no list.
	held := event("c", cp2, corridor.EvPassedLess, 4)
	held.Removed = []corridor.LineQty{{Line: 0, Quantity: 1, Kg: 1000, Listed: true}}
	wantErr(t, w.do("auth2", corridor.TypeCheckEvent, held), corridor.CodeInvalid, "payload.removed[0].listed")
}
