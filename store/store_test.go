package store_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"corridor/app"
	"corridor/internal/testdb"
	"corridor/record"
	"corridor/scenario"
	"corridor/store"
)

// loadScenario makes a data folder whose projection lives in dsn and loads
// the reference scenario into it through the app. It returns the folder,
// the open node and the parties' keys.
func loadScenario(t *testing.T, dsn string) (string, *app.Node, map[string]*record.Key) {
	t.Helper()
	ctx := context.Background()
	n := testdb.NewNode(t, dsn)
	dir := n.Dir
	signed, err := scenario.Reference().SignFor(dir, n.Config.Operator)
	if err != nil {
		t.Fatal(err)
	}
	if err := signed.SubmitTo(ctx, n.App); err != nil {
		t.Fatal(err)
	}
	return dir, n, signed.Keys
}

func TestProjectionOnEveryBackend(t *testing.T) {
	for _, b := range testdb.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			dsn := b.DSN(t)
			dir, n, _ := loadScenario(t, dsn)
			st := n.Store()

			convoys, err := st.Convoys(ctx, store.ConvoyFilter{})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, c := range convoys {
				got[c.ID] = c.Status + "@" + c.Checkpoint
			}
			want := map[string]string{"am-2023-07": "held@hakari", "arcs-2023-08": "held@askeran-pkc", "fr-2023-08": "refused@hakari"}
			for id, w := range want {
				if got[id] != w {
					t.Errorf("convoy %s: %s, want %s", id, got[id], w)
				}
			}
			held, err := st.Convoys(ctx, store.ConvoyFilter{Route: "lachin-corridor", Status: "held"})
			if err != nil {
				t.Fatal(err)
			}
			if len(held) != 1 || held[0].ID != "am-2023-07" {
				t.Errorf("held on the Lachin corridor: %+v, want only am-2023-07", held)
			}
			c, err := st.Convoy(ctx, "fr-2023-08")
			if err != nil {
				t.Fatal(err)
			}
			var events []string
			for _, e := range c.Events {
				events = append(events, e.Event+"/"+e.Party)
			}
			if strings.Join(events, ",") != "filed/fr-cities,departed/fr-cities,refused/az-sbs" {
				t.Errorf("history of fr-2023-08: %v", events)
			}
			if _, err := st.Convoy(ctx, "nope"); err == nil {
				t.Error("unknown convoy: no error")
			}
			cps, err := st.Checkpoints(ctx, "aghdam-khankendi")
			if err != nil {
				t.Fatal(err)
			}
			if len(cps) != 1 || cps[0].Authority != "ru-pkc" {
				t.Errorf("checkpoints on the Aghdam road: %+v", cps)
			}
			recs, err := st.Records(ctx, 2, 5)
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != 5 || recs[0].Index != 3 || recs[4].Index != 7 {
				t.Errorf("records after 2, limit 5: got %d starting at %d", len(recs), recs[0].Index)
			}
			if err := n.Close(ctx); err != nil {
				t.Fatal(err)
			}
			// The projection on this backend equals an SQLite replay of the log.
			if _, err := app.Verify(ctx, dir, dsn, io.Discard); err != nil {
				t.Fatalf("verify against %s: %v", b.Name, err)
			}
			// Rebuild on this backend, then verify again.
			if _, err := app.Rebuild(ctx, dir, dsn, io.Discard); err != nil {
				t.Fatal(err)
			}
			if _, err := app.Verify(ctx, dir, dsn, io.Discard); err != nil {
				t.Fatalf("verify after rebuild on %s: %v", b.Name, err)
			}
		})
	}
}

func TestMigrationsAreIdempotent(t *testing.T) {
	for _, b := range testdb.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			dsn := b.DSN(t)
			for i := 0; i < 2; i++ {
				s, err := store.Open(ctx, dsn)
				if err != nil {
					t.Fatalf("open %d: %v", i, err)
				}
				if n, err := s.Applied(ctx); err != nil || n != 0 {
					t.Fatalf("applied = %d, %v; want 0", n, err)
				}
				s.Close()
			}
		})
	}
}

func TestPrivateValuesSurviveRebuild(t *testing.T) {
	ctx := context.Background()
	dsn := filepath.Join(t.TempDir(), "p.db")
	dir, n, _ := loadScenario(t, dsn)
	c, err := n.Store().Convoy(ctx, "am-2023-07")
	if err != nil {
		t.Fatal(err)
	}
	plate := c.Filing.Vehicles[0].Plate
	n.Close(ctx)
	if _, err := app.Rebuild(ctx, dir, dsn, io.Discard); err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.Private(ctx, []string{plate})
	if err != nil {
		t.Fatal(err)
	}
	if got[plate].Value != "DEMO-AM-01" {
		t.Errorf("plate behind %s after rebuild: %q, want DEMO-AM-01", plate, got[plate].Value)
	}
}

// A projection made before vehicles were counted (migration 10) gets
// them from the convoys' filings when it is opened: the tables are then
// those a fresh projection has.
func TestVehiclesBackfilledOnUpgrade(t *testing.T) {
	for _, b := range testdb.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			dsn := b.DSN(t)
			// The second scenario delivers (an air drop); the reference one does not.
			data, err := os.ReadFile("../scenario/gaza-2024.json")
			if err != nil {
				t.Fatal(err)
			}
			sc, err := scenario.Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			n := testdb.NewNode(t, dsn)
			signed, err := sc.SignFor(n.Dir, n.Config.Operator)
			if err != nil {
				t.Fatal(err)
			}
			if err := signed.SubmitTo(ctx, n.App); err != nil {
				t.Fatal(err)
			}
			want, err := n.Store().Dump(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(want["delivered_vehicles"]) == 0 {
				t.Fatal("the scenario delivers nothing: the backfill is not exercised")
			}
			db := n.Store().DB()
			for _, q := range []string{`DELETE FROM schema_migrations WHERE version = 10`, `DROP TABLE delivered_vehicles`, `ALTER TABLE convoy_outcomes DROP COLUMN vehicles`} {
				if _, err := db.ExecContext(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			n.Close(ctx)
			s, err := store.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			got, err := s.Dump(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, table := range []string{"convoy_outcomes", "delivered_vehicles"} {
				if !slices.Equal(got[table], want[table]) {
					t.Errorf("%s after the upgrade:\n%v\nwant\n%v", table, got[table], want[table])
				}
			}
		})
	}
}
