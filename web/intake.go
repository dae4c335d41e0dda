package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"corridor"
	"corridor/app"
	"corridor/intake"
	"corridor/record"
)

// intakePage is the intake page: a pasted news text, the drafts read from
// it (each editable as JSON, ticked to sign), and what was recorded.
type intakePage struct {
	Text, Published string
	Drafts          []intakeDraft
	Nothing         bool     // the text gave nothing
	Errors          []string // not tied to one draft
	Recorded        []string // record ids signed
}

type intakeDraft struct {
	N          int
	Type       string
	JSON       string
	Sentence   string
	Start, End int
	Confidence string
	Facts      string
	Use        bool
	Error      string
}

// maxIntakeBody bounds the intake form: the text and its drafts.
const maxIntakeBody = 4 << 20

// mayIntake reports whether the signed-in party may sign what intake
// proposes (statements, claims and incidents: a monitor's).
func mayIntake(q *request) bool {
	if q.Party == nil {
		return false
	}
	for _, typ := range []string{corridor.TypeStatement, corridor.TypeClaim, corridor.TypeIncident} {
		if !(formDef{Type: typ}).mayUse(q.Party.Kind) {
			return false
		}
	}
	return true
}

func (s *Server) intakeForm(w http.ResponseWriter, r *http.Request) error {
	q := s.req(w, r)
	if q.Session == nil || q.Party == nil {
		http.Redirect(w, r, "/signin?next=/intake", http.StatusSeeOther)
		return nil
	}
	if !mayIntake(q) {
		return errForbidden
	}
	v := intakePage{Published: now().UTC().Format(time.DateOnly)}
	return s.render(w, r, q, http.StatusOK, "intake", q.L.T("intake.title"), v)
}

func (s *Server) intakePost(w http.ResponseWriter, r *http.Request) error {
	q := s.req(w, r)
	if q.Session == nil || q.Party == nil {
		return errSignIn
	}
	if !mayIntake(q) {
		return errForbidden
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxIntakeBody)
	if err := r.ParseForm(); err != nil {
		return errBadRequest
	}
	ctx := r.Context()
	v := intakePage{Text: r.PostForm.Get("text"), Published: r.PostForm.Get("published")}
	pub, err := time.Parse(time.DateOnly, v.Published)
	if err != nil {
		v.Errors = append(v.Errors, q.L.T("intake.bad_date"))
		return s.render(w, r, q, http.StatusUnprocessableEntity, "intake", q.L.T("intake.title"), v)
	}
	if r.PostForm.Get("action") != "sign" {
		g, err := s.gazetteer(ctx)
		if err != nil {
			return err
		}
		res, err := intake.Read(v.Text, pub, g)
		switch {
		case errors.Is(err, intake.ErrNothing):
			v.Nothing = true
		case err != nil:
			v.Errors = append(v.Errors, err.Error())
			return s.render(w, r, q, http.StatusUnprocessableEntity, "intake", q.L.T("intake.title"), v)
		}
		if res != nil {
			for i, d := range res.Drafts {
				b, _ := json.MarshalIndent(d.Payload, "", "  ")
				facts := ""
				if len(d.Facts) > 0 {
					f, _ := json.Marshal(d.Facts)
					facts = string(f)
				}
				v.Drafts = append(v.Drafts, intakeDraft{N: i, Type: d.Type, JSON: string(b), Sentence: d.Source.Sentence, Start: d.Source.Start,
					End: d.Source.End, Confidence: q.L.Num(d.Confidence, 2), Facts: facts, Use: d.Confidence >= 0.5})
			}
		}
		return s.render(w, r, q, http.StatusOK, "intake", q.L.T("intake.title"), v)
	}
	return s.intakeSign(w, r, q, v)
}

