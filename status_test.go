package corridor_test

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"corridor"
)

func TestDayStatus(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    corridor.DayCounts
		want corridor.RouteStatus
	}{
		{"no records", corridor.DayCounts{}, corridor.Unknown},
		{"one passage", corridor.DayCounts{Passages: 1}, corridor.Open},
		{"many passages", corridor.DayCounts{Passages: 9}, corridor.Open},
		{"one refusal", corridor.DayCounts{Denials: 1}, corridor.Blocked},
		{"holds and refusals", corridor.DayCounts{Denials: 4}, corridor.Blocked},
		{"mixed: passage and refusal", corridor.DayCounts{Passages: 1, Denials: 1}, corridor.Restricted},
		{"mixed: many passages, one hold", corridor.DayCounts{Passages: 20, Denials: 1}, corridor.Restricted},
		{"mixed: one passage, many holds", corridor.DayCounts{Passages: 1, Denials: 20}, corridor.Restricted},
		{"passed with removals only", corridor.DayCounts{Removals: 1}, corridor.Restricted},
		{"mixed: removal and passage", corridor.DayCounts{Passages: 2, Removals: 1}, corridor.Restricted},
		{"mixed: removal and refusal", corridor.DayCounts{Removals: 1, Denials: 1}, corridor.Restricted},
		{"mixed: all three", corridor.DayCounts{Passages: 1, Removals: 1, Denials: 1}, corridor.Restricted},
	} {
		if got := corridor.DayStatus(tc.c); got != tc.want {
			t.Errorf("%s: DayStatus(%+v) = %s, want %s", tc.name, tc.c, got, tc.want)
		}
	}
}

// day is 2023-08-DD.
func day(dd int) corridor.Date {
	return corridor.Date(time.Date(2023, 8, dd, 0, 0, 0, 0, time.UTC).Format(time.DateOnly))
}

// atDay is 12:00 at +04:00 on 2023-08-DD.
func atDay(dd int) time.Time {
	return time.Date(2023, 8, dd, 12, 0, 0, 0, time.FixedZone("+04", 4*3600))
}

func logged(i uint64, p corridor.Payload) corridor.Logged[corridor.Payload] {
	return corridor.Logged[corridor.Payload]{Index: i, Payload: p}
}

func statuses(days []corridor.Day) []corridor.RouteStatus {
	out := make([]corridor.RouteStatus, len(days))
	for i, d := range days {
		out[i] = d.Status
	}
	return out
}

