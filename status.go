package corridor

import (
	"fmt"
	"slices"
	"sort"
	"time"
)

// The daily route status and the verdicts on typed claims. Every rule that
// turns records into a status word lives in this file; docs/STATUS.md
// states them in prose with a worked example.

// RouteStatus is what the records say of one route, one kind of traffic,
// one day.
type RouteStatus string

const (
	Open       RouteStatus = "open"       // passages recorded, no refusal, hold or removal
	Restricted RouteStatus = "restricted" // passages and refusals, holds or removals
	Blocked    RouteStatus = "blocked"    // refusals or holds, no passage
	Unknown    RouteStatus = "unknown"    // no records
)

// EvidenceKind is what one record says about passage on a day.
type EvidenceKind string

const (
	Passage EvidenceKind = "passage" // something got through
	Removal EvidenceKind = "removal" // got through with items removed (a passage and a restriction)
	Denial  EvidenceKind = "denial"  // refused, held, turned back, closed, or stopped by an incident
)

// Evidence is one record's bearing on a route's status for one kind of
// traffic over a span of days (both ends included).
type Evidence struct {
	Route   string       `json:"route"`
	Traffic string       `json:"traffic"`
	Kind    EvidenceKind `json:"kind"`
	From    Date         `json:"from"`
	To      Date         `json:"to"`
	Index   uint64       `json:"log_index"` // the record that says it
	What    string       `json:"what"`      // e.g. "checkpoint.event held", "incident.report"
}

// DayCounts counts the evidence about one day.
type DayCounts struct {
	Passages int `json:"passages"`
	Removals int `json:"removals"`
	Denials  int `json:"denials"`
}

// DayStatus is the rule: the status of a day from what its records say.
// A removal is both a passage and a restriction.
func DayStatus(c DayCounts) RouteStatus {
	passed := c.Passages+c.Removals > 0
	switch {
	case passed && c.Denials == 0 && c.Removals == 0:
		return Open
	case passed:
		return Restricted
	case c.Denials > 0:
		return Blocked
	}
	return Unknown
}

// Day is the status of one route for one kind of traffic on one day, with
// the log indices of the records that decide it.
type Day struct {
	Date    Date        `json:"date"`
	Status  RouteStatus `json:"status"`
	Counts  DayCounts   `json:"counts"`
	Records []uint64    `json:"records"`
}

// AddDays returns the date n days after d (n may be negative).
func AddDays(d Date, n int) Date {
	t, err := d.Time()
	if err != nil {
		return d
	}
	return Date(t.AddDate(0, 0, n).Format(time.DateOnly))
}

// DaysBetween counts the days from a to b, both included (0 if b < a).
func DaysBetween(a, b Date) int {
	ta, err1 := a.Time()
	tb, err2 := b.Time()
	if err1 != nil || err2 != nil || tb.Before(ta) {
		return 0
	}
	return int(tb.Sub(ta).Hours()/24) + 1
}

// DailyStatus derives the status of route for traffic on every day from
// from to to from the evidence.
func DailyStatus(ev []Evidence, route, traffic string, from, to Date) []Day {
	n := DaysBetween(from, to)
	days := make([]Day, n)
	for i := range days {
		days[i].Date = AddDays(from, i)
	}
	for _, e := range ev {
		if e.Route != route || e.Traffic != traffic || e.To < from || e.From > to {
			continue
		}
		a, b := max(e.From, from), min(e.To, to)
		first := DaysBetween(from, a) - 1
		for i := first; i < first+DaysBetween(a, b); i++ {
			d := &days[i]
			switch e.Kind {
			case Passage:
				d.Counts.Passages++
			case Removal:
				d.Counts.Removals++
			case Denial:
				d.Counts.Denials++
			}
			d.Records = append(d.Records, e.Index) // sorted and made unique below
		}
	}
	for i := range days {
		days[i].Status = DayStatus(days[i].Counts)
		slices.Sort(days[i].Records)
		days[i].Records = slices.Compact(days[i].Records)
		if days[i].Records == nil {
			days[i].Records = []uint64{}
		}
	}
	return days
}

// Blockade is a run of consecutive blocked days.
type Blockade struct {
	From    Date     `json:"from"`
	To      Date     `json:"to"`
	Days    int      `json:"days"`
	Records []uint64 `json:"records"`
}

// Blockades finds the runs of consecutive blocked days, in order.
func Blockades(days []Day) []Blockade {
	var out []Blockade
	for i := 0; i < len(days); i++ {
		if days[i].Status != Blocked {
			continue
		}
		b := Blockade{From: days[i].Date}
		for ; i < len(days) && days[i].Status == Blocked; i++ {
			b.To = days[i].Date
			b.Days++
			for _, r := range days[i].Records {
				if !slices.Contains(b.Records, r) {
					b.Records = append(b.Records, r)
				}
			}
		}
		slices.Sort(b.Records)
		out = append(out, b)
	}
	return out
}

