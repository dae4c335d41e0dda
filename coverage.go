package corridor

import (
	"slices"
	"strings"
)

// Needs against deliveries. Every rule that turns convoy records into
// person-days lives in this file; docs/STATUS.md states them in prose.

// KcalPerPersonDay is the default daily food need per person: 2,100 kcal,
// the Sphere standard.
const KcalPerPersonDay = 2100

// FoodItem is an entry of the item catalogue: the planning energy value
// of one kilogram.
type FoodItem struct {
	Name    string   `json:"name"`
	Aliases []string `json:"aliases,omitempty"`
	KcalKg  float64  `json:"kcal_per_kg"`
	Source  string   `json:"source"`
}

// Catalogue lists the food items whose energy corridor knows. Items not in
// it (mixed or unnamed food, non-food items) are counted in kilograms and
// units but not in person-days.
var Catalogue = []FoodItem{
	{"wheat flour", []string{"flour", "wheat flour (fortified)"}, 3500, "planning value; food tables give 3,410–3,640"},
	{"rice", []string{"white rice"}, 3600, "planning value (WFP NutVal, 360 kcal/100 g)"},
	{"vegetable oil", []string{"oil", "cooking oil", "sunflower oil"}, 8850, "planning value (WFP NutVal, 885 kcal/100 g)"},
	{"sugar", []string{"white sugar"}, 4000, "planning value (WFP NutVal, 400 kcal/100 g)"},
	{"pulses", []string{"lentils", "beans", "dried beans", "chickpeas", "split peas"}, 3350, "planning value (WFP NutVal, 335 kcal/100 g)"},
	{"baby formula", []string{"infant formula"}, 5000, "planning value (powdered infant formula, about 500 kcal/100 g)"},
}

// EnergyPerKg returns the planning energy of a kilogram of item, matched
// by its name or an alias (case and surrounding spaces ignored).
func EnergyPerKg(item string) (float64, bool) {
	n := strings.ToLower(strings.TrimSpace(item))
	for _, f := range Catalogue {
		if n == f.Name || slices.Contains(f.Aliases, n) {
			return f.KcalKg, true
		}
	}
	return 0, false
}

// Outcomes of a convoy's load, for coverage.
const (
	OutcomeDelivered = "delivered"
	OutcomeHeld      = "held"
	OutcomeRefused   = "refused"
)

// ItemTotal is a quantity of one item with one outcome.
type ItemTotal struct {
	Outcome  string  `json:"outcome"`
	Mode     string  `json:"mode"` // of the convoys: road, foot, air-drop, sea
	Item     string  `json:"item"`
	Sector   string  `json:"sector"`
	Unit     string  `json:"unit"`
	Quantity float64 `json:"quantity"`
	Kg       float64 `json:"kg"`
	Kcal     float64 `json:"kcal"`
	Rated    bool    `json:"rated"` // the item is in the catalogue
}

// ConvoyOutcome is what became of one convoy's load, on which day, decided
// by which record.
type ConvoyOutcome struct {
	Convoy  string      `json:"convoy"`
	Route   string      `json:"route"`
	Outcome string      `json:"outcome"`
	Day     Date        `json:"day"`
	Index   uint64      `json:"log_index"`
	Items   []ItemTotal `json:"items"`
}

// Kg sums the weight of an outcome's items.
func (o ConvoyOutcome) Kg() float64 {
	var t float64
	for _, i := range o.Items {
		t += i.Kg
	}
	return t
}

// Kcal sums the energy of an outcome's items.
func (o ConvoyOutcome) Kcal() float64 {
	var t float64
	for _, i := range o.Items {
		t += i.Kcal
	}
	return t
}

// lineOutcome is the outcome a line decision other than removed counts as.
var lineOutcome = map[string]string{LineRefused: OutcomeRefused, LineHeld: OutcomeHeld}

