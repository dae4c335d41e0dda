// Package api serves corridor's JSON API under /api/v1: public reads of the
// projection and POST /api/v1/records, through which every signed record
// enters. Errors are RFC 9457 problem+json bodies that name the field.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"corridor"
	"corridor/app"
	"corridor/evidence"
	"corridor/ledger"
	"corridor/record"
	"corridor/store"
	"corridor/wire"
)

// MaxBody is the largest request body accepted.
const MaxBody = 8 << 20

// Server serves the API.
type Server struct {
	app *app.App
	lg  *slog.Logger
	log *logServer // set by WithLog: the public log routes
}

// New returns the API handler, to be mounted at the root of a mux.
func New(a *app.App, lg *slog.Logger) *Server {
	if lg == nil {
		lg = slog.Default()
	}
	return &Server{app: a, lg: lg}
}

// unmatched is a request no API route takes: an unknown path (404) or a
// method the path does not answer (405).
type unmatched struct {
	status       int
	code, detail string
}

func (u *unmatched) Error() string { return u.detail }

// unknownRoute answers, as problem+json, what the mux would answer in
// plain text: 405 with Allow when another method of the path exists,
// 404 otherwise.
func (s *Server) unknownRoute(mux *http.ServeMux) func(w http.ResponseWriter, r *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		var allow []string
		for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			if m == r.Method {
				continue
			}
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, pattern := mux.Handler(probe); pattern != "" && pattern != "/api/v1/" {
				allow = append(allow, m)
			}
		}
		if len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			return &unmatched{http.StatusMethodNotAllowed, "method-not-allowed", fmt.Sprintf("%s does not answer %s; it answers %s", r.URL.Path, r.Method, strings.Join(allow, ", "))}
		}
		return &unmatched{http.StatusNotFound, "not-found", fmt.Sprintf("no API route %s; the routes are listed in /api/v1/openapi.json", r.URL.Path)}
	}
}

// Register adds the API's routes to mux.
func (s *Server) Register(mux *http.ServeMux) {
	mux.Handle("/api/v1/", s.handle(s.unknownRoute(mux)))
	mux.Handle("GET /healthz", s.handle(s.healthz))
	mux.Handle("GET /api/v1/openapi.json", s.handle(s.openapi))
	mux.Handle("GET /api/v1/parties", s.handle(s.parties))
	mux.Handle("GET /api/v1/parties/{id}", s.handle(s.party))
	mux.Handle("GET /api/v1/places", s.handle(s.places))
	mux.Handle("GET /api/v1/places/{id}", s.handle(s.place))
	mux.Handle("GET /api/v1/restricted-lists", s.handle(s.restrictedLists))
	mux.Handle("GET /api/v1/routes", s.handle(s.routes))
	mux.Handle("GET /api/v1/routes/{id}", s.handle(s.route))
	mux.Handle("GET /api/v1/checkpoints", s.handle(s.checkpoints))
	mux.Handle("GET /api/v1/checkpoints/{id}", s.handle(s.checkpoint))
	mux.Handle("GET /api/v1/convoys", s.handle(s.convoys))
	mux.Handle("GET /api/v1/convoys/{id}", s.handle(s.convoy))
	mux.Handle("GET /api/v1/convoys/{id}/clearance", s.handle(s.convoyClearance))
	mux.Handle("GET /api/v1/clearances", s.handle(s.clearances))
	mux.Handle("GET /api/v1/statements", s.handle(s.statements))
	mux.Handle("GET /api/v1/records", s.handle(s.records))
	mux.Handle("GET /api/v1/records/{id}", s.handle(s.record))
	mux.Handle("GET /api/v1/records/{id}/replies", s.handle(s.recordReplies))
	mux.Handle("POST /api/v1/records", s.handle(s.postRecords))
	s.registerMonitoring(mux)
	s.registerFiles(mux)
	s.registerLog(mux)
}

// handlerFunc is a handler that returns an error for the adapter to answer.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

func (s *Server) handle(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.problem(w, r, err)
		}
	})
}

// Problem is an RFC 9457 problem details body.
type Problem = wire.Problem