// intakeSign signs the ticked drafts, as edited, with the party's
// delegated key and records them in one batch: all or none.
func (s *Server) intakeSign(w http.ResponseWriter, r *http.Request, q *request, v intakePage) error {
	ctx := r.Context()
	n, _ := strconv.Atoi(r.PostForm.Get("drafts"))
	n = min(max(n, 0), 500)
	var subs []*app.Submission
	var rows []int // draft of each submission
	for i := range n {
		d := intakeDraft{N: i, Type: r.PostForm.Get(fmt.Sprintf("type[%d]", i)), JSON: r.PostForm.Get(fmt.Sprintf("draft[%d]", i)),
			Sentence: r.PostForm.Get(fmt.Sprintf("sentence[%d]", i)), Use: r.PostForm.Get(fmt.Sprintf("use[%d]", i)) != ""}
		v.Drafts = append(v.Drafts, d)
	}
	key, err := s.node.DelegatedKey(q.Party.ID)
	if err != nil {
		v.Errors = append(v.Errors, q.L.T("form.no_delegated_key"))
		return s.render(w, r, q, http.StatusUnprocessableEntity, "intake", q.L.T("intake.title"), v)
	}
	prefixes := map[string]string{corridor.TypeStatement: "st", corridor.TypeClaim: "claim", corridor.TypeIncident: "incident"}
	for i := range v.Drafts {
		d := &v.Drafts[i]
		if !d.Use {
			continue
		}
		var p map[string]any
		if prefixes[d.Type] == "" {
			d.Error = q.L.T("intake.bad_type")
			continue
		}
		if err := json.Unmarshal([]byte(d.JSON), &p); err != nil || p == nil {
			d.Error = q.L.T("intake.bad_json", err)
			continue
		}
		if id, _ := p["id"].(string); id == "" {
			p["id"] = record.ContentID(prefixes[d.Type], q.Party.ID, p)
		}
		rec, err := record.Sign(key, record.ContentID("web", q.Party.ID, struct {
			Type    string
			Payload map[string]any
		}{d.Type, p}), d.Type, typeVersion(d.Type), p)
		if err != nil {
			d.Error = err.Error()
			continue
		}
		subs = append(subs, &app.Submission{Record: rec})
		rows = append(rows, i)
	}
	failed := func() bool {
		for _, d := range v.Drafts {
			if d.Error != "" {
				return true
			}
		}
		return false
	}
	if len(subs) == 0 && !failed() {
		v.Errors = append(v.Errors, q.L.T("intake.none_ticked"))
	}
	if len(subs) > 0 && !failed() {
		if s.node.App.ReadOnly() {
			return &app.ReadOnlyError{Writer: s.node.App.Writer(ctx)}
		}
		_, err := s.node.App.Submit(app.WithCaller(ctx, q.Party.ID), subs)
		var de *corridor.Error
		switch {
		case err == nil:
			for _, sub := range subs {
				v.Recorded = append(v.Recorded, sub.Record.ID)
			}
			return s.render(w, r, q, http.StatusOK, "intake", q.L.T("intake.title"), v)
		case errors.As(err, &de):
			i, rest := submissionIndex(de.Field)
			msg := q.L.T("error."+string(de.Code)) + ": " + strings.TrimPrefix(rest+": ", ": ") + de.Reason
			if i >= 0 && i < len(rows) {
				v.Drafts[rows[i]].Error = msg
			} else {
				v.Errors = append(v.Errors, msg)
			}
		default:
			return err
		}
	}
	return s.render(w, r, q, http.StatusUnprocessableEntity, "intake", q.L.T("intake.title"), v)
}

// submissionIndex reads "records[3].payload.x" as 3 and "payload.x".
func submissionIndex(field string) (int, string) {
	rest, ok := strings.CutPrefix(field, "records[")
	if !ok {
		return -1, field
	}
	num, after, ok := strings.Cut(rest, "]")
	i, err := strconv.Atoi(num)
	if !ok || err != nil {
		return -1, field
	}
	return i, strings.TrimPrefix(after, ".")
}

// gazetteer is the registry's places, routes, checkpoints and parties,
// for intake to match names against.
func (s *Server) gazetteer(ctx context.Context) (*intake.Gazetteer, error) {
	st := s.node.Store()
	places, err := st.Places(ctx)
	if err != nil {
		return nil, err
	}
	routes, err := st.Routes(ctx)
	if err != nil {
		return nil, err
	}
	cps, err := st.Checkpoints(ctx, "")
	if err != nil {
		return nil, err
	}
	parties, err := st.Parties(ctx)
	if err != nil {
		return nil, err
	}
	return intake.FromRows(places, routes, cps, parties), nil
}
