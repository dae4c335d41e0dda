package corridor_test

import (
	"bytes"
	"corridor/record"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"corridor"
)

// ---- test world ----

// t0 is the reference time of the tests: Tue 29 Aug 2023, 06:00 UTC.
var t0 = time.Date(2023, 8, 29, 6, 0, 0, 0, time.UTC)

// at returns t0 plus h hours.
func at(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }

// keyFor returns a deterministic key for a name.
func keyFor(name string) *record.Key {
	seed := sha256.Sum256([]byte("corridor-test-key\n" + name))
	return record.KeyFromSeed(seed[:])
}

// world is a State with the parties' keys and a record counter.
type world struct {
	t    testing.TB
	st   *corridor.State
	keys map[string]*record.Key
	seq  int
}

func newWorld(t testing.TB) *world {
	return &world{t: t, st: corridor.NewState(), keys: map[string]*record.Key{}}
}

func partyPayload(id string, kind corridor.PartyKind, keys ...*record.Key) *corridor.Party {
	p := &corridor.Party{ID: id, Kind: kind, Names: []corridor.Name{{Name: "Party " + id, Lang: "en"}}}
	for _, k := range keys {
		p.Keys = append(p.Keys, corridor.PartyKey{ID: k.ID, Public: k.Public})
	}
	return p
}

func (w *world) nextID() string {
	w.seq++
	return fmt.Sprintf("rec-%04d", w.seq)
}

// record signs payload as party by (whose key must be known to the world).
func (w *world) record(by, typ string, payload any) *record.Record {
	w.t.Helper()
	k, ok := w.keys[by]
	if !ok {
		w.t.Fatalf("no key for %q", by)
	}
	r, err := record.Sign(k, w.nextID(), typ, 1, payload)
	if err != nil {
		w.t.Fatalf("sign %s by %s: %v", typ, by, err)
	}
	return r
}

// check runs State.Check at the next index, verifying the signature.
func (w *world) check(r *record.Record) error {
	_, err := w.st.Check(r, w.st.Size, nil, false)
	return err
}

func (w *world) do(by, typ string, payload any) error {
	w.t.Helper()
	return w.check(w.record(by, typ, payload))
}

func (w *world) must(by, typ string, payload any) {
	w.t.Helper()
	if err := w.do(by, typ, payload); err != nil {
		w.t.Fatalf("%s by %s: %v", typ, by, err)
	}
}

// genesis registers the operator "op", signed by its own key.
func (w *world) genesis() {
	w.t.Helper()
	w.keys["op"] = keyFor("op")
	w.must("op", corridor.TypeParty, partyPayload("op", corridor.Operator, w.keys["op"]))
}

// party registers a party with a fresh key, signed by the operator.
func (w *world) party(id string, kind corridor.PartyKind) {
	w.t.Helper()
	w.keys[id] = keyFor(id)
	w.must("op", corridor.TypeParty, partyPayload(id, kind, w.keys[id]))
}

func place(id, kind string, lat, lon float64) *corridor.Place {
	return &corridor.Place{ID: id, Kind: kind, Names: []corridor.Name{{Name: id, Lang: "en"}}, Lat: lat, Lon: lon}
}

func route(id string, places ...string) *corridor.Route {
	return &corridor.Route{ID: id, Names: []corridor.Name{{Name: id, Lang: "en"}}, Places: places}
}

func checkpoint(id, rt, pl, authority string) *corridor.Checkpoint {
	return &corridor.Checkpoint{ID: id, Names: []corridor.Name{{Name: id, Lang: "en"}}, Route: rt, Place: pl, Authority: authority}
}

// The world the tests share:
//
//	lachin-road: goris → kornidzor (cp1, auth1) → hakari (cp2, auth2) → lachin → stepanakert
//	aghdam-road: aghdam → askeran (cp3, auth3; cp4, auth1) → stepanakert
//
// with organisations org and org2, a monitor mon and a witness wit.
const (
	lachinRoad = "lachin-road"
	aghdamRoad = "aghdam-road"
	cp1        = "cp-kornidzor"
	cp2        = "cp-hakari"
	cp3        = "cp-askeran"
	cp4        = "cp-askeran-2"
)

func newCorridor(t testing.TB) *world {
	t.Helper()
	w := newWorld(t)
	w.genesis()
	w.party("org", corridor.Organisation)
	w.party("org2", corridor.Organisation)
	w.party("auth1", corridor.Authority)
	w.party("auth2", corridor.Authority)
	w.party("auth3", corridor.Authority)
	w.party("mon", corridor.Monitor)
	w.party("wit", corridor.Witness)
	for _, p := range []*corridor.Place{
		place("goris", "town", 39.51, 46.34),
		place("kornidzor", "village", 39.30, 46.31),
		place("hakari", "bridge", 39.27, 46.30),
		place("lachin", "town", 39.64, 46.55),
		place("stepanakert", "city", 39.82, 46.75),
		place("aghdam", "town", 39.99, 46.93),
		place("askeran", "settlement", 39.94, 46.83),
	} {
		w.must("op", corridor.TypePlace, p)
	}
	w.must("op", corridor.TypeRoute, route(lachinRoad, "goris", "kornidzor", "hakari", "lachin", "stepanakert"))
	w.must("op", corridor.TypeRoute, route(aghdamRoad, "aghdam", "askeran", "stepanakert"))
	w.must("op", corridor.TypeCheckpoint, checkpoint(cp1, lachinRoad, "kornidzor", "auth1"))
	w.must("op", corridor.TypeCheckpoint, checkpoint(cp2, lachinRoad, "hakari", "auth2"))
	w.must("op", corridor.TypeCheckpoint, checkpoint(cp3, aghdamRoad, "askeran", "auth3"))
	w.must("op", corridor.TypeCheckpoint, checkpoint(cp4, aghdamRoad, "askeran", "auth1"))
	return w
}

// convoy is a two-line convoy of org on the Lachin road:
// line 0: 40 t of flour (40,000 kg); line 1: 100 boxes of medicine (500 kg).
func convoy(id, org string) *corridor.Convoy {
	plate, _ := record.Seal("35 LL 001")
	driver, _ := record.Seal("A. Driver")
	return &corridor.Convoy{
		ID: id, Organisation: org, Route: lachinRoad,
		Origin: "goris", Destination: "stepanakert", Planned: "2023-08-29",
		Vehicles: []corridor.Vehicle{{Kind: "lorry", Plate: plate, Driver: driver}, {Kind: "lorry"}},
		Manifest: []corridor.Line{
			{Item: "wheat flour", Sector: "food", Quantity: 40, Unit: "t", Kg: 40000},
			{Item: "medicine", Sector: "health", Quantity: 100, Unit: "box", Kg: 500},
		},
	}
}

func approve(cv, authority string, h int) *corridor.ClearanceAnswer {
	return &corridor.ClearanceAnswer{Convoy: cv, Authority: authority, Decision: corridor.Approved, At: at(h)}
}

func refuse(cv, authority string, h int) *corridor.ClearanceAnswer {
	return &corridor.ClearanceAnswer{Convoy: cv, Authority: authority, Decision: corridor.Refused,
		ReasonCategory: "no-prior-agreement", Reason: "no prior agreement", At: at(h)}
}

func event(cv, cp, ev string, h int) *corridor.CheckpointEvent {
	e := &corridor.CheckpointEvent{Convoy: cv, Checkpoint: cp, Event: ev, At: at(h)}
	switch ev {
	case corridor.EvRefused, corridor.EvPassedLess, corridor.EvHeld, corridor.EvTurnedBack:
		e.ReasonCategory = "security"
		e.Reason = "stated by the checkpoint"
	}
	return e
}

func move(cv, ev string, h int) *corridor.ConvoyMove {
	return &corridor.ConvoyMove{Convoy: cv, Event: ev, At: at(h)}
}

// filed files convoy id of org on the Lachin road, answered by neither authority.
func (w *world) filed(id string) {
	w.t.Helper()
	w.must("org", corridor.TypeConvoy, convoy(id, "org"))
}

// departed files convoy id, has both authorities approve it and departs it at hour 2.
func (w *world) departed(id string) {
	w.t.Helper()
	w.filed(id)
	w.must("auth1", corridor.TypeClearance, approve(id, "auth1", 0))
	w.must("auth2", corridor.TypeClearance, approve(id, "auth2", 1))
	w.must("org", corridor.TypeMove, move(id, corridor.MvDeparted, 2))
}

