package web_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// Behind a proxy that terminates TLS, the session cookie is Secure once
// the server knows its public https address, and a form posted from that
// origin is the site's own.
func TestPublicURLBehindAProxy(t *testing.T) {
	e := newEnvWith(t, false)
	signin := func(srv string, origin string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, srv+"/signin", strings.NewReader(url.Values{"token": {e.token("operator")}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if origin != "" {
			req.Header.Set("Origin", origin)
			req.Header.Set("Sec-Fetch-Site", "cross-site")
		}
		resp, err := e.client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	cookie := func(resp *http.Response) *http.Cookie {
		for _, c := range resp.Cookies() {
			if c.Name == "corridor_session" {
				return c
			}
		}
		return nil
	}
	if c := cookie(signin(e.srv.URL, "")); c == nil || c.Secure {
		t.Fatalf("without a public URL, over plain HTTP: cookie %+v, want one that is not Secure", c)
	}
	pub, _ := url.Parse("https://corridor.example")
	w, err := e.web.WithPublicURL(pub)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	w.Register(mux)
	behind := httptest.NewServer(mux)
	defer behind.Close()
	resp := signin(behind.URL, "https://corridor.example")
	if c := cookie(resp); c == nil || !c.Secure {
		t.Errorf("behind a proxy at https://corridor.example: status %d, cookie %+v, want a Secure session cookie", resp.StatusCode, c)
	}
	if resp := signin(behind.URL, "https://evil.example"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a sign-in posted from another origin: %d, want 403", resp.StatusCode)
	}
}
