package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"corridor"
)

// TestConvoyMoveForm: an organisation records its own convoy's movements
// through the web: it is offered only its own convoys that are not final,
// a delivery of more than is left is refused next to the row typed, and a
// cancellation is written, signed with the party's delegated key.
func TestConvoyMoveForm(t *testing.T) {
	e := newEnv(t)
	org := e.client()
	e.signIn(org, "fr-cities")
	code, body := e.get(org, "/forms/convoy-move")
	if code != http.StatusOK || !strings.Contains(body, `value="fr-2023-08"`) || strings.Contains(body, `value="am-2023-07"`) {
		t.Fatalf("the move form (%d) offers other parties' convoys or not its own:\n%s", code, body)
	}
	before := size(e)
	// The French convoy was refused: it cannot be delivered.
	resp, body := e.post(org, "/forms/convoy-move", url.Values{"convoy": {"fr-2023-08"}, "event": {"delivered"},
		"at": {"2023-08-31T10:00"}, "at_offset": {"+04:00"},
		"received[2].line": {"1"}, "received[2].quantity": {"40"}, "received[2].kg": {"40000"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="e-event"`) || !strings.Contains(body, `value="40000"`) {
		t.Fatalf("delivering a refused convoy: %d, want 422 with the error at the event and the input kept", resp.StatusCode)
	}
	if size(e) != before {
		t.Fatal("a refused form wrote a record")
	}
	resp, _ = e.post(org, "/forms/convoy-move", url.Values{"convoy": {"fr-2023-08"}, "event": {"returned"},
		"at": {"2023-08-31T10:00"}, "at_offset": {"+04:00"}, "note": {"back to Goris"}})
	if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusOK {
		t.Fatalf("returning the convoy: %d", resp.StatusCode)
	}
	status := corridor.ConvoyStatus(e.convoy("fr-2023-08").Status)
	var delegated bool
	if p, err := e.node.Store().Party(context.Background(), "fr-cities"); err == nil {
		for _, k := range p.Keys {
			delegated = delegated || k.Delegated
		}
	}
	if status != corridor.StatusReturned || size(e) != before+1 || !delegated {
		t.Fatalf("after the form: status %s, %d new records, delegated key %v", status, size(e)-before, delegated)
	}
	// Another organisation's convoy cannot be moved, even by a hand-made post.
	resp, _ = e.post(org, "/forms/convoy-move", url.Values{"convoy": {"am-2023-07"}, "event": {"cancelled"},
		"at": {"2023-08-31T11:00"}, "at_offset": {"+04:00"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || size(e) != before+1 {
		t.Fatalf("moving another party's convoy: %d", resp.StatusCode)
	}
}

// TestCheckpointFormOffersConvoysStillToArrive: an authority's checkpoint
// form offers a convoy while it can still arrive at one of the
// authority's checkpoints, and no longer once it has passed them.
func TestCheckpointFormOffersConvoysStillToArrive(t *testing.T) {
	e := newEnv(t)
	pkc := e.client()
	e.signIn(pkc, "ru-pkc")
	if _, body := e.get(pkc, "/forms/checkpoint-event"); !strings.Contains(body, `<option value="arcs-2023-08">`) {
		t.Fatal("a convoy held at the peacekeepers' checkpoint is not offered to them")
	}
	resp, body := e.post(pkc, "/forms/checkpoint-event", url.Values{"checkpoint": {"askeran-pkc"}, "convoy": {"arcs-2023-08"}, "event": {"passed"},
		"at": {"2023-09-01T10:00"}, "at_offset": {"+04:00"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("passed at the checkpoint: %d\n%.2000s", resp.StatusCode, body)
	}
	if _, body := e.get(pkc, "/forms/checkpoint-event"); strings.Contains(body, `<option value="arcs-2023-08">`) {
		t.Error("a convoy that has passed the authority's only checkpoint on its way is still offered")
	}
}

// TestClaimAboutAConvoy: a monitor names a convoy in a claim through the
// web form; the convoy's page then shows the claim; an unknown convoy is
// refused beside the field and nothing is written.
func TestClaimAboutAConvoy(t *testing.T) {
	e := newEnv(t)
	mon := e.client()
	e.signIn(mon, "monitor")
	claim := url.Values{"id": {"claim-about-fr-convoy"}, "speaker": {"A spokesperson"}, "affiliation": {"Ministry"}, "said_on": {"2023-08-31"},
		"medium": {"press conference"}, "reported": {"said the convoy had been turned away at the bridge"}, "lang": {"en"}}
	before := size(e)
	bad := url.Values{}
	for k, v := range claim {
		bad[k] = v
	}
	bad.Set("about_convoys", "fr-2023-08, no-such-convoy")
	resp, body := e.post(mon, "/forms/claim", bad)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="e-about_convoys"`) || size(e) != before {
		t.Fatalf("a claim about an unknown convoy: %d, error beside the field: %v, records %d → %d", resp.StatusCode, strings.Contains(body, `id="e-about_convoys"`), before, size(e))
	}
	claim.Set("about_convoys", "fr-2023-08")
	if resp, body := e.post(mon, "/forms/claim", claim); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("claim about a convoy: %d\n%.1500s", resp.StatusCode, body)
	}
	_, page := e.get(e.client(), "/convoys/fr-2023-08")
	if !strings.Contains(page, `id="claim-claim-about-fr-convoy"`) || !strings.Contains(page, "turned away at the bridge") {
		t.Error("the convoy's page does not show the claim about it")
	}
	if _, page := e.get(e.client(), "/convoys/am-2023-07"); strings.Contains(page, "claim-about-fr-convoy") {
		t.Error("another convoy's page shows the claim")
	}
}

// TestConvoyStagesDrawn: a convoy's page draws its timed steps on one
// axis (no script needed), each linked to its record in the history, with
// the time between steps; a convoy with one timed step has no drawing.
func TestConvoyStagesDrawn(t *testing.T) {
	e := newEnv(t)
	_, page := e.get(e.client(), "/convoys/fr-2023-08")
	i := strings.Index(page, `<figure class="chart stages">`)
	if i < 0 {
		t.Fatal("no stages drawing on the convoy page")
	}
	fig := page[i : i+strings.Index(page[i:], "</figure>")]
	marks := regexp.MustCompile(`<a href="#ev-(\d+)">`).FindAllStringSubmatch(fig, -1)
	if len(marks) < 2 {
		t.Fatalf("%d marks in the drawing, want every timed step:\n%s", len(marks), fig)
	}
	for _, m := range marks {
		if !strings.Contains(page, `id="ev-`+m[1]+`"`) {
			t.Errorf("mark links to #ev-%s, which is not in the history", m[1])
		}
	}
	if !strings.Contains(fig, `class="mark stopped"`) || !regexp.MustCompile(`class="gap"[^>]*>[0-9.,]+ (d|h)<`).MatchString(fig) {
		t.Errorf("the refusal is not marked as a stop, or the time between steps is missing:\n%s", fig)
	}
}

// TestFormSentTwiceIsOneRecord: a monitor's incident form, sent again
// (a retry over a bad link, a second click), is the same record; the
// incident's id, left empty, is made from what it says.
func TestFormSentTwiceIsOneRecord(t *testing.T) {
	e := newEnv(t)
	mon := e.client()
	e.signIn(mon, "monitor")
	form := url.Values{"category": {"restriction-of-movement"}, "occurred": {"2023-08-30"}, "reported": {"2023-08-31"},
		"route": {"lachin-corridor"}, "place": {"kornidzor"}, "verification": {corridor.Unverified},
		"description": {"Lorries stopped before the bridge (sent twice)."}}
	before := size(e)
	var done []string
	for range 2 {
		resp, _ := e.post(mon, "/forms/incident", form)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("incident form: %d", resp.StatusCode)
		}
		done = append(done, resp.Header.Get("Location"))
	}
	if size(e) != before+1 || done[0] != done[1] {
		t.Fatalf("sent twice: %d new records, answers %v; want one record, the same answer", size(e)-before, done)
	}
	list, err := e.node.Store().Incidents(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, i := range list {
		if strings.HasSuffix(i.Description, "(sent twice).") {
			n++
			if !regexp.MustCompile(`^incident-[0-9a-f]{12}$`).MatchString(i.ID) {
				t.Errorf("incident id %q is not made from its content", i.ID)
			}
		}
	}
	if n != 1 {
		t.Fatalf("%d incidents recorded", n)
	}
}

// TestStatementForm: a monitor records, on the web, what a speaker who
// is no registered party said in reported speech, with no id typed; a
// statement with neither a quote nor reported speech is refused beside
// the field, and nothing is written.
func TestStatementForm(t *testing.T) {
	e := newEnv(t)
	mon := e.client()
	e.signIn(mon, "monitor")
	form := url.Values{"kind": {"statement"}, "speaker": {"Mayor of Goris"}, "affiliation": {"Goris municipality"}, "said_on": {"2023-08-30"},
		"lang": {"en"}, "about_routes": {"lachin-corridor"}}
	before := size(e)
	if resp, body := e.post(mon, "/forms/statement", form); resp.StatusCode != http.StatusUnprocessableEntity || size(e) != before {
		t.Fatalf("a statement with no words: %d, %d records\n%.1500s", resp.StatusCode, size(e)-before, body)
	}
	form.Set("reported", "The mayor said the lorries had waited in the town for five weeks.")
	if resp, body := e.post(mon, "/forms/statement", form); resp.StatusCode != http.StatusSeeOther || size(e) != before+1 {
		t.Fatalf("the statement: %d\n%.1500s", resp.StatusCode, body)
	}
	stmts, err := e.node.Store().Statements(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ok := false
	for _, s := range stmts {
		ok = ok || (s.Speaker == "Mayor of Goris" && s.Reported != "" && s.Quote == "" && regexp.MustCompile(`^st-[0-9a-f]{12}$`).MatchString(s.ID))
	}
	if !ok {
		t.Errorf("the statement as recorded: %+v", stmts[len(stmts)-1])
	}
}

// TestMonitorVerifiesAndConfirms: a monitor records a new verification
// status of a reported incident from the web; the delivery confirmation
// form offers only convoys reported delivered, and refuses one that was
// not, beside the field, writing nothing.
func TestMonitorVerifiesAndConfirms(t *testing.T) {
	e := newEnv(t)
	mon := e.client()
	e.signIn(mon, "monitor")
	code, page := e.get(mon, "/forms/incident-verify")
	if code != 200 || !strings.Contains(page, `value="lachin-cargo-2023-06-15"`) || strings.Contains(page, `value="derived-`) {
		t.Fatalf("the verification form (%d) does not offer the reported incidents alone", code)
	}
	before := size(e)
	if resp, body := e.post(mon, "/forms/incident-verify", url.Values{"incident": {"lachin-cargo-2023-06-15"}, "verification": {corridor.Verified},
		"note": {"Confirmed by two convoys turned back the same week."}}); resp.StatusCode != http.StatusSeeOther || size(e) != before+1 {
		t.Fatalf("verifying: %d\n%.1500s", resp.StatusCode, body)
	}
	list, err := e.node.Store().Incidents(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range list {
		if i.ID == "lachin-cargo-2023-06-15" && i.Verification != corridor.Verified {
			t.Errorf("the incident's status is %s after the verification", i.Verification)
		}
	}
	if _, page := e.get(mon, "/forms/delivery-confirm"); strings.Contains(page, `value="fr-2023-08"`) {
		t.Error("the confirmation form offers a convoy that was refused")
	}
	resp, body := e.post(mon, "/forms/delivery-confirm", url.Values{"convoy": {"fr-2023-08"}, "at": {"2023-08-31T10:00"}, "at_offset": {"+04:00"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="e-convoy"`) || size(e) != before+1 {
		t.Fatalf("confirming a refused convoy: %d, error beside the convoy %v", resp.StatusCode, strings.Contains(body, `id="e-convoy"`))
	}
}

// TestRouteForms: an authority of a route closes it to civilians and
// opens it again through the web; a monitor records traffic seen passing
// and is not offered the closure. A form missing its traffic, or with a
// count that is not a number, is sent back with the error beside the field
// and nothing is written; the route's status follows from the records.
func TestRouteForms(t *testing.T) {
	e := newEnv(t)
	auth := e.client()
	e.signIn(auth, "az-sbs")
	if code, page := e.get(auth, "/forms/route-closed"); code != http.StatusOK || !strings.Contains(page, `value="lachin-corridor"`) {
		t.Fatalf("the closure form for an authority: %d", code)
	}
	before := size(e)
	// Two fields left out: both are named at once.
	closed := url.Values{"route": {"lachin-corridor"}, "from": {"2023-09-01"}, "reason": {"works on the bridge"}}
	if resp, body := e.post(auth, "/forms/route-closed", closed); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="e-traffic"`) ||
		!strings.Contains(body, `id="e-reason_category"`) || !strings.Contains(body, "works on the bridge") || size(e) != before {
		t.Fatalf("a closure with no traffic and no reason category: %d, errors beside traffic %v and reason category %v, %d written", resp.StatusCode,
			strings.Contains(body, `id="e-traffic"`), strings.Contains(body, `id="e-reason_category"`), size(e)-before)
	}
	var rep struct {
		Traffic []struct {
			Traffic string `json:"traffic"`
			Current string `json:"current"`
		} `json:"traffic"`
	}
	status := func(day string) string {
		t.Helper()
		code, body := e.get(e.client(), "/api/v1/routes/lachin-corridor/status?from="+day+"&to="+day)
		if err := json.Unmarshal([]byte(body), &rep); code != 200 || err != nil {
			t.Fatalf("route status: %d %v", code, err)
		}
		for _, tr := range rep.Traffic {
			if tr.Traffic == corridor.Civilians {
				return tr.Current
			}
		}
		return ""
	}
	if s := status("2023-09-02"); s == string(corridor.Blocked) {
		t.Fatalf("the route for civilians on 2 Sep before the closure: %q", s)
	}
	closed.Set("traffic", corridor.Civilians)
	closed.Set("reason_category", "security")
	for range 2 { // sent twice, over a bad link: one record
		if resp, body := e.post(auth, "/forms/route-closed", closed); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("closing the route: %d\n%.1500s", resp.StatusCode, body)
		}
	}
	if size(e) != before+1 {
		t.Fatalf("closing the route twice wrote %d records, want 1", size(e)-before)
	}
	if s := status("2023-09-01"); s != string(corridor.Blocked) {
		t.Errorf("the route for civilians on 1 Sep after the closure from that day: %q, want blocked", s)
	}
	if resp, body := e.post(auth, "/forms/route-opened", url.Values{"route": {"lachin-corridor"}, "traffic": {corridor.Civilians}, "from": {"2023-09-02"},
		"note": {"works done"}}); resp.StatusCode != http.StatusSeeOther || size(e) != before+2 {
		t.Fatalf("opening the route: %d\n%.1500s", resp.StatusCode, body)
	}
	if s := status("2023-09-02"); s == string(corridor.Blocked) {
		t.Errorf("the route for civilians on 2 Sep, the day it was opened: %q", s)
	}
	if s := status("2023-09-01"); s != string(corridor.Blocked) {
		t.Errorf("the opening changed the day of the closure: 1 Sep is %q", s)
	}

	mon := e.client()
	e.signIn(mon, "monitor")
	if code, _ := e.get(mon, "/forms/route-closed"); code != http.StatusForbidden {
		t.Errorf("a monitor's GET of the closure form: %d, want 403", code)
	}
	seen := url.Values{"route": {"lachin-corridor"}, "checkpoint": {"hakari"}, "traffic": {corridor.Civilians}, "from": {"2023-09-02"},
		"count": {"twelve"}, "unit": {"vehicles"}, "source": {"observer on the road"}}
	if resp, body := e.post(mon, "/forms/passage", seen); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="e-count"`) || size(e) != before+2 {
		t.Fatalf("a passage counted in words: %d, error beside the count %v", resp.StatusCode, strings.Contains(body, `id="e-count"`))
	}
	seen.Set("count", "12")
	if resp, body := e.post(mon, "/forms/passage", seen); resp.StatusCode != http.StatusSeeOther || size(e) != before+3 {
		t.Fatalf("recording a passage: %d\n%.1500s", resp.StatusCode, body)
	}
}

// TestRouteChartMarksRecords: the route's timeline marks each record that
// decides a day, linked to it in the log.
func TestRouteChartMarksRecords(t *testing.T) {
	e := newEnv(t)
	_, page := e.get(e.client(), "/routes/lachin-corridor")
	marks := regexp.MustCompile(`<a class="mark" href="/api/v1/records\?after=(\d+)&amp;limit=1">`).FindAllStringSubmatch(page, -1)
	if len(marks) == 0 {
		t.Fatal("the route chart marks no record")
	}
	// The refusal of the French convoy is one of them.
	row, err := e.node.Store().RecordByID(context.Background(), "convoy-fr-2023-08-refused")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, m := range marks {
		found = found || m[1] == strconv.FormatUint(row.Index-1, 10)
	}
	if !found {
		t.Errorf("no marker for the refusal at log index %d among %d", row.Index, len(marks))
	}
	code, body := e.get(e.client(), "/api/v1/records?after="+strconv.FormatUint(row.Index-1, 10)+"&limit=1")
	if code != 200 || !strings.Contains(body, "convoy-fr-2023-08-refused") {
		t.Errorf("the marker's link: %d %.300s", code, body)
	}
}
