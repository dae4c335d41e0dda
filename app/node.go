package app

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"corridor"
	"corridor/evidence"
	"corridor/ledger"
	"corridor/record"
	"corridor/store"
)

// Files in a data folder.
const (
	ConfigFile     = "corridor.json"
	LogDir         = "log"
	LogKeyFile     = "log.key"
	LogPubFile     = "log.pub"
	OperatorKey    = "operator.key"
	ProjectionFile = "projection.db"
	OperatorID     = "operator"
	DelegatedDir   = "delegated"
	FilesDir       = "files" // evidence files, under their SHA-256
)

// Config is the data folder's corridor.json.
type Config struct {
	Origin   string    `json:"origin"`
	Verifier string    `json:"log_verifier_key"`
	Operator string    `json:"operator"`
	Created  time.Time `json:"created"`
}

// ReadConfig reads a data folder's configuration.
func ReadConfig(dir string) (*Config, error) {
	b, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s is not a corridor data folder (no %s): run corridor init --data %s", dir, ConfigFile, dir)
		}
		return nil, err
	}
	var c Config
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", ConfigFile, err)
	}
	return &c, nil
}

// Verifier returns the log's tree-head verifier.
func (c *Config) LogVerifier() (note.Verifier, error) {
	return note.NewVerifier(c.Verifier)
}

// Init creates a data folder: the log's signing key, an operator party
// with its key, and an empty log whose first record registers the operator.
func Init(ctx context.Context, dir, origin string) (*Config, error) {
	return InitWith(ctx, dir, origin, NodeOptions{})
}