func TestRouteEvidenceRules(t *testing.T) {
	const (
		O = corridor.Open
		R = corridor.Restricted
		B = corridor.Blocked
		U = corridor.Unknown
	)
	cps := map[string]*corridor.Checkpoint{"cp": {ID: "cp", Route: "r"}}
	cv := func(id string, events ...corridor.Logged[corridor.Payload]) corridor.ConvoyHistory {
		return corridor.ConvoyHistory{Convoy: corridor.Convoy{ID: id, Route: "r", Destination: "town"}, Events: events}
	}
	cpEvent := func(ev string, dd int) *corridor.CheckpointEvent {
		return &corridor.CheckpointEvent{Checkpoint: "cp", Event: ev, At: atDay(dd)}
	}
	incident := func(from, to int, verification string, traffic ...string) corridor.Logged[*corridor.Incident] {
		return corridor.Logged[*corridor.Incident]{Index: 900, Payload: &corridor.Incident{ID: "i", Route: "r", Occurred: day(from), Until: day(to), Traffic: traffic, Verification: verification}}
	}
	for _, tc := range []struct {
		name    string
		in      corridor.EvidenceInput
		traffic string
		want    []corridor.RouteStatus // days 1 to 7
	}{
		{name: "nothing", traffic: corridor.Cargo, want: []corridor.RouteStatus{U, U, U, U, U, U, U}},
		{name: "a passage", traffic: corridor.Cargo,
			in:   corridor.EvidenceInput{Convoys: []corridor.ConvoyHistory{cv("a", logged(1, cpEvent(corridor.EvPassed, 2)))}},
			want: []corridor.RouteStatus{U, O, U, U, U, U, U}},
		{name: "hold lasts to the next event", traffic: corridor.Cargo,
			in: corridor.EvidenceInput{Convoys: []corridor.ConvoyHistory{cv("a",
				logged(1, cpEvent(corridor.EvHeld, 2)), logged(2, cpEvent(corridor.EvPassed, 5)))}},
			want: []corridor.RouteStatus{U, B, B, B, R, U, U}},
		{name: "a clearance answer does not end a hold", traffic: corridor.Cargo,
			in: corridor.EvidenceInput{AsOf: day(5), Convoys: []corridor.ConvoyHistory{cv("a",
				logged(1, cpEvent(corridor.EvHeld, 2)), logged(2, &corridor.ClearanceAnswer{Decision: corridor.Approved, At: atDay(3)}))}},
			want: []corridor.RouteStatus{U, B, B, B, B, U, U}},
		{name: "hold with no later event lasts to AsOf", traffic: corridor.Cargo,
			in:   corridor.EvidenceInput{AsOf: day(6), Convoys: []corridor.ConvoyHistory{cv("a", logged(1, cpEvent(corridor.EvHeld, 3)))}},
			want: []corridor.RouteStatus{U, U, B, B, B, B, U}},
		{name: "mixed day: one convoy passes, another is refused", traffic: corridor.Cargo,
			in: corridor.EvidenceInput{Convoys: []corridor.ConvoyHistory{
				cv("a", logged(1, cpEvent(corridor.EvPassed, 4))),
				cv("b", logged(2, cpEvent(corridor.EvRefused, 4)), logged(3, cpEvent(corridor.EvTurnedBack, 5)))}},
			want: []corridor.RouteStatus{U, U, U, R, B, U, U}},
		{name: "removals restrict", traffic: corridor.Cargo,
			in: corridor.EvidenceInput{Convoys: []corridor.ConvoyHistory{cv("a",
				logged(1, &corridor.CheckpointEvent{Checkpoint: "cp", Event: corridor.EvPassedLess, At: atDay(1)}),
				logged(2, &corridor.ConvoyMove{Event: corridor.MvDelivered, At: atDay(2)}))}},
			want: []corridor.RouteStatus{R, O, U, U, U, U, U}},
		{name: "clearance refused", traffic: corridor.Cargo,
			in: corridor.EvidenceInput{Convoys: []corridor.ConvoyHistory{cv("a",
				logged(1, &corridor.ClearanceAnswer{Decision: corridor.Refused, At: atDay(3)}),
				logged(2, &corridor.ClearanceAnswer{Decision: corridor.Approved, At: atDay(4)}))}},
			want: []corridor.RouteStatus{U, U, B, U, U, U, U}},
		{name: "incident with traffic", traffic: corridor.Cargo,
			in:   corridor.EvidenceInput{Checkpoints: cps, Incidents: []corridor.Logged[*corridor.Incident]{incident(2, 4, corridor.Unverified, corridor.Cargo)}},
			want: []corridor.RouteStatus{U, B, B, B, U, U, U}},
		{name: "incident and a passage the same day", traffic: corridor.Cargo,
			in: corridor.EvidenceInput{Incidents: []corridor.Logged[*corridor.Incident]{incident(2, 4, corridor.Verified, corridor.Cargo)},
				Convoys: []corridor.ConvoyHistory{cv("a", logged(1, cpEvent(corridor.EvPassed, 3)))}},
			want: []corridor.RouteStatus{U, B, R, B, U, U, U}},
		{name: "rejected incident does not count", traffic: corridor.Cargo,
			in:   corridor.EvidenceInput{Incidents: []corridor.Logged[*corridor.Incident]{incident(2, 4, corridor.Rejected, corridor.Cargo)}},
			want: []corridor.RouteStatus{U, U, U, U, U, U, U}},
		{name: "falsely attributed incident does not count", traffic: corridor.Cargo,
			in:   corridor.EvidenceInput{Incidents: []corridor.Logged[*corridor.Incident]{incident(2, 4, corridor.FalselyAttributed, corridor.Cargo)}},
			want: []corridor.RouteStatus{U, U, U, U, U, U, U}},
		{name: "civilians apart from cargo", traffic: corridor.Civilians,
			in: corridor.EvidenceInput{Incidents: []corridor.Logged[*corridor.Incident]{incident(5, 6, corridor.Pending, corridor.Civilians)},
				Convoys: []corridor.ConvoyHistory{cv("a", logged(1, cpEvent(corridor.EvRefused, 2)))}},
			want: []corridor.RouteStatus{U, U, U, U, B, B, U}},
		{name: "incident without traffic is not status evidence", traffic: corridor.Cargo,
			in:   corridor.EvidenceInput{Incidents: []corridor.Logged[*corridor.Incident]{incident(2, 4, corridor.Verified)}},
			want: []corridor.RouteStatus{U, U, U, U, U, U, U}},
		{name: "open-ended closure ended by the same authority's opening", traffic: corridor.Cargo,
			in: corridor.EvidenceInput{AsOf: day(7),
				Closures: []corridor.Logged[*corridor.RouteClosure]{{Index: 5, By: "auth", Payload: &corridor.RouteClosure{Route: "r", Traffic: []string{corridor.Cargo}, From: day(2)}}},
				Openings: []corridor.Logged[*corridor.RouteOpening]{
					{Index: 6, By: "other", Payload: &corridor.RouteOpening{Route: "r", Traffic: []string{corridor.Cargo}, From: day(3)}},
					{Index: 7, By: "auth", Payload: &corridor.RouteOpening{Route: "r", Traffic: []string{corridor.Cargo}, From: day(5)}}}},
			want: []corridor.RouteStatus{U, B, B, B, U, U, U}},
		{name: "closure with an end", traffic: corridor.Civilians,
			in: corridor.EvidenceInput{AsOf: day(7),
				Closures: []corridor.Logged[*corridor.RouteClosure]{{Index: 5, By: "auth", Payload: &corridor.RouteClosure{Route: "r", Traffic: []string{corridor.Civilians}, From: day(6), To: day(9)}}}},
			want: []corridor.RouteStatus{U, U, U, U, U, B, B}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			days := corridor.DailyStatus(corridor.RouteEvidence(tc.in), "r", tc.traffic, day(1), day(7))
			if got := statuses(days); !slices.Equal(got, tc.want) {
				t.Errorf("statuses %v, want %v", got, tc.want)
			}
			for _, d := range days {
				if (d.Status == corridor.Unknown) != (len(d.Records) == 0) {
					t.Errorf("%s: %s decided by records %v", d.Date, d.Status, d.Records)
				}
			}
		})
	}
}

