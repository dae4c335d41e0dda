package api_test

import (
	"bytes"
	"context"
	"corridor/internal/skipped"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"corridor"
	"corridor/app"
	"corridor/report"
)

// recordIndex is the log index of a record, by id, as the API reports it.
func (e *env) recordIndex(id string) uint64 {
	e.tb.Helper()
	var r struct {
		Index uint64 `json:"index"`
	}
	e.get("/api/v1/records/"+id, &r)
	return r.Index
}

func TestRouteStatusScenario(t *testing.T) {
	e := newEnv(t, true)
	incident := e.recordIndex("incident-lachin-cargo-2023-06-15")
	amHeld := e.recordIndex("convoy-am-2023-07-held")
	frRefused := e.recordIndex("convoy-fr-2023-08-refused")
	arcsHeld := e.recordIndex("convoy-arcs-2023-08-held")

	var lachin report.RouteReport
	e.get("/api/v1/routes/lachin-corridor/status?from=2023-06-01&to=2023-08-31", &lachin)
	if lachin.AsOf != "2023-08-31" || len(lachin.Traffic) != 2 {
		t.Fatalf("as of %s, %d traffic kinds", lachin.AsOf, len(lachin.Traffic))
	}
	cargo, civ := lachin.Traffic[0], lachin.Traffic[1]
	if cargo.Traffic != corridor.Cargo || civ.Traffic != corridor.Civilians {
		t.Fatalf("traffic kinds %s, %s", cargo.Traffic, civ.Traffic)
	}
	// Blocked for humanitarian cargo continuously from 15 Jun 2023 to the
	// scenario's last day: one blockade of 78 days.
	if len(cargo.Blockades) != 1 {
		t.Fatalf("cargo blockades %+v, want one", cargo.Blockades)
	}
	b := cargo.Blockades[0]
	if b.From != "2023-06-15" || b.To != "2023-08-31" || b.Days != 78 {
		t.Errorf("blockade %s to %s, %d days; want 2023-06-15 to 2023-08-31, 78 days", b.From, b.To, b.Days)
	}
	for _, idx := range []uint64{incident, amHeld, frRefused} {
		if !slices.Contains(b.Records, idx) {
			t.Errorf("blockade records %v lack log index %d", b.Records, idx)
		}
	}
	for _, d := range cargo.Days {
		want := corridor.Blocked
		if d.Date < "2023-06-15" {
			want = corridor.Unknown
		}
		if d.Status != want {
			t.Errorf("cargo on %s: %s, want %s", d.Date, d.Status, want)
		}
	}
	if day := cargo.Days[len(cargo.Days)-2]; day.Date != "2023-08-30" || !slices.Equal(day.Records, []uint64{amHeld, frRefused, incident}) {
		t.Errorf("30 Aug decided by %v, want the hold, the refusal and the incident %v", day.Records, []uint64{amHeld, frRefused, incident})
	}
	if cargo.Current != corridor.Blocked || cargo.Totals["blocked"] != 78 || cargo.Totals["unknown"] != 14 {
		t.Errorf("cargo current %s, totals %v", cargo.Current, cargo.Totals)
	}
	// Civilians are judged apart: no record speaks of them.
	if civ.Totals["unknown"] != len(civ.Days) || len(civ.Blockades) != 0 {
		t.Errorf("civilians: %v, blockades %v; want every day unknown", civ.Totals, civ.Blockades)
	}

	var aghdam report.RouteReport
	e.get("/api/v1/routes/aghdam-khankendi/status?from=2023-08-28&to=2023-08-31", &aghdam)
	got := statusesOf(aghdam.Traffic[0].Days)
	if want := []corridor.RouteStatus{corridor.Unknown, corridor.Blocked, corridor.Blocked, corridor.Blocked}; !slices.Equal(got, want) {
		t.Errorf("Aghdam road cargo 28–31 Aug: %v, want %v", got, want)
	}
	if d := aghdam.Traffic[0].Days[1]; d.Date != "2023-08-29" || !slices.Equal(d.Records, []uint64{arcsHeld}) {
		t.Errorf("Aghdam road 29 Aug decided by %v, want the hold %d", d.Records, arcsHeld)
	}

	// Defaults: from the first day evidence names to the last day of the records.
	var def report.RouteReport
	e.get("/api/v1/routes/lachin-corridor/status", &def)
	if def.From != "2023-06-15" || def.To != "2023-08-31" {
		t.Errorf("default period %s to %s", def.From, def.To)
	}
}