var statusOf = map[corridor.Code]int{
	corridor.CodeInvalid:      http.StatusBadRequest,
	corridor.CodeUnknownType:  http.StatusBadRequest,
	corridor.CodeUnknownKey:   http.StatusForbidden,
	corridor.CodeBadSignature: http.StatusForbidden,
	corridor.CodeForbidden:    http.StatusForbidden,
	corridor.CodeConflict:     http.StatusConflict,
	corridor.CodeDuplicate:    http.StatusConflict,
	corridor.CodeNotFound:     http.StatusNotFound,
}

// problem turns an error into a status and a client-safe body; errors it
// does not know are logged and answered as 500 without detail.
func (s *Server) problem(w http.ResponseWriter, r *http.Request, err error) {
	p := Problem{Status: http.StatusInternalServerError, Title: "internal error"}
	var de *corridor.Error
	var mbe *http.MaxBytesError
	var ae *authError
	var ue *unmatched
	var roe *app.ReadOnlyError
	var fe *evidence.Error
	switch {
	case errors.As(err, &fe):
		p.Status, p.Field, p.Detail = fe.Status, "file", fe.Reason
		p.Code = map[int]string{http.StatusRequestEntityTooLarge: "too-large", http.StatusUnsupportedMediaType: "unsupported-media-type"}[fe.Status]
		if p.Code == "" {
			p.Code = string(corridor.CodeInvalid)
		}
	case errors.As(err, &ae):
		p.Status, p.Code, p.Field, p.Detail = http.StatusUnauthorized, "unauthenticated", "Authorization", ae.reason
		w.Header().Set("WWW-Authenticate", `Bearer realm="corridor"`)
	case errors.As(err, &de):
		p.Status = statusOf[de.Code]
		p.Code, p.Field, p.Detail = string(de.Code), de.Field, de.Reason
		if len(de.Also) > 0 {
			for _, e := range de.All() {
				p.Errors = append(p.Errors, wire.FieldProblem{Code: string(e.Code), Field: e.Field, Detail: e.Reason})
			}
		}
	case errors.As(err, &mbe):
		p.Status, p.Code, p.Field = http.StatusRequestEntityTooLarge, "too-large", "body"
		p.Detail = fmt.Sprintf("the request body is larger than %d bytes", MaxBody)
	case errors.Is(err, store.ErrNotFound):
		p.Status, p.Code, p.Detail = http.StatusNotFound, "not-found", err.Error()
	case errors.As(err, &roe):
		p.Status, p.Code, p.Detail = http.StatusMisdirectedRequest, "read-only", roe.Error()
		if roe.Writer != "" {
			w.Header().Set("Corridor-Writer", roe.Writer)
		} else {
			w.Header().Set("Retry-After", "5")
		}
	case errors.Is(err, app.ErrNoLease):
		s.lg.Warn("records refused: no writer lease", slog.String("path", r.URL.Path))
		p.Status, p.Code, p.Detail = http.StatusServiceUnavailable, "no-lease", app.ErrNoLease.Error()
		w.Header().Set("Retry-After", "5")
	case errors.Is(err, app.ErrBusy):
		p.Status, p.Code, p.Detail = http.StatusServiceUnavailable, "busy", err.Error()
		w.Header().Set("Retry-After", "1")
	case errors.Is(err, app.ErrUnavailable):
		// The cause (a path, a disk) is the operator's, in the log.
		s.lg.Error("records not stored", slog.String("path", r.URL.Path), slog.Any("err", err))
		p.Status, p.Code, p.Detail = http.StatusServiceUnavailable, "unavailable", app.ErrUnavailable.Error()
		w.Header().Set("Retry-After", "30")
	case errors.Is(err, app.ErrClosed):
		p.Status, p.Code, p.Detail = http.StatusServiceUnavailable, "shutting-down", err.Error()
		w.Header().Set("Retry-After", "5")
	case errors.As(err, &ue):
		p.Status, p.Code, p.Detail = ue.status, ue.code, ue.detail
	case errors.Is(err, context.Canceled):
		return // the client has gone
	default:
		s.lg.Error("request failed", slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("err", err))
	}
	if p.Code == "" {
		p.Code = "internal"
	}
	// Every title is the status's own text, the same case everywhere.
	p.Title = http.StatusText(p.Status)
	p.Type = "urn:corridor:problem:" + p.Code
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	json.NewEncoder(w).Encode(p)
}

