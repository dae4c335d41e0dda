package api

import (
	"context"
	"net/http"
	"regexp"
	"slices"
	"time"

	"corridor"
	"corridor/record"
	"corridor/store"
)

// ClearanceRequest is one authority's side of a convoy's clearance: the
// request goes to every authority that runs a checkpoint on the route.
type ClearanceRequest struct {
	Convoy    string                    `json:"convoy"`
	Authority string                    `json:"authority"`
	Deadline  corridor.Date             `json:"deadline"`
	State     string                    `json:"state"` // approved, approved-with-conditions, refused, pending, unanswered; for a notified authority notified or acknowledged
	Answer    *corridor.ClearanceAnswer `json:"answer,omitempty"`
	// Notified: the authority is only told of the convoy (the route's
	// notify); its acknowledgement is not an approval.
	Notified bool `json:"notified,omitempty"`
}

// ConvoyView is a convoy as the API shows it.
type ConvoyView struct {
	store.ConvoyRow
	Clearance []ClearanceRequest        `json:"clearance"`
	Private   map[string]record.Opening `json:"private,omitempty"` // personal values, for entitled callers only
}

var datePattern = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

func queryDate(r *http.Request, name string) (string, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return "", nil
	}
	if _, err := time.Parse(time.DateOnly, v); err != nil || !datePattern.MatchString(v) {
		return "", &corridor.Error{Code: corridor.CodeInvalid, Field: name, Reason: "must be a date YYYY-MM-DD"}
	}
	return v, nil
}

// queryPeriod reads the optional from and to days of a request.
func queryPeriod(r *http.Request) (from, to string, err error) {
	if from, err = queryDate(r, "from"); err != nil {
		return "", "", err
	}
	if to, err = queryDate(r, "to"); err != nil {
		return "", "", err
	}
	if from != "" && to != "" && to < from {
		return "", "", &corridor.Error{Code: corridor.CodeInvalid, Field: "to", Reason: "is before from"}
	}
	return from, to, nil
}

func queryOneOf(r *http.Request, name string, allowed []string) (string, error) {
	v := r.URL.Query().Get(name)
	if v == "" || slices.Contains(allowed, v) {
		return v, nil
	}
	return "", &corridor.Error{Code: corridor.CodeInvalid, Field: name, Reason: "must be one of " + joinComma(allowed)}
}

func joinComma(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += ", "
		}
		out += x
	}
	return out
}

var convoyStatuses = []string{
	string(corridor.StatusFiled), string(corridor.StatusDeparted), string(corridor.StatusAtCheckpt), string(corridor.StatusHeld),
	string(corridor.StatusEnRoute), string(corridor.StatusRefused), string(corridor.StatusTurnedBack),
	string(corridor.StatusDelivered), string(corridor.StatusReturned), string(corridor.StatusCancelled),
}

// today is the day against which clearance deadlines are judged: the
// "on" query parameter, or the current UTC date.
func today(r *http.Request) (corridor.Date, error) {
	d, err := queryDate(r, "on")
	if err != nil || d != "" {
		return corridor.Date(d), err
	}
	return corridor.Date(time.Now().UTC().Format(time.DateOnly)), nil
}

func (s *Server) convoys(w http.ResponseWriter, r *http.Request) error {
	var f store.ConvoyFilter
	var err error
	for _, p := range []struct {
		name string
		dst  *string
	}{{"route", &f.Route}, {"organisation", &f.Organisation}, {"checkpoint", &f.Checkpoint}} {
		if *p.dst, err = queryID(r, p.name); err != nil {
			return err
		}
	}
	if f.Status, err = queryOneOf(r, "status", convoyStatuses); err != nil {
		return err
	}
	if f.From, f.To, err = queryPeriod(r); err != nil {
		return err
	}
	if f.After, err = intParam(r, "after", -1, -1, 1<<53); err != nil {
		return err
	}
	limit, err := intParam(r, "limit", 100, 1, 1000)
	if err != nil {
		return err
	}
	f.Limit = int(limit)
	v, err := s.app.Store().Convoys(r.Context(), f)
	if err != nil {
		return err
	}
	out := items(v)
	if len(v) == f.Limit {
		next := int64(v[len(v)-1].LogIndex)
		out.Next = &next
	}
	return writeJSON(w, http.StatusOK, out)
}

// convoyView assembles a convoy with its history, clearance requests and,
// for an entitled caller, its personal values.
func (s *Server) convoyView(ctx context.Context, id, caller string, on corridor.Date) (ConvoyView, error) {
	c, err := s.app.Store().Convoy(ctx, id)
	if err != nil {
		return ConvoyView{}, err
	}
	auths := c.Authorities
	routes, err := s.app.Store().Network(ctx)
	if err != nil {
		return ConvoyView{}, err
	}
	v := ConvoyView{ConvoyRow: c, Clearance: clearanceRequests(c, auths, on)}
	for _, a := range corridor.NotifiedAuthorities(c.Filing.Routes(routes), auths) {
		req := ClearanceRequest{Convoy: c.ID, Authority: a, Deadline: c.Filing.Deadline(), State: "notified", Notified: true}
		if ans, ok := c.Progress.Clearance[a]; ok {
			req.Answer, req.State = &ans, ans.Decision
		}
		v.Clearance = append(v.Clearance, req)
	}
	if s.seesPersonalData(ctx, caller, c, auths) {
		v.Private, err = s.app.Store().Private(ctx, c.Filing.Commitments())
		if err != nil {
			return ConvoyView{}, err
		}
	}
	return v, nil
}