func statusesOf(days []corridor.Day) []corridor.RouteStatus {
	out := make([]corridor.RouteStatus, len(days))
	for i, d := range days {
		out[i] = d.Status
	}
	return out
}

func TestClaimsScenario(t *testing.T) {
	e := newEnv(t, true)
	frRefused := e.recordIndex("convoy-fr-2023-08-refused")
	var got list[report.ClaimView]
	e.get("/api/v1/claims", &got)
	byID := map[string]report.ClaimView{}
	for _, c := range got.Items {
		byID[c.ID] = c
	}
	if len(byID) != 3 {
		t.Fatalf("%d claims, want 3", len(byID))
	}
	for id, want := range map[string]string{
		"paris-mayor-2023-08-30": corridor.Consistent, // no humanitarian aid can get in
		"armenia-un-2023-08-30":  corridor.Consistent, // blocked to cargo since 15 Jun
		"azerbaijan-2023-08-30":  corridor.NoEvidence, // not blocked to civilians: nothing recorded of civilians
	} {
		c := byID[id]
		if c.Verdict == nil || c.Verdict.Verdict != want {
			t.Errorf("claim %s: verdict %+v, want %s", id, c.Verdict, want)
			continue
		}
		if c.Speaker == "" || c.Quote == "" || c.SaidOn == "" {
			t.Errorf("claim %s lacks its statement's words: %+v", id, c.Claim)
		}
		if len(c.Links) != 1 {
			t.Errorf("claim %s: %d links", id, len(c.Links))
		}
	}
	paris := byID["paris-mayor-2023-08-30"]
	if !slices.Contains(paris.Verdict.Records, frRefused) {
		t.Errorf("the Paris claim is decided by %v, which lacks the refusal %d", paris.Verdict.Records, frRefused)
	}
	if paris.Links[0].Record != "convoy-fr-2023-08-refused" || paris.Links[0].RecordIndex == nil || *paris.Links[0].RecordIndex != frRefused {
		t.Errorf("Paris claim link %+v", paris.Links[0])
	}
	if az := byID["azerbaijan-2023-08-30"]; az.Verdict.Days["unknown"] != 1 || len(az.Verdict.Records) != 0 {
		t.Errorf("the civilians claim: %+v", az.Verdict)
	}
}

func TestIncidentsScenario(t *testing.T) {
	e := newEnv(t, true)
	var got list[report.IncidentView]
	e.get("/api/v1/incidents", &got)
	derived := map[uint64]report.IncidentView{}
	reported := 0
	for _, i := range got.Items {
		if i.Derived {
			derived[*i.DerivedFrom] = i
		} else {
			reported++
		}
		if _, ok := corridor.CategoryOf(i.Category); !ok {
			t.Errorf("incident %s: category %q", i.ID, i.Category)
		}
	}
	if reported != 2 {
		t.Errorf("%d reported incidents, want 2", reported)
	}
	for id, want := range map[string]string{"convoy-am-2023-07-held": "hakari", "convoy-arcs-2023-08-held": "askeran-pkc", "convoy-fr-2023-08-refused": "hakari"} {
		i, ok := derived[e.recordIndex(id)]
		if !ok {
			t.Errorf("no incident derived from %s", id)
			continue
		}
		if i.Checkpoint != want || i.CategoryNumber != 4 || i.Lat == nil || !slices.Equal(i.Traffic, []string{corridor.Cargo}) {
			t.Errorf("incident derived from %s: %+v", id, i)
		}
	}
	if len(derived) != 3 {
		t.Errorf("%d derived incidents, want 3", len(derived))
	}
	var cats list[corridor.AccessCategory]
	e.get("/api/v1/access-categories", &cats)
	if len(cats.Items) != 9 {
		t.Errorf("%d access categories", len(cats.Items))
	}
}