// Outcome decides what became of a convoy's load:
//
//   - delivered: the quantities received, on the day of delivery;
//   - lines taken off at a checkpoint with the decision refused or held
//     count as refused or held beside what became of the rest, on the
//     outcome's day (while the convoy is under way, the day of the first
//     such event); removed ones count nowhere;
//   - otherwise, if it was refused or held at a checkpoint it did not pass
//     afterwards: refused (if any refusal) or held, the load still aboard
//     (manifest less removals), on the day of the first such refusal or
//     hold;
//   - otherwise nothing yet (ok is false): still on its way, or never
//     reached a checkpoint.
func Outcome(c ConvoyHistory) (ConvoyOutcome, bool) {
	var removed []LineQty
	var kept []ItemTotal // lines refused or held at a checkpoint
	var keptDay Date
	var keptAt uint64
	mode := c.Convoy.ModeOf()
	var denied struct {
		at      string // checkpoint
		day     Date
		index   uint64
		refused bool
	}
	for _, e := range c.Events {
		switch p := e.Payload.(type) {
		case *CheckpointEvent:
			// Lines taken off (or named by a refusal) with a decision of
			// their own count apart from the rest of the load.
			removed = append(removed, p.Removed...)
			for _, r := range p.Removed {
				if d := r.DecisionOf(); d != LineRemoved && r.Line < len(c.Convoy.Manifest) {
					if len(kept) == 0 {
						keptDay, keptAt = DayOf(p.At), e.Index
					}
					kept = append(kept, itemTotal(lineOutcome[d], mode, c.Convoy.Manifest[r.Line], r.Quantity, r.Kg))
				}
			}
			switch p.Event {
			case EvHeld, EvRefused:
				if denied.at == "" {
					denied.at, denied.day, denied.index = p.Checkpoint, DayOf(p.At), e.Index
				}
				denied.refused = denied.refused || p.Event == EvRefused
			case EvPassed, EvPassedLess:
				if p.Checkpoint == denied.at {
					denied.at, denied.refused = "", false
				}
			}
		case *ConvoyMove:
			if p.Event == MvDelivered {
				o := ConvoyOutcome{Convoy: c.Convoy.ID, Route: c.Convoy.Route, Outcome: OutcomeDelivered, Day: DayOf(p.At), Index: e.Index}
				for _, r := range p.Received {
					o.Items = append(o.Items, itemTotal(OutcomeDelivered, mode, c.Convoy.Manifest[r.Line], r.Quantity, r.Kg))
				}
				o.Items = append(o.Items, kept...)
				return o, true
			}
		}
	}
	if denied.at == "" {
		if len(kept) > 0 {
			// Under way with lines kept at a checkpoint: those count already.
			return ConvoyOutcome{Convoy: c.Convoy.ID, Route: c.Convoy.Route, Outcome: kept[0].Outcome, Day: keptDay, Index: keptAt, Items: kept}, true
		}
		return ConvoyOutcome{}, false
	}
	o := ConvoyOutcome{Convoy: c.Convoy.ID, Route: c.Convoy.Route, Outcome: OutcomeHeld, Day: denied.day, Index: denied.index}
	if denied.refused {
		o.Outcome = OutcomeRefused
	}
	for i, l := range c.Convoy.Manifest {
		q, kg := sumLine(removed, i)
		if l.Kg-kg > 0 {
			o.Items = append(o.Items, itemTotal(o.Outcome, mode, l, l.Quantity-q, l.Kg-kg))
		}
	}
	o.Items = append(o.Items, kept...)
	return o, true
}

func itemTotal(outcome, mode string, l Line, qty, kg float64) ItemTotal {
	t := ItemTotal{Outcome: outcome, Mode: mode, Item: l.Item, Sector: l.Sector, Unit: l.Unit, Quantity: qty, Kg: kg}
	if e, ok := EnergyPerKg(l.Item); ok {
		t.Kcal, t.Rated = kg*e, true
	}
	return t
}

// Week is the need and the aid of one settlement in one week (Monday to
// Sunday, clipped to the period asked for), in person-days.
type Week struct {
	Start       Date    `json:"start"` // first day counted
	End         Date    `json:"end"`   // last day counted
	Days        int     `json:"days"`
	NeedPD      float64 `json:"need_person_days"`
	DeliveredPD float64 `json:"delivered_person_days"`
	HeldPD      float64 `json:"held_person_days"`
	RefusedPD   float64 `json:"refused_person_days"`
	DeliveredKg float64 `json:"delivered_kg"`
	// DeliveredKgByMode splits DeliveredKg by the convoys' mode.
	DeliveredKgByMode map[string]float64 `json:"delivered_kg_by_mode"`
	HeldKg            float64            `json:"held_kg"`
	RefusedKg         float64            `json:"refused_kg"`
	UnratedKg         float64            `json:"unrated_kg"` // delivered, held or refused kg with no energy value
	DaysCovered       float64            `json:"days_of_need_delivered"`
	Items             []ItemTotal        `json:"items"`
	Records           []uint64           `json:"records"`
	NeedCoverage      float64            `json:"delivered_share_of_need"`
}

