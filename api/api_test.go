package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"corridor"
	"corridor/api"
	"corridor/app"
	"corridor/record"
	"corridor/scenario"
	"corridor/store"
)

type list[T any] struct {
	Items []T    `json:"items"`
	Next  *int64 `json:"next_after"`
}

func TestReads(t *testing.T) {
	e := newEnv(t, true)
	sc := scenario.Reference()

	size := e.healthRecords()
	// genesis + one party.register per scenario party + every scenario record
	if want := uint64(1 + len(sc.Parties) + len(sc.Records)); size != want {
		t.Errorf("healthz records = %d, want %d", size, want)
	}

	t.Run("places", func(t *testing.T) {
		var got list[store.PlaceRow]
		e.get("/api/v1/places", &got)
		byID := map[string]store.PlaceRow{}
		for _, p := range got.Items {
			byID[p.ID] = p
		}
		n := 0
		for _, st := range sc.Records {
			if st.Type != corridor.TypePlace {
				continue
			}
			n++
			var want corridor.Place
			if err := json.Unmarshal(st.Payload, &want); err != nil {
				t.Fatal(err)
			}
			p, ok := byID[want.ID]
			if !ok {
				t.Errorf("place %s missing", want.ID)
				continue
			}
			if !slices.Equal(p.Names, want.Names) {
				t.Errorf("place %s names = %v, want %v", want.ID, p.Names, want.Names)
			}
			if p.Lat != want.Lat || p.Lon != want.Lon || p.Kind != want.Kind || p.Population != want.Population {
				t.Errorf("place %s = %+v, want %+v", want.ID, p.Place, want)
			}
		}
		if len(got.Items) != n {
			t.Errorf("%d places, want %d", len(got.Items), n)
		}
		kh := byID["khankendi"]
		var names []string
		for _, n := range kh.Names {
			names = append(names, n.Name)
		}
		for _, w := range []string{"Khankendi", "Stepanakert", "Xankəndi", "Ստեփանակերտ"} {
			if !slices.Contains(names, w) {
				t.Errorf("khankendi lacks the name %q: %v", w, names)
			}
		}
	})

	t.Run("routes", func(t *testing.T) {
		var got list[store.RouteRow]
		e.get("/api/v1/routes", &got)
		want := map[string][]string{
			"lachin-corridor":  {"goris", "kornidzor", "hakari-bridge", "lachin", "shusha", "khankendi"},
			"aghdam-khankendi": {"aghdam", "askeran-post", "askeran", "khankendi"},
		}
		if len(got.Items) != len(want) {
			t.Fatalf("%d routes, want %d", len(got.Items), len(want))
		}
		for _, r := range got.Items {
			if !slices.Equal(r.Places, want[r.ID]) {
				t.Errorf("route %s places = %v, want %v", r.ID, r.Places, want[r.ID])
			}
		}
	})

	t.Run("checkpoints", func(t *testing.T) {
		var got list[store.CheckpointRow]
		e.get("/api/v1/checkpoints", &got)
		want := map[string]string{"hakari": "az-sbs", "askeran-pkc": "ru-pkc"}
		if len(got.Items) != len(want) {
			t.Fatalf("%d checkpoints, want %d: %+v", len(got.Items), len(want), got.Items)
		}
		for _, c := range got.Items {
			if want[c.ID] != c.Authority {
				t.Errorf("checkpoint %s authority = %q, want %q", c.ID, c.Authority, want[c.ID])
			}
		}
		var one list[store.CheckpointRow]
		e.get("/api/v1/checkpoints?route=aghdam-khankendi", &one)
		if len(one.Items) != 1 || one.Items[0].ID != "askeran-pkc" {
			t.Errorf("checkpoints on aghdam-khankendi = %+v", one.Items)
		}
	})

	t.Run("parties", func(t *testing.T) {
		var got list[store.PartyRow]
		e.get("/api/v1/parties", &got)
		kinds := map[string]corridor.PartyKind{}
		for _, p := range got.Items {
			kinds[p.ID] = p.Kind
		}
		if kinds[app.OperatorID] != corridor.Operator {
			t.Errorf("operator party: kind %q", kinds[app.OperatorID])
		}
		for _, p := range sc.Parties {
			if kinds[p.ID] != p.Kind {
				t.Errorf("party %s kind = %q, want %q", p.ID, kinds[p.ID], p.Kind)
			}
		}
		if len(got.Items) != len(sc.Parties)+1 {
			t.Errorf("%d parties, want %d", len(got.Items), len(sc.Parties)+1)
		}
	})

	t.Run("convoys", func(t *testing.T) {
		var got list[store.ConvoyRow]
		e.get("/api/v1/convoys", &got)
		want := map[string]string{"am-2023-07": "held", "arcs-2023-08": "held", "fr-2023-08": "refused"}
		if len(got.Items) != len(want) {
			t.Fatalf("%d convoys, want %d", len(got.Items), len(want))
		}
		for _, c := range got.Items {
			if c.Status != want[c.ID] {
				t.Errorf("convoy %s status = %q, want %q", c.ID, c.Status, want[c.ID])
			}
		}
		var refused list[store.ConvoyRow]
		e.get("/api/v1/convoys?status=refused", &refused)
		if len(refused.Items) != 1 || refused.Items[0].ID != "fr-2023-08" {
			t.Errorf("refused convoys = %+v", refused.Items)
		}
	})

	t.Run("convoy", func(t *testing.T) {
		var c store.ConvoyRow
		e.get("/api/v1/convoys/fr-2023-08", &c)
		if c.ID != "fr-2023-08" || c.Status != "refused" || c.Checkpoint != "hakari" || c.Organisation != "fr-cities" {
			t.Errorf("convoy fr-2023-08 = id %q status %q checkpoint %q organisation %q", c.ID, c.Status, c.Checkpoint, c.Organisation)
		}
		if len(c.Filing.Vehicles) != 10 {
			t.Errorf("%d vehicles, want 10", len(c.Filing.Vehicles))
		}
		if c.Kg != 57000 {
			t.Errorf("kg = %g, want 57000", c.Kg)
		}
		var events []string
		for _, ev := range c.Events {
			events = append(events, ev.Event)
		}
		if len(c.Events) != 3 || c.Events[len(c.Events)-1].Event != "refused" || c.Events[len(c.Events)-1].Party != "az-sbs" {
			t.Errorf("events = %v (%+v)", events, c.Events)
		}
	})

	t.Run("statements", func(t *testing.T) {
		var got list[store.StatementRow]
		e.get("/api/v1/statements", &got)
		ids := map[string]string{}
		for _, s := range got.Items {
			ids[s.ID] = s.RecordedBy
		}
		for _, id := range []string{"paris-mayor-2023-08-30", "armenia-un-2023-08-30", "azerbaijan-2023-08-30", "azerbaijan-summons-2023-08-31"} {
			if by, ok := ids[id]; !ok || by != "monitor" {
				t.Errorf("statement %s: present %v, recorded by %q", id, ok, by)
			}
		}
		if len(got.Items) != 4 {
			t.Errorf("%d statements, want 4", len(got.Items))
		}
	})

	t.Run("record by id", func(t *testing.T) {
		var r store.RecordRow
		e.get("/api/v1/records/convoy-fr-2023-08-refused", &r)
		var rec record.Record
		if err := json.Unmarshal(r.Record, &rec); err != nil {
			t.Fatal(err)
		}
		if rec.ID != "convoy-fr-2023-08-refused" || rec.Type != corridor.TypeCheckEvent || r.Party != "az-sbs" {
			t.Errorf("record = %+v party %q", rec, r.Party)
		}
		// The record as served verifies against its signer's key once its
		// payload is canonicalised again.
		asServed := rec
		if err := asServed.Verify(e.keys["az-sbs"].Public); err != nil {
			t.Logf("NOTE: the record as served does not verify as is (%v); its payload is %q...", err, firstBytes(rec.Payload, 40))
		}
		if err := rec.Canonicalize(); err != nil {
			t.Fatal(err)
		}
		if err := rec.Verify(e.keys["az-sbs"].Public); err != nil {
			t.Errorf("served record does not verify after canonicalisation: %v", err)
		}
	})

	t.Run("paging", func(t *testing.T) {
		for _, limit := range []int{1, 7, int(size), 1000} {
			var seen []uint64
			after := int64(-1)
			for pages := 0; ; pages++ {
				if pages > int(size)+2 {
					t.Fatalf("limit %d: paging does not end", limit)
				}
				path := fmt.Sprintf("/api/v1/records?limit=%d", limit)
				if after >= 0 {
					path += fmt.Sprintf("&after=%d", after)
				}
				var page list[store.RecordRow]
				e.get(path, &page)
				if len(page.Items) > limit {
					t.Fatalf("limit %d: page of %d", limit, len(page.Items))
				}
				for _, r := range page.Items {
					seen = append(seen, r.Index)
				}
				if page.Next == nil {
					break
				}
				if len(page.Items) == 0 || *page.Next != int64(page.Items[len(page.Items)-1].Index) {
					t.Fatalf("limit %d: next_after %d does not name the page's last record", limit, *page.Next)
				}
				after = *page.Next
			}
			if uint64(len(seen)) != size {
				t.Errorf("limit %d: %d records listed, want %d", limit, len(seen), size)
			}
			for i, x := range seen {
				if x != uint64(i) {
					t.Errorf("limit %d: position %d holds index %d", limit, i, x)
					break
				}
			}
		}
	})

	t.Run("bad query", func(t *testing.T) {
		for _, c := range []struct{ query, field string }{
			{"limit=0", "limit"},
			{"limit=5000", "limit"},
			{"limit=-3", "limit"},
			{"after=abc", "after"},
			{"after=-2", "after"},
			{"after=1.5", "after"},
		} {
			r := e.do(http.MethodGet, "/api/v1/records?"+c.query, nil)
			if r.Status != http.StatusBadRequest || r.Type != "application/problem+json" {
				t.Errorf("%s: %d %s", c.query, r.Status, r.Type)
				continue
			}
			p := r.problem(t)
			if p.Field != c.field || p.Code != "invalid" || p.Status != 400 {
				t.Errorf("%s: problem %+v", c.query, p)
			}
		}
		r := e.do(http.MethodGet, "/api/v1/convoys?route="+strings.Repeat("x", 65), nil)
		if p := r.problem(t); r.Status != 400 || p.Field != "route" {
			t.Errorf("long route filter: %d %+v", r.Status, p)
		}
	})

	t.Run("not found", func(t *testing.T) {
		for _, path := range []string{"/api/v1/convoys/no-such-convoy", "/api/v1/records/no-such-record"} {
			r := e.do(http.MethodGet, path, nil)
			if r.Status != http.StatusNotFound || r.Type != "application/problem+json" {
				t.Errorf("%s: %d %s %s", path, r.Status, r.Type, r.Body)
				continue
			}
			if p := r.problem(t); p.Code != "not-found" || p.Status != 404 || p.Type != "urn:corridor:problem:not-found" {
				t.Errorf("%s: problem %+v", path, p)
			}
		}
	})
}

