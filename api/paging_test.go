package api_test

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"testing"
)

// TestListsPage: lists in log order can be read a page at a time, and the
// pages together are the whole list, each item once.
func TestListsPage(t *testing.T) {
	e := newEnv(t, true)
	for _, path := range []string{"/api/v1/statements", "/api/v1/claims", "/api/v1/convoys", "/api/v1/records"} {
		var whole struct {
			Items []struct {
				LogIndex *uint64 `json:"log_index"`
				Index    *uint64 `json:"index"`
			}
		}
		e.get(path+"?limit=1000", &whole)
		if len(whole.Items) < 3 {
			t.Fatalf("%s: %d items, want at least 3 to page through", path, len(whole.Items))
		}
		var seen []uint64
		after := int64(-1)
		for pages := 0; ; pages++ {
			var page struct {
				Items []struct {
					LogIndex *uint64 `json:"log_index"`
					Index    *uint64 `json:"index"`
				}
				Next *int64 `json:"next_after"`
			}
			e.get(fmt.Sprintf("%s?limit=2&after=%d", path, after), &page)
			if len(page.Items) > 2 {
				t.Fatalf("%s: a page of %d items, limit 2", path, len(page.Items))
			}
			for _, it := range page.Items {
				idx := it.LogIndex
				if idx == nil {
					idx = it.Index
				}
				seen = append(seen, *idx)
			}
			if page.Next == nil {
				break
			}
			after = *page.Next
			if pages > len(whole.Items) {
				t.Fatalf("%s: paging does not end", path)
			}
		}
		if len(seen) != len(whole.Items) {
			t.Errorf("%s: pages hold %d items, the whole list %d", path, len(seen), len(whole.Items))
		}
		for i := 1; i < len(seen); i++ {
			if seen[i] <= seen[i-1] {
				t.Errorf("%s: items out of log order or repeated: %v", path, seen)
				break
			}
		}
	}
	before := e.logSize()
	wantProblem(t, e, e.do("GET", "/api/v1/statements?limit=0", nil), before, 400, "invalid", "limit")
	wantProblem(t, e, e.do("GET", "/api/v1/claims?after=x", nil), before, 400, "invalid", "after")
}

// An authority's inbox pages in SQL: a page of convoys at a time,
// filtered by authority; following next_after gives every request once.
func TestClearancesPage(t *testing.T) {
	e := newEnv(t, true)
	type page struct {
		Items []struct {
			Convoy    string `json:"convoy"`
			Authority string `json:"authority"`
		} `json:"items"`
		Next *int64 `json:"next_after"`
	}
	var all page
	e.get("/api/v1/clearances?authority=az-sbs&limit=1000", &all)
	if len(all.Items) == 0 {
		t.Fatal("az-sbs has no clearance request in the reference scenario")
	}
	var got []string
	after := "-1"
	for range 100 {
		var p page
		e.get("/api/v1/clearances?authority=az-sbs&limit=1&after="+after, &p)
		for _, it := range p.Items {
			if it.Authority != "az-sbs" {
				t.Errorf("a request of %s in az-sbs's inbox", it.Authority)
			}
			got = append(got, it.Convoy)
		}
		if p.Next == nil {
			break
		}
		after = strconv.FormatInt(*p.Next, 10)
	}
	var want []string
	for _, it := range all.Items {
		want = append(want, it.Convoy)
	}
	if !slices.Equal(got, want) {
		t.Errorf("paged one convoy at a time: %v; in one page: %v", got, want)
	}
	if r := e.do(http.MethodGet, "/api/v1/clearances?limit=0", nil); r.Status != http.StatusBadRequest || r.problem(t).Field != "limit" {
		t.Errorf("limit=0: %d", r.Status)
	}
}
