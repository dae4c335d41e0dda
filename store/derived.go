package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"corridor"
)

// The derived views, kept in SQL as records are applied. The rules are the
// root package's (corridor.RouteEvidence, corridor.Outcome, JudgeRoute,
// JudgeDelivered): this file only decides which rows a record touches and
// adjusts them.
//
// Evidence comes from sources: a convoy (its filing and every record about
// it), an incident (its report and latest verification), a route closure
// (with the openings by the same authority that end it) and an observed
// passage. When a record changes a source, the source's evidence is derived
// again from its own few records and compared with what is stored; only the
// days whose counts differ are written. A hold or closure with no recorded
// end lasts to as_of, the latest day any record names; when as_of moves,
// the sources with such open ends are derived again.

// DecidingPerDay is how many deciding records are kept per route, traffic,
// day and kind of evidence: the earliest in the log. route_days counts all.
const DecidingPerDay = 10

func init() {
	projectedTables = append(projectedTables, "derived_state", "evidence", "route_days", "route_day_records",
		"claim_verdicts", "convoy_outcomes", "coverage_items", "coverage_records", "incident_views", "figures", "delivered_vehicles")
}

// deriver updates the derived views inside one Apply transaction.
type deriver struct {
	ctx  context.Context
	t    txn
	asOf corridor.Date
	// touched ranges, for the claim verdicts to derive again at the end
	routes map[[2]string][2]corridor.Date // route, traffic -> from, to
	places map[string][2]corridor.Date    // destination -> from, to
	areas  []corridor.Area                // loaded on first need
}

func newDeriver(ctx context.Context, t txn, entries []Entry) (*deriver, error) {
	d := &deriver{ctx: ctx, t: t, routes: map[[2]string][2]corridor.Date{}, places: map[string][2]corridor.Date{}}
	var asOf string
	if err := t.queryRow(ctx, `SELECT as_of FROM derived_state WHERE id = 1`).Scan(&asOf); err != nil {
		return nil, fmt.Errorf("read derived state: %w", err)
	}
	d.asOf = corridor.Date(asOf)
	return d, nil
}

// DayNamed is the day a record names, which moves as_of: the day of a
// convoy's answer, checkpoint event or movement, a statement or claim's
// day, an incident's report, a closure's or opening's first day, an
// observed passage's last day.
func DayNamed(p corridor.Payload) corridor.Date {
	switch v := p.(type) {
	case *corridor.ClearanceAnswer:
		return corridor.DayOf(v.At)
	case *corridor.CheckpointEvent:
		return corridor.DayOf(v.At)
	case *corridor.ConvoyMove:
		return corridor.DayOf(v.At)
	case *corridor.Statement:
		return v.SaidOn
	case *corridor.Incident:
		return v.Reported
	case *corridor.Claim:
		return v.SaidOn
	case *corridor.RouteClosure:
		return v.From
	case *corridor.RouteOpening:
		return v.From
	case *corridor.PassageObservation:
		return v.LastDay()
	}
	return ""
}

// entry updates the views for one applied entry. as_of has already been
// moved to cover the whole batch (see finish).
func (d *deriver) entry(e Entry) error {
	if err := d.bump("records", 1); err != nil {
		return err
	}
	switch p := e.Payload.(type) {
	case *corridor.Convoy, *corridor.ClearanceAnswer, *corridor.ConvoyMove, *corridor.DeliveryConfirm:
		if e.Convoy != nil {
			return d.convoy(e.Convoy.Convoy.ID)
		}
	case *corridor.CheckpointEvent:
		if e.Convoy == nil {
			return nil
		}
		if p.Event == corridor.EvHeld || p.Event == corridor.EvRefused {
			if err := d.derivedIncident(e, p); err != nil {
				return err
			}
		}
		return d.convoy(e.Convoy.Convoy.ID)
	case *corridor.Incident:
		if err := d.incidentView(p.ID); err != nil {
			return err
		}
		return d.incident(p.ID)
	case *corridor.IncidentVerification:
		if err := d.incidentView(p.Incident); err != nil {
			return err
		}
		return d.incident(p.Incident)
	case *corridor.RouteClosure:
		return d.closure(int64(e.Index))
	case *corridor.RouteOpening:
		// An opening ends the open closures of the same authority and route.
		return each(d, d.closure, `SELECT log_index FROM route_notices WHERE route = ? AND party = ? AND kind = 'closed' AND to_day = ''`, p.Route, e.Party)
	case *corridor.PassageObservation:
		return d.setEvidence(fmt.Sprintf("passage:%d", e.Index), corridor.RouteEvidence(corridor.EvidenceInput{
			Passages: []corridor.Logged[*corridor.PassageObservation]{{Index: e.Index, By: e.Party, Payload: p}}, AsOf: d.asOf}))
	case *corridor.Checkpoint:
		// Incidents at the checkpoint with no route of their own take its routes.
		return each(d, d.incident, `SELECT id FROM incidents WHERE checkpoint = ? AND route = ''`, p.ID)
	case *corridor.Route:
		// Evidence at a place the route passes through is on it too: the
		// sources with evidence on a route through one of its places are
		// derived again.
		return each(d, d.unit, `SELECT DISTINCT unit FROM evidence WHERE route IN (
			SELECT DISTINCT route FROM route_places WHERE route <> ? AND place IN (SELECT place FROM route_places WHERE route = ?)) ORDER BY unit`, p.ID, p.ID)
	case *corridor.Claim:
		return d.claimVerdict(p.ID)
	}
	return nil
}

