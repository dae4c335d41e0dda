package web

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"corridor"
	"corridor/app"
	"corridor/record"
	"corridor/report"
	"corridor/store"
)

// A form makes one kind of record. Who may use it follows from the record
// type's registered signers: a party sees and submits only the forms its
// kind may sign, and always as itself (the signing party is the session's,
// never a field).
type formDef struct {
	Name   string
	Type   string
	Fields []string // input names, which are the payload's field paths
	Files  bool     // the record may carry evidence files (see files.go)
	build  func(f *formData, party string) corridor.Payload
	// more are records made with the first, in the same batch (a
	// statement's claim and its links), if any; the first has its id.
	more func(f *formData, party string, first corridor.Payload) []part
}

// part is one record of a form's batch: its payload and where its fields
// are on the form (an error in records[i] goes next to prefix+field).
type part struct {
	typ     string
	payload corridor.Payload
	prefix  string
}

var formNames = []string{"convoy", "convoy-move", "clearance", "checkpoint-event", "incident", "incident-verify", "statement", "claim", "claim-link", "delivery-confirm", "route-closed", "route-opened", "passage", "reply"}

// Rows offered for repeated parts of a payload.
const (
	manifestRows = 5
	removedRows  = 3
	receivedRows = 5
	linkRows     = 3
)

// claimFields are the fields of what a claim asserts, under prefix.
func claimFields(prefix string) []string {
	var out []string
	for _, f := range []string{"about_convoys", "period", "period.from", "period.to", "assertion", "assertion.kind", "assertion.route",
		"assertion.traffic", "assertion.place", "assertion.tonnes", "assertion.percent", "assertion.trucks", "note"} {
		out = append(out, prefix+f)
	}
	return out
}

// statementFields are the statement form's: the words, then its claim
// and the records linked to it, which may be left empty.
func statementFields() []string {
	out := append([]string{"id", "kind", "speaker", "speaker_party", "affiliation", "said_on", "medium", "url",
		"quote", "reported", "lang", "translation", "translation_lang", "about_routes", "about_places"}, claimFields("claim.")...)
	for i := 0; i < linkRows; i++ {
		for _, f := range []string{"record", "relation", "note"} {
			out = append(out, fmt.Sprintf("links[%d].%s", i, f))
		}
	}
	return append(out, fileFields()...)
}

func formDefs() []formDef {
	convoyFields := []string{"id", "route", "origin", "destination", "planned", "answer_by", "vehicles", "vehicles.kind", "vehicles.count", "manifest", "note"}
	for i := 0; i < manifestRows; i++ {
		for _, f := range []string{"item", "sector", "quantity", "unit", "kg"} {
			convoyFields = append(convoyFields, fmt.Sprintf("manifest[%d].%s", i, f))
		}
	}
	eventFields := []string{"checkpoint", "convoy", "event", "at", "reason_category", "reason", "expected_release", "removed", "out_of_order_reason", "note"}
	for i := 0; i < removedRows; i++ {
		for _, f := range []string{"line", "quantity", "kg"} {
			eventFields = append(eventFields, fmt.Sprintf("removed[%d].%s", i, f))
		}
	}
	moveFields := []string{"convoy", "event", "at", "received", "note"}
	for i := 0; i < receivedRows; i++ {
		for _, f := range []string{"line", "quantity", "kg"} {
			moveFields = append(moveFields, fmt.Sprintf("received[%d].%s", i, f))
		}
	}
	return []formDef{
		{Name: "convoy", Type: corridor.TypeConvoy, Fields: convoyFields, build: buildConvoy},
		{Name: "convoy-move", Type: corridor.TypeMove, Fields: moveFields, build: buildMove},
		{Name: "clearance", Type: corridor.TypeClearance, Fields: []string{"convoy", "decision", "conditions", "reason_category", "reason", "at"}, build: buildClearance},
		{Name: "checkpoint-event", Type: corridor.TypeCheckEvent, Fields: append(eventFields, fileFields()...), Files: true, build: buildEvent},
		{Name: "incident", Type: corridor.TypeIncident, Fields: []string{"id", "category", "occurred", "until", "reported", "route", "checkpoint", "place",
			"perpetrator", "affected_organisation", "people_affected", "people_estimated", "aid_denied", "traffic", "description", "source", "source_url", "verification"},
			Files: true, build: buildIncident},
		{Name: "incident-verify", Type: corridor.TypeIncidentVerify, Fields: []string{"incident", "verification", "note"}, build: buildVerify},
		{Name: "delivery-confirm", Type: corridor.TypeConfirm, Fields: append([]string{"convoy", "at", "note"}, fileFields()...), Files: true, build: buildConfirm},
		{Name: "statement", Type: corridor.TypeStatement, Fields: statementFields(), Files: true, build: buildStatement, more: statementClaim},
		{Name: "claim", Type: corridor.TypeClaim, Fields: append([]string{"id", "statement", "speaker", "speaker_party", "affiliation", "said_on", "medium", "url", "quote", "reported", "lang",
			"translation", "translation_lang", "about_routes", "about_places"}, claimFields("")...), build: buildClaim},
		{Name: "claim-link", Type: corridor.TypeClaimLink, Fields: []string{"claim", "record", "relation", "note"}, build: buildLink},
		{Name: "route-closed", Type: corridor.TypeRouteClosed, Fields: []string{"route", "checkpoint", "traffic", "from", "to", "reason_category", "reason"}, build: buildClosed},
		{Name: "route-opened", Type: corridor.TypeRouteOpened, Fields: []string{"route", "traffic", "from", "note"}, build: buildOpened},
		{Name: "passage", Type: corridor.TypePassage, Fields: []string{"route", "checkpoint", "traffic", "from", "to", "count", "unit", "source", "note"}, build: buildPassage},
		{Name: "reply", Type: corridor.TypeReply, Fields: append([]string{"record", "kind", "text", "lang", "evidence"}, fileFields()...), Files: true, build: buildReply},
	}
}

