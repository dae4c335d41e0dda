package corridor

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Access monitoring: incidents in the standard access-constraint
// categories, claims linked to evidence, explicit route closures and
// openings, and the areas whose population a settlement's deliveries serve.
// The rules that turn these records into a daily route status live in
// status.go; needs against deliveries in coverage.go.

// Record type names of access monitoring.
const (
	TypeIncident       = "incident.report"
	TypeIncidentVerify = "incident.verify"
	TypeClaim          = "claim.record"
	TypeClaimLink      = "claim.link"
	TypeRouteClosed    = "route.closed"
	TypeRouteOpened    = "route.opened"
	TypePassage        = "passage.observed"
	TypeArea           = "area.register"
)

func init() {
	register(&RecordType{Name: TypeIncident, Version: 1, Signers: []PartyKind{Monitor, Organisation, Authority, Operator},
		New: func() Payload { return new(Incident) }, apply: applyIncident})
	register(&RecordType{Name: TypeIncidentVerify, Version: 1, Signers: []PartyKind{Monitor, Operator},
		New: func() Payload { return new(IncidentVerification) }, apply: applyIncidentVerify})
	register(&RecordType{Name: TypeClaim, Version: 1, Signers: []PartyKind{Monitor, Operator},
		New: func() Payload { return new(Claim) }, apply: applyClaim})
	register(&RecordType{Name: TypeClaimLink, Version: 1, Signers: []PartyKind{Monitor, Operator},
		New: func() Payload { return new(ClaimLink) }, apply: applyClaimLink})
	register(&RecordType{Name: TypeRouteClosed, Version: 1, Signers: []PartyKind{Authority},
		New: func() Payload { return new(RouteClosure) }, apply: applyRouteClosure})
	register(&RecordType{Name: TypeRouteOpened, Version: 1, Signers: []PartyKind{Authority},
		New: func() Payload { return new(RouteOpening) }, apply: applyRouteOpening})
	register(&RecordType{Name: TypePassage, Version: 1, Signers: []PartyKind{Monitor, Authority},
		New: func() Payload { return new(PassageObservation) }, apply: applyPassage})
	register(&RecordType{Name: TypeArea, Version: 1, Signers: []PartyKind{Operator, Monitor},
		New: func() Payload { return new(Area) }, apply: applyArea})
}

// AccessCategory is one of the nine humanitarian access-constraint
// indicators of OCHA's access monitoring and reporting framework, also
// used by ACAPS.
type AccessCategory struct {
	Code   string `json:"code"`
	Number int    `json:"number"`
	Label  string `json:"label"`
}

// AccessCategories lists the nine indicators in their standard order.
var AccessCategories = []AccessCategory{
	{"denial-of-needs", 1, "Denial of the existence of humanitarian needs or of entitlement to assistance"},
	{"restriction-of-access-to-assistance", 2, "Restriction or obstruction of access to services and assistance"},
	{"impediments-to-entry", 3, "Impediments to entering the country (bureaucratic and administrative)"},
	{"restriction-of-movement", 4, "Restriction of movement within the country"},
	{"interference-in-activities", 5, "Interference in the implementation of humanitarian activities"},
	{"violence-against-humanitarians", 6, "Violence against humanitarian personnel, facilities and assets"},
	{"insecurity-or-hostilities", 7, "Ongoing insecurity or hostilities affecting humanitarian assistance"},
	{"explosive-hazards", 8, "Landmines, improvised explosive devices and explosive remnants of war"},
	{"physical-constraints", 9, "Physical constraints in the environment (terrain, climate, infrastructure)"},
}

// StoppedAtCategory is the access category of a convoy held or refused at
// a checkpoint, from the kind of place the checkpoint stands at: at a
// border crossing the convoy is kept from entering the country, anywhere
// else from moving within it. The place's kind is the scenario's record.
func StoppedAtCategory(placeKind string) AccessCategory {
	code := "restriction-of-movement"
	if placeKind == "border-crossing" {
		code = "impediments-to-entry"
	}
	c, _ := CategoryOf(code)
	return c
}

