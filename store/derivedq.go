package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"corridor"
)

// Reads of the derived views. Each reads the rows of the period or page it
// is asked for: none loads a whole table.

// querier is what reads need: the store itself, or the transaction that is
// applying records (claim verdicts are derived inside it).
type querier interface {
	query(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	queryRow(ctx context.Context, q string, args ...any) *sql.Row
}

// MaxVerdictRecords bounds the deciding records a verdict lists; Verdict
// says when there were more.
const MaxVerdictRecords = 100

// Span returns as_of, the latest day any dated record names, and the
// first day any evidence names (as_of when there is none).
func (s *Store) Span(ctx context.Context) (asOf, first corridor.Date, err error) {
	var a string
	var f sql.NullString
	if err := s.queryRow(ctx, `SELECT as_of FROM derived_state WHERE id = 1`).Scan(&a); err != nil {
		return "", "", err
	}
	if err := s.queryRow(ctx, `SELECT MIN(from_day) FROM evidence`).Scan(&f); err != nil {
		return "", "", err
	}
	asOf, first = corridor.Date(a), corridor.Date(a)
	if f.Valid && f.String != "" && f.String < a {
		first = corridor.Date(f.String)
	}
	return asOf, first, nil
}

// RouteDays returns the status of route for traffic on every day from
// from to to, with the counts and deciding records of each.
func (s *Store) RouteDays(ctx context.Context, route, traffic string, from, to corridor.Date) ([]corridor.Day, error) {
	return routeDays(ctx, s, route, traffic, from, to)
}

func routeDays(ctx context.Context, q querier, route, traffic string, from, to corridor.Date) ([]corridor.Day, error) {
	var days []corridor.Day
	pos := map[corridor.Date]int{}
	eachDay(from, to, func(d corridor.Date) {
		pos[d] = len(days)
		days = append(days, corridor.Day{Date: d, Status: corridor.Unknown, Records: []uint64{}})
	})
	rows, err := q.query(ctx, `SELECT day, passages, removals, denials FROM route_days WHERE route = ? AND traffic = ? AND day >= ? AND day <= ?`,
		route, traffic, string(from), string(to))
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var day string
		var c corridor.DayCounts
		if err := rows.Scan(&day, &c.Passages, &c.Removals, &c.Denials); err != nil {
			rows.Close()
			return nil, err
		}
		if i, ok := pos[corridor.Date(day)]; ok {
			days[i].Counts, days[i].Status = c, corridor.DayStatus(c)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = q.query(ctx, `SELECT day, log_index FROM route_day_records WHERE route = ? AND traffic = ? AND day >= ? AND day <= ?`,
		route, traffic, string(from), string(to))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var day string
		var idx int64
		if err := rows.Scan(&day, &idx); err != nil {
			return nil, err
		}
		if i, ok := pos[corridor.Date(day)]; ok {
			days[i].Records = append(days[i].Records, uint64(idx))
		}
	}
	for i := range days {
		slices.Sort(days[i].Records)
		days[i].Records = slices.Compact(days[i].Records)
	}
	return days, rows.Err()
}

// Catchment lists the places whose deliveries serve a settlement: itself
// and the places of its area, if one is registered.
func (s *Store) Catchment(ctx context.Context, place string) ([]string, error) {
	return catchment(ctx, s, place)
}

func catchment(ctx context.Context, q querier, place string) ([]string, error) {
	out := []string{place}
	var a corridor.Area
	if _, err := docOf(ctx, q, &a, `SELECT doc FROM areas WHERE place = ?`, place); err != nil {
		return nil, err
	}
	for _, p := range a.Places {
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out, nil
}

func placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }

func anys[T any](v []T) []any {
	out := make([]any, len(v))
	for i, s := range v {
		out[i] = s
	}
	return out
}

// judge computes corridor's verdict on a typed assertion from the derived
// views: the daily status of the period for a route assertion, the
// deliveries recorded to the place's catchment in the period for a
// delivery assertion.
func judge(ctx context.Context, q querier, a corridor.Assertion, p corridor.Period) (corridor.Verdict, error) {
	var v corridor.Verdict
	switch a.Kind {
	case corridor.AssertOpen, corridor.AssertBlocked:
		days, err := routeDays(ctx, q, a.Route, a.Traffic, p.From, p.To)
		if err != nil {
			return v, err
		}
		v = corridor.JudgeRoute(a.Kind, days)
	default:
		places, err := catchment(ctx, q, a.Place)
		if err != nil {
			return v, err
		}
		args := append(anys(places), string(p.From), string(p.To))
		var kg, kcal sql.NullFloat64
		if err := q.queryRow(ctx, `SELECT SUM(kg), SUM(kcal) FROM coverage_items WHERE outcome = 'delivered' AND place IN (`+placeholders(len(places))+`) AND day >= ? AND day <= ?`,
			args...).Scan(&kg, &kcal); err != nil {
			return v, err
		}
		rows, err := q.query(ctx, `SELECT log_index FROM coverage_records WHERE place IN (`+placeholders(len(places))+`) AND day >= ? AND day <= ? ORDER BY log_index LIMIT ?`,
			append(args, MaxVerdictRecords+1)...)
		if err != nil {
			return v, err
		}
		idx, err := scanInts(rows)
		if err != nil {
			return v, err
		}
		recs := make([]uint64, len(idx))
		for i, x := range idx {
			recs[i] = uint64(x)
		}
		at := corridor.AtPlace{Kg: kg.Float64, Kcal: kcal.Float64, Deliveries: recs}
		if err := q.queryRow(ctx, `SELECT population FROM places WHERE id = ?`, a.Place).Scan(&at.Population); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return v, err
		}
		if a.Kind == corridor.AssertTrucksPerDay {
			var n sql.NullInt64
			if err := q.queryRow(ctx, `SELECT SUM(vehicles) FROM delivered_vehicles WHERE place IN (`+placeholders(len(places))+`) AND day >= ? AND day <= ?`, args...).Scan(&n); err != nil {
				return v, err
			}
			at.Vehicles = n.Int64
		}
		v = corridor.JudgeAtPlace(a, p, at)
	}
	if len(v.Records) > MaxVerdictRecords {
		v.Records, v.MoreRecords = v.Records[:MaxVerdictRecords], true
	}
	return v, nil
}

