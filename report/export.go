package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"corridor"
)

// Export kinds and formats.
var (
	ExportKinds   = []string{"incidents", "convoys", "deliveries", "claims", "status", "places", "routes", "map"}
	ExportFormats = []string{"csv", "json", "geojson"}
	// geoKinds are the kinds with a GeoJSON form; "map" has only that one.
	geoKinds = []string{"incidents", "places", "routes", "status", "map"}
)

// ContentType is the media type of an export format.
func ContentType(format string) string {
	switch format {
	case "csv":
		return "text/csv; charset=utf-8"
	case "geojson":
		return "application/geo+json"
	}
	return "application/json"
}

// CheckExport checks an export kind and format, naming the field at fault.
func CheckExport(kind, format string) error {
	if !slices.Contains(ExportKinds, kind) {
		return &corridor.Error{Code: corridor.CodeInvalid, Field: "kind", Reason: fmt.Sprintf("%q is not one of %s", kind, strings.Join(ExportKinds, ", "))}
	}
	if !slices.Contains(ExportFormats, format) {
		return &corridor.Error{Code: corridor.CodeInvalid, Field: "format", Reason: fmt.Sprintf("%q is not one of %s", format, strings.Join(ExportFormats, ", "))}
	}
	if format == "geojson" && !slices.Contains(geoKinds, kind) {
		return &corridor.Error{Code: corridor.CodeInvalid, Field: "format", Reason: fmt.Sprintf("geojson is for %s", strings.Join(geoKinds, ", "))}
	}
	if kind == "map" && format != "geojson" {
		return &corridor.Error{Code: corridor.CodeInvalid, Field: "format", Reason: "the map is GeoJSON only"}
	}
	return nil
}

// Export writes one kind of data in one format: CSV with an HXL hashtag row
// under the header, JSON ({"items": [...]}) or GeoJSON (a FeatureCollection).
func (d *Data) Export(w io.Writer, kind, format string) error {
	if err := CheckExport(kind, format); err != nil {
		return err
	}
	if format == "geojson" {
		return writeJSONTo(w, d.geoJSON(kind))
	}
	t := d.table(kind)
	if format == "json" {
		return writeJSONTo(w, map[string]any{"items": t.items})
	}
	cw := csv.NewWriter(w)
	header, tags := make([]string, len(t.cols)), make([]string, len(t.cols))
	for i, c := range t.cols {
		header[i], tags[i] = c.name, c.tag
	}
	cw.Write(header)
	cw.Write(tags)
	for _, r := range t.rows {
		cw.Write(r)
	}
	cw.Flush()
	return cw.Error()
}