// CategoryOf finds an access category by its code.
func CategoryOf(code string) (AccessCategory, bool) {
	for _, c := range AccessCategories {
		if c.Code == code {
			return c, true
		}
	}
	return AccessCategory{}, false
}

func categoryCodes() []string {
	out := make([]string, len(AccessCategories))
	for i, c := range AccessCategories {
		out[i] = c.Code
	}
	return out
}

// Traffic is what moves along a route. Its status is derived separately
// for each kind.
const (
	Cargo     = "humanitarian-cargo"
	Civilians = "civilians"
)

// TrafficKinds lists the kinds of traffic a route status is derived for.
var TrafficKinds = []string{Cargo, Civilians}

// Verification statuses of an incident.
const (
	Unverified        = "unverified"
	Pending           = "pending"
	Verified          = "verified"
	Rejected          = "rejected"
	FalselyAttributed = "falsely-attributed"
)

// VerificationStatuses lists the verification statuses of an incident.
var VerificationStatuses = []string{Unverified, Pending, Verified, Rejected, FalselyAttributed}

// CountsAsEvidence reports whether an incident with this verification status counts
// as evidence: everything except rejected and falsely attributed reports.
func CountsAsEvidence(verification string) bool {
	return verification != Rejected && verification != FalselyAttributed
}

// MaxPeople bounds a count of people affected: more is an absurd figure.
const MaxPeople = 50_000_000

// Incident is an access incident, reported by a monitor or a party.
type Incident struct {
	ID          string `json:"id"`
	Category    string `json:"category"`
	Occurred    Date   `json:"occurred"`
	Until       Date   `json:"until,omitempty"` // last day, for an incident lasting several days
	Reported    Date   `json:"reported"`
	Route       string `json:"route,omitempty"`
	Checkpoint  string `json:"checkpoint,omitempty"`
	Place       string `json:"place,omitempty"`
	Perpetrator string `json:"perpetrator,omitempty"` // party id, if known
	// Affected names the organisation whose activity was affected (free text:
	// it need not be a registered party).
	Affected        string   `json:"affected_organisation,omitempty"`
	People          int64    `json:"people_affected,omitempty"`
	PeopleEstimated bool     `json:"people_estimated,omitempty"`
	AidDenied       []string `json:"aid_denied,omitempty"` // sectors
	// Traffic names the kinds of traffic that could not pass on the route
	// because of the incident, on every day from Occurred to Until. An
	// incident with traffic is evidence for the daily route status.
	Traffic      []string     `json:"traffic,omitempty"`
	Description  string       `json:"description"`
	Source       string       `json:"source,omitempty"`
	SourceURL    string       `json:"source_url,omitempty"`
	Verification string       `json:"verification"`
	Files        []Attachment `json:"files,omitempty"` // evidence files (see Attachment)
}

// LastDay is the last day the incident covers.
func (i *Incident) LastDay() Date {
	if i.Until != "" {
		return i.Until
	}
	return i.Occurred
}

func checkPeriod(fromField string, from Date, toField string, to Date, fromRequired bool) error {
	if err := checkDate(fromField, from, fromRequired); err != nil {
		return err
	}
	if err := checkDate(toField, to, false); err != nil {
		return err
	}
	if from != "" && to != "" && to < from {
		return invalid(toField, "ends before it starts (%s < %s)", to, from)
	}
	return nil
}

func checkTraffic(field string, t []string, required bool) error {
	if len(t) == 0 {
		if required {
			return invalid(field, "at least one kind of traffic is required (%s, %s)", Cargo, Civilians)
		}
		return nil
	}
	if len(t) > len(TrafficKinds) {
		return invalid(field, "more than %d kinds", len(TrafficKinds))
	}
	for i, k := range t {
		f := fmt.Sprintf("%s[%d]", field, i)
		if err := checkOneOf(f, k, TrafficKinds); err != nil {
			return err
		}
		if slices.Index(t, k) != i {
			return invalid(f, "%q appears twice", k)
		}
	}
	return nil
}

