package web

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"corridor"
	"corridor/report"
	"corridor/store"
)

// lookup names ids for the pages: every place, route, checkpoint and party
// by all its names in the gazetteer's order (report.AllNames).
type lookup struct {
	d       *gazetteer
	ctx     context.Context
	st      *store.Store
	parties map[string]store.PartyRow
	places  map[string]store.PlaceRow
	routes  map[string]store.RouteRow
	cps     map[string]store.CheckpointRow
	keys    map[string]keyInfo // by key id
	letter  map[string]string  // route id -> I, II…; checkpoint id -> A, B…
	number  map[string]int     // place id -> its number on the map
}

type keyInfo struct {
	Party     string
	Delegated bool
}

func (s *Server) load(ctx context.Context) (*lookup, error) {
	d, err := loadGazetteer(ctx, s.node.Store())
	if err != nil {
		return nil, err
	}
	l := &lookup{d: d, ctx: ctx, st: s.node.Store(), parties: map[string]store.PartyRow{}, places: map[string]store.PlaceRow{}, routes: map[string]store.RouteRow{},
		cps: map[string]store.CheckpointRow{}, keys: map[string]keyInfo{}, letter: map[string]string{}, number: map[string]int{}}
	for _, p := range d.Parties {
		l.parties[p.ID] = p
		// A party's registration lists its keys; a delegated key is one the
		// party handed to the server for the web forms.
		for _, k := range p.Keys {
			l.keys[k.ID] = keyInfo{Party: p.ID, Delegated: k.Delegated}
		}
	}
	for i, p := range d.Places {
		l.places[p.ID] = p
		l.number[p.ID] = i + 1
	}
	for i, r := range d.Routes {
		l.routes[r.ID] = r
		l.letter[r.ID] = roman(i + 1)
	}
	for i, c := range d.Checkpoints {
		l.cps[c.ID] = c
		l.letter["cp:"+c.ID] = string(rune('A' + i%26))
	}
	return l, nil
}

// network is every route, by id: the road network.
func (l *lookup) network() []*corridor.Route {
	out := make([]*corridor.Route, len(l.d.Routes))
	for i := range l.d.Routes {
		out[i] = &l.d.Routes[i].Route
	}
	return out
}

// pageRows is how many rows a page shows of a list that grows with the
// log (the latest); the API pages through the rest.
const pageRows = 50

// queueRows is how many convoys a checkpoint's queue lists on a page.
const queueRows = 10

// gazetteer is what every page names things by: the registries (parties,
// places, routes, checkpoints, areas), which grow with the crisis's
// geography, not with the log, and the day the log speaks up to.
type gazetteer struct {
	Parties     []store.PartyRow
	Places      []store.PlaceRow
	Routes      []store.RouteRow
	Checkpoints []store.CheckpointRow
	Areas       []store.AreaRow
	AsOf        corridor.Date
}

func loadGazetteer(ctx context.Context, st *store.Store) (*gazetteer, error) {
	g := &gazetteer{}
	var err error
	if g.Parties, err = st.Parties(ctx); err != nil {
		return nil, err
	}
	if g.Places, err = st.Places(ctx); err != nil {
		return nil, err
	}
	if g.Routes, err = st.Routes(ctx); err != nil {
		return nil, err
	}
	if g.Checkpoints, err = st.Checkpoints(ctx, ""); err != nil {
		return nil, err
	}
	if g.Areas, err = st.Areas(ctx); err != nil {
		return nil, err
	}
	if g.AsOf, _, err = st.Span(ctx); err != nil {
		return nil, err
	}
	return g, nil
}

func roman(n int) string {
	vals := []struct {
		v int
		s string
	}{{10, "X"}, {9, "IX"}, {5, "V"}, {4, "IV"}, {1, "I"}}
	var b strings.Builder
	for _, x := range vals {
		for n >= x.v {
			b.WriteString(x.s)
			n -= x.v
		}
	}
	return b.String()
}

func (l *lookup) party(id string) string {
	if p, ok := l.parties[id]; ok {
		return report.AllNames(p.Names)
	}
	return id
}