func TestCoverageScenario(t *testing.T) {
	e := newEnv(t, true)
	var all report.CoverageReport
	e.get("/api/v1/settlements/karabakh/coverage", &all)
	if all.Population != 120000 || all.KcalPerDay != 2100 || !slices.Equal(all.Catchment, []string{"karabakh", "khankendi", "askeran"}) {
		t.Fatalf("coverage head %+v", all)
	}
	// Held at checkpoints: 360 t (Armenian convoy) + 40 t (ARCS flour). In
	// energy: 240 t flour × 3,500 + 30 t oil × 8,850 + 40 t sugar × 4,000
	// = 1,265.5 million kcal = 602,619 person-days; the 90 t of mixed food
	// has no single energy value and is counted in tonnes only.
	tot := all.Totals
	if tot.HeldKg != 400000 || math.Abs(tot.HeldPD-1265.5e6/2100) > 1 || tot.RefusedKg != 57000 || tot.DeliveredKg != 0 {
		t.Errorf("totals: held %g kg, %g person-days; refused %g kg; delivered %g kg", tot.HeldKg, tot.HeldPD, tot.RefusedKg, tot.DeliveredKg)
	}
	if days := tot.HeldPD / 120000; math.Abs(days-5.02) > 0.01 {
		t.Errorf("held aid = %.3f days of need for 120,000 people, want 5.02", days)
	}

	var week report.CoverageReport
	e.get("/api/v1/settlements/karabakh/coverage?from=2023-08-28&to=2023-09-03", &week)
	if len(week.Weeks) != 1 {
		t.Fatalf("%d weeks", len(week.Weeks))
	}
	w := week.Weeks[0]
	// 40 t of flour held on the Aghdam road: about 0.56 day for 120,000 people.
	if math.Abs(w.HeldPD-40000*3500/2100.0) > 0.01 || math.Abs(w.HeldPD/120000-0.556) > 0.001 {
		t.Errorf("held that week: %g person-days (%.3f days), want 66,667 (0.556)", w.HeldPD, w.HeldPD/120000)
	}
	if w.NeedPD != 7*120000 || w.RefusedKg != 57000 {
		t.Errorf("week %+v", w)
	}

	var kh report.CoverageReport
	e.get("/api/v1/settlements/khankendi/coverage?kcal=2400", &kh)
	if kh.Population != 55000 || kh.KcalPerDay != 2400 || math.Abs(kh.Totals.HeldPD-1265.5e6/2400) > 1 {
		t.Errorf("khankendi at 2,400 kcal: %+v", kh.Totals)
	}
}

