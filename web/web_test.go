package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"corridor"
	"corridor/report"
	"corridor/web"
)

func size(e *env) uint64 { return e.node.Size() }

// TestPagesRender: every page renders for the scenario in every language,
// with no missing message and every place by all its names.
func TestPagesRender(t *testing.T) {
	e := newEnv(t)
	d, err := report.Load(context.Background(), e.node.Store())
	if err != nil {
		t.Fatal(err)
	}
	c := e.client()
	pages := []string{"/", "/routes/lachin-corridor", "/routes/aghdam-khankendi", "/convoys/am-2023-07", "/convoys/arcs-2023-08",
		"/convoys/fr-2023-08", "/claims", "/settlements/karabakh", "/settlements/khankendi", "/data", "/signin"}
	for _, lang := range web.Languages {
		cat := catalogue(t, lang)
		for _, p := range pages {
			code, body := e.get(c, p+"?lang="+lang)
			if code != http.StatusOK {
				t.Errorf("%s %s: %d", lang, p, code)
				continue
			}
			if strings.Contains(body, "⟦") {
				t.Errorf("%s %s: a message is missing: %s", lang, p, regexp.MustCompile(`⟦[^⟧]*⟧`).FindString(body))
			}
			if !strings.Contains(body, `<html lang="`+lang+`" dir="`+web.Dir(lang)+`">`) {
				t.Errorf("%s %s: not in %s, or not marked %s", lang, p, lang, web.Dir(lang))
			}
			if !strings.Contains(body, cat["footer.verify"]) {
				t.Errorf("%s %s: footer not translated", lang, p)
			}
		}
		_, body := e.get(c, "/?lang="+lang)
		for _, pl := range d.Places {
			if all := report.AllNames(pl.Names); !strings.Contains(body, htmlEscape(all)) {
				t.Errorf("%s overview: place %s lacks all its names %q", lang, pl.ID, all)
			}
		}
	}
	if strings.Contains(e.logs.String(), "missing message") {
		t.Errorf("the server logged missing messages:\n%s", e.logs.String())
	}
	for _, p := range []string{"/routes/nowhere", "/convoys/nothing", "/settlements/goris", "/settlements/nowhere", "/forms/nothing"} {
		if code, _ := e.get(c, p); code != http.StatusNotFound && !(p == "/forms/nothing" && code == http.StatusSeeOther) {
			t.Errorf("%s: %d, want 404", p, code)
		}
	}
}

func htmlEscape(s string) string { return strings.ReplaceAll(s, "'", "&#39;") }

// TestLanguageCookie: ?lang= sets a cookie that later pages follow, and
// Accept-Language is the default.
func TestLanguageCookie(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	e.get(c, "/data?lang=ru")
	if _, body := e.get(c, "/claims"); !strings.Contains(body, `<html lang="ru" dir="ltr">`) {
		t.Error("the language chosen did not stick")
	}
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/", nil)
	req.Header.Set("Accept-Language", "fr-CH, fr;q=0.9, en;q=0.8")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Content-Security-Policy") == "" {
		t.Error("no Content-Security-Policy")
	}
}

// TestStaticAssets: assets are served at checksum URLs, cached for good.
func TestStaticAssets(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	_, body := e.get(c, "/")
	m := regexp.MustCompile(`href="(/static/style\.[0-9a-f]{12}\.css)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no stylesheet at a checksum URL")
	}
	resp, err := c.Get(e.srv.URL + m[1])
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") {
		t.Errorf("stylesheet: %d %q %q", resp.StatusCode, resp.Header.Get("Cache-Control"), resp.Header.Get("Content-Type"))
	}
	if code, _ := e.get(c, "/static/style.000000000000.css"); code != http.StatusNotFound {
		t.Errorf("unknown asset: %d", code)
	}
	if regexp.MustCompile(`(src|href)="(https?:)?//`).MatchString(body) {
		t.Error("the overview refers to another host")
	}
}

