package app_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"corridor"
	"corridor/app"
	"corridor/internal/testdb"
	"corridor/record"
)

// TestReadServer opens a read server beside a writer on one PostgreSQL
// projection: it holds no writer state, sees what the writer projected,
// and refuses records with a ReadOnlyError.
func TestReadServer(t *testing.T) {
	dsn := testdb.Postgres(t)
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	if _, err := app.InitWith(ctx, dir, "corridor.test/ro", app.NodeOptions{DB: dsn}); err != nil {
		t.Fatal(err)
	}
	w, err := app.OpenNode(ctx, dir, app.NodeOptions{DB: dsn, NoSnapshot: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(ctx)
	start := time.Now()
	r, err := app.OpenReadOnly(ctx, dir, app.ReadOnlyOptions{DB: dsn})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(ctx)
	t.Logf("read server opened in %v", time.Since(start))
	if !r.ReadOnly() || w.ReadOnly() {
		t.Fatal("ReadOnly is wrong")
	}
	op, err := record.ReadKeyFile(filepath.Join(dir, app.OperatorKey))
	if err != nil {
		t.Fatal(err)
	}
	rec, err := record.Sign(op, "p1", corridor.TypePlace, 1, &corridor.Place{ID: "p1", Kind: "village", Names: []corridor.Name{{Name: "One", Lang: "en"}}, Lat: 40, Lon: 46})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Submit(ctx, []*app.Submission{{Record: rec}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(150 * time.Millisecond) // the read server reads the size at most ten times a second
	if r.Size() != 2 {
		t.Errorf("read server counts %d records, the writer projected 2", r.Size())
	}
	if _, err := r.Store().Place(ctx, "p1"); err != nil {
		t.Errorf("read server does not see the writer's place: %v", err)
	}
	var roe *app.ReadOnlyError
	if _, err := r.Submit(ctx, []*app.Submission{{Record: rec}}); !errors.As(err, &roe) {
		t.Errorf("Submit on a read server: %v, want a ReadOnlyError", err)
	}
	if _, _, _, err := r.Log.TreeHead(ctx); err != nil {
		t.Errorf("read server's log: %v", err)
	}
	if _, err := app.OpenReadOnly(ctx, dir, app.ReadOnlyOptions{DB: filepath.Join(dir, "projection.db")}); err == nil {
		t.Error("a read server opened on SQLite")
	}
}