func TestMonitoringBadInput(t *testing.T) {
	e := newEnv(t, true)
	mon := e.keys["monitor"]
	good := func() *corridor.Incident {
		return &corridor.Incident{ID: "new-incident", Category: "restriction-of-movement", Occurred: "2023-08-30", Reported: "2023-08-31",
			Route: "lachin-corridor", Place: "kornidzor", Description: "Test.", Verification: corridor.Unverified}
	}
	for _, tc := range []struct {
		name  string
		typ   string
		p     any
		field string
	}{
		{"unknown category", corridor.TypeIncident, func() any { i := good(); i.Category = "weather"; return i }(), "records[0].payload.category"},
		{"period end before start", corridor.TypeIncident, func() any { i := good(); i.Until = "2023-08-01"; return i }(), "records[0].payload.until"},
		{"negative people", corridor.TypeIncident, func() any { i := good(); i.People = -1; return i }(), "records[0].payload.people_affected"},
		{"absurd people", corridor.TypeIncident, func() any { i := good(); i.People = 1e12; return i }(), "records[0].payload.people_affected"},
		{"unknown place", corridor.TypeIncident, func() any { i := good(); i.Place = "atlantis"; return i }(), "records[0].payload.place"},
		{"claim period end before start", corridor.TypeClaim, &corridor.Claim{ID: "c", Speaker: "S", SaidOn: "2023-08-30", Quote: "Q", Lang: "en",
			Period: &corridor.Period{From: "2023-08-30", To: "2023-08-01"}}, "records[0].payload.period.to"},
		{"claim of negative tonnes", corridor.TypeClaim, &corridor.Claim{ID: "c", Speaker: "S", SaidOn: "2023-08-30", Quote: "Q", Lang: "en",
			Period: &corridor.Period{From: "2023-08-30", To: "2023-08-30"}, Assertion: &corridor.Assertion{Kind: corridor.AssertDelivered, Place: "karabakh", Tonnes: -3}}, "records[0].payload.assertion.tonnes"},
		{"claim about an unknown place", corridor.TypeClaim, &corridor.Claim{ID: "c", Speaker: "S", SaidOn: "2023-08-30", Quote: "Q", Lang: "en",
			AboutPlaces: []string{"atlantis"}}, "records[0].payload.about_places[0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.logSize()
			r := e.post(sign(t, mon, "bad-"+strings.ReplaceAll(tc.name, " ", "-"), tc.typ, 1, tc.p))
			if r.Status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", r.Status, r.Body)
			}
			if p := r.problem(t); p.Field != tc.field {
				t.Errorf("field %q, want %q (%s)", p.Field, tc.field, p.Detail)
			}
			if after := e.logSize(); after != before {
				t.Errorf("log grew from %d to %d", before, after)
			}
		})
	}

	// A report with three fields wrong names all three at once, the
	// first as field, and writes nothing.
	before := e.logSize()
	three := good()
	three.Category, three.Description, three.People = "weather", "", -3
	r := e.post(sign(t, mon, "bad-three", corridor.TypeIncident, 1, three))
	p := r.problem(t)
	var fields []string
	for _, f := range p.Errors {
		fields = append(fields, f.Field)
	}
	if r.Status != http.StatusBadRequest || p.Field != "records[0].payload.category" ||
		strings.Join(fields, " ") != "records[0].payload.category records[0].payload.people_affected records[0].payload.description" || e.logSize() != before {
		t.Errorf("an incident with three fields wrong: %d, field %q, errors %v, log %d → %d", r.Status, p.Field, fields, before, e.logSize())
	}

	for _, tc := range []struct {
		path   string
		status int
		field  string
	}{
		{"/api/v1/routes/lachin-corridor/status?from=2023-08-30&to=2023-08-01", 400, "to"},
		{"/api/v1/routes/lachin-corridor/status?from=30.08.2023", 400, "from"},
		{"/api/v1/routes/lachin-corridor/status?from=1990-01-01&to=2023-08-31", 400, "from"},
		{"/api/v1/routes/nowhere/status", 404, ""},
		{"/api/v1/settlements/hakari-bridge/coverage", 400, "id"},
		{"/api/v1/settlements/atlantis/coverage", 404, ""},
		{"/api/v1/settlements/karabakh/coverage?kcal=lots", 400, "kcal"},
		{"/api/v1/settlements/karabakh/coverage?kcal=-5", 400, "kcal"},
		{"/api/v1/exports/secrets?format=csv", 400, "kind"},
		{"/api/v1/exports/incidents?format=xlsx", 400, "format"},
		{"/api/v1/exports/convoys?format=geojson", 400, "format"},
		{"/api/v1/exports/map?format=csv", 400, "format"},
	} {
		r := e.do(http.MethodGet, tc.path, nil)
		if r.Status != tc.status {
			t.Errorf("GET %s: %d, want %d: %s", tc.path, r.Status, tc.status, r.Body)
			continue
		}
		if p := r.problem(t); p.Field != tc.field {
			t.Errorf("GET %s: field %q, want %q", tc.path, p.Field, tc.field)
		}
	}
}

