package corridor_test

import (
	"fmt"
	"testing"

	"corridor"
)

// lastID is the id of the record the world signed last.
func (w *world) lastID() string { return fmt.Sprintf("rec-%04d", w.seq) }

// TestReplyByTheNamedParty: the organisation whose convoy was refused at
// a checkpoint may dispute the refusal, with its reasons and a record it
// cites; the authority that signed it, another organisation and a record
// that names nobody may not be answered; the refusal is unchanged.
func TestReplyByTheNamedParty(t *testing.T) {
	w := newCorridor(t)
	w.departed("cv-1")
	w.must("auth1", corridor.TypeCheckEvent, event("cv-1", cp1, corridor.EvRefused, 3))
	refusal := w.lastID()
	before := *w.convoyState("cv-1")
	dispute := &corridor.Reply{Record: refusal, Kind: corridor.ReplyDispute, Lang: "en",
		Text: "The convoy carried the papers the checkpoint asked for; they were shown twice.", Evidence: []string{"rec-0001"}}
	w.must("org", corridor.TypeReply, dispute)
	if got := w.convoyState("cv-1"); got.Status != before.Status || got.Updated != before.Updated {
		t.Errorf("a reply changed the convoy: %s at %d, was %s at %d", got.Status, got.Updated, before.Status, before.Updated)
	}
	w.must("org", corridor.TypeReply, &corridor.Reply{Record: refusal, Kind: corridor.ReplyAcknowledge}) // a later word of its own

	wantErr(t, w.do("auth1", corridor.TypeReply, &corridor.Reply{Record: refusal, Kind: corridor.ReplyAcknowledge}), corridor.CodeForbidden, "payload.record")
	wantErr(t, w.do("org2", corridor.TypeReply, &corridor.Reply{Record: refusal, Kind: corridor.ReplyAcknowledge}), corridor.CodeForbidden, "payload.record")
	wantErr(t, w.do("org", corridor.TypeReply, &corridor.Reply{Record: "rec-0002", Kind: corridor.ReplyAcknowledge}), corridor.CodeForbidden, "payload.record")
	wantErr(t, w.do("org", corridor.TypeReply, &corridor.Reply{Record: "no-such-record", Kind: corridor.ReplyAcknowledge}), corridor.CodeInvalid, "payload.record")
	wantErr(t, w.do("org", corridor.TypeReply, &corridor.Reply{Record: refusal, Kind: corridor.ReplyDispute}), corridor.CodeInvalid, "payload.text")
	wantErr(t, w.do("org", corridor.TypeReply, &corridor.Reply{Record: refusal, Kind: corridor.ReplyCorrect, Text: "Held, not refused."}), corridor.CodeInvalid, "payload.lang")
	wantErr(t, w.do("org", corridor.TypeReply, &corridor.Reply{Record: refusal, Kind: "deny"}), corridor.CodeInvalid, "payload.kind")
	wantErr(t, w.do("org", corridor.TypeReply, &corridor.Reply{Record: refusal, Kind: corridor.ReplyDispute, Text: "See.", Lang: "en",
		Evidence: []string{"no-such-record"}}), corridor.CodeInvalid, "payload.evidence[0]")
	wantErr(t, w.do("wit", corridor.TypeReply, &corridor.Reply{Record: refusal, Kind: corridor.ReplyAcknowledge}), corridor.CodeForbidden, "type")
}

// TestReplyToAnIncident: the authority of the checkpoint where a
// monitor says an incident happened, and the party it names as
// responsible, may reply; the monitor that reported it may not.
func TestReplyToAnIncident(t *testing.T) {
	w := newCorridor(t)
	inc := &corridor.Incident{ID: "i-1", Category: "restriction-of-movement", Occurred: "2023-08-30", Reported: "2023-08-31",
		Route: lachinRoad, Checkpoint: cp2, Perpetrator: "auth3", Description: "Civilians turned back.", Verification: corridor.Unverified}
	w.must("mon", corridor.TypeIncident, inc)
	id := w.lastID()
	if got := w.st.Named[id]; fmt.Sprint(got) != "[auth2 auth3]" {
		t.Fatalf("the incident names %v; want the checkpoint's operator and the perpetrator", got)
	}
	w.must("auth2", corridor.TypeReply, &corridor.Reply{Record: id, Kind: corridor.ReplyCorrect, Lang: "en", Text: "The checkpoint was closed for repairs that day."})
	w.must("auth3", corridor.TypeReply, &corridor.Reply{Record: id, Kind: corridor.ReplyDispute, Lang: "ru", Text: "Наших сил там не было."})
	wantErr(t, w.do("mon", corridor.TypeReply, &corridor.Reply{Record: id, Kind: corridor.ReplyAcknowledge}), corridor.CodeForbidden, "payload.record")
}
