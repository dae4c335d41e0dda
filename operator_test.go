package corridor_test

import (
	"testing"

	"corridor"
)

// The operator of cp1 (kornidzor, on the Lachin road) changes from auth1
// to auth3 on 2023-08-20; a convoy planned before that day is cleared by
// the earlier operator, one planned after it by the later one, and the
// earlier convoy's clearance history is not rewritten.
func TestOperatorChangeFromADay(t *testing.T) {
	w := newCorridor(t)
	early := convoy("early", "org")
	early.Planned = "2023-08-10"
	w.must("org", corridor.TypeConvoy, early)
	if got := w.st.ConvoyAuthorities(early); len(got) != 2 || got[0] != "auth1" || got[1] != "auth2" {
		t.Fatalf("before the change, clearance goes to %v, want [auth1 auth2]", got)
	}
	w.must("op", corridor.TypeCPChange, &corridor.CheckpointChange{Checkpoint: cp1, From: "2023-08-20", Authority: "auth3"})
	if got := w.st.ConvoyAuthorities(early); len(got) != 2 || got[0] != "auth1" {
		t.Errorf("the change rewrote the earlier convoy's clearance: it now goes to %v", got)
	}
	late := convoy("late", "org") // planned 2023-08-29
	w.must("org", corridor.TypeConvoy, late)
	if got := w.st.ConvoyAuthorities(late); len(got) != 2 || got[0] != "auth3" || got[1] != "auth2" {
		t.Fatalf("after the change, clearance goes to %v, want [auth3 auth2]", got)
	}
	// The earlier operator no longer answers for a convoy planned after the change.
	wantErr(t, w.do("auth1", corridor.TypeClearance, approve("late", "auth1", 1)), corridor.CodeForbidden, "payload.convoy")
	w.must("auth3", corridor.TypeClearance, approve("late", "auth3", 1))
	w.must("auth2", corridor.TypeClearance, approve("late", "auth2", 1))
	if !w.st.Agreed(w.convoyState("late")) {
		t.Error("approved by both operators in force, the late convoy is not agreed")
	}
	w.must("org", corridor.TypeMove, move("late", corridor.MvDeparted, 2))
	// At the checkpoint on 29 August only the new operator records events.
	wantErr(t, w.do("auth1", corridor.TypeCheckEvent, event("late", cp1, corridor.EvArrived, 3)), corridor.CodeForbidden, "payload.checkpoint")
	w.must("auth3", corridor.TypeCheckEvent, event("late", cp1, corridor.EvArrived, 3))
}

// A closed checkpoint is skipped by the next-checkpoint rule and records no
// event; re-registering a checkpoint cannot rewrite who runs it.
func TestClosedCheckpointAndNoRewrite(t *testing.T) {
	w := newCorridor(t)
	w.must("op", corridor.TypeCPChange, &corridor.CheckpointChange{Checkpoint: cp1, From: "2023-08-01", Closed: true})
	c := convoy("c", "org")
	w.must("org", corridor.TypeConvoy, c)
	if got := w.st.ConvoyAuthorities(c); len(got) != 1 || got[0] != "auth2" {
		t.Fatalf("with cp1 closed, clearance goes to %v, want [auth2]", got)
	}
	w.must("auth2", corridor.TypeClearance, approve("c", "auth2", 1))
	w.must("org", corridor.TypeMove, move("c", corridor.MvDeparted, 2))
	// cp2 is the next checkpoint that operates: no out-of-order reason needed.
	w.must("auth2", corridor.TypeCheckEvent, event("c", cp2, corridor.EvArrived, 3))
	wantErr(t, w.do("auth1", corridor.TypeCheckEvent, event("c", cp1, corridor.EvArrived, 4)), corridor.CodeConflict, "payload.at")

	again := checkpoint(cp2, lachinRoad, "hakari", "auth3")
	wantErr(t, w.do("op", corridor.TypeCheckpoint, again), corridor.CodeConflict, "payload.authority")
	renamed := checkpoint(cp2, lachinRoad, "hakari", "auth2")
	renamed.Names = []corridor.Name{{Name: "Hakari bridge", Lang: "en"}}
	w.must("op", corridor.TypeCheckpoint, renamed)
}