// writeJSON answers with v as compact JSON. Embedded signed records are
// written byte for byte as they are in the log (compact, no HTML escaping),
// so that a client can check their signatures on what it receives.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// list is the envelope of every collection answer.
type list[T any] struct {
	Items []T    `json:"items"`
	Next  *int64 `json:"next_after,omitempty"`
}

func items[T any](v []T) list[T] {
	if v == nil {
		v = []T{}
	}
	return list[T]{Items: v}
}

// healthz says whether the server can do its work, and what it misses
// when it cannot (503): the projection's database, the log's object
// store or database, the writer lease.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	missing := []string{}
	// unable is what this server needs for its own work: records for a
	// writer, reads for a read server. Without it the answer is 503, so a
	// load balancer sends its clients elsewhere.
	unable := false
	size := s.app.Size()
	applied, err := s.app.Store().Applied(ctx)
	if err != nil {
		s.lg.Warn("healthz: projection", slog.Any("err", err))
		missing = append(missing, "projection database: "+short(err))
		unable = true
	}
	body := map[string]any{"records": size, "projected": applied, "time": time.Now().UTC(), "role": "writer"}
	if s.log != nil {
		if _, _, _, err := s.log.log.TreeHead(ctx); err != nil && !errors.Is(err, ledger.ErrNotFound) {
			s.lg.Warn("healthz: log store", slog.Any("err", err))
			missing = append(missing, "log store: "+short(err))
			unable = true
		}
		if !s.app.ReadOnly() {
			if _, err := s.log.log.Size(ctx); err != nil {
				s.lg.Warn("healthz: log database", slog.Any("err", err))
				missing = append(missing, "log database: "+short(err))
				unable = true
			}
		}
	}
	if s.app.ReadOnly() {
		body["role"] = "reader"
		body["writer"] = s.app.Writer(ctx)
		if body["writer"] == "" {
			// Reads go on: still 200, so readers keep coming here while
			// the writers fail over.
			missing = append(missing, "writer: no writer holds the lease (reads go on)")
		}
	} else if held, valid := s.app.Lease(); held && !valid {
		missing = append(missing, "writer lease: not held, so records are refused")
		unable = true
	}
	body["missing"] = missing
	status, code := "ok", http.StatusOK
	if len(missing) > 0 {
		status = "degraded"
	}
	if unable {
		code = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", "5")
	}
	body["status"] = status
	return writeJSON(w, code, body)
}

// short is the last part of an error chain, enough to say what failed
// without the operator's paths and addresses.
func short(err error) string {
	msg := err.Error()
	if r := []rune(msg); len(r) > 200 {
		msg = string(r[:200]) + "…"
	}
	return msg
}

func (s *Server) parties(w http.ResponseWriter, r *http.Request) error {
	v, err := s.app.Store().Parties(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, items(v))
}

func (s *Server) places(w http.ResponseWriter, r *http.Request) error {
	v, err := s.app.Store().Places(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, items(v))
}

// restrictedLists answers the authorities' lists of restricted items,
// optionally one authority's (?authority=).
func (s *Server) restrictedLists(w http.ResponseWriter, r *http.Request) error {
	authority, err := queryID(r, "authority")
	if err != nil {
		return err
	}
	v, err := s.app.Store().RestrictedLists(r.Context(), authority)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, items(v))
}

func (s *Server) routes(w http.ResponseWriter, r *http.Request) error {
	v, err := s.app.Store().Routes(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, items(v))
}

func queryID(r *http.Request, name string) (string, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return "", nil
	}
	if len(v) > 64 {
		return "", &corridor.Error{Code: corridor.CodeInvalid, Field: name, Reason: "longer than 64 characters"}
	}
	if err := record.CheckID(name, v); err != nil {
		return "", corridor.AsError(err, "")
	}
	return v, nil
}

func (s *Server) checkpoints(w http.ResponseWriter, r *http.Request) error {
	route, err := queryID(r, "route")
	if err != nil {
		return err
	}
	v, err := s.app.Store().Checkpoints(r.Context(), route)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, items(v))
}