// delivered departs convoy id, passes both checkpoints (hours 3, 4) and
// delivers all of it at hour 5.
func (w *world) delivered(id string) {
	w.t.Helper()
	w.departed(id)
	w.must("auth1", corridor.TypeCheckEvent, event(id, cp1, corridor.EvPassed, 3))
	w.must("auth2", corridor.TypeCheckEvent, event(id, cp2, corridor.EvPassed, 4))
	mv := move(id, corridor.MvDelivered, 5)
	mv.Received = []corridor.LineQty{{Line: 0, Quantity: 40, Kg: 40000}, {Line: 1, Quantity: 100, Kg: 500}}
	w.must("org", corridor.TypeMove, mv)
}

func (w *world) convoyState(id string) *corridor.ConvoyState {
	w.t.Helper()
	c, ok := w.st.Convoys[id]
	if !ok {
		w.t.Fatalf("convoy %q not in state", id)
	}
	return c
}

// wantErr asserts err is a *corridor.Error with the given code and field.
func wantErr(t testing.TB, err error, code corridor.Code, field string) {
	t.Helper()
	var e *corridor.Error
	if !errors.As(err, &e) {
		t.Fatalf("got error %v (%T), want *corridor.Error %s at %q", err, err, code, field)
	}
	if e.Code != code || e.Field != field {
		t.Fatalf("got %s at %q (%s), want %s at %q", e.Code, e.Field, e.Reason, code, field)
	}
}

// snapshot is a deep, comparable image of a state.
func snapshot(t testing.TB, st *corridor.State) string {
	t.Helper()
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// tamper flips one byte of the payload inside a string value, keeping it valid JSON.
func tamper(t testing.TB, r *record.Record, in string) *record.Record {
	t.Helper()
	i := bytes.Index(r.Payload, []byte(in))
	if i < 0 {
		t.Fatalf("%q not in payload %s", in, r.Payload)
	}
	c := *r
	c.Payload = bytes.Clone(r.Payload)
	c.Payload[i] ^= 0x01 // a letter stays a letter: 'g' → 'f', 'P' → 'Q'...
	return &c
}

// ---- genesis ----

func TestGenesis(t *testing.T) {
	op, other := keyFor("op"), keyFor("other")
	sign := func(k *record.Key, typ string, p any) *record.Record {
		r, err := record.Sign(k, "genesis", typ, 1, p)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	tests := []struct {
		name  string
		rec   *record.Record
		code  corridor.Code // "" for success
		field string
	}{
		{"operator signed by its own key", sign(op, corridor.TypeParty, partyPayload("op", corridor.Operator, op)), "", ""},
		{"operator with two keys signed by the second", sign(other, corridor.TypeParty, partyPayload("op", corridor.Operator, op, other)), "", ""},
		{"place first", sign(op, corridor.TypePlace, place("goris", "town", 39.5, 46.3)), corridor.CodeForbidden, "type"},
		{"organisation first", sign(op, corridor.TypeParty, partyPayload("org", corridor.Organisation, op)), corridor.CodeForbidden, "type"},
		{"authority first", sign(op, corridor.TypeParty, partyPayload("a", corridor.Authority, op)), corridor.CodeForbidden, "type"},
		{"statement first", sign(op, corridor.TypeStatement, statement("s1", "")), corridor.CodeForbidden, "type"},
		{"operator signed by a key it does not list", sign(other, corridor.TypeParty, partyPayload("op", corridor.Operator, op)), corridor.CodeForbidden, "key"},
		{"operator with a bad signature", tamper(t, sign(op, corridor.TypeParty, partyPayload("op", corridor.Operator, op)), "Party"), corridor.CodeBadSignature, "sig"},
		{"invalid operator payload", sign(op, corridor.TypeParty, &corridor.Party{ID: "op", Kind: corridor.Operator, Names: []corridor.Name{{Name: "Op", Lang: "en"}}}), corridor.CodeInvalid, "payload.keys"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := corridor.NewState()
			_, err := st.Check(tc.rec, 0, nil, false)
			if tc.code == "" {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				if st.Size != 1 || len(st.Parties) != 1 || st.Records["genesis"].Index != 0 {
					t.Fatalf("after genesis: Size %d, %d parties, records %v", st.Size, len(st.Parties), st.Records)
				}
				if k, _, err := st.Signer(tc.rec.KeyID); err != nil || k.Party != "op" {
					t.Fatalf("Signer(%s) = %v, %v", tc.rec.KeyID, k, err)
				}
				return
			}
			wantErr(t, err, tc.code, tc.field)
			if st.Size != 0 || len(st.Parties) != 0 || len(st.Keys) != 0 || len(st.Records) != 0 {
				t.Fatalf("a refused genesis changed the state: %s", snapshot(t, st))
			}
		})
	}
}

func TestGenesisTrustSkipsSignature(t *testing.T) {
	op := keyFor("op")
	r, err := record.Sign(op, "genesis", corridor.TypeParty, 1, partyPayload("op", corridor.Operator, op))
	if err != nil {
		t.Fatal(err)
	}
	r = tamper(t, r, "Party")
	st := corridor.NewState()
	if _, err := st.Check(r, 0, nil, true); err != nil {
		t.Fatalf("trusted replay: %v", err)
	}
}

func TestSecondOperatorIsNotGenesis(t *testing.T) {
	// Once the operator is registered, a self-signed operator record from an
	// unknown key is refused: genesis happens once.
	w := newWorld(t)
	w.genesis()
	w.keys["op2"] = keyFor("op2")
	wantErr(t, w.do("op2", corridor.TypeParty, partyPayload("op2", corridor.Operator, w.keys["op2"])), corridor.CodeUnknownKey, "key")
}

// ---- envelope: keys, signatures, types, schema ----

func TestCheckEnvelope(t *testing.T) {
	w := newCorridor(t)
	stranger := keyFor("stranger")
	good := func() *record.Record {
		return w.record("op", corridor.TypePlace, place("shusha", "town", 39.76, 46.75))
	}
	signRaw := func(k *record.Key, typ string, v int, payload any) *record.Record {
		r, err := record.Sign(k, w.nextID(), typ, v, payload)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	tests := []struct {
		name  string
		rec   func() *record.Record
		code  corridor.Code
		field string
	}{
		{"unknown key", func() *record.Record { return signRaw(stranger, corridor.TypePlace, 1, place("x", "town", 1, 1)) }, corridor.CodeUnknownKey, "key"},
		{"payload changed after signing", func() *record.Record { return tamper(t, good(), "shusha") }, corridor.CodeBadSignature, "sig"},
		{"signature changed", func() *record.Record { r := good(); r.Sig[0] ^= 1; return r }, corridor.CodeBadSignature, "sig"},
		{"id changed after signing", func() *record.Record { r := good(); r.ID = "renamed"; return r }, corridor.CodeBadSignature, "sig"},
		{"type changed after signing", func() *record.Record {
			r := w.record("op", corridor.TypeStatement, statement("s-x", ""))
			r.Type = corridor.TypePlace // a statement's fields are unknown to a place
			return r
		}, corridor.CodeInvalid, "payload"},
		{"signed by another registered key", func() *record.Record {
			r := good()
			r.KeyID = w.keys["mon"].ID
			return r
		}, corridor.CodeBadSignature, "sig"},
		{"unknown type", func() *record.Record { return signRaw(w.keys["op"], "place.rename", 1, place("x", "town", 1, 1)) }, corridor.CodeUnknownType, "type"},
		{"unknown version", func() *record.Record { return signRaw(w.keys["op"], corridor.TypePlace, 2, place("x", "town", 1, 1)) }, corridor.CodeUnknownType, "v"},
		{"version zero", func() *record.Record { return signRaw(w.keys["op"], corridor.TypePlace, 0, place("x", "town", 1, 1)) }, corridor.CodeInvalid, "v"},
		{"unknown payload field", func() *record.Record {
			return w.record("op", corridor.TypePlace, json.RawMessage(`{"id":"x","kind":"town","names":[{"name":"X","lang":"en"}],"lat":1,"lon":1,"colour":"red"}`))
		}, corridor.CodeInvalid, "payload"},
		{"payload of the wrong JSON type", func() *record.Record {
			return w.record("op", corridor.TypePlace, json.RawMessage(`["x"]`))
		}, corridor.CodeInvalid, "payload"},
		{"field of the wrong JSON type", func() *record.Record {
			return w.record("op", corridor.TypePlace, json.RawMessage(`{"id":"x","kind":"town","names":[{"name":"X","lang":"en"}],"lat":"north","lon":1}`))
		}, corridor.CodeInvalid, "payload"},
		{"bad record id", func() *record.Record { r := good(); r.ID = "-bad"; return r }, corridor.CodeInvalid, "id"},
		{"short signature", func() *record.Record { r := good(); r.Sig = r.Sig[:10]; return r }, corridor.CodeInvalid, "sig"},
		{"no key id", func() *record.Record { r := good(); r.KeyID = ""; return r }, corridor.CodeInvalid, "key"},
		{"no payload", func() *record.Record { r := good(); r.Payload = nil; return r }, corridor.CodeInvalid, "payload"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t, w.st)
			wantErr(t, w.check(tc.rec()), tc.code, tc.field)
			if after := snapshot(t, w.st); after != before {
				t.Fatalf("a refused record changed the state")
			}
		})
	}
	t.Run("good record passes", func(t *testing.T) {
		size := w.st.Size
		r := good()
		if err := w.check(r); err != nil {
			t.Fatal(err)
		}
		if w.st.Size != size+1 || w.st.Records[r.ID].Index != size || w.st.Records[r.ID].Hash != r.Hash() {
			t.Fatalf("Size %d, ref %+v", w.st.Size, w.st.Records[r.ID])
		}
	})
}