// Judge computes a verdict from the derived views (for an assertion not
// recorded as a claim, such as one being drafted).
func (s *Store) Judge(ctx context.Context, a corridor.Assertion, p corridor.Period) (corridor.Verdict, error) {
	return judge(ctx, s, a, p)
}

// Verdicts returns the stored verdicts of the claims named.
func (s *Store) Verdicts(ctx context.Context, claims []string) (map[string]corridor.Verdict, error) {
	out := map[string]corridor.Verdict{}
	if len(claims) == 0 {
		return out, nil
	}
	rows, err := s.query(ctx, `SELECT claim, doc FROM claim_verdicts WHERE claim IN (`+placeholders(len(claims))+`)`, anys(claims)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id, doc string
		if err := rows.Scan(&id, &doc); err != nil {
			return nil, err
		}
		var v corridor.Verdict
		if err := decodeDoc(doc, &v); err != nil {
			return nil, err
		}
		out[id] = v
	}
	return out, rows.Err()
}

// CoverageItem is the aid of one outcome and item to a place on one day.
type CoverageItem struct {
	Day corridor.Date `json:"day"`
	corridor.ItemTotal
	Convoys int `json:"convoys"`
}

// CoverageDays returns the aid delivered, held and refused to any of
// places from from to to, by day and item, and the deciding records of
// each day (the earliest DecidingPerDay per place and day).
func (s *Store) CoverageDays(ctx context.Context, places []string, from, to corridor.Date) ([]CoverageItem, map[corridor.Date][]uint64, error) {
	args := append(anys(places), string(from), string(to))
	in := `place IN (` + placeholders(len(places)) + `) AND day >= ? AND day <= ?`
	rows, err := s.query(ctx, `SELECT day, outcome, mode, item, sector, unit, rated, quantity, kg, kcal, convoys FROM coverage_items WHERE `+in+` ORDER BY day, outcome, mode, item, sector, unit, place`, args...)
	if err != nil {
		return nil, nil, err
	}
	var items []CoverageItem
	for rows.Next() {
		var c CoverageItem
		var day string
		var rated int
		if err := rows.Scan(&day, &c.Outcome, &c.Mode, &c.Item, &c.Sector, &c.Unit, &rated, &c.Quantity, &c.Kg, &c.Kcal, &c.Convoys); err != nil {
			rows.Close()
			return nil, nil, err
		}
		c.Day, c.Rated = corridor.Date(day), rated == 1
		items = append(items, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	rows, err = s.query(ctx, `SELECT day, log_index FROM coverage_records WHERE `+in+` ORDER BY day, log_index`, args...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	recs := map[corridor.Date][]uint64{}
	for rows.Next() {
		var day string
		var idx int64
		if err := rows.Scan(&day, &idx); err != nil {
			return nil, nil, err
		}
		recs[corridor.Date(day)] = append(recs[corridor.Date(day)], uint64(idx))
	}
	return items, recs, rows.Err()
}

// Page is a keyset page: rows after a cursor, at most Limit of them.
type Page struct {
	After int64 // log index of the last row already seen; -1 for none
	Limit int
}

func (p Page) limit() int {
	if p.Limit <= 0 || p.Limit > 1000 {
		return 1000
	}
	return p.Limit
}

// ClaimsPage lists recorded claims in log order after the cursor, each
// with its links and its verdict.
func (s *Store) ClaimsPage(ctx context.Context, p Page) ([]ClaimRow, error) {
	return s.claims(ctx, `SELECT doc, party, log_index FROM claims WHERE log_index > ? ORDER BY log_index LIMIT ?`, p.After, p.limit())
}

// IncidentCursor is where a page of the incident list starts: after the
// incident that occurred on Day with log index Index.
type IncidentCursor struct {
	Day   string
	Index int64
}

// IncidentViews lists reported and derived incidents by the day they
// occurred and log index, after the cursor (zero value: from the start).
func (s *Store) IncidentViews(ctx context.Context, route string, after IncidentCursor, limit int) ([]IncidentView, error) {
	p := Page{Limit: limit}
	if after.Day == "" && after.Index == 0 {
		after.Index = -1
	}
	return s.incidentDocs(ctx, false, `SELECT doc FROM incident_views WHERE (? = '' OR route = ?) AND (occurred > ? OR (occurred = ? AND log_index > ?)) ORDER BY occurred, log_index LIMIT ?`,
		route, route, after.Day, after.Day, after.Index, p.limit())
}

// incidentDocs runs a query returning incident views; reversed turns a
// latest-first query back into the list's order.
func (s *Store) incidentDocs(ctx context.Context, reversed bool, q string, args ...any) ([]IncidentView, error) {
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	docs, err := scanStrings(rows)
	if err != nil {
		return nil, err
	}
	out := make([]IncidentView, len(docs))
	for i, d := range docs {
		j := i
		if reversed {
			j = len(docs) - 1 - i
		}
		if err := decodeDoc(d, &out[j]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// LatestIncidents lists the n incidents that occurred last, latest first.
func (s *Store) LatestIncidents(ctx context.Context, n int) ([]IncidentView, error) {
	return s.incidentDocs(ctx, false, `SELECT doc FROM incident_views ORDER BY occurred DESC, log_index DESC LIMIT ?`, n)
}

// Queue lists the convoys at a checkpoint or held there, and those
// approaching it (departed or moving on, with it the next checkpoint on
// their own way): the limit longest waiting of each, in filing order, and
// how many there are in all.
func (s *Store) Queue(ctx context.Context, checkpoint string, limit int) (at, approaching []ConvoyRow, atN, approachingN int, err error) {
	// One indexed range per status, merged by log index: a single query
	// over both statuses sorts every waiting convoy.
	list := func(figure, col string, statuses ...corridor.ConvoyStatus) ([]ConvoyRow, int, error) {
		// The count is kept as records are applied (queueFigures).
		var n int
		err := s.queryRow(ctx, `SELECT value FROM figures WHERE name = ?`, figure).Scan(&n)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, 0, err
		}
		var out []ConvoyRow
		for _, st := range statuses {
			part, err := s.listConvoys(ctx, `SELECT `+convoyCols+` FROM convoys WHERE `+col+` = ? AND status = ? ORDER BY log_index LIMIT ?`, checkpoint, string(st), limit)
			if err != nil {
				return nil, 0, err
			}
			out = append(out, part...)
		}
		slices.SortFunc(out, func(a, b ConvoyRow) int { return int(a.LogIndex) - int(b.LogIndex) })
		return out[:min(len(out), limit)], n, nil
	}
	if at, atN, err = list("at:"+checkpoint, "checkpoint", corridor.StatusAtCheckpt, corridor.StatusHeld); err != nil {
		return nil, nil, 0, 0, err
	}
	approaching, approachingN, err = list("next:"+checkpoint, "next_checkpoint", corridor.StatusDeparted, corridor.StatusEnRoute)
	return at, approaching, atN, approachingN, err
}

// ConvoyAuthorities lists, in route order without repeats, the authorities
// that run a checkpoint on a convoy's way (those its clearance request
// went to), as they stood when it was filed.
func (s *Store) ConvoyAuthorities(ctx context.Context, convoy string) ([]string, error) {
	var doc string
	err := s.queryRow(ctx, `SELECT authorities FROM convoys WHERE id = ?`, convoy).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("convoy %q: %w", convoy, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	var out []string
	return out, json.Unmarshal([]byte(doc), &out)
}

// Figures returns the key figures kept as records are applied: records
// ("records"), convoy outcomes ("outcome:delivered", ...), convoys by
// status ("status:held", ...).
func (s *Store) Figures(ctx context.Context) (map[string]int64, error) {
	rows, err := s.query(ctx, `SELECT name, value FROM figures`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var n string
		var v int64
		if err := rows.Scan(&n, &v); err != nil {
			return nil, err
		}
		out[n] = v
	}
	return out, rows.Err()
}

// Totals sums the aid by outcome and by mode over a period, for every
// destination: kg[outcome][mode].
func (s *Store) Totals(ctx context.Context, from, to corridor.Date) (map[string]map[string]float64, error) {
	rows, err := s.query(ctx, `SELECT outcome, mode, SUM(kg) FROM coverage_items WHERE day >= ? AND day <= ? GROUP BY outcome, mode`, string(from), string(to))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]map[string]float64{}
	for rows.Next() {
		var o, m string
		var kg float64
		if err := rows.Scan(&o, &m, &kg); err != nil {
			return nil, err
		}
		if out[o] == nil {
			out[o] = map[string]float64{}
		}
		out[o][m] = kg
	}
	return out, rows.Err()
}

// Sum adds up the kg of every mode.
func Sum(byMode map[string]float64) float64 {
	var t float64
	for _, kg := range byMode {
		t += kg
	}
	return t
}

// StatementsByID returns the statements named, by id.
func (s *Store) StatementsByID(ctx context.Context, ids []string) (map[string]StatementRow, error) {
	out := map[string]StatementRow{}
	for chunk := range slices.Chunk(ids, 500) {
		list, err := listStatements(ctx, s, `SELECT doc, party, log_index FROM statements WHERE id IN (`+placeholders(len(chunk))+`)`, anys(chunk)...)
		if err != nil {
			return nil, err
		}
		for _, st := range list {
			out[st.ID] = st
		}
	}
	return out, nil
}

// IncidentsInMonth counts the incidents, reported and derived, that
// occurred in month (YYYY-MM): a figure kept as records are applied.
func (s *Store) IncidentsInMonth(ctx context.Context, month string) (int, error) {
	var n int
	err := s.queryRow(ctx, `SELECT value FROM figures WHERE name = ?`, monthFigure(month)).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return n, err
}

// LatestRouteIncidents lists the n incidents on a route that occurred last,
// in the order of the incident list.
func (s *Store) LatestRouteIncidents(ctx context.Context, route string, n int) ([]IncidentView, error) {
	return s.incidentDocs(ctx, true, `SELECT doc FROM incident_views WHERE route = ? ORDER BY occurred DESC, log_index DESC LIMIT ?`, route, n)
}

// LatestConvoys lists the n convoys filed last (on route, if not empty),
// latest first.
func (s *Store) LatestConvoys(ctx context.Context, route string, n int) ([]ConvoyRow, error) {
	return s.listConvoys(ctx, `SELECT `+convoyCols+` FROM convoys WHERE (? = '' OR route = ?) ORDER BY log_index DESC LIMIT ?`, route, route, n)
}

// OutcomeRow is what became of one convoy's load, with its organisation.
type OutcomeRow struct {
	corridor.ConvoyOutcome
	Organisation string `json:"organisation"`
	Destination  string `json:"destination"`
	ConvoyIndex  uint64 `json:"-"` // the log index of the convoy's filing: the key of OutcomesPage
}

// OutcomesPage lists the outcomes of convoys in filing order, after the
// convoy filed at log index p.After.
func (s *Store) OutcomesPage(ctx context.Context, p Page) ([]OutcomeRow, error) {
	return s.outcomes(ctx, `SELECT o.doc, c.organisation, c.destination, c.log_index FROM convoys c JOIN convoy_outcomes o ON o.convoy = c.id
		WHERE c.log_index > ? ORDER BY c.log_index LIMIT ?`, p.After, p.limit())
}

// LatestOutcomes lists the outcomes of the n convoys to any of places
// decided last, latest first.
func (s *Store) LatestOutcomes(ctx context.Context, places []string, n int) ([]OutcomeRow, error) {
	return s.outcomes(ctx, `SELECT o.doc, c.organisation, c.destination, c.log_index FROM convoy_outcomes o JOIN convoys c ON c.id = o.convoy
		WHERE o.destination IN (`+placeholders(len(places))+`) ORDER BY o.day DESC, o.log_index DESC LIMIT ?`, append(anys(places), n)...)
}

func (s *Store) outcomes(ctx context.Context, q string, args ...any) ([]OutcomeRow, error) {
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []OutcomeRow
	for rows.Next() {
		var doc string
		var o OutcomeRow
		var idx int64
		if err := rows.Scan(&doc, &o.Organisation, &o.Destination, &idx); err != nil {
			return nil, err
		}
		o.ConvoyIndex = uint64(idx)
		if err := decodeDoc(doc, &o.ConvoyOutcome); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}
