// Package store is corridor's SQL projection of the log: tables derived
// from the records, kept in SQLite by default or PostgreSQL for scale.
// Every projected row carries the log index it came from, and the
// projection records how far into the log it has applied.
package store

import (
	"context"
	"corridor"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	_ "modernc.org/sqlite"             // registers "sqlite"
)

//go:embed migrations/*.sql
var migrations embed.FS

// ErrNotFound is returned when a requested row does not exist.
var ErrNotFound = errors.New("not found")

// Store is the projection database.
type Store struct {
	db      *sql.DB
	dialect dialect

	mu    sync.Mutex
	stmts map[string]*sql.Stmt // prepared once, reused by every transaction
}

// prepared returns the statement for q, prepared on first use and kept.
func (s *Store) prepared(ctx context.Context, q string) (*sql.Stmt, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.stmts[q]; ok {
		return st, nil
	}
	st, err := s.db.PrepareContext(ctx, s.dialect.rebind(q))
	if err != nil {
		return nil, err
	}
	if s.stmts == nil {
		s.stmts = map[string]*sql.Stmt{}
	}
	s.stmts[q] = st
	return st, nil
}

// dialect holds every difference between SQLite and PostgreSQL that the
// projection needs: nothing else in this package knows which one it runs on.
type dialect struct {
	name string
	// numbered placeholders ($1) instead of ?
	dollar bool
}

// rebind turns the ? placeholders of a query into the dialect's.
func (d dialect) rebind(q string) string {
	if !d.dollar {
		return q
	}
	var b strings.Builder
	n := 0
	for _, c := range q {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// OpenSQLite opens (creating if needed) the projection in an SQLite file.
func OpenSQLite(ctx context.Context, file string) (*Store, error) {
	dsn := "file:" + file + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(FULL)&_pragma=foreign_keys(on)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	return open(ctx, db, dialect{name: "sqlite"})
}

// IsPostgres reports whether dsn names a PostgreSQL database (a
// postgres:// URL) rather than an SQLite file.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// OpenPostgres opens the projection in a PostgreSQL database (a pgx
// connection string such as postgres://user@host/db).
func OpenPostgres(ctx context.Context, dsn string) (*Store, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, err
	}
	return open(ctx, db, dialect{name: "postgres", dollar: true})
}

// Open opens the projection named by dsn: a postgres:// URL or an SQLite file path.
func Open(ctx context.Context, dsn string) (*Store, error) {
	if IsPostgres(dsn) {
		return OpenPostgres(ctx, dsn)
	}
	return OpenSQLite(ctx, dsn)
}

func open(ctx context.Context, db *sql.DB, d dialect) (*Store, error) {
	s := &Store{db: db, dialect: d}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s projection: %w", d.name, err)
	}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error {
	s.mu.Lock()
	for _, st := range s.stmts {
		st.Close()
	}
	s.stmts = nil
	s.mu.Unlock()
	return s.db.Close()
}

// Dialect names the SQL dialect in use.
func (s *Store) Dialect() string { return s.dialect.name }

func (s *Store) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return s.db.ExecContext(ctx, s.dialect.rebind(q), args...)
}

func (s *Store) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	st, err := s.prepared(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

func (s *Store) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	st, err := s.prepared(ctx, q)
	if err != nil {
		return s.db.QueryRowContext(ctx, s.dialect.rebind(q), args...) // reports the same error on Scan
	}
	return st.QueryRowContext(ctx, args...)
}

// migrate applies each embedded migration not yet applied, one
// transaction per step, and records it in schema_migrations.
func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	applied := map[int]bool{}
	rows, err := s.db.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return fmt.Errorf("read schema versions: %w", err)
	}
	current := 0
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return err
		}
		applied[v] = true
		current = max(current, v)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	files, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(files)
	for _, f := range files {
		v, err := strconv.Atoi(strings.SplitN(path.Base(f), "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: name must start with its number", f)
		}
		if applied[v] {
			continue
		}
		body, err := migrations.ReadFile(f)
		if err != nil {
			return err
		}
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		for _, stmt := range splitSQL(string(body)) {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				tx.Rollback()
				return fmt.Errorf("migration %s: %w", f, err)
			}
		}
		if fill := backfills[v]; fill != nil {
			if err := fill(ctx, txn{tx: tx, d: s.dialect, s: s, c: &txCache{}, direct: true}); err != nil {
				tx.Rollback()
				return fmt.Errorf("migration %s: backfill: %w", f, err)
			}
		}
		if _, err := tx.ExecContext(ctx, s.dialect.rebind(`INSERT INTO schema_migrations (version) VALUES (?)`), v); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migration %s: %w", f, err)
		}
	}
	if len(files) > 0 {
		latest, _ := strconv.Atoi(strings.SplitN(path.Base(files[len(files)-1]), "_", 2)[0])
		if current > latest {
			return fmt.Errorf("database schema version %d is newer than this binary knows (%d)", current, latest)
		}
	}
	return nil
}