// operatorNames names who runs a checkpoint and, when that changed, from
// which day each took over, in dates only, so that it reads the same in
// every language: "A · B (2024-05-07 →) · — (2024-06-01 →)", "—" being
// closed.
func (l *lookup) operatorNames(c corridor.Checkpoint) string {
	s := l.party(c.Authority)
	for _, ch := range c.Changes {
		who := "—"
		if !ch.Closed {
			who = l.party(ch.Authority)
		}
		s += " · " + who + " (" + string(ch.From) + " →)"
	}
	return s
}

func (l *lookup) place(id string) string {
	if p, ok := l.places[id]; ok {
		return report.AllNames(p.Names)
	}
	return id
}

func (l *lookup) routeName(id string) string {
	if r, ok := l.routes[id]; ok {
		return report.AllNames(r.Names)
	}
	return id
}

func (l *lookup) cpName(id string) string {
	if c, ok := l.cps[id]; ok {
		return report.AllNames(c.Names)
	}
	return id
}

// signer says who signed a record and where it is in the log.
type signer struct {
	Index      uint64
	RecordID   string
	Type       string
	KeyID      string
	Party      string
	PartyNames string
	Delegated  bool // signed by the server on behalf of the party
}

// ReceiptURL is the record's inclusion proof (served by the log API).
func (g signer) ReceiptURL() string { return "/api/v1/records/" + g.RecordID + "/receipt" }

// RecordURL is the signed record as the API serves it.
func (g signer) RecordURL() string { return "/api/v1/records/" + g.RecordID }

type recordHead struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	Key  string `json:"key"`
}

func (l *lookup) signerOf(row store.RecordRow) signer {
	var h recordHead
	_ = json.Unmarshal(row.Record, &h)
	k := l.keys[h.Key]
	return signer{Index: row.Index, RecordID: h.ID, Type: h.Type, KeyID: h.Key, Party: row.Party, PartyNames: l.party(row.Party), Delegated: k.Delegated && k.Party == row.Party}
}

// signers finds the records at the given log indices.
func (s *Server) signers(ctx context.Context, l *lookup, indices []uint64) (map[uint64]signer, error) {
	out := map[uint64]signer{}
	for _, i := range indices {
		if _, ok := out[i]; ok {
			continue
		}
		rows, err := s.node.Store().Records(ctx, int64(i)-1, 1)
		if err != nil {
			return nil, err
		}
		if len(rows) == 1 && rows[0].Index == i {
			out[i] = l.signerOf(rows[0])
		}
	}
	return out, nil
}

// ---- routes, checkpoints and queues ----

type routeSummary struct {
	ID          string
	Letter      string
	Names       string
	Places      []placeRow
	Status      map[string]string // by traffic, on the as-of day
	Blockade    map[string]corridor.Blockade
	Authorities []string
}

// Cargo and Civilians are the statuses for the two kinds of traffic.
func (r routeSummary) Cargo() string     { return r.Status[corridor.Cargo] }
func (r routeSummary) Civilians() string { return r.Status[corridor.Civilians] }

// Traffic lists the kinds of traffic with their status, in order.
func (r routeSummary) Traffic() []trafficStatus {
	var out []trafficStatus
	for _, t := range corridor.TrafficKinds {
		ts := trafficStatus{Traffic: t, Status: r.Status[t]}
		if b, ok := r.Blockade[t]; ok {
			ts.Blockade = &b
		}
		out = append(out, ts)
	}
	return out
}

type trafficStatus struct {
	Traffic  string
	Status   string
	Blockade *corridor.Blockade // the blockade running on the as-of day, if any
}

type placeRow struct {
	N          int
	ID         string
	Names      string
	Kind       string
	Population int64
	Settlement bool
}

func (l *lookup) placeRow(id string) placeRow {
	p := l.places[id]
	return placeRow{N: l.number[id], ID: id, Names: l.place(id), Kind: p.Kind, Population: p.Population, Settlement: p.IsSettlement() && p.Population > 0}
}

