package report

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"corridor"
	"corridor/store"
)

// MaxStatusDays bounds the period of one status request (about ten years).
const MaxStatusDays = 3660

// TrafficStatus is a route's daily status for one kind of traffic.
type TrafficStatus struct {
	Traffic   string               `json:"traffic"`
	Current   corridor.RouteStatus `json:"current"` // status on the last day of the period
	Totals    map[string]int       `json:"totals"`  // days by status
	Blockades []corridor.Blockade  `json:"blockades"`
	Days      []corridor.Day       `json:"days"`
}

// RouteReport is a route's daily status over a period.
type RouteReport struct {
	Route   string          `json:"route"`
	Names   string          `json:"names"`
	From    corridor.Date   `json:"from"`
	To      corridor.Date   `json:"to"`
	AsOf    corridor.Date   `json:"as_of"`
	Traffic []TrafficStatus `json:"traffic"`
}

// Period checks a requested period, filling defaults: from the first day
// any evidence names, to the day the log speaks up to. The errors name the
// field at fault.
func (d *Data) Period(from, to string) (corridor.Date, corridor.Date, error) {
	return period(d.FirstDay, d.AsOf, from, to)
}

// RouteStatus derives a route's daily status from from to to (empty for
// the defaults of Period), for humanitarian cargo and for civilians.
func (d *Data) RouteStatus(route, from, to string) (RouteReport, error) {
	r, ok := d.route(route)
	if !ok {
		return RouteReport{}, fmt.Errorf("route %q: %w", route, store.ErrNotFound)
	}
	f, t, err := d.Period(from, to)
	if err != nil {
		return RouteReport{}, err
	}
	out := RouteReport{Route: r.ID, Names: AllNames(r.Names), From: f, To: t, AsOf: d.AsOf}
	for _, traffic := range corridor.TrafficKinds {
		days := corridor.DailyStatus(d.evidence, r.ID, traffic, f, t)
		ts := TrafficStatus{Traffic: traffic, Days: days, Blockades: corridor.Blockades(days), Totals: map[string]int{}}
		if ts.Blockades == nil {
			ts.Blockades = []corridor.Blockade{}
		}
		for _, s := range []corridor.RouteStatus{corridor.Open, corridor.Restricted, corridor.Blocked, corridor.Unknown} {
			ts.Totals[string(s)] = 0
		}
		for _, day := range days {
			ts.Totals[string(day.Status)]++
		}
		ts.Current = days[len(days)-1].Status
		out.Traffic = append(out.Traffic, ts)
	}
	return out, nil
}

// ClaimView is a claim as people read it: speaker, date and quote (from
// its statement if it refers to one), the records linked to it, and
// corridor's own verdict on its typed assertion.
type ClaimView struct {
	store.ClaimRow
	Verdict *corridor.Verdict `json:"verdict,omitempty"`
	// Replies are the named parties' replies to the claim itself.
	Replies []store.ReplyRow `json:"replies,omitempty"`
	// Disputed lists the records deciding the verdict (log indexes) that
	// a party they name disputes or corrects: the verdict stands on
	// records that are contested.
	Disputed []uint64 `json:"disputed,omitempty"`
}

// addReplies gives a claim view its replies and the disputed records
// among those deciding its verdict.
func (v *ClaimView) addReplies(replies map[uint64][]store.ReplyRow) {
	v.Replies = replies[v.LogIndex]
	if v.Verdict == nil {
		return
	}
	for _, idx := range v.Verdict.Records {
		if slices.ContainsFunc(replies[idx], store.ReplyRow.Disputes) {
			v.Disputed = append(v.Disputed, idx)
		}
	}
}

// replyIndexes are the log indexes whose replies claim views show: the
// claims' and their deciding records'.
func replyIndexes(vs []ClaimView) []uint64 {
	var out []uint64
	for _, v := range vs {
		out = append(out, v.LogIndex)
		if v.Verdict != nil {
			out = append(out, v.Verdict.Records...)
		}
	}
	return out
}

// ClaimViews lists every claim with its verdict.
func (d *Data) ClaimViews() []ClaimView {
	stmts := map[string]store.StatementRow{}
	for _, s := range d.Statements {
		stmts[s.ID] = s
	}
	var out []ClaimView
	for _, c := range d.Claims {
		v := claimView(c, stmts)
		if c.Assertion != nil && c.Period != nil {
			j := d.Judge(*c.Assertion, *c.Period)
			v.Verdict = &j
		}
		v.addReplies(d.Replies)
		out = append(out, v)
	}
	return out
}