func TestCheckVerifiedKey(t *testing.T) {
	w := newCorridor(t)
	mk := func() *record.Record {
		return tamper(t, w.record("op", corridor.TypePlace, place("shusha", "town", 39.76, 46.75)), "shusha")
	}
	// A key other than the signer's registered key does not excuse the check.
	if _, err := w.st.Check(mk(), w.st.Size, w.keys["mon"].Public, false); err == nil {
		t.Fatal("a tampered record passed with an unrelated verified key")
	} else {
		wantErr(t, err, corridor.CodeBadSignature, "sig")
	}
	// The signer's own key, already checked by the caller, is not checked again.
	if _, err := w.st.Check(mk(), w.st.Size, w.keys["op"].Public, false); err != nil {
		t.Fatalf("verified by the caller: %v", err)
	}
	// Trusted replay skips signatures, but not roles.
	if _, err := w.st.Check(mk(), w.st.Size, nil, true); err != nil {
		t.Fatalf("trusted replay: %v", err)
	}
	r := w.record("mon", corridor.TypePlace, place("shushi", "town", 39.76, 46.75))
	_, err := w.st.Check(r, w.st.Size, nil, true)
	wantErr(t, err, corridor.CodeForbidden, "type")
}

func TestDuplicateRecordID(t *testing.T) {
	w := newCorridor(t)
	r1, err := record.Sign(w.keys["op"], "same-id", corridor.TypePlace, 1, place("shusha", "town", 39.76, 46.75))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.check(r1); err != nil {
		t.Fatal(err)
	}
	others := []struct {
		name string
		by   string
		typ  string
		p    any
	}{
		{"same type, other content", "op", corridor.TypePlace, place("shushi", "town", 39.76, 46.75)},
		{"other type", "op", corridor.TypeRoute, route("r-x", "goris", "lachin")},
		{"other signer", "mon", corridor.TypeStatement, statement("s-dup", "")},
	}
	for _, tc := range others {
		t.Run(tc.name, func(t *testing.T) {
			r2, err := record.Sign(w.keys[tc.by], "same-id", tc.typ, 1, tc.p)
			if err != nil {
				t.Fatal(err)
			}
			before := snapshot(t, w.st)
			wantErr(t, w.check(r2), corridor.CodeDuplicate, "id")
			if snapshot(t, w.st) != before {
				t.Fatal("a duplicate changed the state")
			}
		})
	}
	if _, ok := w.st.Places["shushi"]; ok {
		t.Fatal("the duplicate's place was registered")
	}
}

// ---- roles ----

func TestRoleMatrix(t *testing.T) {
	w := newCorridor(t)
	w.filed("c-filed")
	w.departed("c-moving")
	w.delivered("c-delivered")

	signer := map[corridor.PartyKind]string{
		corridor.Organisation: "org",
		corridor.Authority:    "auth1",
		corridor.Monitor:      "mon",
		corridor.Witness:      "wit",
		corridor.Operator:     "op",
	}
	kinds := []corridor.PartyKind{corridor.Organisation, corridor.Authority, corridor.Monitor, corridor.Witness, corridor.Operator}
	n := 0
	payloads := map[string]func(by string) any{
		corridor.TypeParty: func(string) any {
			n++
			id := fmt.Sprintf("new-%d", n)
			return partyPayload(id, corridor.Organisation, keyFor(id))
		},
		corridor.TypePlace:      func(string) any { return place("shusha", "town", 39.76, 46.75) },
		corridor.TypeRoute:      func(string) any { return route("short-road", "goris", "lachin") },
		corridor.TypeCheckpoint: func(string) any { return checkpoint("cp-lachin", lachinRoad, "lachin", "auth2") },
		corridor.TypeConvoy:     func(by string) any { return convoy("c-new", by) },
		corridor.TypeClearance:  func(by string) any { return approve("c-filed", by, 3) },
		corridor.TypeCheckEvent: func(string) any { return event("c-moving", cp1, corridor.EvArrived, 3) },
		corridor.TypeMove:       func(string) any { return move("c-filed", corridor.MvDeparted, 3) },
		corridor.TypeConfirm:    func(string) any { return &corridor.DeliveryConfirm{Convoy: "c-delivered", At: at(9)} },
		corridor.TypeStatement: func(by string) any {
			s := statement("s-new", "")
			s.SpeakerParty = by
			return s
		},
	}
	allowed := map[string][]corridor.PartyKind{
		corridor.TypeParty:      {corridor.Operator},
		corridor.TypePlace:      {corridor.Operator},
		corridor.TypeRoute:      {corridor.Operator},
		corridor.TypeCheckpoint: {corridor.Operator},
		corridor.TypeConvoy:     {corridor.Organisation},
		corridor.TypeClearance:  {corridor.Authority},
		corridor.TypeCheckEvent: {corridor.Authority},
		corridor.TypeMove:       {corridor.Organisation},
		corridor.TypeConfirm:    {corridor.Monitor},
		corridor.TypeStatement:  {corridor.Monitor, corridor.Organisation, corridor.Authority, corridor.Operator},
	}
	// The matrix covers every registered type, and agrees with the registry.
	for _, rt := range corridor.Types() {
		want, ok := allowed[rt.Name]
		if !ok {
			// Access-monitoring types (monitoring.go) have their own matrix.
			t.Logf("type %s is not covered by this matrix", rt.Name)
			continue
		}
		got := slices.Clone(rt.Signers)
		slices.Sort(got)
		want = slices.Clone(want)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: registry signers %v, matrix %v", rt.Name, got, want)
		}
	}
	for name := range allowed {
		if _, err := corridor.LookupType(name, 1); err != nil {
			t.Errorf("matrix names %s, which is not registered", name)
		}
	}

	for typ, mk := range payloads {
		for _, kind := range kinds {
			t.Run(typ+"/"+string(kind), func(t *testing.T) {
				by := signer[kind]
				before := snapshot(t, w.st)
				w.st.Begin()
				err := w.do(by, typ, mk(by))
				w.st.Rollback()
				if snapshot(t, w.st) != before {
					t.Fatal("Rollback did not restore the state")
				}
				if slices.Contains(allowed[typ], kind) {
					if err != nil {
						t.Fatalf("allowed signer refused: %v", err)
					}
					return
				}
				if !errors.Is(err, corridor.ErrForbidden) {
					t.Fatalf("got %v, want forbidden", err)
				}
				wantErr(t, err, corridor.CodeForbidden, "type")
			})
		}
	}
}

// ---- state rules: registration ----