func (l *lookup) routeSummary(r store.RouteRow) routeSummary {
	rs := routeSummary{ID: r.ID, Letter: l.letter[r.ID], Names: report.AllNames(r.Names), Status: map[string]string{}, Blockade: map[string]corridor.Blockade{}}
	for _, p := range r.Places {
		rs.Places = append(rs.Places, l.placeRow(p))
	}
	for _, c := range l.d.Checkpoints {
		if !r.Passes(c.Place) {
			continue
		}
		for _, op := range c.Operators() {
			if !slices.Contains(rs.Authorities, l.party(op)) {
				rs.Authorities = append(rs.Authorities, l.party(op))
			}
		}
	}
	rep, err := report.RouteStatusOf(l.ctx, l.st, r.ID, "", "")
	if err != nil {
		for _, t := range corridor.TrafficKinds {
			rs.Status[t] = string(corridor.Unknown)
		}
		return rs
	}
	for _, t := range rep.Traffic {
		rs.Status[t.Traffic] = string(t.Current)
		if n := len(t.Blockades); n > 0 && t.Blockades[n-1].To == rep.To {
			rs.Blockade[t.Traffic] = t.Blockades[n-1]
		}
	}
	return rs
}

type checkpointSummary struct {
	ID          string
	Letter      string
	Names       string
	Place       placeRow
	Site        string // the inspection site off the road, by its names
	Route       string
	RouteNames  string
	Authority   string
	AuthNames   string
	From        string
	Queue       []queueEntry
	Approaching []queueEntry
	// QueueMore and ApproachingMore count the convoys beyond those listed.
	QueueMore, ApproachingMore int
}

type queueEntry struct {
	Convoy   string
	OrgNames string
	Status   string
	Since    string
	Kg       float64
	Vehicles int
}

// checkpoints lists the checkpoints (of one route, or all) in route order,
// each with the convoys at it or held there, and those heading for it.
func (s *Server) checkpoints(ctx context.Context, l *lookup, route string) ([]checkpointSummary, error) {
	var out []checkpointSummary
	seen := map[string]bool{}
	for _, r := range l.d.Routes {
		if route != "" && r.ID != route {
			continue
		}
		rows, err := s.node.Store().RouteCheckpoints(ctx, r.ID)
		if err != nil {
			return nil, err
		}
		var order []string
		for _, c := range rows {
			if !seen[c.ID] { // a checkpoint where routes meet is listed under the first
				order = append(order, c.ID)
				seen[c.ID] = true
			}
		}
		for _, id := range order {
			c := l.cps[id]
			cs := checkpointSummary{ID: id, Letter: l.letter["cp:"+id], Names: report.AllNames(c.Names), Place: l.placeRow(c.Place),
				Site: namesOr(l.place, c.Site), Route: r.ID, RouteNames: l.routeName(r.ID), Authority: c.Latest(), AuthNames: l.operatorNames(c.Checkpoint), From: string(c.From)}
			entry := func(cv store.ConvoyRow) queueEntry {
				return queueEntry{Convoy: cv.ID, OrgNames: l.party(cv.Organisation), Status: cv.Status, Since: cv.LastAt, Kg: cv.Kg, Vehicles: len(cv.Filing.Vehicles)}
			}
			at, approaching, atN, apN, err := s.node.Store().Queue(ctx, id, queueRows)
			if err != nil {
				return nil, err
			}
			cs.QueueMore, cs.ApproachingMore = atN-len(at), apN-len(approaching)
			for _, cv := range at {
				cs.Queue = append(cs.Queue, entry(cv))
			}
			for _, cv := range approaching {
				cs.Approaching = append(cs.Approaching, entry(cv))
			}
			out = append(out, cs)
		}
	}
	return out, nil
}

// ---- overview ----

type overviewData struct {
	AsOf        string
	Map         *svgMap
	Places      []placeRow
	Routes      []routeSummary
	Checkpoints []checkpointSummary
	Figures     figures
	Latest      []signer
}

// modeFigure is the aid delivered by one transport mode.
type modeFigure struct {
	Mode string
	Kg   float64
}

type figures struct {
	Blocked        []blockedFigure
	HeldKg         float64
	HeldConvoys    int
	RefusedKg      float64
	RefusedConvoys int
	Delivered      []modeFigure // by mode, road first
	Coverage       []coverageFigure
	Month          string // a day in the month of the as-of day
	IncidentsMonth int
}

type blockedFigure struct {
	Route   string
	Names   string
	Letter  string
	Traffic string
	Days    int
	From    string
}

type coverageFigure struct {
	Place       string
	Names       string
	Population  int64
	From, To    string
	NeedPD      float64
	DeliveredPD float64
	HeldPD      float64
	RefusedPD   float64
	Share       float64
}