// advance moves as_of to day if it is later, and derives again every
// source whose evidence lasts to as_of.
func (d *deriver) advance(day corridor.Date) error {
	if day == "" || day <= d.asOf {
		return nil
	}
	old := d.asOf
	d.asOf = day
	if err := d.t.exec(d.ctx, `UPDATE derived_state SET as_of = ? WHERE id = 1`, string(day)); err != nil {
		return err
	}
	if old == "" {
		return nil
	}
	rows, err := d.t.query(d.ctx, `SELECT DISTINCT unit FROM evidence WHERE open_end = 1`)
	if err != nil {
		return err
	}
	units, err := scanStrings(rows)
	if err != nil {
		return err
	}
	for _, u := range units {
		if err := d.unit(u); err != nil {
			return err
		}
	}
	return nil
}

// unit derives one source again by its name in the evidence table.
func (d *deriver) unit(u string) error {
	kind, id, _ := strings.Cut(u, ":")
	switch kind {
	case "convoy":
		return d.convoy(id)
	case "incident":
		return d.incident(id)
	case "closure":
		var i int64
		if _, err := fmt.Sscan(id, &i); err != nil {
			return fmt.Errorf("evidence unit %q: %w", u, err)
		}
		return d.closure(i)
	}
	return nil // passages never have open ends
}

// finish derives again the verdicts of the claims whose period overlaps a
// touched range.
func (d *deriver) finish() error {
	var ids []string
	for k, r := range d.routes {
		rows, err := d.t.query(d.ctx, `SELECT claim FROM claim_verdicts WHERE route = ? AND traffic = ? AND from_day <= ? AND to_day >= ?`,
			k[0], k[1], string(r[1]), string(r[0]))
		if err != nil {
			return err
		}
		got, err := scanStrings(rows)
		if err != nil {
			return err
		}
		ids = append(ids, got...)
	}
	for dest, r := range d.places {
		places := []string{dest}
		areas, err := d.loadAreas()
		if err != nil {
			return err
		}
		for _, a := range areas {
			if slices.Contains(a.Places, dest) {
				places = append(places, a.Place)
			}
		}
		for _, p := range places {
			rows, err := d.t.query(d.ctx, `SELECT claim FROM claim_verdicts WHERE place = ? AND from_day <= ? AND to_day >= ?`, p, string(r[1]), string(r[0]))
			if err != nil {
				return err
			}
			got, err := scanStrings(rows)
			if err != nil {
				return err
			}
			ids = append(ids, got...)
		}
	}
	slices.Sort(ids)
	for _, id := range slices.Compact(ids) {
		if err := d.claimVerdict(id); err != nil {
			return err
		}
	}
	return nil
}

func (d *deriver) loadAreas() ([]corridor.Area, error) {
	if d.areas != nil {
		return d.areas, nil
	}
	rows, err := d.t.query(d.ctx, `SELECT doc FROM areas`)
	if err != nil {
		return nil, err
	}
	docs, err := scanStrings(rows)
	if err != nil {
		return nil, err
	}
	d.areas = []corridor.Area{}
	for _, doc := range docs {
		var a corridor.Area
		if err := decodeDoc(doc, &a); err != nil {
			return nil, err
		}
		d.areas = append(d.areas, a)
	}
	return d.areas, nil
}

func (d *deriver) bump(name string, by int64) error { return bumpFigure(d.ctx, d.t, name, by) }

// bumpFigure adds to a key figure.
// monthFigure names the figure that counts the incidents of day's month.
func monthFigure(day string) string { return "incidents:" + day[:min(len(day), 7)] }

func bumpFigure(ctx context.Context, t txn, name string, by int64) error {
	return t.exec(ctx, `INSERT INTO figures (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = figures.value + excluded.value`, name, by)
}

func (d *deriver) touchRoute(route, traffic string, from, to corridor.Date) {
	k := [2]string{route, traffic}
	if r, ok := d.routes[k]; ok {
		from, to = min(from, r[0]), max(to, r[1])
	}
	d.routes[k] = [2]corridor.Date{from, to}
}

func (d *deriver) touchPlace(place string, day corridor.Date) {
	from, to := day, day
	if r, ok := d.places[place]; ok {
		from, to = min(from, r[0]), max(to, r[1])
	}
	d.places[place] = [2]corridor.Date{from, to}
}

// ---- sources ----

// history reads a convoy's filing and every record about it.
func (d *deriver) history(id string) (corridor.ConvoyHistory, error) {
	var h corridor.ConvoyHistory
	var doc string
	var idx int64
	if err := d.t.queryRow(d.ctx, `SELECT doc, log_index FROM convoys WHERE id = ?`, id).Scan(&doc, &idx); err != nil {
		return h, fmt.Errorf("convoy %q: %w", id, err)
	}
	if err := decodeDoc(doc, &h.Convoy); err != nil {
		return h, err
	}
	h.Index = uint64(idx)
	rows, err := d.t.query(d.ctx, `SELECT type, party, doc, log_index FROM convoy_events WHERE convoy = ? AND type <> ? ORDER BY log_index`, id, corridor.TypeConvoy)
	if err != nil {
		return h, err
	}
	defer rows.Close()
	for rows.Next() {
		var typ, party, doc string
		var i int64
		if err := rows.Scan(&typ, &party, &doc, &i); err != nil {
			return h, err
		}
		p, err := DecodePayload(typ, []byte(doc))
		if err != nil {
			return h, fmt.Errorf("log index %d: %w", i, err)
		}
		h.Events = append(h.Events, corridor.Logged[corridor.Payload]{Index: uint64(i), By: party, Payload: p})
	}
	return h, rows.Err()
}

