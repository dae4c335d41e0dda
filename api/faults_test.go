package api_test

import (
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"corridor/api"
	"corridor/app"
	"corridor/internal/testdb"
	"corridor/record"
)

// syncFailingLog is the node's real log with a sync that fails, as a
// disk that reports an I/O error does: before the entries are written
// (nothing lands) or after (they land, but the writer hears an error).
type syncFailingLog struct {
	app.Appender
	before, after atomic.Bool
}

func (l *syncFailingLog) Append(ctx context.Context, entries [][]byte) ([]uint64, error) {
	err := &fs.PathError{Op: "fsync", Path: "/data/log/tile/entries/000.p/1", Err: syscall.EIO}
	if l.before.Load() {
		return nil, err
	}
	idx, aerr := l.Appender.Append(ctx, entries)
	if aerr == nil && l.after.Load() {
		return nil, err
	}
	return idx, aerr
}

// TestSyncErrorAcknowledgesNothing: when the log's sync fails, the client
// hears 503 "unavailable" with a Retry-After and no path of the server's;
// a record whose entry did land all the same is answered, on the retry
// the 503 asks for, at the index it has; and the folder verifies after.
func TestSyncErrorAcknowledgesNothing(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	fl := &syncFailingLog{Appender: e.node.Log}
	a, err := app.New(ctx, fl, e.node.Store(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	api.New(a, slog.New(slog.DiscardHandler)).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	token := e.tokenFor("operator")
	post := func(body []byte) (int, http.Header, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/records", strings.NewReader(string(body)))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var v map[string]any
		json.Unmarshal(b, &v)
		return resp.StatusCode, resp.Header, v
	}
	unavailable := func(what string, status int, h http.Header, body map[string]any) {
		t.Helper()
		if status != http.StatusServiceUnavailable || h.Get("Retry-After") != "30" || h.Get("Content-Type") != "application/problem+json" || body["code"] != "unavailable" {
			t.Fatalf("%s: %d Retry-After %q %s %v; want 503 unavailable, Retry-After: 30, problem+json", what, status, h.Get("Retry-After"), h.Get("Content-Type"), body)
		}
		if d, _ := body["detail"].(string); strings.Contains(d, "/data") || strings.Contains(d, "fsync") {
			t.Errorf("%s: the answer shows the server's cause: %q", what, d)
		}
	}

	base := e.logSize()
	first := mustJSON(t, placeRecord(t, e.op, "sync-before", 39.7))
	fl.before.Store(true)
	status, h, body := post(first)
	unavailable("sync fails before the write", status, h, body)
	if e.logSize() != base || a.Size() != base {
		t.Fatalf("after a failed sync the log holds %d and the state %d records, want %d", e.logSize(), a.Size(), base)
	}
	if r, err := http.Get(srv.URL + "/api/v1/records/rec-sync-before"); err != nil || r.StatusCode != http.StatusNotFound {
		t.Fatalf("a record that was not stored is served: %v %v", r.Status, err)
	}
	fl.before.Store(false)

	second := mustJSON(t, placeRecord(t, e.op, "sync-after", 39.8))
	fl.after.Store(true)
	status, h, body = post(second)
	unavailable("sync fails after the write", status, h, body)
	fl.after.Store(false)
	if e.logSize() != base+1 || a.Size() != base+1 {
		t.Fatalf("the entry that landed: log %d, state %d, want %d", e.logSize(), a.Size(), base+1)
	}
	// The retry the 503 asks for finds the record where it landed.
	status, _, body = post(second)
	results, _ := body["results"].([]any)
	if status != http.StatusOK || len(results) != 1 {
		t.Fatalf("retry of a record that landed: %d %v; want 200 naming it a duplicate", status, body)
	}
	if r := results[0].(map[string]any); r["index"] != float64(base) || r["duplicate"] != true {
		t.Fatalf("retry of a record that landed: %v; want duplicate at index %d", r, base)
	}
	// And the one that did not land goes in now.
	if status, _, body = post(first); status != http.StatusCreated {
		t.Fatalf("retry of a record that was not stored: %d %v", status, body)
	}
	srv.Close()
	a.Close()
	e.close()
	if _, err := app.Verify(ctx, e.dir, "", io.Discard); err != nil {
		t.Fatalf("verify after failed syncs: %v", err)
	}
}

// TestProjectionFailsMidTransaction, on every backend: when the projection
// database fails in the middle of a group's transaction (a trigger raises
// an error after the group's records rows are written), the records are
// acknowledged all the same (they are in the log), none of the failed
// transaction is visible, and the next group brings the projection level
// with the log, equal to a replay of it.
func TestProjectionFailsMidTransaction(t *testing.T) {
	for _, b := range testdb.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			dsn := b.DSN(t)
			node := testdb.NewNode(t, dsn)
			defer node.Close(ctx)
			op, err := record.ReadKeyFile(filepath.Join(node.Dir, app.OperatorKey))
			if err != nil {
				t.Fatal(err)
			}
			mux := http.NewServeMux()
			api.New(node.App, slog.New(slog.DiscardHandler)).Register(mux)
			srv := httptest.NewServer(mux)
			defer srv.Close()
			token, _, err := node.Store().IssueToken(ctx, "operator", "test")
			if err != nil {
				t.Fatal(err)
			}
			post := func(id string, lat float64) int {
				t.Helper()
				req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/records", strings.NewReader(string(mustJSON(t, placeRecord(t, op, id, lat)))))
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp.StatusCode
			}
			served := func(id string) bool {
				r, err := http.Get(srv.URL + "/api/v1/records/rec-" + id)
				if err != nil {
					t.Fatal(err)
				}
				r.Body.Close()
				return r.StatusCode == http.StatusOK
			}
			db := node.Store().DB()
			fail, allow := []string{`CREATE TRIGGER fail_projection BEFORE INSERT ON places BEGIN SELECT RAISE(ABORT, 'injected projection failure'); END`}, []string{`DROP TRIGGER fail_projection`}
			if b.Name == "postgres" {
				fail = []string{`CREATE FUNCTION fail_projection() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected projection failure'; END $$`,
					`CREATE TRIGGER fail_projection BEFORE INSERT ON places FOR EACH ROW EXECUTE FUNCTION fail_projection()`}
				allow = []string{`DROP TRIGGER fail_projection ON places`, `DROP FUNCTION fail_projection()`}
			}
			for _, q := range fail {
				if _, err := db.Exec(q); err != nil {
					t.Fatal(err)
				}
			}
			if status := post("mid-tx", 39.71); status != http.StatusCreated {
				t.Fatalf("a record in the log whose projection failed: %d, want 201 (it is durable)", status)
			}
			if served("mid-tx") {
				t.Fatal("part of a failed projection transaction is visible")
			}
			for _, q := range allow {
				if _, err := db.Exec(q); err != nil {
					t.Fatal(err)
				}
			}
			if status := post("after-mid-tx", 39.72); status != http.StatusCreated {
				t.Fatalf("the next record: %d", status)
			}
			if !served("mid-tx") || !served("after-mid-tx") {
				t.Fatal("the next group did not bring the projection level with the log")
			}
			srv.Close()
			if err := node.Close(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := app.Verify(ctx, node.Dir, dsn, io.Discard); err != nil {
				t.Fatalf("verify: %v", err)
			}
		})
	}
}
