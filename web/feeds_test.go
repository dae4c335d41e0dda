package web_test

import (
	"encoding/xml"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A reader follows incidents and claims through Atom feeds: well-formed,
// each entry with an id, a date, an author and what the records say.
func TestFeeds(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		path, want string
	}{{"/incidents.atom", "Restriction of movement within the country"}, {"/claims.atom", "verdict from the records: consistent"},
		{"/feed.atom", "log index 0"}, {"/routes/lachin-corridor/feed.atom", "checkpoint event convoy-fr-2023-08-refused"},
		{"/checkpoints/hakari/feed.atom", "signed by State Border Service"}, {"/convoys/am-2023-07/feed.atom", "convoy file"}} {
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
			if _, err := time.Parse(time.RFC3339, en.Updated); en.ID == "" || ids[en.ID] || err != nil || en.Author == "" || en.Title == "" {
				t.Errorf("%s: entry %+v lacks an id (or repeats one), an RFC 3339 date, an author or a title", c.path, en)
			}
			ids[en.ID] = true
		}
		if _, err := time.Parse(time.RFC3339, f.Updated); err != nil {
			t.Errorf("%s: updated %q is not RFC 3339", c.path, f.Updated)
		}
		if !strings.Contains(string(body), c.want) {
			t.Errorf("%s does not say %q:\n%s", c.path, c.want, body)
		}
	}
	if _, page := e.get(e.client(), "/"); !strings.Contains(page, `type="application/atom+xml" href="/incidents.atom"`) || !strings.Contains(page, `href="/feed.atom"`) {
		t.Error("the overview does not point feed readers to the feeds")
	}
	// A convoy's feed lists its filing and every step after, latest first.
	_, body := e.get(e.client(), "/convoys/am-2023-07/feed.atom")
	cv := e.convoy("am-2023-07")
	want := map[uint64]bool{cv.LogIndex: true}
	for _, ev := range cv.Events {
		want[ev.LogIndex] = true
	}
	if n := strings.Count(body, "<entry>"); n != len(want) {
		t.Errorf("the convoy's feed has %d entries; the convoy has %d records (its filing and the events after)", n, len(want))
	}
	for _, p := range []string{"/routes/nowhere/feed.atom", "/checkpoints/nowhere/feed.atom", "/convoys/nothing/feed.atom"} {
		if code, _ := e.get(e.client(), p); code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, code)
		}
	}
}
