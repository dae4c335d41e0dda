package api_test

import (
	"corridor/record"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"testing"

	"corridor"
)

// TestAuthorisationMatrix posts every record type, signed by a party of
// every kind (with that party's own token), about the party's own resource
// and about another party's, and checks that exactly the allowed cells are
// written and every other cell is refused with 403 and writes nothing.
func TestAuthorisationMatrix(t *testing.T) {
	e := newEnv(t, true)
	road(t, e)
	// Convoys the cells act on, all on the test road.
	e.mustPost(e.by("fr-cities", "mx-fr", corridor.TypeConvoy, testConvoy("mx-fr", "fr-cities")))
	e.mustPost(e.by("arcs", "mx-arcs", corridor.TypeConvoy, testConvoy("mx-arcs", "arcs")))
	e.mustPost(e.by("fr-cities", "mx-clear", corridor.TypeConvoy, testConvoy("mx-clear", "fr-cities")))
	e.mustPost(e.by("fr-cities", "mx-dep", corridor.TypeConvoy, testConvoy("mx-dep", "fr-cities")))
	e.mustPost(e.by("fr-cities", "mx-dep-go", corridor.TypeMove, &corridor.ConvoyMove{Convoy: "mx-dep", Event: corridor.MvDeparted, At: hour(1)}))
	e.mustPost(e.by("fr-cities", "mx-del", corridor.TypeConvoy, testConvoy("mx-del", "fr-cities")))
	e.mustPost(e.by("fr-cities", "mx-del-go", corridor.TypeMove, &corridor.ConvoyMove{Convoy: "mx-del", Event: corridor.MvDeparted, At: hour(1)}))
	e.mustPost(e.by("az-sbs", "mx-del-1", corridor.TypeCheckEvent, &corridor.CheckpointEvent{Convoy: "mx-del", Checkpoint: "t-cp1", Event: corridor.EvPassed, At: hour(2)}))
	e.mustPost(e.by("ru-pkc", "mx-del-2", corridor.TypeCheckEvent, &corridor.CheckpointEvent{Convoy: "mx-del", Checkpoint: "t-cp2", Event: corridor.EvPassed, At: hour(3)}))
	e.mustPost(e.by("fr-cities", "mx-del-end", corridor.TypeMove, &corridor.ConvoyMove{Convoy: "mx-del", Event: corridor.MvDelivered, At: hour(4),
		Received: []corridor.LineQty{{Line: 0, Quantity: 20, Kg: 20000}}}))

	// One party of each kind, and for each the "other" party of its kind.
	who := map[corridor.PartyKind]string{
		corridor.Organisation: "fr-cities", corridor.Authority: "az-sbs", corridor.Monitor: "monitor",
		corridor.Witness: "witness-1", corridor.Operator: "operator",
	}
	e.keys["operator"] = e.op
	n := 0
	next := func(p string) string { n++; return fmt.Sprintf("%s-%d", p, n) }
	spare := []string{""}
	for range 10 {
		id := next("mx-spare-cp")
		e.mustPost(e.by("operator", "checkpoint-"+id, corridor.TypeCheckpoint, &corridor.Checkpoint{ID: id, Route: "test-road", Place: "khankendi", Authority: "ru-pkc", Names: []corridor.Name{{Name: "c", Lang: "en"}}}))
		spare = append(spare, id)
	}
	// Statements that name each party as its speaker's: a party may
	// reply to the one naming it (own), not to one naming another.
	said := map[string]string{}
	for _, p := range append(slices.Collect(maps.Values(who)), "am-gov") {
		by := "operator"
		if p == "operator" {
			by = "monitor"
		}
		id := "mx-said-" + p
		e.mustPost(e.by(by, id, corridor.TypeStatement, &corridor.Statement{ID: id, Kind: "statement", Speaker: "someone", SpeakerParty: p, SaidOn: "2023-09-01", Quote: "q", Lang: "en"}))
		said[p] = id
	}
	// payload builds the cell's record payload for signer party p.
	payload := map[string]func(p string, own bool) any{
		corridor.TypeParty: func(p string, own bool) any {
			id := next("mx-party")
			return partyWithKey(t, id)
		},
		corridor.TypePlace: func(p string, own bool) any { return place(next("mx-place"), 39.7) },
		corridor.TypeRoute: func(p string, own bool) any {
			return &corridor.Route{ID: next("mx-route"), Names: []corridor.Name{{Name: "r", Lang: "en"}}, Places: []string{"goris", "lachin"}}
		},
		corridor.TypeCheckpoint: func(p string, own bool) any {
			return &corridor.Checkpoint{ID: next("mx-cp"), Route: "test-road", Place: "khankendi", Authority: "ru-pkc", Names: []corridor.Name{{Name: "c", Lang: "en"}}}
		},
		corridor.TypeCPChange: func(p string, own bool) any {
			// A checkpoint of its own for each cell, run by ru-pkc.
			spare = spare[1:]
			return &corridor.CheckpointChange{Checkpoint: spare[0], From: "2030-01-01", Authority: "az-sbs"}
		},
		corridor.TypeConvoy: func(p string, own bool) any {
			org := "arcs"
			if own {
				org = p
			}
			return testConvoy(next("mx-c"), org)
		},
		corridor.TypeClearance: func(p string, own bool) any {
			auth := "ru-pkc"
			if own {
				auth = p
			}
			return &corridor.ClearanceAnswer{Convoy: "mx-clear", Authority: auth, Decision: corridor.Approved, At: hour(1)}
		},
		corridor.TypeCheckEvent: func(p string, own bool) any {
			cp := "t-cp2" // run by ru-pkc
			if own {
				cp = "t-cp1" // run by az-sbs, the authority of this matrix
			}
			return &corridor.CheckpointEvent{Convoy: "mx-dep", Checkpoint: cp, Event: corridor.EvArrived, At: hour(2)}
		},
		corridor.TypeMove: func(p string, own bool) any {
			c := "mx-arcs"
			if own {
				c = "mx-fr"
			}
			return &corridor.ConvoyMove{Convoy: c, Event: corridor.MvDeparted, At: hour(2)}
		},
		corridor.TypeConfirm: func(p string, own bool) any {
			return &corridor.DeliveryConfirm{Convoy: "mx-del", At: hour(5)}
		},
		corridor.TypeRestricted: func(p string, own bool) any {
			auth := "ru-pkc"
			if own {
				auth = p
			}
			id := next("mx-list")
			return &corridor.RestrictedList{ID: id, Authority: auth, From: corridor.AddDays("2030-01-01", n), Items: []corridor.RestrictedItem{{Item: "generators", Category: "dual-use"}}}
		},
		corridor.TypeReply: func(p string, own bool) any {
			if own {
				return &corridor.Reply{Record: said[p], Kind: corridor.ReplyAcknowledge}
			}
			return &corridor.Reply{Record: said["am-gov"], Kind: corridor.ReplyAcknowledge}
		},
		corridor.TypeStatement: func(p string, own bool) any {
			s := &corridor.Statement{ID: next("mx-s"), Kind: "statement", Speaker: "someone", SpeakerParty: "am-gov", SaidOn: "2023-09-01", Quote: "q", Lang: "en"}
			if own {
				s.SpeakerParty = p
			}
			return s
		},
	}
	allowed := func(typ string, kind corridor.PartyKind, own bool) bool {
		switch typ {
		case corridor.TypeParty, corridor.TypePlace, corridor.TypeRoute, corridor.TypeCheckpoint, corridor.TypeCPChange:
			return kind == corridor.Operator
		case corridor.TypeConvoy, corridor.TypeMove:
			return kind == corridor.Organisation && own
		case corridor.TypeClearance, corridor.TypeCheckEvent, corridor.TypeRestricted:
			return kind == corridor.Authority && own
		case corridor.TypeConfirm:
			return kind == corridor.Monitor
		case corridor.TypeReply:
			return own && (kind == corridor.Organisation || kind == corridor.Authority || kind == corridor.Monitor)
		case corridor.TypeStatement:
			return kind == corridor.Monitor || kind == corridor.Operator || (own && (kind == corridor.Organisation || kind == corridor.Authority))
		}
		t.Fatalf("no rule for %s", typ)
		return false
	}
	kinds := []corridor.PartyKind{corridor.Organisation, corridor.Authority, corridor.Monitor, corridor.Witness, corridor.Operator}
	types := make([]string, 0, len(payload))
	for typ := range payload {
		types = append(types, typ)
	}
	slices.Sort(types)
	cells, written, refused, escapes, wrong := 0, 0, 0, 0, 0
	for _, typ := range types {
		for _, kind := range kinds {
			for _, own := range []bool{true, false} {
				cells++
				p := who[kind]
				before := e.logSize()
				r := e.post(e.by(p, next("mx-rec"), typ, payload[typ](p, own)))
				grew := e.logSize() != before
				switch {
				case allowed(typ, kind, own):
					if r.Status != http.StatusCreated || !grew {
						wrong++
						t.Errorf("%s by %s (%s, own=%v): %d %s, want 201", typ, p, kind, own, r.Status, r.Body)
					} else {
						written++
					}
				default:
					if r.Status == http.StatusCreated || grew {
						escapes++
						t.Errorf("ESCAPE: %s by %s (%s, own=%v) was written", typ, p, kind, own)
					} else if r.Status != http.StatusForbidden {
						wrong++
						t.Errorf("%s by %s (%s, own=%v): %d %s, want 403", typ, p, kind, own, r.Status, r.Body)
					} else {
						refused++
					}
				}
			}
		}
	}
	t.Logf("authorisation matrix: %d record types × %d party kinds × own/other = %d cells; %d written, %d refused with 403, %d escapes, %d wrong answers",
		len(types), len(kinds), cells, written, refused, escapes, wrong)
	if cells != len(types)*len(kinds)*2 {
		t.Fatalf("ran %d cells", cells)
	}
	// Every domain record type is in the matrix, except the access-monitoring
	// ones, which their own tests cover.
	for _, rt := range corridor.Types() {
		if _, ok := payload[rt.Name]; !ok && !monitoringType(rt.Name) {
			t.Errorf("record type %s is not in the authorisation matrix", rt.Name)
		}
	}
}

func monitoringType(name string) bool {
	for _, p := range []string{"incident.", "claim.", "area.", "route.closed", "route.opened", "passage."} {
		if len(name) >= len(p) && name[:len(p)] == p {
			return true
		}
	}
	return false
}

func partyWithKey(t *testing.T, id string) *corridor.Party {
	t.Helper()
	k, err := record.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return &corridor.Party{ID: id, Kind: corridor.Organisation, Names: []corridor.Name{{Name: id, Lang: "en"}},
		Keys: []corridor.PartyKey{{ID: k.ID, Public: k.Public}}}
}