func checkIDs(field string, ids []string) error {
	if len(ids) > MaxList {
		return invalid(field, "more than %d entries", MaxList)
	}
	for i, id := range ids {
		if err := checkID(fmt.Sprintf("%s[%d]", field, i), id); err != nil {
			return err
		}
	}
	return nil
}

// Validate checks an incident on its own.
func (i *Incident) Validate() error {
	var p problems
	p.add(checkFiles(i.Files))
	p.add(checkID("id", i.ID))
	p.add(checkOneOf("category", i.Category, categoryCodes()))
	p.add(checkPeriod("occurred", i.Occurred, "until", i.Until, true))
	p.add(checkDate("reported", i.Reported, true))
	if i.Reported < i.Occurred {
		p.add(invalid("reported", "is before the incident occurred (%s < %s)", i.Reported, i.Occurred))
	}
	if i.Until != "" && i.Until > i.Reported {
		p.add(invalid("until", "a report attests days up to the day it was made, not after (%s > reported %s)", i.Until, i.Reported))
	}
	if i.Route == "" && i.Checkpoint == "" && i.Place == "" {
		p.add(invalid("place", "an incident needs a place, a route or a checkpoint"))
	}
	for _, f := range []struct{ name, v string }{{"route", i.Route}, {"checkpoint", i.Checkpoint}, {"place", i.Place}, {"perpetrator", i.Perpetrator}} {
		if f.v != "" {
			p.add(checkID(f.name, f.v))
		}
	}
	p.add(checkText("affected_organisation", i.Affected, MaxShortText, false))
	if i.People < 0 || i.People > MaxPeople {
		p.add(invalid("people_affected", "must be between 0 and %d", MaxPeople))
	}
	if i.PeopleEstimated && i.People == 0 {
		p.add(invalid("people_estimated", "is set but people_affected is not"))
	}
	if len(i.AidDenied) > len(Sectors) {
		p.add(invalid("aid_denied", "more than %d sectors", len(Sectors)))
	}
	for j, s := range i.AidDenied {
		p.add(checkOneOf(fmt.Sprintf("aid_denied[%d]", j), s, Sectors))
	}
	p.add(checkTraffic("traffic", i.Traffic, false))
	if len(i.Traffic) > 0 && i.Route == "" && i.Checkpoint == "" {
		p.add(invalid("traffic", "traffic stopped needs the route or checkpoint where it was stopped"))
	}
	p.add(checkText("description", i.Description, MaxText, true))
	p.add(checkText("source", i.Source, MaxShortText, false))
	p.add(checkURL("source_url", i.SourceURL))
	p.add(checkOneOf("verification", i.Verification, VerificationStatuses))
	return p.err()
}

// IncidentVerification changes an incident's verification status.
type IncidentVerification struct {
	Incident     string `json:"incident"`
	Verification string `json:"verification"`
	Note         string `json:"note,omitempty"`
}

// Validate checks a verification on its own.
func (v *IncidentVerification) Validate() error {
	var p problems
	p.add(checkID("incident", v.Incident))
	p.add(checkOneOf("verification", v.Verification, VerificationStatuses))
	p.add(checkText("note", v.Note, MaxText, false))
	return p.err()
}

// Kinds of typed assertion a claim can carry.
const (
	AssertOpen      = "route-open"    // route R is open to traffic T during P
	AssertBlocked   = "route-blocked" // route R is blocked to traffic T during P
	AssertDelivered = "delivered"     // N tonnes were delivered to settlement S during P
	// AssertCoverageBelow: what was delivered to settlement S during P
	// covered less than X % of its people's need (at 2,100 kcal a day).
	AssertCoverageBelow = "coverage-below"
	// AssertTonnesPerDay: N tonnes a day, on average, were delivered to
	// settlement S during P.
	AssertTonnesPerDay = "tonnes-per-day"
	// AssertTrucksPerDay: N vehicles a day, on average, delivered to
	// settlement S during P.
	AssertTrucksPerDay = "trucks-per-day"
)