// Logged is a payload with the log index of its record and the party that
// signed it.
type Logged[T any] struct {
	Index   uint64
	By      string
	Payload T
}

// ConvoyHistory is a convoy's filing and every later record about it, in
// log order (clearance answers, checkpoint events, movements).
type ConvoyHistory struct {
	Convoy Convoy
	Index  uint64
	Events []Logged[Payload]
}

// EvidenceInput is everything the status rules read.
type EvidenceInput struct {
	// Routes is the road network (every registered route) and Checkpoints
	// the checkpoints the records name: together they say which routes
	// a piece of evidence is on. Without them evidence stays on the route
	// its record names.
	Routes      []*Route
	Checkpoints map[string]*Checkpoint
	Convoys     []ConvoyHistory
	Incidents   []Logged[*Incident] // with their current verification status
	Closures    []Logged[*RouteClosure]
	Openings    []Logged[*RouteOpening]
	Passages    []Logged[*PassageObservation]
	// AsOf is the day the log speaks up to: the latest day any record
	// names. A hold or closure with no recorded end lasts until then.
	AsOf Date
}

// DayOf is the calendar day of a time as recorded (in its own offset).
func DayOf(t time.Time) Date { return Date(t.Format(time.DateOnly)) }

// RouteEvidence turns records into evidence, by these rules:
//
//   - Convoys by road or on foot are humanitarian cargo, on the routes their way follows (by air or sea, on none). A checkpoint
//     event "passed" is a passage on its day; "passed-with-removals" a
//     removal; a delivery a passage. "refused" and "turned-back" at a
//     checkpoint, and a refused clearance request, are denials on their
//     day. A hold is a denial on every day from the hold to the convoy's
//     next checkpoint event or movement, both included, or to AsOf if there
//     is none.
//   - An incident with traffic, on a route or at a checkpoint, is a denial
//     for each of its traffic kinds on every day from occurred to until,
//     unless its verification status is rejected or falsely attributed.
//   - A route closure is a denial for each of its traffic kinds on every
//     day from its first to its last day; with no last day, up to the day
//     before the same authority's next opening of that route and traffic,
//     or to AsOf.
//   - An observed passage is a passage for each of its traffic kinds on
//     every day it covers.
//
// An incident or a closure at a checkpoint is evidence on every route
// through the checkpoint's place: closing one crossing blocks exactly the
// ways that use it. A convoy's event at a checkpoint is evidence on the
// routes of its way's next segment from there (the last one, at its
// destination): where it was let through or stopped. A delivery and a
// refused clearance are on every route the convoy's way follows.
//
// Other records (departures, arrivals, inspections, statements, claims)
// say nothing about passage.
func RouteEvidence(in EvidenceInput) []Evidence {
	var out []Evidence
	add := func(routes []string, traffic string, k EvidenceKind, from, to Date, idx uint64, what string) {
		if to < from {
			return
		}
		for _, route := range routes {
			if route == "" {
				continue
			}
			out = append(out, Evidence{Route: route, Traffic: traffic, Kind: k, From: from, To: to, Index: idx, What: what})
		}
	}
	at := func(checkpoint string, fallback []string) []string {
		if cp, ok := in.Checkpoints[checkpoint]; ok && len(in.Routes) > 0 {
			if r := atCheckpoint(cp, in.Routes); len(r) > 0 {
				return r
			}
		}
		return fallback
	}
	for _, c := range in.Convoys {
		if !c.Convoy.OnRoad() {
			continue // an air drop or a ship says nothing about the roads
		}
		route := convoyRoutes(&c.Convoy, in.Routes)
		for i, e := range c.Events {
			switch p := e.Payload.(type) {
			case *ClearanceAnswer:
				if p.Decision == Refused {
					d := DayOf(p.At)
					add(route, Cargo, Denial, d, d, e.Index, TypeClearance+" "+Refused)
				}
			case *CheckpointEvent:
				d := DayOf(p.At)
				route := route
				if cp, ok := in.Checkpoints[p.Checkpoint]; ok && len(in.Routes) > 0 {
					route = onward(&c.Convoy, cp.Place, in.Routes)
				}
				what := TypeCheckEvent + " " + p.Event
				switch p.Event {
				case EvPassed:
					add(route, Cargo, Passage, d, d, e.Index, what)
				case EvPassedLess:
					add(route, Cargo, Removal, d, d, e.Index, what)
				case EvRefused, EvTurnedBack:
					add(route, Cargo, Denial, d, d, e.Index, what)
				case EvHeld:
					end := in.AsOf
					if next, ok := nextMovement(c.Events[i+1:]); ok {
						end = next
					}
					add(route, Cargo, Denial, d, max(d, end), e.Index, what)
				}
			case *ConvoyMove:
				if p.Event == MvDelivered {
					d := DayOf(p.At)
					add(route, Cargo, Passage, d, d, e.Index, TypeMove+" "+MvDelivered)
				}
			}
		}
	}
	for _, l := range in.Incidents {
		i := l.Payload
		if len(i.Traffic) == 0 || !CountsAsEvidence(i.Verification) {
			continue
		}
		route := []string{i.Route}
		if i.Route == "" {
			route = at(i.Checkpoint, nil)
		}
		for _, t := range i.Traffic {
			add(route, t, Denial, i.Occurred, i.LastDay(), l.Index, TypeIncident+" "+i.Category)
		}
	}
	for _, l := range in.Closures {
		c := l.Payload
		for _, t := range c.Traffic {
			end := c.To
			if end == "" {
				end = in.AsOf
				for _, o := range in.Openings {
					if o.By == l.By && o.Payload.Route == c.Route && slices.Contains(o.Payload.Traffic, t) &&
						o.Payload.From > c.From && AddDays(o.Payload.From, -1) < end {
						end = AddDays(o.Payload.From, -1)
					}
				}
			}
			route := []string{c.Route}
			if c.Checkpoint != "" {
				route = at(c.Checkpoint, route)
			}
			add(route, t, Denial, c.From, end, l.Index, TypeRouteClosed)
		}
	}
	for _, l := range in.Passages {
		o := l.Payload
		for _, t := range o.Traffic {
			add([]string{o.Route}, t, Passage, o.From, o.LastDay(), l.Index, TypePassage)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Index < out[j].Index })
	return out
}

