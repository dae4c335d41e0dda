package corridor

import (
	"fmt"
	"slices"
	"strings"
)

// TypeRestricted is an authority's published list of items it restricts.
const TypeRestricted = "restricted.list"

func init() {
	register(&RecordType{Name: TypeRestricted, Version: 1, Signers: []PartyKind{Authority},
		New: func() Payload { return new(RestrictedList) }, apply: applyRestricted})
}

// RestrictedList is an authority's list, in force from a day until its
// next list, of the items it refuses or allows only under conditions
// (dual-use, prohibited). It is recorded as the authority published it;
// corridor only checks that a line decision citing it names an item on
// it.
type RestrictedList struct {
	ID        string           `json:"id"`
	Authority string           `json:"authority"`
	From      Date             `json:"from"`
	Items     []RestrictedItem `json:"items"`
	Source    string           `json:"source,omitempty"`
	URL       string           `json:"url,omitempty"`
	Note      string           `json:"note,omitempty"`
}

// RestrictedItem is one entry of a restricted list.
type RestrictedItem struct {
	Item     string `json:"item"`
	Category string `json:"category"` // dual-use or prohibited
	Note     string `json:"note,omitempty"`
}

// Restriction categories of a listed item.
var RestrictionCategories = []string{"dual-use", "prohibited"}

// Validate checks a restricted list on its own.
func (l *RestrictedList) Validate() error {
	if err := checkID("id", l.ID); err != nil {
		return err
	}
	if err := checkID("authority", l.Authority); err != nil {
		return err
	}
	if err := checkDate("from", l.From, true); err != nil {
		return err
	}
	if len(l.Items) == 0 {
		return invalid("items", "at least one item is required")
	}
	if len(l.Items) > MaxList {
		return invalid("items", "more than %d items", MaxList)
	}
	for i, it := range l.Items {
		f := fmt.Sprintf("items[%d]", i)
		if err := checkText(f+".item", it.Item, MaxShortText, true); err != nil {
			return err
		}
		if slices.IndexFunc(l.Items, func(x RestrictedItem) bool { return sameItem(x.Item, it.Item) }) != i {
			return invalid(f+".item", "%q is listed twice", it.Item)
		}
		if err := checkOneOf(f+".category", it.Category, RestrictionCategories); err != nil {
			return err
		}
		if err := checkText(f+".note", it.Note, MaxText, false); err != nil {
			return err
		}
	}
	if err := checkText("source", l.Source, MaxShortText, false); err != nil {
		return err
	}
	if l.URL != "" {
		if err := checkURL("url", l.URL); err != nil {
			return err
		}
	}
	return checkText("note", l.Note, MaxText, false)
}

func sameItem(a, b string) bool {
	return strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b))
}

// ListOn is the authority's restricted list in force on day: its latest
// from that day or before; nil if none.
func (p *Party) ListOn(day Date) *RestrictedList {
	var out *RestrictedList
	for i := range p.Lists {
		if p.Lists[i].From <= day {
			out = &p.Lists[i]
		}
	}
	return out
}

// Entry returns the item's entry on the list, if it is there.
func (l *RestrictedList) Entry(item string) (RestrictedItem, bool) {
	for _, it := range l.Items {
		if sameItem(it.Item, item) {
			return it, true
		}
	}
	return RestrictedItem{}, false
}

func applyRestricted(st *State, by *Party, pl Payload, m Meta) error {
	l := pl.(*RestrictedList)
	if l.Authority != by.ID {
		return forbidden("authority", "party %q may publish a list only in its own name, not for %q", by.ID, l.Authority)
	}
	for _, x := range by.Lists {
		if x.ID == l.ID {
			return conflict("id", "%q already published list %q (from %s); a list is never rewritten: publish a new one from a later day", by.ID, l.ID, x.From)
		}
	}
	if n := len(by.Lists); n > 0 && l.From <= by.Lists[n-1].From {
		return conflict("from", "%q's list %q is in force from %s; a new list must start later", by.ID, by.Lists[n-1].ID, by.Lists[n-1].From)
	}
	p := *by
	p.Lists = append(slices.Clone(by.Lists), *l)
	setKey(st, st.Parties, p.ID, &p)
	return nil
}
