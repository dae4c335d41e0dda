package report

import (
	"context"
	"fmt"

	"corridor"
	"corridor/store"
)

// The views people read, from the derived tables the store keeps as
// records are applied. Each reads the days or the page asked for.

// IncidentView is an incident as people read it (see store.IncidentView).
type IncidentView = store.IncidentView

// CheckPeriod checks a requested period, filling defaults from the span of
// the records: from the first day any evidence names, to as_of. The
// errors name the field at fault.
func CheckPeriod(ctx context.Context, st *store.Store, from, to string) (f, t, asOf corridor.Date, err error) {
	asOf, first, err := st.Span(ctx)
	if err != nil {
		return "", "", "", err
	}
	f, t, err = period(first, asOf, from, to)
	return f, t, asOf, err
}

// period checks from and to, defaulting to first and asOf.
func period(first, asOf corridor.Date, from, to string) (corridor.Date, corridor.Date, error) {
	f, t := corridor.Date(from), corridor.Date(to)
	if f == "" {
		f = first
	}
	if t == "" {
		t = asOf
	}
	if f == "" && t == "" {
		return "", "", nil // nothing dated yet
	}
	for _, x := range []struct {
		name string
		v    corridor.Date
	}{{"from", f}, {"to", t}} {
		if _, err := x.v.Time(); err != nil {
			return "", "", &corridor.Error{Code: corridor.CodeInvalid, Field: x.name, Reason: "must be a date YYYY-MM-DD"}
		}
	}
	if t < f {
		return "", "", &corridor.Error{Code: corridor.CodeInvalid, Field: "to", Reason: fmt.Sprintf("ends before it starts (%s < %s)", t, f)}
	}
	if corridor.DaysBetween(f, t) > MaxStatusDays {
		return "", "", &corridor.Error{Code: corridor.CodeInvalid, Field: "from", Reason: fmt.Sprintf("a period is at most %d days", MaxStatusDays)}
	}
	return f, t, nil
}

// RouteStatusOf reads a route's daily status from from to to (empty for
// the defaults of CheckPeriod), for each kind of traffic.
func RouteStatusOf(ctx context.Context, st *store.Store, route, from, to string) (RouteReport, error) {
	r, err := st.Route(ctx, route)
	if err != nil {
		return RouteReport{}, err
	}
	f, t, asOf, err := CheckPeriod(ctx, st, from, to)
	if err != nil {
		return RouteReport{}, err
	}
	out := RouteReport{Route: r.ID, Names: AllNames(r.Names), From: f, To: t, AsOf: asOf, Traffic: []TrafficStatus{}}
	for _, traffic := range corridor.TrafficKinds {
		days, err := st.RouteDays(ctx, r.ID, traffic, f, t)
		if err != nil {
			return RouteReport{}, err
		}
		out.Traffic = append(out.Traffic, trafficStatus(traffic, days))
	}
	return out, nil
}

// trafficStatus sums a run of days: totals by status, blockades, the
// status of the last day.
func trafficStatus(traffic string, days []corridor.Day) TrafficStatus {
	if days == nil {
		days = []corridor.Day{}
	}
	ts := TrafficStatus{Traffic: traffic, Days: days, Blockades: corridor.Blockades(days), Totals: map[string]int{}, Current: corridor.Unknown}
	if ts.Blockades == nil {
		ts.Blockades = []corridor.Blockade{}
	}
	for _, s := range []corridor.RouteStatus{corridor.Open, corridor.Restricted, corridor.Blocked, corridor.Unknown} {
		ts.Totals[string(s)] = 0
	}
	for _, day := range days {
		ts.Totals[string(day.Status)]++
	}
	if len(days) > 0 {
		ts.Current = days[len(days)-1].Status
	}
	return ts
}

// ClaimsPage lists claims in log order after the cursor, each with its
// statement's words, its links and its stored verdict.
func ClaimsPage(ctx context.Context, st *store.Store, p store.Page) ([]ClaimView, error) {
	rows, err := st.ClaimsPage(ctx, p)
	if err != nil {
		return nil, err
	}
	return claimViews(ctx, st, rows)
}

// LatestClaims lists the n claims recorded last, latest first, as
// ClaimsPage gives them.
func LatestClaims(ctx context.Context, st *store.Store, n int) ([]ClaimView, error) {
	rows, err := st.LatestClaims(ctx, n)
	if err != nil {
		return nil, err
	}
	return claimViews(ctx, st, rows)
}

