package api

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"corridor"
	"corridor/app"
	"corridor/store"
)

// errUnauthenticated answers 401: a write needs a member's bearer token.
var errUnauthenticated = errors.New("a bearer token is required")

// caller reads the bearer token, if any, and returns the party it belongs
// to ("" for an anonymous public read). A token that is sent but unknown or
// revoked is an error, never silently anonymous.
func (s *Server) caller(r *http.Request) (string, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", nil
	}
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || tok == "" || len(tok) > 200 {
		return "", &authError{"the Authorization header must be \"Bearer <token>\""}
	}
	party, err := s.app.Store().TokenParty(r.Context(), tok)
	if errors.Is(err, store.ErrBadToken) {
		return "", &authError{"unknown or revoked token"}
	}
	return party, err
}

type authError struct{ reason string }

func (e *authError) Error() string { return e.reason }

// requireCaller is caller for writes: anonymous is refused.
func (s *Server) requireCaller(r *http.Request) (context.Context, error) {
	party, err := s.caller(r)
	if err != nil {
		return nil, err
	}
	if party == "" {
		return nil, &authError{errUnauthenticated.Error()}
	}
	return app.WithCaller(r.Context(), party), nil
}

// seesPersonalData reports whether party may see a convoy's personal
// fields: its own organisation, an authority on its route, or a monitor.
func (s *Server) seesPersonalData(ctx context.Context, party string, c store.ConvoyRow, authorities []string) bool {
	if party == "" {
		return false
	}
	if party == c.Organisation {
		return true
	}
	for _, a := range authorities {
		if a == party {
			return true
		}
	}
	p, err := s.app.Store().Party(ctx, party)
	return err == nil && p.Kind == corridor.Monitor
}