// hxlTag is the HXL 1.1 hashtag syntax: a hashtag and attributes, each a
// lower-case letter then letters, digits or underscores.
var hxlTag = regexp.MustCompile(`^#[a-z][a-z0-9_]*(\s*\+[a-z][a-z0-9_]*)*$`)

// hxlCore lists the core hashtags of the HXL 1.1 standard.
var hxlCore = []string{"#access", "#activity", "#adm1", "#adm2", "#adm3", "#adm4", "#adm5", "#affected", "#beneficiary",
	"#capacity", "#cause", "#channel", "#contact", "#country", "#crisis", "#currency", "#date", "#delivery", "#description",
	"#event", "#financial", "#frequency", "#geo", "#group", "#impact", "#indicator", "#inneed", "#item", "#loc", "#meta",
	"#modality", "#need", "#operations", "#org", "#output", "#population", "#position", "#reached", "#region", "#respondee",
	"#sector", "#service", "#severity", "#status", "#subsector", "#targeted", "#value"}

// hxlNumbers are the core hashtags whose values are counts, numbers only.
var hxlNumbers = []string{"#affected", "#inneed", "#reached", "#targeted", "#population", "#value"}

// exports fetches every kind in every format it has.
func exports(t *testing.T, e *env) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, kind := range report.ExportKinds {
		for _, format := range report.ExportFormats {
			if report.CheckExport(kind, format) != nil {
				continue
			}
			r := e.do(http.MethodGet, "/api/v1/exports/"+kind+"?format="+format, nil)
			if r.Status != http.StatusOK {
				t.Fatalf("export %s %s: %d %s", kind, format, r.Status, r.Body)
			}
			if r.Type != report.ContentType(format) {
				t.Errorf("export %s %s: Content-Type %q", kind, format, r.Type)
			}
			out[kind+"."+format] = r.Body
		}
	}
	return out
}

// withReply adds, as a probe beside the scenario (no source reports
// one), the French cities' dispute of their convoy's refusal, so that the
// replies export has a row.
func (e *env) withReply() {
	e.tb.Helper()
	r := e.post(sign(e.tb, e.keys["fr-cities"], "probe-reply-fr", corridor.TypeReply, 1, &corridor.Reply{Record: "convoy-fr-2023-08-refused",
		Kind: corridor.ReplyDispute, Text: "Probe: the convoy had the papers asked for.", Lang: "en"}))
	if r.Status != http.StatusCreated {
		e.tb.Fatalf("reply: %d %s", r.Status, r.Body)
	}
}

