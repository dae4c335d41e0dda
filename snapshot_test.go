package corridor_test

import (
	"bufio"
	"bytes"
	"fmt"
	"reflect"
	"testing"
	"time"

	"corridor"
)

// richWorld is a state that uses every map and most fields: rotated and
// delegated keys, party extras, convoys in every part of their lifecycle,
// clearance answers, removals and deliveries, times in several zones,
// incidents and their verification, claims with links, statements with
// empty and full lists.
func richWorld(t *testing.T) *world {
	w := newCorridor(t)
	// Key rotation, a delegated key and a party's extra fields.
	w.keys["org"] = keyFor("org-2")
	del := keyFor("org-delegated")
	p := partyPayload("org", corridor.Organisation, w.keys["org"])
	p.Keys = append(p.Keys, corridor.PartyKey{ID: del.ID, Public: del.Public, Delegated: true})
	p.Extra = &corridor.PartyExtra{Country: "FR", URL: "https://example.org"}
	w.must("op", corridor.TypeParty, p)
	w.keys["wit"] = keyFor("wit")
	q := partyPayload("wit", corridor.Witness, w.keys["wit"])
	q.Extra = &corridor.PartyExtra{} // a pointer to a zero struct
	w.must("op", corridor.TypeParty, q)

	w.delivered("cv-delivered")
	w.must("mon", corridor.TypeConfirm, &corridor.DeliveryConfirm{Convoy: "cv-delivered", At: at(6)})
	w.filed("cv-filed")
	w.departed("cv-departed")
	w.filed("cv-refused")
	w.must("auth1", corridor.TypeClearance, refuse("cv-refused", "auth1", 0))
	// Times with an offset, and in time.Local.
	yerevan := time.FixedZone("", 4*3600)
	w.filed("cv-held")
	w.must("org", corridor.TypeMove, &corridor.ConvoyMove{Convoy: "cv-held", Event: corridor.MvDeparted, At: at(1).In(yerevan)})
	w.must("auth1", corridor.TypeCheckEvent, &corridor.CheckpointEvent{Convoy: "cv-held", Checkpoint: cp1, Event: corridor.EvPassedLess,
		At: at(2).In(time.Local), Removed: []corridor.LineQty{{Line: 1, Quantity: 10, Kg: 50}}, ReasonCategory: "security", Reason: "r"})
	w.must("auth2", corridor.TypeCheckEvent, event("cv-held", cp2, corridor.EvHeld, 3))

	w.must("mon", corridor.TypeIncident, monIncident("i-1"))
	w.must("mon", corridor.TypeIncidentVerify, &corridor.IncidentVerification{Incident: "i-1", Verification: corridor.Verified})
	s := monStatement("s-1")
	s.AboutRoutes = []string{} // empty, not nil: comes back nil
	s.AboutPlaces = []string{"hakari"}
	w.must("mon", corridor.TypeStatement, s)
	w.must("mon", corridor.TypeClaim, monClaim("c-1"))
	w.must("mon", corridor.TypeClaimLink, &corridor.ClaimLink{Claim: "c-1", Record: firstRecordID(w), Relation: corridor.Supports})
	w.must("mon", corridor.TypeClaim, &corridor.Claim{ID: "c-2", Statement: "s-1"})
	return w
}