// convoy derives a convoy's evidence and outcome again.
func (d *deriver) convoy(id string) error {
	h, err := d.history(id)
	if err != nil {
		return err
	}
	in, err := d.input()
	if err != nil {
		return err
	}
	in.Convoys = []corridor.ConvoyHistory{h}
	_, way, err := in.net.way(d.ctx, d.t, &h.Convoy)
	if err != nil {
		return err
	}
	for _, cp := range way {
		in.Checkpoints[cp.ID] = cp
	}
	if err := d.setEvidence("convoy:"+id, corridor.RouteEvidence(in.EvidenceInput)); err != nil {
		return err
	}
	o, ok := corridor.Outcome(h)
	return d.setOutcome(h.Convoy, o, ok)
}

func (d *deriver) incident(id string) error {
	var doc, verification string
	var idx int64
	if err := d.t.queryRow(d.ctx, `SELECT doc, verification, log_index FROM incidents WHERE id = ?`, id).Scan(&doc, &verification, &idx); err != nil {
		return fmt.Errorf("incident %q: %w", id, err)
	}
	var inc corridor.Incident
	if err := decodeDoc(doc, &inc); err != nil {
		return err
	}
	inc.Verification = verification
	in, err := d.input(inc.Checkpoint)
	if err != nil {
		return err
	}
	in.Incidents = []corridor.Logged[*corridor.Incident]{{Index: uint64(idx), Payload: &inc}}
	return d.setEvidence("incident:"+id, corridor.RouteEvidence(in.EvidenceInput))
}

func (d *deriver) checkpoint(id string) (*corridor.Checkpoint, error) {
	var c corridor.Checkpoint
	if ok, err := docOf(d.ctx, d.t, &c, `SELECT doc FROM checkpoints WHERE id = ?`, id); !ok || err != nil {
		return nil, err
	}
	return &c, nil
}

// evidenceInput is what the status rules read for one source: the road
// network, as_of and the checkpoints it names.
type evidenceInput struct {
	corridor.EvidenceInput
	net *network
}

func (d *deriver) input(checkpoints ...string) (evidenceInput, error) {
	n, err := d.t.network(d.ctx)
	if err != nil {
		return evidenceInput{}, err
	}
	in := evidenceInput{corridor.EvidenceInput{Routes: n.routes, Checkpoints: map[string]*corridor.Checkpoint{}, AsOf: d.asOf}, n}
	for _, id := range checkpoints {
		if id == "" {
			continue
		}
		c, err := d.checkpoint(id)
		if err != nil {
			return in, err
		}
		if c != nil {
			in.Checkpoints[id] = c
		}
	}
	return in, nil
}

func (d *deriver) closure(idx int64) error {
	var doc, party, route string
	if err := d.t.queryRow(d.ctx, `SELECT doc, party, route FROM route_notices WHERE log_index = ?`, idx).Scan(&doc, &party, &route); err != nil {
		return fmt.Errorf("closure at log index %d: %w", idx, err)
	}
	var c corridor.RouteClosure
	if err := decodeDoc(doc, &c); err != nil {
		return err
	}
	in, err := d.input(c.Checkpoint)
	if err != nil {
		return err
	}
	in.Closures = []corridor.Logged[*corridor.RouteClosure]{{Index: uint64(idx), By: party, Payload: &c}}
	if c.To == "" {
		rows, err := d.t.query(d.ctx, `SELECT doc, log_index FROM route_notices WHERE route = ? AND party = ? AND kind = 'opened' ORDER BY log_index`, route, party)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var od string
			var oi int64
			if err := rows.Scan(&od, &oi); err != nil {
				return err
			}
			var o corridor.RouteOpening
			if err := decodeDoc(od, &o); err != nil {
				return err
			}
			in.Openings = append(in.Openings, corridor.Logged[*corridor.RouteOpening]{Index: uint64(oi), By: party, Payload: &o})
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
	}
	return d.setEvidence(fmt.Sprintf("closure:%d", idx), corridor.RouteEvidence(in.EvidenceInput))
}

// ---- evidence and daily counts ----

type dayKey struct {
	route, traffic string
	day            corridor.Date
}

type dayDelta struct {
	counts [3]int         // passages, removals, denials
	recs   map[recKey]int // +1 added, -1 removed
}

type recKey struct {
	kind  string
	index uint64
}

func kindSlot(k corridor.EvidenceKind) int {
	switch k {
	case corridor.Passage:
		return 0
	case corridor.Removal:
		return 1
	}
	return 2
}

// openEnded says whether a piece of evidence lasts to as_of because nothing
// has ended it yet: a hold with no later movement, a closure with no end.
func (d *deriver) openEnded(e corridor.Evidence) bool {
	return e.To == d.asOf && (e.What == corridor.TypeCheckEvent+" "+corridor.EvHeld || e.What == corridor.TypeRouteClosed)
}

