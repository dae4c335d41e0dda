package report

import (
	"fmt"
	"math"

	"corridor"
	"corridor/store"
)

// CoverageReport is a settlement's need against the aid sent to it, by week.
type CoverageReport struct {
	Place      string          `json:"place"`
	Names      string          `json:"names"`
	Population int64           `json:"population"`
	KcalPerDay float64         `json:"kcal_per_person_day"`
	Catchment  []string        `json:"catchment"` // destinations whose convoys count
	From       corridor.Date   `json:"from"`
	To         corridor.Date   `json:"to"`
	Totals     corridor.Week   `json:"totals"`
	Weeks      []corridor.Week `json:"weeks"`
}

// Catchment lists the places whose deliveries serve a settlement: itself
// and the places of its area, if one is registered.
func (d *Data) Catchment(place string) []string {
	out := []string{place}
	for _, a := range d.Areas {
		if a.Place == place {
			for _, p := range a.Places {
				if !containsID(out, p) {
					out = append(out, p)
				}
			}
		}
	}
	return out
}

// coverageOf checks that a place is a settlement with people to need aid
// and gives the daily need per person: kcal, or 2,100 for 0.
func coverageOf(p corridor.Place, kcal float64) (float64, error) {
	if !p.IsSettlement() || p.Population <= 0 {
		return 0, &corridor.Error{Code: corridor.CodeInvalid, Field: "id", Reason: fmt.Sprintf("place %q is a %s with no population", p.ID, p.Kind)}
	}
	if kcal == 0 {
		kcal = corridor.KcalPerPersonDay
	}
	if math.IsNaN(kcal) || kcal < 500 || kcal > 10000 {
		return 0, &corridor.Error{Code: corridor.CodeInvalid, Field: "kcal", Reason: "daily need per person must be between 500 and 10,000 kcal"}
	}
	return kcal, nil
}

// Coverage computes a settlement's need and the aid delivered, held and
// refused, in person-days, by week. kcal is the daily need per person
// (0 for the default, 2,100).
func (d *Data) Coverage(place, from, to string, kcal float64) (CoverageReport, error) {
	p, ok := d.places[place]
	if !ok {
		return CoverageReport{}, fmt.Errorf("place %q: %w", place, store.ErrNotFound)
	}
	kcal, err := coverageOf(p.Place, kcal)
	if err != nil {
		return CoverageReport{}, err
	}
	f, t, err := d.Period(from, to)
	if err != nil {
		return CoverageReport{}, err
	}
	c := CoverageReport{Place: place, Names: AllNames(p.Names), Population: p.Population, KcalPerDay: kcal, Catchment: d.Catchment(place), From: f, To: t}
	c.Weeks = corridor.Coverage(corridor.CoverageInput{Population: p.Population, KcalPerDay: kcal, Catchment: c.Catchment, Convoys: d.Histories, From: f, To: t})
	c.Totals = corridor.Week{Start: f, End: t, Items: []corridor.ItemTotal{}, Records: []uint64{}}
	c.sum()
	return c, nil
}

// sum adds the weeks up into the totals.
func (c *CoverageReport) sum() {
	for _, w := range c.Weeks {
		c.Totals.AddWeek(w)
	}
	c.Totals.DaysCovered = c.Totals.DeliveredPD / float64(c.Population)
	if c.Totals.NeedPD > 0 {
		c.Totals.NeedCoverage = c.Totals.DeliveredPD / c.Totals.NeedPD
	}
}