func findForm(name string) (formDef, bool) {
	for _, d := range formDefs() {
		if d.Name == name {
			return d, true
		}
	}
	return formDef{}, false
}

// mayUse reports whether a party of kind may sign the form's record type.
func (d formDef) mayUse(kind corridor.PartyKind) bool {
	t, err := corridor.LookupType(d.Type, typeVersion(d.Type))
	return err == nil && slices.Contains(t.Signers, kind)
}

func typeVersion(name string) int {
	for _, t := range corridor.Types() {
		if t.Name == name {
			return t.Version
		}
	}
	return 0
}

// formData is a form as shown: what the user typed, the errors next to
// each field, and the choices offered.
type formData struct {
	Name    string
	Type    string
	Values  url.Values
	Errors  map[string]string
	General []string
	Done    *signer
	Opt     options
	Rows    []int // manifest rows
	RmRows  []int // removed rows
	RcRows  []int // received rows
	// LinkRows are the rows of records linked to a statement's claim.
	LinkRows []int
	// FileRows are the evidence file inputs offered (none if the record
	// carries no files).
	FileRows []int
	L        *Locale

	attached []corridor.Attachment     // files taken from the form
	private  map[string]record.Opening // openings of the restricted ones
	parts    []part                    // the records the form makes

	fields  []string
	rowOf   map[string][]int // repeated part -> input row of each payload element
	signing string           // party
}

// V is the value typed in a field.
func (f *formData) V(name string) string { return f.Values.Get(name) }

// E is the error of a field, if any.
func (f *formData) E(name string) string { return f.Errors[name] }

// Has reports whether a multi-valued field holds value.
func (f *formData) Has(name, value string) bool { return slices.Contains(f.Values[name], value) }

// Field names one row's field, e.g. Field "manifest" 2 "kg".
func (f *formData) Field(part string, row int, name string) string {
	return fmt.Sprintf("%s[%d].%s", part, row, name)
}

func (f *formData) fail(field, msg string) {
	if _, ok := f.Errors[field]; !ok {
		f.Errors[field] = msg
	}
}

type option struct {
	Value, Label string
}

type options struct {
	Routes, Places, Settlements, Checkpoints, Parties, Convoys, Claims, Statements, Incidents []option
	Categories, Sectors, Reasons, Events, Moves, Traffic, Verifications, Decisions, Modes     []option
	AssertionKinds, Relations, Offsets, ReplyKinds, StatementKinds                            []option
}