func TestRegistrationRules(t *testing.T) {
	tests := []struct {
		name  string
		by    string
		typ   string
		p     func(w *world) any
		code  corridor.Code
		field string
	}{
		{"route through an unknown place", "op", corridor.TypeRoute, func(*world) any { return route("r-x", "goris", "yerevan") }, corridor.CodeInvalid, "payload.places[1]"},
		{"checkpoint on an unknown route", "op", corridor.TypeCheckpoint, func(*world) any { return checkpoint("cp-x", "no-road", "goris", "auth1") }, corridor.CodeInvalid, "payload.route"},
		{"checkpoint at a place off the route", "op", corridor.TypeCheckpoint, func(*world) any { return checkpoint("cp-x", lachinRoad, "aghdam", "auth1") }, corridor.CodeInvalid, "payload.place"},
		{"checkpoint run by an unknown party", "op", corridor.TypeCheckpoint, func(*world) any { return checkpoint("cp-x", lachinRoad, "lachin", "nobody") }, corridor.CodeInvalid, "payload.authority"},
		{"checkpoint run by an organisation", "op", corridor.TypeCheckpoint, func(*world) any { return checkpoint("cp-x", lachinRoad, "lachin", "org") }, corridor.CodeInvalid, "payload.authority"},
		{"party kind changes", "op", corridor.TypeParty, func(w *world) any { return partyPayload("org", corridor.Authority, w.keys["org"]) }, corridor.CodeConflict, "payload.kind"},
		{"key of another party", "op", corridor.TypeParty, func(w *world) any { return partyPayload("new", corridor.Monitor, w.keys["org"]) }, corridor.CodeConflict, "payload.keys[0].id"},
		{"convoy on an unknown route", "org", corridor.TypeConvoy, func(*world) any { c := convoy("c-x", "org"); c.Route = "no-road"; return c }, corridor.CodeInvalid, "payload.route"},
		{"convoy origin off the route", "org", corridor.TypeConvoy, func(*world) any { c := convoy("c-x", "org"); c.Origin = "aghdam"; return c }, corridor.CodeInvalid, "payload.origin"},
		{"convoy destination off the route", "org", corridor.TypeConvoy, func(*world) any { c := convoy("c-x", "org"); c.Destination = "askeran"; return c }, corridor.CodeInvalid, "payload.destination"},
		{"convoy going backwards", "org", corridor.TypeConvoy, func(*world) any {
			c := convoy("c-x", "org")
			c.Origin, c.Destination = "stepanakert", "goris"
			return c
		}, corridor.CodeInvalid, "payload.destination"},
		{"convoy filed twice", "org", corridor.TypeConvoy, func(*world) any { return convoy("c-1", "org") }, corridor.CodeConflict, "payload.id"},
		{"statement by an unknown party", "mon", corridor.TypeStatement, func(*world) any { return statement("s-x", "nobody") }, corridor.CodeInvalid, "payload.speaker_party"},
		{"statement recorded twice", "mon", corridor.TypeStatement, func(*world) any { return statement("s-1", "") }, corridor.CodeConflict, "payload.id"},
		{"statement about an unknown route", "mon", corridor.TypeStatement, func(*world) any {
			s := statement("s-x", "")
			s.AboutRoutes = []string{lachinRoad, "no-road"}
			return s
		}, corridor.CodeInvalid, "payload.about_routes[1]"},
		{"statement about an unknown place", "mon", corridor.TypeStatement, func(*world) any {
			s := statement("s-x", "")
			s.AboutPlaces = []string{"nowhere"}
			return s
		}, corridor.CodeInvalid, "payload.about_places[0]"},
		{"organisation records another party's statement", "org", corridor.TypeStatement, func(*world) any { return statement("s-x", "auth1") }, corridor.CodeForbidden, "payload.speaker_party"},
		{"authority records an unattributed statement", "auth1", corridor.TypeStatement, func(*world) any { return statement("s-x", "") }, corridor.CodeForbidden, "payload.speaker_party"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newCorridor(t)
			w.filed("c-1")
			w.must("mon", corridor.TypeStatement, statement("s-1", ""))
			before := snapshot(t, w.st)
			wantErr(t, w.do(tc.by, tc.typ, tc.p(w)), tc.code, tc.field)
			if snapshot(t, w.st) != before {
				t.Fatal("a refused record changed the state")
			}
		})
	}
}

func TestStatementsBySpeaker(t *testing.T) {
	w := newCorridor(t)
	w.must("mon", corridor.TypeStatement, statement("s-1", "auth1")) // a monitor records others' words
	w.must("op", corridor.TypeStatement, statement("s-2", "org"))
	w.must("org", corridor.TypeStatement, statement("s-3", "org"))
	w.must("auth1", corridor.TypeStatement, statement("s-4", "auth1"))
	if len(w.st.Statements) != 4 {
		t.Fatalf("%d statements", len(w.st.Statements))
	}
}

func TestKeyRotation(t *testing.T) {
	w := newCorridor(t)
	old, fresh := w.keys["org"], keyFor("org-2024")
	w.must("op", corridor.TypeParty, partyPayload("org", corridor.Organisation, fresh))
	if _, ok := w.st.Keys[old.ID]; ok {
		t.Fatal("the dropped key is still registered")
	}
	wantErr(t, w.do("org", corridor.TypeConvoy, convoy("c-1", "org")), corridor.CodeUnknownKey, "key")
	w.keys["org"] = fresh
	w.must("org", corridor.TypeConvoy, convoy("c-1", "org"))
	// The dropped key may now be registered to another party.
	w.keys["org3"] = old
	w.must("op", corridor.TypeParty, partyPayload("org3", corridor.Organisation, old))
	if k, p, err := w.st.Signer(old.ID); err != nil || k.Party != "org3" || p.ID != "org3" {
		t.Fatalf("Signer(old) = %v, %v, %v", k, p, err)
	}
}

func TestRouteOrder(t *testing.T) {
	w := newCorridor(t)
	// Registered out of route order: lachin before hakari before kornidzor.
	w.must("op", corridor.TypeCheckpoint, checkpoint("cp-lachin", lachinRoad, "lachin", "auth1"))
	var ids []string
	for _, c := range w.st.RouteCheckpoints(lachinRoad) {
		ids = append(ids, c.ID)
	}
	if want := []string{cp1, cp2, "cp-lachin"}; !slices.Equal(ids, want) {
		t.Fatalf("RouteCheckpoints = %v, want %v", ids, want)
	}
	if got, want := w.st.RouteAuthorities(lachinRoad), []string{"auth1", "auth2"}; !slices.Equal(got, want) {
		t.Fatalf("RouteAuthorities = %v, want %v", got, want)
	}
	if got, want := w.st.RouteAuthorities(aghdamRoad), []string{"auth3", "auth1"}; !slices.Equal(got, want) {
		// same place: by checkpoint id (cp-askeran < cp-askeran-2)
		t.Fatalf("RouteAuthorities(aghdam) = %v, want %v", got, want)
	}
	if w.st.RouteCheckpoints("no-road") != nil {
		t.Fatal("checkpoints on an unknown route")
	}
}

// ---- convoy lifecycle ----

func TestConvoyLifecycle(t *testing.T) {
	w := newCorridor(t)
	const id = "c-paris"
	type want struct {
		status  corridor.ConvoyStatus
		cp      string
		passed  []string
		removed []corridor.LineQty
		flags   []string
	}
	passedLess := event(id, cp1, corridor.EvPassedLess, 4)
	passedLess.ReasonCategory = "prohibited-items"
	passedLess.Removed = []corridor.LineQty{{Line: 1, Quantity: 10, Kg: 50}}
	held := event(id, cp2, corridor.EvHeld, 5)
	held.ExpectedRelease = "2023-08-31"
	delivered := move(id, corridor.MvDelivered, 30)
	delivered.Received = []corridor.LineQty{{Line: 0, Quantity: 40, Kg: 40000}, {Line: 1, Quantity: 90, Kg: 450}}
	removed := []corridor.LineQty{{Line: 1, Quantity: 10, Kg: 50}}

	steps := []struct {
		name string
		by   string
		typ  string
		p    any
		want want
	}{
		{"filed", "org", corridor.TypeConvoy, convoy(id, "org"), want{status: corridor.StatusFiled}},
		{"approved by auth1", "auth1", corridor.TypeClearance, approve(id, "auth1", 0), want{status: corridor.StatusFiled}},
		{"approved with conditions by auth2", "auth2", corridor.TypeClearance, &corridor.ClearanceAnswer{
			Convoy: id, Authority: "auth2", Decision: corridor.ApprovedWithConditions, Conditions: "escorted", At: at(1),
		}, want{status: corridor.StatusFiled}},
		{"departed", "org", corridor.TypeMove, move(id, corridor.MvDeparted, 2), want{status: corridor.StatusDeparted}},
		{"arrived at cp1", "auth1", corridor.TypeCheckEvent, event(id, cp1, corridor.EvArrived, 3), want{status: corridor.StatusAtCheckpt, cp: cp1}},
		{"inspected at cp1", "auth1", corridor.TypeCheckEvent, event(id, cp1, corridor.EvInspected, 3), want{status: corridor.StatusAtCheckpt, cp: cp1}},
		{"passed cp1 with removals", "auth1", corridor.TypeCheckEvent, passedLess, want{status: corridor.StatusEnRoute, cp: cp1, passed: []string{cp1}, removed: removed}},
		{"held at cp2", "auth2", corridor.TypeCheckEvent, held, want{status: corridor.StatusHeld, cp: cp2, passed: []string{cp1}, removed: removed}},
		{"passed cp2", "auth2", corridor.TypeCheckEvent, event(id, cp2, corridor.EvPassed, 28), want{status: corridor.StatusEnRoute, cp: cp2, passed: []string{cp1, cp2}, removed: removed}},
		{"delivered", "org", corridor.TypeMove, delivered, want{status: corridor.StatusDelivered, cp: cp2, passed: []string{cp1, cp2}, removed: removed}},
	}
	for _, s := range steps {
		r := w.record(s.by, s.typ, s.p)
		idx := w.st.Size
		if err := w.check(r); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		c := w.convoyState(id)
		if c.Status != s.want.status || c.Checkpoint != s.want.cp || !slices.Equal(c.Passed, s.want.passed) ||
			!slices.Equal(c.Removed, s.want.removed) || !slices.Equal(c.Flags, s.want.flags) {
			t.Fatalf("%s: status %s at %q, passed %v, removed %v, flags %v; want %+v", s.name, c.Status, c.Checkpoint, c.Passed, c.Removed, c.Flags, s.want)
		}
		if c.Updated != idx {
			t.Fatalf("%s: Updated %d, want %d", s.name, c.Updated, idx)
		}
		if s.name == "filed" && c.Index != idx {
			t.Fatalf("filed: Index %d, want %d", c.Index, idx)
		}
	}
	c := w.convoyState(id)
	if !slices.Equal(c.Received, delivered.Received) {
		t.Fatalf("Received %v", c.Received)
	}
	if len(c.Clearance) != 2 || c.Clearance["auth2"].Conditions != "escorted" {
		t.Fatalf("Clearance %v", c.Clearance)
	}
	if !c.LastAt.Equal(at(30)) {
		t.Fatalf("LastAt %v", c.LastAt)
	}
	if !c.Status.Terminal() {
		t.Fatal("delivered is not terminal")
	}
	// Nothing moves after delivery.
	wantErr(t, w.do("org", corridor.TypeMove, move(id, corridor.MvReturned, 31)), corridor.CodeConflict, "payload.event")
	wantErr(t, w.do("org", corridor.TypeMove, move(id, corridor.MvCancelled, 31)), corridor.CodeConflict, "payload.event")
	wantErr(t, w.do("auth1", corridor.TypeClearance, approve(id, "auth1", 31)), corridor.CodeConflict, "payload.convoy")
	wantErr(t, w.do("auth2", corridor.TypeCheckEvent, event(id, cp2, corridor.EvArrived, 31)), corridor.CodeConflict, "payload.checkpoint")
}