// nextMovement is the day of the first checkpoint event or movement among
// events: what ends a hold. A later clearance answer does not.
func nextMovement(events []Logged[Payload]) (Date, bool) {
	for _, e := range events {
		switch v := e.Payload.(type) {
		case *CheckpointEvent:
			return DayOf(v.At), true
		case *ConvoyMove:
			return DayOf(v.At), true
		}
	}
	return "", false
}

// Verdicts on a typed assertion.
const (
	Consistent   = "consistent"
	Contradicted = "contradicted"
	NoEvidence   = "no-evidence"
)

// Verdict is corridor's own judgement of a typed assertion from the
// records, with the records that decide it.
type Verdict struct {
	Verdict string         `json:"verdict"`
	Reason  string         `json:"reason"`
	Days    map[string]int `json:"days,omitempty"` // days in the period by status
	Records []uint64       `json:"records"`
	// MoreRecords says the deciding records were more than the list holds.
	MoreRecords bool `json:"more_records,omitempty"`
}

// JudgeRoute judges "route R is open (or blocked) to traffic T during P"
// against the daily status of every day of P:
//
//   - open: contradicted if any day is blocked (decided by those days'
//     records); consistent if every day is open or restricted; otherwise
//     no evidence.
//   - blocked: contradicted if any day had a passage (open or restricted);
//     consistent if every day is blocked; otherwise no evidence.
func JudgeRoute(kind string, days []Day) Verdict {
	v := Verdict{Days: map[string]int{}, Records: []uint64{}}
	for _, d := range days {
		v.Days[string(d.Status)]++
	}
	collect := func(keep func(RouteStatus) bool) {
		for _, d := range days {
			if keep(d.Status) {
				for _, r := range d.Records {
					if !slices.Contains(v.Records, r) {
						v.Records = append(v.Records, r)
					}
				}
			}
		}
		slices.Sort(v.Records)
	}
	passed := func(s RouteStatus) bool { return s == Open || s == Restricted }
	blocked := func(s RouteStatus) bool { return s == Blocked }
	n := len(days)
	switch kind {
	case AssertOpen:
		switch {
		case v.Days[string(Blocked)] > 0:
			v.Verdict, v.Reason = Contradicted, "the records show the route blocked on at least one day of the period"
			collect(blocked)
		case n > 0 && v.Days[string(Open)]+v.Days[string(Restricted)] == n:
			v.Verdict, v.Reason = Consistent, "the records show passages on every day of the period"
			collect(passed)
		default:
			v.Verdict, v.Reason = NoEvidence, "no day of the period is blocked, but not every day has a recorded passage"
			collect(passed)
		}
	case AssertBlocked:
		switch {
		case v.Days[string(Open)]+v.Days[string(Restricted)] > 0:
			v.Verdict, v.Reason = Contradicted, "the records show a passage on at least one day of the period"
			collect(passed)
		case n > 0 && v.Days[string(Blocked)] == n:
			v.Verdict, v.Reason = Consistent, "the records show the route blocked on every day of the period"
			collect(blocked)
		default:
			v.Verdict, v.Reason = NoEvidence, "no passage is recorded in the period, but not every day has a record of a refusal, hold or closure"
			collect(blocked)
		}
	}
	return v
}