func (s *Server) options(ctx context.Context, L *Locale, l *lookup, party *store.PartyRow, form string) options {
	var o options
	for _, r := range l.d.Routes {
		o.Routes = append(o.Routes, option{r.ID, l.letter[r.ID] + " — " + report.AllNames(r.Names)})
	}
	for _, p := range l.d.Places {
		o.Places = append(o.Places, option{p.ID, report.AllNames(p.Names)})
		if p.IsSettlement() {
			o.Settlements = append(o.Settlements, option{p.ID, report.AllNames(p.Names)})
		}
	}
	own := map[string]bool{}
	ownAt := map[string][]string{} // place -> the party's checkpoints there
	for _, c := range l.d.Checkpoints {
		if form == "checkpoint-event" && !slices.Contains(c.Operators(), party.ID) {
			continue // an authority records events only at checkpoints it runs or ran
		}
		own[c.ID] = true
		ownAt[c.Place] = append(ownAt[c.Place], c.ID)
		o.Checkpoints = append(o.Checkpoints, option{c.ID, report.AllNames(c.Names) + " (" + l.operatorNames(c.Checkpoint) + ")"})
	}
	for _, p := range l.d.Parties {
		if p.Kind != corridor.Witness && p.Kind != corridor.Operator {
			o.Parties = append(o.Parties, option{p.ID, report.AllNames(p.Names)})
		}
	}
	// The convoys a form offers are those filed last; one further back is
	// named by its id.
	convoys, err := s.node.Store().LatestConvoys(ctx, "", 500)
	if err != nil {
		convoys = nil
	}
	for _, c := range convoys {
		st := corridor.ConvoyStatus(c.Status)
		label := c.ID + " — " + l.party(c.Organisation) + " — " + L.K("convoy_status", c.Status)
		switch form {
		case "clearance":
			if _, answered := c.Progress.Clearance[party.ID]; slices.Contains(c.Authorities, party.ID) && !answered && !st.Terminal() {
				o.Convoys = append(o.Convoys, option{c.ID, label})
			}
		case "checkpoint-event":
			// Offered while it can still arrive at one of the party's
			// checkpoints on its way: one it has not passed yet.
			rt := l.routes[c.Route].Route
			ahead := func(p string) bool {
				return slices.ContainsFunc(ownAt[p], func(cp string) bool { return !slices.Contains(c.Progress.Passed, cp) })
			}
			if slices.ContainsFunc(c.Filing.WayOn(&rt), ahead) && !st.Terminal() && st != corridor.StatusFiled {
				o.Convoys = append(o.Convoys, option{c.ID, label})
			}
		case "convoy-move":
			if c.Organisation == party.ID && !st.Terminal() {
				o.Convoys = append(o.Convoys, option{c.ID, label})
			}
		case "delivery-confirm":
			if st == corridor.StatusDelivered {
				o.Convoys = append(o.Convoys, option{c.ID, label})
			}
		}
	}
	if form == "incident-verify" {
		// The incidents reported last (derived ones follow their
		// checkpoint events and are verified by them).
		incidents, _ := s.node.Store().LatestIncidents(ctx, 200)
		for _, i := range incidents {
			if !i.Derived {
				o.Incidents = append(o.Incidents, option{i.ID, i.ID + " — " + string(i.Occurred) + " — " + L.K("verification", i.Verification)})
			}
		}
	}
	claims, _ := s.node.Store().ClaimsPage(ctx, store.Page{After: -1, Limit: 500})
	for _, c := range claims {
		o.Claims = append(o.Claims, option{c.ID, c.ID})
	}
	stmts, _ := s.node.Store().LatestStatements(ctx, 500)
	for _, st := range stmts {
		o.Statements = append(o.Statements, option{st.ID, st.Speaker + ", " + L.Date(st.SaidOn) + ": " + truncate(cmp.Or(st.Quote, st.Reported), 60)})
	}
	for _, c := range corridor.AccessCategories {
		o.Categories = append(o.Categories, option{c.Code, strconv.Itoa(c.Number) + ". " + L.K("category", c.Code)})
	}
	for _, v := range corridor.Sectors {
		o.Sectors = append(o.Sectors, option{v, L.K("sector", v)})
	}
	for _, v := range corridor.ReasonCategories {
		o.Reasons = append(o.Reasons, option{v, L.K("reason", v)})
	}
	for _, v := range corridor.CheckpointEvents {
		o.Events = append(o.Events, option{v, L.K("event", v)})
	}
	for _, v := range corridor.ConvoyMoves {
		o.Moves = append(o.Moves, option{v, L.K("move", v)})
	}
	for _, v := range corridor.Modes {
		o.Modes = append(o.Modes, option{v, L.K("mode", v)})
	}
	for _, v := range corridor.TrafficKinds {
		o.Traffic = append(o.Traffic, option{v, L.K("traffic", v)})
	}
	for _, v := range corridor.VerificationStatuses {
		o.Verifications = append(o.Verifications, option{v, L.K("verification", v)})
	}
	for _, v := range []string{corridor.Approved, corridor.ApprovedWithConditions, corridor.Refused, corridor.Acknowledged} {
		o.Decisions = append(o.Decisions, option{v, L.K("clearance", v)})
	}
	for _, v := range corridor.AssertionKinds {
		o.AssertionKinds = append(o.AssertionKinds, option{v, L.K("assertion", v)})
	}
	for _, v := range corridor.StatementKinds {
		o.StatementKinds = append(o.StatementKinds, option{v, L.K("statement_kind", v)})
	}
	for _, v := range corridor.ReplyKinds {
		o.ReplyKinds = append(o.ReplyKinds, option{v, L.K("reply_kind", v)})
	}
	for _, v := range corridor.Relations {
		o.Relations = append(o.Relations, option{v, L.K("relation", v)})
	}
	for h := -12; h <= 14; h++ {
		v := fmt.Sprintf("%+03d:00", h)
		o.Offsets = append(o.Offsets, option{v, "UTC" + v})
	}
	return o
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// ---- pages ----

type formsIndex struct {
	Forms  []string
	Intake bool // the party may sign what intake proposes
}

func (s *Server) formsIndex(w http.ResponseWriter, r *http.Request) error {
	q := s.req(w, r)
	if q.Session == nil || q.Party == nil {
		http.Redirect(w, r, "/signin?next=/forms/", http.StatusSeeOther)
		return nil
	}
	var v formsIndex
	for _, d := range formDefs() {
		if d.mayUse(q.Party.Kind) {
			v.Forms = append(v.Forms, d.Name)
		}
	}
	v.Intake = mayIntake(q)
	return s.render(w, r, q, http.StatusOK, "forms", q.L.T("forms.title"), v)
}

// formFor checks the session and that the party may use the form.
func (s *Server) formFor(q *request, name string) (formDef, error) {
	d, ok := findForm(name)
	if !ok {
		return d, store.ErrNotFound
	}
	if q.Session == nil || q.Party == nil {
		return d, errSignIn
	}
	if !d.mayUse(q.Party.Kind) {
		return d, errForbidden
	}
	return d, nil
}

func (s *Server) newForm(ctx context.Context, q *request, d formDef, values url.Values) (*formData, error) {
	l, err := s.load(ctx)
	if err != nil {
		return nil, err
	}
	f := &formData{Name: d.Name, Type: d.Type, Values: values, Errors: map[string]string{}, L: q.L, fields: d.Fields,
		rowOf: map[string][]int{}, signing: q.Party.ID, Opt: s.options(ctx, q.L, l, q.Party, d.Name)}
	for i := 0; i < manifestRows; i++ {
		f.Rows = append(f.Rows, i)
	}
	for i := 0; i < removedRows; i++ {
		f.RmRows = append(f.RmRows, i)
	}
	for i := 0; i < receivedRows; i++ {
		f.RcRows = append(f.RcRows, i)
	}
	for i := 0; i < linkRows; i++ {
		f.LinkRows = append(f.LinkRows, i)
	}
	if d.Files {
		for i := 0; i < fileRows; i++ {
			f.FileRows = append(f.FileRows, i)
		}
	}
	return f, nil
}

func (s *Server) formPage(w http.ResponseWriter, r *http.Request) error {
	q := s.req(w, r)
	d, err := s.formFor(q, r.PathValue("name"))
	if errors.Is(err, errSignIn) {
		http.Redirect(w, r, "/signin?next="+url.QueryEscape(r.URL.Path), http.StatusSeeOther)
		return nil
	}
	if err != nil {
		return err
	}
	l, err := s.load(r.Context())
	if err != nil {
		return err
	}
	values := defaults(d.Name, l.zoneOf(q.Party.ID))
	if d.Name == "statement" || d.Name == "claim" { // words are most often in the reader's language
		values.Set("lang", q.L.Tag)
	}
	if d.Name == "reply" { // the Reply link under a record names it
		if id := r.URL.Query().Get("record"); record.CheckID("record", id) == nil {
			values.Set("record", id)
		}
	}
	f, err := s.newForm(r.Context(), q, d, values)
	if err != nil {
		return err
	}
	if id := r.URL.Query().Get("done"); id != "" {
		if row, err := s.node.Store().RecordByID(r.Context(), id); err == nil && row.Party == q.Party.ID {
			g := l.signerOf(row)
			f.Done = &g
		}
	}
	return s.render(w, r, q, http.StatusOK, "form", q.L.K("form", d.Name), f)
}

// zoneOf is the time zone a party's forms start in: that of the places of
// the checkpoints it runs, when they share one; UTC otherwise.
func (l *lookup) zoneOf(party string) *time.Location {
	zone := ""
	for _, c := range l.d.Checkpoints {
		if !slices.Contains(c.Operators(), party) {
			continue
		}
		z := l.places[c.Place].Zone
		if z == "" || (zone != "" && z != zone) {
			return time.UTC
		}
		zone = z
	}
	if loc, err := time.LoadLocation(zone); err == nil && zone != "" {
		return loc
	}
	return time.UTC
}

// defaults are the values a new form starts with, its times in zone.
func defaults(name string, zone *time.Location) url.Values {
	v := url.Values{}
	local := now().In(zone)
	today := local.Format(time.DateOnly)
	at := local.Format("2006-01-02T15:04")
	switch name {
	case "convoy":
		v.Set("id", "convoy-"+randomID(4))
		v.Set("vehicles.kind", "lorry")
		v.Set("vehicles.count", "1")
		v.Set("manifest[0].sector", "food")
		v.Set("manifest[0].unit", "t")
	case "clearance", "checkpoint-event", "delivery-confirm":
		v.Set("at", at)
		v.Set("at_offset", local.Format("-07:00"))
	case "incident":
		v.Set("occurred", today)
		v.Set("reported", today)
		v.Set("verification", corridor.Unverified)
	case "route-closed", "route-opened", "passage":
		v.Set("from", today)
	case "statement":
		v.Set("said_on", today)
		v.Set("kind", "statement")
	}
	return v
}

func randomID(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *Server) formPost(w http.ResponseWriter, r *http.Request) error {
	q := s.req(w, r)
	d, err := s.formFor(q, r.PathValue("name"))
	if err != nil {
		return err
	}
	if err := parseFormPost(w, r, d); err != nil {
		return err
	}
	ctx := r.Context()
	f, err := s.newForm(ctx, q, d, r.PostForm)
	if err != nil {
		return err
	}
	if d.Files && !s.node.App.ReadOnly() {
		if err := s.takeFiles(r, f); err != nil {
			return err
		}
	}
	payload := d.build(f, q.Party.ID)
	contentIDs(payload, q.Party.ID)
	f.parts = []part{{typ: d.Type, payload: payload}}
	if d.more != nil {
		f.parts = append(f.parts, d.more(f, q.Party.ID, payload)...)
	}
	if len(f.Errors) == 0 && len(f.General) == 0 {
		id, err := s.submit(ctx, q.Party.ID, f.parts, f.private)
		if err == nil {
			http.Redirect(w, r, "/forms/"+d.Name+"?done="+url.QueryEscape(id), http.StatusSeeOther)
			return nil
		}
		var de *corridor.Error
		var roe *app.ReadOnlyError
		switch {
		case errors.As(err, &de):
			for _, e := range de.All() {
				f.placeError(e)
			}
		case errors.Is(err, errNoDelegatedKey):
			f.General = append(f.General, q.L.T("form.no_delegated_key"))
		case errors.As(err, &roe):
			w.Header().Set("Corridor-Writer", roe.Writer)
			f.General = append(f.General, q.L.T("form.read_only", roe.Writer))
			return s.render(w, r, q, http.StatusMisdirectedRequest, "form", q.L.K("form", d.Name), f)
		default:
			return err
		}
	}
	return s.render(w, r, q, http.StatusUnprocessableEntity, "form", q.L.K("form", d.Name), f)
}

var errNoDelegatedKey = errors.New("no delegated key")

// contentIDs gives an incident or claim left without an id one made from
// its content, as the monitor's commands do (record.ContentID).
func contentIDs(p corridor.Payload, party string) {
	switch x := p.(type) {
	case *corridor.Incident:
		if x.ID == "" {
			x.ID = record.ContentID("incident", party, x)
		}
	case *corridor.Claim:
		if x.ID == "" {
			x.ID = record.ContentID("claim", party, x)
		}
	case *corridor.Statement:
		if x.ID == "" {
			x.ID = record.ContentID("st", party, x)
		}
	}
}

// submit signs the parts with the key the party delegated to this server
// and submits them, in one batch, as a member of that party: all are
// recorded or none. It returns the first record's id.
func (s *Server) submit(ctx context.Context, party string, parts []part, private map[string]record.Opening) (string, error) {
	if s.node.App.ReadOnly() { // a read server records nothing: the writer does
		return "", &app.ReadOnlyError{Writer: s.node.App.Writer(ctx)}
	}
	key, err := s.node.DelegatedKey(party)
	if err != nil {
		s.lg.Warn("web form without a delegated key", "party", party, "err", err)
		return "", errNoDelegatedKey
	}
	var subs []*app.Submission
	for i, p := range parts {
		// The record id follows from what is signed: a form sent twice (a
		// retry over a bad link, a second click) is the same record.
		id := record.ContentID("web", party, struct {
			Type    string
			Payload corridor.Payload
		}{p.typ, p.payload})
		rec, err := record.Sign(key, id, p.typ, typeVersion(p.typ), p.payload)
		if err != nil {
			return "", err
		}
		sub := &app.Submission{Record: rec}
		if i == 0 { // the form's files are the first record's
			sub.Private = private
		}
		subs = append(subs, sub)
	}
	if _, err := s.node.App.Submit(app.WithCaller(ctx, party), subs); err != nil {
		return "", err
	}
	return subs[0].Record.ID, nil
}

var recordPart = regexp.MustCompile(`^records\[(\d+)\]`)

var indexPart = regexp.MustCompile(`\[(\d+)\]`)

// placeError puts a domain error next to the field it names
// (records[0].payload.manifest[2].kg -> the input manifest[2].kg), or at
// the top of the form if no field shows it.
func (f *formData) placeError(e *corridor.Error) {
	msg := f.L.T("error."+string(e.Code)) + ": " + e.Reason
	field, prefix := e.Field, ""
	if m := recordPart.FindStringSubmatch(field); m != nil {
		field = field[len(m[0]):]
		if i, _ := strconv.Atoi(m[1]); i < len(f.parts) {
			prefix = f.parts[i].prefix
		}
	}
	field = strings.TrimPrefix(strings.TrimPrefix(field, "."), "payload")
	field = prefix + strings.TrimPrefix(field, ".")
	// payload element i of a repeated part came from input row rowOf[i]
	for part, rows := range f.rowOf {
		if strings.HasPrefix(field, part+"[") {
			if m := indexPart.FindStringSubmatchIndex(field[len(part):]); m != nil {
				i, _ := strconv.Atoi(field[len(part)+m[2] : len(part)+m[3]])
				if i < len(rows) {
					field = part + "[" + strconv.Itoa(rows[i]) + "]" + field[len(part)+m[1]:]
				}
			}
		}
	}
	for _, c := range []string{field, indexPart.ReplaceAllString(field, ""), strings.SplitN(strings.SplitN(field, ".", 2)[0], "[", 2)[0]} {
		if c != "" && slices.Contains(f.fields, c) {
			f.fail(c, msg)
			return
		}
	}
	if field != "" {
		msg = field + ": " + msg
	}
	f.General = append(f.General, msg)
}

// ---- reading typed values ----

func (f *formData) text(name string) string { return strings.TrimSpace(f.Values.Get(name)) }

func (f *formData) number(name string) float64 {
	v := strings.ReplaceAll(strings.ReplaceAll(f.text(name), "\u00a0", ""), " ", "")
	if v == "" {
		return 0
	}
	x, err := strconv.ParseFloat(strings.Replace(v, ",", ".", 1), 64)
	if err != nil {
		f.fail(name, f.L.T("form.err_number"))
	}
	return x
}

func (f *formData) integer(name string) int64 {
	v := f.text(name)
	if v == "" {
		return 0
	}
	x, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		f.fail(name, f.L.T("form.err_integer"))
	}
	return x
}