func (s *Server) overview(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q := s.req(w, r)
	l, err := s.load(ctx)
	if err != nil {
		return err
	}
	v := overviewData{AsOf: string(l.d.AsOf)}
	for _, p := range l.d.Places {
		v.Places = append(v.Places, l.placeRow(p.ID))
	}
	for _, rt := range l.d.Routes {
		rs := l.routeSummary(rt)
		v.Routes = append(v.Routes, rs)
		for _, t := range rs.Traffic() {
			if t.Blockade != nil {
				v.Figures.Blocked = append(v.Figures.Blocked, blockedFigure{Route: rs.ID, Names: rs.Names, Letter: rs.Letter, Traffic: t.Traffic, Days: t.Blockade.Days, From: string(t.Blockade.From)})
			}
		}
	}
	if v.Checkpoints, err = s.checkpoints(ctx, l, ""); err != nil {
		return err
	}
	v.Map = drawMap(l, v.Routes)
	// Key figures are kept as records are applied: the load of convoys held
	// or refused at a checkpoint, and how many.
	fig, err := s.node.Store().Figures(ctx)
	if err != nil {
		return err
	}
	kg, err := s.node.Store().Totals(ctx, "0000-01-01", "9999-12-31")
	if err != nil {
		return err
	}
	v.Figures.HeldKg, v.Figures.HeldConvoys = store.Sum(kg[corridor.OutcomeHeld]), int(fig["outcome:"+corridor.OutcomeHeld])
	v.Figures.RefusedKg, v.Figures.RefusedConvoys = store.Sum(kg[corridor.OutcomeRefused]), int(fig["outcome:"+corridor.OutcomeRefused])
	for _, m := range corridor.Modes {
		if d := kg[corridor.OutcomeDelivered][m]; d > 0 {
			v.Figures.Delivered = append(v.Figures.Delivered, modeFigure{Mode: m, Kg: d})
		}
	}
	v.Figures.Coverage = coverageFigures(l)
	if l.d.AsOf != "" {
		v.Figures.Month = string(l.d.AsOf)
		month := string(l.d.AsOf)[:7]
		if v.Figures.IncidentsMonth, err = s.node.Store().IncidentsInMonth(ctx, month); err != nil {
			return err
		}
	}
	size, err := s.node.Store().Applied(ctx)
	if err != nil {
		return err
	}
	rows, err := s.node.Store().Records(ctx, int64(size)-11, 10)
	if err != nil {
		return err
	}
	for i := len(rows) - 1; i >= 0; i-- {
		v.Latest = append(v.Latest, l.signerOf(rows[i]))
	}
	return s.render(w, r, q, http.StatusOK, "overview", q.L.T("overview.title"), v)
}

// coverageFigures gives need against deliveries for each settlement with a
// population that is not itself counted in another's area.
func coverageFigures(l *lookup) []coverageFigure {
	inArea := map[string]bool{}
	for _, a := range l.d.Areas {
		for _, p := range a.Places {
			if p != a.Place {
				inArea[p] = true
			}
		}
	}
	var out []coverageFigure
	for _, p := range l.d.Places {
		if !p.IsSettlement() || p.Population <= 0 || inArea[p.ID] {
			continue
		}
		c, err := report.CoverageOf(l.ctx, l.st, p.ID, "", "", 0)
		if err != nil {
			continue
		}
		out = append(out, coverageFigure{Place: p.ID, Names: c.Names, Population: c.Population, From: string(c.From), To: string(c.To),
			NeedPD: c.Totals.NeedPD, DeliveredPD: c.Totals.DeliveredPD, HeldPD: c.Totals.HeldPD, RefusedPD: c.Totals.RefusedPD, Share: c.Totals.NeedCoverage})
	}
	return out
}

// ---- route page ----

type routeData struct {
	routeSummary
	From, To, AsOf string
	Charts         []statusChart
	Totals         []trafficTotals
	Checkpoints    []checkpointSummary
	Incidents      []incidentRow
	Claims         []claimRow
	Convoys        []convoyRow
}

type trafficTotals struct {
	Traffic   string
	Current   string
	Totals    map[string]int
	Blockades []corridor.Blockade
}

type incidentRow struct {
	report.IncidentView
	// Text is a derived incident's description in the reader's language
	// (the stored one is corridor's English); empty for a report, whose
	// description is its author's words.
	Text             template.HTML
	PlaceNames       string
	CheckpointNames  string
	PerpetratorNames string
	Signer           signer
	Replies          []replyRow
}

