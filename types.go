package corridor

import (
	"corridor/record"
	"encoding/hex"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits on the sizes of fields. They keep every record well under the
// log's entry limit.
const (
	MaxText      = 4000 // free text: descriptions, quotes, reasons
	MaxShortText = 200  // names, units, items
	MaxNames     = 16
	MaxList      = 200 // route places, vehicles, manifest lines
	MaxQuantity  = 1e9
)

// PartyKind is the role a party plays.
type PartyKind string

const (
	Organisation PartyKind = "organisation"
	Authority    PartyKind = "authority"
	Monitor      PartyKind = "monitor"
	Witness      PartyKind = "witness"
	Operator     PartyKind = "operator"
)

var partyKinds = []PartyKind{Organisation, Authority, Monitor, Witness, Operator}

// Name is one name in use for a place, route or party, in one language.
// A contested place has several; corridor shows them all in the order given.
type Name struct {
	Name string `json:"name"`
	Lang string `json:"lang"`           // BCP 47 tag, e.g. "hy", "az", "ru", "en"
	Note string `json:"note,omitempty"` // who uses it, e.g. "official Azerbaijani name"
}

// Date is a calendar day, "YYYY-MM-DD".
type Date string

// Time parses the date (at midnight UTC).
func (d Date) Time() (time.Time, error) { return time.Parse(time.DateOnly, string(d)) }

// Party is an organisation, authority, monitor, witness or operator with
// the keys that may sign for it.
type Party struct {
	ID    string      `json:"id"`
	Kind  PartyKind   `json:"kind"`
	Names []Name      `json:"names"`
	Keys  []PartyKey  `json:"keys"`
	Note  string      `json:"note,omitempty"`
	Extra *PartyExtra `json:"extra,omitempty"`

	// Lists are the restricted lists an authority published, in the
	// order of their days: kept in the state, never part of a payload.
	Lists []RestrictedList `json:"-"`
}

// PartyExtra holds optional descriptive fields.
type PartyExtra struct {
	Country string `json:"country,omitempty"` // ISO 3166-1 alpha-2
	URL     string `json:"url,omitempty"`
}

// PartyKey is an Ed25519 public key registered for a party. A delegated
// key is one whose private half the party has handed to the server, so
// that records made through the web forms can be signed on its behalf:
// every record signed with it is, by that registration, "signed by the
// server on behalf of" the party.
type PartyKey struct {
	ID        string `json:"id"`
	Public    []byte `json:"public"` // 32 bytes, base64 in JSON
	Delegated bool   `json:"delegated,omitempty"`
}

// Place is a point in the gazetteer.
type Place struct {
	ID         string  `json:"id"`
	Kind       string  `json:"kind"`
	Names      []Name  `json:"names"`
	Lat        float64 `json:"lat"`
	Lon        float64 `json:"lon"`
	Population int64   `json:"population,omitempty"` // settlements only
	PopSource  string  `json:"population_source,omitempty"`
	Source     string  `json:"source,omitempty"` // where the coordinates come from
	// Zone is the IANA time zone of the clocks at the place (such as
	// "Asia/Gaza", or "Etc/GMT-4" for a fixed UTC+4 where naming a city's
	// zone would take a side): forms made for the place start in its time.
	Zone string `json:"zone,omitempty"`
}

// PlaceKinds lists the kinds of place.
var PlaceKinds = []string{"city", "town", "village", "settlement", "border-crossing", "bridge", "junction", "checkpoint-site", "region"}

// IsSettlement reports whether people live there (a need can be computed):
// a settlement, or a region standing for the population of an area.
func (p *Place) IsSettlement() bool {
	switch p.Kind {
	case "city", "town", "village", "settlement", "region":
		return true
	}
	return false
}

// Route is an ordered list of places along a road.
type Route struct {
	ID     string   `json:"id"`
	Names  []Name   `json:"names"`
	Places []string `json:"places"`
	// ClearanceBy are authorities whose clearance every convoy on the
	// route needs besides those running its checkpoints (a coordination
	// office, a deconfliction cell); Notify are only told of each convoy
	// and acknowledge it: an acknowledgement is never an approval.
	ClearanceBy []string `json:"clearance_by,omitempty"`
	Notify      []string `json:"notify,omitempty"`
	Note        string   `json:"note,omitempty"`
}

// Checkpoint is a physical checkpoint at a place, run by an authority. It
// serves every way through its place; Route, when given, is the route it
// was registered on, which must pass there.
type Checkpoint struct {
	ID    string `json:"id"`
	Names []Name `json:"names"`
	Route string `json:"route,omitempty"`
	Place string `json:"place"`
	// Site is where convoys stopped here are inspected when that is off
	// the road (an inspection site): they leave their way at Place, are
	// inspected at Site and come back to Place. The way never passes Site.
	Site      string `json:"site,omitempty"`
	Authority string `json:"authority"`
	From      Date   `json:"from,omitempty"`
	To        Date   `json:"to,omitempty"`

	// Changes are the checkpoint.change records applied to it, in the
	// order of their days: kept in the state, never part of a payload.
	Changes []CheckpointChange `json:"-"`
	// Recorded is the last day something was recorded at it: an event
	// there, or its operator's answer to a convoy planned through it on
	// that day. A change must start after it, so that no change rewrites
	// who acted on a day already on record. Kept in the state only.
	Recorded Date `json:"-"`
}

// CheckpointChange changes, from a day on, who operates a checkpoint, or
// closes it until a later change names an operator again. It never
// rewrites what happened before that day.
type CheckpointChange struct {
	Checkpoint string `json:"checkpoint"`
	From       Date   `json:"from"`
	Authority  string `json:"authority,omitempty"`
	Closed     bool   `json:"closed,omitempty"`
	Note       string `json:"note,omitempty"`
}

// Validate checks a checkpoint change on its own.
func (c *CheckpointChange) Validate() error {
	if err := checkID("checkpoint", c.Checkpoint); err != nil {
		return err
	}
	if err := checkDate("from", c.From, true); err != nil {
		return err
	}
	switch {
	case c.Closed && c.Authority != "":
		return invalid("authority", "a change that closes the checkpoint names no operator")
	case !c.Closed:
		if err := checkID("authority", c.Authority); err != nil {
			return err
		}
	}
	return checkText("note", c.Note, MaxText, false)
}

// OperatorOn says who operates the checkpoint on day: the authority of its
// registration, or of the latest change from that day or before; "" when
// it is closed then or outside its registered period.
func (c *Checkpoint) OperatorOn(day Date) string {
	if (c.From != "" && day < c.From) || (c.To != "" && day > c.To) {
		return ""
	}
	op := c.Authority
	for _, ch := range c.Changes {
		if ch.From > day {
			break
		}
		op = ch.Authority // "" when closed
	}
	return op
}

// Latest is who operates the checkpoint after its last change: "" when
// that change closes it.
func (c *Checkpoint) Latest() string {
	if n := len(c.Changes); n > 0 {
		return c.Changes[n-1].Authority
	}
	return c.Authority
}

// Operators lists everyone who operates or operated the checkpoint, in
// the order they took over, without repeats.
func (c *Checkpoint) Operators() []string {
	out := []string{c.Authority}
	for _, ch := range c.Changes {
		if ch.Authority != "" && !slices.Contains(out, ch.Authority) {
			out = append(out, ch.Authority)
		}
	}
	return out
}

// Convoy is a movement of aid filed by an organisation.
type Convoy struct {
	ID           string `json:"id"`
	Organisation string `json:"organisation"`
	Route        string `json:"route"`
	Origin       string `json:"origin"`
	Destination  string `json:"destination"`
	// Mode is how the aid goes: by road (the default), on foot across a
	// crossing, by air drop or by sea. Only road and foot follow a route
	// and meet checkpoints.
	Mode string `json:"mode,omitempty"`
	// Way is the places the convoy passes through, from its origin to its
	// destination, when it leaves its route: each step a segment of some
	// registered route. Without it the convoy keeps to its route.
	Way      []string  `json:"way,omitempty"`
	Planned  Date      `json:"planned"`
	AnswerBy Date      `json:"answer_by,omitempty"` // deadline for clearance answers; default the planned date
	Vehicles []Vehicle `json:"vehicles"`
	Manifest []Line    `json:"manifest"`
	Note     string    `json:"note,omitempty"`
}

// Vehicle is one lorry or car. Personal fields are salted commitments
// (see record.Commitment); their values never enter the log.
type Vehicle struct {
	Kind   string `json:"kind"` // lorry, van, car, tanker...
	Plate  string `json:"plate,omitempty"`
	Driver string `json:"driver,omitempty"`
	Phone  string `json:"phone,omitempty"`
}

// Line is one line of a manifest.
type Line struct {
	Item     string  `json:"item"`
	Sector   string  `json:"sector"` // food, health, shelter, wash, energy, nfi, logistics
	Quantity float64 `json:"quantity"`
	Unit     string  `json:"unit"`
	Kg       float64 `json:"kg"`
}

// Sectors lists the humanitarian sectors a manifest line can belong to.
var Sectors = []string{"food", "nutrition", "health", "shelter", "wash", "energy", "education", "protection", "nfi", "logistics", "other"}

// Statement is a public statement or diplomatic act, recorded as said.
type Statement struct {
	ID           string `json:"id"`
	Kind         string `json:"kind"` // statement, request, diplomatic-note, summons
	Speaker      string `json:"speaker"`
	SpeakerParty string `json:"speaker_party,omitempty"`
	Affiliation  string `json:"affiliation,omitempty"`
	SaidOn       Date   `json:"said_on"`
	Medium       string `json:"medium,omitempty"`
	URL          string `json:"url,omitempty"`
	Quote        string `json:"quote,omitempty"`
	// Reported is reported speech: what the speaker said, in the words of
	// the source that reports it ("the ministry said the road was open"),
	// beside or instead of an exact quote.
	Reported        string       `json:"reported,omitempty"`
	Lang            string       `json:"lang"`
	Translation     string       `json:"translation,omitempty"`
	TranslationLang string       `json:"translation_lang,omitempty"`
	AboutRoutes     []string     `json:"about_routes,omitempty"`
	AboutPlaces     []string     `json:"about_places,omitempty"`
	Files           []Attachment `json:"files,omitempty"` // evidence files (see Attachment)
}

// StatementKinds lists the kinds of statement.
var StatementKinds = []string{"statement", "request", "diplomatic-note", "summons"}

// ---- validation helpers (stateless) ----

// checkWords checks what a speaker said: an exact quote, reported speech,
// or both; one of them is required.
func checkWords(quote, reported string) error {
	if quote == "" && reported == "" {
		return invalid("quote", "is required, or reported (reported speech) when the source gives no exact words")
	}
	if err := checkText("quote", quote, MaxText, false); err != nil {
		return err
	}
	return checkText("reported", reported, MaxText, false)
}

var langPattern = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$`)

func checkText(field, s string, max int, required bool) error {
	if s == "" {
		if required {
			return invalid(field, "is required")
		}
		return nil
	}
	if !utf8.ValidString(s) {
		return invalid(field, "is not valid UTF-8")
	}
	if utf8.RuneCountInString(s) > max {
		return invalid(field, "longer than %d characters", max)
	}
	if strings.TrimSpace(s) == "" {
		return invalid(field, "is blank")
	}
	if i := strings.IndexFunc(s, forbiddenInText); i >= 0 {
		r, _ := utf8.DecodeRuneInString(s[i:])
		return invalid(field, "holds the control character U+%04X at byte %d: text may hold line breaks and tabs, and right-to-left marks and isolates, but no other control or bidi-override character", r, i)
	}
	return nil
}

// forbiddenInText: C0 and C1 controls but tab, line feed and carriage
// return, and the bidi embeddings and overrides (U+202A–U+202E), which
// can make text read other than it is stored. Marks (U+200E, U+200F)
// and isolates (U+2066–U+2069), which right-to-left text needs, pass.
func forbiddenInText(r rune) bool {
	switch {
	case r == '\t' || r == '\n' || r == '\r':
		return false
	case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f):
		return true
	case r >= 0x202a && r <= 0x202e:
		return true
	}
	return false
}

func checkID(field, s string) error {
	if err := record.CheckID(field, s); err != nil {
		return AsError(err, "")
	}
	return nil
}

func checkOneOf(field, s string, allowed []string) error {
	for _, a := range allowed {
		if s == a {
			return nil
		}
	}
	if s == "" {
		return invalid(field, "is required (one of %s)", strings.Join(allowed, ", "))
	}
	return invalid(field, "%q is not one of %s", s, strings.Join(allowed, ", "))
}

func checkNames(field string, names []Name) error {
	if len(names) == 0 {
		return invalid(field, "at least one name is required")
	}
	if len(names) > MaxNames {
		return invalid(field, "more than %d names", MaxNames)
	}
	for i, n := range names {
		f := fmt.Sprintf("%s[%d]", field, i)
		if err := checkText(f+".name", n.Name, MaxShortText, true); err != nil {
			return err
		}
		if !langPattern.MatchString(n.Lang) {
			return invalid(f+".lang", "must be a language tag such as en, hy, az, ru, fr")
		}
		if err := checkText(f+".note", n.Note, MaxShortText, false); err != nil {
			return err
		}
	}
	return nil
}

func checkDate(field string, d Date, required bool) error {
	if d == "" {
		if required {
			return invalid(field, "is required (YYYY-MM-DD)")
		}
		return nil
	}
	t, err := d.Time()
	if err != nil {
		return invalid(field, "must be a date YYYY-MM-DD")
	}
	if t.Year() < 1990 || t.Year() > 2100 {
		return invalid(field, "year %d is out of range 1990–2100", t.Year())
	}
	return nil
}

func checkURL(field, s string) error {
	if s == "" {
		return nil
	}
	if len(s) > 2000 || !(strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://")) {
		return invalid(field, "must be an http(s) URL of at most 2000 characters")
	}
	return nil
}

func checkCommitment(field, s string) error {
	if s == "" {
		return nil
	}
	if b, err := hex.DecodeString(s); err != nil || len(b) != 32 {
		return invalid(field, "must be a salted commitment (64 hex characters), never the value itself")
	}
	return nil
}

func checkQuantity(field string, q float64, allowZero bool) error {
	if math.IsNaN(q) || math.IsInf(q, 0) {
		return invalid(field, "is not a number")
	}
	if q < 0 || (!allowZero && q == 0) {
		return invalid(field, "must be greater than zero")
	}
	if q > MaxQuantity {
		return invalid(field, "is absurdly large (over %g)", float64(MaxQuantity))
	}
	return nil
}

// Validate checks a party on its own.
func (p *Party) Validate() error {
	if err := checkID("id", p.ID); err != nil {
		return err
	}
	kinds := make([]string, len(partyKinds))
	for i, k := range partyKinds {
		kinds[i] = string(k)
	}
	if err := checkOneOf("kind", string(p.Kind), kinds); err != nil {
		return err
	}
	if err := checkNames("names", p.Names); err != nil {
		return err
	}
	if len(p.Keys) == 0 {
		return invalid("keys", "at least one key is required")
	}
	if len(p.Keys) > 16 {
		return invalid("keys", "more than 16 keys")
	}
	for i, k := range p.Keys {
		f := fmt.Sprintf("keys[%d]", i)
		if len(k.Public) != 32 {
			return invalid(f+".public", "must be a 32-byte Ed25519 public key (base64)")
		}
		if k.ID != record.KeyID(k.Public) {
			return invalid(f+".id", "must be %s, the key id of this public key", record.KeyID(k.Public))
		}
	}
	if p.Extra != nil {
		if err := checkURL("extra.url", p.Extra.URL); err != nil {
			return err
		}
	}
	return checkText("note", p.Note, MaxText, false)
}

// Validate checks a place on its own.
func (p *Place) Validate() error {
	if err := checkID("id", p.ID); err != nil {
		return err
	}
	if err := checkOneOf("kind", p.Kind, PlaceKinds); err != nil {
		return err
	}
	if err := checkNames("names", p.Names); err != nil {
		return err
	}
	if math.IsNaN(p.Lat) || p.Lat < -90 || p.Lat > 90 {
		return invalid("lat", "must be between -90 and 90")
	}
	if math.IsNaN(p.Lon) || p.Lon < -180 || p.Lon > 180 {
		return invalid("lon", "must be between -180 and 180")
	}
	if p.Population < 0 || p.Population > 50_000_000 {
		return invalid("population", "must be between 0 and 50,000,000")
	}
	if p.Population > 0 && !p.IsSettlement() {
		return invalid("population", "only settlements have a population")
	}
	if err := checkText("population_source", p.PopSource, MaxShortText, false); err != nil {
		return err
	}
	if err := checkZone("zone", p.Zone); err != nil {
		return err
	}
	return checkText("source", p.Source, MaxShortText, false)
}

// zoneName is the shape of an IANA time zone name.
var zoneName = regexp.MustCompile(`^(UTC|[A-Z][A-Za-z_]+(/[A-Za-z0-9_+-]+){1,2})$`)

// checkZone accepts "" or an IANA time zone name that Go's zone database
// (embedded in the binary, so every machine knows the same ones) holds.
func checkZone(field, z string) error {
	if z == "" {
		return nil
	}
	if len(z) > 64 || !zoneName.MatchString(z) {
		return invalid(field, "must be an IANA time zone name such as Asia/Gaza or Etc/GMT-4")
	}
	if _, err := time.LoadLocation(z); err != nil {
		return invalid(field, "%q is not a time zone in the zone database", z)
	}
	return nil
}

// Validate checks a route on its own.
func (r *Route) Validate() error {
	if err := checkID("id", r.ID); err != nil {
		return err
	}
	if err := checkNames("names", r.Names); err != nil {
		return err
	}
	if len(r.Places) < 2 {
		return invalid("places", "a route joins at least two places")
	}
	if len(r.Places) > MaxList {
		return invalid("places", "more than %d places", MaxList)
	}
	seen := map[string]bool{}
	for i, p := range r.Places {
		f := fmt.Sprintf("places[%d]", i)
		if err := checkID(f, p); err != nil {
			return err
		}
		if seen[p] {
			return invalid(f, "place %q appears twice", p)
		}
		seen[p] = true
	}
	for _, l := range []struct {
		name string
		ids  []string
	}{{"clearance_by", r.ClearanceBy}, {"notify", r.Notify}} {
		if len(l.ids) > MaxList {
			return invalid(l.name, "more than %d authorities", MaxList)
		}
		for i, id := range l.ids {
			f := fmt.Sprintf("%s[%d]", l.name, i)
			if err := checkID(f, id); err != nil {
				return err
			}
			if slices.Index(l.ids, id) != i {
				return invalid(f, "%q appears twice", id)
			}
		}
	}
	for i, id := range r.Notify {
		if slices.Contains(r.ClearanceBy, id) {
			return invalid(fmt.Sprintf("notify[%d]", i), "%q is in clearance_by: an authority that clears convoys is not only notified", id)
		}
	}
	return checkText("note", r.Note, MaxText, false)
}

// Validate checks a checkpoint on its own.
func (c *Checkpoint) Validate() error {
	for _, f := range []struct{ name, v string }{{"id", c.ID}, {"place", c.Place}, {"authority", c.Authority}} {
		if err := checkID(f.name, f.v); err != nil {
			return err
		}
	}
	if c.Route != "" {
		if err := checkID("route", c.Route); err != nil {
			return err
		}
	}
	if c.Site != "" {
		if err := checkID("site", c.Site); err != nil {
			return err
		}
		if c.Site == c.Place {
			return invalid("site", "is the checkpoint's own place; give a site only when inspection happens elsewhere, off the road")
		}
	}
	if err := checkNames("names", c.Names); err != nil {
		return err
	}
	if err := checkDate("from", c.From, false); err != nil {
		return err
	}
	if err := checkDate("to", c.To, false); err != nil {
		return err
	}
	if c.From != "" && c.To != "" && c.To < c.From {
		return invalid("to", "ends before it starts (%s < %s)", c.To, c.From)
	}
	return nil
}

// Transport modes of a convoy.
const (
	ModeRoad    = "road"
	ModeFoot    = "foot"
	ModeAirDrop = "air-drop"
	ModeSea     = "sea"
)

// Modes lists the ways aid goes in.
var Modes = []string{ModeRoad, ModeFoot, ModeAirDrop, ModeSea}

// ModeOf is the convoy's transport mode, road when it names none.
func (c *Convoy) ModeOf() string {
	if c.Mode == "" {
		return ModeRoad
	}
	return c.Mode
}

// OnRoad reports whether the convoy goes by a route through checkpoints
// (by road or on foot), not by air or sea.
func (c *Convoy) OnRoad() bool { m := c.ModeOf(); return m == ModeRoad || m == ModeFoot }

// Validate checks a convoy filing on its own.
func (c *Convoy) Validate() error {
	for _, f := range []struct{ name, v string }{{"id", c.ID}, {"organisation", c.Organisation}, {"origin", c.Origin}, {"destination", c.Destination}} {
		if err := checkID(f.name, f.v); err != nil {
			return err
		}
	}
	if c.Mode != "" {
		if err := checkOneOf("mode", c.Mode, Modes); err != nil {
			return err
		}
	}
	switch {
	case c.OnRoad():
		if err := checkID("route", c.Route); err != nil {
			return err
		}
	case c.Route != "":
		return invalid("route", "a convoy by %s follows no route: leave route out (its origin and destination say where it went)", c.Mode)
	case len(c.Way) > 0:
		return invalid("way", "a convoy by %s has no way through the road network", c.Mode)
	}
	if c.Origin == c.Destination {
		return invalid("destination", "is the same place as the origin")
	}
	if err := c.checkWayShape(); err != nil {
		return err
	}
	if err := checkDate("planned", c.Planned, true); err != nil {
		return err
	}
	if err := checkDate("answer_by", c.AnswerBy, false); err != nil {
		return err
	}
	if c.AnswerBy != "" && c.AnswerBy > c.Planned {
		return invalid("answer_by", "the clearance deadline %s is after the planned date %s", c.AnswerBy, c.Planned)
	}
	if len(c.Vehicles) == 0 {
		return invalid("vehicles", "at least one vehicle is required")
	}
	if len(c.Vehicles) > MaxList {
		return invalid("vehicles", "more than %d vehicles", MaxList)
	}
	for i, v := range c.Vehicles {
		f := fmt.Sprintf("vehicles[%d]", i)
		if err := checkText(f+".kind", v.Kind, MaxShortText, true); err != nil {
			return err
		}
		for _, pf := range []struct{ name, v string }{{"plate", v.Plate}, {"driver", v.Driver}, {"phone", v.Phone}} {
			if err := checkCommitment(f+"."+pf.name, pf.v); err != nil {
				return err
			}
		}
	}
	if err := checkLines("manifest", c.Manifest, false); err != nil {
		return err
	}
	return checkText("note", c.Note, MaxText, false)
}

// checkWayShape checks a convoy's way on its own: from its origin to its
// destination, no place twice.
func (c *Convoy) checkWayShape() error {
	if len(c.Way) == 0 {
		return nil
	}
	if len(c.Way) < 2 {
		return invalid("way", "a way joins at least two places (its origin and its destination)")
	}
	if len(c.Way) > MaxList {
		return invalid("way", "more than %d places", MaxList)
	}
	for i, p := range c.Way {
		f := fmt.Sprintf("way[%d]", i)
		if err := checkID(f, p); err != nil {
			return err
		}
		if slices.Index(c.Way, p) != i {
			return invalid(f, "place %q appears twice: a way does not go round in a loop", p)
		}
	}
	if c.Way[0] != c.Origin {
		return invalid("way[0]", "is %q; a way starts at the convoy's origin %q", c.Way[0], c.Origin)
	}
	if n := len(c.Way) - 1; c.Way[n] != c.Destination {
		return invalid(fmt.Sprintf("way[%d]", n), "is %q; a way ends at the convoy's destination %q", c.Way[n], c.Destination)
	}
	return nil
}

func checkLines(field string, lines []Line, allowZero bool) error {
	if len(lines) == 0 {
		return invalid(field, "at least one line is required")
	}
	if len(lines) > MaxList {
		return invalid(field, "more than %d lines", MaxList)
	}
	for i, l := range lines {
		f := fmt.Sprintf("%s[%d]", field, i)
		if err := checkText(f+".item", l.Item, MaxShortText, true); err != nil {
			return err
		}
		if err := checkOneOf(f+".sector", l.Sector, Sectors); err != nil {
			return err
		}
		if err := checkQuantity(f+".quantity", l.Quantity, allowZero); err != nil {
			return err
		}
		if err := checkText(f+".unit", l.Unit, MaxShortText, true); err != nil {
			return err
		}
		if err := checkQuantity(f+".kg", l.Kg, allowZero); err != nil {
			return err
		}
	}
	return nil
}

// Commitments lists the salted commitments the convoy carries.
func (c *Convoy) Commitments() []string {
	var out []string
	for _, v := range c.Vehicles {
		for _, s := range []string{v.Plate, v.Driver, v.Phone} {
			if s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// Deadline is the day by which authorities should answer the clearance request.
func (c *Convoy) Deadline() Date {
	if c.AnswerBy != "" {
		return c.AnswerBy
	}
	return c.Planned
}

// Kg is the manifest's total weight.
func (c *Convoy) Kg() float64 {
	var t float64
	for _, l := range c.Manifest {
		t += l.Kg
	}
	return t
}

// Validate checks a statement on its own.
func (s *Statement) Validate() error {
	var p problems
	p.add(checkFiles(s.Files))
	p.add(checkID("id", s.ID))
	p.add(checkOneOf("kind", s.Kind, StatementKinds))
	p.add(checkText("speaker", s.Speaker, MaxShortText, true))
	if s.SpeakerParty != "" {
		p.add(checkID("speaker_party", s.SpeakerParty))
	}
	p.add(checkText("affiliation", s.Affiliation, MaxShortText, false))
	p.add(checkDate("said_on", s.SaidOn, true))
	p.add(checkText("medium", s.Medium, MaxShortText, false))
	p.add(checkURL("url", s.URL))
	p.add(checkWords(s.Quote, s.Reported))
	if !langPattern.MatchString(s.Lang) {
		p.add(invalid("lang", "must be a language tag such as en, fr, hy, az, ru"))
	}
	p.add(checkText("translation", s.Translation, MaxText, false))
	if s.Translation != "" && !langPattern.MatchString(s.TranslationLang) {
		p.add(invalid("translation_lang", "a translation needs its language tag"))
	}
	for i, r := range s.AboutRoutes {
		p.add(checkID(fmt.Sprintf("about_routes[%d]", i), r))
	}
	for i, pl := range s.AboutPlaces {
		p.add(checkID(fmt.Sprintf("about_places[%d]", i), pl))
	}
	return p.err()
}
