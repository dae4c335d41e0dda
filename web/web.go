// Package web serves corridor's dashboard: server-rendered pages (a map
// and charts drawn as SVG on the server, readable without JavaScript),
// sign-in with a party member's token, and forms through which each party
// makes its own records, signed by the server with the key the party
// delegated to it. Templates, message catalogues and assets are embedded
// and parsed once; assets are served at checksum URLs, cached for good.
package web

import (
	"bytes"
	"compress/gzip"
	"context"
	"corridor/witness"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"corridor"
	"corridor/app"
	"corridor/report"
	"corridor/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Server serves the dashboard.
type Server struct {
	node     *app.Node
	lg       *slog.Logger
	cat      catalogues
	pages    map[string]*template.Template
	assets   map[string]asset  // by served name (with checksum)
	assetURL map[string]string // file name -> /static/ URL
	sessions *sessions
	cop      *http.CrossOriginProtection
	policy   *witness.Policy // the log's witness policy, if any
	public   *url.URL        // where readers reach this server, if behind a proxy

	missingMu sync.Mutex
	missing   map[string]bool // catalogue keys asked for and not found
}

// WithPublicURL tells the dashboard the address readers reach it at when
// a proxy terminates TLS in front of it: cookies are then Secure, and form
// posts from that origin are the site's own.
func (s *Server) WithPublicURL(u *url.URL) (*Server, error) {
	if u == nil {
		return s, nil
	}
	if err := s.cop.AddTrustedOrigin(u.Scheme + "://" + u.Host); err != nil {
		return nil, err
	}
	s.public = u
	return s, nil
}

// secure says whether the reader's connection is HTTPS: this server's own
// TLS, or the proxy's the public URL names.
func (s *Server) secure(r *http.Request) bool {
	return r.TLS != nil || (s.public != nil && s.public.Scheme == "https")
}

// WithWitnesses tells the dashboard the witness policy the log publishes
// under, so that it can show which witnesses cosigned the latest tree head.
func (s *Server) WithWitnesses(p *witness.Policy) *Server {
	s.policy = p
	return s
}

type asset struct {
	data  []byte
	gz    []byte // gzipped, if smaller
	ctype string
}

// pageNames are the page templates; each is parsed with layout.html.
var pageNames = []string{"overview", "route", "convoy", "claims", "settlement", "data", "signin", "forms", "form", "intake", "error"}

// New parses the templates and catalogues and prepares the assets.
func New(node *app.Node, lg *slog.Logger) (*Server, error) {
	if lg == nil {
		lg = slog.Default()
	}
	s := &Server{node: node, lg: lg, pages: map[string]*template.Template{}, assets: map[string]asset{},
		assetURL: map[string]string{}, sessions: newSessions(), missing: map[string]bool{}}
	var err error
	if s.cat, err = loadCatalogues(); err != nil {
		return nil, err
	}
	err = fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(staticFS, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		name := path.Base(p)
		ext := path.Ext(name)
		served := strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:6]) + ext
		a := asset{data: b, ctype: mime.TypeByExtension(ext)}
		if z := gzipBytes(b); len(z) < len(b) {
			a.gz = z
		}
		s.assets[served] = a
		s.assetURL[name] = "/static/" + served
		return nil
	})
	if err != nil {
		return nil, err
	}
	funcs := template.FuncMap{
		"asset": func(name string) (string, error) {
			u, ok := s.assetURL[name]
			if !ok {
				return "", fmt.Errorf("no asset %q", name)
			}
			return u, nil
		},
		"names":    report.AllNames,
		"isImage":  corridor.IsImage,
		"join":     strings.Join,
		"add":      func(a, b int) int { return a + b },
		"before":   func(i uint64) int64 { return int64(i) - 1 }, // the "after" that lists record i first
		"contains": func(list []string, v string) bool { return containsStr(list, v) },
		"dict": func(kv ...any) (map[string]any, error) {
			if len(kv)%2 != 0 {
				return nil, errors.New("dict: odd number of arguments")
			}
			m := make(map[string]any, len(kv)/2)
			for i := 0; i < len(kv); i += 2 {
				k, ok := kv[i].(string)
				if !ok {
					return nil, errors.New("dict: keys must be strings")
				}
				m[k] = kv[i+1]
			}
			return m, nil
		},
		"trafficKinds": func() []string { return corridor.TrafficKinds },
		"outcomes": func() []string {
			return []string{corridor.OutcomeDelivered, corridor.OutcomeHeld, corridor.OutcomeRefused}
		},
	}
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", name, err)
		}
		s.pages[name] = t
	}
	s.cop = http.NewCrossOriginProtection()
	s.cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, errCrossOrigin)
	}))
	return s, nil
}

