package web_test

import (
	"encoding/xml"
	"io"
	"net/http"
	"strings"
	"testing"
)

// A reader follows incidents and claims through Atom feeds: well-formed,
// each entry with an id, a date, an author and what the records say.
func TestFeeds(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		path, want string
	}{{"/incidents.atom", "Restriction of movement within the country"}, {"/claims.atom", "verdict from the records: consistent"}} {
		resp, err := http.Get(e.srv.URL + c.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/atom+xml") {
			t.Fatalf("GET %s: %d %s", c.path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		var f struct {
			XMLName xml.Name
			ID      string `xml:"id"`
			Updated string `xml:"updated"`
			Entries []struct {
				ID      string `xml:"id"`
				Title   string `xml:"title"`
				Updated string `xml:"updated"`
				Author  string `xml:"author>name"`
				Summary string `xml:"summary"`
			} `xml:"entry"`
		}
		if err := xml.Unmarshal(body, &f); err != nil {
			t.Fatalf("GET %s: not XML: %v", c.path, err)
		}
		if f.XMLName.Space != "http://www.w3.org/2005/Atom" || f.XMLName.Local != "feed" || f.ID == "" || f.Updated == "" || len(f.Entries) == 0 {
			t.Fatalf("GET %s: %+v", c.path, f)
		}
		ids := map[string]bool{}
		for _, en := range f.Entries {
			if en.ID == "" || ids[en.ID] || en.Updated == "" || en.Author == "" || en.Title == "" {
				t.Errorf("%s: entry %+v lacks an id (or repeats one), a date, an author or a title", c.path, en)
			}
			ids[en.ID] = true
		}
		if !strings.Contains(string(body), c.want) {
			t.Errorf("%s does not say %q:\n%s", c.path, c.want, body)
		}
	}
	if _, page := e.get(e.client(), "/"); !strings.Contains(page, `type="application/atom+xml" href="/incidents.atom"`) {
		t.Error("the overview does not point feed readers to the incidents feed")
	}
}
