package api_test

import (
	"net/http"
	"testing"

	"corridor"
	"corridor/store"
)

// An authority publishes its list of restricted items through the API;
// readers get it back, all lists or one authority's, and a bad filter is
// refused naming the parameter.
func TestRestrictedListsServed(t *testing.T) {
	e := newEnv(t, true)
	rec := sign(t, e.keys["az-sbs"], "list-1", corridor.TypeRestricted, 1, &corridor.RestrictedList{
		ID: "az-2023-08", Authority: "az-sbs", From: "2023-08-01", Source: "published list",
		Items: []corridor.RestrictedItem{{Item: "generators", Category: "dual-use"}, {Item: "fertiliser", Category: "prohibited"}},
	})
	if r := e.post(rec); r.Status >= 300 {
		t.Fatalf("publishing the list: %d %s", r.Status, r.Body)
	}
	var all struct{ Items []store.RestrictedListRow }
	e.get("/api/v1/restricted-lists", &all)
	if len(all.Items) != 1 || all.Items[0].ID != "az-2023-08" || len(all.Items[0].Items) != 2 || all.Items[0].Items[0].Category != "dual-use" {
		t.Fatalf("GET /api/v1/restricted-lists = %+v", all.Items)
	}
	var none struct{ Items []store.RestrictedListRow }
	e.get("/api/v1/restricted-lists?authority=ru-pkc", &none)
	if len(none.Items) != 0 {
		t.Fatalf("ru-pkc published no list, yet %+v", none.Items)
	}
	if p := e.do(http.MethodGet, "/api/v1/restricted-lists?authority=Not%20An%20Id", nil).problem(t); p.Field != "authority" {
		t.Errorf("a bad authority filter: %+v, want a problem naming authority", p)
	}
}
