package api

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"

	"corridor"
	"corridor/report"
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

func (s *Server) monitoringData(r *http.Request) (*report.Data, error) {
	return report.Load(r.Context(), s.app.Store())
}

func (s *Server) incidents(w http.ResponseWriter, r *http.Request) error {
	route, err := queryID(r, "route")
	if err != nil {
		return err
	}
	d, err := s.monitoringData(r)
	if err != nil {
		return err
	}
	var out []report.IncidentView
	for _, i := range d.IncidentViews() {
		if route == "" || i.Route == route {
			out = append(out, i)
		}
	}
	return writeJSON(w, http.StatusOK, items(out))
}

func (s *Server) claims(w http.ResponseWriter, r *http.Request) error {
	d, err := s.monitoringData(r)
	if err != nil {
		return err
	}
	out, err := paged(r, d.ClaimViews(), func(c report.ClaimView) uint64 { return c.LogIndex })
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) accessCategories(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, items(corridor.AccessCategories))
}

func (s *Server) routeStatus(w http.ResponseWriter, r *http.Request) error {
	from, to, err := queryPeriod(r)
	if err != nil {
		return err
	}
	d, err := s.monitoringData(r)
	if err != nil {
		return err
	}
	rep, err := d.RouteStatus(r.PathValue("id"), from, to)
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
	d, err := s.monitoringData(r)
	if err != nil {
		return err
	}
	rep, err := d.Coverage(r.PathValue("id"), from, to, kcal)
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
	d, err := s.monitoringData(r)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := d.Export(&buf, kind, format); err != nil {
		return err
	}
	ext := format
	w.Header().Set("Content-Type", report.ContentType(format))
	w.Header().Set("Content-Disposition", fmt.Sprintf("inline; filename=%q", "corridor-"+kind+"."+ext))
	_, err = w.Write(buf.Bytes())
	return err
}
