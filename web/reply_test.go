package web_test

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"corridor"
)

// TestReplyToARefusal: the French cities' convoy was refused at the Hakari
// bridge; signed in, their member follows "Reply to this record" under the
// refusal on the convoy's page, disputes it, and the page shows the reply
// beside the refusal, which is unchanged; the claim whose verdict rests on
// the refusal says a deciding record is disputed. Another organisation's
// reply to it is refused beside the record field, and nothing is written.
func TestReplyToARefusal(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	org := e.client()
	e.signIn(org, "fr-cities")
	_, page := e.get(org, "/convoys/fr-2023-08")
	c := e.convoy("fr-2023-08")
	var refusal uint64
	for _, ev := range c.Events {
		if ev.Event == corridor.EvRefused {
			refusal = ev.LogIndex
		}
	}
	recs, err := e.node.Store().Records(ctx, int64(refusal)-1, 1)
	if err != nil || len(recs) != 1 || refusal == 0 {
		t.Fatalf("the refusal of %s: index %d, %v", c.ID, refusal, err)
	}
	var envelope struct {
		ID string `json:"id"`
	}
	json.Unmarshal(recs[0].Record, &envelope)
	id := envelope.ID
	if !strings.Contains(page, `href="/forms/reply?record=`+url.QueryEscape(id)+`"`) {
		t.Fatalf("no reply link under the refusal %s on the convoy page", id)
	}
	_, form := e.get(org, "/forms/reply?record="+url.QueryEscape(id))
	if !strings.Contains(form, `value="`+html.EscapeString(id)+`"`) {
		t.Fatal("the reply form does not name the record it answers")
	}
	before := size(e)
	reply := url.Values{"record": {id}, "kind": {corridor.ReplyDispute}, "lang": {"fr"},
		"text": {"Le convoi avait l’accord des autorités arméniennes ; les papiers ont été présentés deux fois."}}
	if resp, body := e.post(org, "/forms/reply", reply); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("reply: %d\n%.2000s", resp.StatusCode, body)
	}
	if size(e) != before+1 {
		t.Fatalf("%d records written", size(e)-before)
	}
	_, page = e.get(e.client(), "/convoys/fr-2023-08")
	if !strings.Contains(page, "disputes this record") || !strings.Contains(page, "présentés deux fois") {
		t.Error("the convoy page does not show the reply beside the refusal")
	}
	if got := e.convoy("fr-2023-08"); got.Status != c.Status {
		t.Errorf("the reply changed the convoy: %s, was %s", got.Status, c.Status)
	}

	// The incidents feed carries the reply with the incident derived
	// from the refusal.
	if _, feed := e.get(e.client(), "/incidents.atom"); !strings.Contains(feed, "reply by fr-cities (dispute") {
		t.Error("the incidents feed does not carry the reply")
	}
	// The claims whose verdict rests on the refusal say so.
	resp, err := http.Get(e.srv.URL + "/api/v1/claims?limit=1000")
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Items []struct {
			ID      string `json:"id"`
			Verdict *struct {
				Records []uint64 `json:"records"`
			} `json:"verdict"`
			Disputed []uint64 `json:"disputed"`
		} `json:"items"`
	}
	json.NewDecoder(resp.Body).Decode(&claims)
	resp.Body.Close()
	resting := 0
	for _, cl := range claims.Items {
		if cl.Verdict != nil && slices.Contains(cl.Verdict.Records, refusal) {
			resting++
			if !slices.Contains(cl.Disputed, refusal) {
				t.Errorf("claim %s rests on the disputed refusal but does not say so: %v", cl.ID, cl.Disputed)
			}
		} else if len(cl.Disputed) > 0 {
			t.Errorf("claim %s says %v disputed, none of them deciding it", cl.ID, cl.Disputed)
		}
	}
	if resting == 0 {
		t.Fatal("no claim's verdict rests on the refusal: the case is not tested")
	}
	if _, claimsPage := e.get(e.client(), "/claims"); !strings.Contains(claimsPage, "disputed by a party they name") {
		t.Error("the claims page does not say a deciding record is disputed")
	}

	other := e.client()
	e.signIn(other, "arcs")
	resp2, body := e.post(other, "/forms/reply", url.Values{"record": {id}, "kind": {corridor.ReplyAcknowledge}})
	if resp2.StatusCode != http.StatusUnprocessableEntity || !regexp.MustCompile(`id="e-record"`).MatchString(body) || size(e) != before+1 {
		t.Fatalf("another organisation's reply: %d, error at the record: %v", resp2.StatusCode, strings.Contains(body, `id="e-record"`))
	}
}
