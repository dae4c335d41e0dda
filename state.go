package corridor

import (
	"bytes"
	"corridor/record"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"time"
)

// Payload is the typed content of a record.
type Payload interface {
	Validate() error
}

// RecordType describes one kind of record: its name and schema version,
// which kinds of party may sign it and how it changes the state.
type RecordType struct {
	Name    string
	Version int
	Signers []PartyKind
	New     func() Payload
	apply   func(st *State, by *Party, p Payload, m Meta) error
}

// Meta is what the state knows of a record besides its payload.
type Meta struct {
	ID    string
	Index uint64
}

// Record type names.
const (
	TypeParty      = "party.register"
	TypePlace      = "place.register"
	TypeRoute      = "route.register"
	TypeCheckpoint = "checkpoint.register"
	TypeCPChange   = "checkpoint.change"
	TypeConvoy     = "convoy.file"
	TypeClearance  = "clearance.answer"
	TypeCheckEvent = "checkpoint.event"
	TypeMove       = "convoy.move"
	TypeStatement  = "statement.record"
	TypeConfirm    = "delivery.confirm"
)

var registry = map[string]*RecordType{}

func register(t *RecordType) { registry[t.Name] = t }

func init() {
	register(&RecordType{Name: TypeParty, Version: 1, Signers: []PartyKind{Operator},
		New: func() Payload { return new(Party) }, apply: applyParty})
	register(&RecordType{Name: TypePlace, Version: 1, Signers: []PartyKind{Operator},
		New: func() Payload { return new(Place) }, apply: applyPlace})
	register(&RecordType{Name: TypeRoute, Version: 1, Signers: []PartyKind{Operator},
		New: func() Payload { return new(Route) }, apply: applyRoute})
	register(&RecordType{Name: TypeCheckpoint, Version: 1, Signers: []PartyKind{Operator},
		New: func() Payload { return new(Checkpoint) }, apply: applyCheckpoint})
	register(&RecordType{Name: TypeCPChange, Version: 1, Signers: []PartyKind{Operator},
		New: func() Payload { return new(CheckpointChange) }, apply: applyCheckpointChange})
	register(&RecordType{Name: TypeConvoy, Version: 1, Signers: []PartyKind{Organisation},
		New: func() Payload { return new(Convoy) }, apply: applyConvoy})
	register(&RecordType{Name: TypeClearance, Version: 1, Signers: []PartyKind{Authority},
		New: func() Payload { return new(ClearanceAnswer) }, apply: applyClearance})
	register(&RecordType{Name: TypeCheckEvent, Version: 1, Signers: []PartyKind{Authority},
		New: func() Payload { return new(CheckpointEvent) }, apply: applyCheckpointEvent})
	register(&RecordType{Name: TypeMove, Version: 1, Signers: []PartyKind{Organisation},
		New: func() Payload { return new(ConvoyMove) }, apply: applyMove})
	register(&RecordType{Name: TypeConfirm, Version: 1, Signers: []PartyKind{Monitor},
		New: func() Payload { return new(DeliveryConfirm) }, apply: applyConfirm})
	register(&RecordType{Name: TypeStatement, Version: 1, Signers: []PartyKind{Monitor, Organisation, Authority, Operator},
		New: func() Payload { return new(Statement) }, apply: applyStatement})
}