// backfills fill, in Go, what a migration's SQL cannot portably compute
// from the rows already there, in the same transaction.
var backfills = map[int]func(ctx context.Context, t txn) error{
	10: func(ctx context.Context, t txn) error {
		type row struct {
			convoy, place, day, outcome string
			c                           corridor.Convoy
		}
		rows, err := t.tx.QueryContext(ctx, `SELECT o.convoy, o.destination, o.day, o.outcome, c.doc FROM convoy_outcomes o JOIN convoys c ON c.id = o.convoy ORDER BY o.convoy`)
		if err != nil {
			return err
		}
		var all []row
		for rows.Next() {
			var r row
			var doc string
			if err := rows.Scan(&r.convoy, &r.place, &r.day, &r.outcome, &doc); err != nil {
				rows.Close()
				return err
			}
			if err := decodeDoc(doc, &r.c); err != nil {
				rows.Close()
				return err
			}
			all = append(all, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, r := range all {
			if err := t.exec(ctx, `UPDATE convoy_outcomes SET vehicles = ? WHERE convoy = ?`, len(r.c.Vehicles), r.convoy); err != nil {
				return err
			}
			if r.outcome != corridor.OutcomeDelivered {
				continue
			}
			if err := addVehicles(ctx, t, r.place, r.day, int64(len(r.c.Vehicles))); err != nil {
				return err
			}
		}
		return nil
	},
}

// splitSQL splits a migration into statements at semicolons that end a
// line, dropping comment lines.
func splitSQL(body string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(body, "\n") {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(t, ";") {
			out = append(out, cur.String())
			cur.Reset()
		}
	}
	if strings.TrimSpace(cur.String()) != "" {
		out = append(out, cur.String())
	}
	return out
}

// projectedTables lists the tables derived from the log, in the order a
// rebuild clears them.
var projectedTables = []string{"records", "parties", "party_keys", "places", "place_names", "routes", "route_places", "checkpoints", "convoys", "convoy_events", "statements"}

// CopyKept copies into this (new, empty) SQLite projection what a rebuild
// keeps and the log does not hold: tokens and private values, from the
// SQLite projection at path.
func (s *Store) CopyKept(ctx context.Context, path string) error {
	if s.dialect.name != "sqlite" {
		return fmt.Errorf("copy kept tables: only between SQLite files")
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `ATTACH DATABASE ? AS old`, path); err != nil {
		return err
	}
	defer conn.ExecContext(context.Background(), `DETACH DATABASE old`)
	for _, t := range keptTables {
		if _, err := conn.ExecContext(ctx, `INSERT INTO main.`+t+` SELECT * FROM old.`+t); err != nil {
			return fmt.Errorf("%s: %w", t, err)
		}
	}
	return nil
}

// Reset empties every derived table (not private_values) so the projection
// can be rebuilt from the log.
func (s *Store) Reset(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, t := range projectedTables {
		q := "DELETE FROM " + t
		if t == "derived_state" {
			q = "UPDATE derived_state SET as_of = ''"
		}
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("reset %s: %w", t, err)
		}
	}
	if _, err := tx.ExecContext(ctx, "UPDATE projection_state SET applied = 0"); err != nil {
		return err
	}
	return tx.Commit()
}

// Applied returns how many log entries the projection has applied.
func (s *Store) Applied(ctx context.Context) (uint64, error) {
	var n int64
	if err := s.queryRow(ctx, `SELECT applied FROM projection_state WHERE id = 1`).Scan(&n); err != nil {
		return 0, fmt.Errorf("read applied index: %w", err)
	}
	return uint64(n), nil
}

// Dump reads every derived table as sorted text rows, for comparing two
// projections (verify). Each row is "col=value|col=value...".
func (s *Store) Dump(ctx context.Context) (map[string][]string, error) {
	out := map[string][]string{}
	for _, t := range append([]string{"projection_state"}, projectedTables...) {
		rows, err := s.db.QueryContext(ctx, "SELECT * FROM "+t)
		if err != nil {
			return nil, fmt.Errorf("dump %s: %w", t, err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		var list []string
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return nil, err
			}
			parts := make([]string, len(cols))
			for i, c := range cols {
				v := vals[i]
				if b, ok := v.([]byte); ok {
					v = string(b)
				}
				parts[i] = fmt.Sprintf("%s=%v", c, v)
			}
			list = append(list, strings.Join(parts, "|"))
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		sort.Strings(list)
		out[t] = list
	}
	return out, nil
}

// Tables lists the tables Dump returns, in order.
func Tables() []string { return append([]string{"projection_state"}, projectedTables...) }

// DB exposes the database for tests that tamper with rows.
func (s *Store) DB() *sql.DB { return s.db }

// RebuildPostgres builds the PostgreSQL projection that dsn opens anew,
// beside the old one: fill projects the log into a fresh store in a schema
// of its own; then, in one transaction, the old tokens and private values
// (they are not in the log) are copied into it and its tables take the
// place of the old ones. A crash at any moment leaves the old projection
// or the new one, whole; other tables in the schema are left alone.
func RebuildPostgres(ctx context.Context, dsn string, fill func(*Store) (uint64, error)) (uint64, error) {
	old, err := OpenPostgres(ctx, dsn)
	if err != nil {
		return 0, err
	}
	defer old.Close()
	var schema string
	if err := old.db.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return 0, fmt.Errorf("rebuild: current schema: %w", err)
	}
	next := schema + "_rebuild"
	if _, err := old.db.ExecContext(ctx, `DROP SCHEMA IF EXISTS `+quoteIdent(next)+` CASCADE; CREATE SCHEMA `+quoteIdent(next)); err != nil {
		return 0, fmt.Errorf("rebuild: schema %s: %w", next, err)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return 0, fmt.Errorf("rebuild: %w", err)
	}
	q := u.Query()
	q.Set("search_path", next)
	u.RawQuery = q.Encode()
	fresh, err := OpenPostgres(ctx, u.String())
	if err != nil {
		return 0, err
	}
	n, err := fill(fresh)
	fresh.Close()
	if err != nil {
		return 0, err
	}

	tx, err := old.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE'`, next)
	if err != nil {
		return 0, err
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return 0, err
		}
		tables = append(tables, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	from, to := quoteIdent(schema)+".", quoteIdent(next)+"."
	for _, t := range keptTables {
		if _, err := tx.ExecContext(ctx, `INSERT INTO `+to+t+` SELECT * FROM `+from+t); err != nil {
			return 0, fmt.Errorf("rebuild: keep %s: %w", t, err)
		}
	}
	for _, t := range tables {
		if _, err := tx.ExecContext(ctx, `DROP TABLE IF EXISTS `+from+quoteIdent(t)+` CASCADE`); err != nil {
			return 0, fmt.Errorf("rebuild: drop the old %s: %w", t, err)
		}
		if _, err := tx.ExecContext(ctx, `ALTER TABLE `+to+quoteIdent(t)+` SET SCHEMA `+quoteIdent(schema)); err != nil {
			return 0, fmt.Errorf("rebuild: move the new %s: %w", t, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `DROP SCHEMA `+quoteIdent(next)+` CASCADE`); err != nil {
		return 0, err
	}
	return n, tx.Commit()
}

// keptTables hold what a rebuild keeps and the log does not: tokens and
// private values.
var keptTables = []string{"tokens", "private_values", "webhook_cursors", "webhook_watches", "webhook_deliveries"}

// quoteIdent quotes a PostgreSQL identifier.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// OpenReadOnly opens a PostgreSQL projection that a writer keeps, for a
// read server: it never migrates the schema (the writer does), and waits,
// saying so through waiting, until the schema is the one this binary
// knows.
func OpenReadOnly(ctx context.Context, dsn string, waiting func(have, want int)) (*Store, error) {
	if !IsPostgres(dsn) {
		return nil, errors.New("a read server needs the projection on PostgreSQL (--db postgres://…)")
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, err
	}
	s := &Store{db: db, dialect: dialect{name: "postgres", dollar: true}}
	want, err := latestMigration()
	if err != nil {
		db.Close()
		return nil, err
	}
	for {
		var have sql.NullInt64
		err := db.QueryRowContext(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&have)
		switch {
		case err != nil && !isUndefinedTable(err):
			db.Close()
			return nil, fmt.Errorf("open postgres projection: %w", err)
		case int(have.Int64) == want:
			return s, nil
		case int(have.Int64) > want:
			db.Close()
			return nil, fmt.Errorf("database schema version %d is newer than this binary knows (%d)", have.Int64, want)
		}
		if waiting != nil {
			waiting(int(have.Int64), want)
		}
		select {
		case <-ctx.Done():
			db.Close()
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// latestMigration is the schema version this binary migrates to.
func latestMigration() (int, error) {
	files, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil || len(files) == 0 {
		return 0, fmt.Errorf("no migrations: %v", err)
	}
	sort.Strings(files)
	return strconv.Atoi(strings.SplitN(path.Base(files[len(files)-1]), "_", 2)[0])
}
