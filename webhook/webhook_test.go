package webhook

import (
	"strings"
	"testing"
)

// TestParse: a subscriptions file with a mistake is refused, naming the
// field; a good one is read whole.
func TestParse(t *testing.T) {
	good := `{"webhooks": [{"id": "newsroom", "url": "https://news.example/hook", "secret": "0123456789abcdef", "events": ["hold", "refusal"]}]}`
	hooks, err := Parse([]byte(good))
	if err != nil || len(hooks) != 1 || hooks[0].ID != "newsroom" || len(hooks[0].Events) != 2 {
		t.Fatalf("a good file: %+v %v", hooks, err)
	}
	for _, tc := range []struct{ body, field string }{
		{`{"webhooks": [{"id": "", "url": "https://x.example", "secret": "0123456789abcdef", "events": ["hold"]}]}`, "webhooks[0].id"},
		{`{"webhooks": [{"id": "a", "url": "mailto:x@example", "secret": "0123456789abcdef", "events": ["hold"]}]}`, "webhooks[0].url"},
		{`{"webhooks": [{"id": "a", "url": "https://x.example", "secret": "short", "events": ["hold"]}]}`, "webhooks[0].secret"},
		{`{"webhooks": [{"id": "a", "url": "https://x.example", "secret": "0123456789abcdef", "events": []}]}`, "webhooks[0].events"},
		{`{"webhooks": [{"id": "a", "url": "https://x.example", "secret": "0123456789abcdef", "events": ["rain"]}]}`, "webhooks[0].events[0]"},
		{`{"webhooks": [{"id": "a", "url": "https://x.example", "secret": "0123456789abcdef", "events": ["hold"]}, {"id": "a", "url": "https://y.example", "secret": "0123456789abcdef", "events": ["hold"]}]}`, "webhooks[1].id"},
		{`{"webhooks": [{"id": "a", "url": "https://x.example", "secret": "0123456789abcdef", "events": ["hold"], "extra": 1}]}`, "extra"},
	} {
		if _, err := Parse([]byte(tc.body)); err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: %v; want an error naming %s", tc.body, err, tc.field)
		}
	}
}

// TestSignVerify: the receiver's check takes the signature of the body
// under the secret, and nothing else.
func TestSignVerify(t *testing.T) {
	body := []byte(`{"id":"refusal/x","event":"refusal"}`)
	sig := Sign("0123456789abcdef", body)
	if !strings.HasPrefix(sig, "sha256=") || len(sig) != 7+64 || !Verify("0123456789abcdef", body, sig) {
		t.Fatalf("signature %q does not verify", sig)
	}
	for _, bad := range []struct {
		secret, sig string
		body        []byte
	}{
		{"another-secret-000", sig, body},
		{"0123456789abcdef", sig, []byte(`{"id":"refusal/y","event":"refusal"}`)},
		{"0123456789abcdef", "sha256=" + strings.Repeat("0", 64), body},
		{"0123456789abcdef", "", body},
	} {
		if Verify(bad.secret, bad.body, bad.sig) {
			t.Errorf("verified a forged delivery: secret %q, body %s, signature %q", bad.secret, bad.body, bad.sig)
		}
	}
}

// FuzzParse feeds Parse what an operator may write: refused, or
// subscriptions that all have an id, an http(s) URL, a secret and events.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"webhooks": [{"id": "newsroom", "url": "https://news.example/hook", "secret": "0123456789abcdef", "events": ["hold"]}]}`))
	f.Add([]byte(`{"webhooks": []}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		hooks, err := Parse(data)
		if err != nil {
			return
		}
		for _, h := range hooks {
			if h.ID == "" || len(h.Secret) < MinSecret || len(h.Events) == 0 || !(strings.HasPrefix(strings.ToLower(h.URL), "http://") || strings.HasPrefix(strings.ToLower(h.URL), "https://")) {
				t.Fatalf("accepted %+v", h)
			}
		}
	})
}
