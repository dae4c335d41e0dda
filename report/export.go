package report

import (
	"bufio"
	"cmp"
	"context"
	"corridor/store"
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
	ExportKinds   = []string{"incidents", "convoys", "deliveries", "claims", "replies", "status", "places", "routes", "map"}
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

// Export writes one kind of data in one format, read from the projection
// page by page as it is written: CSV with an HXL hashtag row under the
// header, JSON ({"items": [...]}) or GeoJSON (a FeatureCollection). What
// it holds in memory at once is a page (1,000 rows) and the registries
// (parties, places, routes, checkpoints), never the whole log.
func Export(ctx context.Context, st *store.Store, w io.Writer, kind, format string) error {
	if err := CheckExport(kind, format); err != nil {
		return err
	}
	src, err := storeSource(ctx, st, kind == "status" || kind == "routes" || kind == "map")
	if err != nil {
		return err
	}
	return src.write(w, kind, format)
}

// Export writes the same export from whole tables read at once: the
// recompute the streamed exports are checked against.
func (d *Data) Export(w io.Writer, kind, format string) error {
	if err := CheckExport(kind, format); err != nil {
		return err
	}
	return d.source().write(w, kind, format)
}

// exportSource gives the rows of every export kind, in order, to a
// callback: from store pages (storeSource) or from whole tables
// (Data.source). Registries are small and read whole either way.
type exportSource struct {
	parties   map[string]store.PartyRow
	places    []store.PlaceRow
	routes    []RouteView
	incidents func(func(IncidentView) error) error
	convoys   func(func(store.ConvoyRow) error) error
	outcomes  func(func(store.OutcomeRow) error) error
	claims    func(func(ClaimView) error) error
	replies   func(func(store.ReplyRow) error) error
	status    func(func(StatusRow) error) error
}

// exportPage is how many rows an export reads from the store at once.
var exportPage = 1000

// storeSource reads the registries; with routes, also each route's status
// over the whole period (only the status, routes and map exports need it).
func storeSource(ctx context.Context, st *store.Store, routes bool) (*exportSource, error) {
	parties, err := st.Parties(ctx)
	if err != nil {
		return nil, err
	}
	places, err := st.Places(ctx)
	if err != nil {
		return nil, err
	}
	src := &exportSource{parties: partyIndex(parties), places: places}
	var reports []RouteReport
	if routes {
		rs, err := st.Routes(ctx)
		if err != nil {
			return nil, err
		}
		cps, err := st.Checkpoints(ctx, "")
		if err != nil {
			return nil, err
		}
		asOf, _, err := st.Span(ctx)
		if err != nil {
			return nil, err
		}
		reports = make([]RouteReport, len(rs))
		for i, r := range rs {
			if reports[i], err = RouteStatusOf(ctx, st, r.ID, "", ""); err != nil {
				return nil, err
			}
			src.routes = append(src.routes, routeView(r, cps, asOf, reports[i]))
		}
	}
	src.incidents = func(fn func(IncidentView) error) error {
		var after store.IncidentCursor
		for {
			page, err := st.IncidentViews(ctx, "", after, exportPage)
			if err != nil {
				return err
			}
			for _, v := range page {
				if err := fn(v); err != nil {
					return err
				}
			}
			if len(page) < exportPage {
				return nil
			}
			last := page[len(page)-1]
			after = store.IncidentCursor{Day: last.Occurred, Index: int64(last.LogIndex)}
		}
	}
	src.convoys = func(fn func(store.ConvoyRow) error) error {
		return pages(func(after int64) ([]store.ConvoyRow, error) {
			return st.Convoys(ctx, store.ConvoyFilter{After: after, Limit: exportPage})
		}, func(c store.ConvoyRow) int64 { return int64(c.LogIndex) }, fn)
	}
	src.outcomes = func(fn func(store.OutcomeRow) error) error {
		return pages(func(after int64) ([]store.OutcomeRow, error) {
			return st.OutcomesPage(ctx, store.Page{After: after, Limit: exportPage})
		}, func(o store.OutcomeRow) int64 { return int64(o.ConvoyIndex) }, fn)
	}
	src.claims = func(fn func(ClaimView) error) error {
		return pages(func(after int64) ([]ClaimView, error) {
			return ClaimsPage(ctx, st, store.Page{After: after, Limit: exportPage})
		}, func(c ClaimView) int64 { return int64(c.LogIndex) }, fn)
	}
	src.replies = func(fn func(store.ReplyRow) error) error {
		return pages(func(after int64) ([]store.ReplyRow, error) {
			return st.RepliesPage(ctx, store.Page{After: after, Limit: exportPage})
		}, func(r store.ReplyRow) int64 { return int64(r.LogIndex) }, fn)
	}
	src.status = func(fn func(StatusRow) error) error {
		for _, rep := range reports {
			for _, row := range statusRows(rep) {
				if err := fn(row); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return src, nil
}

// pages calls fn on every row of a keyset-paged list, page after page.
func pages[T any](page func(after int64) ([]T, error), key func(T) int64, fn func(T) error) error {
	after := int64(-1)
	for {
		rows, err := page(after)
		if err != nil {
			return err
		}
		for _, r := range rows {
			if err := fn(r); err != nil {
				return err
			}
		}
		if len(rows) < exportPage {
			return nil
		}
		after = key(rows[len(rows)-1])
	}
}

func (d *Data) source() *exportSource {
	src := &exportSource{parties: partyIndex(d.Parties), places: d.Places}
	reports := make([]RouteReport, len(d.Routes))
	for i, r := range d.Routes {
		reports[i], _ = d.RouteStatus(r.ID, "", "")
		src.routes = append(src.routes, routeView(r, d.Checkpoints, d.AsOf, reports[i]))
	}
	src.incidents = func(fn func(IncidentView) error) error { return each(d.IncidentViews(), fn) }
	src.convoys = func(fn func(store.ConvoyRow) error) error { return each(d.Convoys, fn) }
	src.outcomes = func(fn func(store.OutcomeRow) error) error {
		for _, h := range d.Histories {
			if o, ok := corridor.Outcome(h); ok {
				if err := fn(store.OutcomeRow{ConvoyOutcome: o, Organisation: h.Convoy.Organisation, Destination: h.Convoy.Destination, ConvoyIndex: h.Index}); err != nil {
					return err
				}
			}
		}
		return nil
	}
	src.claims = func(fn func(ClaimView) error) error { return each(d.ClaimViews(), fn) }
	src.replies = func(fn func(store.ReplyRow) error) error {
		var all []store.ReplyRow
		for _, rs := range d.Replies {
			all = append(all, rs...)
		}
		slices.SortFunc(all, func(a, b store.ReplyRow) int { return cmp.Compare(a.LogIndex, b.LogIndex) })
		return each(all, fn)
	}
	src.status = func(fn func(StatusRow) error) error {
		for _, rep := range reports {
			if err := each(statusRows(rep), fn); err != nil {
				return err
			}
		}
		return nil
	}
	return src
}

func each[T any](list []T, fn func(T) error) error {
	for _, v := range list {
		if err := fn(v); err != nil {
			return err
		}
	}
	return nil
}

func partyIndex(list []store.PartyRow) map[string]store.PartyRow {
	m := make(map[string]store.PartyRow, len(list))
	for _, p := range list {
		m[p.ID] = p
	}
	return m
}

func (src *exportSource) partyName(id string) string {
	if p, ok := src.parties[id]; ok && len(p.Names) > 0 {
		return p.Names[0].Name
	}
	return id
}

func (src *exportSource) write(w io.Writer, kind, format string) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	var err error
	if format == "geojson" {
		err = src.geoJSON(bw, kind)
	} else {
		err = src.table(bw, kind, format)
	}
	if err != nil {
		return err
	}
	return bw.Flush()
}

// column is a CSV column with its HXL hashtag.
type column struct{ name, tag string }

// tableWriter writes rows as CSV (header, HXL hashtags, rows) or items as
// JSON, one at a time.
type tableWriter struct {
	w      *bufio.Writer
	csv    *csv.Writer
	rows   int
	failed error
}

func newTable(w *bufio.Writer, format string, cols []column) *tableWriter {
	t := &tableWriter{w: w}
	if format == "csv" {
		t.csv = csv.NewWriter(w)
		header, tags := make([]string, len(cols)), make([]string, len(cols))
		for i, c := range cols {
			header[i], tags[i] = c.name, c.tag
		}
		t.csv.Write(header)
		t.csv.Write(tags)
		return t
	}
	w.WriteString(`{"items": [`)
	return t
}

func (t *tableWriter) add(item any, row func() []string) error {
	if t.csv != nil {
		return t.csv.Write(row())
	}
	b, err := json.Marshal(item)
	if err != nil {
		return err
	}
	if t.rows > 0 {
		t.w.WriteByte(',')
	}
	t.rows++
	t.w.WriteString("\n  ")
	_, err = t.w.Write(b)
	return err
}

func (t *tableWriter) close() error {
	if t.csv != nil {
		t.csv.Flush()
		return t.csv.Error()
	}
	_, err := t.w.WriteString("\n]}\n")
	return err
}

// nameLangs are the languages the names are in, in the order they first
// appear.
func nameLangs(lists [][]corridor.Name) []string {
	var out []string
	for _, ns := range lists {
		for _, n := range ns {
			if !slices.Contains(out, n.Lang) {
				out = append(out, n.Lang)
			}
		}
	}
	return out
}

// nameCols puts after cols[:at] one column of names per language, tagged
// as HXL marks a language (+i_hy).
func nameCols(cols []column, at int, tag string, langs []string) []column {
	var ns []column
	for _, l := range langs {
		code := strings.ToLower(strings.NewReplacer("-", "_").Replace(l))
		ns = append(ns, column{"name_" + code, tag + " +i_" + code})
	}
	return slices.Concat(cols[:at], ns, cols[at:])
}

// namesBy is the names in each language, those a language has joined by
// " / ".
func namesBy(names []corridor.Name, langs []string) []string {
	out := make([]string, len(langs))
	for _, n := range names {
		if i := slices.Index(langs, n.Lang); i >= 0 {
			if out[i] != "" {
				out[i] += " / "
			}
			out[i] += n.Name
		}
	}
	return out
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

var (
	incidentCols = []column{
		{"id", "#event +id"}, {"derived_from", "#meta +derived_from"}, {"category", "#access +type +code"},
		{"category_number", "#access +type +num"}, {"category_label", "#access +type +name"},
		{"occurred", "#date +occurred"}, {"until", "#date +end"}, {"reported", "#date +reported"},
		{"route", "#loc +route +code"}, {"checkpoint", "#loc +checkpoint +code"}, {"place", "#loc +code"},
		{"lat", "#geo +lat"}, {"lon", "#geo +lon"}, {"perpetrator", "#org +perpetrator +code"},
		{"affected_organisation", "#org +impl +name"}, {"people_affected", "#affected +num"},
		{"people_estimated", "#meta +affected +estimated"}, {"aid_denied", "#sector +code"}, {"traffic", "#access +traffic"},
		{"description", "#description"}, {"source", "#meta +source"}, {"source_url", "#meta +url"},
		{"verification", "#status +verification"}, {"reported_by", "#org +reported +code"}, {"log_index", "#meta +log_index"},
	}
	convoyCols = []column{
		{"id", "#activity +id"}, {"organisation", "#org +impl +code"}, {"organisation_name", "#org +impl +name"},
		{"mode", "#activity +mode"}, {"route", "#loc +route +code"}, {"origin", "#loc +origin +code"}, {"destination", "#loc +dest +code"},
		{"planned", "#date +planned"}, {"status", "#status +code"}, {"checkpoint", "#loc +checkpoint +code"},
		{"last_at", "#date +updated"}, {"flags", "#status +flags"}, {"vehicles", "#indicator +vehicles +num"},
		{"kg", "#indicator +kg +num"}, {"log_index", "#meta +log_index"}, {"updated_index", "#meta +updated_index"},
	}
	deliveryCols = []column{
		{"convoy", "#activity +id"}, {"organisation", "#org +impl +code"}, {"route", "#loc +route +code"},
		{"destination", "#loc +dest +code"}, {"outcome", "#status +outcome"}, {"mode", "#activity +mode"}, {"day", "#date"},
		{"item", "#item +name"}, {"sector", "#sector +code"}, {"quantity", "#indicator +quantity +num"}, {"unit", "#meta +quantity +unit"},
		{"kg", "#indicator +kg +num"}, {"kcal", "#indicator +kcal +num"}, {"person_days", "#indicator +person_days +num"},
		{"rated", "#meta +rated"}, {"log_index", "#meta +log_index"},
	}
	claimCols = []column{
		{"id", "#meta +claim +id"}, {"speaker", "#contact +speaker +name"}, {"speaker_party", "#org +speaker +code"},
		{"affiliation", "#org +affiliation +name"}, {"said_on", "#date +said"}, {"medium", "#meta +medium"},
		{"url", "#meta +url"}, {"quote", "#description +quote"}, {"reported", "#description +reported"}, {"lang", "#meta +lang"},
		{"translation", "#description +translation"}, {"about_routes", "#loc +route +code"},
		{"about_convoys", "#activity +id +list"}, {"period_from", "#date +start"}, {"period_to", "#date +end"}, {"assertion", "#meta +assertion +code"},
		{"assertion_subject", "#meta +assertion +subject"}, {"verdict", "#status +verdict"},
		{"deciding_records", "#meta +records"}, {"disputed_records", "#meta +records +disputed"}, {"supporting", "#meta +supporting"}, {"contradicting", "#meta +contradicting"}, {"context", "#meta +context"},
		{"log_index", "#meta +log_index"},
	}
	replyCols = []column{
		{"record", "#meta +record +id"}, {"record_index", "#meta +record +log_index"}, {"party", "#org +code"},
		{"kind", "#status +reply"}, {"text", "#description +reply"}, {"lang", "#meta +lang"},
		{"evidence", "#meta +records"}, {"log_index", "#meta +log_index"},
	}
	statusCols = []column{
		{"route", "#loc +route +code"}, {"traffic", "#access +traffic"}, {"date", "#date"}, {"status", "#status +access"},
		{"passages", "#indicator +passages +num"}, {"removals", "#indicator +removals +num"},
		{"denials", "#indicator +denials +num"}, {"records", "#meta +records"},
	}
	// The names of places and routes go in one column per language
	// after the first (nameCols).
	placeCols = []column{
		{"id", "#loc +code"}, {"kind", "#loc +type"}, {"lat", "#geo +lat"}, {"lon", "#geo +lon"},
		{"population", "#population +num"}, {"population_source", "#meta +population_source"}, {"log_index", "#meta +log_index"},
	}
	routeCols = []column{
		{"id", "#loc +route +code"}, {"places", "#loc +code +list"},
		{"authorities", "#org +checkpoint +code"}, {"as_of", "#date +reported"},
		{"status_humanitarian_cargo", "#status +access +cargo"}, {"status_civilians", "#status +access +civilians"},
		{"blockade_days_humanitarian_cargo", "#indicator +blockade_days +cargo +num"},
		{"blockade_days_civilians", "#indicator +blockade_days +civilians +num"}, {"log_index", "#meta +log_index"},
	}
)

func (src *exportSource) table(w *bufio.Writer, kind, format string) error {
	var err error
	var t *tableWriter
	switch kind {
	case "incidents":
		t = newTable(w, format, incidentCols)
		err = src.incidents(func(i IncidentView) error { return t.add(i, func() []string { return incidentRow(i) }) })
	case "convoys":
		t = newTable(w, format, convoyCols)
		err = src.convoys(func(c store.ConvoyRow) error {
			return t.add(c, func() []string {
				return []string{c.ID, c.Organisation, src.partyName(c.Organisation), c.Filing.ModeOf(), c.Route, c.Origin, c.Destination,
					c.Planned, c.Status, c.Checkpoint, c.LastAt, strings.Join(c.Flags, " "), strconv.Itoa(len(c.Filing.Vehicles)),
					num(c.Kg), idx(c.LogIndex), idx(c.Updated)}
			})
		})
	case "deliveries":
		t = newTable(w, format, deliveryCols)
		err = src.outcomes(func(o store.OutcomeRow) error {
			for _, r := range deliveryRows(o) {
				if err := t.add(r, func() []string {
					return []string{r.Convoy, r.Organisation, r.Route, r.Destination, r.Outcome, r.Mode, r.Day, r.Item, r.Sector,
						num(r.Quantity), r.Unit, num(r.Kg), num(r.Kcal), round(r.PersonDays, 1), strconv.FormatBool(r.Rated), idx(r.LogIndex)}
				}); err != nil {
					return err
				}
			}
			return nil
		})
	case "claims":
		t = newTable(w, format, claimCols)
		err = src.claims(func(c ClaimView) error { return t.add(c, func() []string { return claimRow(c) }) })
	case "replies":
		t = newTable(w, format, replyCols)
		err = src.replies(func(r store.ReplyRow) error {
			return t.add(r, func() []string {
				return []string{r.Record, idx(r.RecordIndex), r.Party, r.Kind, r.Text, r.Lang, strings.Join(r.Evidence, " "), idx(r.LogIndex)}
			})
		})
	case "status":
		t = newTable(w, format, statusCols)
		err = src.status(func(r StatusRow) error {
			return t.add(r, func() []string {
				return []string{r.Route, r.Traffic, string(r.Date), string(r.Status), strconv.Itoa(r.Counts.Passages),
					strconv.Itoa(r.Counts.Removals), strconv.Itoa(r.Counts.Denials), indexList(r.Records)}
			})
		})
	case "places":
		var all [][]corridor.Name
		for _, p := range src.places {
			all = append(all, p.Names)
		}
		langs := nameLangs(all)
		t = newTable(w, format, nameCols(placeCols, 1, "#loc +name", langs))
		err = each(src.places, func(p store.PlaceRow) error {
			return t.add(p, func() []string {
				pop := ""
				if p.Population > 0 {
					pop = strconv.FormatInt(p.Population, 10)
				}
				return slices.Concat([]string{p.ID}, namesBy(p.Names, langs), []string{p.Kind, num(p.Lat), num(p.Lon), pop, p.PopSource, idx(p.LogIndex)})
			})
		})
	default:
		var all [][]corridor.Name
		for _, r := range src.routes {
			all = append(all, r.NameList)
		}
		langs := nameLangs(all)
		t = newTable(w, format, nameCols(routeCols, 1, "#loc +route +name", langs))
		err = each(src.routes, func(r RouteView) error {
			return t.add(r, func() []string {
				return slices.Concat([]string{r.ID}, namesBy(r.NameList, langs), []string{strings.Join(r.Places, " "), strings.Join(r.Authority, " "), string(r.AsOf),
					r.Status[corridor.Cargo], r.Status[corridor.Civilians], strconv.Itoa(r.Blockade[corridor.Cargo]),
					strconv.Itoa(r.Blockade[corridor.Civilians]), idx(r.LogIndex)})
			})
		})
	}
	if err != nil {
		return err
	}
	return t.close()
}

func incidentRow(i IncidentView) []string {
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
	return []string{i.ID, derived, i.Category, strconv.Itoa(i.CategoryNumber), i.CategoryLabel,
		i.Occurred, i.Until, i.Reported, i.Route, i.Checkpoint, i.Place, lat, lon, i.Perpetrator, i.Affected,
		people, est, strings.Join(i.AidDenied, " "), strings.Join(i.Traffic, " "), i.Description, i.Source, i.SourceURL,
		i.Verification, i.ReportedBy, idx(i.LogIndex)}
}

func claimRow(c ClaimView) []string {
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
		if a.Kind == corridor.AssertTonnesPerDay {
			subject = num(a.Tonnes) + " t a day to " + a.Place
		}
		if a.Kind == corridor.AssertTrucksPerDay {
			subject = num(a.Trucks) + " vehicles a day to " + a.Place
		}
		if a.Kind == corridor.AssertCoverageBelow {
			subject = num(a.Percent) + " % of the need of " + a.Place
		}
	}
	if c.Verdict != nil {
		verdict, deciding = c.Verdict.Verdict, indexList(c.Verdict.Records)
	}
	var sup, con, ctx []string
	for _, l := range c.Links {
		switch l.Relation {
		case corridor.Supports:
			sup = append(sup, l.Record)
		case corridor.Contradicts:
			con = append(con, l.Record)
		default:
			ctx = append(ctx, l.Record)
		}
	}
	return []string{c.ID, c.Speaker, c.SpeakerParty, c.Affiliation, string(c.SaidOn), c.Medium, c.URL,
		c.Quote, c.Reported, c.Lang, c.Translation, strings.Join(c.AboutRoutes, " "), strings.Join(c.AboutConvoys, " "), from, to, kind, strings.TrimSpace(subject),
		verdict, deciding, indexList(c.Disputed), strings.Join(sup, " "), strings.Join(con, " "), strings.Join(ctx, " "), idx(c.LogIndex)}
}

// DeliveryRow is one item of a convoy's outcome: delivered, held or refused.
type DeliveryRow struct {
	Convoy       string  `json:"convoy"`
	Organisation string  `json:"organisation"`
	Route        string  `json:"route"`
	Destination  string  `json:"destination"`
	Outcome      string  `json:"outcome"`
	Mode         string  `json:"mode"`
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

// deliveryRows lists, item by item, what became of a convoy's load.
func deliveryRows(o store.OutcomeRow) []DeliveryRow {
	var out []DeliveryRow
	for _, it := range o.Items {
		out = append(out, DeliveryRow{Convoy: o.Convoy, Organisation: o.Organisation, Route: o.Route,
			Destination: o.Destination, Outcome: it.Outcome, Mode: it.Mode, Day: string(o.Day), Item: it.Item, Sector: it.Sector,
			Quantity: it.Quantity, Unit: it.Unit, Kg: it.Kg, Kcal: it.Kcal, PersonDays: it.Kcal / corridor.KcalPerPersonDay,
			Rated: it.Rated, LogIndex: o.Index})
	}
	return out
}

// StatusRow is one route's status for one kind of traffic on one day.
type StatusRow struct {
	Route   string `json:"route"`
	Traffic string `json:"traffic"`
	corridor.Day
}

// statusRows lists a route's daily status for each kind of traffic.
func statusRows(rep RouteReport) []StatusRow {
	var out []StatusRow
	for _, t := range rep.Traffic {
		for _, day := range t.Days {
			out = append(out, StatusRow{Route: rep.Route, Traffic: t.Traffic, Day: day})
		}
	}
	return out
}

// RouteView is a route with its places and its status on the last day of the records.
type RouteView struct {
	ID        string            `json:"id"`
	Names     string            `json:"names"`
	NameList  []corridor.Name   `json:"-"` // each name with its language
	Places    []string          `json:"places"`
	AsOf      corridor.Date     `json:"as_of"`
	Status    map[string]string `json:"status"`        // by traffic, on AsOf
	Blockade  map[string]int    `json:"blockade_days"` // by traffic: length of the blockade running on AsOf, or 0
	LogIndex  uint64            `json:"log_index"`
	Authority []string          `json:"checkpoint_authorities"`
}

// routeView is a route with its checkpoints' authorities and the status
// that rep (its report over the whole period) gives on its last day.
func routeView(r store.RouteRow, cps []store.CheckpointRow, asOf corridor.Date, rep RouteReport) RouteView {
	v := RouteView{ID: r.ID, Names: AllNames(r.Names), NameList: r.Names, Places: r.Places, AsOf: asOf, Status: map[string]string{}, Blockade: map[string]int{}, LogIndex: r.LogIndex, Authority: []string{}}
	for _, c := range cps {
		if !r.Passes(c.Place) {
			continue
		}
		for _, op := range c.Operators() {
			if !slices.Contains(v.Authority, op) {
				v.Authority = append(v.Authority, op)
			}
		}
	}
	for _, t := range rep.Traffic {
		v.Status[t.Traffic] = string(t.Current)
		if n := len(t.Blockades); n > 0 && t.Blockades[n-1].To == rep.To {
			v.Blockade[t.Traffic] = t.Blockades[n-1].Days
		} else {
			v.Blockade[t.Traffic] = 0
		}
	}
	return v
}

// ---- GeoJSON (RFC 7946): coordinates are [longitude, latitude] ----

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

// geoJSON writes a FeatureCollection, feature by feature.
func (src *exportSource) geoJSON(w *bufio.Writer, kind string) error {
	w.WriteString(`{"type": "FeatureCollection", "features": [`)
	n := 0
	add := func(f feature) error {
		b, err := json.Marshal(f)
		if err != nil {
			return err
		}
		if n > 0 {
			w.WriteByte(',')
		}
		n++
		w.WriteString("\n  ")
		_, err = w.Write(b)
		return err
	}
	places := map[string]store.PlaceRow{}
	for _, p := range src.places {
		places[p.ID] = p
	}
	if kind == "places" || kind == "map" {
		for _, p := range src.places {
			props := map[string]any{"layer": "place", "id": p.ID, "kind": p.Kind, "names": AllNames(p.Names), "log_index": p.LogIndex}
			if p.Population > 0 {
				props["population"] = p.Population
			}
			if err := add(feature{Type: "Feature", ID: "place:" + p.ID, Geometry: geometry{"Point", []float64{p.Lon, p.Lat}}, Properties: props}); err != nil {
				return err
			}
		}
	}
	if kind == "routes" || kind == "status" || kind == "map" {
		for _, r := range src.routes {
			var line [][]float64
			for _, id := range r.Places {
				if p, ok := places[id]; ok {
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
			if err := add(feature{Type: "Feature", ID: "route:" + r.ID, Geometry: geometry{"LineString", line}, Properties: props}); err != nil {
				return err
			}
		}
	}
	if kind == "incidents" || kind == "map" {
		if err := src.incidents(func(i IncidentView) error {
			if i.Lat == nil {
				return nil
			}
			props := map[string]any{"layer": "incident", "id": i.ID, "derived": i.Derived, "category": i.Category,
				"category_number": i.CategoryNumber, "occurred": i.Occurred, "route": i.Route, "checkpoint": i.Checkpoint,
				"place": i.Place, "traffic": i.Traffic, "verification": i.Verification, "description": i.Description,
				"reported_by": i.ReportedBy, "log_index": i.LogIndex}
			if i.Until != "" {
				props["until"] = i.Until
			}
			return add(feature{Type: "Feature", ID: "incident:" + i.ID, Geometry: geometry{"Point", []float64{*i.Lon, *i.Lat}}, Properties: props})
		}); err != nil {
			return err
		}
	}
	_, err := w.WriteString("\n]}\n")
	return err
}