// at reads a local date and time and its UTC offset as an RFC 3339 time.
func (f *formData) at(name string) time.Time {
	v, off := f.text(name), f.text(name+"_offset")
	if v == "" {
		f.fail(name, f.L.T("form.err_required"))
		return time.Time{}
	}
	if off == "" {
		off = "+00:00"
	}
	t, err := time.Parse("2006-01-02T15:04Z07:00", v+off)
	if err != nil {
		t, err = time.Parse("2006-01-02T15:04:05Z07:00", v+off)
	}
	if err != nil {
		f.fail(name, f.L.T("form.err_time"))
	}
	return t
}

func (f *formData) list(name string) []string {
	var out []string
	for _, v := range f.Values[name] {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// ---- payloads ----

func buildConvoy(f *formData, party string) corridor.Payload {
	c := &corridor.Convoy{ID: f.text("id"), Organisation: party, Mode: f.text("mode"), Route: f.text("route"), Origin: f.text("origin"), Destination: f.text("destination"),
		Planned: corridor.Date(f.text("planned")), AnswerBy: corridor.Date(f.text("answer_by")), Note: f.text("note")}
	n := f.integer("vehicles.count")
	if n < 1 || n > corridor.MaxList {
		f.fail("vehicles.count", f.L.T("form.err_vehicles", corridor.MaxList))
	}
	for i := int64(0); i < n && i <= corridor.MaxList; i++ {
		c.Vehicles = append(c.Vehicles, corridor.Vehicle{Kind: f.text("vehicles.kind")})
	}
	for i := 0; i < manifestRows; i++ {
		fld := func(x string) string { return fmt.Sprintf("manifest[%d].%s", i, x) }
		if f.text(fld("item")) == "" && f.text(fld("kg")) == "" && f.text(fld("quantity")) == "" {
			continue
		}
		c.Manifest = append(c.Manifest, corridor.Line{Item: f.text(fld("item")), Sector: f.text(fld("sector")), Quantity: f.number(fld("quantity")),
			Unit: f.text(fld("unit")), Kg: f.number(fld("kg"))})
		f.rowOf["manifest"] = append(f.rowOf["manifest"], i)
	}
	return c
}

func buildVerify(f *formData, party string) corridor.Payload {
	return &corridor.IncidentVerification{Incident: f.text("incident"), Verification: f.text("verification"), Note: f.text("note")}
}

func buildConfirm(f *formData, party string) corridor.Payload {
	return &corridor.DeliveryConfirm{Convoy: f.text("convoy"), At: f.at("at"), Note: f.text("note"), Files: f.attached}
}

func buildClearance(f *formData, party string) corridor.Payload {
	return &corridor.ClearanceAnswer{Convoy: f.text("convoy"), Authority: party, Decision: f.text("decision"), Conditions: f.text("conditions"),
		ReasonCategory: f.text("reason_category"), Reason: f.text("reason"), At: f.at("at")}
}

func buildEvent(f *formData, party string) corridor.Payload {
	return &corridor.CheckpointEvent{Convoy: f.text("convoy"), Checkpoint: f.text("checkpoint"), Event: f.text("event"), At: f.at("at"),
		ReasonCategory: f.text("reason_category"), Reason: f.text("reason"), ExpectedRelease: corridor.Date(f.text("expected_release")),
		OutOfOrder: f.text("out_of_order_reason"), Note: f.text("note"), Removed: f.lineQtys("removed", removedRows), Files: f.attached}
}

// lineQtys reads the rows of a repeated part of LINE (from 1, as the
// convoy page numbers manifest lines), QUANTITY and KG.
func (f *formData) lineQtys(part string, rows int) []corridor.LineQty {
	var out []corridor.LineQty
	for i := 0; i < rows; i++ {
		fld := func(x string) string { return fmt.Sprintf("%s[%d].%s", part, i, x) }
		if f.text(fld("line")) == "" && f.text(fld("kg")) == "" && f.text(fld("quantity")) == "" {
			continue
		}
		line := f.integer(fld("line"))
		if line < 1 {
			f.fail(fld("line"), f.L.T("form.err_line"))
		}
		out = append(out, corridor.LineQty{Line: int(line) - 1, Quantity: f.number(fld("quantity")), Kg: f.number(fld("kg"))})
		f.rowOf[part] = append(f.rowOf[part], i)
	}
	return out
}

func buildMove(f *formData, party string) corridor.Payload {
	return &corridor.ConvoyMove{Convoy: f.text("convoy"), Event: f.text("event"), At: f.at("at"),
		Received: f.lineQtys("received", receivedRows), Note: f.text("note")}
}

func buildIncident(f *formData, party string) corridor.Payload {
	return &corridor.Incident{ID: f.text("id"), Category: f.text("category"), Occurred: corridor.Date(f.text("occurred")), Until: corridor.Date(f.text("until")),
		Reported: corridor.Date(f.text("reported")), Route: f.text("route"), Checkpoint: f.text("checkpoint"), Place: f.text("place"),
		Perpetrator: f.text("perpetrator"), Affected: f.text("affected_organisation"), People: f.integer("people_affected"),
		PeopleEstimated: f.text("people_estimated") != "", AidDenied: f.list("aid_denied"), Traffic: f.list("traffic"),
		Description: f.text("description"), Source: f.text("source"), SourceURL: f.text("source_url"), Verification: f.text("verification"),
		Files: f.attached}
}

func buildClaim(f *formData, party string) corridor.Payload {
	c := &corridor.Claim{ID: f.text("id"), Statement: f.text("statement"), Affiliation: f.text("affiliation"), Medium: f.text("medium"), URL: f.text("url"),
		Translation: f.text("translation"), AboutRoutes: f.list("about_routes"), AboutPlaces: f.list("about_places")}
	if c.Translation != "" {
		c.TranslationLang = f.text("translation_lang")
	}
	if c.Statement == "" {
		c.Speaker, c.SpeakerParty, c.SaidOn, c.Quote, c.Reported, c.Lang = f.text("speaker"), f.text("speaker_party"), corridor.Date(f.text("said_on")), f.text("quote"), f.text("reported"), f.text("lang")
	} else {
		for _, x := range []string{"speaker", "speaker_party", "said_on", "quote"} {
			if f.text(x) != "" {
				f.fail(x, f.L.T("form.err_from_statement"))
			}
		}
	}
	f.assertion(c, "")
	return c
}

// assertion reads what a claim asserts, the convoys it names, its period
// and note from the fields under prefix.
func (f *formData) assertion(c *corridor.Claim, prefix string) {
	v := func(name string) string { return f.text(prefix + name) }
	// Convoys are typed as their ids, separated by commas or spaces.
	c.AboutConvoys = strings.FieldsFunc(v("about_convoys"), func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
	c.Note = v("note")
	if from, to := v("period.from"), v("period.to"); from != "" || to != "" {
		c.Period = &corridor.Period{From: corridor.Date(from), To: corridor.Date(to)}
	}
	if k := v("assertion.kind"); k != "" {
		c.Assertion = &corridor.Assertion{Kind: k}
		switch k {
		case corridor.AssertDelivered, corridor.AssertTonnesPerDay:
			c.Assertion.Place, c.Assertion.Tonnes = v("assertion.place"), f.number(prefix+"assertion.tonnes")
		case corridor.AssertCoverageBelow:
			c.Assertion.Place, c.Assertion.Percent = v("assertion.place"), f.number(prefix+"assertion.percent")
		case corridor.AssertTrucksPerDay:
			c.Assertion.Place, c.Assertion.Trucks = v("assertion.place"), f.number(prefix+"assertion.trucks")
		default:
			c.Assertion.Route, c.Assertion.Traffic = v("assertion.route"), v("assertion.traffic")
		}
	}
}

// statementClaim is a statement form's claim, taking the statement's
// words, and a link for each row of records that bear on it: nothing if
// those fields are all empty.
func statementClaim(f *formData, party string, first corridor.Payload) []part {
	st := first.(*corridor.Statement)
	c := &corridor.Claim{Statement: st.ID, AboutRoutes: st.AboutRoutes, AboutPlaces: st.AboutPlaces}
	f.assertion(c, "claim.")
	var links []part
	for i := 0; i < linkRows; i++ {
		fld := func(x string) string { return fmt.Sprintf("links[%d].%s", i, x) }
		if f.text(fld("record")) == "" && f.text(fld("relation")) == "" && f.text(fld("note")) == "" {
			continue
		}
		links = append(links, part{typ: corridor.TypeClaimLink, prefix: fmt.Sprintf("links[%d].", i),
			payload: &corridor.ClaimLink{Record: f.text(fld("record")), Relation: f.text(fld("relation")), Note: f.text(fld("note"))}})
	}
	if c.Assertion == nil && c.Period == nil && len(c.AboutConvoys) == 0 && c.Note == "" && len(links) == 0 {
		return nil
	}
	contentIDs(c, party)
	for _, l := range links {
		l.payload.(*corridor.ClaimLink).Claim = c.ID
	}
	return append([]part{{typ: corridor.TypeClaim, payload: c, prefix: "claim."}}, links...)
}

func buildStatement(f *formData, party string) corridor.Payload {
	s := &corridor.Statement{ID: f.text("id"), Kind: cmpOr(f.text("kind"), "statement"), Speaker: f.text("speaker"), SpeakerParty: f.text("speaker_party"),
		Affiliation: f.text("affiliation"), SaidOn: corridor.Date(f.text("said_on")), Medium: f.text("medium"), URL: f.text("url"),
		Quote: f.text("quote"), Reported: f.text("reported"), Lang: f.text("lang"), Translation: f.text("translation"),
		AboutRoutes: f.list("about_routes"), AboutPlaces: f.list("about_places"), Files: f.attached}
	if s.Translation != "" {
		s.TranslationLang = f.text("translation_lang")
	}
	return s
}

// cmpOr is the first of its arguments that is not empty.
func cmpOr(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

func buildClosed(f *formData, party string) corridor.Payload {
	return &corridor.RouteClosure{Route: f.text("route"), Checkpoint: f.text("checkpoint"), Traffic: f.list("traffic"), From: corridor.Date(f.text("from")),
		To: corridor.Date(f.text("to")), ReasonCategory: f.text("reason_category"), Reason: f.text("reason")}
}

func buildOpened(f *formData, party string) corridor.Payload {
	return &corridor.RouteOpening{Route: f.text("route"), Traffic: f.list("traffic"), From: corridor.Date(f.text("from")), Note: f.text("note")}
}

func buildPassage(f *formData, party string) corridor.Payload {
	return &corridor.PassageObservation{Route: f.text("route"), Checkpoint: f.text("checkpoint"), Traffic: f.list("traffic"), From: corridor.Date(f.text("from")),
		To: corridor.Date(f.text("to")), Count: int(f.integer("count")), Unit: f.text("unit"), Source: f.text("source"), Note: f.text("note")}
}

func buildReply(f *formData, party string) corridor.Payload {
	return &corridor.Reply{Record: f.text("record"), Kind: f.text("kind"), Text: f.text("text"), Lang: f.text("lang"),
		Evidence: splitIDs(f.text("evidence")), Files: f.attached}
}

// splitIDs reads a comma- or space-separated list of record ids.
func splitIDs(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' })
}

func buildLink(f *formData, party string) corridor.Payload {
	return &corridor.ClaimLink{Claim: f.text("claim"), Record: f.text("record"), Relation: f.text("relation"), Note: f.text("note")}
}
