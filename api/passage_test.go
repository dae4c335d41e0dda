package api_test

import (
	"fmt"
	"testing"

	"corridor"
	"corridor/report"
)

// TestObservedPassageOpensCivilianDays: no convoy speaks for civilians; an
// observed passage does. Once a monitor records civilians passing the
// Lachin corridor on 30 Aug 2023, that day is open to civilians, the claim
// "not blocked to civilians" becomes consistent, and cargo is unchanged.
func TestObservedPassageOpensCivilianDays(t *testing.T) {
	e := newEnv(t, true)
	civilians := func() corridor.RouteStatus {
		var r report.RouteReport
		e.get("/api/v1/routes/lachin-corridor/status?from=2023-08-30&to=2023-08-30", &r)
		for _, tr := range r.Traffic {
			if tr.Traffic == corridor.Civilians {
				return tr.Days[0].Status
			}
		}
		t.Fatal("no civilians status")
		return ""
	}
	if s := civilians(); s != corridor.Unknown {
		t.Fatalf("civilians on 30 Aug before any observation: %s, want unknown", s)
	}
	obs := &corridor.PassageObservation{Route: "lachin-corridor", Checkpoint: "hakari", Traffic: []string{corridor.Civilians},
		From: "2023-08-30", Count: 12, Unit: "persons", Source: "test observation"}
	idx := e.mustPost(e.by("monitor", "obs-civilians-0830", corridor.TypePassage, obs))
	if s := civilians(); s != corridor.Open {
		t.Fatalf("civilians on 30 Aug after an observed passage: %s, want open", s)
	}
	var claims list[report.ClaimView]
	e.get("/api/v1/claims", &claims)
	for _, c := range claims.Items {
		if c.ID == "azerbaijan-2023-08-30" {
			if c.Verdict == nil || c.Verdict.Verdict != corridor.Consistent {
				t.Fatalf("claim %s: %+v, want consistent", c.ID, c.Verdict)
			}
			found := false
			for _, r := range c.Verdict.Records {
				found = found || r == idx
			}
			if !found {
				t.Errorf("verdict decided by %v, not by the observation at %d", c.Verdict.Records, idx)
			}
		}
	}
	// Bad observations are refused naming the field, and write nothing.
	for i, c := range []struct {
		party       string
		obs         *corridor.PassageObservation
		status      int
		code, field string
	}{
		{"monitor", &corridor.PassageObservation{Route: "lachin-corridor", Traffic: []string{"tourists"}, From: "2023-08-30"}, 400, "invalid", "records[0].payload.traffic[0]"},
		{"monitor", &corridor.PassageObservation{Route: "lachin-corridor", Traffic: []string{corridor.Civilians}, From: "2023-08-30", To: "2023-08-01"}, 400, "invalid", "records[0].payload.to"},
		{"monitor", &corridor.PassageObservation{Route: "lachin-corridor", Traffic: []string{corridor.Civilians}, From: "2023-07-01", To: "2023-08-30"}, 400, "invalid", "records[0].payload.to"},
		{"monitor", &corridor.PassageObservation{Route: "lachin-corridor", Traffic: []string{corridor.Civilians}, From: "2023-08-30", Count: -3, Unit: "persons"}, 400, "invalid", "records[0].payload.count"},
		{"monitor", &corridor.PassageObservation{Route: "nowhere", Traffic: []string{corridor.Civilians}, From: "2023-08-30"}, 400, "invalid", "records[0].payload.route"},
		{"monitor", &corridor.PassageObservation{Route: "lachin-corridor", Checkpoint: "askeran-pkc", Traffic: []string{corridor.Civilians}, From: "2023-08-30"}, 400, "invalid", "records[0].payload.checkpoint"},
		{"ru-pkc", &corridor.PassageObservation{Route: "lachin-corridor", Traffic: []string{corridor.Civilians}, From: "2023-08-30"}, 403, "forbidden", "records[0].payload.route"},
		{"am-gov", &corridor.PassageObservation{Route: "lachin-corridor", Traffic: []string{corridor.Civilians}, From: "2023-08-30"}, 403, "forbidden", "records[0].type"},
	} {
		before := e.logSize()
		wantProblem(t, e, e.post(e.by(c.party, fmt.Sprintf("obs-bad-%d", i), corridor.TypePassage, c.obs)), before, c.status, c.code, c.field)
	}
}