// Register mounts the dashboard on mux. The API owns /api/ and /healthz,
// the public log /log/.
func (s *Server) Register(mux *http.ServeMux) {
	mux.Handle("GET /{$}", s.handle(s.overview))
	mux.Handle("GET /routes/{id}", s.handle(s.route))
	mux.Handle("GET /convoys/{id}", s.handle(s.convoy))
	mux.Handle("GET /claims", s.handle(s.claims))
	mux.Handle("GET /settlements/{id}", s.handle(s.settlement))
	mux.Handle("GET /data", s.handle(s.data))
	mux.Handle("GET /incidents.atom", s.handle(s.incidentsFeed))
	mux.Handle("GET /claims.atom", s.handle(s.claimsFeed))
	mux.Handle("GET /feed.atom", s.handle(s.recordsFeed(store.FeedAll)))
	mux.Handle("GET /routes/{id}/feed.atom", s.handle(s.recordsFeed(store.FeedRoute)))
	mux.Handle("GET /checkpoints/{id}/feed.atom", s.handle(s.recordsFeed(store.FeedCheckpoint)))
	mux.Handle("GET /convoys/{id}/feed.atom", s.handle(s.recordsFeed(store.FeedConvoy)))
	mux.Handle("GET /signin", s.handle(s.signinForm))
	mux.Handle("POST /signin", s.cop.Handler(s.handle(s.signin)))
	mux.Handle("POST /signout", s.cop.Handler(s.handle(s.signout)))
	mux.Handle("GET /forms/{$}", s.handle(s.formsIndex))
	mux.Handle("GET /intake", s.handle(s.intakeForm))
	mux.Handle("POST /intake", s.cop.Handler(s.handle(s.intakePost)))
	mux.Handle("GET /forms/{name}", s.handle(s.formPage))
	mux.Handle("POST /forms/{name}", s.cop.Handler(s.handle(s.formPost)))
	mux.HandleFunc("GET /static/{file}", s.static)
	mux.HandleFunc("GET /sw.js", s.serviceWorker)
}

// serviceWorker serves the service worker that keeps the form pages for
// use offline (static/sw.js). It lives at the root so that its scope is
// the whole site, and is checked for a new version on every visit.
func (s *Server) serviceWorker(w http.ResponseWriter, r *http.Request) {
	b, err := fs.ReadFile(staticFS, "static/sw.js")
	if err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(b)
}

func (s *Server) static(w http.ResponseWriter, r *http.Request) {
	a, ok := s.assets[r.PathValue("file")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", a.ctype)
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Vary", "Accept-Encoding")
	if a.gz != nil && acceptsGzip(r) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(a.gz)
		return
	}
	w.Write(a.data)
}

func acceptsGzip(r *http.Request) bool {
	for _, e := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		if strings.TrimSpace(strings.SplitN(e, ";", 2)[0]) == "gzip" {
			return true
		}
	}
	return false
}

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// Errors the pages answer with their own status.
var (
	errForbidden   = errors.New("forbidden")
	errCrossOrigin = errors.New("cross-origin request")
	errSignIn      = errors.New("sign in first")
	errBadRequest  = errors.New("bad request")
	errTooLarge    = errors.New("request too large")
)

type handlerFunc func(w http.ResponseWriter, r *http.Request) error

func (s *Server) handle(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("Vary", "Cookie, Accept-Language")
		if err := h(w, r); err != nil {
			s.fail(w, r, err)
		}
	})
}

// request is what every page knows of its request.
type request struct {
	L       *Locale
	Lang    string
	Path    string
	Session *session // nil when not signed in
	Party   *store.PartyRow
	Langs   []string
}

// Dir is the direction of the page's language: "rtl" or "ltr".
func (q *request) Dir() string { return Dir(q.Lang) }