func writeJSONTo(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// column is a CSV column with its HXL hashtag.
type column struct{ name, tag string }

// table is an export as rows (CSV) and items (JSON).
type table struct {
	cols  []column
	rows  [][]string
	items any
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
func round(f float64, places int) string {
	return strconv.FormatFloat(f, 'f', places, 64)
}
func idx(i uint64) string { return strconv.FormatUint(i, 10) }
func indexList(v []uint64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = idx(x)
	}
	return strings.Join(s, " ")
}

func (d *Data) table(kind string) table {
	switch kind {
	case "incidents":
		return d.incidentTable()
	case "convoys":
		return d.convoyTable()
	case "deliveries":
		return d.deliveryTable()
	case "claims":
		return d.claimTable()
	case "status":
		return d.statusTable()
	case "places":
		return d.placeTable()
	}
	return d.routeTable()
}

func (d *Data) incidentTable() table {
	t := table{cols: []column{
		{"id", "#event +id"}, {"derived_from", "#meta +derived_from"}, {"category", "#access +type +code"},
		{"category_number", "#access +type +num"}, {"category_label", "#access +type +name"},
		{"occurred", "#date +occurred"}, {"until", "#date +end"}, {"reported", "#date +reported"},
		{"route", "#loc +route +code"}, {"checkpoint", "#loc +checkpoint +code"}, {"place", "#loc +code"},
		{"lat", "#geo +lat"}, {"lon", "#geo +lon"}, {"perpetrator", "#org +perpetrator +code"},
		{"affected_organisation", "#org +impl +name"}, {"people_affected", "#affected +num"},
		{"people_estimated", "#affected +estimated"}, {"aid_denied", "#sector +code"}, {"traffic", "#access +traffic"},
		{"description", "#description"}, {"source", "#meta +source"}, {"source_url", "#meta +url"},
		{"verification", "#status +verification"}, {"reported_by", "#org +reported +code"}, {"log_index", "#meta +log_index"},
	}}
	v := d.IncidentViews()
	t.items = nonNil(v)
	for _, i := range v {
		derived, lat, lon, people, est := "", "", "", "", ""
		if i.DerivedFrom != nil {
			derived = idx(*i.DerivedFrom)
		}
		if i.Lat != nil {
			lat, lon = num(*i.Lat), num(*i.Lon)
		}
		if i.People > 0 {
			people = strconv.FormatInt(i.People, 10)
			est = strconv.FormatBool(i.PeopleEstimated)
		}
		t.rows = append(t.rows, []string{i.ID, derived, i.Category, strconv.Itoa(i.CategoryNumber), i.CategoryLabel,
			i.Occurred, i.Until, i.Reported, i.Route, i.Checkpoint, i.Place, lat, lon, i.Perpetrator, i.Affected,
			people, est, strings.Join(i.AidDenied, " "), strings.Join(i.Traffic, " "), i.Description, i.Source, i.SourceURL,
			i.Verification, i.ReportedBy, idx(i.LogIndex)})
	}
	return t
}

func (d *Data) convoyTable() table {
	t := table{cols: []column{
		{"id", "#activity +id"}, {"organisation", "#org +impl +code"}, {"organisation_name", "#org +impl +name"},
		{"route", "#loc +route +code"}, {"origin", "#loc +origin +code"}, {"destination", "#loc +dest +code"},
		{"planned", "#date +planned"}, {"status", "#status +code"}, {"checkpoint", "#loc +checkpoint +code"},
		{"last_at", "#date +updated"}, {"flags", "#status +flags"}, {"vehicles", "#capacity +vehicles +num"},
		{"kg", "#value +kg +num"}, {"log_index", "#meta +log_index"}, {"updated_index", "#meta +updated_index"},
	}}
	t.items = nonNil(d.Convoys)
	for _, c := range d.Convoys {
		t.rows = append(t.rows, []string{c.ID, c.Organisation, d.partyName(c.Organisation), c.Route, c.Origin, c.Destination,
			c.Planned, c.Status, c.Checkpoint, c.LastAt, strings.Join(c.Flags, " "), strconv.Itoa(len(c.Filing.Vehicles)),
			num(c.Kg), idx(c.LogIndex), idx(c.Updated)})
	}
	return t
}

// DeliveryRow is one item of a convoy's outcome: delivered, held or refused.
type DeliveryRow struct {
	Convoy       string  `json:"convoy"`
	Organisation string  `json:"organisation"`
	Route        string  `json:"route"`
	Destination  string  `json:"destination"`
	Outcome      string  `json:"outcome"`
	Day          string  `json:"day"`
	Item         string  `json:"item"`
	Sector       string  `json:"sector"`
	Quantity     float64 `json:"quantity"`
	Unit         string  `json:"unit"`
	Kg           float64 `json:"kg"`
	Kcal         float64 `json:"kcal"`
	PersonDays   float64 `json:"person_days"`
	Rated        bool    `json:"rated"`
	LogIndex     uint64  `json:"log_index"`
}

// Deliveries lists, item by item, what became of each convoy's load.
func (d *Data) Deliveries() []DeliveryRow {
	var out []DeliveryRow
	for _, h := range d.Histories {
		o, ok := corridor.Outcome(h)
		if !ok {
			continue
		}
		for _, it := range o.Items {
			out = append(out, DeliveryRow{Convoy: o.Convoy, Organisation: h.Convoy.Organisation, Route: o.Route,
				Destination: h.Convoy.Destination, Outcome: o.Outcome, Day: string(o.Day), Item: it.Item, Sector: it.Sector,
				Quantity: it.Quantity, Unit: it.Unit, Kg: it.Kg, Kcal: it.Kcal, PersonDays: it.Kcal / corridor.KcalPerPersonDay,
				Rated: it.Rated, LogIndex: o.Index})
		}
	}
	return out
}

func (d *Data) deliveryTable() table {
	t := table{cols: []column{
		{"convoy", "#activity +id"}, {"organisation", "#org +impl +code"}, {"route", "#loc +route +code"},
		{"destination", "#loc +dest +code"}, {"outcome", "#status +outcome"}, {"day", "#date"},
		{"item", "#item +name"}, {"sector", "#sector +code"}, {"quantity", "#value +num"}, {"unit", "#value +unit"},
		{"kg", "#value +kg +num"}, {"kcal", "#value +kcal +num"}, {"person_days", "#value +person_days +num"},
		{"rated", "#meta +rated"}, {"log_index", "#meta +log_index"},
	}}
	v := d.Deliveries()
	t.items = nonNil(v)
	for _, r := range v {
		t.rows = append(t.rows, []string{r.Convoy, r.Organisation, r.Route, r.Destination, r.Outcome, r.Day, r.Item, r.Sector,
			num(r.Quantity), r.Unit, num(r.Kg), num(r.Kcal), round(r.PersonDays, 1), strconv.FormatBool(r.Rated), idx(r.LogIndex)})
	}
	return t
}

func (d *Data) claimTable() table {
	t := table{cols: []column{
		{"id", "#meta +claim +id"}, {"speaker", "#contact +speaker +name"}, {"speaker_party", "#org +speaker +code"},
		{"affiliation", "#org +affiliation +name"}, {"said_on", "#date +said"}, {"medium", "#meta +medium"},
		{"url", "#meta +url"}, {"quote", "#description +quote"}, {"lang", "#meta +lang"},
		{"translation", "#description +translation"}, {"about_routes", "#loc +route +code"},
		{"period_from", "#date +start"}, {"period_to", "#date +end"}, {"assertion", "#indicator +assertion +code"},
		{"assertion_subject", "#indicator +subject"}, {"verdict", "#status +verdict"},
		{"deciding_records", "#meta +records"}, {"supporting", "#meta +supporting"}, {"contradicting", "#meta +contradicting"},
		{"log_index", "#meta +log_index"},
	}}
	v := d.ClaimViews()
	t.items = nonNil(v)
	for _, c := range v {
		from, to, kind, subject, verdict, deciding := "", "", "", "", "", ""
		if c.Period != nil {
			from, to = string(c.Period.From), string(c.Period.To)
		}
		if a := c.Assertion; a != nil {
			kind = a.Kind
			subject = a.Route + " " + a.Traffic
			if a.Kind == corridor.AssertDelivered {
				subject = num(a.Tonnes) + " t to " + a.Place
			}
		}
		if c.Verdict != nil {
			verdict, deciding = c.Verdict.Verdict, indexList(c.Verdict.Records)
		}
		var sup, con []string
		for _, l := range c.Links {
			if l.Relation == corridor.Supports {
				sup = append(sup, l.Record)
			} else {
				con = append(con, l.Record)
			}
		}
		t.rows = append(t.rows, []string{c.ID, c.Speaker, c.SpeakerParty, c.Affiliation, string(c.SaidOn), c.Medium, c.URL,
			c.Quote, c.Lang, c.Translation, strings.Join(c.AboutRoutes, " "), from, to, kind, strings.TrimSpace(subject),
			verdict, deciding, strings.Join(sup, " "), strings.Join(con, " "), idx(c.LogIndex)})
	}
	return t
}

// StatusRow is one route's status for one kind of traffic on one day.
type StatusRow struct {
	Route   string `json:"route"`
	Traffic string `json:"traffic"`
	corridor.Day
}

// StatusRows lists every route's daily status over the whole period of the records.
func (d *Data) StatusRows() []StatusRow {
	var out []StatusRow
	for _, r := range d.Routes {
		rep, err := d.RouteStatus(r.ID, "", "")
		if err != nil {
			continue
		}
		for _, t := range rep.Traffic {
			for _, day := range t.Days {
				out = append(out, StatusRow{Route: r.ID, Traffic: t.Traffic, Day: day})
			}
		}
	}
	return out
}

func (d *Data) statusTable() table {
	t := table{cols: []column{
		{"route", "#loc +route +code"}, {"traffic", "#access +traffic"}, {"date", "#date"}, {"status", "#status +access"},
		{"passages", "#indicator +passages +num"}, {"removals", "#indicator +removals +num"},
		{"denials", "#indicator +denials +num"}, {"records", "#meta +records"},
	}}
	v := d.StatusRows()
	t.items = nonNil(v)
	for _, r := range v {
		t.rows = append(t.rows, []string{r.Route, r.Traffic, string(r.Date), string(r.Status), strconv.Itoa(r.Counts.Passages),
			strconv.Itoa(r.Counts.Removals), strconv.Itoa(r.Counts.Denials), indexList(r.Records)})
	}
	return t
}

func (d *Data) placeTable() table {
	t := table{cols: []column{
		{"id", "#loc +code"}, {"names", "#loc +name"}, {"kind", "#loc +type"}, {"lat", "#geo +lat"}, {"lon", "#geo +lon"},
		{"population", "#population +num"}, {"population_source", "#meta +population_source"}, {"log_index", "#meta +log_index"},
	}}
	t.items = nonNil(d.Places)
	for _, p := range d.Places {
		pop := ""
		if p.Population > 0 {
			pop = strconv.FormatInt(p.Population, 10)
		}
		t.rows = append(t.rows, []string{p.ID, AllNames(p.Names), p.Kind, num(p.Lat), num(p.Lon), pop, p.PopSource, idx(p.LogIndex)})
	}
	return t
}

// RouteView is a route with its places and its status on the last day of the records.
type RouteView struct {
	ID        string            `json:"id"`
	Names     string            `json:"names"`
	Places    []string          `json:"places"`
	AsOf      corridor.Date     `json:"as_of"`
	Status    map[string]string `json:"status"`        // by traffic, on AsOf
	Blockade  map[string]int    `json:"blockade_days"` // by traffic: length of the blockade running on AsOf, or 0
	LogIndex  uint64            `json:"log_index"`
	Authority []string          `json:"checkpoint_authorities"`
}

// RouteViews lists every route with its current status.
func (d *Data) RouteViews() []RouteView {
	var out []RouteView
	for _, r := range d.Routes {
		v := RouteView{ID: r.ID, Names: AllNames(r.Names), Places: r.Places, AsOf: d.AsOf, Status: map[string]string{}, Blockade: map[string]int{}, LogIndex: r.LogIndex, Authority: []string{}}
		for _, c := range d.Checkpoints {
			if c.Route == r.ID && !slices.Contains(v.Authority, c.Authority) {
				v.Authority = append(v.Authority, c.Authority)
			}
		}
		rep, err := d.RouteStatus(r.ID, "", "")
		if err == nil {
			for _, t := range rep.Traffic {
				v.Status[t.Traffic] = string(t.Current)
				if n := len(t.Blockades); n > 0 && t.Blockades[n-1].To == rep.To {
					v.Blockade[t.Traffic] = t.Blockades[n-1].Days
				} else {
					v.Blockade[t.Traffic] = 0
				}
			}
		}
		out = append(out, v)
	}
	return out
}

func (d *Data) routeTable() table {
	t := table{cols: []column{
		{"id", "#loc +route +code"}, {"names", "#loc +route +name"}, {"places", "#loc +code +list"},
		{"authorities", "#org +checkpoint +code"}, {"as_of", "#date +reported"},
		{"status_humanitarian_cargo", "#status +access +cargo"}, {"status_civilians", "#status +access +civilians"},
		{"blockade_days_humanitarian_cargo", "#indicator +blockade_days +cargo +num"},
		{"blockade_days_civilians", "#indicator +blockade_days +civilians +num"}, {"log_index", "#meta +log_index"},
	}}
	v := d.RouteViews()
	t.items = nonNil(v)
	for _, r := range v {
		t.rows = append(t.rows, []string{r.ID, r.Names, strings.Join(r.Places, " "), strings.Join(r.Authority, " "), string(r.AsOf),
			r.Status[corridor.Cargo], r.Status[corridor.Civilians], strconv.Itoa(r.Blockade[corridor.Cargo]),
			strconv.Itoa(r.Blockade[corridor.Civilians]), idx(r.LogIndex)})
	}
	return t
}

// ---- GeoJSON (RFC 7946): coordinates are [longitude, latitude] ----

type featureCollection struct {
	Type     string    `json:"type"`
	Features []feature `json:"features"`
}

type feature struct {
	Type       string         `json:"type"`
	ID         string         `json:"id,omitempty"`
	Geometry   geometry       `json:"geometry"`
	Properties map[string]any `json:"properties"`
}

type geometry struct {
	Type        string `json:"type"`
	Coordinates any    `json:"coordinates"`
}

func (d *Data) geoJSON(kind string) featureCollection {
	fc := featureCollection{Type: "FeatureCollection", Features: []feature{}}
	if kind == "places" || kind == "map" {
		for _, p := range d.Places {
			props := map[string]any{"layer": "place", "id": p.ID, "kind": p.Kind, "names": AllNames(p.Names), "log_index": p.LogIndex}
			if p.Population > 0 {
				props["population"] = p.Population
			}
			fc.Features = append(fc.Features, feature{Type: "Feature", ID: "place:" + p.ID,
				Geometry: geometry{"Point", []float64{p.Lon, p.Lat}}, Properties: props})
		}
	}
	if kind == "routes" || kind == "status" || kind == "map" {
		for _, r := range d.RouteViews() {
			var line [][]float64
			for _, id := range r.Places {
				if p, ok := d.places[id]; ok {
					line = append(line, []float64{p.Lon, p.Lat})
				}
			}
			if len(line) < 2 {
				continue
			}
			props := map[string]any{"layer": "route", "id": r.ID, "names": r.Names, "as_of": r.AsOf, "log_index": r.LogIndex}
			for _, t := range corridor.TrafficKinds {
				key := strings.ReplaceAll(t, "-", "_")
				props["status_"+key] = r.Status[t]
				props["blockade_days_"+key] = r.Blockade[t]
			}
			fc.Features = append(fc.Features, feature{Type: "Feature", ID: "route:" + r.ID,
				Geometry: geometry{"LineString", line}, Properties: props})
		}
	}
	if kind == "incidents" || kind == "map" {
		for _, i := range d.IncidentViews() {
			if i.Lat == nil {
				continue
			}
			props := map[string]any{"layer": "incident", "id": i.ID, "derived": i.Derived, "category": i.Category,
				"category_number": i.CategoryNumber, "occurred": i.Occurred, "route": i.Route, "checkpoint": i.Checkpoint,
				"place": i.Place, "traffic": i.Traffic, "verification": i.Verification, "description": i.Description,
				"reported_by": i.ReportedBy, "log_index": i.LogIndex}
			if i.Until != "" {
				props["until"] = i.Until
			}
			fc.Features = append(fc.Features, feature{Type: "Feature", ID: "incident:" + i.ID,
				Geometry: geometry{"Point", []float64{*i.Lon, *i.Lat}}, Properties: props})
		}
	}
	return fc
}