// wantProblem checks a client-visible refusal: status, problem+json, code,
// field, and that the log did not grow.
func wantProblem(t *testing.T, e *env, r response, before uint64, status int, code, field string) api.Problem {
	t.Helper()
	if r.Status != status {
		t.Errorf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	if r.Type != "application/problem+json" {
		t.Errorf("Content-Type %q, want application/problem+json", r.Type)
	}
	p := r.problem(t)
	if p.Code != code || p.Field != field || p.Status != status {
		t.Errorf("problem code %q field %q status %d, want %q %q %d (detail %q)", p.Code, p.Field, p.Status, code, field, status, p.Detail)
	}
	if p.Type != "urn:corridor:problem:"+code || p.Title == "" {
		t.Errorf("problem type %q title %q", p.Type, p.Title)
	}
	if n := e.healthRecords(); n != before {
		t.Errorf("healthz records %d -> %d: a refused submission changed the state", before, n)
	}
	if n := e.logSize(); n != before {
		t.Errorf("log size %d -> %d: a refused submission was written", before, n)
	}
	return p
}

// convoyFiling is a valid convoy.file by am-gov whose one vehicle carries a
// plate commitment; it returns the record and the plate's opening.
func convoyFiling(t *testing.T, e *env, id string) (*record.Record, string, record.Opening) {
	commit, o := record.Seal("TEST-PLATE-" + id)
	rec := sign(t, e.keys["am-gov"], "rec-"+id, corridor.TypeConvoy, 1, &corridor.Convoy{
		ID: id, Organisation: "am-gov", Route: "lachin-corridor", Origin: "goris", Destination: "khankendi",
		Planned:  "2023-09-01",
		Vehicles: []corridor.Vehicle{{Kind: "lorry", Plate: commit}},
		Manifest: []corridor.Line{{Item: "wheat flour", Sector: "food", Quantity: 1, Unit: "t", Kg: 1000}},
	})
	return rec, commit, o
}

func TestBadInput(t *testing.T) {
	e := newEnv(t, true)
	before := e.logSize()
	if h := e.healthRecords(); h != before {
		t.Fatalf("healthz records %d, log size %d", h, before)
	}

	t.Run("bad signature", func(t *testing.T) {
		rec := placeRecord(t, e.op, "badsig", 39.5)
		i := bytes.Index(rec.Payload, []byte("Test place"))
		rec.Payload = bytes.Clone(rec.Payload)
		rec.Payload[i] = 'B' // "Best place": still valid, but not what was signed
		wantProblem(t, e, e.post(rec), before, 403, "bad-signature", "records[0].sig")
	})
	t.Run("bad signature in batch", func(t *testing.T) {
		rec := placeRecord(t, e.op, "badsig2", 39.5)
		rec.Sig = bytes.Clone(rec.Sig)
		rec.Sig[0] ^= 1
		ok := placeRecord(t, e.op, "goodsig2", 39.5)
		wantProblem(t, e, e.post(map[string]any{"records": []any{ok, rec}}), before, 403, "bad-signature", "records[1].sig")
	})
	t.Run("unknown key", func(t *testing.T) {
		k, err := record.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		wantProblem(t, e, e.post(placeRecord(t, k, "stranger", 39.5)), before, 403, "unknown-key", "records[0].key")
	})
	t.Run("unknown type", func(t *testing.T) {
		rec := sign(t, e.op, "rec-newtype", "place.demolish", 1, place("newtype", 39.5))
		wantProblem(t, e, e.post(rec), before, 400, "unknown-type", "records[0].type")
	})
	t.Run("schema version 2", func(t *testing.T) {
		rec := sign(t, e.op, "rec-v2", corridor.TypePlace, 2, place("v2", 39.5))
		wantProblem(t, e, e.post(rec), before, 400, "unknown-type", "records[0].v")
	})
	t.Run("invalid field", func(t *testing.T) {
		wantProblem(t, e, e.post(placeRecord(t, e.op, "north-of-north", 100)), before, 400, "invalid", "records[0].payload.lat")
	})
	t.Run("invalid field wrapped", func(t *testing.T) {
		rec := placeRecord(t, e.op, "north-of-north2", 100)
		wantProblem(t, e, e.post(map[string]any{"record": rec}), before, 400, "invalid", "records[0].payload.lat")
	})
	t.Run("invalid nested field", func(t *testing.T) {
		p := place("badlang", 39.5)
		p.Names = append(p.Names, corridor.Name{Name: "x", Lang: "English"})
		rec := sign(t, e.op, "rec-badlang", corridor.TypePlace, 1, p)
		wantProblem(t, e, e.post(rec), before, 400, "invalid", "records[0].payload.names[1].lang")
	})
	t.Run("unknown payload field", func(t *testing.T) {
		rec := sign(t, e.op, "rec-colour", corridor.TypePlace, 1, map[string]any{
			"id": "colour", "kind": "village", "lat": 39.5, "lon": 46.5,
			"names": []corridor.Name{{Name: "Colour", Lang: "en"}}, "colour": "red",
		})
		p := wantProblem(t, e, e.post(rec), before, 400, "invalid", "records[0].payload")
		if !strings.Contains(p.Detail, "colour") {
			t.Errorf("detail %q does not name the unknown field", p.Detail)
		}
	})
	t.Run("unknown envelope field", func(t *testing.T) {
		b, _ := json.Marshal(placeRecord(t, e.op, "envelope", 39.5))
		b = append(b[:len(b)-1], []byte(`,"extra":1}`)...)
		wantProblem(t, e, e.post(b), before, 400, "invalid", "records[0]")
	})
	t.Run("not JSON", func(t *testing.T) {
		wantProblem(t, e, e.post([]byte("{not json")), before, 400, "invalid", "")
	})
	t.Run("empty batch", func(t *testing.T) {
		wantProblem(t, e, e.post([]byte(`{"records":[]}`)), before, 400, "invalid", "records")
	})
	t.Run("batch over 1000", func(t *testing.T) {
		raws := make([]json.RawMessage, app.MaxBatch+1)
		for i := range raws {
			raws[i] = json.RawMessage(`{}`)
		}
		wantProblem(t, e, e.post(map[string]any{"records": raws}), before, 400, "invalid", "records")
	})
	t.Run("body too large", func(t *testing.T) {
		body := make([]byte, api.MaxBody+1024)
		for i := range body {
			body[i] = ' '
		}
		wantProblem(t, e, e.post(body), before, 413, "too-large", "body")
	})
	t.Run("role", func(t *testing.T) {
		// an organisation may not register places
		rec := placeRecord(t, e.keys["am-gov"], "org-place", 39.5)
		wantProblem(t, e, e.post(rec), before, 403, "forbidden", "records[0].type")
	})
	t.Run("state rule", func(t *testing.T) {
		// a convoy on a route that does not exist
		rec := sign(t, e.keys["am-gov"], "rec-nowhere", corridor.TypeConvoy, 1, &corridor.Convoy{
			ID: "nowhere", Organisation: "am-gov", Route: "no-route", Origin: "goris", Destination: "khankendi",
			Planned: "2023-09-01", Vehicles: []corridor.Vehicle{{Kind: "lorry"}},
			Manifest: []corridor.Line{{Item: "flour", Sector: "food", Quantity: 1, Unit: "t", Kg: 1000}},
		})
		wantProblem(t, e, e.post(rec), before, 400, "invalid", "records[0].payload.route")
		// a convoy move that contradicts the convoy's state: a held convoy cannot depart
		mv := sign(t, e.keys["am-gov"], "rec-depart-again", corridor.TypeMove, 1, map[string]any{
			"convoy": "am-2023-07", "event": "departed", "at": "2023-08-01T08:00:00Z",
		})
		wantProblem(t, e, e.post(mv), before, 409, "conflict", "records[0].payload.event")
	})
	t.Run("batch with bad third record", func(t *testing.T) {
		recs := []*record.Record{
			placeRecord(t, e.op, "batch-a", 39.5),
			placeRecord(t, e.op, "batch-b", 39.6),
			placeRecord(t, e.op, "batch-c", 100),
		}
		wantProblem(t, e, e.post(map[string]any{"records": recs}), before, 400, "invalid", "records[2].payload.lat")
		for _, r := range recs {
			if g := e.do(http.MethodGet, "/api/v1/records/"+r.ID, nil); g.Status != 404 {
				t.Errorf("record %s of a refused batch: GET answers %d", r.ID, g.Status)
			}
		}
	})
	t.Run("batch with state failure in third record", func(t *testing.T) {
		// the third record is fine on its own but is signed by a party that
		// may not sign it: refused only by the writer, after the first two
		// were checked against the state.
		recs := []any{
			placeRecord(t, e.op, "batch2-a", 39.5),
			map[string]any{"record": placeRecord(t, e.op, "batch2-b", 39.6)},
			placeRecord(t, e.keys["monitor"], "batch2-c", 39.7),
		}
		wantProblem(t, e, e.post(map[string]any{"records": recs}), before, 403, "forbidden", "records[2].type")
		var places list[store.PlaceRow]
		e.get("/api/v1/places", &places)
		for _, p := range places.Items {
			if strings.HasPrefix(p.ID, "batch2-") {
				t.Errorf("place %s of a refused batch is listed", p.ID)
			}
		}
	})
	t.Run("batch reusing an id", func(t *testing.T) {
		a := placeRecord(t, e.op, "twice", 39.5)
		wantProblem(t, e, e.post(map[string]any{"records": []any{a, a}}), before, 409, "duplicate-id", "records[1].id")
	})
	t.Run("missing opening", func(t *testing.T) {
		rec, _, _ := convoyFiling(t, e, "no-opening")
		wantProblem(t, e, e.post(map[string]any{"record": rec}), before, 400, "invalid", "records[0].private")
		wantProblem(t, e, e.post(rec), before, 400, "invalid", "records[0].private")
	})
	t.Run("missing opening in batch", func(t *testing.T) {
		rec, _, _ := convoyFiling(t, e, "no-opening-b")
		ok := placeRecord(t, e.op, "with-no-opening", 39.5)
		wantProblem(t, e, e.post(map[string]any{"records": []any{ok, map[string]any{"record": rec}}}), before, 400, "invalid", "records[1].private")
	})
	t.Run("wrong opening", func(t *testing.T) {
		rec, commit, o := convoyFiling(t, e, "wrong-opening")
		o.Value = "SOMEONE-ELSE"
		wantProblem(t, e, e.post(map[string]any{"record": rec, "private": map[string]any{commit: o}}), before, 400, "invalid", "records[0].private."+commit)
	})
	t.Run("opening for nothing", func(t *testing.T) {
		rec, commit, o := convoyFiling(t, e, "extra-opening")
		c2, o2 := record.Seal("unrelated")
		wantProblem(t, e, e.post(map[string]any{"record": rec, "private": map[string]any{commit: o, c2: o2}}), before, 400, "invalid", "records[0].private."+c2)
	})
	t.Run("plain plate in the log", func(t *testing.T) {
		rec := sign(t, e.keys["am-gov"], "rec-plain-plate", corridor.TypeConvoy, 1, &corridor.Convoy{
			ID: "plain-plate", Organisation: "am-gov", Route: "lachin-corridor", Origin: "goris", Destination: "khankendi",
			Planned: "2023-09-01", Vehicles: []corridor.Vehicle{{Kind: "lorry", Plate: "AB-123-CD"}},
			Manifest: []corridor.Line{{Item: "flour", Sector: "food", Quantity: 1, Unit: "t", Kg: 1000}},
		})
		wantProblem(t, e, e.post(rec), before, 400, "invalid", "records[0].payload.vehicles[0].plate")
	})

	// After all that, a good filing with its opening is accepted.
	t.Run("good opening", func(t *testing.T) {
		rec, commit, o := convoyFiling(t, e, "good-opening")
		r := e.post(map[string]any{"record": rec, "private": map[string]any{commit: o}})
		if r.Status != http.StatusCreated {
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
		var res results
		if err := json.Unmarshal(r.Body, &res); err != nil {
			t.Fatal(err)
		}
		if len(res.Results) != 1 || res.Results[0].Index != before || res.Results[0].ID != rec.ID || res.Results[0].Duplicate {
			t.Errorf("results %+v, want index %d", res.Results, before)
		}
		got, err := e.node.Store().Private(context.Background(), []string{commit})
		if err != nil || got[commit] != o {
			t.Errorf("private value: %v %v", got, err)
		}
	})
}

// TestBatchOfOneFieldPrefix shows how a field is named when a client (such as
// client.Submit, which always sends {"records": [...]}) posts a batch of one
// bad record. DecodeSubmissions names such a record "records[0]", but Submit
// names it "record" because it sees only the count.
func TestBatchOfOneFieldPrefix(t *testing.T) {
	e := newEnv(t, false)
	before := e.logSize()
	rec := placeRecord(t, e.op, "north", 100)
	r := e.post(map[string]any{"records": []any{rec}})
	p := r.problem(t)
	if r.Status != 400 || p.Code != "invalid" {
		t.Fatalf("%d %+v", r.Status, p)
	}
	// Parse errors in the same batch form are named records[0]:
	r2 := e.post([]byte(`{"records":[[]]}`))
	p2 := r2.problem(t)
	if p2.Field != "records[0]" {
		t.Errorf("parse error field %q, want records[0]", p2.Field)
	}
	if p.Field != "records[0].payload.lat" {
		t.Errorf("batch of one: field %q, want records[0].payload.lat (parse errors in the same body say records[0])", p.Field)
	}
	if n := e.logSize(); n != before {
		t.Errorf("log grew")
	}
}

func TestIdempotence(t *testing.T) {
	e := newEnv(t, false)
	rec := placeRecord(t, e.op, "again", 39.5)

	r1 := e.post(rec)
	if r1.Status != http.StatusCreated || r1.Type != "application/json" {
		t.Fatalf("first: %d %s %s", r1.Status, r1.Type, r1.Body)
	}
	var a results
	if err := json.Unmarshal(r1.Body, &a); err != nil {
		t.Fatal(err)
	}
	if len(a.Results) != 1 || a.Results[0].Duplicate || a.Results[0].ID != rec.ID {
		t.Fatalf("first results %+v", a.Results)
	}
	size := e.logSize()
	if size != a.Results[0].Index+1 {
		t.Errorf("log size %d after record at index %d", size, a.Results[0].Index)
	}

	for i, body := range []any{rec, map[string]any{"record": rec}, map[string]any{"records": []any{rec}}} {
		r2 := e.post(body)
		if r2.Status != http.StatusOK {
			t.Fatalf("retry %d: %d %s", i, r2.Status, r2.Body)
		}
		var b results
		if err := json.Unmarshal(r2.Body, &b); err != nil {
			t.Fatal(err)
		}
		if len(b.Results) != 1 || !b.Results[0].Duplicate || b.Results[0].Index != a.Results[0].Index || b.Results[0].ID != rec.ID {
			t.Errorf("retry %d results %+v, want index %d duplicate", i, b.Results, a.Results[0].Index)
		}
		if n := e.logSize(); n != size {
			t.Errorf("retry %d: log size %d -> %d", i, size, n)
		}
	}

	// A batch mixing a retry and a new record: 201, the retry is marked.
	fresh := placeRecord(t, e.op, "fresh", 39.5)
	r3 := e.post(map[string]any{"records": []any{rec, fresh}})
	if r3.Status != http.StatusCreated {
		t.Fatalf("mixed: %d %s", r3.Status, r3.Body)
	}
	var c results
	json.Unmarshal(r3.Body, &c)
	if len(c.Results) != 2 || !c.Results[0].Duplicate || c.Results[0].Index != a.Results[0].Index || c.Results[1].Duplicate || c.Results[1].Index != size {
		t.Errorf("mixed results %+v", c.Results)
	}
	size++

	// Same id, other content.
	other := sign(t, e.op, rec.ID, corridor.TypePlace, 1, place("again", 40))
	wantProblem(t, e, e.post(other), size, 409, "duplicate-id", "records[0].id")
	// Same content and id, signed by an unregistered key: the id is taken,
	// and that is checked before the key.
	k, _ := record.GenerateKey()
	wantProblem(t, e, e.post(sign(t, k, rec.ID, corridor.TypePlace, 1, place("again", 39.5))), size, 409, "duplicate-id", "records[0].id")
}

func TestPersonalData(t *testing.T) {
	e := newEnv(t, true)
	plates := []string{"DEMO-AM-01", "DEMO-AM-19", "DEMO-AZ-02", "DEMO-FR-10", "Demo driver AM-01", "Demo driver FR-10"}

	// Every commitment in the scenario's convoys is opened in private_values.
	rows, err := e.node.Store().DB().QueryContext(context.Background(), `SELECT value FROM private_values`)
	if err != nil {
		t.Fatal(err)
	}
	var values []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		values = append(values, v)
	}
	rows.Close()
	for _, p := range plates {
		if !slices.Contains(values, p) {
			t.Errorf("private_values lacks %q", p)
		}
	}
	if want := 2 * (19 + 2 + 10); len(values) != want {
		t.Errorf("private_values holds %d values, want %d", len(values), want)
	}

	// The public API does not show them.
	var all bytes.Buffer
	after := int64(-1)
	for {
		path := "/api/v1/records?limit=10"
		if after >= 0 {
			path += fmt.Sprintf("&after=%d", after)
		}
		r := e.do(http.MethodGet, path, nil)
		all.Write(r.Body)
		var page list[store.RecordRow]
		if err := json.Unmarshal(r.Body, &page); err != nil {
			t.Fatal(err)
		}
		if page.Next == nil {
			break
		}
		after = *page.Next
	}
	for _, path := range []string{"/api/v1/convoys", "/api/v1/convoys/am-2023-07", "/api/v1/convoys/fr-2023-08", "/api/v1/convoys/arcs-2023-08"} {
		all.Write(e.do(http.MethodGet, path, nil).Body)
	}
	if !strings.Contains(all.String(), "am-2023-07") {
		t.Fatal("the API output does not even hold the convoy ids")
	}
	for _, p := range plates {
		if strings.Contains(all.String(), p) {
			t.Errorf("API output contains %q", p)
		}
	}

	// Nor does any file of the log, once the log is closed.
	e.close()
	var sawConvoy bool
	var files int
	err = filepath.WalkDir(filepath.Join(e.dir, app.LogDir), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		sawConvoy = sawConvoy || bytes.Contains(b, []byte(`"am-2023-07"`))
		for _, p := range plates {
			if bytes.Contains(b, []byte(p)) {
				t.Errorf("%s contains %q", path, p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !sawConvoy {
		t.Errorf("no file of the %d under log/ holds the convoy's id in clear: the search proves nothing", files)
	}
}

func TestConcurrentPosts(t *testing.T) {
	e := newEnv(t, true)
	start := e.logSize()
	const workers, each = 32, 20

	type answer struct {
		id    string
		index uint64
	}
	answers := make(chan answer, workers*each)
	var wg sync.WaitGroup
	errs := make(chan string, workers*each)
	for w := range workers {
		// presign outside the goroutines' hot path
		bodies := make([][]byte, each)
		ids := make([]string, each)
		for i := range each {
			var rec *record.Record
			if w%2 == 0 {
				rec = placeRecord(t, e.op, fmt.Sprintf("cc-%d-%d", w, i), 39.5)
			} else {
				rec = statementRecord(t, e.keys["monitor"], fmt.Sprintf("cc-%d-%d", w, i))
			}
			ids[i] = rec.ID
			bodies[i], _ = json.Marshal(rec)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, b := range bodies {
				resp, err := e.hc.Post(e.srv.URL+"/api/v1/records", "application/json", bytes.NewReader(b))
				if err != nil {
					errs <- err.Error()
					continue
				}
				data, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusCreated {
					errs <- fmt.Sprintf("%s: %d %s", ids[i], resp.StatusCode, data)
					continue
				}
				var res results
				if err := json.Unmarshal(data, &res); err != nil || len(res.Results) != 1 || res.Results[0].ID != ids[i] {
					errs <- fmt.Sprintf("%s: answer %s", ids[i], data)
					continue
				}
				answers <- answer{ids[i], res.Results[0].Index}
			}
		}()
	}
	wg.Wait()
	close(answers)
	close(errs)
	for s := range errs {
		t.Error(s)
	}
	byIndex := map[uint64]string{}
	for a := range answers {
		if prev, ok := byIndex[a.index]; ok {
			t.Errorf("index %d given to both %s and %s", a.index, prev, a.id)
		}
		byIndex[a.index] = a.id
		if a.index < start || a.index >= start+workers*each {
			t.Errorf("%s at index %d, outside [%d, %d)", a.id, a.index, start, start+workers*each)
		}
	}
	if len(byIndex) != workers*each {
		t.Fatalf("%d distinct indices, want %d", len(byIndex), workers*each)
	}
	if n := e.logSize(); n != start+workers*each {
		t.Errorf("log size %d, want %d", n, start+workers*each)
	}

	// /records lists every one of them at the index it was given.
	var page list[store.RecordRow]
	e.get(fmt.Sprintf("/api/v1/records?after=%d&limit=1000", int64(start)-1), &page)
	if len(page.Items) != workers*each {
		t.Fatalf("/records lists %d records after %d, want %d", len(page.Items), start-1, workers*each)
	}
	for _, r := range page.Items {
		var rec record.Record
		json.Unmarshal(r.Record, &rec)
		if byIndex[r.Index] != rec.ID {
			t.Errorf("index %d holds %s, the answer said %s", r.Index, rec.ID, byIndex[r.Index])
		}
	}
	var st list[store.StatementRow]
	e.get("/api/v1/statements?limit=1000", &st)
	if want := 4 + workers/2*each; len(st.Items) != want {
		t.Errorf("%d statements, want %d", len(st.Items), want)
	}

	e.close()
	n, err := app.Verify(context.Background(), e.dir, "", io.Discard)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if n != start+workers*each {
		t.Errorf("verify saw %d records, want %d", n, start+workers*each)
	}
}

func firstBytes(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	return string(b)
}

// TestServedRecordIsSigned checks that a record served by the API can be
// verified as served: the payload is the canonical one the signature covers.
func TestServedRecordIsSigned(t *testing.T) {
	e := newEnv(t, false)
	rec := placeRecord(t, e.op, "served", 39.5)
	if r := e.post(rec); r.Status != http.StatusCreated {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	var row store.RecordRow
	e.get("/api/v1/records/"+rec.ID, &row)
	var got record.Record
	if err := json.Unmarshal(row.Record, &got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Payload, rec.Payload) {
		t.Errorf("served payload %q, signed payload %q", got.Payload, rec.Payload)
	}
	if err := got.Verify(e.op.Public); err != nil {
		t.Errorf("served record does not verify as served: %v", err)
	}
}