// CoverageInput is what needs against deliveries are computed from.
type CoverageInput struct {
	Population int64
	KcalPerDay float64  // default KcalPerPersonDay
	Catchment  []string // the places whose deliveries count: the settlement and its area
	Convoys    []ConvoyHistory
	From, To   Date
}

// Coverage computes, per week from From to To, the need in person-days
// (population × days) and the person-days delivered, held and refused by
// convoys whose destination is in the catchment: energy (kg × kcal/kg)
// divided by the daily need per person.
func Coverage(in CoverageInput) []Week {
	weeks := Weeks(in.Population, in.From, in.To)
	for _, c := range in.Convoys {
		if !slices.Contains(in.Catchment, c.Convoy.Destination) {
			continue
		}
		o, ok := Outcome(c)
		if !ok || o.Day < in.From || o.Day > in.To {
			continue
		}
		w := &weeks[WeekOf(weeks, o.Day)]
		w.Records = append(w.Records, o.Index)
		for _, it := range o.Items {
			AddToWeek(w, it, in.KcalPerDay)
		}
	}
	FinishWeeks(weeks, in.Population)
	return weeks
}

// Weeks splits a period into weeks (Monday to Sunday, clipped to the
// period), each with its need.
func Weeks(population int64, from, to Date) []Week {
	weeks := []Week{}
	for d := from; d <= to && DaysBetween(from, to) > 0; {
		t, _ := d.Time()
		end := AddDays(d, (7-int((t.Weekday()+6)%7))-1) // through Sunday
		end = min(end, to)
		n := DaysBetween(d, end)
		weeks = append(weeks, Week{Start: d, End: end, Days: n, NeedPD: float64(population) * float64(n), DeliveredKgByMode: map[string]float64{}, Items: []ItemTotal{}, Records: []uint64{}})
		d = AddDays(end, 1)
	}
	return weeks
}

// AddToWeek counts an item total in a week, at kcal per person-day
// (KcalPerPersonDay if not positive).
func AddToWeek(w *Week, it ItemTotal, kcal float64) {
	if kcal <= 0 {
		kcal = KcalPerPersonDay
	}
	pd := it.Kcal / kcal
	switch it.Outcome {
	case OutcomeDelivered:
		w.DeliveredKg += it.Kg
		w.DeliveredPD += pd
		w.addMode(it.Mode, it.Kg)
	case OutcomeHeld:
		w.HeldKg += it.Kg
		w.HeldPD += pd
	case OutcomeRefused:
		w.RefusedKg += it.Kg
		w.RefusedPD += pd
	}
	if !it.Rated {
		w.UnratedKg += it.Kg
	}
	w.Items = append(w.Items, it)
}

// addMode adds kg delivered by mode.
func (w *Week) addMode(mode string, kg float64) {
	if w.DeliveredKgByMode == nil {
		w.DeliveredKgByMode = map[string]float64{}
	}
	w.DeliveredKgByMode[mode] += kg
}

// AddWeek adds the aid of week x to w (for totals over several weeks).
func (w *Week) AddWeek(x Week) {
	w.Days += x.Days
	w.NeedPD += x.NeedPD
	w.DeliveredPD += x.DeliveredPD
	w.HeldPD += x.HeldPD
	w.RefusedPD += x.RefusedPD
	w.DeliveredKg += x.DeliveredKg
	w.HeldKg += x.HeldKg
	w.RefusedKg += x.RefusedKg
	w.UnratedKg += x.UnratedKg
	for m, kg := range x.DeliveredKgByMode {
		w.addMode(m, kg)
	}
	w.Items = append(w.Items, x.Items...)
	w.Records = append(w.Records, x.Records...)
}

// FinishWeeks sorts each week's records and computes its shares of need.
func FinishWeeks(weeks []Week, population int64) {
	for i := range weeks {
		w := &weeks[i]
		slices.Sort(w.Records)
		if population > 0 {
			w.DaysCovered = w.DeliveredPD / float64(population)
		}
		if w.NeedPD > 0 {
			w.NeedCoverage = w.DeliveredPD / w.NeedPD
		}
	}
}

// WeekOf finds the week holding day d (the first if none does).
func WeekOf(weeks []Week, d Date) int {
	for i, w := range weeks {
		if d >= w.Start && d <= w.End {
			return i
		}
	}
	return 0
}