// Types lists the registered record types, sorted by name.
func Types() []*RecordType {
	out := make([]*RecordType, 0, len(registry))
	for _, t := range registry {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// LookupType finds a record type by name and version.
func LookupType(name string, version int) (*RecordType, error) {
	t, ok := registry[name]
	if !ok {
		return nil, &Error{Code: CodeUnknownType, Field: "type", Reason: fmt.Sprintf("unknown record type %q", name)}
	}
	if version != t.Version {
		return nil, &Error{Code: CodeUnknownType, Field: "v", Reason: fmt.Sprintf("%s has schema version %d, not %d", name, t.Version, version)}
	}
	return t, nil
}

// Decode parses and validates a record's payload against its type's schema:
// unknown fields are refused, and every field is checked on its own.
func Decode(r *record.Record) (*RecordType, Payload, error) {
	t, err := LookupType(r.Type, r.Version)
	if err != nil {
		return nil, nil, err
	}
	p := t.New()
	dec := json.NewDecoder(bytes.NewReader(r.Payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(p); err != nil {
		return nil, nil, &Error{Code: CodeInvalid, Field: "payload", Reason: err.Error()}
	}
	if dec.More() {
		return nil, nil, &Error{Code: CodeInvalid, Field: "payload", Reason: "data after the payload object"}
	}
	if err := sameAsSchema(r.Payload, p); err != nil {
		return nil, nil, err
	}
	if err := p.Validate(); err != nil {
		return nil, nil, AsError(err, "payload")
	}
	return t, p, nil
}

// sameAsSchema makes sure the payload says exactly what the decoded value
// holds: Go's JSON decoder matches keys without regard to case (and folds
// some Unicode letters), so {"kg":1,"KG":40000} would decode to something
// other than what an auditor reading the exact keys sees. Encoding the
// decoded value again and comparing key by key refuses such payloads. A key
// the encoder leaves out (an omitempty field) must hold a zero value.
func sameAsSchema(payload []byte, p Payload) error {
	again, err := json.Marshal(p)
	if err != nil {
		return &Error{Code: CodeInvalid, Field: "payload", Reason: err.Error()}
	}
	var a, b any
	if err := json.Unmarshal(payload, &a); err != nil {
		return &Error{Code: CodeInvalid, Field: "payload", Reason: err.Error()}
	}
	if err := json.Unmarshal(again, &b); err != nil {
		return &Error{Code: CodeInvalid, Field: "payload", Reason: err.Error()}
	}
	return sameJSON("payload", a, b)
}

func sameJSON(field string, sent, decoded any) error {
	switch x := sent.(type) {
	case map[string]any:
		y, ok := decoded.(map[string]any)
		if !ok {
			return invalid(field, "is not in the schema's form")
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok {
				if !isZeroJSON(v) {
					return invalid(joinField(field, k), "is not a field of this record type (field names are case-sensitive)")
				}
				continue
			}
			if err := sameJSON(joinField(field, k), v, w); err != nil {
				return err
			}
		}
		return nil
	case []any:
		y, ok := decoded.([]any)
		if !ok || len(x) != len(y) {
			return invalid(field, "is not in the schema's form")
		}
		for i := range x {
			if err := sameJSON(fmt.Sprintf("%s[%d]", field, i), x[i], y[i]); err != nil {
				return err
			}
		}
		return nil
	case string:
		if y, ok := decoded.(string); ok && y != x {
			// Times are the one thing the encoder may write differently.
			tx, e1 := time.Parse(time.RFC3339Nano, x)
			ty, e2 := time.Parse(time.RFC3339Nano, y)
			if e1 == nil && e2 == nil && tx.Equal(ty) {
				return nil
			}
			return invalid(field, "does not decode to what it says (%q)", x)
		}
		return nil
	case nil:
		return nil
	default:
		if fmt.Sprint(sent) != fmt.Sprint(decoded) {
			return invalid(field, "does not decode to what it says")
		}
		return nil
	}
}

func isZeroJSON(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case float64:
		return x == 0
	case bool:
		return !x
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}

// Committer is a payload that carries salted commitments to personal data.
type Committer interface {
	Commitments() []string
}

// KeyInfo is a registered signing key.
type KeyInfo struct {
	ID        string
	Party     string
	Public    ed25519.PublicKey
	Delegated bool // held by the server, for records made through the web
}

// RecordRef says where a record id landed in the log.
type RecordRef struct {
	Index uint64
	Hash  string
}

// State is everything the records so far have established. Changes made
// inside Begin/Rollback can be undone, so a batch of records is applied all
// or nothing.
type State struct {
	Records     map[string]RecordRef
	Keys        map[string]*KeyInfo
	Parties     map[string]*Party
	Places      map[string]*Place
	Routes      map[string]*Route
	Checkpoints map[string]*Checkpoint
	Convoys     map[string]*ConvoyState
	Statements  map[string]*Statement
	Incidents   map[string]*Incident
	Claims      map[string]*Claim
	// Named holds, for each record that names parties besides its
	// signer, those parties: who may reply to it (reply.record).
	Named map[string][]string
	Size  uint64 // records applied (the next log index)

	undo []func()
	inTx bool
}

// NewState returns the empty state.
func NewState() *State {
	return &State{
		Records:     map[string]RecordRef{},
		Keys:        map[string]*KeyInfo{},
		Parties:     map[string]*Party{},
		Places:      map[string]*Place{},
		Routes:      map[string]*Route{},
		Checkpoints: map[string]*Checkpoint{},
		Convoys:     map[string]*ConvoyState{},
		Statements:  map[string]*Statement{},
		Incidents:   map[string]*Incident{},
		Claims:      map[string]*Claim{},
		Named:       map[string][]string{},
	}
}

// Begin starts a set of changes that Rollback can undo.
func (st *State) Begin() { st.undo = st.undo[:0]; st.inTx = true }

// Commit keeps the changes made since Begin.
func (st *State) Commit() { st.undo = st.undo[:0]; st.inTx = false }

// Rollback undoes every change made since Begin.
func (st *State) Rollback() {
	st.RollbackTo(0)
	st.inTx = false
}

// Mark returns a point inside a Begin/Commit span that RollbackTo can
// return to, so that one batch of a group can be undone alone.
func (st *State) Mark() int { return len(st.undo) }

// RollbackTo undoes the changes made since mark.
func (st *State) RollbackTo(mark int) {
	if mark > len(st.undo) {
		return // a stale mark: everything after it is already undone
	}
	for i := len(st.undo) - 1; i >= mark; i-- {
		st.undo[i]()
	}
	st.undo = st.undo[:mark]
}

func setKey[K comparable, V any](st *State, m map[K]V, k K, v V) {
	if st.inTx {
		old, had := m[k]
		st.undo = append(st.undo, func() {
			if had {
				m[k] = old
			} else {
				delete(m, k)
			}
		})
	}
	m[k] = v
}

func (st *State) setSize(n uint64) {
	if st.inTx {
		old := st.Size
		st.undo = append(st.undo, func() { st.Size = old })
	}
	st.Size = n
}

// Signer finds the party behind a key id.
func (st *State) Signer(keyID string) (*KeyInfo, *Party, error) {
	k, ok := st.Keys[keyID]
	if !ok {
		return nil, nil, &Error{Code: CodeUnknownKey, Field: "key", Reason: fmt.Sprintf("key %q is not registered to any party", keyID)}
	}
	return k, st.Parties[k.Party], nil
}

// Check runs every check a record must pass — schema, known key, signature,
// role, state rules — and, if all hold, applies it to the state at log
// index. verified is the public key the signature was already checked
// against, if any: when it is the signer's registered key the signature is
// not checked again. Set trust to skip signature checks altogether (replay
// of the node's own log at start).
func (st *State) Check(r *record.Record, index uint64, verified ed25519.PublicKey, trust bool) (Payload, error) {
	if err := r.CheckShape(); err != nil {
		return nil, AsError(err, "")
	}
	t, p, err := Decode(r)
	if err != nil {
		return nil, err
	}
	if err := st.CheckDecoded(r, t, p, index, verified, trust); err != nil {
		return nil, err
	}
	return p, nil
}

// CheckDecoded is Check for a record whose shape was checked and whose
// payload Decode already returned as t and p, so that a caller that
// decoded it before sequencing does not decode it twice.
func (st *State) CheckDecoded(r *record.Record, t *RecordType, p Payload, index uint64, verified ed25519.PublicKey, trust bool) error {
	if ref, ok := st.Records[r.ID]; ok {
		return &Error{Code: CodeDuplicate, Field: "id", Reason: fmt.Sprintf("record id %q is already at log index %d with other content", r.ID, ref.Index)}
	}
	var by *Party
	if len(st.Parties) == 0 {
		// Genesis: the first record registers the operator, signed by its own key.
		g, ok := p.(*Party)
		if !ok || g.Kind != Operator {
			return forbidden("type", "the first record must register the operator party")
		}
		var pub ed25519.PublicKey
		for _, k := range g.Keys {
			if k.ID == r.KeyID {
				pub = k.Public
			}
		}
		if pub == nil {
			return forbidden("key", "the operator's first record must be signed by one of its own keys")
		}
		if !trust {
			if err := r.Verify(pub); err != nil {
				return AsError(err, "")
			}
		}
		by = g
	} else {
		k, party, err := st.Signer(r.KeyID)
		if err != nil {
			return err
		}
		if !trust && !k.Public.Equal(verified) {
			if err := r.Verify(k.Public); err != nil {
				return AsError(err, "")
			}
		}
		if !slices.Contains(t.Signers, party.Kind) {
			return forbidden("type", "a party of kind %s may not sign %s records", party.Kind, t.Name)
		}
		by = party
	}
	if err := t.apply(st, by, p, Meta{ID: r.ID, Index: index}); err != nil {
		return AsError(err, "payload")
	}
	setKey(st, st.Records, r.ID, RecordRef{Index: index, Hash: r.Hash()})
	if named := st.named(p, by); len(named) > 0 {
		setKey(st, st.Named, r.ID, named)
	}
	st.setSize(index + 1)
	return nil
}

// ---- apply functions: rules against the current state ----

func applyParty(st *State, by *Party, pl Payload, m Meta) error {
	p := pl.(*Party)
	if old, ok := st.Parties[p.ID]; ok {
		if old.Kind != p.Kind {
			return conflict("kind", "party %q is registered as %s; its kind cannot change", p.ID, old.Kind)
		}
	}
	for i, k := range p.Keys {
		if ki, ok := st.Keys[k.ID]; ok && ki.Party != p.ID {
			return conflict(fmt.Sprintf("keys[%d].id", i), "key %s is already registered to party %q", k.ID, ki.Party)
		}
	}
	// A re-registration replaces the party's keys: keys it no longer lists stop signing.
	if old, ok := st.Parties[p.ID]; ok {
		for _, k := range old.Keys {
			if !slices.ContainsFunc(p.Keys, func(n PartyKey) bool { return n.ID == k.ID }) {
				setKey(st, st.Keys, k.ID, nil)
				delete(st.Keys, k.ID)
			}
		}
	}
	for _, k := range p.Keys {
		setKey(st, st.Keys, k.ID, &KeyInfo{ID: k.ID, Party: p.ID, Public: ed25519.PublicKey(k.Public), Delegated: k.Delegated})
	}
	if old, ok := st.Parties[p.ID]; ok {
		p.Lists = old.Lists
	}
	setKey(st, st.Parties, p.ID, p)
	return nil
}

func applyPlace(st *State, by *Party, pl Payload, m Meta) error {
	p := pl.(*Place)
	setKey(st, st.Places, p.ID, p)
	return nil
}

func applyRoute(st *State, by *Party, pl Payload, m Meta) error {
	r := pl.(*Route)
	for i, id := range r.Places {
		if _, ok := st.Places[id]; !ok {
			return invalid(fmt.Sprintf("places[%d]", i), "unknown place %q", id)
		}
	}
	for _, l := range []struct {
		name string
		ids  []string
	}{{"clearance_by", r.ClearanceBy}, {"notify", r.Notify}} {
		for i, id := range l.ids {
			if a, ok := st.Parties[id]; !ok || a.Kind != Authority {
				return invalid(fmt.Sprintf("%s[%d]", l.name, i), "%q is not a registered authority", id)
			}
		}
	}
	if old, ok := st.Routes[r.ID]; ok && !slices.Equal(old.Places, r.Places) {
		// The checkpoints a route meets and the convoys on it are its history.
		return conflict("places", "route %q is registered through %v; a registration again may correct its names, not its places (register a new route for another way)", r.ID, old.Places)
	}
	if old, ok := st.Routes[r.ID]; ok && (!slices.Equal(old.ClearanceBy, r.ClearanceBy) || !slices.Equal(old.Notify, r.Notify)) {
		// Who clears the convoys already filed is their history.
		return conflict("clearance_by", "route %q is registered with clearance_by %v and notify %v; a registration again may not change who clears or is notified of its convoys", r.ID, old.ClearanceBy, old.Notify)
	}
	setKey(st, st.Routes, r.ID, r)
	return nil
}

func applyCheckpoint(st *State, by *Party, pl Payload, m Meta) error {
	c := pl.(*Checkpoint)
	if c.Route != "" {
		r, ok := st.Routes[c.Route]
		if !ok {
			return invalid("route", "unknown route %q", c.Route)
		}
		if !r.Passes(c.Place) {
			return invalid("place", "place %q is not on route %q", c.Place, c.Route)
		}
	} else if len(RoutesThrough(c.Place, st.routeList())) == 0 {
		return invalid("place", "no registered route passes through place %q: a checkpoint sits on the road network", c.Place)
	}
	if c.Site != "" {
		if err := st.knownPlace("site", c.Site); err != nil {
			return err
		}
	}
	a, ok := st.Parties[c.Authority]
	if !ok {
		return invalid("authority", "unknown party %q", c.Authority)
	}
	if a.Kind != Authority {
		return invalid("authority", "party %q is a %s, not an authority", c.Authority, a.Kind)
	}
	if old, ok := st.Checkpoints[c.ID]; ok {
		// Who runs a checkpoint, where and when, is history: a second
		// registration may correct its names, not rewrite that.
		for _, f := range []struct {
			name     string
			was, now string
		}{{"route", old.Route, c.Route}, {"place", old.Place, c.Place}, {"site", old.Site, c.Site}, {"authority", old.Authority, c.Authority},
			{"from", string(old.From), string(c.From)}, {"to", string(old.To), string(c.To)}} {
			if f.was != f.now {
				return conflict(f.name, "checkpoint %q is registered with %s %q; record a %s to change who operates it from a day on, or to close it", c.ID, f.name, f.was, TypeCPChange)
			}
		}
		c.Changes, c.Recorded = old.Changes, old.Recorded
	}
	setKey(st, st.Checkpoints, c.ID, c)
	return nil
}

func applyCheckpointChange(st *State, by *Party, pl Payload, m Meta) error {
	ch := pl.(*CheckpointChange)
	old, ok := st.Checkpoints[ch.Checkpoint]
	if !ok {
		return invalid("checkpoint", "unknown checkpoint %q", ch.Checkpoint)
	}
	if old.From != "" && ch.From <= old.From {
		return conflict("from", "checkpoint %q operates from %s; a change must come later", old.ID, old.From)
	}
	if old.To != "" && ch.From > old.To {
		return conflict("from", "checkpoint %q operates %s; %s is after that", old.ID, operatingPeriod(old), ch.From)
	}
	if n := len(old.Changes); n > 0 && ch.From <= old.Changes[n-1].From {
		return conflict("from", "checkpoint %q already changes on %s; a change must come after the last one", old.ID, old.Changes[n-1].From)
	}
	if old.Recorded != "" && ch.From <= old.Recorded {
		return conflict("from", "checkpoint %q has records up to %s (events there, or its operator's answers for convoys planned through it); a change must start after that day, so that it rewrites nobody's part in them", old.ID, old.Recorded)
	}
	if ch.Authority != "" {
		a, ok := st.Parties[ch.Authority]
		if !ok {
			return invalid("authority", "unknown party %q", ch.Authority)
		}
		if a.Kind != Authority {
			return invalid("authority", "party %q is a %s, not an authority", ch.Authority, a.Kind)
		}
		if ch.Authority == old.OperatorOn(AddDays(ch.From, -1)) {
			return conflict("authority", "%q already operates checkpoint %q on the day before %s", ch.Authority, old.ID, ch.From)
		}
	} else if old.OperatorOn(AddDays(ch.From, -1)) == "" {
		return conflict("closed", "checkpoint %q is not operating on the day before %s", old.ID, ch.From)
	}
	c := *old
	c.Changes = append(slices.Clone(old.Changes), *ch)
	setKey(st, st.Checkpoints, c.ID, &c)
	return nil
}

// routeList is every registered route, sorted by id.
func (st *State) routeList() []*Route {
	out := make([]*Route, 0, len(st.Routes))
	for _, r := range st.Routes {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (st *State) checkpointList() []*Checkpoint {
	out := make([]*Checkpoint, 0, len(st.Checkpoints))
	for _, c := range st.Checkpoints {
		out = append(out, c)
	}
	return out
}

// RouteCheckpoints lists the checkpoints at the places of a route, in
// route order: every checkpoint serves the routes through its place.
func (st *State) RouteCheckpoints(route string) []*Checkpoint {
	r := st.Routes[route]
	if r == nil {
		return nil
	}
	return WayCheckpoints(r.Places, st.checkpointList())
}

// ConvoyWay is the places a convoy passes through on the road network, in
// order: none for one by air or sea.
func (st *State) ConvoyWay(c *Convoy) []string {
	if !c.OnRoad() {
		return nil
	}
	return c.WayOn(st.Routes[c.Route])
}

// ConvoyRoutes lists the routes a convoy's way follows part of, by id.
func (st *State) ConvoyRoutes(c *Convoy) []*Route { return WayRoutes(st.ConvoyWay(c), st.routeList()) }

// ConvoyCheckpoints lists the checkpoints on the convoy's way, in the
// order it meets them.
func (st *State) ConvoyCheckpoints(c *Convoy) []*Checkpoint {
	if !c.OnRoad() {
		return nil
	}
	return WayCheckpoints(st.ConvoyWay(c), st.checkpointList())
}

// ConvoyAuthorities lists, in way order without repeats, the authorities
// that operate a checkpoint on the convoy's way on its planned day, then
// those the routes of its way name to clear: those its clearance request
// goes to.
func (st *State) ConvoyAuthorities(c *Convoy) []string {
	return ClearanceAuthorities(st.ConvoyRoutes(c), st.ConvoyCheckpoints(c), c.Planned)
}

// ClearanceAuthorities lists whose clearance a convoy needs on its
// planned day: the operators of the checkpoints on its way, then the
// clearance_by of the routes its way follows.
func ClearanceAuthorities(routes []*Route, way []*Checkpoint, planned Date) []string {
	out := AuthoritiesOn(way, planned)
	for _, r := range routes {
		for _, a := range r.ClearanceBy {
			if !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	return out
}

// NotifiedAuthorities lists who is only told of a convoy: the notify of
// the routes its way follows, less those whose clearance it needs.
func NotifiedAuthorities(routes []*Route, clearance []string) []string {
	var out []string
	for _, r := range routes {
		for _, a := range r.Notify {
			if !slices.Contains(clearance, a) && !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	return out
}

// AuthoritiesOn lists, in the order of cps without repeats, who operates
// them on day.
func AuthoritiesOn(cps []*Checkpoint, day Date) []string {
	var out []string
	for _, cp := range cps {
		if op := cp.OperatorOn(day); op != "" && !slices.Contains(out, op) {
			out = append(out, op)
		}
	}
	return out
}

// RouteAuthorities lists, in route order without repeats, the authorities
// that operate or operated a checkpoint on the route.
func (st *State) RouteAuthorities(route string) []string {
	var out []string
	for _, c := range st.RouteCheckpoints(route) {
		for _, op := range c.Operators() {
			if !slices.Contains(out, op) {
				out = append(out, op)
			}
		}
	}
	return out
}

func applyConvoy(st *State, by *Party, pl Payload, m Meta) error {
	c := pl.(*Convoy)
	if c.Organisation != by.ID {
		return forbidden("organisation", "party %q may file convoys only in its own name, not for %q", by.ID, c.Organisation)
	}
	if _, ok := st.Convoys[c.ID]; ok {
		return conflict("id", "convoy %q is already filed", c.ID)
	}
	if err := st.checkConvoyWay(c); err != nil {
		return err
	}
	setKey(st, st.Convoys, c.ID, &ConvoyState{Convoy: *c, Index: m.Index, Updated: m.Index, Status: StatusFiled, Clearance: map[string]ClearanceAnswer{}})
	return nil
}

// checkConvoyWay checks where a convoy goes against the gazetteer and the
// road network: by air or sea, between known places (no route, no
// checkpoint, no clearance request); by road or on foot, along its route
// or its own way.
func (st *State) checkConvoyWay(c *Convoy) error {
	if !c.OnRoad() {
		if err := st.knownPlace("origin", c.Origin); err != nil {
			return err
		}
		return st.knownPlace("destination", c.Destination)
	}
	r, ok := st.Routes[c.Route]
	if !ok {
		return invalid("route", "unknown route %q", c.Route)
	}
	if len(c.Way) > 0 {
		for i, p := range c.Way {
			if err := st.knownPlace(fmt.Sprintf("way[%d]", i), p); err != nil {
				return err
			}
		}
		return checkWay(c, st.routeList())
	}
	switch {
	case !slices.Contains(r.Places, c.Origin):
		return invalid("origin", "place %q is not on route %q", c.Origin, c.Route)
	case !slices.Contains(r.Places, c.Destination):
		return invalid("destination", "place %q is not on route %q; give the convoy's way through the network to leave the route", c.Destination, c.Route)
	case slices.Index(r.Places, c.Destination) < slices.Index(r.Places, c.Origin):
		return invalid("destination", "comes before the origin on route %q (routes are listed in travel order; give a way to travel it the other way)", c.Route)
	}
	return nil
}

func (st *State) convoy(field, id string) (*ConvoyState, error) {
	c, ok := st.Convoys[id]
	if !ok {
		return nil, invalid(field, "unknown convoy %q", id)
	}
	return c.clone(), nil
}

func checkTime(c *ConvoyState, at time.Time) error {
	if at.Before(c.LastAt) {
		return conflict("at", "%s is earlier than the convoy's previous event (%s)", at.Format(time.RFC3339), c.LastAt.Format(time.RFC3339))
	}
	return nil
}

func applyClearance(st *State, by *Party, pl Payload, m Meta) error {
	a := pl.(*ClearanceAnswer)
	if a.Authority != by.ID {
		return forbidden("authority", "party %q may answer only in its own name, not for %q", by.ID, a.Authority)
	}
	c, err := st.convoy("convoy", a.Convoy)
	if err != nil {
		return err
	}
	clearing := st.ConvoyAuthorities(&c.Convoy)
	switch {
	case slices.Contains(clearing, by.ID):
		if a.Decision == Acknowledged {
			return invalid("decision", "%q clears this convoy: it approves or refuses, it does not only acknowledge", by.ID)
		}
	case slices.Contains(NotifiedAuthorities(st.ConvoyRoutes(&c.Convoy), clearing), by.ID):
		if a.Decision != Acknowledged {
			return forbidden("decision", "%q is only notified of convoys on the routes of this convoy's way: it acknowledges, it does not approve or refuse", by.ID)
		}
	default:
		return forbidden("convoy", "no clearance was requested of %q: it operates no checkpoint on the convoy's way %v on its planned day %s, and the routes of that way name it neither to clear nor to be notified", by.ID, st.ConvoyWay(&c.Convoy), c.Convoy.Planned)
	}
	if c.Status.Terminal() {
		return conflict("convoy", "convoy %q is %s", c.Convoy.ID, c.Status)
	}
	if err := checkTime(c, a.At); err != nil {
		return err
	}
	c.Clearance[by.ID] = *a
	c.LastAt = a.At
	c.Updated = m.Index
	setKey(st, st.Convoys, c.Convoy.ID, c)
	for _, cp := range st.ConvoyCheckpoints(&c.Convoy) {
		if cp.OperatorOn(c.Convoy.Planned) == by.ID {
			st.recordedAt(cp, c.Convoy.Planned)
		}
	}
	return nil
}

// recordedAt notes that something was recorded at checkpoint cp on day.
func (st *State) recordedAt(cp *Checkpoint, day Date) {
	if day <= cp.Recorded {
		return
	}
	c := *cp
	c.Recorded = day
	setKey(st, st.Checkpoints, c.ID, &c)
}

// Agreed reports whether every authority on the convoy's route approved it.
func (st *State) Agreed(c *ConvoyState) bool {
	for _, a := range st.ConvoyAuthorities(&c.Convoy) {
		ans, ok := c.Clearance[a]
		if !ok || ans.Decision == Refused {
			return false
		}
	}
	return true
}

func applyCheckpointEvent(st *State, by *Party, pl Payload, m Meta) error {
	e := pl.(*CheckpointEvent)
	c, err := st.convoy("convoy", e.Convoy)
	if err != nil {
		return err
	}
	cp, ok := st.Checkpoints[e.Checkpoint]
	if !ok {
		return invalid("checkpoint", "unknown checkpoint %q", e.Checkpoint)
	}
	if !c.Convoy.OnRoad() {
		return conflict("checkpoint", "convoy %q goes by %s: it passes no checkpoint", c.Convoy.ID, c.Convoy.Mode)
	}
	if !slices.Contains(st.ConvoyWay(&c.Convoy), cp.Place) {
		return conflict("checkpoint", "checkpoint %q is at %q, not on the convoy's way %v", cp.ID, cp.Place, st.ConvoyWay(&c.Convoy))
	}
	day := DayOf(e.At)
	op := cp.OperatorOn(day)
	if op == "" {
		return conflict("at", "checkpoint %q is not operating on %s (%s)", cp.ID, day, operatingPeriod(cp))
	}
	if op != by.ID {
		return forbidden("checkpoint", "checkpoint %q is run by %q on %s, not by %q", cp.ID, op, day, by.ID)
	}
	if err := checkTime(c, e.At); err != nil {
		return err
	}
	if slices.Contains(c.Passed, cp.ID) {
		return conflict("checkpoint", "the convoy has already passed checkpoint %q", cp.ID)
	}
	here := (c.Status == StatusAtCheckpt || c.Status == StatusHeld || c.Status == StatusRefused) && c.Checkpoint == cp.ID
	switch {
	case here:
	case c.Status.moving():
		// Arriving at a checkpoint: it must be the next one in route order
		// that operates that day, unless a reason is recorded.
		next := ""
		for _, x := range st.ConvoyCheckpoints(&c.Convoy) {
			if !slices.Contains(c.Passed, x.ID) && x.OperatorOn(day) != "" {
				next = x.ID
				break
			}
		}
		if next != cp.ID {
			if e.OutOfOrder == "" {
				return conflict("checkpoint", "the next checkpoint on the convoy's way is %q; give out_of_order_reason to record %q first", next, cp.ID)
			}
			c.addFlag(FlagOutOfOrder)
		}
	case c.Status == StatusFiled:
		return conflict("event", "convoy %q has not departed", c.Convoy.ID)
	default:
		return conflict("event", "convoy %q is %s at %q; %s at %q is not possible", c.Convoy.ID, c.Status, c.Checkpoint, e.Event, cp.ID)
	}
	if c.Status == StatusRefused && e.Event != EvTurnedBack {
		return conflict("event", "convoy %q was refused at %q; only turned-back can follow", c.Convoy.ID, cp.ID)
	}
	switch e.Event {
	case EvArrived, EvInspected:
		c.Status = StatusAtCheckpt
	case EvHeld:
		c.Status = StatusHeld
	case EvRefused:
		if err := st.takeLines(c, e.Removed, op, day); err != nil {
			return err
		}
		c.Status = StatusRefused
	case EvTurnedBack:
		c.Status = StatusTurnedBack
	case EvPassed, EvPassedLess:
		if err := st.takeLines(c, e.Removed, op, day); err != nil {
			return err
		}
		c.Passed = append(c.Passed, cp.ID)
		c.Status = StatusEnRoute
	}
	c.Checkpoint = cp.ID
	c.LastAt = e.At
	c.Updated = m.Index
	setKey(st, st.Convoys, c.Convoy.ID, c)
	st.recordedAt(cp, day)
	return nil
}

// takeLines checks the manifest lines an event at a checkpoint operated
// by op takes off or refuses on day, and keeps them with the convoy.
func (st *State) takeLines(c *ConvoyState, lines []LineQty, op string, day Date) error {
	for i, r := range lines {
		f := fmt.Sprintf("removed[%d]", i)
		if r.Line >= len(c.Convoy.Manifest) {
			return invalid(f+".line", "the manifest has %d lines", len(c.Convoy.Manifest))
		}
		l := c.Convoy.Manifest[r.Line]
		if r.Listed {
			list := st.Parties[op].ListOn(day)
			if list == nil {
				return invalid(f+".listed", "%q has published no restricted list in force on %s", op, day)
			}
			if _, ok := list.Entry(l.Item); !ok {
				return invalid(f+".listed", "%q (line %d) is not on %q's list %q in force on %s", l.Item, r.Line, op, list.ID, day)
			}
		}
		q, kg := sumLine(c.Removed, r.Line)
		if q+r.Quantity > l.Quantity+1e-9 || kg+r.Kg > l.Kg+1e-9 {
			return conflict(f, "removes more than is left of line %d (%g %s, %g kg loaded; %g %s, %g kg already removed)", r.Line, l.Quantity, l.Unit, l.Kg, q, l.Unit, kg)
		}
	}
	c.Removed = append(c.Removed, lines...)
	return nil
}

func applyMove(st *State, by *Party, pl Payload, m Meta) error {
	mv := pl.(*ConvoyMove)
	c, err := st.convoy("convoy", mv.Convoy)
	if err != nil {
		return err
	}
	if c.Convoy.Organisation != by.ID {
		return forbidden("convoy", "convoy %q belongs to %q, not to %q", c.Convoy.ID, c.Convoy.Organisation, by.ID)
	}
	if err := checkTime(c, mv.At); err != nil {
		return err
	}
	bad := func() error {
		return conflict("event", "convoy %q is %s; it cannot be %s", c.Convoy.ID, c.Status, mv.Event)
	}
	switch mv.Event {
	case MvDeparted:
		if c.Status != StatusFiled {
			return bad()
		}
		if !st.Agreed(c) {
			c.addFlag(FlagNoAgreement)
		}
		c.Status = StatusDeparted
	case MvDelivered:
		if !c.Status.moving() {
			return bad()
		}
		for i, r := range mv.Received {
			f := fmt.Sprintf("received[%d]", i)
			if r.Line >= len(c.Convoy.Manifest) {
				return invalid(f+".line", "the manifest has %d lines", len(c.Convoy.Manifest))
			}
			l := c.Convoy.Manifest[r.Line]
			q, kg := sumLine(c.Removed, r.Line)
			if r.Quantity > l.Quantity-q+1e-9 || r.Kg > l.Kg-kg+1e-9 {
				return conflict(f, "delivers more than was loaded less what was removed (line %d: %g %s, %g kg left)", r.Line, l.Quantity-q, l.Unit, l.Kg-kg)
			}
		}
		c.Received = mv.Received
		c.Status = StatusDelivered
	case MvReturned:
		if c.Status == StatusFiled || c.Status.Terminal() {
			return bad()
		}
		c.Status = StatusReturned
	case MvCancelled:
		if c.Status != StatusFiled && c.Status != StatusHeld && c.Status != StatusRefused && c.Status != StatusTurnedBack {
			return bad()
		}
		c.Status = StatusCancelled
	}
	c.LastAt = mv.At
	c.Updated = m.Index
	setKey(st, st.Convoys, c.Convoy.ID, c)
	return nil
}

func applyStatement(st *State, by *Party, pl Payload, m Meta) error {
	s := pl.(*Statement)
	if _, ok := st.Statements[s.ID]; ok {
		return conflict("id", "statement %q is already recorded", s.ID)
	}
	if s.SpeakerParty != "" {
		if err := st.knownParty("speaker_party", s.SpeakerParty); err != nil {
			return err
		}
	}
	if by.Kind != Monitor && by.Kind != Operator && s.SpeakerParty != by.ID {
		return forbidden("speaker_party", "a %s records only its own statements; monitors record others'", by.Kind)
	}
	for i, r := range s.AboutRoutes {
		if err := st.knownRoute(fmt.Sprintf("about_routes[%d]", i), r); err != nil {
			return err
		}
	}
	for i, p := range s.AboutPlaces {
		if err := st.knownPlace(fmt.Sprintf("about_places[%d]", i), p); err != nil {
			return err
		}
	}
	setKey(st, st.Statements, s.ID, s)
	return nil
}

// ConvoyOf names the convoy a payload is about, if any.
func ConvoyOf(p Payload) string {
	switch v := p.(type) {
	case *Convoy:
		return v.ID
	case *ClearanceAnswer:
		return v.Convoy
	case *CheckpointEvent:
		return v.Convoy
	case *ConvoyMove:
		return v.Convoy
	case *DeliveryConfirm:
		return v.Convoy
	}
	return ""
}

func applyConfirm(st *State, by *Party, pl Payload, m Meta) error {
	d := pl.(*DeliveryConfirm)
	c, err := st.convoy("convoy", d.Convoy)
	if err != nil {
		return err
	}
	if c.Status != StatusDelivered {
		return conflict("convoy", "convoy %q is %s, not delivered", c.Convoy.ID, c.Status)
	}
	if d.At.Before(c.LastAt) {
		return conflict("at", "%s is earlier than the delivery (%s)", d.At.Format(time.RFC3339), c.LastAt.Format(time.RFC3339))
	}
	c.addFlag(FlagConfirmed)
	c.Updated = m.Index
	setKey(st, st.Convoys, c.Convoy.ID, c)
	return nil
}

// operatingPeriod says in words when a checkpoint operates and who runs it.
func operatingPeriod(c *Checkpoint) string {
	var s string
	switch {
	case c.From != "" && c.To != "":
		s = fmt.Sprintf("registered from %s to %s", c.From, c.To)
	case c.From != "":
		s = fmt.Sprintf("registered from %s", c.From)
	case c.To != "":
		s = fmt.Sprintf("registered until %s", c.To)
	default:
		s = "registered with no end"
	}
	for _, ch := range c.Changes {
		if ch.Closed {
			s += fmt.Sprintf("; closed from %s", ch.From)
		} else {
			s += fmt.Sprintf("; run by %q from %s", ch.Authority, ch.From)
		}
	}
	return s
}