func TestCheckpointChangeRefusals(t *testing.T) {
	w := newCorridor(t)
	w.must("op", corridor.TypeCPChange, &corridor.CheckpointChange{Checkpoint: cp1, From: "2023-08-20", Authority: "auth3"})
	for _, c := range []struct {
		name  string
		ch    corridor.CheckpointChange
		code  corridor.Code
		field string
	}{
		{"unknown checkpoint", corridor.CheckpointChange{Checkpoint: "nowhere", From: "2023-09-01", Authority: "auth1"}, corridor.CodeInvalid, "checkpoint"},
		{"before the last change", corridor.CheckpointChange{Checkpoint: cp1, From: "2023-08-10", Authority: "auth2"}, corridor.CodeConflict, "from"},
		{"on the last change's day", corridor.CheckpointChange{Checkpoint: cp1, From: "2023-08-20", Authority: "auth2"}, corridor.CodeConflict, "from"},
		{"the same operator", corridor.CheckpointChange{Checkpoint: cp1, From: "2023-09-01", Authority: "auth3"}, corridor.CodeConflict, "authority"},
		{"not an authority", corridor.CheckpointChange{Checkpoint: cp1, From: "2023-09-01", Authority: "org"}, corridor.CodeInvalid, "authority"},
		{"closed with an operator", corridor.CheckpointChange{Checkpoint: cp1, From: "2023-09-01", Authority: "auth2", Closed: true}, corridor.CodeInvalid, "authority"},
		{"neither", corridor.CheckpointChange{Checkpoint: cp1, From: "2023-09-01"}, corridor.CodeInvalid, "authority"},
		{"no day", corridor.CheckpointChange{Checkpoint: cp1, Authority: "auth2"}, corridor.CodeInvalid, "from"},
	} {
		ch := c.ch
		wantErr(t, w.do("op", corridor.TypeCPChange, &ch), c.code, "payload."+c.field)
	}
	// Only the operator of the system records a change.
	wantErr(t, w.do("auth1", corridor.TypeCPChange, &corridor.CheckpointChange{Checkpoint: cp1, From: "2023-09-01", Authority: "auth2"}), corridor.CodeForbidden, "type")
}

// A change never starts on a day already on record at the checkpoint: not
// before an event there, nor before its operator's answer to a convoy
// planned through it, so no change gives another authority a part in
// what was recorded.
func TestCheckpointChangeKeepsTheRecord(t *testing.T) {
	w := newCorridor(t)
	// Answered by cp1's operator for 29 August: that day is on record.
	w.filed("a")
	w.must("auth1", corridor.TypeClearance, approve("a", "auth1", 0))
	wantErr(t, w.do("op", corridor.TypeCPChange, &corridor.CheckpointChange{Checkpoint: cp1, From: "2023-08-29", Authority: "auth3"}), corridor.CodeConflict, "payload.from")
	// Passed at cp2 on 31 August (hour 48 after 06:00 on the 29th).
	w.departed("b")
	w.must("auth1", corridor.TypeCheckEvent, event("b", cp1, corridor.EvPassed, 3))
	w.must("auth2", corridor.TypeCheckEvent, event("b", cp2, corridor.EvHeld, 48))
	for _, day := range []corridor.Date{"2023-08-30", "2023-08-31"} {
		wantErr(t, w.do("op", corridor.TypeCPChange, &corridor.CheckpointChange{Checkpoint: cp2, From: day, Authority: "auth3"}), corridor.CodeConflict, "payload.from")
	}
	// The day after is free, and the held convoy's past stays auth2's.
	w.must("op", corridor.TypeCPChange, &corridor.CheckpointChange{Checkpoint: cp2, From: "2023-09-01", Authority: "auth3"})
	if got := w.st.Checkpoints[cp2].OperatorOn("2023-08-31"); got != "auth2" {
		t.Errorf("cp2 on 31 August after the change: operated by %q, want auth2", got)
	}
	// A refused batch leaves the day as it was: an event refused for
	// another reason does not move it.
	wantErr(t, w.do("auth1", corridor.TypeCheckEvent, event("b", cp1, corridor.EvPassed, 72)), corridor.CodeConflict, "payload.checkpoint")
	w.must("op", corridor.TypeCPChange, &corridor.CheckpointChange{Checkpoint: cp1, From: "2023-08-30", Authority: "auth3"})
}