// AssertionKinds lists the typed assertions corridor can judge.
var AssertionKinds = []string{AssertOpen, AssertBlocked, AssertDelivered, AssertTonnesPerDay, AssertTrucksPerDay, AssertCoverageBelow}

// Period is a span of days, both ends included.
type Period struct {
	From Date `json:"from"`
	To   Date `json:"to"`
}

// Assertion is the checkable content of a claim. Its period is the claim's.
type Assertion struct {
	Kind    string  `json:"kind"`
	Route   string  `json:"route,omitempty"`
	Traffic string  `json:"traffic,omitempty"`
	Place   string  `json:"place,omitempty"`
	Tonnes  float64 `json:"tonnes,omitempty"`
	Percent float64 `json:"percent,omitempty"` // of need, for coverage-below
	Trucks  float64 `json:"trucks,omitempty"`  // vehicles a day, for trucks-per-day
}

// assertionFields lists the fields each kind of assertion takes.
var assertionFields = map[string][]string{
	AssertOpen: {"route", "traffic"}, AssertBlocked: {"route", "traffic"},
	AssertDelivered: {"place", "tonnes"}, AssertTonnesPerDay: {"place", "tonnes"},
	AssertTrucksPerDay: {"place", "trucks"}, AssertCoverageBelow: {"place", "percent"},
}