// PartyLabel names the signed-in party by all its names, with its kind.
func (q *request) PartyLabel() string {
	if q.Party == nil {
		if q.Session != nil {
			return q.Session.Party
		}
		return ""
	}
	return report.AllNames(q.Party.Names) + " (" + q.L.K("party_kind", string(q.Party.Kind)) + ")"
}

func (s *Server) req(w http.ResponseWriter, r *http.Request) *request {
	lang, fromQuery := negotiate(r)
	if fromQuery {
		http.SetCookie(w, &http.Cookie{Name: "lang", Value: lang, Path: "/", MaxAge: 365 * 24 * 3600, HttpOnly: true, Secure: s.secure(r), SameSite: http.SameSiteLaxMode})
	}
	q := &request{Lang: lang, Path: r.URL.Path, L: s.cat.locale(lang, s.noteMissing), Langs: Languages}
	if sess := s.sessions.get(r); sess != nil {
		q.Session = sess
		if p, err := s.node.Store().Party(r.Context(), sess.Party); err == nil {
			q.Party = &p
		}
	}
	return q
}

func (s *Server) noteMissing(lang, key string) {
	s.missingMu.Lock()
	defer s.missingMu.Unlock()
	if !s.missing[lang+":"+key] {
		s.missing[lang+":"+key] = true
		s.lg.Warn("missing message", slog.String("lang", lang), slog.String("key", key))
	}
}

// page is what the layout renders.
type page struct {
	*request
	Title string
	Data  any
}

// render executes a page template into a buffer, then writes it.
func (s *Server) render(w http.ResponseWriter, r *http.Request, q *request, status int, name, title string, data any) error {
	var buf bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&buf, "layout", page{request: q, Title: title, Data: data}); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if q.Session != nil {
		w.Header().Set("Cache-Control", "private, no-store")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	w.Header().Add("Vary", "Accept-Encoding")
	body := buf.Bytes()
	if acceptsGzip(r) {
		body = gzipBytes(body)
		w.Header().Set("Content-Encoding", "gzip")
	}
	w.WriteHeader(status)
	_, err := w.Write(body)
	return err
}

// errorPage is the data of the error template.
type errorPage struct {
	Status  int
	Message string
	Detail  string
}

// fail answers an error as a page in the request's language; errors it
// does not know are logged and shown without detail.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	q := s.req(w, r)
	e := errorPage{Status: http.StatusInternalServerError, Message: q.L.T("error.internal")}
	var de *corridor.Error
	switch {
	case errors.Is(err, store.ErrNotFound), errors.As(err, &de) && de.Code == corridor.CodeNotFound:
		e.Status, e.Message = http.StatusNotFound, q.L.T("error.not_found_page")
	case errors.Is(err, errForbidden):
		e.Status, e.Message = http.StatusForbidden, q.L.T("error.forbidden_page")
	case errors.Is(err, errCrossOrigin):
		e.Status, e.Message = http.StatusForbidden, q.L.T("error.cross_origin")
	case errors.Is(err, errSignIn):
		e.Status, e.Message = http.StatusForbidden, q.L.T("error.sign_in_first")
	case errors.Is(err, errBadRequest):
		e.Status, e.Message = http.StatusBadRequest, q.L.T("error.bad_request")
	case errors.Is(err, errTooLarge):
		e.Status, e.Message = http.StatusRequestEntityTooLarge, q.L.T("error.too_large", corridor.MaxFileSize>>20)
	case errors.As(err, &de):
		e.Status, e.Message, e.Detail = http.StatusBadRequest, q.L.T("error."+string(de.Code)), de.Reason
	case errors.Is(err, app.ErrBusy), errors.Is(err, app.ErrClosed), errors.Is(err, app.ErrUnavailable):
		e.Status, e.Message = http.StatusServiceUnavailable, q.L.T("error.busy")
		w.Header().Set("Retry-After", "5")
	default:
		s.lg.Error("page failed", slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("err", err))
	}
	if rerr := s.render(w, r, q, e.Status, "error", q.L.T("error.title", e.Status), e); rerr != nil {
		s.lg.Error("render error page", slog.Any("err", rerr))
		http.Error(w, http.StatusText(e.Status), e.Status)
	}
}

func containsStr(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// now is the clock, replaceable in tests.
var now = time.Now