type convoyRow struct {
	ID       string
	OrgNames string
	Status   string
	Planned  string
	Kg       float64
	Vehicles int
	Origin   string
	Dest     string
}

func (s *Server) route(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q := s.req(w, r)
	l, err := s.load(ctx)
	if err != nil {
		return err
	}
	rt, ok := l.routes[r.PathValue("id")]
	if !ok {
		return fmt.Errorf("route %q: %w", r.PathValue("id"), store.ErrNotFound)
	}
	v := routeData{routeSummary: l.routeSummary(rt), AsOf: string(l.d.AsOf)}
	rep, err := report.RouteStatusOf(ctx, s.node.Store(), rt.ID, "", "")
	if err != nil {
		return err
	}
	v.From, v.To = string(rep.From), string(rep.To)
	for _, t := range rep.Traffic {
		v.Totals = append(v.Totals, trafficTotals{Traffic: t.Traffic, Current: string(t.Current), Totals: t.Totals, Blockades: t.Blockades})
	}
	v.Charts = []statusChart{drawStatusChart(q.L, rep)}
	if v.Checkpoints, err = s.checkpoints(ctx, l, rt.ID); err != nil {
		return err
	}
	var idx []uint64
	// The latest incidents on the route; the full list pages in the API.
	views, err := s.node.Store().LatestRouteIncidents(ctx, rt.ID, pageRows)
	if err != nil {
		return err
	}
	for _, i := range views {
		idx = append(idx, i.LogIndex)
	}
	sg, err := s.signers(ctx, l, idx)
	if err != nil {
		return err
	}
	// A derived incident answers to its checkpoint event: the replies to
	// that record are shown with it.
	answered := func(i report.IncidentView) uint64 {
		if i.DerivedFrom != nil {
			return *i.DerivedFrom
		}
		return i.LogIndex
	}
	var ridx []uint64
	for _, i := range views {
		ridx = append(ridx, answered(i))
	}
	replies, err := s.replies(ctx, l, ridx)
	if err != nil {
		return err
	}
	for _, i := range views {
		v.Incidents = append(v.Incidents, incidentRow{IncidentView: i, Text: derivedText(q.L, l, i), PlaceNames: namesOr(l.place, i.Place), CheckpointNames: namesOr(l.cpName, i.Checkpoint),
			PerpetratorNames: namesOr(l.party, i.Perpetrator), Signer: sg[i.LogIndex], Replies: replies[answered(i)]})
	}
	if v.Claims, err = s.claimRows(ctx, q.L, l, rt.ID); err != nil {
		return err
	}
	latest, err := s.node.Store().LatestConvoys(ctx, rt.ID, pageRows)
	if err != nil {
		return err
	}
	for _, c := range latest {
		v.Convoys = append(v.Convoys, l.convoyRow(c))
	}
	return s.render(w, r, q, http.StatusOK, "route", v.Names, v)
}

func (l *lookup) convoyRow(c store.ConvoyRow) convoyRow {
	return convoyRow{ID: c.ID, OrgNames: l.party(c.Organisation), Status: c.Status, Planned: c.Planned, Kg: c.Kg, Vehicles: len(c.Filing.Vehicles),
		Origin: l.place(c.Origin), Dest: l.place(c.Destination)}
}

// derivedDesc reads the description the projection gives a derived
// incident (store.deriveIncident): convoy, organisation, event,
// checkpoint, reason category and the authority's reason.
var derivedDesc = regexp.MustCompile(`^Convoy (\S+) of (.+) (\S+) at checkpoint (\S+) \(([^)]*)\): (.*)$`)

// derivedText is a derived incident's description in the reader's
// language, with the authority's reason in its own words; "" for a
// reported incident.
func derivedText(L *Locale, l *lookup, i report.IncidentView) template.HTML {
	if !i.Derived {
		return ""
	}
	m := derivedDesc.FindStringSubmatch(i.Description)
	if m == nil {
		return ""
	}
	reason := L.T("reason.none")
	if m[5] != "" {
		reason = L.K("reason", m[5])
	}
	return L.TI("incident.derived_text", m[1], m[2], L.K("event", m[3]), l.cpName(m[4]), reason, m[6])
}