func TestExportsHXL(t *testing.T) {
	e := newEnv(t, true)
	e.withReply()
	n := 0
	for name, body := range exports(t, e) {
		if !strings.HasSuffix(name, ".csv") {
			continue
		}
		n++
		rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(rows) < 3 {
			t.Errorf("%s: %d rows, want a header, the HXL row and data", name, len(rows))
			continue
		}
		// Names go one language to a column, tagged with it.
		if name == "places.csv" || name == "routes.csv" {
			tags := strings.Join(rows[1], ",")
			for _, l := range []string{"en", "hy", "az", "ru"} {
				if !strings.Contains(tags, "+name +i_"+l) {
					t.Errorf("%s: no column of names in %s (%s)", name, l, tags)
				}
			}
		}
		for i, tag := range rows[1] {
			if !hxlTag.MatchString(tag) {
				t.Errorf("%s: column %s: %q is not an HXL hashtag", name, rows[0][i], tag)
				continue
			}
			base := strings.Fields(strings.SplitN(tag, "+", 2)[0])[0]
			if !slices.Contains(hxlCore, base) {
				t.Errorf("%s: column %s: %s is not a core HXL hashtag", name, rows[0][i], base)
			}
			// #value is money in HXL, and none of these figures is.
			if base == "#value" || base == "#currency" {
				t.Errorf("%s: column %s: %s is for money", name, rows[0][i], base)
			}
			// Number columns hold numbers (or nothing): those marked +num,
			// and the hashtags HXL defines as counts of people.
			if strings.Contains(tag, "+num") || slices.Contains(hxlNumbers, base) {
				for _, row := range rows[2:] {
					if v := row[i]; v != "" {
						if _, err := strconv.ParseFloat(v, 64); err != nil {
							t.Errorf("%s: column %s (%s) holds %q, not a number", name, rows[0][i], tag, v)
							break
						}
					}
				}
			}
		}
	}
	if n != 8 {
		t.Errorf("%d CSV exports, want 8", n)
	}
}

func TestExportsJSON(t *testing.T) {
	e := newEnv(t, true)
	e.withReply()
	for name, body := range exports(t, e) {
		if !strings.HasSuffix(name, ".json") {
			continue
		}
		var v struct {
			Items []json.RawMessage `json:"items"`
		}
		if err := json.Unmarshal(body, &v); err != nil || len(v.Items) == 0 {
			t.Errorf("%s: %d items, %v", name, len(v.Items), err)
		}
	}
}

// geojsonhint finds the @mapbox/geojsonhint command: $CORRIDOR_GEOJSONHINT,
// node_modules/.bin/geojsonhint in the repository, or npx with the package
// already installed where npx looks. It returns nil and the reason if none.
func geojsonhint(t *testing.T) ([]string, string) {
	if p := os.Getenv("CORRIDOR_GEOJSONHINT"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("CORRIDOR_GEOJSONHINT=%s: %v", p, err)
		}
		return []string{p}, ""
	}
	if p, err := filepath.Abs("../node_modules/.bin/geojsonhint"); err == nil {
		if _, err := os.Stat(p); err == nil {
			return []string{p}, ""
		}
	}
	npx, err := exec.LookPath("npx")
	if err != nil {
		return nil, "npx is not installed"
	}
	probe := filepath.Join(t.TempDir(), "probe.geojson")
	os.WriteFile(probe, []byte(`{"type":"FeatureCollection","features":[]}`), 0o644)
	cmd := []string{npx, "--no-install", "@mapbox/geojsonhint"}
	if out, err := exec.Command(cmd[0], append(cmd[1:], probe)...).CombinedOutput(); err != nil {
		return nil, "@mapbox/geojsonhint is not installed (npm install --no-save --prefix DIR @mapbox/geojsonhint@3.2.0, then set CORRIDOR_GEOJSONHINT=DIR/node_modules/.bin/geojsonhint): " + strings.TrimSpace(string(out))
	}
	return cmd, ""
}

