package api

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"corridor"
	"corridor/report"
	"corridor/store"
)

// registerMonitoring adds the access-monitoring routes (incidents, claims,
// route status, coverage, exports). Each answer is computed from the
// projection by the report package, so it follows from the log alone.
func (s *Server) registerMonitoring(mux *http.ServeMux) {
	mux.Handle("GET /api/v1/incidents", s.handle(s.incidents))
	mux.Handle("GET /api/v1/claims", s.handle(s.claims))
	mux.Handle("GET /api/v1/access-categories", s.handle(s.accessCategories))
	mux.Handle("GET /api/v1/routes/{id}/status", s.handle(s.routeStatus))
	mux.Handle("GET /api/v1/settlements/{id}/coverage", s.handle(s.coverage))
	mux.Handle("GET /api/v1/exports/{kind}", s.handle(s.export))
}

func (s *Server) incidents(w http.ResponseWriter, r *http.Request) error {
	route, err := queryID(r, "route")
	if err != nil {
		return err
	}
	limit, err := intParam(r, "limit", 100, 1, 1000)
	if err != nil {
		return err
	}
	after, err := incidentCursor(r.URL.Query().Get("after"))
	if err != nil {
		return err
	}
	v, err := report.IncidentsPage(r.Context(), s.app.Store(), route, after, int(limit))
	if err != nil {
		return err
	}
	out := struct {
		Items []report.IncidentView `json:"items"`
		Next  string                `json:"next_after,omitempty"`
	}{Items: v}
	if out.Items == nil {
		out.Items = []report.IncidentView{}
	}
	if len(v) == int(limit) {
		last := v[len(v)-1]
		out.Next = fmt.Sprintf("%s.%d", last.Occurred, last.LogIndex)
	}
	return writeJSON(w, http.StatusOK, out)
}

// incidentCursor parses the incident list's cursor, DAY.INDEX: the day
// the last incident seen occurred and its log index.
func incidentCursor(v string) (store.IncidentCursor, error) {
	if v == "" {
		return store.IncidentCursor{}, nil
	}
	day, idx, ok := strings.Cut(v, ".")
	n, err := strconv.ParseInt(idx, 10, 64)
	if _, derr := corridor.Date(day).Time(); !ok || err != nil || derr != nil || n < 0 {
		return store.IncidentCursor{}, &corridor.Error{Code: corridor.CodeInvalid, Field: "after", Reason: "must be the next_after of an earlier page (YYYY-MM-DD.INDEX)"}
	}
	return store.IncidentCursor{Day: day, Index: n}, nil
}

func (s *Server) claims(w http.ResponseWriter, r *http.Request) error {
	p, err := pageParams(r)
	if err != nil {
		return err
	}
	v, err := report.ClaimsPage(r.Context(), s.app.Store(), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, pageOf(v, p, func(c report.ClaimView) uint64 { return c.LogIndex }))
}

func (s *Server) accessCategories(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, items(corridor.AccessCategories))
}

func (s *Server) routeStatus(w http.ResponseWriter, r *http.Request) error {
	from, to, err := queryPeriod(r)
	if err != nil {
		return err
	}
	rep, err := report.RouteStatusOf(r.Context(), s.app.Store(), r.PathValue("id"), from, to)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rep)
}

func (s *Server) coverage(w http.ResponseWriter, r *http.Request) error {
	from, to, err := queryPeriod(r)
	if err != nil {
		return err
	}
	var kcal float64
	if v := r.URL.Query().Get("kcal"); v != "" {
		if kcal, err = strconv.ParseFloat(v, 64); err != nil {
			return &corridor.Error{Code: corridor.CodeInvalid, Field: "kcal", Reason: "must be a number of kcal per person per day"}
		}
	}
	rep, err := report.CoverageOf(r.Context(), s.app.Store(), r.PathValue("id"), from, to, kcal)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rep)
}

func (s *Server) export(w http.ResponseWriter, r *http.Request) error {
	kind, format := r.PathValue("kind"), r.URL.Query().Get("format")
	if format == "" {
		format = "json"
	}
	if err := report.CheckExport(kind, format); err != nil {
		return err
	}
	// An export is streamed from the projection page by page. Until the
	// first 64 KB are written an error is still a problem+json answer;
	// after that the response is cut off, so that a client never takes a
	// part for the whole.
	w.Header().Set("Content-Type", report.ContentType(format))
	w.Header().Set("Content-Disposition", fmt.Sprintf("inline; filename=%q", "corridor-"+kind+"."+format))
	cw := &countingWriter{w: w}
	if err := report.Export(r.Context(), s.app.Store(), cw, kind, format); err != nil {
		if cw.n == 0 {
			w.Header().Del("Content-Disposition")
			return err
		}
		s.lg.Warn("export cut off", "kind", kind, "format", format, "after_bytes", cw.n, "err", err)
		panic(http.ErrAbortHandler)
	}
	return nil
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