// TestSignIn: a bad token is refused next to the field; a good one gives a
// secure session cookie; sign-out ends it.
func TestSignIn(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	resp, body := e.post(c, "/signin", url.Values{"token": {"corridor_nope"}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `id="e-token"`) {
		t.Errorf("bad token: %d", resp.StatusCode)
	}
	resp, _ = e.post(c, "/signin", url.Values{"token": {e.token("az-sbs")}, "next": {"/forms/clearance"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/forms/clearance" {
		t.Fatalf("sign in: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	var cookie *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "corridor_session" {
			cookie = ck
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || len(cookie.Value) < 40 {
		t.Fatalf("session cookie: %+v", cookie)
	}
	if _, body := e.get(c, "/forms/"); !strings.Contains(body, "State Border Service") {
		t.Error("forms page does not name the party signed in")
	}
	// An open redirect is not followed, however the next page is dressed.
	for _, next := range []string{"//evil.example/", "/\t/evil.example", "/\n/evil.example", "/\\evil.example", "/\x00/evil.example",
		"/ /evil.example", "/\u00a0/evil.example", "https://evil.example/", "/%09/evil.example"} {
		resp, _ = e.post(e.client(), "/signin", url.Values{"token": {e.token("az-sbs")}, "next": {next}})
		loc := resp.Header.Get("Location")
		if u, err := url.Parse(loc); err != nil || u.Host != "" || strings.ContainsAny(loc, "\t\n\r\\ ") || strings.HasPrefix(strings.Trim(loc, "\t\n\r "), "//") {
			t.Errorf("next=%q redirected to %q", next, loc)
		}
	}
	resp, _ = e.post(e.client(), "/signin", url.Values{"token": {e.token("az-sbs")}, "next": {"/routes/lachin-corridor"}})
	if loc := resp.Header.Get("Location"); loc != "/routes/lachin-corridor" {
		t.Errorf("a page of the site as next redirected to %q", loc)
	}
	resp, _ = e.post(c, "/signout", nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("sign out: %d", resp.StatusCode)
	}
	if code, _ := e.get(c, "/forms/clearance"); code != http.StatusSeeOther {
		t.Errorf("after sign-out the form answers %d, want a redirect to sign in", code)
	}
}

// TestFormsPerParty: a party sees and submits only its own role's forms,
// an authority only its own checkpoints; posts without a session or from
// another origin are refused, and nothing is written.
func TestFormsPerParty(t *testing.T) {
	e := newEnv(t)
	before := size(e)
	anon := e.client()
	if resp, _ := e.post(anon, "/forms/incident", url.Values{"id": {"x1"}, "description": {"x"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("post without a session: %d, want 403", resp.StatusCode)
	}
	org := e.client()
	e.signIn(org, "am-gov")
	_, body := e.get(org, "/forms/")
	if !strings.Contains(body, `href="/forms/convoy"`) || strings.Contains(body, `href="/forms/clearance"`) || strings.Contains(body, `href="/forms/claim"`) {
		t.Errorf("an organisation's forms list:\n%s", body)
	}
	for _, f := range []string{"clearance", "checkpoint-event", "claim", "claim-link"} {
		if code, _ := e.get(org, "/forms/"+f); code != http.StatusForbidden {
			t.Errorf("organisation GET /forms/%s: %d, want 403", f, code)
		}
		if resp, _ := e.post(org, "/forms/"+f, url.Values{"convoy": {"am-2023-07"}, "decision": {"approved"}}); resp.StatusCode != http.StatusForbidden {
			t.Errorf("organisation POST /forms/%s: %d, want 403", f, resp.StatusCode)
		}
	}
	auth := e.client()
	e.signIn(auth, "az-sbs")
	_, body = e.get(auth, "/forms/checkpoint-event")
	if !strings.Contains(body, `value="hakari"`) || strings.Contains(body, `value="askeran-pkc"`) {
		t.Error("the border service is offered checkpoints that are not its own")
	}
	// The form starts in the time of the places of its checkpoints (UTC+4).
	if !strings.Contains(body, `<option value="&#43;04:00" selected>`) {
		t.Error("the checkpoint form does not start in the time zone of the checkpoint's place (+04:00)")
	}
	// Even a hand-made post for another authority's checkpoint is refused.
	resp, body := e.post(auth, "/forms/checkpoint-event", url.Values{"checkpoint": {"askeran-pkc"}, "convoy": {"arcs-2023-08"}, "event": {"passed"},
		"at": {"2023-08-31T10:00"}, "at_offset": {"+04:00"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="e-checkpoint"`) {
		t.Errorf("event at another's checkpoint: %d", resp.StatusCode)
	}
	// Cross-origin posts are refused before anything is read.
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/forms/incident", strings.NewReader("id=x2"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Origin", "https://evil.example")
	for _, ck := range auth.Jar.Cookies(req.URL) {
		req.AddCookie(ck)
	}
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin post: %d, want 403", r2.StatusCode)
	}
	if after := size(e); after != before {
		t.Errorf("refused posts wrote %d records", after-before)
	}
}

// TestFormErrorsKeepInput: errors show next to their field with what was
// typed kept, and nothing is written; then a good post is signed with the
// party's delegated key.
func TestFormErrorsKeepInput(t *testing.T) {
	e := newEnv(t)
	before := size(e)
	org := e.client()
	e.signIn(org, "fr-cities")
	form := url.Values{"id": {"fr-2023-09"}, "route": {"lachin-corridor"}, "origin": {"goris"}, "destination": {"khankendi"}, "planned": {"2023-09-05"},
		"vehicles.kind": {"lorry"}, "vehicles.count": {"3"},
		"manifest[1].item": {"wheat flour"}, "manifest[1].sector": {"food"}, "manifest[1].quantity": {"10"}, "manifest[1].unit": {"t"}, "manifest[1].kg": {"10000"},
		"manifest[3].item": {"blankets"}, "manifest[3].sector": {"nfi"}, "manifest[3].quantity": {"500"}, "manifest[3].unit": {"piece"}, "manifest[3].kg": {"0"}}
	resp, body := e.post(org, "/forms/convoy", form)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("bad convoy: %d", resp.StatusCode)
	}
	// The domain names records[0].payload.manifest[1].kg: the second line
	// filed, which the user typed in row 3.
	if !regexp.MustCompile(`(?s)id="f-manifest\[3\]\.kg"[^>]*aria-invalid="true".*id="e-manifest\[3\]\.kg"`).MatchString(body) {
		t.Errorf("no error next to manifest[3].kg:\n%s", body)
	}
	if !strings.Contains(body, `value="blankets"`) || !strings.Contains(body, `value="fr-2023-09"`) {
		t.Error("what was typed is lost")
	}
	resp, body = e.post(org, "/forms/convoy", url.Values{"id": {"fr-2023-10"}, "vehicles.count": {"two"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="e-vehicles.count"`) {
		t.Errorf("vehicles count 'two': %d", resp.StatusCode)
	}
	if after := size(e); after != before {
		t.Fatalf("failed posts wrote %d records", after-before)
	}
	form.Set("manifest[3].kg", "2000")
	resp, _ = e.post(org, "/forms/convoy", form)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("good convoy: %d", resp.StatusCode)
	}
	loc := resp.Header.Get("Location")
	_, body = e.get(org, loc)
	if !strings.Contains(body, "signed by server on behalf of <bdi>French cities and regions (convoy)") {
		i := strings.Index(body, "behalf")
		t.Errorf("confirmation after filing:\n%s", body[max(0, i-200):min(len(body), i+300)])
	}
	cs := e.convoy("fr-2023-09")
	if cs.Filing.Organisation != "fr-cities" || len(cs.Filing.Vehicles) != 3 || len(cs.Filing.Manifest) != 2 {
		t.Fatalf("convoy filed: %+v", cs)
	}
	_, body = e.get(e.client(), "/convoys/fr-2023-09")
	if !strings.Contains(body, "signed by server on behalf of <bdi>French cities") {
		t.Error("the convoy page does not say the filing was signed by the server on behalf of the party")
	}
	// The authority answers the new clearance request through its form.
	auth := e.client()
	e.signIn(auth, "az-sbs")
	_, body = e.get(auth, "/forms/clearance")
	if !strings.Contains(body, `value="fr-2023-09"`) {
		t.Fatal("the new convoy is not in the authority's clearance inbox")
	}
	resp, body = e.post(auth, "/forms/clearance", url.Values{"convoy": {"fr-2023-09"}, "decision": {"refused"}, "at": {"2023-09-01T10:00"}, "at_offset": {"+04:00"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="e-reason_category"`) {
		t.Errorf("refusal without a reason: %d", resp.StatusCode)
	}
	resp, _ = e.post(auth, "/forms/clearance", url.Values{"convoy": {"fr-2023-09"}, "decision": {"refused"}, "reason_category": {"no-prior-agreement"},
		"reason": {"No prior agreement."}, "at": {"2023-09-01T10:00"}, "at_offset": {"+04:00"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("refusal: %d", resp.StatusCode)
	}
}

// TestEmptyLog: a new data folder with nothing but the operator renders.
func TestEmptyLog(t *testing.T) {
	e := newEnvWith(t, false)
	c := e.client()
	for _, p := range []string{"/", "/claims", "/data", "/signin"} {
		if code, body := e.get(c, p); code != http.StatusOK || strings.Contains(body, "⟦") {
			t.Errorf("%s on an empty log: %d", p, code)
		}
	}
}

// TestMapBorders: the overview's map draws the country borders of the
// scenario's area from the embedded Natural Earth cut, and says where
// they come from.
func TestMapBorders(t *testing.T) {
	e := newEnv(t)
	_, body := e.get(e.client(), "/")
	i := strings.Index(body, `<g class="borders"`)
	if i < 0 || !strings.Contains(body, "Natural Earth") {
		t.Fatal("the map has no borders, or does not name their source")
	}
	if n := strings.Count(body[i:strings.Index(body[i:], "</g>")+i], "<path "); n < 1 {
		t.Errorf("%d border lines on the map", n)
	}
}

// TestNoRawCodes: no page shows a domain code (humanitarian-cargo,
// no-prior-agreement, departed-without-agreement, …) where a reader
// should read words, in any language. Record ids in <code> and links'
// addresses are not text a reader reads as words.
func TestNoRawCodes(t *testing.T) {
	e := newEnv(t)
	var codes []string
	for _, list := range [][]string{corridor.TrafficKinds, corridor.ReasonCategories, corridor.CheckpointEvents, corridor.ConvoyMoves, corridor.LineDecisions,
		corridor.VerificationStatuses, corridor.Modes, corridor.AssertionKinds, {corridor.FlagNoAgreement, corridor.FlagOutOfOrder, corridor.FlagConfirmed}} {
		for _, c := range list {
			if strings.Contains(c, "-") {
				codes = append(codes, c)
			}
		}
	}
	for _, c := range corridor.AccessCategories {
		codes = append(codes, c.Code)
	}
	hidden := regexp.MustCompile(`(?s)<code>.*?</code>|<script.*?</script>|<style.*?</style>|<[^>]*>`)
	c := e.client()
	for _, lang := range web.Languages {
		for _, p := range []string{"/", "/routes/lachin-corridor", "/routes/aghdam-khankendi", "/convoys/am-2023-07", "/convoys/arcs-2023-08",
			"/convoys/fr-2023-08", "/claims", "/settlements/karabakh", "/settlements/khankendi", "/data"} {
			_, body := e.get(c, p+"?lang="+lang)
			text := hidden.ReplaceAllString(body, " ")
			for _, code := range codes {
				if i := regexp.MustCompile(`(^|[^\w/.-])` + regexp.QuoteMeta(code) + `($|[^\w/.-])`).FindStringIndex(text); i != nil {
					t.Errorf("%s %s shows the raw code %q: …%s…", lang, p, code, strings.TrimSpace(text[max(0, i[0]-60):min(len(text), i[1]+40)]))
					break
				}
			}
		}
	}
}