func TestDepartureAgreement(t *testing.T) {
	conditional := func(cv, a string, h int) *corridor.ClearanceAnswer {
		return &corridor.ClearanceAnswer{Convoy: cv, Authority: a, Decision: corridor.ApprovedWithConditions, Conditions: "inspection at the bridge", At: at(h)}
	}
	tests := []struct {
		name    string
		answers []*corridor.ClearanceAnswer
		flagged bool
	}{
		{"no answers", nil, true},
		{"only auth1 approved", []*corridor.ClearanceAnswer{approve("c", "auth1", 0)}, true},
		{"only auth2 approved", []*corridor.ClearanceAnswer{approve("c", "auth2", 0)}, true},
		{"auth2 refused", []*corridor.ClearanceAnswer{approve("c", "auth1", 0), refuse("c", "auth2", 1)}, true},
		{"both approved", []*corridor.ClearanceAnswer{approve("c", "auth1", 0), approve("c", "auth2", 1)}, false},
		{"approved with conditions", []*corridor.ClearanceAnswer{conditional("c", "auth1", 0), conditional("c", "auth2", 1)}, false},
		{"refused, then approved", []*corridor.ClearanceAnswer{approve("c", "auth1", 0), refuse("c", "auth2", 1), approve("c", "auth2", 1)}, false},
		{"approved, then refused", []*corridor.ClearanceAnswer{approve("c", "auth1", 0), approve("c", "auth2", 1), refuse("c", "auth2", 1)}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newCorridor(t)
			w.filed("c")
			for _, a := range tc.answers {
				w.must(a.Authority, corridor.TypeClearance, a)
			}
			if got := w.st.Agreed(w.convoyState("c")); got == tc.flagged {
				t.Fatalf("Agreed = %v", got)
			}
			w.must("org", corridor.TypeMove, move("c", corridor.MvDeparted, 2))
			c := w.convoyState("c")
			if c.Status != corridor.StatusDeparted {
				t.Fatalf("status %s", c.Status)
			}
			if c.HasFlag(corridor.FlagNoAgreement) != tc.flagged {
				t.Fatalf("flags %v, want flagged=%v", c.Flags, tc.flagged)
			}
			// The flag stays through the journey.
			w.must("auth1", corridor.TypeCheckEvent, event("c", cp1, corridor.EvPassed, 3))
			if w.convoyState("c").HasFlag(corridor.FlagNoAgreement) != tc.flagged {
				t.Fatalf("flags after passing: %v", w.convoyState("c").Flags)
			}
		})
	}
}

// ---- invariants ----

func TestEventAtCheckpointOffRoute(t *testing.T) {
	w := newCorridor(t)
	w.departed("c")
	// cp4 is on the Aghdam road, run by auth1, which also runs cp1 on the convoy's route.
	wantErr(t, w.do("auth1", corridor.TypeCheckEvent, event("c", cp4, corridor.EvArrived, 3)), corridor.CodeConflict, "payload.checkpoint")
	wantErr(t, w.do("auth1", corridor.TypeCheckEvent, event("c", "cp-nowhere", corridor.EvArrived, 3)), corridor.CodeInvalid, "payload.checkpoint")
}

func TestEventAtAnotherAuthoritysCheckpoint(t *testing.T) {
	w := newCorridor(t)
	w.departed("c")
	err := w.do("auth2", corridor.TypeCheckEvent, event("c", cp1, corridor.EvArrived, 3))
	if !errors.Is(err, corridor.ErrForbidden) {
		t.Fatalf("got %v", err)
	}
	wantErr(t, err, corridor.CodeForbidden, "payload.checkpoint")
	// An authority on another route altogether.
	wantErr(t, w.do("auth3", corridor.TypeCheckEvent, event("c", cp1, corridor.EvArrived, 3)), corridor.CodeForbidden, "payload.checkpoint")
}

func TestDeliverMoreThanLeft(t *testing.T) {
	tests := []struct {
		name     string
		removed  []corridor.LineQty // at cp1
		received []corridor.LineQty
		code     corridor.Code
		field    string
	}{
		{"all of it, nothing removed", nil, []corridor.LineQty{{Line: 0, Quantity: 40, Kg: 40000}, {Line: 1, Quantity: 100, Kg: 500}}, "", ""},
		{"more than loaded", nil, []corridor.LineQty{{Line: 0, Quantity: 41, Kg: 40000}}, corridor.CodeConflict, "payload.received[0]"},
		{"more kg than loaded", nil, []corridor.LineQty{{Line: 1, Quantity: 100, Kg: 501}}, corridor.CodeConflict, "payload.received[0]"},
		{"what is left after removal", []corridor.LineQty{{Line: 1, Quantity: 10, Kg: 50}}, []corridor.LineQty{{Line: 0, Quantity: 40, Kg: 40000}, {Line: 1, Quantity: 90, Kg: 450}}, "", ""},
		{"more than left after removal", []corridor.LineQty{{Line: 1, Quantity: 10, Kg: 50}}, []corridor.LineQty{{Line: 0, Quantity: 40, Kg: 40000}, {Line: 1, Quantity: 91, Kg: 450}}, corridor.CodeConflict, "payload.received[1]"},
		{"more kg than left after removal", []corridor.LineQty{{Line: 1, Quantity: 10, Kg: 50}}, []corridor.LineQty{{Line: 1, Quantity: 90, Kg: 451}}, corridor.CodeConflict, "payload.received[0]"},
		{"everything removed, nothing received", []corridor.LineQty{{Line: 0, Quantity: 40, Kg: 40000}}, []corridor.LineQty{{Line: 0, Quantity: 0, Kg: 0}}, "", ""},
		{"everything removed, something received", []corridor.LineQty{{Line: 0, Quantity: 40, Kg: 40000}}, []corridor.LineQty{{Line: 0, Quantity: 0.5, Kg: 0}}, corridor.CodeConflict, "payload.received[0]"},
		{"a line not in the manifest", nil, []corridor.LineQty{{Line: 2, Quantity: 1, Kg: 1}}, corridor.CodeInvalid, "payload.received[0].line"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newCorridor(t)
			w.departed("c")
			if tc.removed != nil {
				e := event("c", cp1, corridor.EvPassedLess, 3)
				e.Removed = tc.removed
				w.must("auth1", corridor.TypeCheckEvent, e)
			} else {
				w.must("auth1", corridor.TypeCheckEvent, event("c", cp1, corridor.EvPassed, 3))
			}
			mv := move("c", corridor.MvDelivered, 5)
			mv.Received = tc.received
			err := w.do("org", corridor.TypeMove, mv)
			if tc.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				if w.convoyState("c").Status != corridor.StatusDelivered {
					t.Fatalf("status %s", w.convoyState("c").Status)
				}
				return
			}
			wantErr(t, err, tc.code, tc.field)
			if w.convoyState("c").Status != corridor.StatusEnRoute {
				t.Fatalf("a refused delivery changed the status to %s", w.convoyState("c").Status)
			}
		})
	}
}

