package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"corridor"
	"corridor/api"
	"corridor/app"
	"corridor/client"
	"corridor/record"
	"corridor/scenario"
)

// env is a real node behind a real HTTP server on loopback.
type env struct {
	tb   testing.TB
	dir  string
	node *app.Node
	srv  *httptest.Server
	cl   *client.Client
	hc   *http.Client
	op   *record.Key            // the operator's key
	keys map[string]*record.Key // scenario party keys, by party id (with the operator)
	subs []*app.Submission      // the scenario as submitted, if loaded

	authMu   sync.Mutex
	keyParty map[string]string // key id -> party, for choosing a bearer token
	tokens   map[string]string // party -> bearer token, issued on demand

	closeOnce sync.Once
}

// newEnv creates a data folder, opens a node on it and serves the API.
// With load set it submits the reference scenario through the API.
func newEnv(tb testing.TB, load bool) *env {
	tb.Helper()
	ctx := context.Background()
	dir := filepath.Join(tb.TempDir(), "data")
	if _, err := app.Init(ctx, dir, "corridor.test/log"); err != nil {
		tb.Fatalf("init: %v", err)
	}
	node, err := app.OpenNode(ctx, dir, app.NodeOptions{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatalf("open node: %v", err)
	}
	op, err := record.ReadKeyFile(filepath.Join(dir, app.OperatorKey))
	if err != nil {
		tb.Fatalf("operator key: %v", err)
	}
	mux := http.NewServeMux()
	api.New(node.App, slog.New(slog.DiscardHandler)).Register(mux)
	srv := httptest.NewServer(mux)
	e := &env{tb: tb, dir: dir, node: node, srv: srv, op: op,
		keyParty: map[string]string{op.ID: node.Config.Operator}, tokens: map[string]string{}}
	e.hc = &http.Client{
		Timeout:   2 * time.Minute,
		Transport: &bearer{e: e, next: &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256}},
	}
	e.cl = client.New(srv.URL)
	e.cl.HTTP = e.hc
	tb.Cleanup(e.close)
	if load {
		e.loadScenario()
	}
	return e
}

// close stops the server, then the node (which publishes the tree head).
func (e *env) close() {
	e.closeOnce.Do(func() {
		e.srv.Close()
		e.hc.CloseIdleConnections()
		if err := e.node.Close(context.Background()); err != nil {
			e.tb.Errorf("close node: %v", err)
		}
	})
}

func (e *env) loadScenario() {
	e.tb.Helper()
	sc := scenario.Reference()
	keys, err := sc.Keys()
	if err != nil {
		e.tb.Fatal(err)
	}
	subs, err := sc.Build(e.node.Config.Operator, e.op, keys)
	if err != nil {
		e.tb.Fatal(err)
	}
	e.authMu.Lock()
	for party, k := range keys {
		e.keyParty[k.ID] = party
	}
	e.authMu.Unlock()
	// One batch per run of records signed by the same party, in order, so
	// that a server that ties a bearer token to a party takes them too.
	for i := 0; i < len(subs); {
		j := i + 1
		for j < len(subs) && subs[j].Record.KeyID == subs[i].Record.KeyID {
			j++
		}
		res, err := e.cl.Submit(context.Background(), subs[i:j])
		if err != nil {
			e.tb.Fatalf("load scenario (records %d to %d): %v", i, j-1, err)
		}
		if len(res) != j-i {
			e.tb.Fatalf("load scenario: %d results for %d records", len(res), j-i)
		}
		i = j
	}
	e.keys, e.subs = keys, subs
}

// bearer adds to every POST the bearer token of the party whose key signed
// the first record of the body (the operator's for a key it does not know),
// if the store can issue tokens. The API as first specified takes writes
// without a token; a later version requires a member's token whose party
// signed every record. Tokens are issued through the store, looked up by
// name so that these tests build against either version.
type bearer struct {
	e    *env
	next http.RoundTripper
}

func (b *bearer) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodPost || req.Body == nil || req.Header.Get("Authorization") != "" {
		return b.next.RoundTrip(req)
	}
	body, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, err
	}
	r := req.Clone(req.Context())
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	if tok := b.e.token(firstKeyID(body)); tok != "" {
		r.Header.Set("Authorization", "Bearer "+tok)
	}
	return b.next.RoundTrip(r)
}

// firstKeyID finds the key id of the first record of a POST body, or "".
func firstKeyID(body []byte) string {
	var doc struct {
		Records []json.RawMessage `json:"records"`
		Record  json.RawMessage   `json:"record"`
		Key     string            `json:"key"`
	}
	if json.Unmarshal(body, &doc) != nil {
		return ""
	}
	if len(doc.Records) > 0 {
		return firstKeyID(doc.Records[0])
	}
	if len(doc.Record) > 0 {
		return firstKeyID(doc.Record)
	}
	return doc.Key
}

