package corridor

import (
	"fmt"
	"slices"
)

// TypeReply is a named party's reply to a record about it.
const TypeReply = "reply.record"

// Kinds of reply.
const (
	ReplyAcknowledge = "acknowledge" // the party agrees the record is right
	ReplyDispute     = "dispute"     // it says the record is wrong, and why
	ReplyCorrect     = "correct"     // it says what should be read instead
)

// ReplyKinds lists the kinds of reply.
var ReplyKinds = []string{ReplyAcknowledge, ReplyDispute, ReplyCorrect}

// MaxReplyEvidence bounds the records a reply cites.
const MaxReplyEvidence = 20

// Reply is the right of reply: a party named in a record (the
// organisation of a convoy stopped at a checkpoint, the authority of the
// checkpoint where an incident happened, the party a claim or statement
// speaks for) signs its answer to that record. A reply never changes the
// record it answers; it is shown beside it wherever the record is shown,
// and a verdict says when a record deciding it is disputed.
type Reply struct {
	Record   string       `json:"record"` // the record id answered
	Kind     string       `json:"kind"`
	Text     string       `json:"text,omitempty"` // its reasons, or what should be read instead
	Lang     string       `json:"lang,omitempty"`
	Evidence []string     `json:"evidence,omitempty"` // record ids it cites
	Files    []Attachment `json:"files,omitempty"`    // its own evidence files
}

func (r *Reply) Attachments() []Attachment { return r.Files }
func (r *Reply) Commitments() []string     { return fileCommitments(r.Files) }

// Validate checks a reply on its own.
func (r *Reply) Validate() error {
	var p problems
	p.add(checkFiles(r.Files))
	p.add(checkID("record", r.Record))
	p.add(checkOneOf("kind", r.Kind, ReplyKinds))
	if err := checkText("text", r.Text, MaxText, r.Kind != ReplyAcknowledge); err != nil && r.Text == "" {
		p.add(invalid("text", "is required for a %s: say why, or what should be read instead", r.Kind))
	} else {
		p.add(err)
	}
	if r.Text != "" && !langPattern.MatchString(r.Lang) {
		p.add(invalid("lang", "the language of the text is required (a BCP 47 tag such as en, hy, az, ru, ar)"))
	}
	if len(r.Evidence) > MaxReplyEvidence {
		p.add(invalid("evidence", "%d records; a reply cites at most %d", len(r.Evidence), MaxReplyEvidence))
	}
	for i, id := range r.Evidence {
		p.add(checkID(fmt.Sprintf("evidence[%d]", i), id))
	}
	return p.err()
}

func init() {
	register(&RecordType{Name: TypeReply, Version: 1, Signers: []PartyKind{Organisation, Authority, Monitor},
		New: func() Payload { return new(Reply) }, apply: applyReply})
}

func applyReply(st *State, by *Party, pl Payload, m Meta) error {
	r := pl.(*Reply)
	if _, ok := st.Records[r.Record]; !ok {
		return invalid("record", "no record with id %q in the log", r.Record)
	}
	named := st.Named[r.Record]
	if !slices.Contains(named, by.ID) {
		if len(named) == 0 {
			return forbidden("record", "record %q names no party that may reply to it", r.Record)
		}
		return forbidden("record", "%q is not named in record %q: the parties that may reply to it are %v", by.ID, r.Record, named)
	}
	for i, id := range r.Evidence {
		if _, ok := st.Records[id]; !ok {
			return invalid(fmt.Sprintf("evidence[%d]", i), "no record with id %q in the log", id)
		}
	}
	return nil
}

// named lists the parties a record names, besides its signer, that may
// reply to it.
func (st *State) named(p Payload, by *Party) []string {
	var cand []string
	convoyOrg := func(id string) {
		if c, ok := st.Convoys[id]; ok {
			cand = append(cand, c.Convoy.Organisation)
		}
	}
	switch x := p.(type) {
	case *CheckpointEvent:
		convoyOrg(x.Convoy)
	case *ClearanceAnswer:
		convoyOrg(x.Convoy)
	case *DeliveryConfirm:
		convoyOrg(x.Convoy)
	case *Incident:
		cand = append(cand, x.Perpetrator, x.Affected)
		if cp, ok := st.Checkpoints[x.Checkpoint]; ok {
			cand = append(cand, cp.OperatorOn(x.Occurred))
		}
	case *Statement:
		cand = append(cand, x.SpeakerParty)
	case *Claim:
		cand = append(cand, x.SpeakerParty)
		if s, ok := st.Statements[x.Statement]; ok {
			cand = append(cand, s.SpeakerParty)
		}
		for _, c := range x.AboutConvoys {
			convoyOrg(c)
		}
	}
	var out []string
	for _, id := range cand {
		if id != "" && (by == nil || id != by.ID) && st.Parties[id] != nil && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}