func TestRemoveMoreThanLoaded(t *testing.T) {
	w := newCorridor(t)
	w.departed("c")
	e := event("c", cp1, corridor.EvPassedLess, 3)
	e.Removed = []corridor.LineQty{{Line: 1, Quantity: 60, Kg: 300}}
	w.must("auth1", corridor.TypeCheckEvent, e)
	e = event("c", cp2, corridor.EvPassedLess, 4)
	e.Removed = []corridor.LineQty{{Line: 0, Quantity: 1, Kg: 1000}, {Line: 1, Quantity: 41, Kg: 200}}
	wantErr(t, w.do("auth2", corridor.TypeCheckEvent, e), corridor.CodeConflict, "payload.removed[1]")
	e.Removed = []corridor.LineQty{{Line: 2, Quantity: 1, Kg: 1}}
	wantErr(t, w.do("auth2", corridor.TypeCheckEvent, e), corridor.CodeInvalid, "payload.removed[0].line")
	e.Removed = []corridor.LineQty{{Line: 1, Quantity: 40, Kg: 200}}
	w.must("auth2", corridor.TypeCheckEvent, e)
	c := w.convoyState("c")
	if q, kg := sumRemoved(c.Removed, 1); q != 100 || kg != 500 {
		t.Fatalf("removed from line 1: %g, %g kg", q, kg)
	}
	if c.Status != corridor.StatusEnRoute || !slices.Equal(c.Passed, []string{cp1, cp2}) {
		t.Fatalf("status %s, passed %v", c.Status, c.Passed)
	}
}

func sumRemoved(q []corridor.LineQty, line int) (qty, kg float64) {
	for _, l := range q {
		if l.Line == line {
			qty += l.Quantity
			kg += l.Kg
		}
	}
	return qty, kg
}

func TestCheckpointOrder(t *testing.T) {
	t.Run("cp2 before cp1 without a reason", func(t *testing.T) {
		w := newCorridor(t)
		w.departed("c")
		wantErr(t, w.do("auth2", corridor.TypeCheckEvent, event("c", cp2, corridor.EvArrived, 3)), corridor.CodeConflict, "payload.checkpoint")
		if c := w.convoyState("c"); c.Status != corridor.StatusDeparted || len(c.Flags) != 0 {
			t.Fatalf("status %s, flags %v", c.Status, c.Flags)
		}
	})
	t.Run("cp2 before cp1 with a reason", func(t *testing.T) {
		w := newCorridor(t)
		w.departed("c")
		e := event("c", cp2, corridor.EvArrived, 3)
		e.OutOfOrder = "the convoy took the bypass around Kornidzor"
		w.must("auth2", corridor.TypeCheckEvent, e)
		c := w.convoyState("c")
		if c.Status != corridor.StatusAtCheckpt || c.Checkpoint != cp2 || !c.HasFlag(corridor.FlagOutOfOrder) || c.HasFlag(corridor.FlagNoAgreement) {
			t.Fatalf("status %s at %s, flags %v", c.Status, c.Checkpoint, c.Flags)
		}
		w.must("auth2", corridor.TypeCheckEvent, event("c", cp2, corridor.EvPassed, 4))
		// cp1 is now the next one: no reason needed.
		w.must("auth1", corridor.TypeCheckEvent, event("c", cp1, corridor.EvPassed, 5))
		c = w.convoyState("c")
		if !slices.Equal(c.Passed, []string{cp2, cp1}) || len(c.Flags) != 1 {
			t.Fatalf("passed %v, flags %v", c.Passed, c.Flags)
		}
	})
	t.Run("passing a checkpoint twice", func(t *testing.T) {
		w := newCorridor(t)
		w.departed("c")
		w.must("auth1", corridor.TypeCheckEvent, event("c", cp1, corridor.EvPassed, 3))
		wantErr(t, w.do("auth1", corridor.TypeCheckEvent, event("c", cp1, corridor.EvArrived, 4)), corridor.CodeConflict, "payload.checkpoint")
	})
	t.Run("at one checkpoint, event at another", func(t *testing.T) {
		w := newCorridor(t)
		w.departed("c")
		w.must("auth1", corridor.TypeCheckEvent, event("c", cp1, corridor.EvHeld, 3))
		e := event("c", cp2, corridor.EvArrived, 4)
		e.OutOfOrder = "reported late"
		wantErr(t, w.do("auth2", corridor.TypeCheckEvent, e), corridor.CodeConflict, "payload.event")
	})
}

func TestEventTimeGoesBackwards(t *testing.T) {
	tests := []struct {
		name string
		by   string
		typ  string
		p    any
	}{
		{"checkpoint event", "auth1", corridor.TypeCheckEvent, event("c", cp1, corridor.EvArrived, 4)},
		{"convoy move", "org", corridor.TypeMove, move("c", corridor.MvReturned, 4)},
		{"clearance answer", "auth2", corridor.TypeClearance, approve("c", "auth2", 4)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newCorridor(t)
			w.departed("c")                                                                  // hours 0–2
			w.must("auth1", corridor.TypeCheckEvent, event("c", cp1, corridor.EvArrived, 5)) // hour 5
			before := snapshot(t, w.st)
			wantErr(t, w.do(tc.by, tc.typ, tc.p), corridor.CodeConflict, "payload.at")
			if snapshot(t, w.st) != before {
				t.Fatal("a refused record changed the state")
			}
		})
	}
	t.Run("same time is allowed", func(t *testing.T) {
		w := newCorridor(t)
		w.departed("c")
		w.must("auth1", corridor.TypeCheckEvent, event("c", cp1, corridor.EvArrived, 2))
		w.must("auth1", corridor.TypeCheckEvent, event("c", cp1, corridor.EvPassed, 2))
	})
}

func TestFilingInAnotherName(t *testing.T) {
	w := newCorridor(t)
	err := w.do("org", corridor.TypeConvoy, convoy("c", "org2"))
	if !errors.Is(err, corridor.ErrForbidden) {
		t.Fatalf("got %v", err)
	}
	wantErr(t, err, corridor.CodeForbidden, "payload.organisation")
	if _, ok := w.st.Convoys["c"]; ok {
		t.Fatal("the convoy was filed")
	}
	// Nor may an organisation move another's convoy.
	w.must("org2", corridor.TypeConvoy, convoy("c", "org2"))
	wantErr(t, w.do("org", corridor.TypeMove, move("c", corridor.MvDeparted, 1)), corridor.CodeForbidden, "payload.convoy")
	wantErr(t, w.do("org", corridor.TypeMove, move("c-unknown", corridor.MvDeparted, 1)), corridor.CodeInvalid, "payload.convoy")
}

func TestClearanceRules(t *testing.T) {
	tests := []struct {
		name  string
		by    string
		a     *corridor.ClearanceAnswer
		code  corridor.Code
		field string
	}{
		{"authority with no checkpoint on the route", "auth3", approve("c", "auth3", 0), corridor.CodeForbidden, "payload.convoy"},
		{"answering in another authority's name", "auth1", approve("c", "auth2", 0), corridor.CodeForbidden, "payload.authority"},
		{"unknown convoy", "auth1", approve("c-unknown", "auth1", 0), corridor.CodeInvalid, "payload.convoy"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newCorridor(t)
			w.filed("c")
			before := snapshot(t, w.st)
			err := w.do(tc.by, corridor.TypeClearance, tc.a)
			wantErr(t, err, tc.code, tc.field)
			if snapshot(t, w.st) != before {
				t.Fatal("a refused answer changed the state")
			}
		})
	}
}

func TestEventsBeforeDeparture(t *testing.T) {
	for _, ev := range corridor.CheckpointEvents {
		t.Run(ev, func(t *testing.T) {
			w := newCorridor(t)
			w.filed("c")
			w.must("auth1", corridor.TypeClearance, approve("c", "auth1", 0))
			e := event("c", cp1, ev, 1)
			if ev == corridor.EvPassedLess {
				e.Removed = []corridor.LineQty{{Line: 0, Quantity: 1, Kg: 1000}}
			}
			wantErr(t, w.do("auth1", corridor.TypeCheckEvent, e), corridor.CodeConflict, "payload.event")
			if w.convoyState("c").Status != corridor.StatusFiled {
				t.Fatal("status changed")
			}
		})
	}
}