func clearanceRequests(c store.ConvoyRow, authorities []string, on corridor.Date) []ClearanceRequest {
	out := []ClearanceRequest{}
	for _, a := range authorities {
		req := ClearanceRequest{Convoy: c.ID, Authority: a, Deadline: c.Filing.Deadline()}
		if ans, ok := c.Progress.Clearance[a]; ok {
			req.Answer = &ans
		}
		req.State = corridor.ClearanceState(req.Answer, req.Deadline, on)
		out = append(out, req)
	}
	return out
}

func (s *Server) convoy(w http.ResponseWriter, r *http.Request) error {
	caller, err := s.caller(r)
	if err != nil {
		return err
	}
	on, err := today(r)
	if err != nil {
		return err
	}
	v, err := s.convoyView(r.Context(), r.PathValue("id"), caller, on)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

func (s *Server) convoyClearance(w http.ResponseWriter, r *http.Request) error {
	on, err := today(r)
	if err != nil {
		return err
	}
	v, err := s.convoyView(r.Context(), r.PathValue("id"), "", on)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, items(v.Clearance))
}

// clearances lists clearance requests across convoys: an authority's inbox.
func (s *Server) clearances(w http.ResponseWriter, r *http.Request) error {
	authority, err := queryID(r, "authority")
	if err != nil {
		return err
	}
	state, err := queryOneOf(r, "state", []string{corridor.Approved, corridor.ApprovedWithConditions, corridor.Refused, corridor.ClearancePending, corridor.ClearanceUnanswered})
	if err != nil {
		return err
	}
	on, err := today(r)
	if err != nil {
		return err
	}
	p, err := pageParams(r)
	if err != nil {
		return err
	}
	// A page is a page of convoys (keyset on their log index), filtered
	// by authority in SQL; the state is judged on the page.
	convoys, err := s.app.Store().Convoys(r.Context(), store.ConvoyFilter{Authority: authority, After: p.After, Limit: p.Limit})
	if err != nil {
		return err
	}
	out := list[ClearanceRequest]{Items: []ClearanceRequest{}}
	for _, c := range convoys {
		for _, req := range clearanceRequests(c, c.Authorities, on) {
			if (authority == "" || req.Authority == authority) && (state == "" || req.State == state) {
				out.Items = append(out.Items, req)
			}
		}
	}
	if len(convoys) == p.Limit {
		next := int64(convoys[len(convoys)-1].LogIndex)
		out.Next = &next
	}
	return writeJSON(w, http.StatusOK, out)
}

// CheckpointView is a checkpoint with its queue.
type CheckpointView struct {
	store.CheckpointRow
	Queue       []QueueEntry `json:"queue"`       // convoys at the checkpoint or held there
	Approaching []QueueEntry `json:"approaching"` // departed convoys for which it is the next checkpoint
	// The lists hold at most 1,000 each, the longest waiting; the totals
	// count them all.
	QueueTotal       int `json:"queue_total"`
	ApproachingTotal int `json:"approaching_total"`
}

// QueueEntry is a convoy waiting at or heading for a checkpoint.
type QueueEntry struct {
	Convoy       string  `json:"convoy"`
	Organisation string  `json:"organisation"`
	Status       string  `json:"status"`
	Since        string  `json:"since,omitempty"`
	Kg           float64 `json:"kg"`
	Vehicles     int     `json:"vehicles"`
}

func (s *Server) checkpointView(ctx context.Context, id string) (CheckpointView, error) {
	cp, err := s.app.Store().Checkpoint(ctx, id)
	if err != nil {
		return CheckpointView{}, err
	}
	v := CheckpointView{CheckpointRow: cp, Queue: []QueueEntry{}, Approaching: []QueueEntry{}}
	entry := func(c store.ConvoyRow) QueueEntry {
		return QueueEntry{Convoy: c.ID, Organisation: c.Organisation, Status: c.Status, Since: c.LastAt, Kg: c.Kg, Vehicles: len(c.Filing.Vehicles)}
	}
	at, approaching, atN, apN, err := s.app.Store().Queue(ctx, id, 1000)
	if err != nil {
		return v, err
	}
	v.QueueTotal, v.ApproachingTotal = atN, apN
	for _, c := range at {
		v.Queue = append(v.Queue, entry(c))
	}
	for _, c := range approaching {
		v.Approaching = append(v.Approaching, entry(c))
	}
	return v, nil
}

func (s *Server) checkpoint(w http.ResponseWriter, r *http.Request) error {
	v, err := s.checkpointView(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

func (s *Server) party(w http.ResponseWriter, r *http.Request) error {
	v, err := s.app.Store().Party(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

func (s *Server) place(w http.ResponseWriter, r *http.Request) error {
	v, err := s.app.Store().Place(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

// RouteView is a route with its checkpoints in route order.
type RouteView struct {
	store.RouteRow
	Checkpoints []store.CheckpointRow `json:"checkpoints"`
	Authorities []string              `json:"authorities"`
}

func (s *Server) route(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	rt, err := s.app.Store().Route(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	cps, err := s.app.Store().RouteCheckpoints(ctx, rt.ID)
	if err != nil {
		return err
	}
	v := RouteView{RouteRow: rt, Checkpoints: cps, Authorities: []string{}}
	if v.Checkpoints == nil {
		v.Checkpoints = []store.CheckpointRow{}
	}
	for _, c := range cps {
		for _, op := range c.Operators() {
			if !slices.Contains(v.Authorities, op) {
				v.Authorities = append(v.Authorities, op)
			}
		}
	}
	return writeJSON(w, http.StatusOK, v)
}
