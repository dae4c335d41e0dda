package store_test

import (
	"context"
	"io"
	"testing"

	"corridor"
	"corridor/app"
	"corridor/internal/testdb"
	"corridor/record"
	"corridor/report"
)

// monitoringNode loads the reference scenario into a node whose projection
// lives in dsn, then adds a verification, a route closure and an opening,
// so that every monitoring table has rows.
func monitoringNode(t *testing.T, dsn string) (string, *app.Node) {
	t.Helper()
	ctx := context.Background()
	dir, n, keys := loadScenario(t, dsn)
	var subs []*app.Submission
	sign := func(by, id, typ string, p any) *app.Submission {
		r, err := record.Sign(keys[by], id, typ, 1, p)
		if err != nil {
			t.Fatal(err)
		}
		return &app.Submission{Record: r}
	}
	subs = append(subs,
		sign("monitor", "verify-cargo", corridor.TypeIncidentVerify, &corridor.IncidentVerification{Incident: "lachin-cargo-2023-06-15", Verification: corridor.Pending}),
		sign("ru-pkc", "closure-test", corridor.TypeRouteClosed, &corridor.RouteClosure{Route: "aghdam-khankendi", Traffic: []string{corridor.Civilians}, From: "2023-08-20", ReasonCategory: "security", Reason: "test closure"}),
		sign("ru-pkc", "opening-test", corridor.TypeRouteOpened, &corridor.RouteOpening{Route: "aghdam-khankendi", Traffic: []string{corridor.Civilians}, From: "2023-08-25"}),
	)
	if _, err := n.Submit(ctx, subs); err != nil {
		t.Fatal(err)
	}
	return dir, n
}

func TestMonitoringProjectionOnEveryBackend(t *testing.T) {
	for _, b := range testdb.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			dsn := b.DSN(t)
			dir, n := monitoringNode(t, dsn)
			st := n.Store()

			inc, err := st.Incidents(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(inc) != 2 || inc[1].ID != "lachin-cargo-2023-06-15" || inc[1].Verification != corridor.Pending || inc[1].Updated <= inc[1].LogIndex {
				t.Fatalf("incidents %+v", inc)
			}
			claims, err := st.Claims(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(claims) != 3 {
				t.Fatalf("%d claims, want 3", len(claims))
			}
			for _, c := range claims {
				if len(c.Links) != 1 || c.Links[0].RecordIndex == nil {
					t.Errorf("claim %s links %+v: want one, with the linked record's log index", c.ID, c.Links)
				}
			}
			notices, err := st.RouteNotices(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(notices) != 2 || notices[0].Kind != "closed" || notices[1].Kind != "opened" || notices[0].Party != "ru-pkc" {
				t.Errorf("route notices %+v", notices)
			}
			areas, err := st.Areas(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(areas) != 1 || areas[0].Place != "karabakh" {
				t.Errorf("areas %+v", areas)
			}

			d, err := report.Load(ctx, st)
			if err != nil {
				t.Fatal(err)
			}
			rep, err := d.RouteStatus("aghdam-khankendi", "2023-08-19", "2023-08-31")
			if err != nil {
				t.Fatal(err)
			}
			civ := rep.Traffic[1]
			if civ.Traffic != corridor.Civilians || len(civ.Blockades) != 1 || civ.Blockades[0].From != "2023-08-20" || civ.Blockades[0].Days != 5 {
				t.Errorf("civilians on the Aghdam road: %+v, want one 5-day closure from 2023-08-20", civ.Blockades)
			}

			if err := n.Close(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := app.Verify(ctx, dir, dsn, io.Discard); err != nil {
				t.Fatalf("verify: %v", err)
			}
			if _, err := app.Rebuild(ctx, dir, dsn, nil); err != nil {
				t.Fatalf("rebuild: %v", err)
			}
			if _, err := app.Verify(ctx, dir, dsn, io.Discard); err != nil {
				t.Fatalf("verify after rebuild: %v", err)
			}
		})
	}
}
