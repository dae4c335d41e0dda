package api

import "net/http"

// registerMonitoring adds the access-monitoring routes (incidents, claims,
// route status, coverage, exports).
func (s *Server) registerMonitoring(mux *http.ServeMux) {}