func namesOr(f func(string) string, id string) string {
	if id == "" {
		return ""
	}
	return f(id)
}

// ---- claims ----

type claimRow struct {
	report.ClaimView
	SpeakerNames  string
	AboutRoutes   []string
	AboutPlaces   []string
	AboutConvoys  []string
	AssertionText string
	Deciding      []signer
	Links         []linkRow
	Signer        signer
	Replies       []replyRow
}

type linkRow struct {
	store.LinkRow
	Record   *signer
	LinkedBy string
}

// claimRows lists the claims (about route, or all) with their verdicts
// and the records that decide them.
func (s *Server) claimRows(ctx context.Context, L *Locale, l *lookup, route string) ([]claimRow, error) {
	// The first page of claims; the rest page in the API.
	views, err := report.ClaimsPage(ctx, s.node.Store(), store.Page{After: -1, Limit: pageRows})
	if err != nil {
		return nil, err
	}
	if route != "" {
		views = slices.DeleteFunc(views, func(c report.ClaimView) bool {
			return !slices.Contains(c.Claim.AboutRoutes, route) && (c.Assertion == nil || c.Assertion.Route != route)
		})
	}
	return s.claimRowsOf(ctx, L, l, views)
}

// claimRowsOf gives claims their names, assertions in words and signers.
func (s *Server) claimRowsOf(ctx context.Context, L *Locale, l *lookup, views []report.ClaimView) ([]claimRow, error) {
	var out []claimRow
	for _, c := range views {
		row := claimRow{ClaimView: c, SpeakerNames: namesOr(l.party, c.SpeakerParty)}
		for _, r := range c.Claim.AboutRoutes {
			row.AboutRoutes = append(row.AboutRoutes, l.routeName(r))
		}
		for _, p := range c.Claim.AboutPlaces {
			row.AboutPlaces = append(row.AboutPlaces, l.place(p))
		}
		row.AboutConvoys = c.Claim.AboutConvoys
		if a := c.Assertion; a != nil && c.Period != nil {
			period := L.T("period", L.Date(c.Period.From), L.Date(c.Period.To))
			switch a.Kind {
			case corridor.AssertDelivered, corridor.AssertTonnesPerDay:
				row.AssertionText = L.T("assertion_text."+a.Kind, L.Num(a.Tonnes, 1), l.place(a.Place), period)
			case corridor.AssertCoverageBelow:
				row.AssertionText = L.T("assertion_text.coverage-below", L.Num(a.Percent, 0), l.place(a.Place), period)
			case corridor.AssertTrucksPerDay:
				row.AssertionText = L.T("assertion_text.trucks-per-day", L.Num(a.Trucks, 0), l.place(a.Place), period)
			default:
				row.AssertionText = L.T("assertion_text."+a.Kind, l.routeName(a.Route), L.K("traffic", a.Traffic), period)
			}
		}
		idx := []uint64{c.LogIndex}
		if c.Verdict != nil {
			idx = append(idx, c.Verdict.Records...)
		}
		for _, k := range c.Links {
			if k.RecordIndex != nil {
				idx = append(idx, *k.RecordIndex)
			}
		}
		sg, err := s.signers(ctx, l, idx)
		if err != nil {
			return nil, err
		}
		row.Signer = sg[c.LogIndex]
		if c.Verdict != nil {
			for _, i := range c.Verdict.Records {
				row.Deciding = append(row.Deciding, sg[i])
			}
		}
		for _, k := range c.Links {
			lr := linkRow{LinkRow: k, LinkedBy: l.party(k.LinkedBy)}
			if k.RecordIndex != nil {
				g := sg[*k.RecordIndex]
				lr.Record = &g
			}
			row.Links = append(row.Links, lr)
		}
		replies, err := s.replies(ctx, l, []uint64{c.LogIndex})
		if err != nil {
			return nil, err
		}
		row.Replies = replies[c.LogIndex]
		out = append(out, row)
	}
	return out, nil
}

type claimsData struct {
	Claims []claimRow
}

func (s *Server) claims(w http.ResponseWriter, r *http.Request) error {
	q := s.req(w, r)
	l, err := s.load(r.Context())
	if err != nil {
		return err
	}
	rows, err := s.claimRows(r.Context(), q.L, l, "")
	if err != nil {
		return err
	}
	return s.render(w, r, q, http.StatusOK, "claims", q.L.T("claims.title"), claimsData{Claims: rows})
}