func (s *Server) statements(w http.ResponseWriter, r *http.Request) error {
	p, err := pageParams(r)
	if err != nil {
		return err
	}
	v, err := s.app.Store().StatementsPage(r.Context(), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, pageOf(v, p, func(x store.StatementRow) uint64 { return x.LogIndex }))
}

// pageParams reads a keyset page from the query: after, the log index of
// the last item seen (default none), and limit (default 100, at most
// 1,000). Every list is read a page at a time in SQL.
func pageParams(r *http.Request) (store.Page, error) {
	after, err := intParam(r, "after", -1, -1, 1<<53)
	if err != nil {
		return store.Page{}, err
	}
	limit, err := intParam(r, "limit", 100, 1, 1000)
	if err != nil {
		return store.Page{}, err
	}
	return store.Page{After: after, Limit: int(limit)}, nil
}

// pageOf wraps a page read with p: a full page says where the next starts.
func pageOf[T any](v []T, p store.Page, index func(T) uint64) list[T] {
	l := items(v)
	if len(v) == p.Limit && len(v) > 0 {
		next := int64(index(v[len(v)-1]))
		l.Next = &next
	}
	return l
}

// intParam reads an optional integer query parameter within [min, max].
func intParam(r *http.Request, name string, def, min, max int64) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < min || n > max {
		return 0, &corridor.Error{Code: corridor.CodeInvalid, Field: name, Reason: fmt.Sprintf("must be a whole number from %d to %d", min, max)}
	}
	return n, nil
}

func (s *Server) records(w http.ResponseWriter, r *http.Request) error {
	after, err := intParam(r, "after", -1, -1, 1<<53)
	if err != nil {
		return err
	}
	limit, err := intParam(r, "limit", 100, 1, 1000)
	if err != nil {
		return err
	}
	v, err := s.app.Store().Records(r.Context(), after, int(limit))
	if err != nil {
		return err
	}
	out := items(v)
	if len(v) == int(limit) {
		next := int64(v[len(v)-1].Index)
		out.Next = &next
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) record(w http.ResponseWriter, r *http.Request) error {
	v, err := s.app.Store().RecordByID(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

func (s *Server) postRecords(w http.ResponseWriter, r *http.Request) error {
	if s.app.ReadOnly() { // before anything is read: the writer answers
		return &app.ReadOnlyError{Writer: s.app.Writer(r.Context())}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		return err
	}
	ctx, err := s.requireCaller(r)
	if err != nil {
		return err
	}
	subs, err := app.DecodeSubmissions(body)
	if err != nil {
		return err
	}
	res, err := s.app.Submit(ctx, subs)
	if err != nil {
		return err
	}
	status := http.StatusCreated
	allDup := true
	for _, x := range res {
		allDup = allDup && x.Duplicate
	}
	if allDup {
		status = http.StatusOK
	}
	switch wait := r.URL.Query().Get("wait"); wait {
	case "":
	case "published":
		// The records are durable; wait for a tree head that covers them
		// and answer with their receipts. If none comes in time the
		// records are still written: 202 says so, without receipts.
		pub, err := s.waitPublished(r.Context(), res)
		if errors.Is(err, errPublishTimeout) {
			return writeJSON(w, http.StatusAccepted, map[string]any{"results": res, "receipts": err.Error()})
		}
		if err != nil {
			return err
		}
		return writeJSON(w, status, map[string]any{"results": pub})
	default:
		return &corridor.Error{Code: corridor.CodeInvalid, Field: "wait", Reason: "must be empty or published"}
	}
	return writeJSON(w, status, map[string]any{"results": res})
}

// recordReplies lists the replies the parties a record names have signed
// to it (reply.record), in log order.
func (s *Server) recordReplies(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := record.CheckID("id", id); err != nil {
		return corridor.AsError(err, "")
	}
	rows, err := s.app.Store().RepliesToRecord(r.Context(), id)
	if err != nil {
		return err
	}
	if rows == nil {
		rows = []store.ReplyRow{}
	}
	return writeJSON(w, http.StatusOK, list[store.ReplyRow]{Items: rows})
}