// Judge computes corridor's verdict on a typed assertion from the records.
func (d *Data) Judge(a corridor.Assertion, p corridor.Period) corridor.Verdict {
	switch a.Kind {
	case corridor.AssertOpen, corridor.AssertBlocked:
		days := corridor.DailyStatus(d.evidence, a.Route, a.Traffic, p.From, p.To)
		return corridor.JudgeRoute(a.Kind, days)
	}
	catchment := d.Catchment(a.Place)
	var kg, kcal float64
	var vehicles int64
	var deliveries, others []uint64
	for _, h := range d.Histories {
		if !containsID(catchment, h.Convoy.Destination) {
			continue
		}
		o, ok := corridor.Outcome(h)
		if !ok || o.Day < p.From || o.Day > p.To {
			continue
		}
		if o.Outcome == corridor.OutcomeDelivered {
			vehicles += int64(len(h.Convoy.Vehicles))
			kg += o.Kg()
			for _, it := range o.Items {
				kcal += it.Kcal
			}
			deliveries = append(deliveries, o.Index)
		} else {
			others = append(others, o.Index)
		}
	}
	return corridor.JudgeAtPlace(a, p, corridor.AtPlace{Kg: kg, Kcal: kcal, Vehicles: vehicles, Population: d.places[a.Place].Population, Deliveries: deliveries, Others: others})
}

func containsID(ids []string, id string) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// WriteStatus writes route reports, the blockades, the claims and their
// verdicts and the aid that did not pass, in plain text.
func WriteStatus(w io.Writer, reports []RouteReport, claims []ClaimView, held []CoverageReport) {
	for _, r := range reports {
		fmt.Fprintf(w, "%s [%s], %s to %s (records up to %s)\n", r.Names, r.Route, r.From, r.To, r.AsOf)
		for _, t := range r.Traffic {
			fmt.Fprintf(w, "  %s: %s on %s; days open %d, restricted %d, blocked %d, unknown %d\n", t.Traffic, t.Current, r.To,
				t.Totals["open"], t.Totals["restricted"], t.Totals["blocked"], t.Totals["unknown"])
			for _, b := range t.Blockades {
				fmt.Fprintf(w, "    blocked %s to %s: %d days (records %s)\n", b.From, b.To, b.Days, indices(b.Records))
			}
		}
	}
	if len(claims) > 0 {
		fmt.Fprintln(w, "Claims")
		for _, c := range claims {
			if c.Quote != "" {
				fmt.Fprintf(w, "  %s, %s: %q\n", c.Speaker, c.SaidOn, c.Quote)
			} else {
				fmt.Fprintf(w, "  %s, %s, reported: %s\n", c.Speaker, c.SaidOn, c.Reported)
			}
			if c.Verdict != nil {
				a := c.Assertion
				what := fmt.Sprintf("%s %s to %s", a.Route, a.Kind, a.Traffic)
				switch a.Kind {
				case corridor.AssertDelivered:
					what = fmt.Sprintf("%g t delivered to %s", a.Tonnes, a.Place)
				case corridor.AssertTonnesPerDay:
					what = fmt.Sprintf("%g t a day delivered to %s", a.Tonnes, a.Place)
				case corridor.AssertTrucksPerDay:
					what = fmt.Sprintf("%g vehicles a day delivered to %s", a.Trucks, a.Place)
				case corridor.AssertCoverageBelow:
					what = fmt.Sprintf("less than %g %% of the need of %s covered", a.Percent, a.Place)
				}
				fmt.Fprintf(w, "    asserts %s, %s to %s: %s (records %s)\n", what, c.Period.From, c.Period.To, c.Verdict.Verdict, indices(c.Verdict.Records))
			}
			for _, l := range c.Links {
				fmt.Fprintf(w, "    linked by %s: record %s %s it\n", l.LinkedBy, l.Record, l.Relation)
			}
		}
	}
	for _, c := range held {
		t := c.Totals
		fmt.Fprintf(w, "Aid for %s (population %d), %s to %s\n", c.Names, c.Population, c.From, c.To)
		fmt.Fprintf(w, "  delivered %s: %.0f person-days (%.2f days of need)\n", Tonnes(t.DeliveredKg), t.DeliveredPD, t.DeliveredPD/float64(c.Population))
		fmt.Fprintf(w, "  held at checkpoints %s: %.0f person-days (%.2f days of need)\n", Tonnes(t.HeldKg), t.HeldPD, t.HeldPD/float64(c.Population))
		fmt.Fprintf(w, "  refused at checkpoints %s: %.0f person-days (%.2f days of need)\n", Tonnes(t.RefusedKg), t.RefusedPD, t.RefusedPD/float64(c.Population))
		if t.UnratedKg > 0 {
			fmt.Fprintf(w, "  items with no energy value in the catalogue, not counted in person-days: %s\n", Tonnes(t.UnratedKg))
		}
	}
}

func indices(v []uint64) string {
	if len(v) == 0 {
		return "none"
	}
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprint(x)
	}
	if len(s) > 8 {
		s = append(s[:4], "…", s[len(s)-1])
	}
	return strings.Join(s, ", ")
}