// checkFields checks that an assertion gives the fields of its kind, each
// valid, and no other.
func (a *Assertion) checkFields() error {
	takes := assertionFields[a.Kind]
	given := map[string]bool{"route": a.Route != "", "traffic": a.Traffic != "", "place": a.Place != "",
		"tonnes": a.Tonnes != 0, "percent": a.Percent != 0, "trucks": a.Trucks != 0}
	for _, f := range []string{"route", "traffic", "place", "tonnes", "percent", "trucks"} {
		if given[f] && !slices.Contains(takes, f) {
			return invalid("assertion", "%s takes %s, not %s", a.Kind, strings.Join(takes, " and "), f)
		}
	}
	for _, f := range takes {
		var err error
		switch f {
		case "route":
			err = checkID("assertion.route", a.Route)
		case "traffic":
			err = checkOneOf("assertion.traffic", a.Traffic, TrafficKinds)
		case "place":
			err = checkID("assertion.place", a.Place)
		case "tonnes":
			if err = checkQuantity("assertion.tonnes", a.Tonnes, true); err == nil && a.Tonnes > 1e7 {
				err = invalid("assertion.tonnes", "is absurdly large (over 10,000,000 t)")
			}
		case "percent":
			if math.IsNaN(a.Percent) || a.Percent <= 0 || a.Percent > 100 {
				err = invalid("assertion.percent", "must be more than 0 and at most 100 (per cent of need)")
			}
		case "trucks":
			if math.IsNaN(a.Trucks) || a.Trucks <= 0 || a.Trucks > 1e5 {
				err = invalid("assertion.trucks", "must be more than 0 and at most 100,000 vehicles a day")
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Claim is a public claim:// Claim is a public claim: who said what, when, where it was published,
// what it is about and, where it can be checked, a typed assertion. It
// either refers to a recorded statement (which gives speaker, date and
// quote) or carries them itself.
type Claim struct {
	ID              string     `json:"id"`
	Statement       string     `json:"statement,omitempty"`
	Speaker         string     `json:"speaker,omitempty"`
	SpeakerParty    string     `json:"speaker_party,omitempty"`
	Affiliation     string     `json:"affiliation,omitempty"`
	SaidOn          Date       `json:"said_on,omitempty"`
	Medium          string     `json:"medium,omitempty"`
	URL             string     `json:"url,omitempty"`
	Quote           string     `json:"quote,omitempty"`
	Reported        string     `json:"reported,omitempty"` // reported speech (see Statement)
	Lang            string     `json:"lang,omitempty"`
	Translation     string     `json:"translation,omitempty"`
	TranslationLang string     `json:"translation_lang,omitempty"`
	AboutRoutes     []string   `json:"about_routes,omitempty"`
	AboutPlaces     []string   `json:"about_places,omitempty"`
	AboutConvoys    []string   `json:"about_convoys,omitempty"`
	Period          *Period    `json:"period,omitempty"`
	Assertion       *Assertion `json:"assertion,omitempty"`
	// Note says, for instance, how the recorder reads the words as a typed
	// assertion: the assertion is the recorder's reading, the quote the
	// speaker's words.
	Note string `json:"note,omitempty"`

	// Links are the records linked to the claim so far (state only).
	Links []ClaimLink `json:"-"`
}

// Validate checks a claim on its own.
func (c *Claim) Validate() error {
	var p problems
	p.add(checkID("id", c.ID))
	if c.Statement != "" {
		p.add(checkID("statement", c.Statement))
		for _, f := range []struct{ name, v string }{{"speaker", c.Speaker}, {"speaker_party", c.SpeakerParty}, {"said_on", string(c.SaidOn)}, {"quote", c.Quote}, {"reported", c.Reported}, {"lang", c.Lang}} {
			if f.v != "" {
				p.add(invalid(f.name, "comes from statement %q; leave it out", c.Statement))
			}
		}
	} else {
		p.add(checkText("speaker", c.Speaker, MaxShortText, true))
		if c.SpeakerParty != "" {
			p.add(checkID("speaker_party", c.SpeakerParty))
		}
		p.add(checkDate("said_on", c.SaidOn, true))
		p.add(checkWords(c.Quote, c.Reported))
		if !langPattern.MatchString(c.Lang) {
			p.add(invalid("lang", "must be a language tag such as en, fr, hy, az, ru"))
		}
	}
	p.add(checkText("affiliation", c.Affiliation, MaxShortText, false))
	p.add(checkText("medium", c.Medium, MaxShortText, false))
	p.add(checkURL("url", c.URL))
	p.add(checkText("translation", c.Translation, MaxText, false))
	if c.Translation != "" && !langPattern.MatchString(c.TranslationLang) {
		p.add(invalid("translation_lang", "a translation needs its language tag"))
	}
	p.add(checkIDs("about_routes", c.AboutRoutes))
	p.add(checkIDs("about_places", c.AboutPlaces))
	p.add(checkIDs("about_convoys", c.AboutConvoys))
	p.add(checkText("note", c.Note, MaxText, false))
	if c.Period != nil {
		p.add(checkPeriod("period.from", c.Period.From, "period.to", c.Period.To, true))
		if c.Period.To == "" {
			p.add(invalid("period.to", "is required (YYYY-MM-DD)"))
		}
	}
	if a := c.Assertion; a != nil {
		if c.Period == nil {
			p.add(invalid("period", "a typed assertion needs the period it is about"))
		}
		if p.add(checkOneOf("assertion.kind", a.Kind, AssertionKinds)) {
			p.add(a.checkFields())
		}
	}
	return p.err()
}

// Relations of a record linked to a claim.
const (
	Supports    = "supports"
	Contradicts = "contradicts"
	// Context: the record bears on the claim without supporting or
	// contradicting it (what was going on, who else said what).
	Context = "context"
)

// Relations lists the relations a linked record can have to a claim.
var Relations = []string{Supports, Contradicts, Context}

// ClaimLink links a record to a claim as supporting or contradicting evidence.
type ClaimLink struct {
	Claim    string `json:"claim"`
	Record   string `json:"record"` // record id
	Relation string `json:"relation"`
	Note     string `json:"note,omitempty"`
}

// Validate checks a link on its own.
func (l *ClaimLink) Validate() error {
	var p problems
	p.add(checkID("claim", l.Claim))
	p.add(checkID("record", l.Record))
	p.add(checkOneOf("relation", l.Relation, Relations))
	p.add(checkText("note", l.Note, MaxText, false))
	return p.err()
}

// RouteClosure is an authority's record that a route is closed to some
// traffic from a day, until a day or until it records the route opened.
type RouteClosure struct {
	Route          string   `json:"route"`
	Checkpoint     string   `json:"checkpoint,omitempty"`
	Traffic        []string `json:"traffic"`
	From           Date     `json:"from"`
	To             Date     `json:"to,omitempty"`
	ReasonCategory string   `json:"reason_category"`
	Reason         string   `json:"reason,omitempty"`
}

// Validate checks a closure on its own.
func (c *RouteClosure) Validate() error {
	var p problems
	p.add(checkID("route", c.Route))
	if c.Checkpoint != "" {
		p.add(checkID("checkpoint", c.Checkpoint))
	}
	p.add(checkTraffic("traffic", c.Traffic, true))
	p.add(checkPeriod("from", c.From, "to", c.To, true))
	p.add(checkOneOf("reason_category", c.ReasonCategory, ReasonCategories))
	p.add(checkText("reason", c.Reason, MaxText, false))
	return p.err()
}

// RouteOpening is an authority's record that a route is open again to some
// traffic from a day: it ends that authority's open-ended closures.
type RouteOpening struct {
	Route   string   `json:"route"`
	Traffic []string `json:"traffic"`
	From    Date     `json:"from"`
	Note    string   `json:"note,omitempty"`
}

// Validate checks an opening on its own.
func (o *RouteOpening) Validate() error {
	var p problems
	p.add(checkID("route", o.Route))
	p.add(checkTraffic("traffic", o.Traffic, true))
	p.add(checkDate("from", o.From, true))
	p.add(checkText("note", o.Note, MaxText, false))
	return p.err()
}

// PassageObservation records that traffic was seen passing along a route
// (at a checkpoint, if given) on every day of a period: the evidence that
// a route was open to civilians, for which no convoy speaks. A monitor
// records what it observed; an authority what passed its own checkpoint.
type PassageObservation struct {
	Route      string   `json:"route"`
	Checkpoint string   `json:"checkpoint,omitempty"`
	Traffic    []string `json:"traffic"`
	From       Date     `json:"from"`
	To         Date     `json:"to,omitempty"` // default: the same day
	Count      int      `json:"count,omitempty"`
	Unit       string   `json:"unit,omitempty"` // what was counted: vehicles, persons
	Source     string   `json:"source,omitempty"`
	Note       string   `json:"note,omitempty"`
}

// MaxObservedDays bounds one observation's period: a passage is seen, not
// presumed for months.
const MaxObservedDays = 31

// LastDay is the observation's last day.
func (o *PassageObservation) LastDay() Date {
	if o.To != "" {
		return o.To
	}
	return o.From
}

// Validate checks an observation on its own.
func (o *PassageObservation) Validate() error {
	var p problems
	p.add(checkID("route", o.Route))
	if o.Checkpoint != "" {
		p.add(checkID("checkpoint", o.Checkpoint))
	}
	p.add(checkTraffic("traffic", o.Traffic, true))
	p.add(checkPeriod("from", o.From, "to", o.To, true))
	if n := DaysBetween(o.From, o.LastDay()); n > MaxObservedDays {
		p.add(invalid("to", "an observation covers at most %d days, not %d: record each period observed", MaxObservedDays, n))
	}
	if o.Count < 0 || o.Count > MaxPeople {
		p.add(invalid("count", "must be between 0 and %d", MaxPeople))
	}
	if o.Count > 0 {
		p.add(checkOneOf("unit", o.Unit, []string{"vehicles", "persons"}))
	} else if o.Unit != "" {
		p.add(invalid("unit", "a unit needs a count"))
	}
	p.add(checkText("source", o.Source, MaxShortText, false))
	p.add(checkText("note", o.Note, MaxText, false))
	return p.err()
}

// Area says which places' deliveries serve the population of a settlement
// or region (its catchment), for needs and coverage. A later record for
// the same place replaces the earlier one.
type Area struct {
	Place  string   `json:"place"`
	Places []string `json:"places"`
	Note   string   `json:"note,omitempty"`
}

// Validate checks an area on its own.
func (a *Area) Validate() error {
	if err := checkID("place", a.Place); err != nil {
		return err
	}
	if len(a.Places) == 0 {
		return invalid("places", "at least one place is required")
	}
	if err := checkIDs("places", a.Places); err != nil {
		return err
	}
	for i, p := range a.Places {
		if slices.Index(a.Places, p) != i {
			return invalid(fmt.Sprintf("places[%d]", i), "place %q appears twice", p)
		}
	}
	return checkText("note", a.Note, MaxText, false)
}

// ---- rules against the current state ----

func (st *State) knownPlace(field, id string) error {
	if _, ok := st.Places[id]; !ok {
		return invalid(field, "unknown place %q", id)
	}
	return nil
}

func (st *State) knownRoute(field, id string) error {
	if _, ok := st.Routes[id]; !ok {
		return invalid(field, "unknown route %q", id)
	}
	return nil
}

func (st *State) knownParty(field, id string) error {
	if _, ok := st.Parties[id]; !ok {
		return invalid(field, "unknown party %q", id)
	}
	return nil
}

func applyIncident(st *State, by *Party, pl Payload, m Meta) error {
	i := pl.(*Incident)
	if _, ok := st.Incidents[i.ID]; ok {
		return conflict("id", "incident %q is already reported", i.ID)
	}
	if i.Route != "" {
		if err := st.knownRoute("route", i.Route); err != nil {
			return err
		}
	}
	if i.Checkpoint != "" {
		c, ok := st.Checkpoints[i.Checkpoint]
		if !ok {
			return invalid("checkpoint", "unknown checkpoint %q", i.Checkpoint)
		}
		if i.Route != "" && !st.Routes[i.Route].Passes(c.Place) {
			return invalid("checkpoint", "checkpoint %q is at %q, which route %q does not pass through", c.ID, c.Place, i.Route)
		}
	}
	if i.Place != "" {
		if err := st.knownPlace("place", i.Place); err != nil {
			return err
		}
	}
	if i.Perpetrator != "" {
		if err := st.knownParty("perpetrator", i.Perpetrator); err != nil {
			return err
		}
	}
	setKey(st, st.Incidents, i.ID, i)
	return nil
}

func applyIncidentVerify(st *State, by *Party, pl Payload, m Meta) error {
	v := pl.(*IncidentVerification)
	old, ok := st.Incidents[v.Incident]
	if !ok {
		return invalid("incident", "unknown incident %q", v.Incident)
	}
	n := *old
	n.Verification = v.Verification
	setKey(st, st.Incidents, n.ID, &n)
	return nil
}

func applyClaim(st *State, by *Party, pl Payload, m Meta) error {
	c := pl.(*Claim)
	if _, ok := st.Claims[c.ID]; ok {
		return conflict("id", "claim %q is already recorded", c.ID)
	}
	if c.Statement != "" {
		if _, ok := st.Statements[c.Statement]; !ok {
			return invalid("statement", "unknown statement %q", c.Statement)
		}
	}
	if c.SpeakerParty != "" {
		if err := st.knownParty("speaker_party", c.SpeakerParty); err != nil {
			return err
		}
	}
	for i, r := range c.AboutRoutes {
		if err := st.knownRoute(fmt.Sprintf("about_routes[%d]", i), r); err != nil {
			return err
		}
	}
	for i, p := range c.AboutPlaces {
		if err := st.knownPlace(fmt.Sprintf("about_places[%d]", i), p); err != nil {
			return err
		}
	}
	for i, id := range c.AboutConvoys {
		if _, ok := st.Convoys[id]; !ok {
			return invalid(fmt.Sprintf("about_convoys[%d]", i), "unknown convoy %q", id)
		}
	}
	if a := c.Assertion; a != nil {
		switch a.Kind {
		case AssertOpen, AssertBlocked:
			if err := st.knownRoute("assertion.route", a.Route); err != nil {
				return err
			}
		case AssertDelivered, AssertCoverageBelow:
			p, ok := st.Places[a.Place]
			if !ok {
				return invalid("assertion.place", "unknown place %q", a.Place)
			}
			if !p.IsSettlement() {
				return invalid("assertion.place", "place %q is a %s, not a settlement", a.Place, p.Kind)
			}
			if a.Kind == AssertCoverageBelow && p.Population <= 0 {
				return invalid("assertion.place", "place %q has no population to measure a need against", a.Place)
			}
		}
	}
	n := *c
	n.Links = nil
	setKey(st, st.Claims, c.ID, &n)
	return nil
}

func applyClaimLink(st *State, by *Party, pl Payload, m Meta) error {
	l := pl.(*ClaimLink)
	c, ok := st.Claims[l.Claim]
	if !ok {
		return invalid("claim", "unknown claim %q", l.Claim)
	}
	if _, ok := st.Records[l.Record]; !ok {
		return invalid("record", "no record with id %q in the log", l.Record)
	}
	for _, x := range c.Links {
		if x.Record == l.Record {
			return conflict("record", "record %q is already linked to claim %q as %s", l.Record, l.Claim, x.Relation)
		}
	}
	n := *c
	n.Links = append(slices.Clone(c.Links), *l)
	setKey(st, st.Claims, n.ID, &n)
	return nil
}

// routeAuthority checks that by runs a checkpoint on the route (and, when
// given, that the checkpoint is one of them).
// onRoute checks that route is known and that checkpoint, if given, is on
// it, and returns the checkpoint (nil if none was given).
func (st *State) onRoute(route, checkpoint string) (*Checkpoint, error) {
	if err := st.knownRoute("route", route); err != nil {
		return nil, err
	}
	if checkpoint == "" {
		return nil, nil
	}
	c, ok := st.Checkpoints[checkpoint]
	if !ok {
		return nil, invalid("checkpoint", "unknown checkpoint %q", checkpoint)
	}
	if !st.Routes[route].Passes(c.Place) {
		return nil, invalid("checkpoint", "checkpoint %q is at %q, which route %q does not pass through", c.ID, c.Place, route)
	}
	return c, nil
}

func (st *State) routeAuthority(by *Party, route, checkpoint string) error {
	c, err := st.onRoute(route, checkpoint)
	if err != nil {
		return err
	}
	if c != nil && !slices.Contains(c.Operators(), by.ID) {
		return forbidden("checkpoint", "checkpoint %q is run by %s, not by %q", c.ID, strings.Join(c.Operators(), ", "), by.ID)
	}
	if !slices.Contains(st.RouteAuthorities(route), by.ID) {
		return forbidden("route", "party %q runs no checkpoint on route %q", by.ID, route)
	}
	return nil
}

func applyRouteClosure(st *State, by *Party, pl Payload, m Meta) error {
	c := pl.(*RouteClosure)
	return st.routeAuthority(by, c.Route, c.Checkpoint)
}

func applyRouteOpening(st *State, by *Party, pl Payload, m Meta) error {
	o := pl.(*RouteOpening)
	return st.routeAuthority(by, o.Route, "")
}

func applyPassage(st *State, by *Party, pl Payload, m Meta) error {
	o := pl.(*PassageObservation)
	if by.Kind == Authority {
		return st.routeAuthority(by, o.Route, o.Checkpoint)
	}
	_, err := st.onRoute(o.Route, o.Checkpoint)
	return err
}

func applyArea(st *State, by *Party, pl Payload, m Meta) error {
	a := pl.(*Area)
	p, ok := st.Places[a.Place]
	if !ok {
		return invalid("place", "unknown place %q", a.Place)
	}
	if !p.IsSettlement() || p.Population == 0 {
		return invalid("place", "place %q has no population: an area is a settlement or region with one", a.Place)
	}
	for i, id := range a.Places {
		if err := st.knownPlace(fmt.Sprintf("places[%d]", i), id); err != nil {
			return err
		}
	}
	return nil
}
