package web

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode"

	"corridor/store"
)

// SessionCookie is the name of the session cookie.
const SessionCookie = "corridor_session"

// SessionLife is how long a session lasts without signing in again.
const SessionLife = 12 * time.Hour

// session is a signed-in member of a party. Sessions live in memory: a
// restart signs everyone out, which is acceptable for a form-filling UI
// and keeps no secret on disk.
type session struct {
	ID      string
	Party   string
	Expires time.Time
}

type sessions struct {
	mu sync.Mutex
	m  map[string]*session
}

func newSessions() *sessions { return &sessions{m: map[string]*session{}} }

func (ss *sessions) create(party string) (*session, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	s := &session{ID: base64.RawURLEncoding.EncodeToString(b[:]), Party: party, Expires: now().Add(SessionLife)}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for id, x := range ss.m { // drop expired sessions
		if now().After(x.Expires) {
			delete(ss.m, id)
		}
	}
	ss.m[s.ID] = s
	return s, nil
}

func (ss *sessions) get(r *http.Request) *session {
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return nil
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.m[c.Value]
	if s == nil || now().After(s.Expires) {
		return nil
	}
	return s
}

func (ss *sessions) drop(id string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.m, id)
}

func (s *Server) sessionCookie(r *http.Request, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: SessionCookie, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: s.secure(r), SameSite: http.SameSiteLaxMode}
}

type signinPage struct {
	Error string
	Next  string
}

func (s *Server) signinForm(w http.ResponseWriter, r *http.Request) error {
	q := s.req(w, r)
	return s.render(w, r, q, http.StatusOK, "signin", q.L.T("signin.title"), signinPage{Next: safeNext(r.URL.Query().Get("next"))})
}

func (s *Server) signin(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return errBadRequest
	}
	q := s.req(w, r)
	token := strings.TrimSpace(r.PostForm.Get("token"))
	next := safeNext(r.PostForm.Get("next"))
	party, err := s.node.Store().TokenParty(r.Context(), token)
	if err != nil {
		if !errors.Is(err, store.ErrBadToken) {
			return err
		}
		return s.render(w, r, q, http.StatusUnauthorized, "signin", q.L.T("signin.title"), signinPage{Error: q.L.T("signin.bad_token"), Next: next})
	}
	if old := s.sessions.get(r); old != nil {
		s.sessions.drop(old.ID)
	}
	sess, err := s.sessions.create(party)
	if err != nil {
		return err
	}
	http.SetCookie(w, s.sessionCookie(r, sess.ID, int(SessionLife/time.Second)))
	if next == "" {
		next = "/forms/"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

func (s *Server) signout(w http.ResponseWriter, r *http.Request) error {
	if sess := s.sessions.get(r); sess != nil {
		s.sessions.drop(sess.ID)
	}
	http.SetCookie(w, s.sessionCookie(r, "", -1))
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return nil
}

// safeNext keeps only a local path to go back to after signing in.
func safeNext(p string) string {
	// Browsers drop tabs and line breaks from a Location and read a
	// backslash as a slash, so "/\t/evil" would leave the site: any
	// control character, space or backslash is refused, and so is
	// anything that parses with a scheme or a host.
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.ContainsFunc(p, func(r rune) bool {
		return r < 0x21 || r == 0x7f || r == '\\' || (r >= 0x80 && r <= 0x9f) || unicode.IsSpace(r)
	}) {
		return ""
	}
	if u, err := url.Parse(p); err != nil || u.Scheme != "" || u.Host != "" {
		return ""
	}
	return p
}
