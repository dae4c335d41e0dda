package audit_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/transparency-dev/tessera/client"
	"golang.org/x/mod/sumdb/note"

	"corridor"
	"corridor/api"
	"corridor/app"
	"corridor/audit"
	"corridor/ledger"
	"corridor/record"
	"corridor/scenario"
	"corridor/witness"
)

// testLog is a real data folder written by a real node: the reference
// scenario, then generated statements.
type testLog struct {
	dir  string
	cfg  *app.Config
	op   *record.Key
	keys map[string]*record.Key // scenario party keys by party id
	size uint64
}

// statement signs a generated statement by the monitor.
func statement(key *record.Key, n int) (*record.Record, error) {
	id := fmt.Sprintf("gen-%d", n)
	return record.Sign(key, "statement-"+id, corridor.TypeStatement, 1, map[string]any{
		"id": "st-" + id, "kind": "statement", "speaker": "Generated speaker", "said_on": "2023-08-30",
		"medium": "generated for a test", "quote": "The road is open.", "lang": "en",
		"about_routes": []any{"aghdam-khankendi"},
	})
}

// openLog creates a data folder, loads the scenario and extra statements
// into it, and leaves the node open (closed at the end of the test).
func openLog(tb testing.TB, extra int) (*testLog, *app.Node) {
	tb.Helper()
	ctx := context.Background()
	dir := filepath.Join(tb.TempDir(), "data")
	cfg, err := app.Init(ctx, dir, "corridor.test/audit")
	if err != nil {
		tb.Fatal(err)
	}
	node, err := app.OpenNode(ctx, dir, app.NodeOptions{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { node.Close(context.Background()) })
	op, err := record.ReadKeyFile(filepath.Join(dir, app.OperatorKey))
	if err != nil {
		tb.Fatal(err)
	}
	sc := scenario.Reference()
	keys, err := sc.Keys()
	if err != nil {
		tb.Fatal(err)
	}
	subs, err := sc.Build(cfg.Operator, op, keys)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := node.Submit(ctx, subs); err != nil {
		tb.Fatalf("scenario: %v", err)
	}
	for n := 0; n < extra; {
		var batch []*app.Submission
		for ; n < extra && len(batch) < 1000; n++ {
			r, err := statement(keys["monitor"], n)
			if err != nil {
				tb.Fatal(err)
			}
			batch = append(batch, &app.Submission{Record: r})
		}
		if _, err := node.Submit(ctx, batch); err != nil {
			tb.Fatalf("statements: %v", err)
		}
	}
	size := node.Size()
	if err := node.Log.WaitPublished(ctx, size-1); err != nil {
		tb.Fatal(err)
	}
	return &testLog{dir: dir, cfg: cfg, op: op, keys: keys, size: size}, node
}

// newLog is openLog with the node closed: a folder to audit as a copy.
func newLog(tb testing.TB, extra int) *testLog {
	tb.Helper()
	l, node := openLog(tb, extra)
	if err := node.Close(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return l
}

// serve serves the node's API and log on loopback.
func serve(tb testing.TB, l *testLog, node *app.Node) *httptest.Server {
	tb.Helper()
	mux := http.NewServeMux()
	api.New(node.App, slog.New(slog.DiscardHandler)).WithLog(node.Log, api.LogOptions{VerifierKey: l.cfg.Verifier}).Register(mux)
	srv := httptest.NewServer(mux)
	tb.Cleanup(srv.Close)
	return srv
}

// entries reads the log's entries.
func (l *testLog) entries(tb testing.TB) [][]byte {
	tb.Helper()
	var out [][]byte
	err := ledger.OpenReader(filepath.Join(l.dir, app.LogDir)).Entries(context.Background(), 0, l.size, func(_ uint64, data []byte) error {
		out = append(out, data)
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// forge writes entries into a new log under the same log key, as a
// dishonest operator could: its tree is sound, whatever its records are.
// It returns the log folder.
func (l *testLog) forge(tb testing.TB, entries [][]byte) string {
	tb.Helper()
	ctx := context.Background()
	skey, err := os.ReadFile(filepath.Join(l.dir, app.LogKeyFile))
	if err != nil {
		tb.Fatal(err)
	}
	signer, err := note.NewSigner(strings.TrimSpace(string(skey)))
	if err != nil {
		tb.Fatal(err)
	}
	dir := tb.TempDir()
	lg, err := ledger.Open(ctx, dir, signer, ledger.Options{CheckpointInterval: 100 * time.Millisecond})
	if err != nil {
		tb.Fatal(err)
	}
	for i := 0; i < len(entries); i += 1000 {
		if _, err := lg.Append(ctx, entries[i:min(i+1000, len(entries))]); err != nil {
			tb.Fatal(err)
		}
	}
	if err := lg.Close(ctx); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// testWindow is the audit's window in tests: one bundle, so that a test
// log of a few hundred entries spans several windows and keys, problems
// and the tree are carried from one to the next.
const testWindow = 256

// options are the audit options for the log folder logDir, checked
// against l's log key.
func (l *testLog) options(tb testing.TB, logDir string) audit.Options {
	tb.Helper()
	p, err := witness.ParsePolicy([]byte("quorum none\n"))
	if err != nil {
		tb.Fatal(err)
	}
	v, err := note.NewVerifier(l.cfg.Verifier)
	if err != nil {
		tb.Fatal(err)
	}
	p.Log, p.LogKey = v, l.cfg.Verifier
	o := audit.Options{Source: client.FileFetcher{Root: logDir}, Policy: p, TempDir: tb.TempDir()}
	return audit.WithWindow(o, testWindow)
}

// run audits and fails the test if the audit could not be carried out.
func run(tb testing.TB, o audit.Options) *audit.Report {
	tb.Helper()
	rep, err := audit.Run(context.Background(), o)
	if err != nil {
		tb.Fatalf("audit: %v", err)
	}
	return rep
}

// entry is a record's log entry.
func entry(tb testing.TB, r *record.Record) []byte {
	tb.Helper()
	e, err := r.Entry()
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

// indexed lists the log indexes the problems name, in order.
func indexed(rep *audit.Report) []int64 {
	var out []int64
	for _, p := range rep.Problems {
		if p.Index >= 0 {
			out = append(out, p.Index)
		}
	}
	return out
}

func mustURL(tb testing.TB, s string) *url.URL {
	tb.Helper()
	u, err := url.Parse(s)
	if err != nil {
		tb.Fatal(err)
	}
	return u
}

// first is the start of a list of problems, for a test's message.
func first(ps []audit.Problem) []audit.Problem { return ps[:min(len(ps), 5)] }
