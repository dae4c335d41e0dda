package report

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"corridor"
	"corridor/app"
	"corridor/internal/testdb"
	"corridor/record"
	"corridor/scenario"
	"corridor/store"
)

// TestDerivedViewsEqualRecompute is the property test of the derived
// tables: after random sequences of records, submitted one by one and in
// batches, the route status, blockades, claim verdicts, coverage and
// incident list the store keeps incrementally equal what the rules give
// when recomputed from scratch over whole tables (Load).
func TestDerivedViewsEqualRecompute(t *testing.T) {
	// Small export pages, so that exports cross many page boundaries.
	defer func(n int) { exportPage = n }(exportPage)
	exportPage = 3
	for _, b := range testdb.Backends(t) {
		for seed := uint64(1); seed <= 3; seed++ {
			t.Run(fmt.Sprintf("%s/seed-%d", b.Name, seed), func(t *testing.T) { derivedRun(t, b.DSN(t), seed) })
		}
	}
}

func derivedRun(t *testing.T, dsn string, seed uint64) {
	ctx := context.Background()
	n := testdb.NewNode(t, dsn)
	defer n.Close(ctx)
	dir := n.Dir
	signed, err := scenario.Reference().SignFor(dir, n.Config.Operator)
	if err != nil {
		t.Fatal(err)
	}
	if err := signed.SubmitTo(ctx, n.App); err != nil {
		t.Fatal(err)
	}
	g := &gen{rng: rand.New(rand.NewPCG(seed, 7)), keys: signed.Keys, operator: n.Config.Operator, special: map[string]string{}}
	accepted, tried := 0, 0
	types := map[string]int{}
	for step := 0; step < 60; step++ {
		batch := g.next(step)
		tried += len(batch)
		// Half the time the batch goes in whole (all or nothing),
		// otherwise record by record.
		if g.rng.IntN(2) == 0 {
			if _, err := n.Submit(ctx, batch); err == nil {
				accepted += len(batch)
				for _, s := range batch {
					g.label(types, s)
				}
			}
		} else {
			for _, s := range batch {
				if _, err := n.Submit(ctx, []*app.Submission{s}); err == nil {
					accepted++
					g.label(types, s)
				} else if testing.Verbose() {
					t.Logf("refused %s: %v", s.Record.Type, err)
				}
			}
		}
		if step%20 == 19 {
			compareViews(t, n.Store())
		}
	}
	if accepted < tried/4 {
		t.Fatalf("only %d of %d generated records were accepted: the generator no longer exercises the rules", accepted, tried)
	}
	for _, typ := range []string{corridor.TypeConvoy, corridor.TypeCheckEvent, corridor.TypeMove, corridor.TypeIncident, corridor.TypeClaim, corridor.TypeRouteClosed, corridor.TypeRoute, "way", "closure at a checkpoint"} {
		if types[typ] == 0 {
			t.Errorf("no %s record was accepted: the generator no longer exercises it (accepted: %v)", typ, types)
		}
	}
	compareViews(t, n.Store())
}

