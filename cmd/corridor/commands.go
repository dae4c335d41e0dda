package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"corridor/api"
	"corridor/app"
	"corridor/ledger"
	"corridor/record"
	"corridor/report"
	"corridor/store"
	"corridor/web"
	"corridor/webhook"
	"corridor/witness"
)

func cmdInit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("init", stderr)
	data := fs.String("data", "", "data folder to create (must be new or empty)")
	origin := fs.String("origin", "corridor.localhost/log", "the log's origin line: a name for this log, without spaces")
	logAt := logFlag(fs)
	db := fs.String("db", "", "projection database: empty for SQLite in the data folder, or a postgres:// URL (needed with an s3:// log)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := requireFlag("data", *data); err != nil {
		return err
	}
	if err := checkLogFlag(*logAt, *db); err != nil {
		return err
	}
	cfg, err := app.InitWith(ctx, *data, *origin, app.NodeOptions{Log: *logAt, DB: *db})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "corridor: created %s\n  log origin: %s\n  log verifier key: %s\n  operator key: %s\n",
		*data, cfg.Origin, cfg.Verifier, filepath.Join(*data, app.OperatorKey))
	return nil
}

func cmdKeygen(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("keygen", stderr)
	out := fs.String("out", "", "file for the private key (PEM); the public key goes to FILE.pub")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := requireFlag("out", *out); err != nil {
		return err
	}
	k, err := record.GenerateKey()
	if err != nil {
		return err
	}
	if err := record.WriteKeyFiles(k, *out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "key id %s\nprivate key %s\npublic key %s.pub\n", k.ID, *out, *out)
	return nil
}

func checkAddr(addr string) error {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return usagef("-addr %q: want HOST:PORT, such as 127.0.0.1:8420", addr)
	}
	return nil
}

func logger(stderr io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", stderr)
	data := fs.String("data", "", "data folder (made by corridor init)")
	addr := fs.String("addr", "127.0.0.1:8420", "HOST:PORT to listen on")
	db := fs.String("db", "", "projection database: empty for SQLite in the data folder, or a postgres:// URL")
	public := fs.String("public-url", "", "the https:// address readers reach this server at, when a proxy in front terminates TLS (makes cookies Secure)")
	logAt := logFlag(fs)
	readOnly := fs.Bool("read-only", false, "serve reads only, from the writers' PostgreSQL projection and the published log: no signing key, no writer state; records are refused with the writer's address")
	leaseTTL := fs.Duration("lease-ttl", 10*time.Second, "with an s3:// log: how long the writer lease lasts unrenewed, so how soon a standby takes over from a writer that died (3s or more)")
	wf := addWitnessFlags(fs)
	hookFile := webhookFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	hooks, err := loadHooks(*hookFile)
	if err != nil {
		return err
	}
	if err := requireFlag("data", *data); err != nil {
		return err
	}
	if err := checkAddr(*addr); err != nil {
		return err
	}
	if err := checkLogFlag(*logAt, *db); err != nil {
		return err
	}
	pub, err := checkPublicURL(*public)
	if err != nil {
		return err
	}
	if *leaseTTL < 3*time.Second || *leaseTTL > 10*time.Minute {
		return usagef("-lease-ttl %v: want between 3s and 10m", *leaseTTL)
	}
	lg := logger(stderr)
	opts := app.NodeOptions{DB: *db, Logger: lg, Log: *logAt}
	policy, err := wf.apply(&opts)
	if err != nil {
		return err
	}
	ready := func(url string) error {
		fmt.Fprintf(stdout, "corridor: serving %s\n", url)
		return nil
	}
	if *readOnly {
		if !store.IsPostgres(*db) {
			return usagef("-read-only needs -db postgres://…: a read server reads the writers' projection")
		}
		node, err := app.OpenReadOnly(ctx, *data, app.ReadOnlyOptions{DB: *db, Log: *logAt, Logger: lg})
		if err != nil {
			return err
		}
		return serveNode(ctx, node, *addr, lg, serveOpts{policy: policy, public: pub}, ready)
	}
	if strings.HasPrefix(*logAt, "s3://") {
		return serveLeased(ctx, *data, *addr, *leaseTTL, opts, lg, serveOpts{policy: policy, public: pub, hooks: hooks}, ready)
	}
	node, err := app.OpenNode(ctx, *data, opts)
	if err != nil {
		return err
	}
	return serveNode(ctx, node, *addr, lg, serveOpts{policy: policy, public: pub, hooks: hooks}, ready)
}