func TestExportsGeoJSON(t *testing.T) {
	e := newEnv(t, true)
	files := map[string][]byte{}
	for name, body := range exports(t, e) {
		if strings.HasSuffix(name, ".geojson") {
			files[name] = body
		}
	}
	if len(files) != 5 {
		t.Fatalf("%d GeoJSON exports, want 5", len(files))
	}
	// Our own reading first: a FeatureCollection, [lon, lat] in range.
	type feature struct {
		Type     string `json:"type"`
		Geometry struct {
			Type        string          `json:"type"`
			Coordinates json.RawMessage `json:"coordinates"`
		} `json:"geometry"`
		Properties map[string]any `json:"properties"`
	}
	blockades := map[string]any{}
	for name, body := range files {
		var fc struct {
			Type     string    `json:"type"`
			Features []feature `json:"features"`
		}
		if err := json.Unmarshal(body, &fc); err != nil || fc.Type != "FeatureCollection" || len(fc.Features) == 0 {
			t.Fatalf("%s: %v, type %q, %d features", name, err, fc.Type, len(fc.Features))
		}
		for _, f := range fc.Features {
			var pts [][]float64
			switch f.Geometry.Type {
			case "Point":
				var p []float64
				json.Unmarshal(f.Geometry.Coordinates, &p)
				pts = [][]float64{p}
			case "LineString":
				json.Unmarshal(f.Geometry.Coordinates, &pts)
				if name == "routes.geojson" {
					blockades[fmt.Sprint(f.Properties["id"])] = f.Properties["blockade_days_humanitarian_cargo"]
				}
				if f.Properties["status_humanitarian_cargo"] != "blocked" {
					t.Errorf("%s: route %v: cargo status %v, want blocked on the last day", name, f.Properties["id"], f.Properties["status_humanitarian_cargo"])
				}
			default:
				t.Errorf("%s: geometry %q", name, f.Geometry.Type)
			}
			for _, p := range pts {
				if len(p) != 2 || p[0] < 46 || p[0] > 47.5 || p[1] < 39 || p[1] > 40.5 {
					t.Errorf("%s: %v is not [lon, lat] in the region", name, p)
				}
			}
		}
	}
	if days := blockades["lachin-corridor"]; days != 78.0 {
		t.Errorf("routes.geojson: lachin-corridor's running cargo blockade is %v days, want 78 (all: %v)", days, blockades)
	}

	cmd, why := geojsonhint(t)
	if cmd == nil {
		skipped.Skip(t, "GeoJSON lint (api)", why)
	}
	dir := t.TempDir()
	for name, body := range files {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, body, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(cmd[0], append(cmd[1:], path)...).CombinedOutput()
		if err != nil || len(bytes.TrimSpace(out)) > 0 {
			t.Errorf("geojsonhint %s: %v\n%s", name, err, out)
		}
	}
}

// TestMonitoringVerify checks that the monitoring tables are covered by
// verify: the live projection equals a replay of the log.
func TestMonitoringVerify(t *testing.T) {
	e := newEnv(t, true)
	e.close()
	var out bytes.Buffer
	if _, err := app.Verify(context.Background(), e.dir, "", &out); err != nil {
		t.Fatalf("verify: %v\n%s", err, out.String())
	}
}

// TestIncidentsPage walks the incident list a page at a time: the pages
// join up to the whole list in order, and a bad cursor is refused naming
// the field.
func TestIncidentsPage(t *testing.T) {
	e := newEnv(t, true)
	defer e.close()
	var whole struct {
		Items []report.IncidentView `json:"items"`
		Next  string                `json:"next_after"`
	}
	e.get("/api/v1/incidents?limit=1000", &whole)
	if len(whole.Items) < 3 || whole.Next != "" {
		t.Fatalf("whole list: %d incidents, next %q; want at least 3 and no next page", len(whole.Items), whole.Next)
	}
	var joined []string
	after := ""
	for range len(whole.Items) + 1 {
		var page struct {
			Items []report.IncidentView `json:"items"`
			Next  string                `json:"next_after"`
		}
		e.get("/api/v1/incidents?limit=2&after="+after, &page)
		for _, i := range page.Items {
			joined = append(joined, i.ID)
		}
		if page.Next == "" {
			break
		}
		after = page.Next
	}
	var want []string
	for _, i := range whole.Items {
		want = append(want, i.ID)
	}
	if !slices.Equal(joined, want) {
		t.Fatalf("pages of 2 give %v, the whole list %v", joined, want)
	}
	for _, bad := range []string{"47", "2023-08-29", "2023-13-01.4", "2023-08-29.-1"} {
		wantProblem(t, e, e.do("GET", "/api/v1/incidents?after="+bad, nil), e.healthRecords(), 400, "invalid", "after")
	}
}