// compareViews checks every derived view against a recompute.
func compareViews(t *testing.T, st *store.Store) {
	t.Helper()
	ctx := context.Background()
	d, err := Load(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range d.Routes {
		want, err := d.RouteStatus(r.ID, "", "")
		if err != nil {
			t.Fatal(err)
		}
		got, err := RouteStatusOf(ctx, st, r.ID, "", "")
		if err != nil {
			t.Fatal(err)
		}
		if got.From != want.From || got.To != want.To || got.AsOf != want.AsOf {
			t.Fatalf("route %s: period %s..%s as of %s, recomputed %s..%s as of %s", r.ID, got.From, got.To, got.AsOf, want.From, want.To, want.AsOf)
		}
		for i, wt := range want.Traffic {
			gt := got.Traffic[i]
			if len(gt.Days) != len(wt.Days) {
				t.Fatalf("route %s %s: %d days, recomputed %d", r.ID, wt.Traffic, len(gt.Days), len(wt.Days))
			}
			for j, wd := range wt.Days {
				gd := gt.Days[j]
				if gd.Status != wd.Status || gd.Counts != wd.Counts {
					t.Fatalf("route %s %s on %s: %s %+v, recomputed %s %+v", r.ID, wt.Traffic, wd.Date, gd.Status, gd.Counts, wd.Status, wd.Counts)
				}
				if w := deciding(d.evidence, r.ID, wt.Traffic, wd.Date); !slices.Equal(gd.Records, w) {
					t.Fatalf("route %s %s on %s: deciding records %v, recomputed %v", r.ID, wt.Traffic, wd.Date, gd.Records, w)
				}
			}
			if len(gt.Blockades) != len(wt.Blockades) || gt.Current != wt.Current || fmt.Sprint(gt.Totals) != fmt.Sprint(wt.Totals) {
				t.Fatalf("route %s %s: blockades %d current %s totals %v, recomputed %d %s %v", r.ID, wt.Traffic,
					len(gt.Blockades), gt.Current, gt.Totals, len(wt.Blockades), wt.Current, wt.Totals)
			}
		}
	}
	want := d.ClaimViews()
	got, err := ClaimsPage(ctx, st, store.Page{After: -1, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d claims, recomputed %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if (g.Verdict == nil) != (w.Verdict == nil) {
			t.Fatalf("claim %s: verdict %v, recomputed %v", w.ID, g.Verdict, w.Verdict)
		}
		if w.Verdict != nil && (g.Verdict.Verdict != w.Verdict.Verdict || fmt.Sprint(g.Verdict.Days) != fmt.Sprint(w.Verdict.Days)) {
			t.Fatalf("claim %s: verdict %s %v, recomputed %s %v", w.ID, g.Verdict.Verdict, g.Verdict.Days, w.Verdict.Verdict, w.Verdict.Days)
		}
		if g.Speaker != w.Speaker || g.Quote != w.Quote {
			t.Fatalf("claim %s: speaker %q quote %q, recomputed %q %q", w.ID, g.Speaker, g.Quote, w.Speaker, w.Quote)
		}
	}
	for _, p := range d.Places {
		if !p.IsSettlement() || p.Population <= 0 {
			continue
		}
		want, err := d.Coverage(p.ID, "", "", 0)
		if err != nil {
			t.Fatal(err)
		}
		got, err := CoverageOf(ctx, st, p.ID, "", "", 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Weeks) != len(want.Weeks) {
			t.Fatalf("coverage of %s: %d weeks, recomputed %d", p.ID, len(got.Weeks), len(want.Weeks))
		}
		for i, w := range want.Weeks {
			g := got.Weeks[i]
			for _, pair := range [][2]float64{{g.DeliveredKg, w.DeliveredKg}, {g.HeldKg, w.HeldKg}, {g.RefusedKg, w.RefusedKg}, {g.DeliveredPD, w.DeliveredPD}, {g.HeldPD, w.HeldPD}, {g.UnratedKg, w.UnratedKg}} {
				if math.Abs(pair[0]-pair[1]) > 1e-6*math.Max(1, math.Abs(pair[1])) {
					t.Fatalf("coverage of %s, week of %s: %+v, recomputed %+v", p.ID, w.Start, g, w)
				}
			}
			if !slices.Equal(g.Records, firstPerDay(d, p.ID, w)) {
				t.Fatalf("coverage of %s, week of %s: records %v, recomputed %v", p.ID, w.Start, g.Records, w.Records)
			}
		}
	}
	for _, cp := range d.Checkpoints {
		at, ap, atN, apN, err := st.Queue(ctx, cp.ID, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if atN != len(at) || apN != len(ap) {
			t.Fatalf("checkpoint %s: queue counts %d waiting and %d approaching, lists %d and %d", cp.ID, atN, apN, len(at), len(ap))
		}
	}
	wantInc := d.IncidentViews()
	gotInc, err := IncidentsPage(ctx, st, "", store.IncidentCursor{}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(gotInc) != len(wantInc) {
		t.Fatalf("%d incidents, recomputed %d", len(gotInc), len(wantInc))
	}
	for i, w := range wantInc {
		if g := gotInc[i]; jsonOf(t, g) != jsonOf(t, w) {
			t.Fatalf("incident %d: %+v\nrecomputed %+v", i, g, w)
		}
	}
	months := map[string]int{}
	for _, w := range wantInc {
		months[w.Occurred[:7]]++
	}
	for m, want := range months {
		if got, err := st.IncidentsInMonth(ctx, m); err != nil || got != want {
			t.Fatalf("incidents in %s: %d (%v), recomputed %d", m, got, err, want)
		}
	}
	// Every export, streamed from store pages, is byte for byte the one
	// written from whole tables.
	for _, kind := range ExportKinds {
		for _, format := range ExportFormats {
			if CheckExport(kind, format) != nil {
				continue
			}
			var got, want bytes.Buffer
			if err := Export(ctx, st, &got, kind, format); err != nil {
				t.Fatalf("export %s.%s: %v", kind, format, err)
			}
			if err := d.Export(&want, kind, format); err != nil {
				t.Fatal(err)
			}
			if got.String() != want.String() {
				g, w := strings.Split(got.String(), "\n"), strings.Split(want.String(), "\n")
				for i := range min(len(g), len(w)) {
					if g[i] != w[i] {
						t.Fatalf("export %s.%s line %d:\n%s\nrecomputed\n%s", kind, format, i+1, g[i], w[i])
					}
				}
				t.Fatalf("export %s.%s: %d lines, recomputed %d", kind, format, len(g), len(w))
			}
		}
	}
}

func jsonOf(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// deciding is the recomputed list of a day's deciding records: per kind
// of evidence, the DecidingPerDay earliest.
func deciding(ev []corridor.Evidence, route, traffic string, day corridor.Date) []uint64 {
	per := map[corridor.EvidenceKind][]uint64{}
	for _, e := range ev {
		if e.Route == route && e.Traffic == traffic && e.From <= day && e.To >= day {
			per[e.Kind] = append(per[e.Kind], e.Index)
		}
	}
	out := []uint64{}
	for _, list := range per {
		slices.Sort(list)
		list = slices.Compact(list)
		out = append(out, list[:min(len(list), store.DecidingPerDay)]...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// firstPerDay is the recomputed list of a coverage week's records: per
// destination and day, the DecidingPerDay earliest.
func firstPerDay(d *Data, place string, w corridor.Week) []uint64 {
	per := map[string][]uint64{}
	for _, h := range d.Histories {
		if !slices.Contains(d.Catchment(place), h.Convoy.Destination) {
			continue
		}
		o, ok := corridor.Outcome(h)
		if !ok || o.Day < w.Start || o.Day > w.End {
			continue
		}
		k := h.Convoy.Destination + " " + string(o.Day)
		per[k] = append(per[k], o.Index)
	}
	out := []uint64{}
	for _, list := range per {
		slices.Sort(list)
		out = append(out, list[:min(len(list), store.DecidingPerDay)]...)
	}
	slices.Sort(out)
	return out
}

// gen makes random records on the reference scenario's roads: convoys
// that are held, pass, lose items, are refused or turned back and
// deliver; incidents and their verifications; closures with and without
// an end and the openings that end them; observed passages; claims.
type gen struct {
	rng      *rand.Rand
	keys     map[string]*record.Key
	operator string
	n        int
	open     []string // convoys not yet finished
	incs     []string
	link     bool // the bypass road from askeran-post to khankendi is registered
	// special labels the records that exercise the road network, by id.
	special map[string]string
}

// label counts an accepted record under its type and, if it has one, its
// label.
func (g *gen) label(types map[string]int, s *app.Submission) {
	types[s.Record.Type]++
	if l := g.special[s.Record.ID]; l != "" {
		types[l]++
	}
}

func (g *gen) day(base int) string {
	return string(corridor.AddDays("2023-08-01", base+g.rng.IntN(5)))
}

func (g *gen) sign(by, typ string, payload map[string]any) *app.Submission {
	g.n++
	r, err := record.Sign(g.keys[by], fmt.Sprintf("gen-%d-%s", g.n, typ), typ, 1, payload)
	if err != nil {
		panic(err)
	}
	return &app.Submission{Record: r}
}

func (g *gen) next(step int) []*app.Submission {
	var out []*app.Submission
	if step == 20 {
		// A road registered while convoys are under way, through the
		// checkpoint of another: evidence there is on both from then on.
		out = append(out, g.sign(g.operator, corridor.TypeRoute, map[string]any{"id": "gen-link", "names": []any{map[string]any{"name": "Generated bypass", "lang": "en"}},
			"places": []string{"askeran-post", "khankendi"}}))
		g.link = true
		return out
	}
	for range 1 + g.rng.IntN(4) {
		day := g.day(step / 2)
		at := day + "T" + fmt.Sprintf("%02d", 8+g.rng.IntN(10)) + ":00:00+04:00"
		switch k := g.rng.IntN(10); {
		case k < 3 || len(g.open) == 0:
			id := fmt.Sprintf("gc-%d", g.n)
			c := map[string]any{
				"id": id, "organisation": "arcs", "route": "aghdam-khankendi", "origin": "aghdam", "destination": "khankendi", "planned": day,
				"vehicles": []any{map[string]any{"kind": "lorry"}},
				"manifest": []any{map[string]any{"item": []string{"wheat flour", "rice", "medicine"}[g.rng.IntN(3)], "sector": "food", "quantity": 10, "unit": "t", "kg": 1000 * (1 + g.rng.IntN(20))}},
			}
			if g.rng.IntN(3) == 0 {
				// On from khankendi along the Lachin road: a way across two routes.
				c["destination"], c["way"] = "lachin", []string{"aghdam", "askeran-post", "askeran", "khankendi", "shusha", "lachin"}
				if g.link && g.rng.IntN(2) == 0 {
					c["way"] = []string{"aghdam", "askeran-post", "khankendi", "shusha", "lachin"}
				}
			}
			sub := g.sign("arcs", corridor.TypeConvoy, c)
			if c["way"] != nil {
				g.special[sub.Record.ID] = "way"
			}
			out = append(out, sub)
			if g.rng.IntN(4) > 0 {
				out = append(out, g.sign("arcs", corridor.TypeMove, map[string]any{"convoy": id, "event": "departed", "at": at}))
			}
			g.open = append(g.open, id)
		case k < 7:
			c := g.open[g.rng.IntN(len(g.open))]
			switch e := g.rng.IntN(7); e {
			case 0:
				out = append(out, g.sign("arcs", corridor.TypeMove, map[string]any{"convoy": c, "event": "departed", "at": at}))
			case 1, 2:
				out = append(out, g.sign("ru-pkc", corridor.TypeCheckEvent, map[string]any{"convoy": c, "checkpoint": "askeran-pkc", "event": "held", "at": at, "reason_category": "other", "reason": "generated"}))
			case 3:
				out = append(out, g.sign("ru-pkc", corridor.TypeCheckEvent, map[string]any{"convoy": c, "checkpoint": "askeran-pkc", "event": "passed", "at": at}))
			case 4:
				out = append(out, g.sign("ru-pkc", corridor.TypeCheckEvent, map[string]any{"convoy": c, "checkpoint": "askeran-pkc", "event": []string{"refused", "turned-back"}[g.rng.IntN(2)], "at": at, "reason_category": "other", "reason": "generated"}))
			case 5:
				out = append(out, g.sign("ru-pkc", corridor.TypeCheckEvent, map[string]any{"convoy": c, "checkpoint": "askeran-pkc", "event": "passed-with-removals", "at": at,
					"removed": []any{map[string]any{"line": 0, "quantity": 1, "kg": 100, "decision": []string{"", "removed", "refused", "held"}[g.rng.IntN(4)]}}, "reason_category": "other", "reason": "generated"}))
			case 6:
				out = append(out, g.sign("arcs", corridor.TypeMove, map[string]any{"convoy": c, "event": "delivered", "at": at,
					"received": []any{map[string]any{"line": 0, "quantity": 5, "kg": 500 + g.rng.IntN(500)}}}))
			}
		case k == 7:
			id := fmt.Sprintf("gi-%d", g.n)
			inc := map[string]any{"id": id, "category": "restriction-of-movement", "occurred": day, "reported": day, "verification": "unverified",
				"route": "lachin-corridor", "traffic": []string{"humanitarian-cargo", "civilians"}[:1+g.rng.IntN(2)], "description": "generated"}
			if g.rng.IntN(2) == 0 {
				inc["occurred"] = string(corridor.AddDays(corridor.Date(day), -g.rng.IntN(6)))
				inc["until"] = day
			}
			out = append(out, g.sign("monitor", corridor.TypeIncident, inc))
			g.incs = append(g.incs, id)
			if len(g.incs) > 1 && g.rng.IntN(2) == 0 {
				out = append(out, g.sign("monitor", corridor.TypeIncidentVerify, map[string]any{"incident": g.incs[g.rng.IntN(len(g.incs))],
					"verification": []string{"verified", "rejected", "unverified"}[g.rng.IntN(3)]}))
			}
		case k == 8:
			switch g.rng.IntN(4) {
			case 3:
				// A closure at the checkpoint: on every route through its place.
				sub := g.sign("ru-pkc", corridor.TypeRouteClosed, map[string]any{"route": "aghdam-khankendi", "checkpoint": "askeran-pkc",
					"traffic": []string{"humanitarian-cargo"}, "from": day, "to": string(corridor.AddDays(corridor.Date(day), g.rng.IntN(3))), "reason_category": "other", "reason": "generated"})
				g.special[sub.Record.ID] = "closure at a checkpoint"
				out = append(out, sub)
			case 0:
				c := map[string]any{"route": "lachin-corridor", "traffic": []string{"humanitarian-cargo"}, "from": day, "reason_category": "other", "reason": "generated"}
				if g.rng.IntN(2) == 0 {
					c["to"] = string(corridor.AddDays(corridor.Date(day), g.rng.IntN(4)))
				}
				out = append(out, g.sign("az-sbs", corridor.TypeRouteClosed, c))
			case 1:
				out = append(out, g.sign("az-sbs", corridor.TypeRouteOpened, map[string]any{"route": "lachin-corridor", "traffic": []string{"humanitarian-cargo"}, "from": day}))
			case 2:
				out = append(out, g.sign("monitor", corridor.TypePassage, map[string]any{"route": []string{"lachin-corridor", "aghdam-khankendi"}[g.rng.IntN(2)], "traffic": []string{"civilians"}, "from": day}))
			}
		default:
			from := g.day(step/2 - 5)
			a := map[string]any{"kind": "route-open", "route": "lachin-corridor", "traffic": "humanitarian-cargo"}
			switch g.rng.IntN(6) {
			case 5:
				a = map[string]any{"kind": "trucks-per-day", "place": "khankendi", "trucks": 1 + g.rng.IntN(3)}
			case 4:
				a = map[string]any{"kind": "tonnes-per-day", "place": "khankendi", "tonnes": 1 + g.rng.IntN(10)}
			case 1:
				a = map[string]any{"kind": "route-blocked", "route": "aghdam-khankendi", "traffic": "humanitarian-cargo"}
			case 2:
				a = map[string]any{"kind": "delivered", "place": "khankendi", "tonnes": g.rng.IntN(30)}
			case 3:
				a = map[string]any{"kind": "coverage-below", "place": "khankendi", "percent": 1 + g.rng.IntN(99)}
			}
			out = append(out, g.sign("monitor", corridor.TypeClaim, map[string]any{"id": fmt.Sprintf("gcl-%d", g.n), "speaker": "A speaker", "said_on": day,
				"quote": "generated", "lang": "en", "period": map[string]any{"from": from, "to": day}, "assertion": a}))
		}
	}
	return out
}