func logFlag(fs *flag.FlagSet) *string {
	return fs.String("log", "", "where the log is: empty for the data folder's log/, or s3://BUCKET[/PREFIX]?endpoint=URL&db=mysql://USER:PASSWORD@HOST:PORT/DATABASE (Tessera's AWS driver; S3 credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)")
}

// checkLogFlag reads -log: a location ledger.ParseLocation takes; an
// s3:// log is shared, so its projection must be too.
func checkLogFlag(logAt, db string) error {
	if logAt == "" {
		return nil
	}
	loc, err := ledger.ParseLocation(logAt)
	if err != nil {
		return usagef("-log: %v", err)
	}
	if loc.S3() && !store.IsPostgres(db) {
		return usagef("-log %s: an s3:// log needs -db postgres://… (the projection that writers and read servers share)", loc)
	}
	return nil
}

// serveLeased serves as one of the writers of a shared log: it waits
// (standing by) until it holds the writer lease, opens the node, which
// catches up from the log, serves, and keeps renewing the lease. Losing
// the lease stops it: it appends nothing more, shuts down and exits with
// an error, so a supervisor restarts it as a standby.
func serveLeased(ctx context.Context, data, addr string, ttl time.Duration, opts app.NodeOptions, lg *slog.Logger, so serveOpts, ready func(string) error) error {
	pub := so.public
	if _, port, _ := net.SplitHostPort(addr); port == "0" {
		return usagef("-addr %s: a writer of a shared log needs a fixed port, which read servers give to clients", addr)
	}
	self := "http://" + addr
	if pub != nil {
		self = pub.String()
	}
	leases, err := store.OpenLeases(ctx, opts.DB)
	if err != nil {
		return err
	}
	defer leases.Close()
	host, _ := os.Hostname()
	holder := fmt.Sprintf("%s/%d/%d", host, os.Getpid(), time.Now().UnixNano())
	var last string
	lease, err := leases.Acquire(ctx, holder, self, ttl, func(h store.LeaseHolder) {
		if h.Holder != last {
			last = h.Holder
			lg.Info("standing by: another writer holds the lease", slog.String("writer", h.Addr), slog.Int64("term", h.Term), slog.Time("until", h.Deadline))
		}
	})
	if err != nil {
		if ctx.Err() != nil {
			lg.Info("stopped while standing by")
			return nil
		}
		return err
	}
	took := time.Now()
	lg.Info("holding the writer lease", slog.Int64("term", lease.Term()), slog.String("addr", self))
	kctx, stop := context.WithCancel(ctx)
	defer stop()
	kept := make(chan error, 1)
	go func() { kept <- lease.Keep(kctx) }()
	defer func() {
		rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := lease.Release(rctx); err != nil {
			lg.Warn("releasing the writer lease", slog.Any("err", err))
		}
	}()
	opts.Lease = lease
	node, err := app.OpenNode(ctx, data, opts)
	if err != nil {
		return err
	}
	lg.Info("caught up with the log", slog.Uint64("records", node.Size()), slog.Duration("took", time.Since(took)))
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var lost error
	go func() {
		select {
		case err := <-kept:
			if kctx.Err() == nil {
				lost = err
				lg.Error("lost the writer lease: no more records are appended; stopping", slog.Any("err", err))
				cancel()
			}
		case <-sctx.Done():
		}
	}()
	err = serveNode(sctx, node, addr, lg, so, ready)
	if err == nil && lost != nil {
		err = lost
	}
	return err
}

// serveNode serves the node's API, public log and dashboard on addr until
// ctx ends, calling ready once the listener is up. policy is the witness
// policy the log publishes under, if any. It then shuts down in order: stop
// accepting connections and finish requests, then close the node.
// serveOpts are what serve, demo and load set beside the node.
type serveOpts struct {
	policy *witness.Policy // witnesses' cosignatures before a tree head is published
	public *url.URL        // the address readers reach the server at
	hooks  []webhook.Hook  // subscriptions told of holds, refusals, closures, deadlines
}

