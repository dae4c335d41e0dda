// Package audit checks a corridor log from its public resources alone and
// recomputes what the server publishes from it: it reads every entry
// bundle and hash tile (C2SP tlog-tiles, over HTTP or from a local copy),
// checks the tree head's signature and cosignatures against a policy,
// every Merkle hash and every record's signature, replays the records
// through the domain rules into a temporary SQLite projection (with the
// same code as the server's, store), and compares the API answers
// computed from it with the server's, page by page.
//
// Memory stays bounded whatever the log's size: entries are read, checked
// and replayed a window at a time (walk.go), the work that needs no
// state, signatures included, is spread over every core ahead of the
// sequential replay (verify.go), and lists are compared a page at a time
// (compare.go).
package audit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"time"

	flog "github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera/client"
	"golang.org/x/mod/sumdb/note"

	"corridor/app"
	"corridor/store"
	"corridor/witness"
)

// Source reads a log's public resources; tessera's client.HTTPFetcher and
// client.FileFetcher are both Sources.
type Source interface {
	ReadCheckpoint(ctx context.Context) ([]byte, error)
	ReadTile(ctx context.Context, level, index uint64, p uint8) ([]byte, error)
	ReadEntryBundle(ctx context.Context, index uint64, p uint8) ([]byte, error)
}

// Options configure an audit.
type Options struct {
	Source Source
	// Policy must name the log key (its "log" line); its witnesses and
	// quorum are checked against the tree head's cosignatures.
	Policy *witness.Policy
	// API is the base URL of the server whose answers to compare with the
	// recomputed ones; empty to skip the comparison.
	API  string
	HTTP *http.Client
	// Previous is an earlier tree head of the same log (from an earlier
	// audit): the new one must be consistent with it.
	Previous []byte
	// Progress receives progress lines (nil: none).
	Progress io.Writer
	// Workers is how many tiles and bundles are fetched at once (default 8).
	Workers int
	// Verifiers is how many goroutines parse entries and verify
	// signatures ahead of the replay (default runtime.GOMAXPROCS(0)).
	Verifiers int
	// TempDir holds the temporary projection (default os.TempDir()).
	TempDir string
	// Files, if set, is read for every public evidence file the records
	// point to, each checked against its SHA-256 (nil: not checked).
	Files FileSource

	window int // entries prepared at a time (default windowEntries); set by tests
}

// Problem is one thing found wrong. Index is the log index at fault, or -1.
type Problem struct {
	Index int64  `json:"index"`
	What  string `json:"what"`
}

func (p Problem) String() string {
	if p.Index >= 0 {
		return fmt.Sprintf("log index %d: %s", p.Index, p.What)
	}
	return p.What
}

// Report is the outcome of an audit.
type Report struct {
	Origin    string
	TreeSize  uint64
	Root      []byte
	TreeHead  []byte
	Cosigners []string
	Replayed  uint64   // records that passed signature and rule checks
	Compared  []string // API paths compared (a list once, however many pages)
	Pages     int      // answers compared, counting every page of a list
	Files     int      // public evidence files checked against their SHA-256
	Problems  []Problem
	Notes     []string
	Took      time.Duration
}

// OK reports whether nothing was found wrong.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

func (r *Report) problem(index int64, format string, args ...any) {
	r.Problems = append(r.Problems, Problem{Index: index, What: fmt.Sprintf(format, args...)})
}

// maxLeafProblems bounds the reports of mismatching hashes, so a wholly
// different tree does not print a million lines.
const maxLeafProblems = 100

