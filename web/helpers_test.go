package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"corridor/api"
	"corridor/app"
	"corridor/scenario"
	"corridor/store"
	"corridor/web"
)

// env is a real node with the reference scenario, the API and the
// dashboard on one mux, served on loopback.
type env struct {
	t    testing.TB
	dir  string
	node *app.Node
	web  *web.Server
	srv  *httptest.Server
	logs *logBuffer
}

// logBuffer keeps what the server logs, to find missing messages.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var (
	sharedOnce sync.Once
	sharedEnv  *env
)

func newEnv(t testing.TB) *env { t.Helper(); return newEnvWith(t, true) }

// newEnvWith is newEnv, with the scenario loaded or not.
func newEnvWith(t testing.TB, load bool) *env {
	t.Helper()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	if _, err := app.Init(ctx, dir, "corridor.test/web"); err != nil {
		t.Fatalf("init: %v", err)
	}
	logs := &logBuffer{}
	lg := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	node, err := app.OpenNode(ctx, dir, app.NodeOptions{Logger: lg})
	if err != nil {
		t.Fatalf("open node: %v", err)
	}
	if !load {
		// an empty log: only the operator
	} else if err := loadScenario(ctx, node, dir); err != nil {
		node.Close(ctx)
		t.Fatalf("load scenario: %v", err)
	}
	w, err := web.New(node, lg)
	if err != nil {
		node.Close(ctx)
		t.Fatalf("web.New: %v", err)
	}
	mux := http.NewServeMux()
	api.New(node.App, lg).WithLog(node.Log, api.LogOptions{VerifierKey: node.Config.Verifier}).Register(mux)
	w.Register(mux)
	srv := httptest.NewServer(mux)
	e := &env{t: t, dir: dir, node: node, web: w, srv: srv, logs: logs}
	t.Cleanup(func() {
		srv.Close()
		node.Close(context.Background())
	})
	return e
}

// loadScenario submits the reference scenario the way the demo does:
// each party with its own key, and a delegated key for the web forms
// registered beside it and left in DIR/delegated.
func loadScenario(ctx context.Context, node *app.Node, dir string) error {
	signed, err := scenario.Reference().SignFor(dir, node.Config.Operator)
	if err != nil {
		return err
	}
	return signed.SubmitTo(ctx, node.App)
}

// token issues a sign-in token for a member of party.
func (e *env) token(party string) string {
	e.t.Helper()
	tok, _, err := e.node.Store().IssueToken(context.Background(), party, "web test")
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// client is a browser-like HTTP client with a cookie jar that does not
// follow redirects.
func (e *env) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (e *env) get(c *http.Client, path string) (int, string) {
	e.t.Helper()
	resp, err := c.Get(e.srv.URL + path)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// post sends a form as a same-origin browser would.
func (e *env) post(c *http.Client, path string, form url.Values) (*http.Response, string) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", e.srv.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// signIn signs c in as a member of party.
func (e *env) signIn(c *http.Client, party string) {
	e.t.Helper()
	resp, body := e.post(c, "/signin", url.Values{"token": {e.token(party)}})
	if resp.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("sign in as %s: %d\n%s", party, resp.StatusCode, body)
	}
}

// convoy reads a convoy from the projection, as the pages do.
func (e *env) convoy(id string) store.ConvoyRow {
	e.t.Helper()
	c, err := e.node.Store().Convoy(context.Background(), id)
	if err != nil {
		e.t.Fatalf("convoy %s: %v", id, err)
	}
	return c
}