func serveNode(ctx context.Context, node *app.Node, addr string, lg *slog.Logger, so serveOpts, ready func(url string) error) (err error) {
	policy, public := so.policy, so.public
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if cerr := node.Close(cctx); err == nil {
			err = cerr
		}
	}()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	api.New(node.App, lg).WithLog(node.Log, api.LogOptions{VerifierKey: node.Config.Verifier, Policy: policy}).Register(mux)
	dashboard, err := web.New(node, lg)
	if err != nil {
		return err
	}
	if dashboard, err = dashboard.WithPublicURL(public); err != nil {
		return err
	}
	dashboard.WithWitnesses(policy).Register(mux)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 2 * time.Minute, IdleTimeout: 2 * time.Minute}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	url := "http://" + ln.Addr().String()
	if err := ready(url); err != nil {
		srv.Close()
		return err
	}
	if len(so.hooks) > 0 && !node.App.ReadOnly() { // the writer tells, once; read servers do not
		link := url
		if public != nil {
			link = public.String()
		}
		d := &webhook.Dispatcher{Store: node.Store(), Hooks: so.hooks, Public: link, Logger: lg}
		hctx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); d.Run(hctx) }()
		defer func() { stop(); <-done }()
		lg.Info("webhooks", slog.Int("subscriptions", len(so.hooks)))
	}
	select {
	case <-ctx.Done():
	case err := <-served:
		return err
	}
	lg.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("demo", stderr)
	data := fs.String("data", "", "data folder (default: a new temporary folder)")
	addr := fs.String("addr", "127.0.0.1:8420", "HOST:PORT to listen on")
	scFile := scenarioFlag(fs)
	wf := addWitnessFlags(fs)
	hookFile := webhookFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := checkAddr(*addr); err != nil {
		return err
	}
	hooks, err := loadHooks(*hookFile)
	if err != nil {
		return err
	}
	sc, err := readScenario("-scenario", *scFile)
	if err != nil {
		return err
	}
	dir := *data
	if dir == "" {
		d, err := os.MkdirTemp("", "corridor-demo-")
		if err != nil {
			return err
		}
		dir = d
	}
	if _, err := app.ReadConfig(dir); err != nil {
		if _, err := app.Init(ctx, dir, "corridor.localhost/demo"); err != nil {
			return err
		}
	}
	lg := logger(stderr)
	opts := app.NodeOptions{Logger: lg}
	policy, err := wf.apply(&opts)
	if err != nil {
		return err
	}
	node, err := app.OpenNode(ctx, dir, opts)
	if err != nil {
		return err
	}
	return serveNode(ctx, node, *addr, lg, serveOpts{policy: policy, hooks: hooks}, func(url string) error {
		if _, err := loadScenario(ctx, node, sc, filepath.Join(dir, "demo-keys"), url); err != nil {
			return fmt.Errorf("load the scenario: %w", err)
		}
		// Everything is printed at once, the serving line first, so that a
		// reader (or a script) that sees the URL has the whole summary too.
		var summary bytes.Buffer
		if err := report.Summary(ctx, node.Store(), &summary); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "corridor: serving %s\ndata folder %s (demo keys in %s)\n\n%s", url, dir, filepath.Join(dir, "demo-keys"), summary.Bytes())
		return nil
	})
}

func cmdVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("verify", stderr)
	data := fs.String("data", "", "data folder to check")
	db := fs.String("db", "", "projection database, if not the SQLite file in the data folder")
	logAt := logFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := requireFlag("data", *data); err != nil {
		return err
	}
	if err := checkLogFlag(*logAt, *db); err != nil {
		return err
	}
	n, err := app.VerifyAt(ctx, *data, *db, *logAt, stdout)
	if err != nil {
		return fmt.Errorf("FAILED: %w", err)
	}
	fmt.Fprintf(stdout, "corridor: verified %d records in %s\n", n, *data)
	return nil
}

func cmdRebuild(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("rebuild", stderr)
	data := fs.String("data", "", "data folder whose projection to rebuild (stop corridor serve first)")
	db := fs.String("db", "", "projection database, if not the SQLite file in the data folder")
	logAt := logFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := requireFlag("data", *data); err != nil {
		return err
	}
	if err := checkLogFlag(*logAt, *db); err != nil {
		return err
	}
	n, err := app.RebuildAt(ctx, *data, *db, *logAt, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "corridor: rebuilt the projection from %d records\n", n)
	return nil
}

// webhookFlag is -webhooks FILE.
func webhookFlag(fs *flag.FlagSet) *string {
	return fs.String("webhooks", "", "subscriptions file ({\"webhooks\": [{\"id\", \"url\", \"secret\", \"events\"}]}): signed POSTs for holds, refusals, closures and clearance deadlines passed (docs/API.md)")
}

func loadHooks(path string) ([]webhook.Hook, error) {
	if path == "" {
		return nil, nil
	}
	hooks, err := webhook.Load(path)
	if err != nil {
		return nil, usagef("-webhooks %s: %v", path, err)
	}
	return hooks, nil
}

// checkPublicURL reads -public-url: an http(s) URL with a host and no
// path, query or fragment ("" for none).
func checkPublicURL(s string) (*url.URL, error) {
	if s == "" {
		return nil, nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, usagef("-public-url %q: want the address readers use, such as https://corridor.example", s)
	}
	return u, nil
}
