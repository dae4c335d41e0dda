package corridor_test

import (
	"slices"
	"testing"

	"corridor"
)

// An observed passage is a passage for each traffic kind it names on every
// day it covers: with a denial the same day the day is restricted, alone it
// is open, and other traffic is untouched.
func TestObservedPassageEvidence(t *testing.T) {
	obs := corridor.Logged[*corridor.PassageObservation]{Index: 700, Payload: &corridor.PassageObservation{
		Route: "r", Traffic: []string{corridor.Civilians}, From: day(2), To: day(3)}}
	closure := corridor.Logged[*corridor.RouteClosure]{Index: 701, By: "a", Payload: &corridor.RouteClosure{
		Route: "r", Traffic: []string{corridor.Civilians}, From: day(3), To: day(4), ReasonCategory: "security"}}
	in := corridor.EvidenceInput{Passages: []corridor.Logged[*corridor.PassageObservation]{obs},
		Closures: []corridor.Logged[*corridor.RouteClosure]{closure}, AsOf: day(5)}
	ev := corridor.RouteEvidence(in)
	var got []corridor.RouteStatus
	for _, d := range corridor.DailyStatus(ev, "r", corridor.Civilians, day(1), day(5)) {
		got = append(got, d.Status)
	}
	want := []corridor.RouteStatus{corridor.Unknown, corridor.Open, corridor.Restricted, corridor.Blocked, corridor.Unknown}
	if !slices.Equal(got, want) {
		t.Errorf("civilians days 1–5: %v, want %v", got, want)
	}
	for _, d := range corridor.DailyStatus(ev, "r", corridor.Cargo, day(1), day(5)) {
		if d.Status != corridor.Unknown {
			t.Errorf("cargo on %s: %s; an observation of civilians says nothing of cargo", d.Date, d.Status)
		}
	}
}