func TestDailyStatusOtherRoute(t *testing.T) {
	ev := []corridor.Evidence{{Route: "r", Traffic: corridor.Cargo, Kind: corridor.Denial, From: day(1), To: day(3), Index: 1}}
	days := corridor.DailyStatus(ev, "other", corridor.Cargo, day(1), day(3))
	if got := statuses(days); !slices.Equal(got, []corridor.RouteStatus{corridor.Unknown, corridor.Unknown, corridor.Unknown}) {
		t.Errorf("another route's evidence leaked: %v", got)
	}
}

func TestBlockades(t *testing.T) {
	ev := []corridor.Evidence{
		{Route: "r", Traffic: corridor.Cargo, Kind: corridor.Denial, From: day(1), To: day(10), Index: 1},
		{Route: "r", Traffic: corridor.Cargo, Kind: corridor.Passage, From: day(4), To: day(4), Index: 2},
		{Route: "r", Traffic: corridor.Cargo, Kind: corridor.Denial, From: day(9), To: day(12), Index: 3},
	}
	b := corridor.Blockades(corridor.DailyStatus(ev, "r", corridor.Cargo, day(1), day(14)))
	want := []corridor.Blockade{
		{From: day(1), To: day(3), Days: 3, Records: []uint64{1}},
		{From: day(5), To: day(12), Days: 8, Records: []uint64{1, 3}},
	}
	if len(b) != len(want) {
		t.Fatalf("blockades %+v, want %+v", b, want)
	}
	for i := range b {
		if b[i].From != want[i].From || b[i].To != want[i].To || b[i].Days != want[i].Days || !slices.Equal(b[i].Records, want[i].Records) {
			t.Errorf("blockade %d = %+v, want %+v", i, b[i], want[i])
		}
	}
}