// token returns a bearer token for the party of keyID (the operator's for
// an unknown key), or "" if the store issues no tokens.
func (e *env) token(keyID string) string {
	e.authMu.Lock()
	defer e.authMu.Unlock()
	party, ok := e.keyParty[keyID]
	if !ok {
		party = e.node.Config.Operator
	}
	if tok, ok := e.tokens[party]; ok {
		return tok
	}
	tok, _, err := e.node.Store().IssueToken(context.Background(), party, "api test")
	if err != nil {
		e.tb.Errorf("issue a token for %s: %v", party, err)
		return ""
	}
	e.tokens[party] = tok
	return tok
}

// response is what a client sees of an answer.
type response struct {
	Status int
	Type   string // Content-Type
	Body   []byte
}

func (r response) problem(tb testing.TB) api.Problem {
	tb.Helper()
	var p api.Problem
	if err := json.Unmarshal(r.Body, &p); err != nil {
		tb.Fatalf("answer is not a problem document: %v\n%s", err, r.Body)
	}
	return p
}

func (e *env) do(method, path string, body []byte) response {
	e.tb.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.tb.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.hc.Do(req)
	if err != nil {
		e.tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		e.tb.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return response{Status: resp.StatusCode, Type: resp.Header.Get("Content-Type"), Body: data}
}

// get reads path into out, failing unless the answer is 200 JSON.
func (e *env) get(path string, out any) {
	e.tb.Helper()
	r := e.do(http.MethodGet, path, nil)
	if r.Status != http.StatusOK {
		e.tb.Fatalf("GET %s: %d %s", path, r.Status, r.Body)
	}
	if r.Type != "application/json" {
		e.tb.Fatalf("GET %s: Content-Type %q", path, r.Type)
	}
	if err := json.Unmarshal(r.Body, out); err != nil {
		e.tb.Fatalf("GET %s: %v\n%s", path, err, r.Body)
	}
}

func (e *env) post(body any) response {
	e.tb.Helper()
	b, ok := body.([]byte)
	if !ok {
		var err error
		if b, err = json.Marshal(body); err != nil {
			e.tb.Fatal(err)
		}
	}
	return e.do(http.MethodPost, "/api/v1/records", b)
}

// healthRecords is the log size as GET /healthz reports it.
func (e *env) healthRecords() uint64 {
	e.tb.Helper()
	var h struct {
		Status    string `json:"status"`
		Records   uint64 `json:"records"`
		Projected uint64 `json:"projected"`
	}
	e.get("/healthz", &h)
	if h.Status != "ok" {
		e.tb.Fatalf("healthz status %q", h.Status)
	}
	return h.Records
}

// logSize is the size of the log itself.
func (e *env) logSize() uint64 {
	e.tb.Helper()
	n, err := e.node.Log.Size(context.Background())
	if err != nil {
		e.tb.Fatal(err)
	}
	return n
}

type results struct {
	Results []app.Result `json:"results"`
}

func sign(tb testing.TB, k *record.Key, id, typ string, v int, payload any) *record.Record {
	tb.Helper()
	r, err := record.Sign(k, id, typ, v, payload)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

func place(id string, lat float64) *corridor.Place {
	return &corridor.Place{
		ID: id, Kind: "village", Lat: lat, Lon: 46.5,
		Names: []corridor.Name{{Name: "Test place " + id, Lang: "en"}},
	}
}

// placeRecord is a place.register signed by k.
func placeRecord(tb testing.TB, k *record.Key, id string, lat float64) *record.Record {
	return sign(tb, k, "rec-"+id, corridor.TypePlace, 1, place(id, lat))
}

func statementRecord(tb testing.TB, k *record.Key, id string) *record.Record {
	return sign(tb, k, "rec-"+id, corridor.TypeStatement, 1, &corridor.Statement{
		ID: id, Kind: "statement", Speaker: "Test speaker", SaidOn: "2023-08-30",
		Quote: "Test quote " + id, Lang: "en", AboutRoutes: []string{"lachin-corridor"},
	})
}

// placeBodies pre-signs n place.register records by k, each as its own POST body.
func placeBodies(tb testing.TB, k *record.Key, prefix string, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		b, err := json.Marshal(placeRecord(tb, k, fmt.Sprintf("%s-%d", prefix, i), 39.5))
		if err != nil {
			tb.Fatal(err)
		}
		out[i] = b
	}
	return out
}