func roundTrip(t *testing.T, st *corridor.State) *corridor.State {
	t.Helper()
	var b bytes.Buffer
	if err := st.Encode(&b); err != nil {
		t.Fatal(err)
	}
	got, err := corridor.DecodeState(bufio.NewReader(&b))
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestStateRoundTrip(t *testing.T) {
	w := richWorld(t)
	got := roundTrip(t, w.st)
	if stateDiff(w.st, corridor.NewState()) == "" {
		t.Fatal("stateDiff sees no difference from an empty state")
	}
	if diff := stateDiff(w.st, got); diff != "" {
		t.Fatalf("decoded state differs: %s", diff)
	}
	// Every exported field of State is carried (a new map must be added to
	// the encoding).
	typ := reflect.TypeOf(*w.st)
	for i := range typ.NumField() {
		f := typ.Field(i)
		if !f.IsExported() {
			continue
		}
		v := reflect.ValueOf(got).Elem().Field(i)
		if v.IsZero() || (v.Kind() == reflect.Map && v.Len() == 0) {
			t.Errorf("State.%s is empty after a round trip", f.Name)
		}
	}
	// Times keep their zone.
	if loc := got.Convoys["cv-held"].LastAt.Location(); loc == nil {
		t.Error("no location")
	}
	if _, off := got.Convoys["cv-departed"].LastAt.Zone(); off != 0 {
		t.Errorf("offset %d", off)
	}
	if c := got.Claims["c-1"]; len(c.Links) != 1 {
		t.Errorf("claim links lost: %+v", c)
	}

	// The decoded state behaves as the original: the same records, applied
	// to both, give equal states and equal answers.
	w2 := &world{t: t, st: got, keys: w.keys, seq: w.seq}
	for _, step := range []func(w *world) error{
		func(w *world) error {
			return w.do("auth1", corridor.TypeClearance, approve("cv-filed", "auth1", 7))
		},
		func(w *world) error {
			return w.do("org", corridor.TypeMove, move("cv-departed", corridor.MvDelivered, 8)) // refused: no quantities
		},
		func(w *world) error { return w.do("mon", corridor.TypeStatement, monStatement("s-1")) }, // refused: duplicate
		func(w *world) error {
			return w.do("auth2", corridor.TypeCheckEvent, event("cv-held", cp2, corridor.EvPassed, 9))
		},
		func(w *world) error {
			return w.do("mon", corridor.TypeClaimLink, &corridor.ClaimLink{Claim: "c-1", Record: firstRecordID(w), Relation: corridor.Supports})
		},
	} {
		e1, e2 := step(w), step(w2)
		if fmt.Sprint(e1) != fmt.Sprint(e2) {
			t.Fatalf("original says %v, decoded says %v", e1, e2)
		}
	}
	if diff := stateDiff(w.st, got); diff != "" {
		t.Fatalf("after the same records: %s", diff)
	}
}

func TestStateRoundTripInChunks(t *testing.T) {
	st := corridor.NewState()
	for i := range 3*4096 + 17 {
		id := fmt.Sprintf("st-%d", i)
		st.Statements[id] = &corridor.Statement{ID: id, Kind: "statement", Speaker: "S", SaidOn: "2023-08-30", Quote: "W", Lang: "en"}
		st.Records["rec-"+id] = corridor.RecordRef{Index: uint64(i), Hash: fmt.Sprintf("%064x", i)}
		st.Size++
	}
	if diff := stateDiff(st, roundTrip(t, st)); diff != "" {
		t.Fatal(diff)
	}
	if diff := stateDiff(corridor.NewState(), roundTrip(t, corridor.NewState())); diff != "" {
		t.Fatalf("empty state: %s", diff)
	}
}

func TestStateDecodeRefusesDamage(t *testing.T) {
	w := richWorld(t)
	var b bytes.Buffer
	if err := w.st.Encode(&b); err != nil {
		t.Fatal(err)
	}
	data := b.Bytes()
	for _, n := range []int{0, 5, 18, 19, 40, len(data) / 3, len(data) / 2, len(data) - 1} {
		if _, err := corridor.DecodeState(bufio.NewReader(bytes.NewReader(data[:n]))); err == nil {
			t.Errorf("a state cut at %d of %d bytes decoded", n, len(data))
		}
	}
	other := bytes.Clone(data)
	copy(other, "corridor-state-v1\n") // the version before checkpoints kept their last recorded day
	if _, err := corridor.DecodeState(bufio.NewReader(bytes.NewReader(other))); err == nil {
		t.Error("another version decoded")
	}
	// DecodeState reads no further than the state.
	r := bufio.NewReader(bytes.NewReader(append(bytes.Clone(data), "TRAILER"...)))
	if _, err := corridor.DecodeState(r); err != nil {
		t.Fatal(err)
	}
	if rest, _ := r.ReadString(0); rest != "TRAILER" {
		t.Errorf("after the state: %q", rest)
	}
}

func TestStateEncodeRefusesOpenChanges(t *testing.T) {
	w := newCorridor(t)
	w.st.Begin()
	defer w.st.Rollback()
	if err := w.st.Encode(new(bytes.Buffer)); err == nil {
		t.Fatal("encoded a state with uncommitted changes")
	}
}

func TestStateCloneIsIndependent(t *testing.T) {
	w := newCorridor(t)
	w.filed("cv-1")
	c := w.st.Clone()
	before := snapshot(t, c)
	w.departed("cv-2")
	w.must("auth1", corridor.TypeClearance, approve("cv-1", "auth1", 1))
	if snapshot(t, c) != before {
		t.Fatal("a clone changed with the original")
	}
	if c.Size == w.st.Size {
		t.Fatal("size shared")
	}
}

// stateDiff compares two states field by field and names the first
// difference. Nil and empty slices are equal (see corridor.DecodeState);
// times are equal when they are the same instant in the same offset.
func stateDiff(a, b *corridor.State) string {
	return diffValue("State", reflect.ValueOf(*a), reflect.ValueOf(*b))
}

var timeType = reflect.TypeOf(time.Time{})

func diffValue(path string, a, b reflect.Value) string {
	if a.Type() == timeType {
		ta, tb := a.Interface().(time.Time), b.Interface().(time.Time)
		_, oa := ta.Zone()
		_, ob := tb.Zone()
		if !ta.Equal(tb) || oa != ob || ta.Location().String() != tb.Location().String() {
			return fmt.Sprintf("%s: %v != %v", path, ta, tb)
		}
		return ""
	}
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			if a.IsNil() != b.IsNil() {
				return fmt.Sprintf("%s: nil and not nil", path)
			}
			return ""
		}
		return diffValue(path, a.Elem(), b.Elem())
	case reflect.Struct:
		for i := range a.NumField() {
			if !a.Type().Field(i).IsExported() {
				continue
			}
			if d := diffValue(path+"."+a.Type().Field(i).Name, a.Field(i), b.Field(i)); d != "" {
				return d
			}
		}
		return ""
	case reflect.Slice:
		if a.Len() != b.Len() {
			return fmt.Sprintf("%s: %d elements, %d", path, a.Len(), b.Len())
		}
		for i := range a.Len() {
			if d := diffValue(fmt.Sprintf("%s[%d]", path, i), a.Index(i), b.Index(i)); d != "" {
				return d
			}
		}
		return ""
	case reflect.Map:
		if a.IsNil() != b.IsNil() {
			return fmt.Sprintf("%s: nil and not nil map", path)
		}
		if a.Len() != b.Len() {
			return fmt.Sprintf("%s: %d entries, %d", path, a.Len(), b.Len())
		}
		for _, k := range a.MapKeys() {
			bv := b.MapIndex(k)
			if !bv.IsValid() {
				return fmt.Sprintf("%s[%v]: missing", path, k)
			}
			if d := diffValue(fmt.Sprintf("%s[%v]", path, k), a.MapIndex(k), bv); d != "" {
				return d
			}
		}
		return ""
	}
	if !reflect.DeepEqual(a.Interface(), b.Interface()) {
		return fmt.Sprintf("%s: %v != %v", path, a.Interface(), b.Interface())
	}
	return ""
}