// TestAddingPassageNeverBlocks is the property: adding a passage record
// can never turn a day from open to blocked (nor, indeed, make any day
// blocked). It is checked on random evidence, on the rule and on the whole
// derivation.
func TestAddingPassageNeverBlocks(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 2023))
	kinds := []corridor.EvidenceKind{corridor.Passage, corridor.Removal, corridor.Denial}
	for n := 0; n < 2000; n++ {
		c := corridor.DayCounts{Passages: rng.IntN(3), Removals: rng.IntN(3), Denials: rng.IntN(3)}
		before := corridor.DayStatus(c)
		c.Passages++
		after := corridor.DayStatus(c)
		if after == corridor.Blocked || (before == corridor.Open && after != corridor.Open) {
			t.Fatalf("adding a passage to %+v turned %s into %s", c, before, after)
		}

		var ev []corridor.Evidence
		for i := rng.IntN(12); i > 0; i-- {
			from := rng.IntN(14) + 1
			ev = append(ev, corridor.Evidence{Route: "r", Traffic: corridor.Cargo, Kind: kinds[rng.IntN(3)],
				From: day(from), To: day(from + rng.IntN(5)), Index: uint64(i)})
		}
		pd := rng.IntN(14) + 1
		more := append(slices.Clone(ev), corridor.Evidence{Route: "r", Traffic: corridor.Cargo, Kind: corridor.Passage, From: day(pd), To: day(pd), Index: 99})
		a := corridor.DailyStatus(ev, "r", corridor.Cargo, day(1), day(20))
		b := corridor.DailyStatus(more, "r", corridor.Cargo, day(1), day(20))
		for i := range a {
			if b[i].Status == corridor.Blocked && a[i].Status != corridor.Blocked {
				t.Fatalf("%s: adding a passage on %s turned %s into blocked\nevidence %+v", a[i].Date, day(pd), a[i].Status, ev)
			}
			if a[i].Status == corridor.Open && b[i].Status != corridor.Open {
				t.Fatalf("%s: adding a passage turned open into %s", a[i].Date, b[i].Status)
			}
			if b[i].Date == day(pd) && b[i].Status == corridor.Blocked {
				t.Fatalf("%s: blocked on the day of a passage", b[i].Date)
			}
		}
	}
}

func TestJudgeRoute(t *testing.T) {
	mk := func(s ...corridor.RouteStatus) []corridor.Day {
		out := make([]corridor.Day, len(s))
		for i, x := range s {
			out[i] = corridor.Day{Date: day(i + 1), Status: x}
			if x != corridor.Unknown {
				out[i].Records = []uint64{uint64(10 + i)}
			}
		}
		return out
	}
	const (
		O = corridor.Open
		R = corridor.Restricted
		B = corridor.Blocked
		U = corridor.Unknown
	)
	for _, tc := range []struct {
		kind    string
		days    []corridor.Day
		verdict string
		records []uint64
	}{
		{corridor.AssertOpen, mk(O, R, O), corridor.Consistent, []uint64{10, 11, 12}},
		{corridor.AssertOpen, mk(O, B, U), corridor.Contradicted, []uint64{11}},
		{corridor.AssertOpen, mk(O, U), corridor.NoEvidence, []uint64{10}},
		{corridor.AssertOpen, mk(U), corridor.NoEvidence, []uint64{}},
		{corridor.AssertBlocked, mk(B, B), corridor.Consistent, []uint64{10, 11}},
		{corridor.AssertBlocked, mk(B, R, B), corridor.Contradicted, []uint64{11}},
		{corridor.AssertBlocked, mk(B, U), corridor.NoEvidence, []uint64{10}},
	} {
		v := corridor.JudgeRoute(tc.kind, tc.days)
		if v.Verdict != tc.verdict || !slices.Equal(v.Records, tc.records) {
			t.Errorf("%s over %v: %s by %v, want %s by %v", tc.kind, statuses(tc.days), v.Verdict, v.Records, tc.verdict, tc.records)
		}
	}
}

func TestJudgeDelivered(t *testing.T) {
	for _, tc := range []struct {
		claimed, kg        float64
		deliveries, others []uint64
		want               string
	}{
		{40, 40000, []uint64{3}, nil, corridor.Consistent},
		{40, 37000, []uint64{3}, nil, corridor.Consistent},
		{40, 20000, []uint64{3}, nil, corridor.Contradicted},
		{40, 0, nil, []uint64{5}, corridor.Contradicted}, // held, not delivered
		{40, 0, nil, nil, corridor.NoEvidence},
	} {
		if v := corridor.JudgeDelivered(tc.claimed, tc.kg, tc.deliveries, tc.others); v.Verdict != tc.want {
			t.Errorf("claimed %g t, recorded %g kg: %s, want %s", tc.claimed, tc.kg, v.Verdict, tc.want)
		}
	}
}