// InitWith is Init with the log and the projection where opts says
// (Log, DB); an s3:// log must be empty.
func InitWith(ctx context.Context, dir, origin string, opts NodeOptions) (*Config, error) {
	if origin == "" || strings.ContainsAny(origin, " \n+") {
		return nil, fmt.Errorf("origin %q: must be a non-empty name without spaces or '+', such as corridor.example/log", origin)
	}
	loc, err := logLocation(dir, opts.Log)
	if err != nil {
		return nil, err
	}
	if loc.S3() {
		r, err := ledger.OpenReaderAt(ctx, loc)
		if err != nil {
			return nil, err
		}
		if _, size, _, err := r.TreeHead(ctx); err == nil {
			return nil, fmt.Errorf("the log at %s already holds %d records: init wants an empty log (copy the data folder of that log instead)", loc, size)
		} else if !errors.Is(err, ledger.ErrNotFound) {
			return nil, err
		}
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("%s is not empty: init wants a new or empty folder", dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	skey, vkey, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		return nil, err
	}
	if err := writeFileSync(filepath.Join(dir, LogKeyFile), []byte(skey+"\n"), 0o600); err != nil {
		return nil, err
	}
	if err := writeFileSync(filepath.Join(dir, LogPubFile), []byte(vkey+"\n"), 0o644); err != nil {
		return nil, err
	}
	op, err := record.GenerateKey()
	if err != nil {
		return nil, err
	}
	if err := record.WriteKeyFiles(op, filepath.Join(dir, OperatorKey)); err != nil {
		return nil, err
	}
	cfg := &Config{Origin: origin, Verifier: vkey, Operator: OperatorID, Created: time.Now().UTC().Truncate(time.Second)}
	b, _ := json.MarshalIndent(cfg, "", "  ")
	if err := writeFileSync(filepath.Join(dir, ConfigFile), append(b, '\n'), 0o644); err != nil {
		return nil, err
	}
	n, err := OpenNode(ctx, dir, NodeOptions{NoSnapshot: true, Log: opts.Log, DB: opts.DB}) // one record: nothing to gain
	if err != nil {
		return nil, err
	}
	defer n.Close(ctx)
	rec, err := record.Sign(op, "genesis", corridor.TypeParty, 1, &corridor.Party{
		ID: OperatorID, Kind: corridor.Operator,
		Names: []corridor.Name{{Name: "corridor operator", Lang: "en"}},
		Keys:  []corridor.PartyKey{{ID: op.ID, Public: op.Public}},
	})
	if err != nil {
		return nil, err
	}
	if _, err := n.Submit(ctx, []*Submission{{Record: rec}}); err != nil {
		return nil, fmt.Errorf("record the operator: %w", err)
	}
	return cfg, nil
}

func writeFileSync(path string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// NodeOptions tune a node.
type NodeOptions struct {
	DB     string // projection DSN; default the SQLite file in the data folder
	Ledger ledger.Options
	Logger *slog.Logger
	// NoSnapshot starts from the log alone and writes no snapshot of the
	// writer's state (SnapshotFile in the data folder).
	NoSnapshot bool
	// SnapshotEvery and SnapshotInterval: see Options.
	SnapshotEvery    uint64
	SnapshotInterval time.Duration
	// Log is where the log is: "" for the data folder's log/, or an s3://
	// location (see ledger.ParseLocation), which needs DB on PostgreSQL.
	Log string
	// Lease, when set, gates every append: the node appends only while
	// the writer lease is valid.
	Lease *store.Lease
}

// Node is an open data folder: log, projection and app.
type Node struct {
	*App
	Dir     string
	Config  *Config
	Log     *ledger.Log
	closers []func() error
}

// OpenNode opens the data folder, catches the projection up with the log,
// and starts accepting records.
func OpenNode(ctx context.Context, dir string, opts NodeOptions) (*Node, error) {
	cfg, err := ReadConfig(dir)
	if err != nil {
		return nil, err
	}
	skey, err := os.ReadFile(filepath.Join(dir, LogKeyFile))
	if err != nil {
		return nil, err
	}
	signer, err := note.NewSigner(strings.TrimSpace(string(skey)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", LogKeyFile, err)
	}
	dsn := opts.DB
	if dsn == "" {
		dsn = filepath.Join(dir, ProjectionFile)
	}
	loc, err := logLocation(dir, opts.Log)
	if err != nil {
		return nil, err
	}
	if loc.S3() && !store.IsPostgres(dsn) {
		return nil, errors.New("a log on an object store is shared by writers and read servers: give the projection on PostgreSQL too (--db postgres://…)")
	}
	st, err := store.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	lg, err := ledger.OpenAt(ctx, loc, signer, opts.Ledger)
	if err != nil {
		st.Close()
		return nil, err
	}
	var appender Appender = lg
	if opts.Lease != nil {
		appender = leasedLog{Log: lg, lease: opts.Lease}
	}
	files, err := evidence.Open(filepath.Join(dir, FilesDir))
	if err != nil {
		lg.Close(ctx)
		st.Close()
		return nil, err
	}
	aopts := Options{Logger: opts.Logger, SnapshotEvery: opts.SnapshotEvery, SnapshotInterval: opts.SnapshotInterval, Files: files}
	if !opts.NoSnapshot {
		aopts.SnapshotPath = filepath.Join(dir, SnapshotFile)
	}
	a, err := NewWithOptions(ctx, appender, st, aopts)
	if err != nil {
		lg.Close(ctx)
		st.Close()
		return nil, err
	}
	return &Node{App: a, Dir: dir, Config: cfg, Log: lg}, nil
}

// Close shuts down in order: stop taking records and answer those queued,
// then close the log (publishing what it holds), then the projection.
func (n *Node) Close(ctx context.Context) error {
	n.App.Close()
	err := n.Log.Close(ctx)
	if serr := n.store.Close(); err == nil {
		err = serr
	}
	for _, c := range n.closers {
		if cerr := c(); err == nil {
			err = cerr
		}
	}
	return err
}

// Rebuild recreates the projection from the log alone. The node must not be
// running on the folder.
func Rebuild(ctx context.Context, dir, dsn string, progress io.Writer) (uint64, error) {
	return RebuildAt(ctx, dir, dsn, "", progress)
}

// RebuildAt is Rebuild with the log at logAt ("" for the data folder's
// log/, or an s3:// location). For a log on an object store it takes the
// writer lease for the time of the rebuild, so that no writer appends
// meanwhile, and refuses if a writer holds it.
func RebuildAt(ctx context.Context, dir, dsn, logAt string, progress io.Writer) (uint64, error) {
	if _, err := ReadConfig(dir); err != nil {
		return 0, err
	}
	loc, err := logLocation(dir, logAt)
	if err != nil {
		return 0, err
	}
	if loc.S3() {
		return rebuildShared(ctx, loc, dsn, progress)
	}
	if dsn == "" {
		dsn = filepath.Join(dir, ProjectionFile)
	}
	// The log's lock: a rebuild beside a running serve would race its
	// writer for the projection.
	lock, err := ledger.Lock(filepath.Join(dir, LogDir))
	if err != nil {
		return 0, fmt.Errorf("rebuild needs the data folder to itself (stop corridor serve first): %w", err)
	}
	defer lock.Close()
	if !store.IsPostgres(dsn) {
		return rebuildBeside(ctx, dir, dsn, progress)
	}
	return store.RebuildPostgres(ctx, dsn, func(st *store.Store) (uint64, error) {
		return replay(ctx, ledger.OpenReader(filepath.Join(dir, LogDir)), st, true, progress)
	})
}

// rebuildShared rebuilds the PostgreSQL projection of a log on an object
// store while holding the writer lease.
func rebuildShared(ctx context.Context, loc ledger.Location, dsn string, progress io.Writer) (uint64, error) {
	leases, err := store.OpenLeases(ctx, dsn)
	if err != nil {
		return 0, err
	}
	defer leases.Close()
	actx, cancel := context.WithTimeout(ctx, 2*time.Second)
	var holder store.LeaseHolder
	host, _ := os.Hostname()
	lease, err := leases.Acquire(actx, fmt.Sprintf("rebuild/%s/%d", host, os.Getpid()), "", 10*time.Second, func(h store.LeaseHolder) { holder = h })
	cancel()
	if err != nil {
		if holder.Addr != "" {
			return 0, fmt.Errorf("rebuild needs the log to itself: the writer at %s holds the lease (stop the writers first)", holder.Addr)
		}
		return 0, fmt.Errorf("rebuild: writer lease: %w", err)
	}
	kctx, stop := context.WithCancel(ctx)
	defer stop()
	go lease.Keep(kctx)
	defer lease.Release(context.Background())
	lr, err := ledger.OpenReaderAt(ctx, loc)
	if err != nil {
		return 0, err
	}
	return store.RebuildPostgres(ctx, dsn, func(st *store.Store) (uint64, error) {
		return replay(ctx, lr, st, true, progress)
	})
}

// rebuildBeside builds the SQLite projection anew in a file beside the
// old one, with the old one's tokens and private values (they are not in
// the log), and renames it over the old one only when it is complete: a
// crash at any moment leaves the old projection or the new one, whole.
func rebuildBeside(ctx context.Context, dir, path string, progress io.Writer) (uint64, error) {
	next := path + ".rebuild"
	for _, f := range []string{next, next + "-wal", next + "-shm"} {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return 0, err
		}
	}
	st, err := store.Open(ctx, next)
	if err != nil {
		return 0, err
	}
	n, err := func() (uint64, error) {
		defer st.Close()
		if _, err := os.Stat(path); err == nil {
			if err := st.CopyKept(ctx, path); err != nil {
				return 0, fmt.Errorf("keep tokens and private values: %w", err)
			}
		}
		return replay(ctx, ledger.OpenReader(filepath.Join(dir, LogDir)), st, true, progress)
	}()
	if err != nil {
		os.Remove(next)
		return 0, err
	}
	// The old file's journal goes first, so that it is never applied to
	// the new file; without it the old file is still a whole projection
	// (of its last checkpoint), should the rename not happen.
	for _, f := range []string{path + "-wal", path + "-shm"} {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return 0, err
		}
	}
	if err := os.Rename(next, path); err != nil {
		return 0, err
	}
	return n, syncDir(filepath.Dir(path))
}

// replay applies every entry of the log to a fresh state and projects it
// into st. With trust unset it checks every record's signature too.
func replay(ctx context.Context, r *ledger.Reader, st *store.Store, trust bool, progress io.Writer) (uint64, error) {
	size, err := r.Size(ctx)
	if err != nil {
		return 0, fmt.Errorf("read log size: %w", err)
	}
	rp := NewReplayer(st)
	rp.trust = trust
	start := time.Now()
	err = r.Entries(ctx, 0, size, func(i uint64, data []byte) error {
		if err := rp.Add(ctx, i, data); err != nil {
			return err // the first record that fails ends a replay
		}
		if progress != nil && (i+1)%1000 == 0 && time.Since(start) > time.Second {
			fmt.Fprintf(progress, "\r%d / %d records", i+1, size)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if _, err := rp.Finish(ctx); err != nil {
		return 0, err
	}
	if progress != nil && time.Since(start) > time.Second {
		fmt.Fprintf(progress, "\r%d / %d records\n", size, size)
	}
	return size, nil
}

// IndexError names the log index at which something failed.
type IndexError struct {
	Index uint64
	Err   error
}

func (e *IndexError) Error() string { return fmt.Sprintf("log index %d: %v", e.Index, e.Err) }
func (e *IndexError) Unwrap() error { return e.Err }

// Verify checks a data folder: the Merkle tree against the signed tree
// head, every record's signature and rules, the projection against a
// replay of the log, and every personal value against its commitment. It
// returns the number of records and the first failure, naming the log
// index or the table and row.
func Verify(ctx context.Context, dir, dsn string, out io.Writer) (uint64, error) {
	return VerifyAt(ctx, dir, dsn, "", out)
}

// VerifyAt is Verify with the log at logAt ("" for the data folder's
// log/, or an s3:// location).
func VerifyAt(ctx context.Context, dir, dsn, logAt string, out io.Writer) (uint64, error) {
	cfg, err := ReadConfig(dir)
	if err != nil {
		return 0, err
	}
	v, err := cfg.LogVerifier()
	if err != nil {
		return 0, fmt.Errorf("%s: log_verifier_key: %w", ConfigFile, err)
	}
	loc, err := logLocation(dir, logAt)
	if err != nil {
		return 0, err
	}
	lr, err := ledger.OpenReaderAt(ctx, loc)
	if err != nil {
		return 0, err
	}
	size, err := lr.VerifyTree(ctx, v)
	if err != nil {
		return 0, fmt.Errorf("merkle tree: %w", err)
	}
	fmt.Fprintf(out, "tree: %d entries match their tiles and the signed tree head\n", size)
	treeHead, err := checkConsistency(ctx, dir, lr, v, out)
	if err != nil {
		return 0, err
	}

	tmp, err := os.MkdirTemp("", "corridor-verify-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmp)
	fresh, err := store.OpenSQLite(ctx, filepath.Join(tmp, "replay.db"))
	if err != nil {
		return 0, err
	}
	defer fresh.Close()
	n, err := replay(ctx, lr, fresh, false, out)
	if err != nil {
		return 0, fmt.Errorf("records: %w", err)
	}
	fmt.Fprintf(out, "records: %d signatures and rules hold\n", n)

	if dsn == "" {
		dsn = filepath.Join(dir, ProjectionFile)
	}
	live, err := store.Open(ctx, dsn)
	if err != nil {
		return 0, err
	}
	defer live.Close()
	// A projection that only trails the log (after a crash, or while
	// nothing has opened the folder since) is not corruption: say so.
	if applied, err := live.Applied(ctx); err == nil && applied < n {
		return 0, fmt.Errorf("projection: it has applied %d of the log's %d records; it trails the log, which is not an error: start corridor serve (or run corridor rebuild) to catch it up, then verify again", applied, n)
	}
	if err := compareProjections(ctx, live, fresh); err != nil {
		return 0, fmt.Errorf("projection: %w", err)
	}
	fmt.Fprintf(out, "projection: equals a replay of the log\n")
	if err := live.CheckPrivate(ctx); err != nil {
		return 0, fmt.Errorf("private values: %w", err)
	}
	// Everything holds: the next verify proves the log only grew from here.
	next := filepath.Join(dir, VerifiedTreeHead+".tmp")
	if err := os.WriteFile(next, treeHead, 0o644); err != nil {
		return 0, err
	}
	return n, os.Rename(next, filepath.Join(dir, VerifiedTreeHead))
}

func compareProjections(ctx context.Context, live, fresh *store.Store) error {
	a, err := live.Dump(ctx)
	if err != nil {
		return err
	}
	b, err := fresh.Dump(ctx)
	if err != nil {
		return err
	}
	for _, t := range store.Tables() {
		x, y := a[t], b[t]
		for i := 0; i < len(x) || i < len(y); i++ {
			switch {
			case i >= len(x):
				return fmt.Errorf("table %s: row missing: %s", t, y[i])
			case i >= len(y):
				return fmt.Errorf("table %s: row not in the log: %s", t, x[i])
			case x[i] != y[i]:
				return fmt.Errorf("table %s: row differs from the log:\n  projected: %s\n  from log:  %s", t, x[i], y[i])
			}
		}
	}
	return nil
}

// DelegatedKey returns the key a party has delegated to this server for
// records made through the web, kept in DIR/delegated/PARTY.key. The key
// must be registered to the party as a delegated key.
func (n *Node) DelegatedKey(party string) (*record.Key, error) {
	if err := record.CheckID("party", party); err != nil {
		return nil, err
	}
	k, err := record.ReadKeyFile(filepath.Join(n.Dir, DelegatedDir, party+".key"))
	if err != nil {
		return nil, fmt.Errorf("party %q has delegated no key to this server: %w", party, err)
	}
	if ki, ok := n.Key(k.ID); !ok || ki.Party != party || !ki.Delegated {
		return nil, fmt.Errorf("key %s in %s is not registered as a delegated key of %q", k.ID, DelegatedDir, party)
	}
	return k, nil
}

// VerifiedTreeHead is the file in a data folder that keeps the last tree
// head verify accepted, so that the next verify can prove the log only grew.
const VerifiedTreeHead = "verified-tree-head"

// checkConsistency proves that the latest tree head extends the one the
// last verify accepted, and returns the latest.
func checkConsistency(ctx context.Context, dir string, lr *ledger.Reader, v note.Verifier, out io.Writer) ([]byte, error) {
	path := filepath.Join(dir, VerifiedTreeHead)
	prev, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		fmt.Fprintf(out, "consistency: no earlier verified tree head; keeping this one for the next verify\n")
	case err != nil:
		return nil, err
	default:
		from, to, err := lr.VerifyConsistency(ctx, v, prev)
		if err != nil {
			return nil, fmt.Errorf("consistency: %w", err)
		}
		fmt.Fprintf(out, "consistency: the tree head of size %d extends the one verified before (size %d)\n", to, from)
	}
	raw, _, _, err := lr.TreeHead(ctx)
	return raw, err
}