// Run audits the log. Problems found are in the report; the error is for
// an audit that could not be carried out (unreachable log, no policy).
func Run(ctx context.Context, o Options) (*Report, error) {
	start := time.Now()
	if o.Policy == nil || o.Policy.Log == nil {
		return nil, errors.New("audit: the log's verifier key is needed (a policy with a log line)")
	}
	if o.Workers <= 0 {
		o.Workers = 8
	}
	if o.Verifiers <= 0 {
		o.Verifiers = runtime.GOMAXPROCS(0)
	}
	if o.window <= 0 {
		o.window = windowEntries
	}
	if o.HTTP == nil {
		o.HTTP = &http.Client{Timeout: 2 * time.Minute}
	}
	rep := &Report{}

	raw, err := o.Source.ReadCheckpoint(ctx)
	if err != nil {
		return nil, fmt.Errorf("audit: reading the tree head: %w", err)
	}
	rep.TreeHead = raw
	n, err := note.Open(raw, note.VerifierList(o.Policy.Log))
	if err != nil {
		rep.problem(-1, "tree head is not signed by the log key %s: %v", o.Policy.Log.Name(), err)
		return rep, nil
	}
	var cp flog.Checkpoint
	if _, err := cp.Unmarshal([]byte(n.Text)); err != nil {
		rep.problem(-1, "tree head: %v", err)
		return rep, nil
	}
	if cp.Origin != o.Policy.Log.Name() {
		rep.problem(-1, "tree head origin %q is not the log key's name %q", cp.Origin, o.Policy.Log.Name())
	}
	rep.Origin, rep.TreeSize, rep.Root = cp.Origin, cp.Size, cp.Hash
	rep.Cosigners = o.Policy.Cosigners(raw)
	if err := o.Policy.Check(raw); err != nil {
		rep.problem(-1, "%v", err)
	}
	if o.Previous != nil {
		checkPrevious(ctx, o, rep, &cp)
	}

	tmp, err := os.MkdirTemp(o.TempDir, "corridor-audit-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	st, err := store.OpenSQLite(ctx, filepath.Join(tmp, "audit.db"))
	if err != nil {
		return nil, err
	}
	defer st.Close()
	rp := app.NewReplayer(st)

	if err := walk(ctx, o, rep, cp.Size, cp.Hash, rp); err != nil {
		return nil, err
	}
	a, err := rp.Finish(ctx)
	if err != nil {
		return nil, err
	}
	if o.Files != nil {
		if err := checkFiles(ctx, o.Files, rep, st); err != nil {
			return nil, err
		}
	} else {
		rep.Notes = append(rep.Notes, "evidence files were not checked (no files folder or server given)")
	}
	if ok, at := rp.Complete(); !ok && o.API != "" {
		rep.Notes = append(rep.Notes, fmt.Sprintf("the server's answers were not compared: the recomputed projection stops at the refused record %d", at))
	} else if o.API != "" {
		if err := compare(ctx, o, rep, a); err != nil {
			return nil, err
		}
	}
	rep.Took = time.Since(start)
	return rep, nil
}

// checkPrevious checks the new tree head is consistent with an earlier one.
func checkPrevious(ctx context.Context, o Options, rep *Report, cp *flog.Checkpoint) {
	pn, err := note.Open(o.Previous, note.VerifierList(o.Policy.Log))
	if err != nil {
		rep.problem(-1, "previous tree head is not signed by the log key: %v", err)
		return
	}
	var prev flog.Checkpoint
	if _, err := prev.Unmarshal([]byte(pn.Text)); err != nil {
		rep.problem(-1, "previous tree head: %v", err)
		return
	}
	if prev.Size > cp.Size {
		rep.problem(-1, "the log shrank: previous tree head has %d entries, this one %d", prev.Size, cp.Size)
		return
	}
	if prev.Size == 0 {
		return
	}
	pb, err := client.NewProofBuilder(ctx, cp.Size, o.Source.ReadTile)
	if err != nil {
		rep.problem(-1, "consistency with the previous tree head: %v", err)
		return
	}
	p, err := pb.ConsistencyProof(ctx, prev.Size, cp.Size)
	if err != nil {
		rep.problem(-1, "consistency with the previous tree head: %v", err)
		return
	}
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, prev.Size, cp.Size, p, prev.Hash, cp.Hash); err != nil {
		rep.problem(-1, "the tree head of size %d is not consistent with the previous one of size %d: the log rewrote history: %v", cp.Size, prev.Size, err)
		return
	}
	rep.Notes = append(rep.Notes, fmt.Sprintf("consistent with the previous tree head of size %d", prev.Size))
}