// ConvoyClaims lists the claims about a convoy, as ClaimsPage gives them.
func ConvoyClaims(ctx context.Context, st *store.Store, convoy string) ([]ClaimView, error) {
	rows, err := st.ConvoyClaims(ctx, convoy)
	if err != nil {
		return nil, err
	}
	return claimViews(ctx, st, rows)
}

// claimViews gives claims their statements' words and their stored verdicts.
func claimViews(ctx context.Context, st *store.Store, rows []store.ClaimRow) ([]ClaimView, error) {
	var ids, stmtIDs []string
	for _, c := range rows {
		ids = append(ids, c.ID)
		if c.Statement != "" {
			stmtIDs = append(stmtIDs, c.Statement)
		}
	}
	verdicts, err := st.Verdicts(ctx, ids)
	if err != nil {
		return nil, err
	}
	stmts, err := st.StatementsByID(ctx, stmtIDs)
	if err != nil {
		return nil, err
	}
	out := make([]ClaimView, 0, len(rows))
	for _, c := range rows {
		v := claimView(c, stmts)
		if j, ok := verdicts[c.ID]; ok {
			v.Verdict = &j
		}
		out = append(out, v)
	}
	replies, err := st.RepliesTo(ctx, replyIndexes(out))
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].addReplies(replies)
	}
	return out, nil
}

// claimView fills a claim's speaker, day and words from its statement.
func claimView(c store.ClaimRow, stmts map[string]store.StatementRow) ClaimView {
	v := ClaimView{ClaimRow: c}
	s, ok := stmts[c.Statement]
	if !ok {
		return v
	}
	v.Speaker, v.SpeakerParty, v.SaidOn, v.Quote, v.Reported, v.Lang = s.Speaker, s.SpeakerParty, s.SaidOn, s.Quote, s.Reported, s.Lang
	if v.Affiliation == "" {
		v.Affiliation = s.Affiliation
	}
	if v.Medium == "" {
		v.Medium = s.Medium
	}
	if v.URL == "" {
		v.URL = s.URL
	}
	if v.Translation == "" {
		v.Translation, v.TranslationLang = s.Translation, s.TranslationLang
	}
	return v
}

// CoverageOf reads a settlement's need and the aid delivered, held and
// refused, in person-days, by week. kcal is the daily need per person
// (0 for the default, 2,100).
func CoverageOf(ctx context.Context, st *store.Store, place, from, to string, kcal float64) (CoverageReport, error) {
	p, err := st.Place(ctx, place)
	if err != nil {
		return CoverageReport{}, err
	}
	if kcal, err = coverageOf(p.Place, kcal); err != nil {
		return CoverageReport{}, err
	}
	f, t, _, err := CheckPeriod(ctx, st, from, to)
	if err != nil {
		return CoverageReport{}, err
	}
	catch, err := st.Catchment(ctx, place)
	if err != nil {
		return CoverageReport{}, err
	}
	c := CoverageReport{Place: place, Names: AllNames(p.Names), Population: p.Population, KcalPerDay: kcal, Catchment: catch, From: f, To: t, Weeks: []corridor.Week{}}
	c.Totals = corridor.Week{Start: f, End: t, DeliveredKgByMode: map[string]float64{}, Items: []corridor.ItemTotal{}, Records: []uint64{}}
	if f == "" {
		return c, nil
	}
	items, recs, err := st.CoverageDays(ctx, catch, f, t)
	if err != nil {
		return CoverageReport{}, err
	}
	c.Weeks = corridor.Weeks(p.Population, f, t)
	for _, it := range items {
		corridor.AddToWeek(&c.Weeks[corridor.WeekOf(c.Weeks, it.Day)], it.ItemTotal, kcal)
	}
	for day, r := range recs {
		w := &c.Weeks[corridor.WeekOf(c.Weeks, day)]
		w.Records = append(w.Records, r...)
	}
	corridor.FinishWeeks(c.Weeks, p.Population)
	c.sum()
	return c, nil
}

// IncidentsPage lists incidents (reported and derived) by day and log
// index after the cursor, optionally only those on one route.
func IncidentsPage(ctx context.Context, st *store.Store, route string, after store.IncidentCursor, limit int) ([]IncidentView, error) {
	return st.IncidentViews(ctx, route, after, limit)
}