// DeliveryTolerance is how far recorded deliveries may differ from a
// claimed figure and still be consistent with it (a fraction of the claim).
const DeliveryTolerance = 0.10

// JudgeCoverageBelow judges "what was delivered covered less than percent
// of the need": deliveredKcal against population × kcalPerDay × days.
// With no convoy recorded to the place in the period there is no evidence:
// the records do not say that nothing came, only that nothing is recorded.
func JudgeCoverageBelow(percent, deliveredKcal float64, population int64, days int, kcalPerDay float64, deliveries, others []uint64) Verdict {
	v := JudgeDelivered(0, 0, deliveries, others)
	if len(v.Records) == 0 {
		return v
	}
	need := float64(population) * kcalPerDay * float64(days)
	covered := 0.0
	if need > 0 {
		covered = 100 * deliveredKcal / need
	}
	if covered < percent {
		v.Verdict, v.Reason = Consistent, fmt.Sprintf("the recorded deliveries cover %.1f%% of the need in the period", covered)
	} else {
		v.Verdict, v.Reason = Contradicted, fmt.Sprintf("the recorded deliveries cover %.1f%% of the need in the period", covered)
	}
	return v
}

// AtPlace is what the records show reached a place during a period.
type AtPlace struct {
	Kg, Kcal   float64
	Vehicles   int64 // of the convoys that delivered
	Population int64
	// Deliveries and Others (held, refused) are the records that decide.
	Deliveries, Others []uint64
}

// JudgeAtPlace judges an assertion about what reached a place (delivered,
// tonnes-per-day, trucks-per-day, coverage-below) during p.
func JudgeAtPlace(a Assertion, p Period, at AtPlace) Verdict {
	kg, kcal, population, deliveries, others := at.Kg, at.Kcal, at.Population, at.Deliveries, at.Others
	days := DaysBetween(p.From, p.To)
	switch a.Kind {
	case AssertTrucksPerDay:
		v := judgeAmount(a.Trucks*float64(days), float64(at.Vehicles), deliveries, others)
		if v.Verdict != NoEvidence {
			within := "within"
			if v.Verdict == Contradicted {
				within = "more than 10% away from"
			}
			v.Reason = fmt.Sprintf("the recorded deliveries average %.1f vehicles a day over the %d days of the period, %s the figure claimed", float64(at.Vehicles)/float64(max(days, 1)), days, within)
		}
		return v
	case AssertCoverageBelow:
		return JudgeCoverageBelow(a.Percent, kcal, population, days, KcalPerPersonDay, deliveries, others)
	case AssertTonnesPerDay:
		v := JudgeDelivered(a.Tonnes*float64(days), kg, deliveries, others)
		if v.Verdict != NoEvidence {
			v.Reason = fmt.Sprintf("the recorded deliveries average %.1f t a day over the %d days of the period; %s", kg/1000/float64(max(days, 1)), days, v.Reason)
		}
		return v
	}
	return JudgeDelivered(a.Tonnes, kg, deliveries, others)
}

// JudgeDelivered judges "N tonnes were delivered to S during P" against
// the kilograms the records show delivered there in P. With no delivery
// and no other convoy record about S in P there is no evidence; otherwise
// the claim is consistent when the recorded weight is within
// DeliveryTolerance of the claim, and contradicted when it is not.
func JudgeDelivered(claimedTonnes, deliveredKg float64, deliveries, others []uint64) Verdict {
	return judgeAmount(claimedTonnes, deliveredKg/1000, deliveries, others)
}

// judgeAmount judges a claimed amount (tonnes, vehicles) against the one
// the records show, within DeliveryTolerance; no evidence without records.
func judgeAmount(claimed, got float64, deliveries, others []uint64) Verdict {
	v := Verdict{Records: []uint64{}}
	for _, r := range slices.Concat(deliveries, others) {
		if !slices.Contains(v.Records, r) {
			v.Records = append(v.Records, r)
		}
	}
	slices.Sort(v.Records)
	switch {
	case len(v.Records) == 0:
		v.Verdict, v.Reason = NoEvidence, "no convoy to the place is recorded in the period"
	case got >= claimed*(1-DeliveryTolerance) && got <= claimed*(1+DeliveryTolerance):
		v.Verdict, v.Reason = Consistent, "the recorded deliveries are within 10% of the figure claimed"
	default:
		v.Verdict, v.Reason = Contradicted, "the recorded deliveries differ from the figure claimed by more than 10%"
	}
	return v
}
