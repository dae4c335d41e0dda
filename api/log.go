package api

import "net/http"

// registerLog adds the public log routes (/log/ tiles, tree heads,
// receipts, consistency proofs).
func (s *Server) registerLog(mux *http.ServeMux) {}