// setEvidence replaces a source's evidence and adjusts the days it covers.
func (d *deriver) setEvidence(unit string, ev []corridor.Evidence) error {
	rows, err := d.t.query(d.ctx, `SELECT route, traffic, kind, from_day, to_day, log_index, what, open_end FROM evidence WHERE unit = ? ORDER BY n`, unit)
	if err != nil {
		return err
	}
	var old []corridor.Evidence
	var oldOpen []bool
	for rows.Next() {
		var e corridor.Evidence
		var kind, from, to string
		var idx, open int64
		if err := rows.Scan(&e.Route, &e.Traffic, &kind, &from, &to, &idx, &e.What, &open); err != nil {
			rows.Close()
			return err
		}
		e.Kind, e.From, e.To, e.Index = corridor.EvidenceKind(kind), corridor.Date(from), corridor.Date(to), uint64(idx)
		old = append(old, e)
		oldOpen = append(oldOpen, open == 1)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if slices.Equal(old, ev) {
		// The same days, but a hold that ended on the old as-of day is no
		// longer open once the as-of day moves past it.
		for n, e := range ev {
			if open := d.openEnded(e); open != oldOpen[n] {
				if err := d.t.exec(d.ctx, `UPDATE evidence SET open_end = ? WHERE unit = ? AND n = ?`, boolInt(open), unit, n); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if len(old) > 0 {
		if err := d.t.exec(d.ctx, `DELETE FROM evidence WHERE unit = ?`, unit); err != nil {
			return err
		}
	}
	for n, e := range ev {
		if err := d.t.exec(d.ctx, `INSERT INTO evidence (unit, n, route, traffic, kind, from_day, to_day, open_end, log_index, what) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			unit, n, e.Route, e.Traffic, string(e.Kind), string(e.From), string(e.To), boolInt(d.openEnded(e)), int64(e.Index), e.What); err != nil {
			return err
		}
	}
	deltas := map[dayKey]*dayDelta{}
	spread := func(e corridor.Evidence, sign int) {
		eachDay(e.From, e.To, func(day corridor.Date) {
			k := dayKey{e.Route, e.Traffic, day}
			dl := deltas[k]
			if dl == nil {
				dl = &dayDelta{recs: map[recKey]int{}}
				deltas[k] = dl
			}
			dl.counts[kindSlot(e.Kind)] += sign
			dl.recs[recKey{string(e.Kind), e.Index}] += sign
		})
	}
	for _, e := range old {
		spread(e, -1)
	}
	for _, e := range ev {
		spread(e, +1)
	}
	keys := make([]dayKey, 0, len(deltas))
	for k := range deltas {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b dayKey) int {
		return strings.Compare(a.route+"\x00"+a.traffic+"\x00"+string(a.day), b.route+"\x00"+b.traffic+"\x00"+string(b.day))
	})
	for _, k := range keys {
		dl := deltas[k]
		if dl.counts != [3]int{} {
			if err := d.addCounts(k, dl.counts); err != nil {
				return err
			}
			d.touchRoute(k.route, k.traffic, k.day, k.day)
		}
		var rks []recKey
		for rk, n := range dl.recs {
			if n != 0 {
				rks = append(rks, rk)
			}
		}
		slices.SortFunc(rks, func(a, b recKey) int {
			if a.kind != b.kind {
				return strings.Compare(a.kind, b.kind)
			}
			return int(a.index) - int(b.index)
		})
		for _, rk := range rks {
			if dl.recs[rk] < 0 {
				err = d.removeDayRecord(k, rk)
			} else {
				err = d.addDayRecord(k, rk)
			}
			if err != nil {
				return err
			}
			d.touchRoute(k.route, k.traffic, k.day, k.day)
		}
	}
	return nil
}

func (d *deriver) addCounts(k dayKey, delta [3]int) error {
	var c corridor.DayCounts
	err := d.t.queryRow(d.ctx, `SELECT passages, removals, denials FROM route_days WHERE route = ? AND traffic = ? AND day = ?`,
		k.route, k.traffic, string(k.day)).Scan(&c.Passages, &c.Removals, &c.Denials)
	exists := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	c.Passages += delta[0]
	c.Removals += delta[1]
	c.Denials += delta[2]
	switch {
	case c == corridor.DayCounts{}:
		if !exists {
			return nil
		}
		return d.t.exec(d.ctx, `DELETE FROM route_days WHERE route = ? AND traffic = ? AND day = ?`, k.route, k.traffic, string(k.day))
	case c.Passages < 0 || c.Removals < 0 || c.Denials < 0:
		return fmt.Errorf("derived status of %s %s on %s would go negative", k.route, k.traffic, k.day)
	case exists:
		return d.t.exec(d.ctx, `UPDATE route_days SET passages = ?, removals = ?, denials = ?, status = ? WHERE route = ? AND traffic = ? AND day = ?`,
			c.Passages, c.Removals, c.Denials, string(corridor.DayStatus(c)), k.route, k.traffic, string(k.day))
	}
	return d.t.exec(d.ctx, `INSERT INTO route_days (route, traffic, day, passages, removals, denials, status) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		k.route, k.traffic, string(k.day), c.Passages, c.Removals, c.Denials, string(corridor.DayStatus(c)))
}

// addDayRecord keeps rk among a day's deciding records if it is one of the
// DecidingPerDay earliest of its kind.
func (d *deriver) addDayRecord(k dayKey, rk recKey) error {
	where := `route = ? AND traffic = ? AND day = ? AND kind = ?`
	args := []any{k.route, k.traffic, string(k.day), rk.kind}
	return d.capAdd("route_day_records", where, args,
		`INSERT INTO route_day_records (route, traffic, day, kind, log_index) VALUES (?, ?, ?, ?, ?)`, int64(rk.index))
}

func (d *deriver) removeDayRecord(k dayKey, rk recKey) error {
	where := `route = ? AND traffic = ? AND day = ? AND kind = ?`
	args := []any{k.route, k.traffic, string(k.day), rk.kind}
	backfill := `SELECT MIN(log_index) FROM evidence WHERE route = ? AND traffic = ? AND kind = ? AND from_day <= ? AND to_day >= ?
		AND log_index NOT IN (SELECT log_index FROM route_day_records WHERE ` + where + `)`
	bargs := append([]any{k.route, k.traffic, rk.kind, string(k.day), string(k.day)}, args...)
	return d.capRemove("route_day_records", where, args,
		`INSERT INTO route_day_records (route, traffic, day, kind, log_index) VALUES (?, ?, ?, ?, ?)`, int64(rk.index), backfill, bargs)
}

// capAdd inserts index into a capped list (the rows of table matching
// where), keeping the DecidingPerDay lowest indices.
func (d *deriver) capAdd(table, where string, args []any, insert string, index int64) error {
	// A removal in the same change may already have filled its place
	// with this very index.
	var one int
	err := d.t.queryRow(d.ctx, `SELECT 1 FROM `+table+` WHERE `+where+` AND log_index = ?`, append(slices.Clone(args), index)...).Scan(&one)
	if err == nil {
		return nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	var n, top int64
	if err := d.t.queryRow(d.ctx, `SELECT COUNT(*), COALESCE(MAX(log_index), -1) FROM `+table+` WHERE `+where, args...).Scan(&n, &top); err != nil {
		return err
	}
	if n >= DecidingPerDay {
		if index >= top {
			return nil
		}
		if err := d.t.exec(d.ctx, `DELETE FROM `+table+` WHERE `+where+` AND log_index = ?`, append(slices.Clone(args), top)...); err != nil {
			return err
		}
	}
	return d.t.exec(d.ctx, insert, append(slices.Clone(args), index)...)
}

// capRemove takes index out of a capped list and fills its place with the
// lowest index the backfill query finds that is not yet listed.
func (d *deriver) capRemove(table, where string, args []any, insert string, index int64, backfill string, bargs []any) error {
	res, err := d.t.tx.ExecContext(d.ctx, d.t.d.rebind(`DELETE FROM `+table+` WHERE `+where+` AND log_index = ?`), append(slices.Clone(args), index)...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil
	}
	var next sql.NullInt64
	if err := d.t.queryRow(d.ctx, backfill, bargs...).Scan(&next); err != nil {
		return err
	}
	if !next.Valid {
		return nil
	}
	return d.t.exec(d.ctx, insert, append(slices.Clone(args), next.Int64)...)
}

// eachDay calls fn for every day from a to b, both included.
func eachDay(a, b corridor.Date, fn func(corridor.Date)) {
	ta, err1 := a.Time()
	tb, err2 := b.Time()
	if err1 != nil || err2 != nil {
		return
	}
	for t := ta; !t.After(tb); t = t.AddDate(0, 0, 1) {
		fn(corridor.Date(t.Format(time.DateOnly)))
	}
}

// ---- convoy outcomes and coverage ----

func (d *deriver) setOutcome(c corridor.Convoy, o corridor.ConvoyOutcome, ok bool) error {
	var oldDoc string
	err := d.t.queryRow(d.ctx, `SELECT doc FROM convoy_outcomes WHERE convoy = ?`, c.ID).Scan(&oldDoc)
	had := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	newDoc := ""
	if ok {
		newDoc = jsonText(o)
	}
	if had && oldDoc == newDoc {
		return nil
	}
	if !had && !ok {
		return nil
	}
	if had {
		var old corridor.ConvoyOutcome
		if err := decodeDoc(oldDoc, &old); err != nil {
			return err
		}
		if old.Outcome == corridor.OutcomeDelivered {
			if err := addVehicles(d.ctx, d.t, c.Destination, string(old.Day), -int64(len(c.Vehicles))); err != nil {
				return err
			}
		}
		for i := range old.Items {
			if old.Items[i].Mode == "" {
				old.Items[i].Mode = corridor.ModeRoad // projected before modes (migration 0008)
			}
		}
		// The row goes first, so that the coverage's records are not
		// filled again from it.
		if err := d.t.exec(d.ctx, `DELETE FROM convoy_outcomes WHERE convoy = ?`, c.ID); err != nil {
			return err
		}
		if err := d.coverage(c.Destination, old, -1); err != nil {
			return err
		}
		if err := d.bump("outcome:"+old.Outcome, -1); err != nil {
			return err
		}
	}
	if !ok {
		return nil
	}
	if err := d.t.exec(d.ctx, `INSERT INTO convoy_outcomes (convoy, destination, outcome, day, kg, log_index, doc, vehicles) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.Destination, o.Outcome, string(o.Day), o.Kg(), int64(o.Index), newDoc, len(c.Vehicles)); err != nil {
		return err
	}
	if o.Outcome == corridor.OutcomeDelivered {
		if err := addVehicles(d.ctx, d.t, c.Destination, string(o.Day), int64(len(c.Vehicles))); err != nil {
			return err
		}
	}
	if err := d.bump("outcome:"+o.Outcome, 1); err != nil {
		return err
	}
	return d.coverage(c.Destination, o, +1)
}

// addVehicles adds n (taken away if negative) to the vehicles that
// delivered to place on day.
func addVehicles(ctx context.Context, t txn, place, day string, n int64) error {
	var have int64
	err := t.queryRow(ctx, `SELECT vehicles FROM delivered_vehicles WHERE place = ? AND day = ?`, place, day).Scan(&have)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if n < 0 {
			return fmt.Errorf("no vehicles delivered to %s on %s to take away", place, day)
		}
		return t.exec(ctx, `INSERT INTO delivered_vehicles (place, day, vehicles) VALUES (?, ?, ?)`, place, day, n)
	case err != nil:
		return err
	case have+n == 0:
		return t.exec(ctx, `DELETE FROM delivered_vehicles WHERE place = ? AND day = ?`, place, day)
	}
	return t.exec(ctx, `UPDATE delivered_vehicles SET vehicles = vehicles + ? WHERE place = ? AND day = ?`, n, place, day)
}

// coverage adds (sign +1) or takes away (-1) an outcome's items in the
// coverage of its destination on its day.
func (d *deriver) coverage(place string, o corridor.ConvoyOutcome, sign int) error {
	d.touchPlace(place, o.Day)
	for _, it := range o.Items {
		rated := 0
		if it.Rated {
			rated = 1
		}
		key := []any{place, string(o.Day), it.Outcome, it.Mode, it.Item, it.Sector, it.Unit}
		where := `place = ? AND day = ? AND outcome = ? AND mode = ? AND item = ? AND sector = ? AND unit = ?`
		var n int64
		err := d.t.queryRow(d.ctx, `SELECT convoys FROM coverage_items WHERE `+where, key...).Scan(&n)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		s := float64(sign)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if sign < 0 {
				return fmt.Errorf("coverage of %s on %s has no %s %s to take away", place, o.Day, it.Outcome, it.Item)
			}
			err = d.t.exec(d.ctx, `INSERT INTO coverage_items (place, day, outcome, mode, item, sector, unit, rated, quantity, kg, kcal, convoys) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
				append(key, rated, it.Quantity, it.Kg, it.Kcal)...)
		case n+int64(sign) == 0:
			err = d.t.exec(d.ctx, `DELETE FROM coverage_items WHERE `+where, key...)
		default:
			err = d.t.exec(d.ctx, `UPDATE coverage_items SET quantity = quantity + ?, kg = kg + ?, kcal = kcal + ?, convoys = convoys + ? WHERE `+where,
				append([]any{s * it.Quantity, s * it.Kg, s * it.Kcal, sign}, key...)...)
		}
		if err != nil {
			return err
		}
	}
	where := `place = ? AND day = ?`
	args := []any{place, string(o.Day)}
	insert := `INSERT INTO coverage_records (place, day, log_index) VALUES (?, ?, ?)`
	if sign > 0 {
		return d.capAdd("coverage_records", where, args, insert, int64(o.Index))
	}
	backfill := `SELECT MIN(log_index) FROM convoy_outcomes WHERE destination = ? AND day = ? AND log_index NOT IN (SELECT log_index FROM coverage_records WHERE ` + where + `)`
	return d.capRemove("coverage_records", where, args, insert, int64(o.Index), backfill, append(slices.Clone(args), args...))
}

// ---- claim verdicts ----

func (d *deriver) claimVerdict(id string) error {
	var doc string
	var idx int64
	if err := d.t.queryRow(d.ctx, `SELECT doc, log_index FROM claims WHERE id = ?`, id).Scan(&doc, &idx); err != nil {
		return fmt.Errorf("claim %q: %w", id, err)
	}
	var c corridor.Claim
	if err := decodeDoc(doc, &c); err != nil {
		return err
	}
	if c.Assertion == nil || c.Period == nil {
		return nil
	}
	v, err := judge(d.ctx, d.t, *c.Assertion, *c.Period)
	if err != nil {
		return err
	}
	a := c.Assertion
	return d.t.exec(d.ctx, `INSERT INTO claim_verdicts (claim, kind, route, traffic, place, from_day, to_day, verdict, doc, log_index) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (claim) DO UPDATE SET verdict = excluded.verdict, doc = excluded.doc`,
		id, a.Kind, a.Route, a.Traffic, a.Place, string(c.Period.From), string(c.Period.To), v.Verdict, jsonText(v), idx)
}

// ---- incidents as read ----

// IncidentView is an incident as people read it: a reported one, or one
// derived from a convoy's refusal or hold at a checkpoint (DerivedFrom
// names that record's log index).
type IncidentView struct {
	ID              string   `json:"id"`
	Derived         bool     `json:"derived"`
	DerivedFrom     *uint64  `json:"derived_from,omitempty"`
	Category        string   `json:"category"`
	CategoryNumber  int      `json:"category_number"`
	CategoryLabel   string   `json:"category_label"`
	Occurred        string   `json:"occurred"`
	Until           string   `json:"until,omitempty"`
	Reported        string   `json:"reported"`
	Route           string   `json:"route,omitempty"`
	Checkpoint      string   `json:"checkpoint,omitempty"`
	Place           string   `json:"place,omitempty"` // the incident's place, or its checkpoint's
	Lat             *float64 `json:"lat,omitempty"`
	Lon             *float64 `json:"lon,omitempty"`
	Perpetrator     string   `json:"perpetrator,omitempty"`
	Affected        string   `json:"affected_organisation,omitempty"`
	People          int64    `json:"people_affected,omitempty"`
	PeopleEstimated bool     `json:"people_estimated,omitempty"`
	AidDenied       []string `json:"aid_denied"`
	Traffic         []string `json:"traffic"`
	Description     string   `json:"description"`
	Source          string   `json:"source,omitempty"`
	SourceURL       string   `json:"source_url,omitempty"`
	Verification    string   `json:"verification"`
	// Files are the evidence files of the report (or of the checkpoint
	// event it is derived from); a restricted one shows its commitment.
	Files      []corridor.Attachment `json:"files,omitempty"`
	ReportedBy string                `json:"reported_by"`
	LogIndex   uint64                `json:"log_index"`
}

func nonNil[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}

// incidentView writes a reported incident's row in the incident list.
func (d *deriver) incidentView(id string) error {
	var doc, verification, party string
	var idx int64
	if err := d.t.queryRow(d.ctx, `SELECT doc, verification, party, log_index FROM incidents WHERE id = ?`, id).Scan(&doc, &verification, &party, &idx); err != nil {
		return fmt.Errorf("incident %q: %w", id, err)
	}
	var r corridor.Incident
	if err := decodeDoc(doc, &r); err != nil {
		return err
	}
	cat, _ := corridor.CategoryOf(r.Category)
	v := IncidentView{
		ID: r.ID, Category: r.Category, CategoryNumber: cat.Number, CategoryLabel: cat.Label,
		Occurred: string(r.Occurred), Until: string(r.Until), Reported: string(r.Reported),
		Route: r.Route, Checkpoint: r.Checkpoint, Place: r.Place, Perpetrator: r.Perpetrator,
		Affected: r.Affected, People: r.People, PeopleEstimated: r.PeopleEstimated,
		AidDenied: nonNil(r.AidDenied), Traffic: nonNil(r.Traffic), Description: r.Description,
		Source: r.Source, SourceURL: r.SourceURL, Verification: verification, ReportedBy: party, LogIndex: uint64(idx),
		Files: r.Files,
	}
	if r.Checkpoint != "" {
		cp, err := d.checkpoint(r.Checkpoint)
		if err != nil {
			return err
		}
		if cp != nil {
			if v.Route == "" {
				v.Route = cp.Route
			}
			if v.Place == "" {
				v.Place = cp.Place
			}
		}
	}
	if err := d.locate(&v); err != nil {
		return err
	}
	var one int
	switch err := d.t.queryRow(d.ctx, `SELECT 1 FROM incident_views WHERE log_index = ?`, idx).Scan(&one); {
	case errors.Is(err, sql.ErrNoRows):
		if err := bumpFigure(d.ctx, d.t, monthFigure(v.Occurred), 1); err != nil {
			return err
		}
	case err != nil:
		return err
	}
	return d.t.exec(d.ctx, `INSERT INTO incident_views (log_index, id, derived, occurred, route, place, doc) VALUES (?, ?, 0, ?, ?, ?, ?)
		ON CONFLICT (log_index) DO UPDATE SET doc = excluded.doc`, idx, v.ID, v.Occurred, v.Route, v.Place, jsonText(v))
}

// derivedIncident lists a refusal or hold at a checkpoint as an incident.
func (d *deriver) derivedIncident(e Entry, ev *corridor.CheckpointEvent) error {
	c := e.Convoy.Convoy
	var sectors []string
	for _, l := range c.Manifest {
		if !slices.Contains(sectors, l.Sector) {
			sectors = append(sectors, l.Sector)
		}
	}
	org := c.Organisation
	var name string
	if err := d.t.queryRow(d.ctx, `SELECT name FROM parties WHERE id = ?`, org).Scan(&name); err == nil {
		org = name
	}
	idx := e.Index
	cp, err := d.checkpoint(ev.Checkpoint)
	if err != nil {
		return err
	}
	var kind string
	if cp != nil {
		if err := d.t.queryRow(d.ctx, `SELECT kind FROM places WHERE id = ?`, cp.Place).Scan(&kind); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
	}
	cat := corridor.StoppedAtCategory(kind)
	day := string(corridor.DayOf(ev.At))
	v := IncidentView{
		ID: fmt.Sprintf("derived-%d", idx), Derived: true, DerivedFrom: &idx,
		Category: cat.Code, CategoryNumber: cat.Number, CategoryLabel: cat.Label,
		Occurred: day, Reported: day, Route: c.Route, Checkpoint: ev.Checkpoint,
		Perpetrator: e.Party, Affected: org, AidDenied: nonNil(sectors), Traffic: []string{corridor.Cargo},
		Description:  fmt.Sprintf("Convoy %s of %s %s at checkpoint %s (%s): %s", c.ID, org, ev.Event, ev.Checkpoint, ev.ReasonCategory, ev.Reason),
		Source:       fmt.Sprintf("%s signed by %s, log index %d", corridor.TypeCheckEvent, e.Party, idx),
		Verification: corridor.Verified, ReportedBy: e.Party, LogIndex: idx, Files: ev.Files,
	}
	if cp != nil {
		v.Place = cp.Place
	}
	if err := d.locate(&v); err != nil {
		return err
	}
	if err := bumpFigure(d.ctx, d.t, monthFigure(v.Occurred), 1); err != nil {
		return err
	}
	return d.t.exec(d.ctx, `INSERT INTO incident_views (log_index, id, derived, occurred, route, place, doc) VALUES (?, ?, 1, ?, ?, ?, ?)`,
		int64(idx), v.ID, v.Occurred, v.Route, v.Place, jsonText(v))
}

// locate gives an incident the coordinates of its place or, failing that,
// of the middle place of its route.
func (d *deriver) locate(v *IncidentView) error {
	id := v.Place
	if id == "" && v.Route != "" {
		var r corridor.Route
		if _, err := docOf(d.ctx, d.t, &r, `SELECT doc FROM routes WHERE id = ?`, v.Route); err != nil {
			return err
		}
		if len(r.Places) > 0 {
			id = r.Places[len(r.Places)/2]
		}
	}
	if id == "" {
		return nil
	}
	var lat, lon float64
	err := d.t.queryRow(d.ctx, `SELECT lat, lon FROM places WHERE id = ?`, id).Scan(&lat, &lon)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	v.Lat, v.Lon = &lat, &lon
	return nil
}

// ---- checkpoints on a convoy's way ----

// convoyWay gives the routes a convoy's way follows and the checkpoints on
// that way, in the order it meets them, with their changes.
func convoyWay(ctx context.Context, t txn, c *corridor.Convoy) ([]*corridor.Route, []*corridor.Checkpoint, error) {
	n, err := t.network(ctx)
	if err != nil {
		return nil, nil, err
	}
	return n.way(ctx, t, c)
}

// network is the road network as one transaction reads it, with the
// checkpoints it has read at each place (their changes included).
type network struct {
	routes []*corridor.Route
	at     map[string][]*corridor.Checkpoint
}

// way gives the routes a convoy's way follows and the checkpoints on it,
// in the order it meets them: nothing if its route is unknown.
func (n *network) way(ctx context.Context, t txn, c *corridor.Convoy) ([]*corridor.Route, []*corridor.Checkpoint, error) {
	i := slices.IndexFunc(n.routes, func(r *corridor.Route) bool { return r.ID == c.Route })
	if i < 0 {
		return nil, nil, nil
	}
	way := c.WayOn(n.routes[i])
	var missing []string
	for _, p := range way {
		if _, ok := n.at[p]; !ok {
			missing = append(missing, p)
			n.at[p] = nil
		}
	}
	if len(missing) > 0 {
		cps, err := docsOf[*corridor.Checkpoint](ctx, t, `SELECT doc FROM checkpoints WHERE place IN (`+placeholders(len(missing))+`) ORDER BY id`, anys(missing)...)
		if err != nil {
			return nil, nil, err
		}
		if err := withChanges(ctx, t, cps); err != nil {
			return nil, nil, err
		}
		for _, cp := range cps {
			n.at[cp.Place] = append(n.at[cp.Place], cp)
		}
	}
	var cps []*corridor.Checkpoint
	for _, p := range way {
		cps = append(cps, n.at[p]...)
	}
	return corridor.WayRoutes(way, n.routes), corridor.WayCheckpoints(way, cps), nil
}

// withChanges fills in the changes of each checkpoint, in the order of
// their days, with one query for them all.
func withChanges(ctx context.Context, q querier, cps []*corridor.Checkpoint) error {
	if len(cps) == 0 {
		return nil
	}
	ids := make([]string, len(cps))
	for i, c := range cps {
		ids[i] = c.ID
		c.Changes = nil
	}
	changes, err := docsOf[corridor.CheckpointChange](ctx, q, `SELECT doc FROM checkpoint_changes WHERE checkpoint IN (`+placeholders(len(ids))+`) ORDER BY checkpoint, from_day`, anys(ids)...)
	if err != nil {
		return err
	}
	for _, ch := range changes {
		for _, c := range cps {
			if c.ID == ch.Checkpoint {
				c.Changes = append(c.Changes, ch)
			}
		}
	}
	return nil
}

// ---- small helpers ----

func scanStrings(rows *sql.Rows) ([]string, error) { return scanColumn[string](rows) }

func scanInts(rows *sql.Rows) ([]int64, error) { return scanColumn[int64](rows) }

// scanColumn reads the one column of every row and closes them.
func scanColumn[T any](rows *sql.Rows) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		var v T
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// each runs fn on the one column of every row the query gives: the
// sources a record makes the deriver look at again. The rows are read
// in full first, since fn queries too.
func each[T any](d *deriver, fn func(T) error, query string, args ...any) error {
	rows, err := d.t.query(d.ctx, query, args...)
	if err != nil {
		return err
	}
	vs, err := scanColumn[T](rows)
	if err != nil {
		return err
	}
	for _, v := range vs {
		if err := fn(v); err != nil {
			return err
		}
	}
	return nil
}

// docsOf decodes the doc column of every row the query gives (for a
// pointer T, decoding allocates each row's value).
func docsOf[T any](ctx context.Context, q querier, query string, args ...any) ([]T, error) {
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	docs, err := scanStrings(rows)
	if err != nil {
		return nil, err
	}
	out := make([]T, len(docs))
	for i, doc := range docs {
		if err := decodeDoc(doc, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// docOf decodes into v the doc column of the one row the query gives and
// says whether there was one.
func docOf(ctx context.Context, q querier, v any, query string, args ...any) (bool, error) {
	var doc string
	err := q.queryRow(ctx, query, args...).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, decodeDoc(doc, v)
}

// DecodePayload decodes a projected payload by its record type.
func DecodePayload(typ string, raw []byte) (corridor.Payload, error) {
	t, err := corridor.LookupType(typ, 1)
	if err != nil {
		return nil, err
	}
	p := t.New()
	if err := json.Unmarshal(raw, p); err != nil {
		return nil, fmt.Errorf("projected %s: %w", typ, err)
	}
	return p, nil
}

// boolInt is b as the 0 or 1 the tables keep flags in.
func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