// ---- convoy page ----

type convoyData struct {
	store.ConvoyRow
	Stages      *stageChart
	Claims      []claimRow // the claims about the convoy
	OrgNames    string
	RouteNames  string
	RouteLetter string
	Origin      string
	Dest        string
	Mode        string   // road, foot, air-drop or sea
	Way         []string // the places of its own way, by their names, when it leaves its route
	Lines       []manifestLine
	Vehicles    map[string]int
	Clearance   []clearanceRow
	History     []historyStep
	FiledBy     signer
	Current     string // the checkpoint it is at, by all its names
}

type manifestLine struct {
	N int
	corridor.Line
	RemovedQty, RemovedKg   float64
	RemovedWhy              []corridor.LineQty // the removals that give a reason of their own
	ReceivedQty, ReceivedKg float64
}

type clearanceRow struct {
	Authority string
	Deadline  string
	State     string
	Answer    *corridor.ClearanceAnswer
}

type historyStep struct {
	store.EventRow
	What       string // the event word
	Checkpoint string // names
	Signer     signer
	Detail     map[string]any
	Files      []corridor.Attachment // evidence files of the record
	Replies    []replyRow
}

func (s *Server) convoy(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q := s.req(w, r)
	l, err := s.load(ctx)
	if err != nil {
		return err
	}
	c, err := s.node.Store().Convoy(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	v := convoyData{ConvoyRow: c, OrgNames: l.party(c.Organisation), RouteNames: l.routeName(c.Route), RouteLetter: l.letter[c.Route],
		Origin: l.place(c.Origin), Dest: l.place(c.Destination), Vehicles: map[string]int{}, Current: namesOr(l.cpName, c.Checkpoint)}
	v.Mode = c.Filing.ModeOf()
	views, err := report.ConvoyClaims(ctx, s.node.Store(), c.ID)
	if err != nil {
		return err
	}
	if v.Claims, err = s.claimRowsOf(ctx, q.L, l, views); err != nil {
		return err
	}
	for _, p := range c.Filing.Way {
		v.Way = append(v.Way, l.place(p))
	}
	for i, ln := range c.Filing.Manifest {
		m := manifestLine{N: i, Line: ln}
		for _, x := range c.Progress.Removed {
			if x.Line == i {
				m.RemovedQty += x.Quantity
				m.RemovedKg += x.Kg
				if x.ReasonCategory != "" || x.Reason != "" || x.Decision != "" {
					m.RemovedWhy = append(m.RemovedWhy, x)
				}
			}
		}
		for _, x := range c.Progress.Received {
			if x.Line == i {
				m.ReceivedQty += x.Quantity
				m.ReceivedKg += x.Kg
			}
		}
		v.Lines = append(v.Lines, m)
	}
	for _, vh := range c.Filing.Vehicles {
		v.Vehicles[vh.Kind]++
	}
	var auths []string
	auths = c.Authorities
	today := corridor.Date(now().UTC().Format("2006-01-02"))
	for _, a := range auths {
		cr := clearanceRow{Authority: l.party(a), Deadline: string(c.Filing.Deadline())}
		if ans, ok := c.Progress.Clearance[a]; ok {
			cr.Answer = &ans
		}
		cr.State = corridor.ClearanceState(cr.Answer, c.Filing.Deadline(), today)
		v.Clearance = append(v.Clearance, cr)
	}
	for _, a := range corridor.NotifiedAuthorities(c.Filing.Routes(l.network()), auths) {
		cr := clearanceRow{Authority: l.party(a), Deadline: string(c.Filing.Deadline()), State: "notified"}
		if ans, ok := c.Progress.Clearance[a]; ok {
			cr.Answer, cr.State = &ans, ans.Decision
		}
		v.Clearance = append(v.Clearance, cr)
	}
	idx := []uint64{c.LogIndex}
	for _, e := range c.Events {
		idx = append(idx, e.LogIndex)
	}
	sg, err := s.signers(ctx, l, idx)
	if err != nil {
		return err
	}
	v.FiledBy = sg[c.LogIndex]
	replies, err := s.replies(ctx, l, idx)
	if err != nil {
		return err
	}
	for _, e := range c.Events {
		h := historyStep{EventRow: e, What: e.Event, Checkpoint: namesOr(l.cpName, e.Checkpoint), Signer: sg[e.LogIndex], Detail: map[string]any{}}
		if e.Type == corridor.TypeConvoy {
			h.What = "filed"
		}
		if e.Type == corridor.TypeConfirm {
			h.What = "confirmed"
		}
		_ = json.Unmarshal(e.Payload, &h.Detail)
		var withFiles struct{ Files []corridor.Attachment }
		_ = json.Unmarshal(e.Payload, &withFiles)
		h.Files = withFiles.Files
		h.Replies = replies[e.LogIndex]
		v.History = append(v.History, h)
	}
	v.Stages = drawStages(q.L, v.History)
	return s.render(w, r, q, http.StatusOK, "convoy", q.L.T("convoy.title", c.ID), v)
}

// ---- settlement page ----

type settlementData struct {
	report.CoverageReport
	Kind     string
	Chart    *coverageChart
	Outcomes []outcomeRow
}

type outcomeRow struct {
	corridor.ConvoyOutcome
	OrgNames   string
	RouteNames string
	Kg         float64
	PD         float64
}

func (s *Server) settlement(w http.ResponseWriter, r *http.Request) error {
	q := s.req(w, r)
	l, err := s.load(r.Context())
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	p, ok := l.places[id]
	if !ok {
		return fmt.Errorf("place %q: %w", id, store.ErrNotFound)
	}
	if !p.IsSettlement() || p.Population <= 0 {
		return fmt.Errorf("settlement %q: %w", id, store.ErrNotFound)
	}
	c, err := report.CoverageOf(r.Context(), s.node.Store(), id, "", "", 0)
	if err != nil {
		return err
	}
	v := settlementData{CoverageReport: c, Kind: p.Kind, Chart: drawCoverageChart(q.L, c)}
	outcomes, err := s.node.Store().LatestOutcomes(r.Context(), c.Catchment, pageRows)
	if err != nil {
		return err
	}
	for _, o := range outcomes {
		row := outcomeRow{ConvoyOutcome: o.ConvoyOutcome, Kg: o.Kg(), PD: o.Kcal() / c.KcalPerDay, OrgNames: l.party(o.Organisation)}
		row.RouteNames = l.routeName(o.Route)
		v.Outcomes = append(v.Outcomes, row)
	}
	names := []string{}
	for _, x := range c.Catchment {
		names = append(names, l.place(x))
	}
	v.Catchment = names
	return s.render(w, r, q, http.StatusOK, "settlement", c.Names, v)
}

// ---- data page ----

type dataPage struct {
	Exports      []exportRow
	Size         uint64
	Origin       string
	TreeHeadSize uint64
	Witnessed    bool // the log publishes under a witness policy
	QuorumMet    bool
	Witnesses    []witnessRow
}

// witnessRow says whether one witness cosigned the latest tree head.
type witnessRow struct {
	Name     string
	Cosigned bool
}

type exportRow struct {
	Kind    string
	Formats []exportLink
}

type exportLink struct {
	Format string
	URL    string
}

func (s *Server) data(w http.ResponseWriter, r *http.Request) error {
	q := s.req(w, r)
	v := dataPage{Origin: s.node.Config.Origin}
	v.Size = s.node.Size()
	if raw, size, _, err := s.node.Log.TreeHead(r.Context()); err == nil {
		v.TreeHeadSize = size
		if s.policy != nil {
			v.Witnessed = true
			v.QuorumMet = s.policy.Satisfied(raw)
			cosigned := s.policy.Cosigners(raw)
			for _, m := range s.policy.Witnesses {
				v.Witnesses = append(v.Witnesses, witnessRow{Name: m.Name, Cosigned: slices.Contains(cosigned, m.Name)})
			}
		}
	}
	for _, k := range report.ExportKinds {
		row := exportRow{Kind: k}
		for _, f := range report.ExportFormats {
			if report.CheckExport(k, f) == nil {
				row.Formats = append(row.Formats, exportLink{Format: f, URL: "/api/v1/exports/" + k + "?format=" + f})
			}
		}
		v.Exports = append(v.Exports, row)
	}
	return s.render(w, r, q, http.StatusOK, "data", q.L.T("data.title"), v)
}
