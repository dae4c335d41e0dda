package web_test

import (
	"context"
	"net/http"
	"net/url"
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