func TestRefusedConvoyOnlyTurnsBack(t *testing.T) {
	for _, ev := range corridor.CheckpointEvents {
		t.Run(ev, func(t *testing.T) {
			w := newCorridor(t)
			w.departed("c")
			w.must("auth1", corridor.TypeCheckEvent, event("c", cp1, corridor.EvRefused, 3))
			if c := w.convoyState("c"); c.Status != corridor.StatusRefused || c.Checkpoint != cp1 {
				t.Fatalf("status %s at %s", c.Status, c.Checkpoint)
			}
			e := event("c", cp1, ev, 4)
			if ev == corridor.EvPassedLess {
				e.Removed = []corridor.LineQty{{Line: 0, Quantity: 1, Kg: 1000}}
			}
			err := w.do("auth1", corridor.TypeCheckEvent, e)
			if ev != corridor.EvTurnedBack {
				wantErr(t, err, corridor.CodeConflict, "payload.event")
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c := w.convoyState("c")
			if c.Status != corridor.StatusTurnedBack || len(c.Passed) != 0 {
				t.Fatalf("status %s, passed %v", c.Status, c.Passed)
			}
		})
	}
	t.Run("refused convoy cannot move on", func(t *testing.T) {
		w := newCorridor(t)
		w.departed("c")
		w.must("auth1", corridor.TypeCheckEvent, event("c", cp1, corridor.EvRefused, 3))
		e := event("c", cp2, corridor.EvArrived, 4)
		e.OutOfOrder = "went round"
		wantErr(t, w.do("auth2", corridor.TypeCheckEvent, e), corridor.CodeConflict, "payload.event")
		mv := move("c", corridor.MvDelivered, 4)
		mv.Received = []corridor.LineQty{{Line: 0, Quantity: 1, Kg: 1000}}
		wantErr(t, w.do("org", corridor.TypeMove, mv), corridor.CodeConflict, "payload.event")
		// After turning back, the organisation can record its return.
		w.must("auth1", corridor.TypeCheckEvent, event("c", cp1, corridor.EvTurnedBack, 5))
		wantErr(t, w.do("auth1", corridor.TypeCheckEvent, event("c", cp1, corridor.EvPassed, 6)), corridor.CodeConflict, "payload.event")
		w.must("org", corridor.TypeMove, move("c", corridor.MvReturned, 9))
		if s := w.convoyState("c").Status; s != corridor.StatusReturned {
			t.Fatalf("status %s", s)
		}
	})
}

func TestMoveTransitions(t *testing.T) {
	// Which organisation movements each status allows.
	setups := map[corridor.ConvoyStatus]func(w *world){
		corridor.StatusFiled:    func(w *world) { w.filed("c") },
		corridor.StatusDeparted: func(w *world) { w.departed("c") },
		corridor.StatusAtCheckpt: func(w *world) {
			w.departed("c")
			w.must("auth1", corridor.TypeCheckEvent, event("c", cp1, corridor.EvArrived, 3))
		},
		corridor.StatusHeld: func(w *world) {
			w.departed("c")
			w.must("auth1", corridor.TypeCheckEvent, event("c", cp1, corridor.EvHeld, 3))
		},
		corridor.StatusEnRoute: func(w *world) {
			w.departed("c")
			w.must("auth1", corridor.TypeCheckEvent, event("c", cp1, corridor.EvPassed, 3))
		},
		corridor.StatusRefused: func(w *world) {
			w.departed("c")
			w.must("auth1", corridor.TypeCheckEvent, event("c", cp1, corridor.EvRefused, 3))
		},
		corridor.StatusTurnedBack: func(w *world) {
			w.departed("c")
			w.must("auth1", corridor.TypeCheckEvent, event("c", cp1, corridor.EvTurnedBack, 3))
		},
		corridor.StatusCancelled: func(w *world) {
			w.filed("c")
			w.must("org", corridor.TypeMove, move("c", corridor.MvCancelled, 3))
		},
		corridor.StatusReturned: func(w *world) {
			w.departed("c")
			w.must("org", corridor.TypeMove, move("c", corridor.MvReturned, 3))
		},
	}
	allowed := map[corridor.ConvoyStatus][]string{
		corridor.StatusFiled:      {corridor.MvDeparted, corridor.MvCancelled},
		corridor.StatusDeparted:   {corridor.MvDelivered, corridor.MvReturned},
		corridor.StatusAtCheckpt:  {corridor.MvReturned},
		corridor.StatusHeld:       {corridor.MvReturned, corridor.MvCancelled},
		corridor.StatusEnRoute:    {corridor.MvDelivered, corridor.MvReturned},
		corridor.StatusRefused:    {corridor.MvReturned, corridor.MvCancelled},
		corridor.StatusTurnedBack: {corridor.MvReturned, corridor.MvCancelled},
		corridor.StatusCancelled:  {},
		corridor.StatusReturned:   {},
	}
	result := map[string]corridor.ConvoyStatus{
		corridor.MvDeparted:  corridor.StatusDeparted,
		corridor.MvDelivered: corridor.StatusDelivered,
		corridor.MvReturned:  corridor.StatusReturned,
		corridor.MvCancelled: corridor.StatusCancelled,
	}
	for status, setup := range setups {
		for _, mvName := range corridor.ConvoyMoves {
			t.Run(string(status)+"/"+mvName, func(t *testing.T) {
				w := newCorridor(t)
				setup(w)
				if s := w.convoyState("c").Status; s != status {
					t.Fatalf("setup reached %s, want %s", s, status)
				}
				mv := move("c", mvName, 10)
				if mvName == corridor.MvDelivered {
					mv.Received = []corridor.LineQty{{Line: 0, Quantity: 40, Kg: 40000}}
				}
				err := w.do("org", corridor.TypeMove, mv)
				if slices.Contains(allowed[status], mvName) {
					if err != nil {
						t.Fatal(err)
					}
					if s := w.convoyState("c").Status; s != result[mvName] {
						t.Fatalf("status %s, want %s", s, result[mvName])
					}
					return
				}
				wantErr(t, err, corridor.CodeConflict, "payload.event")
			})
		}
	}
}

// ---- rollback ----

func TestRollback(t *testing.T) {
	w := newCorridor(t)
	w.filed("c-old")
	atBegin := snapshot(t, w.st)
	sizeAtBegin := w.st.Size

	w.st.Begin()
	// First batch: a new party, a convoy and its clearances, a failed record.
	w.party("org3", corridor.Organisation)
	w.filed("c1")
	w.must("auth1", corridor.TypeClearance, approve("c1", "auth1", 0))
	w.must("auth1", corridor.TypeClearance, approve("c-old", "auth1", 0))
	if err := w.do("org", corridor.TypeConvoy, convoy("c2", "org2")); err == nil { // refused: leaves nothing
		t.Fatal("filing in another's name passed")
	}
	mark := w.st.Mark()
	atMark := snapshot(t, w.st)
	sizeAtMark := w.st.Size
	oldOrgKey := w.keys["org"]

	// Second batch: changes to existing entries of every map.
	w.must("auth2", corridor.TypeClearance, approve("c1", "auth2", 1))
	w.must("org", corridor.TypeMove, move("c1", corridor.MvDeparted, 2))
	w.must("auth1", corridor.TypeCheckEvent, event("c1", cp1, corridor.EvPassed, 3))
	w.must("org", corridor.TypeMove, move("c-old", corridor.MvCancelled, 3))
	w.must("op", corridor.TypePlace, place("goris", "town", 39.5, 46.4)) // re-registered
	w.must("op", corridor.TypePlace, place("shusha", "town", 39.76, 46.75))
	w.must("op", corridor.TypeRoute, route("r2", "goris", "shusha"))
	w.must("op", corridor.TypeCheckpoint, checkpoint("cp-shusha", "r2", "shusha", "auth2"))
	w.must("mon", corridor.TypeStatement, statement("s1", "org"))
	newKey := keyFor("org-rotated")
	w.must("op", corridor.TypeParty, partyPayload("org", corridor.Organisation, newKey)) // drops org's old key
	w.keys["org"] = newKey
	w.filed("c3")
	if w.st.Size == sizeAtMark {
		t.Fatal("nothing applied after the mark")
	}

	w.st.RollbackTo(mark)
	if got := snapshot(t, w.st); got != atMark {
		t.Fatalf("RollbackTo(mark) did not restore the state at the mark:\n got %s\nwant %s", got, atMark)
	}
	if w.st.Size != sizeAtMark {
		t.Fatalf("Size %d, want %d", w.st.Size, sizeAtMark)
	}
	if _, ok := w.st.Keys[oldOrgKey.ID]; !ok {
		t.Fatal("org's dropped key was not restored")
	}
	if _, ok := w.st.Keys[newKey.ID]; ok {
		t.Fatal("org's new key survived the rollback")
	}
	if c := w.convoyState("c1"); c.Status != corridor.StatusFiled || len(c.Clearance) != 1 {
		t.Fatalf("c1: %s, clearance %v", c.Status, c.Clearance)
	}
	if c := w.convoyState("c-old"); c.Status != corridor.StatusFiled {
		t.Fatalf("c-old: %s", c.Status)
	}

	// The state works on from the mark: the old key signs again, and the
	// same records can be applied again.
	w.keys["org"] = oldOrgKey
	w.must("auth2", corridor.TypeClearance, approve("c1", "auth2", 1))
	w.must("org", corridor.TypeMove, move("c1", corridor.MvDeparted, 2))
	if c := w.convoyState("c1"); c.Status != corridor.StatusDeparted || c.HasFlag(corridor.FlagNoAgreement) {
		t.Fatalf("c1 after redoing: %s, %v", c.Status, c.Flags)
	}

	w.st.Rollback()
	if got := snapshot(t, w.st); got != atBegin {
		t.Fatalf("Rollback did not restore the state at Begin:\n got %s\nwant %s", got, atBegin)
	}
	if w.st.Size != sizeAtBegin {
		t.Fatalf("Size %d, want %d", w.st.Size, sizeAtBegin)
	}
	for _, id := range []string{"c1", "c2", "c3"} {
		if _, ok := w.st.Convoys[id]; ok {
			t.Fatalf("convoy %s survived Rollback", id)
		}
	}
	if _, ok := w.st.Parties["org3"]; ok {
		t.Fatal("org3 survived Rollback")
	}
}

func TestCommitKeepsChanges(t *testing.T) {
	w := newCorridor(t)
	w.st.Begin()
	w.filed("c1")
	w.st.Commit()
	after := snapshot(t, w.st)
	w.st.Rollback() // nothing to undo after Commit
	if snapshot(t, w.st) != after {
		t.Fatal("Rollback after Commit undid committed changes")
	}
	// Outside Begin/Commit, changes are not recorded for undo.
	w.filed("c2")
	w.st.Rollback()
	if _, ok := w.st.Convoys["c2"]; !ok {
		t.Fatal("Rollback outside a transaction undid a change")
	}
}

func TestRollbackNestedMarks(t *testing.T) {
	w := newCorridor(t)
	w.st.Begin()
	w.filed("c1")
	m1 := w.st.Mark()
	s1 := snapshot(t, w.st)
	w.filed("c2")
	m2 := w.st.Mark()
	s2 := snapshot(t, w.st)
	w.filed("c3")
	w.st.RollbackTo(m2)
	if snapshot(t, w.st) != s2 {
		t.Fatal("RollbackTo(m2)")
	}
	w.st.RollbackTo(m1)
	if snapshot(t, w.st) != s1 {
		t.Fatal("RollbackTo(m1)")
	}
	w.st.RollbackTo(m1) // again: nothing to undo
	if snapshot(t, w.st) != s1 {
		t.Fatal("RollbackTo(m1) twice")
	}
	w.st.Commit()
	if _, ok := w.st.Convoys["c1"]; !ok {
		t.Fatal("c1 lost at Commit")
	}
}

// TestCheckpointBehindOriginIsNotNext: a convoy that sets out beyond a
// checkpoint never passes it, so the next checkpoint in route order is the
// first one after its origin.
//
// BUG (state.go, applyCheckpointEvent, the "next checkpoint" loop over
// st.RouteCheckpoints): the loop takes the first checkpoint of the whole route
// that the convoy has not passed, ignoring the convoy's origin. A convoy filed
// from a place past a checkpoint is refused at the first checkpoint it really
// meets (conflict at payload.checkpoint) unless the authority invents an
// out_of_order_reason, which then flags it "checkpoint-out-of-route-order".
func TestCheckpointBehindOriginIsNotNext(t *testing.T) {
	w := newCorridor(t)
	// goris → kornidzor (cp-a, auth1) → lachin → aghdam (cp-b, auth2) → stepanakert
	w.must("op", corridor.TypeRoute, route("r-long", "goris", "kornidzor", "lachin", "aghdam", "stepanakert"))
	w.must("op", corridor.TypeCheckpoint, checkpoint("cp-a", "r-long", "kornidzor", "auth1"))
	w.must("op", corridor.TypeCheckpoint, checkpoint("cp-b", "r-long", "aghdam", "auth2"))
	c := convoy("c-mid", "org")
	c.Route, c.Origin = "r-long", "lachin" // sets out past cp-a
	w.must("org", corridor.TypeConvoy, c)
	// auth1 runs no checkpoint on this convoy's way: no request goes to it.
	wantErr(t, w.do("auth1", corridor.TypeClearance, approve("c-mid", "auth1", 0)), corridor.CodeForbidden, "payload.convoy")
	w.must("auth2", corridor.TypeClearance, approve("c-mid", "auth2", 1))
	w.must("org", corridor.TypeMove, move("c-mid", corridor.MvDeparted, 2))
	if cs := w.convoyState("c-mid"); cs.HasFlag(corridor.FlagNoAgreement) {
		t.Fatalf("departed with the agreement of every authority on its way, yet flagged %v", cs.Flags)
	}
	// Nor can cp-a, behind the origin, record anything about it.
	wantErr(t, w.do("auth1", corridor.TypeCheckEvent, event("c-mid", "cp-a", corridor.EvArrived, 3)), corridor.CodeConflict, "payload.checkpoint")
	if err := w.do("auth2", corridor.TypeCheckEvent, event("c-mid", "cp-b", corridor.EvArrived, 3)); err != nil {
		t.Fatalf("arrival at the first checkpoint after the origin: %v", err)
	}
	if cs := w.convoyState("c-mid"); cs.HasFlag(corridor.FlagOutOfOrder) {
		t.Fatalf("flags %v", cs.Flags)
	}
}

func TestDeliveryConfirm(t *testing.T) {
	tests := []struct {
		name  string
		setup func(w *world)
		c     *corridor.DeliveryConfirm
		code  corridor.Code
		field string
	}{
		{"delivered convoy", func(w *world) { w.delivered("c") }, &corridor.DeliveryConfirm{Convoy: "c", At: at(6)}, "", ""},
		{"at the delivery time", func(w *world) { w.delivered("c") }, &corridor.DeliveryConfirm{Convoy: "c", At: at(5)}, "", ""},
		{"before the delivery", func(w *world) { w.delivered("c") }, &corridor.DeliveryConfirm{Convoy: "c", At: at(4)}, corridor.CodeConflict, "payload.at"},
		{"convoy still on the road", func(w *world) { w.departed("c") }, &corridor.DeliveryConfirm{Convoy: "c", At: at(6)}, corridor.CodeConflict, "payload.convoy"},
		{"unknown convoy", func(w *world) {}, &corridor.DeliveryConfirm{Convoy: "c", At: at(6)}, corridor.CodeInvalid, "payload.convoy"},
		{"no time", func(w *world) { w.delivered("c") }, &corridor.DeliveryConfirm{Convoy: "c"}, corridor.CodeInvalid, "payload.at"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newCorridor(t)
			tc.setup(w)
			err := w.do("mon", corridor.TypeConfirm, tc.c)
			if tc.code != "" {
				wantErr(t, err, tc.code, tc.field)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c := w.convoyState("c")
			if c.Status != corridor.StatusDelivered || !c.HasFlag(corridor.FlagConfirmed) {
				t.Fatalf("status %s, flags %v", c.Status, c.Flags)
			}
			// A second confirmation does not add the flag twice.
			w.must("mon", corridor.TypeConfirm, &corridor.DeliveryConfirm{Convoy: "c", At: at(7)})
			if n := len(w.convoyState("c").Flags); n != 1 {
				t.Fatalf("flags %v", w.convoyState("c").Flags)
			}
		})
	}
}

// A checkpoint records events only while it operates.
func TestCheckpointOperatingPeriod(t *testing.T) {
	w := newCorridor(t)
	w.must("op", corridor.TypeRoute, route("r-dated", "goris", "lachin"))
	cp := checkpoint("cp-dated", "r-dated", "lachin", "auth1")
	cp.From, cp.To = "2023-09-01", "2023-09-30"
	w.must("op", corridor.TypeCheckpoint, cp)
	c := convoy("c-dated", "org")
	c.Route, c.Origin, c.Destination = "r-dated", "goris", "lachin"
	w.must("org", corridor.TypeConvoy, c)
	w.must("org", corridor.TypeMove, &corridor.ConvoyMove{Convoy: "c-dated", Event: corridor.MvDeparted, At: time.Date(2023, 8, 30, 8, 0, 0, 0, time.UTC)})
	early := &corridor.CheckpointEvent{Convoy: "c-dated", Checkpoint: "cp-dated", Event: corridor.EvArrived, At: time.Date(2023, 8, 31, 8, 0, 0, 0, time.UTC)}
	wantErr(t, w.do("auth1", corridor.TypeCheckEvent, early), corridor.CodeConflict, "payload.at")
	early.At = time.Date(2023, 9, 1, 8, 0, 0, 0, time.UTC)
	w.must("auth1", corridor.TypeCheckEvent, early)
}