// A line taken off at a checkpoint says why, item by item: a dual-use
// item among others passed; what was removed is not delivered.
func TestRemovedLineGivesItsReason(t *testing.T) {
	w := newCorridor(t)
	w.departed("c")
	w.must("auth1", corridor.TypeCheckEvent, event("c", cp1, corridor.EvPassed, 3))
	e := event("c", cp2, corridor.EvPassedLess, 4)
	e.Removed = []corridor.LineQty{{Line: 1, Quantity: 30, Kg: 150, ReasonCategory: "dual-use", Reason: "oxygen concentrators on the restricted list"}}
	bad := *e
	bad.Removed = []corridor.LineQty{{Line: 1, Quantity: 30, Kg: 150, ReasonCategory: "looks-odd"}}
	wantErr(t, w.do("auth2", corridor.TypeCheckEvent, &bad), corridor.CodeInvalid, "payload.removed[0].reason_category")
	missing := *e
	missing.Removed = []corridor.LineQty{{Line: 5, Quantity: 1, Kg: 1, ReasonCategory: "dual-use"}}
	wantErr(t, w.do("auth2", corridor.TypeCheckEvent, &missing), corridor.CodeInvalid, "payload.removed[0].line")
	w.must("auth2", corridor.TypeCheckEvent, e)
	got := w.convoyState("c").Removed
	if len(got) != 1 || got[0].ReasonCategory != "dual-use" {
		t.Fatalf("removed lines in the state: %+v", got)
	}
	mv := move("c", corridor.MvDelivered, 5)
	mv.Received = []corridor.LineQty{{Line: 0, Quantity: 40, Kg: 40000, ReasonCategory: "dual-use"}}
	wantErr(t, w.do("org", corridor.TypeMove, mv), corridor.CodeInvalid, "payload.received[0].reason_category")
}

// A route names a coordination office whose clearance every convoy needs
// though it runs no checkpoint, and an authority only notified: its
// acknowledgement is never an approval.
func TestRouteClearanceAndNotification(t *testing.T) {
	w := newWorld(t)
	w.genesis()
	for _, p := range []struct {
		id   string
		kind corridor.PartyKind
	}{{"org", corridor.Organisation}, {"auth1", corridor.Authority}, {"office", corridor.Authority}, {"army", corridor.Authority}} {
		w.party(p.id, p.kind)
	}
	for _, p := range []*corridor.Place{place("a", "town", 31.2, 34.2), place("b", "town", 31.3, 34.3), place("c", "city", 31.5, 34.45)} {
		w.must("op", corridor.TypePlace, p)
	}
	r := route("r", "a", "b", "c")
	r.ClearanceBy, r.Notify = []string{"office"}, []string{"army"}
	bad := *r
	bad.Notify = []string{"org"}
	wantErr(t, w.do("op", corridor.TypeRoute, &bad), corridor.CodeInvalid, "payload.notify[0]")
	w.must("op", corridor.TypeRoute, r)
	w.must("op", corridor.TypeCheckpoint, checkpoint("cp", "r", "b", "auth1"))
	c := convoy("c1", "org")
	c.Route, c.Origin, c.Destination = "r", "a", "c"
	w.must("org", corridor.TypeConvoy, c)
	if got := w.st.ConvoyAuthorities(c); len(got) != 2 || got[0] != "auth1" || got[1] != "office" {
		t.Fatalf("clearance goes to %v, want [auth1 office]", got)
	}
	ack := &corridor.ClearanceAnswer{Convoy: "c1", Authority: "army", Decision: corridor.Acknowledged, At: at(0)}
	wantErr(t, w.do("army", corridor.TypeClearance, approve("c1", "army", 0)), corridor.CodeForbidden, "payload.decision")
	w.must("army", corridor.TypeClearance, ack)
	w.must("auth1", corridor.TypeClearance, approve("c1", "auth1", 1))
	if w.st.Agreed(w.convoyState("c1")) {
		t.Error("agreed without the office's clearance")
	}
	wantErr(t, w.do("office", corridor.TypeClearance, &corridor.ClearanceAnswer{Convoy: "c1", Authority: "office", Decision: corridor.Acknowledged, At: at(2)}), corridor.CodeInvalid, "payload.decision")
	w.must("office", corridor.TypeClearance, approve("c1", "office", 2))
	if !w.st.Agreed(w.convoyState("c1")) {
		t.Error("approved by the checkpoint's operator and the office, the convoy is not agreed")
	}
	again := *r
	again.ClearanceBy = nil
	wantErr(t, w.do("op", corridor.TypeRoute, &again), corridor.CodeConflict, "payload.clearance_by")
}
