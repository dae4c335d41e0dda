package api_test

import (
	"net/http"
	"strings"
	"testing"
)

// Every answer of the API is problem+json, those of paths and methods it
// does not have too, with titles in one case.
func TestUnknownRoutesAnswerProblems(t *testing.T) {
	e := newEnv(t, false)
	for _, c := range []struct {
		method, path string
		status       int
		allow        string
	}{
		{http.MethodGet, "/api/v1/nothing-here", http.StatusNotFound, ""},
		{http.MethodDelete, "/api/v1/records", http.StatusMethodNotAllowed, "GET"},
		{http.MethodPut, "/api/v1/convoys/x", http.StatusMethodNotAllowed, "GET"},
		{http.MethodGet, "/api/v1/convoys/no-such-convoy", http.StatusNotFound, ""},
		{http.MethodPost, "/api/v1/records", http.StatusUnauthorized, ""},
	} {
		req, _ := http.NewRequest(c.method, e.srv.URL+c.path, strings.NewReader(`{"records": []}`))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.status || resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s %s: %d %s, want %d problem+json", c.method, c.path, resp.StatusCode, resp.Header.Get("Content-Type"), c.status)
		}
		if c.allow != "" && !strings.Contains(resp.Header.Get("Allow"), c.allow) {
			t.Errorf("%s %s: Allow %q, want it to list %s", c.method, c.path, resp.Header.Get("Allow"), c.allow)
		}
	}
	r := e.do(http.MethodGet, "/api/v1/nothing-here", nil)
	if p := r.problem(t); p.Title != http.StatusText(http.StatusNotFound) || p.Code != "not-found" {
		t.Errorf("unknown path: %+v", p)
	}
}
