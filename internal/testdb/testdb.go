// Package testdb gives tests a fresh projection database on every backend
// available here: SQLite always, PostgreSQL when CORRIDOR_TEST_POSTGRES
// names a server (a postgres:// URL to an admin database; .ci/run starts
// one on loopback).
package testdb

import (
	"context"
	"corridor/app"
	"corridor/internal/skipped"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
)

// Backend is a database a test can open a projection in.
type Backend struct {
	Name string
	// DSN returns the data source name of a fresh, empty database.
	DSN func(t *testing.T) string
}

// Backends lists SQLite and, if configured, PostgreSQL. Where PostgreSQL
// is not configured, the test says so once in its log.
func Backends(t *testing.T) []Backend {
	out := []Backend{{Name: "sqlite", DSN: func(t *testing.T) string {
		return filepath.Join(t.TempDir(), "projection.db")
	}}}
	admin := os.Getenv("CORRIDOR_TEST_POSTGRES")
	if admin == "" {
		skipped.Say(t, "PostgreSQL backend", "set CORRIDOR_TEST_POSTGRES=postgres://user@host:port/db to run every projection test on PostgreSQL too (.ci/run does); they ran on SQLite only")
		return out
	}
	return append(out, Backend{Name: "postgres", DSN: func(t *testing.T) string { return FreshPostgres(t, admin) }})
}

// FreshPostgres creates an empty database on the server admin names,
// dropped when the test ends, and returns its URL.
func FreshPostgres(t *testing.T, admin string) string {
	t.Helper()
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var b [6]byte
	rand.Read(b[:])
	name := "corridor_test_" + hex.EncodeToString(b[:])
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	t.Cleanup(func() {
		db, err := sql.Open("pgx", admin)
		if err != nil {
			return
		}
		defer db.Close()
		db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
	})
	return u.String()
}

// NewNode makes a data folder (in the test's temporary directory) whose
// projection lives in dsn, and opens a node on it; the caller closes it.
// Init makes an SQLite projection; the node is pointed at dsn instead and
// catches up from the log.
func NewNode(t testing.TB, dsn string) *app.Node {
	t.Helper()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	if _, err := app.Init(ctx, dir, "corridor.test/log"); err != nil {
		t.Fatal(err)
	}
	n, err := app.OpenNode(ctx, dir, app.NodeOptions{DB: dsn})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Postgres returns a fresh PostgreSQL database, or skips the test (saying
// so once) when CORRIDOR_TEST_POSTGRES is not set.
func Postgres(t *testing.T) string {
	t.Helper()
	admin := os.Getenv("CORRIDOR_TEST_POSTGRES")
	if admin == "" {
		skipped.Skip(t, "PostgreSQL-only tests (writer lease, read servers)", "set CORRIDOR_TEST_POSTGRES=postgres://user@host:port/db (.ci/run does)")
	}
	return FreshPostgres(t, admin)
}
