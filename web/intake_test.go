package web_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// TestIntakePage: a monitor pastes a news text, reads the drafts with the
// sentence each came from, fixes one, and signs them as one batch; a
// draft broken by the edit is refused beside it and nothing is written;
// signing again writes nothing new; an organisation has no intake page.
func TestIntakePage(t *testing.T) {
	e := newEnv(t)
	mon := e.client()
	e.signIn(mon, "monitor")
	if code, page := e.get(mon, "/forms/"); code != 200 || !strings.Contains(page, `href="/intake"`) {
		t.Fatalf("the forms page does not offer intake: %d", code)
	}
	text := "Deputy Foreign Minister Vahan Kostanyan said on Thursday that the Lachin corridor remains blocked. " +
		"Nineteen trucks carrying 361 tonnes of flour are still stuck at the Hakari bridge checkpoint."
	resp, page := e.post(mon, "/intake", url.Values{"text": {text}, "published": {"2023-07-28"}})
	if resp.StatusCode != 200 || !strings.Contains(page, "3 drafts") || !strings.Contains(page, "Nineteen trucks carrying 361 tonnes") {
		t.Fatalf("reading the text: %d\n%.3000s", resp.StatusCode, page)
	}
	// The form as the browser would send it back: every draft's fields.
	form := url.Values{"action": {"sign"}, "text": {text}, "published": {"2023-07-28"}, "drafts": {"3"}}
	field := regexp.MustCompile(`name="(type|sentence)\[(\d)\]" value="([^"]*)"`)
	for _, m := range field.FindAllStringSubmatch(page, -1) {
		form.Set(m[1]+"["+m[2]+"]", html.UnescapeString(m[3]))
	}
	area := regexp.MustCompile(`(?s)name="draft\[(\d)\]"[^>]*>(.*?)</textarea>`)
	for _, m := range area.FindAllStringSubmatch(page, -1) {
		form.Set("draft["+m[1]+"]", html.UnescapeString(m[2]))
		form.Set("use["+m[1]+"]", "1")
	}
	if len(form["draft[2]"]) == 0 || !strings.Contains(form.Get("type[2]"), "incident") {
		t.Fatalf("the drafts page lacks the drafts' fields: %v", form)
	}
	before := size(e)
	broken := url.Values{}
	for k, v := range form {
		broken[k] = v
	}
	broken.Set("draft[1]", "{ not json")
	if resp, page := e.post(mon, "/intake", broken); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, `id="e-draft-1"`) || size(e) != before {
		t.Fatalf("a broken draft: %d, error beside it %v, records %d", resp.StatusCode, strings.Contains(page, `id="e-draft-1"`), size(e)-before)
	}
	// The monitor corrects the speaker's name before signing.
	form.Set("draft[0]", strings.Replace(form.Get("draft[0]"), "Deputy Foreign Minister Vahan Kostanyan", "Vahan Kostanyan", 1))
	resp, page = e.post(mon, "/intake", form)
	if resp.StatusCode != 200 || !strings.Contains(page, "3 records signed") || size(e) != before+3 {
		t.Fatalf("signing: %d, %d records\n%.2000s", resp.StatusCode, size(e)-before, page)
	}
	if resp, _ := e.post(mon, "/intake", form); resp.StatusCode != 200 || size(e) != before+3 {
		t.Fatalf("signing again: %d, %d records", resp.StatusCode, size(e)-before)
	}
	stmts, err := e.node.Store().Statements(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, s := range stmts {
		found = found || (s.Speaker == "Vahan Kostanyan" && string(s.SaidOn) == "2023-07-27")
	}
	if !found {
		t.Error("the corrected statement is not recorded")
	}
	org := e.client()
	e.signIn(org, "fr-cities")
	if code, _ := e.get(org, "/intake"); code != http.StatusForbidden {
		t.Errorf("an organisation's intake page: %d", code)
	}
}
