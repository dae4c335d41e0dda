// Package ledger: log.go wraps a tessera POSIX transparency log (C2SP
// tlog-tiles, with tree heads serialised as C2SP signed-note checkpoints).
//
// Vocabulary: the log's signed states are called "tree heads" here; the word
// "checkpoint" is kept for physical road checkpoints, except where it names
// the C2SP resource / file ("checkpoint") itself.
//
// Layout of a log directory (all written by tessera's POSIX driver):
//
//	dir/checkpoint              latest published signed tree head
//	dir/tile/<L>/<N>[.p/<W>]    hash tiles
//	dir/tile/entries/<N>[.p/<W>] entry bundles
//	dir/.state/treeState        integrated (durable, maybe unpublished) size+root
//	dir/.state/ledger.lock      flock held by an open *Log (ours, not tessera's)
package ledger

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	flog "github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/api"
	"github.com/transparency-dev/tessera/api/layout"
	"github.com/transparency-dev/tessera/client"
	"github.com/transparency-dev/tessera/storage/posix"
	"golang.org/x/mod/sumdb/note"
	"k8s.io/klog/v2"
)

// MaxEntrySize is the largest entry the log accepts (C2SP tlog-tiles limit,
// the 16-bit length prefix of an entry bundle).
const MaxEntrySize = 65535

const (
	defaultBatchMaxAge        = 5 * time.Millisecond
	minBatchMaxAge            = time.Millisecond // see Append: a shorter age is within a stalled goroutine's reach
	defaultBatchMaxSize       = 1024
	defaultCheckpointInterval = time.Second
	minCheckpointInterval     = 100 * time.Millisecond // tessera's POSIX driver refuses less

	// publishPollInterval is how often WaitPublished re-reads the tree head.
	publishPollInterval = 10 * time.Millisecond

	lockFileName  = "ledger.lock"
	stateDirName  = ".state"
	treeStateName = "treeState"
)

// Options tune the appender. Zero values mean the defaults given.
type Options struct {
	// BatchMaxAge is how long the first entry of a batch may wait for more
	// entries before the batch is sequenced. Default 5ms (few clients must not
	// wait tessera's default 250ms per entry); values below 1ms are raised to
	// 1ms (Append's parts rely on the age being long against a scheduler's
	// stall).
	BatchMaxAge time.Duration
	// BatchMaxSize is the largest number of entries sequenced in one batch. Default 1024.
	BatchMaxSize uint
	// CheckpointInterval is how often a new tree head is published. Default 1s;
	// values below 100ms are raised to 100ms (tessera's POSIX minimum).
	CheckpointInterval time.Duration
	// PushbackMaxOutstanding is the number of entries that may be added but not
	// yet durable before Append answers ErrPushback. Default
	// tessera.DefaultPushbackMaxOutstanding (4096). It is enforced by this
	// package: tessera's POSIX driver accepts the option but does not act on it.
	PushbackMaxOutstanding uint

	// Witnesses is the witness policy (see tessera.NewWitnessGroupFromPolicy):
	// every new tree head is sent to these witnesses (C2SP tlog-witness) and
	// published with their cosignatures once the group is satisfied. The zero
	// value contacts nobody.
	Witnesses tessera.WitnessGroup
	// WitnessTimeout bounds the wait for the witnesses' answers for one tree
	// head. Default tessera.DefaultWitnessTimeout (5s).
	WitnessTimeout time.Duration
	// WitnessFailOpen publishes a tree head even when the witness policy
	// could not be satisfied in time (with whatever cosignatures arrived, and a
	// warning in the log). By default (false) publication is held: entries
	// are still appended and durable, but no tree head is published until
	// the policy is met again, and tessera retries at every
	// CheckpointInterval.
	WitnessFailOpen bool
	// ShutdownTimeout bounds how long Close waits for a tree head that
	// covers every entry (with witnesses, their cosignatures) before it
	// stops anyway; the entries are durable either way and the next start
	// publishes them. Default 10s.
	ShutdownTimeout time.Duration
}

func (o Options) withDefaults() Options {
	if o.BatchMaxAge <= 0 {
		o.BatchMaxAge = defaultBatchMaxAge
	}
	o.BatchMaxAge = max(o.BatchMaxAge, minBatchMaxAge)
	if o.BatchMaxSize == 0 {
		o.BatchMaxSize = defaultBatchMaxSize
	}
	if o.CheckpointInterval == 0 {
		o.CheckpointInterval = defaultCheckpointInterval
	}
	if o.CheckpointInterval < minCheckpointInterval {
		o.CheckpointInterval = minCheckpointInterval
	}
	if o.PushbackMaxOutstanding == 0 {
		o.PushbackMaxOutstanding = tessera.DefaultPushbackMaxOutstanding
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 10 * time.Second
	}
	return o
}

var (
	// ErrPushback is tessera's pushback error: the log is overloaded and the
	// caller should retry later (HTTP 503). Test with errors.Is.
	ErrPushback = tessera.ErrPushback
	// ErrNotFound reports a missing index, resource or tree head.
	ErrNotFound = errors.New("ledger: not found")
	// ErrEntryTooLarge is returned by Append for an entry over MaxEntrySize.
	ErrEntryTooLarge = errors.New("ledger: entry too large")
	// ErrClosed is returned by a Log after Close has begun.
	ErrClosed = errors.New("ledger: log closed")
)

// Log is an open, appendable log directory. All methods are safe for
// concurrent use.
type Log struct {
	dir    string // a POSIX log's folder, "" otherwise
	name   string // where the log is, for messages
	opts   Options
	files  files
	signer note.Signer   // nil on a read-only log
	self   note.Verifier // checks tree heads against our own key
	origin string

	add       tessera.AddFn // nil on a read-only log
	shutdown  func(context.Context) error
	lr        tessera.LogReader
	actx      context.Context
	cancel    context.CancelFunc
	lock      *os.File // a POSIX log's flock
	pollEvery time.Duration

	// addMu makes the Add calls of one Append contiguous in tessera's queue.
	//
	// What tessera's storage.Queue (storage/internal/queue.go, v1.0.4) does:
	// Queue.Add appends the entry to the pending batch under the queue's own
	// mutex, and a batch is handed to a single worker goroutine which
	// sequences batches one at a time, assigning indices in queue order. So
	// Adds from concurrent goroutines DO interleave entry by entry: without
	// addMu two concurrent Append calls could receive interleaved indices.
	// With addMu held across the Add loop, one call's entries are adjacent in
	// the queue. A residual hazard remains inside tessera: a full batch (or a
	// timer-flushed one) is sent to the worker channel after the queue mutex
	// is released, so two batches cut in quick succession could in principle
	// reach the worker in the opposite order. Append therefore checks that a
	// call's indices are consecutive and reports an error if they are not.
	addMu sync.Mutex

	mu       sync.Mutex // guards closed and the inflight.Add calls
	closed   bool
	inflight sync.WaitGroup // Append calls whose futures are not yet resolved
	stopped  chan struct{}  // closed once the appender's context is cancelled

	outstanding atomic.Int64 // entries added but not yet resolved

	closeOnce sync.Once
	closeErr  error
}

// Open opens (creating if needed) the log stored in dir with tessera's POSIX
// driver and starts an appender whose tree heads are signed by signer.
//
// Only one Log per dir may be open: Open takes an exclusive flock on
// dir/.state/ledger.lock and fails if it is held (by this or another process).
// The appender runs until Close; cancelling ctx after Open returns does not
// stop it (ctx's values are kept, its cancellation is not).
func Open(ctx context.Context, dir string, signer note.Signer, opts Options) (*Log, error) {
	if dir == "" {
		return nil, errors.New("ledger: open: empty directory name")
	}
	if signer == nil {
		return nil, errors.New("ledger: open: nil tree head signer")
	}
	opts = opts.withDefaults()

	if err := os.MkdirAll(filepath.Join(dir, stateDirName), 0o755); err != nil {
		return nil, fmt.Errorf("ledger: open %s: %w", dir, err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}

	self, err := newSelfVerifier(signer)
	if err != nil {
		_ = lock.Close()
		return nil, fmt.Errorf("ledger: open %s: %w", dir, err)
	}
	driver, err := posix.New(ctx, posix.Config{Path: dir})
	if err != nil {
		_ = lock.Close()
		return nil, fmt.Errorf("ledger: open %s: posix driver: %w", dir, err)
	}
	l, err := startAppender(ctx, driver, newFiles(dir), signer, self, opts)
	if err != nil {
		_ = lock.Close()
		return nil, fmt.Errorf("ledger: open %s: %w", dir, err)
	}
	l.dir, l.name, l.lock = dir, dir, lock
	go l.watchClock(l.actx)
	return l, nil
}

// startAppender starts tessera's appender on driver.
func startAppender(ctx context.Context, driver tessera.Driver, fl files, signer note.Signer, self note.Verifier, opts Options) (*Log, error) {
	aopts := tessera.NewAppendOptions().
		WithCheckpointSigner(signer).
		WithBatching(opts.BatchMaxSize, opts.BatchMaxAge).
		WithCheckpointInterval(opts.CheckpointInterval).
		WithPushback(opts.PushbackMaxOutstanding).
		WithShutdownTimeout(opts.ShutdownTimeout)
	if opts.CheckpointInterval > tessera.DefaultCheckpointRepublishInterval {
		aopts.WithCheckpointRepublishInterval(opts.CheckpointInterval)
	}
	if len(opts.Witnesses.Components) > 0 {
		aopts.WithWitnesses(opts.Witnesses, &tessera.WitnessOptions{Timeout: opts.WitnessTimeout, FailOpen: opts.WitnessFailOpen})
	}
	actx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	appender, shutdown, lr, err := tessera.NewAppender(actx, driver, aopts)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("starting appender: %w", err)
	}
	return &Log{
		opts:      opts,
		files:     fl,
		signer:    signer,
		self:      self,
		origin:    signer.Name(),
		add:       appender.Add,
		shutdown:  shutdown,
		lr:        lr,
		actx:      actx,
		cancel:    cancel,
		stopped:   make(chan struct{}),
		pollEvery: publishPollInterval,
	}, nil
}

// watchClock runs until the log stops. Tessera's POSIX driver publishes a
// tree head only when the published one is older than the checkpoint
// interval by the checkpoint file's modification time; after the wall
// clock steps back that time lies ahead, and publication would stop until
// the clock caught up (a step back of an hour: an hour of records with no
// tree head, receipt or cosignature). When the file is dated ahead of now
// it is dated now (its content unchanged), with a warning.
func (l *Log) watchClock(ctx context.Context) {
	tick := time.NewTicker(l.opts.CheckpointInterval)
	defer tick.Stop()
	path := filepath.Join(l.dir, layout.CheckpointPath)
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		fi, err := os.Stat(path)
		if err != nil {
			continue
		}
		now := time.Now()
		if ahead := fi.ModTime().Sub(now); ahead > time.Second {
			klog.Warningf("the clock stepped back: the published tree head is dated %v ahead of now; dating it now so that publication goes on", ahead.Round(time.Second))
			if err := os.Chtimes(path, now, now); err != nil {
				klog.Errorf("dating the tree head now: %v", err)
			}
		}
	}
}

// Lock takes the log folder's exclusive lock without opening the log, for
// work that must not run beside an open log (a rebuild of its
// projection). It fails at once, saying so, when a Log holds it.
func Lock(dir string) (io.Closer, error) {
	if err := os.MkdirAll(filepath.Join(dir, stateDirName), 0o755); err != nil {
		return nil, err
	}
	return lockDir(dir)
}

// lockDir takes the per-directory exclusive lock. It uses flock(2), which is
// independent of the fcntl(2) record locks tessera uses on its own lock
// files, so closing our descriptor never drops one of tessera's locks.
func lockDir(dir string) (*os.File, error) {
	p := filepath.Join(dir, stateDirName, lockFileName)
	f, err := os.OpenFile(p, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("ledger: open %s: lock file: %w", dir, err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("ledger: open %s: log is already open (lock %s held)", dir, p)
		}
		return nil, fmt.Errorf("ledger: open %s: locking %s: %w", dir, p, err)
	}
	return f, nil
}

type appendResult struct {
	indices []uint64
	err     error
}

// Append adds the entries in order and returns once every one is durable
// (sequenced and integrated: its tessera IndexFuture resolved), with their
// indices in the same order. Its entries are added a batch (BatchMaxSize)
// or half a BatchMaxAge at a time, each part durable before the next.
//
// Errors: ErrEntryTooLarge (nothing added) if any entry exceeds MaxEntrySize;
// ErrPushback if too many entries are outstanding (nothing added); ErrClosed
// after Close. If ctx ends first Append returns ctx's error, but the entries
// may still become durable. If tessera hands one call non-consecutive indices
// Append returns those indices together with an error (the entries are
// durable, only their order is not as asked).
func (l *Log) Append(ctx context.Context, entries [][]byte) ([]uint64, error) {
	if len(entries) == 0 {
		return []uint64{}, nil
	}
	for i, e := range entries {
		if len(e) > MaxEntrySize {
			return nil, fmt.Errorf("ledger: append: entry %d is %d bytes, limit %d: %w", i, len(e), MaxEntrySize, ErrEntryTooLarge)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("ledger: append: %w", err)
	}
	if l.add == nil {
		return nil, fmt.Errorf("ledger: append to %s: %w", l.name, ErrReadOnly)
	}

	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, fmt.Errorf("ledger: append: %w", ErrClosed)
	}
	l.inflight.Add(1)
	l.mu.Unlock()

	n := int64(len(entries))
	if now := l.outstanding.Add(n); now > n && now > int64(l.opts.PushbackMaxOutstanding) {
		// A single call larger than the limit is let through when nothing
		// else is outstanding, so it cannot be refused forever.
		l.outstanding.Add(-n)
		l.inflight.Done()
		return nil, fmt.Errorf("ledger: append: %d entries already outstanding (limit %d): %w", now-n, l.opts.PushbackMaxOutstanding, ErrPushback)
	}

	done := make(chan appendResult, 1)
	// Tessera's queue hands a batch to its sequencer from whichever
	// goroutine cut it: the caller when the batch is full, a timer when its
	// first entry is BatchMaxAge old. Two batches cut close together can
	// reach the sequencer in either order, and a call's entries would land
	// out of order. So the entries are added in parts: a part is at most a
	// batch, and ends early once half of BatchMaxAge has passed since it
	// began, so that the timer does not cut it in two but on a machine
	// stalled for longer than that; every part but the last is durable
	// before the next is added, and no other call comes between.
	prepared := make([]*tessera.Entry, len(entries))
	for i, e := range entries {
		// Clone: tessera hashes the entry now but serialises it later, so
		// the caller's buffer must not be shared.
		prepared[i] = tessera.NewEntry(bytes.Clone(e))
	}
	futures := make([]tessera.IndexFuture, 0, len(entries))
	l.addMu.Lock()
	for from := 0; from < len(prepared); {
		began := time.Now()
		to := from
		for to < len(prepared) && to-from < l.chunk() && (to == from || time.Since(began) < l.opts.BatchMaxAge/2) {
			futures = append(futures, l.add(ctx, prepared[to]))
			to++
		}
		if to < len(prepared) {
			if _, err := awaitFutures(futures[from:to]); err != nil {
				break // awaited again below
			}
		}
		from = to
	}
	l.addMu.Unlock()

	go func() {
		defer l.inflight.Done()
		idx, err := awaitFutures(futures)
		// No longer outstanding before the caller hears of it, so that its
		// next Append does not count these entries.
		l.outstanding.Add(-n)
		done <- appendResult{idx, err}
	}()

	select {
	case r := <-done:
		return r.indices, r.err
	case <-ctx.Done():
		return nil, fmt.Errorf("ledger: append: waiting for %d entries to become durable (they may still be added): %w", n, ctx.Err())
	case <-l.stopped:
		// Only reached when Close gave up waiting (its ctx ended) and the
		// appender was stopped under these entries.
		return nil, fmt.Errorf("ledger: append: log stopped before %d entries became durable: %w", n, ErrClosed)
	}
}

// chunk is the most entries one Append adds to tessera's queue at once:
// one batch.
func (l *Log) chunk() int { return max(int(l.opts.BatchMaxSize), 1) }

// awaitFutures resolves every future (even after an error, so no future is
// left behind) and checks the indices are consecutive.
func awaitFutures(futures []tessera.IndexFuture) ([]uint64, error) {
	indices := make([]uint64, len(futures))
	var firstErr error
	for i, f := range futures {
		idx, err := f()
		if err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("ledger: append: entry %d of %d: %w", i, len(futures), err)
			}
			continue
		}
		indices[i] = idx.Index
	}
	if firstErr != nil {
		return nil, firstErr
	}
	for i := 1; i < len(indices); i++ {
		if indices[i] != indices[0]+uint64(i) {
			return indices, fmt.Errorf("ledger: append: entries durable but not consecutive: entry %d got index %d after first index %d", i, indices[i], indices[0])
		}
	}
	return indices, nil
}

// Size returns the integrated size (number of durable entries), which may be
// ahead of the published tree head.
func (l *Log) Size(ctx context.Context) (uint64, error) {
	if l.lr == nil { // read-only: what is published
		_, size, _, err := l.TreeHead(ctx)
		if errors.Is(err, ErrNotFound) {
			return 0, nil
		}
		return size, err
	}
	s, err := l.lr.IntegratedSize(ctx)
	if err != nil {
		return 0, fmt.Errorf("ledger: size: %w", err)
	}
	return s, nil
}

// Entries calls fn for each entry with index in [from, to) in order, reading
// entry bundles (full or partial) from disk. to must not exceed Size. The
// data slice passed to fn is not reused by Entries and may be retained.
func (l *Log) Entries(ctx context.Context, from, to uint64, fn func(index uint64, data []byte) error) error {
	size, err := l.Size(ctx)
	if err != nil {
		return err
	}
	return l.files.entries(ctx, from, to, size, fn)
}

// TreeHead returns the latest published signed tree head (the raw signed note
// bytes) and its parsed size and root hash. The note must carry a signature
// by this log's signer (re-computed and compared for deterministic signers
// such as Ed25519) and name the signer as origin. ErrNotFound if none yet.
func (l *Log) TreeHead(ctx context.Context) (raw []byte, size uint64, root []byte, err error) {
	raw, err = l.files.readCheckpoint(ctx)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("ledger: tree head: %w", err)
	}
	n, err := note.Open(raw, note.VerifierList(l.self))
	if err != nil {
		return nil, 0, nil, fmt.Errorf("ledger: tree head: not signed by %s: %w", l.origin, err)
	}
	cp, err := parseTreeHeadText(n.Text)
	if err != nil {
		return nil, 0, nil, err
	}
	if cp.Origin != l.origin {
		return nil, 0, nil, fmt.Errorf("ledger: tree head: origin %q, want %q", cp.Origin, l.origin)
	}
	return raw, cp.Size, cp.Hash, nil
}

// WaitPublished blocks until a published tree head covers index (its size >
// index) or ctx ends. It polls the tree head every 10ms (100ms on an
// object store).
func (l *Log) WaitPublished(ctx context.Context, index uint64) error {
	t := time.NewTicker(l.pollEvery)
	defer t.Stop()
	for {
		raw, err := l.files.readCheckpoint(ctx)
		if err == nil {
			cp, perr := parseUnverified(raw)
			if perr == nil && cp.Size > index {
				return nil
			}
		} else if !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("ledger: wait for tree head covering %d: %w", index, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("ledger: wait for tree head covering %d: %w", index, ctx.Err())
		case <-l.stopped:
			return fmt.Errorf("ledger: wait for tree head covering %d: %w", index, ErrClosed)
		case <-t.C:
		}
	}
}

// InclusionProof returns the RFC 6962 inclusion proof of index in the tree of
// treeSize (index < treeSize <= Size), built from the local tiles.
func (l *Log) InclusionProof(ctx context.Context, index, treeSize uint64) ([][]byte, error) {
	size, err := l.Size(ctx)
	if err != nil {
		return nil, err
	}
	return l.files.inclusionProof(ctx, index, treeSize, size)
}

// ConsistencyProof returns the RFC 6962 consistency proof between tree sizes
// smaller <= larger <= Size.
func (l *Log) ConsistencyProof(ctx context.Context, smaller, larger uint64) ([][]byte, error) {
	size, err := l.Size(ctx)
	if err != nil {
		return nil, err
	}
	return l.files.consistencyProof(ctx, smaller, larger, size)
}

// ReadCheckpoint returns the raw C2SP "checkpoint" resource (the latest
// published signed tree head). Missing resources give an error matching both
// ErrNotFound and fs.ErrNotExist.
func (l *Log) ReadCheckpoint(ctx context.Context) ([]byte, error) {
	return l.files.readCheckpoint(ctx)
}

// ReadTile returns the raw C2SP hash tile at level/index with partial width p
// (0 = full); a missing partial tile falls back to the full one.
func (l *Log) ReadTile(ctx context.Context, level, index uint64, p uint8) ([]byte, error) {
	return l.files.readTile(ctx, level, index, p)
}

// ReadEntryBundle returns the raw C2SP entry bundle index with partial width p
// (0 = full); a missing partial bundle falls back to the full one.
func (l *Log) ReadEntryBundle(ctx context.Context, index uint64, p uint8) ([]byte, error) {
	return l.files.readEntryBundle(ctx, index, p)
}

// Close shuts the appender down so nothing queued is lost: it refuses new
// Appends, waits for in-flight Appends to become durable, calls tessera's
// shutdown (which waits for a published tree head covering everything
// added), only then cancels the appender's context, and finally releases the
// directory lock. If ctx ends first the appender is stopped anyway and the
// error says so. Close is idempotent.
func (l *Log) Close(ctx context.Context) error {
	l.closeOnce.Do(func() { l.closeErr = l.close(ctx) })
	return l.closeErr
}

func (l *Log) close(ctx context.Context) error {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()

	var errs []error
	drained := make(chan struct{})
	go func() {
		l.inflight.Wait()
		close(drained)
	}()
	select {
	case <-drained:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("waiting for in-flight appends: %w", ctx.Err()))
	}
	// A last tree head normally comes within a checkpoint interval; when
	// it has not after a few seconds (witnesses unreachable), say why the
	// close waits.
	slow := time.AfterFunc(3*time.Second+3*l.opts.CheckpointInterval, func() {
		n, _ := l.Size(context.Background())
		_, published, _, _ := l.TreeHead(context.Background())
		klog.Warningf("closing the log: still waiting for a tree head of %d entries (%d published), at most %v in all, the witnesses' cosignatures included; the entries are durable, and the next start publishes them if this does not", n, published, l.opts.ShutdownTimeout)
	})
	if err := l.shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("appender shutdown: %w", err))
	}
	slow.Stop()
	l.cancel()
	close(l.stopped)
	if l.lock != nil {
		if err := l.lock.Close(); err != nil {
			errs = append(errs, fmt.Errorf("releasing lock: %w", err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("ledger: close %s: %w", l.name, err)
	}
	return nil
}

// Reader reads a log directory without an appender and without taking its
// lock, e.g. for verification or rebuilding while nothing (or a Log in
// another process) runs. It does not check tree head signatures; use
// VerifyTree for that.
type Reader struct {
	files files
}

// OpenReader returns a Reader for the log in dir. It touches nothing on disk.
func OpenReader(dir string) *Reader {
	return &Reader{files: newFiles(dir)}
}

// OpenReaderAt returns a Reader for the log at loc (a folder, or the
// object store of an s3:// location, whose bucket it checks).
func OpenReaderAt(ctx context.Context, loc Location) (*Reader, error) {
	if !loc.S3() {
		return OpenReader(loc.Dir), nil
	}
	o, err := loc.objects(ctx)
	if err != nil {
		return nil, err
	}
	return &Reader{files: objectFiles(o)}, nil
}

// Size returns the integrated size recorded in dir/.state/treeState (entries
// durable on disk, possibly ahead of the published tree head). If that file
// does not exist (e.g. a copy holding only the public resources) it returns
// the size of the published tree head instead; ErrNotFound if neither exists.
func (r *Reader) Size(ctx context.Context) (uint64, error) {
	size, _, err := r.files.treeState()
	if err == nil {
		return size, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("ledger: size: %w", err)
	}
	_, size, _, err = r.TreeHead(ctx)
	if err != nil {
		return 0, fmt.Errorf("ledger: size: no tree state: %w", err)
	}
	return size, nil
}

// Entries calls fn for each entry with index in [from, to) in order; to must
// not exceed Size.
func (r *Reader) Entries(ctx context.Context, from, to uint64, fn func(index uint64, data []byte) error) error {
	size, err := r.Size(ctx)
	if err != nil {
		return err
	}
	return r.files.entries(ctx, from, to, size, fn)
}

// TreeHead returns the latest published tree head (raw signed note) and its
// parsed size and root. The note's form is checked but NOT its signatures.
func (r *Reader) TreeHead(ctx context.Context) (raw []byte, size uint64, root []byte, err error) {
	raw, err = r.files.readCheckpoint(ctx)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("ledger: tree head: %w", err)
	}
	cp, err := parseUnverified(raw)
	if err != nil {
		return nil, 0, nil, err
	}
	return raw, cp.Size, cp.Hash, nil
}

// TreeError reports why VerifyTree rejected a log. Index is the log index at
// fault, or -1 when the problem is not tied to one entry.
type TreeError struct {
	Index  int64
	Reason string
	err    error // underlying cause, if any
}

func (e *TreeError) Error() string {
	if e.Index >= 0 {
		return fmt.Sprintf("log index %d: %s", e.Index, e.Reason)
	}
	return "log tree: " + e.Reason
}

// Unwrap returns the underlying cause (e.g. an I/O error), if any.
func (e *TreeError) Unwrap() error { return e.err }

func treeErr(index int64, err error, format string, args ...any) *TreeError {
	return &TreeError{Index: index, Reason: fmt.Sprintf(format, args...), err: err}
}

// VerifyTree recomputes the Merkle tree of the log in dir from its entries
// alone. For every integrated entry i it compares the RFC 6962 leaf hash with
// the level-0 hash stored in the tiles (a changed entry is reported as "log
// index i: entry does not match its leaf hash in tile ..."), and it checks the
// stored higher-level tile hashes against the recomputed ones. It then takes
// the root of the first size leaves for the latest tree head, checks the tree
// head's signature and origin with verifier, and compares the roots (and the
// integrated root in .state/treeState, if present, with the root of all
// leaves). It returns the tree head's size, and nil or a *TreeError.
func VerifyTree(ctx context.Context, dir string, verifier note.Verifier) (size uint64, err error) {
	return verifyTree(ctx, newFiles(dir), verifier)
}

// VerifyTree is the package's VerifyTree on the log r reads.
func (r *Reader) VerifyTree(ctx context.Context, verifier note.Verifier) (size uint64, err error) {
	return verifyTree(ctx, r.files, verifier)
}

func verifyTree(ctx context.Context, fl files, verifier note.Verifier) (size uint64, err error) {
	if verifier == nil {
		return 0, treeErr(-1, nil, "no tree head verifier given")
	}

	raw, err := fl.readCheckpoint(ctx)
	if err != nil {
		return 0, treeErr(-1, err, "reading tree head: %v", err)
	}
	head, err := parseUnverified(raw)
	if err != nil {
		return 0, treeErr(-1, err, "%v", err)
	}

	total := head.Size
	tsSize, tsRoot, err := fl.treeState()
	switch {
	case errors.Is(err, fs.ErrNotExist):
		tsRoot = nil
	case err != nil:
		return 0, treeErr(-1, err, "%v", err)
	case tsSize < head.Size:
		return 0, treeErr(-1, nil, "integrated tree state has %d entries, fewer than the tree head's %d", tsSize, head.Size)
	default:
		total = tsSize
	}

	rf := compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}
	cr := rf.NewEmptyRange(0)
	headRoot := rfc6962.DefaultHasher.EmptyRoot()
	up := newUpperTileChecker(ctx, fl, total)

	for ri := range layout.Range(0, total, total) {
		if err := ctx.Err(); err != nil {
			return 0, treeErr(-1, err, "%v", err)
		}
		first := ri.Index * layout.EntryBundleWidth
		want := int(layout.EntryBundleWidth)
		if ri.Partial > 0 {
			want = int(ri.Partial)
		}
		bundlePath := layout.EntriesPath(ri.Index, ri.Partial)
		tilePath := layout.TilePath(0, ri.Index, ri.Partial)

		bundle, err := client.GetEntryBundle(ctx, fl.fetch.ReadEntryBundle, ri.Index, total)
		if err != nil {
			return 0, treeErr(int64(first), err, "reading entry bundle %s: %v", bundlePath, err)
		}
		if got := len(bundle.Entries); got != want {
			at := first + uint64(min(got, want))
			return 0, treeErr(int64(at), nil, "entry bundle %s holds %d entries, want %d", bundlePath, got, want)
		}
		tileRaw, err := fl.fetch.ReadTile(ctx, 0, ri.Index, ri.Partial)
		if err != nil {
			return 0, treeErr(int64(first), err, "reading tile %s: %v", tilePath, err)
		}
		var tile api.HashTile
		if err := tile.UnmarshalText(tileRaw); err != nil {
			return 0, treeErr(int64(first), err, "parsing tile %s: %v", tilePath, err)
		}
		if len(tile.Nodes) < want {
			return 0, treeErr(int64(first)+int64(len(tile.Nodes)), nil, "tile %s holds %d hashes, want %d", tilePath, len(tile.Nodes), want)
		}

		for j, data := range bundle.Entries {
			idx := first + uint64(j)
			leaf := rfc6962.DefaultHasher.HashLeaf(data)
			if !bytes.Equal(leaf, tile.Nodes[j]) {
				return 0, treeErr(int64(idx), nil, "entry does not match its leaf hash in tile %s (entry bundle %s)", tilePath, bundlePath)
			}
			if err := cr.Append(leaf, up.visit); err != nil {
				return 0, treeErr(int64(idx), err, "compact range: %v", err)
			}
			if up.err != nil {
				return 0, up.err
			}
			if cr.End() == head.Size {
				if headRoot, err = cr.GetRootHash(nil); err != nil {
					return 0, treeErr(-1, err, "computing root of %d leaves: %v", head.Size, err)
				}
			}
		}
	}

	if _, err := note.Open(raw, note.VerifierList(verifier)); err != nil {
		return 0, treeErr(-1, err, "tree head signature does not verify with key %s: %v", verifier.Name(), err)
	}
	if head.Origin != verifier.Name() {
		return 0, treeErr(-1, nil, "tree head origin %q does not match key name %q", head.Origin, verifier.Name())
	}
	if !bytes.Equal(headRoot, head.Hash) {
		return 0, treeErr(-1, nil, "root of the first %d entries %x does not match tree head root %x", head.Size, headRoot, head.Hash)
	}
	if tsRoot != nil {
		root := rfc6962.DefaultHasher.EmptyRoot()
		if total > 0 {
			if root, err = cr.GetRootHash(nil); err != nil {
				return 0, treeErr(-1, err, "computing root of %d leaves: %v", total, err)
			}
		}
		if !bytes.Equal(root, tsRoot) {
			return 0, treeErr(-1, nil, "root of all %d integrated entries %x does not match .state/treeState root %x", total, root, tsRoot)
		}
	}
	return head.Size, nil
}

// upperTileChecker compares nodes at tree levels 8, 16, ... (the bottom rows
// of tiles at tile levels 1, 2, ...) recomputed by a compact range with the
// hashes stored in those tiles. It keeps one tile per level in memory.
type upperTileChecker struct {
	ctx   context.Context
	fl    files
	total uint64
	cache map[uint64]cachedTile
	err   *TreeError
}

type cachedTile struct {
	index uint64
	nodes [][]byte
}

func newUpperTileChecker(ctx context.Context, fl files, total uint64) *upperTileChecker {
	return &upperTileChecker{ctx: ctx, fl: fl, total: total, cache: map[uint64]cachedTile{}}
}

func (u *upperTileChecker) visit(id compact.NodeID, hash []byte) {
	if u.err != nil || id.Level == 0 || id.Level%layout.TileHeight != 0 {
		return
	}
	level := uint64(id.Level / layout.TileHeight)
	tileIndex, pos := id.Index/layout.TileWidth, id.Index%layout.TileWidth
	// The first leaf under this node, to name an index in errors.
	leafIndex := int64(id.Index << id.Level)
	p := layout.PartialTileSize(level, tileIndex, u.total)
	path := layout.TilePath(level, tileIndex, p)
	ct, ok := u.cache[level]
	if !ok || ct.index != tileIndex {
		raw, err := u.fl.fetch.ReadTile(u.ctx, level, tileIndex, p)
		if err != nil {
			u.err = treeErr(leafIndex, err, "reading tile %s: %v", path, err)
			return
		}
		var t api.HashTile
		if err := t.UnmarshalText(raw); err != nil {
			u.err = treeErr(leafIndex, err, "parsing tile %s: %v", path, err)
			return
		}
		ct = cachedTile{index: tileIndex, nodes: t.Nodes}
		u.cache[level] = ct
	}
	if pos >= uint64(len(ct.nodes)) {
		u.err = treeErr(leafIndex, nil, "tile %s holds %d hashes, lacks the one at %d", path, len(ct.nodes), pos)
		return
	}
	if !bytes.Equal(ct.nodes[pos], hash) {
		u.err = treeErr(leafIndex, nil, "stored hash of tree level %d node %d in tile %s does not match the hash recomputed from entries", id.Level, id.Index, path)
	}
}

// files reads the C2SP resources and tessera's tree state of a log directory.
type files struct {
	o     objects
	fetch fetcher
}

func newFiles(dir string) files { return objectFiles(dirObjects(dir)) }

func objectFiles(o objects) files { return files{o: o, fetch: fetcher{o: o}} }

// notFound makes err match both ErrNotFound and its own chain (fs.ErrNotExist).
func notFound(what string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: %w (%w)", what, ErrNotFound, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

func (f files) readCheckpoint(ctx context.Context) ([]byte, error) {
	raw, err := f.fetch.ReadCheckpoint(ctx)
	if err != nil {
		return nil, notFound("reading "+layout.CheckpointPath, err)
	}
	return raw, nil
}

func (f files) readTile(ctx context.Context, level, index uint64, p uint8) ([]byte, error) {
	raw, err := f.fetch.ReadTile(ctx, level, index, p)
	if err != nil {
		return nil, notFound("reading "+layout.TilePath(level, index, p), err)
	}
	return raw, nil
}

func (f files) readEntryBundle(ctx context.Context, index uint64, p uint8) ([]byte, error) {
	raw, err := f.fetch.ReadEntryBundle(ctx, index, p)
	if err != nil {
		return nil, notFound("reading "+layout.EntriesPath(index, p), err)
	}
	return raw, nil
}

// treeState reads tessera's integrated state where the driver keeps it
// beside the resources. The error wraps fs.ErrNotExist if it is absent.
func (f files) treeState() (uint64, []byte, error) { return f.o.treeState() }

// readTreeStateFile reads the POSIX driver's private integrated state
// (.state/treeState, JSON {"size":N,"root":base64}).
func readTreeStateFile(p string) (uint64, []byte, error) {
	raw, err := os.ReadFile(p)
	if err != nil {
		return 0, nil, fmt.Errorf("reading tree state: %w", err)
	}
	var ts struct {
		Size uint64 `json:"size"`
		Root []byte `json:"root"`
	}
	if err := json.Unmarshal(raw, &ts); err != nil {
		return 0, nil, fmt.Errorf("parsing tree state %s: %w", p, err)
	}
	if len(ts.Root) != rfc6962.DefaultHasher.Size() {
		return 0, nil, fmt.Errorf("parsing tree state %s: root is %d bytes, want %d", p, len(ts.Root), rfc6962.DefaultHasher.Size())
	}
	return ts.Size, ts.Root, nil
}

// entries walks the bundles covering [from, to) with layout.Range and
// client.GetEntryBundle. (client.EntryBundles is not used: in tessera v1.0.4
// it calls layout.Range(fromEntry, fromEntry+N, ...), passing an end where a
// count is expected, so it streams bundles past the requested range.)
func (f files) entries(ctx context.Context, from, to, size uint64, fn func(uint64, []byte) error) error {
	if from > to {
		return fmt.Errorf("ledger: entries [%d, %d): from after to", from, to)
	}
	if to > size {
		return fmt.Errorf("ledger: entries [%d, %d): log has %d entries: %w", from, to, size, ErrNotFound)
	}
	for ri := range layout.Range(from, to-from, size) {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("ledger: entries: %w", err)
		}
		b, err := client.GetEntryBundle(ctx, f.fetch.ReadEntryBundle, ri.Index, size)
		if err != nil {
			return fmt.Errorf("ledger: entries: bundle %s: %w", layout.EntriesPath(ri.Index, ri.Partial), err)
		}
		want := int(layout.EntryBundleWidth)
		if ri.Partial > 0 {
			want = int(ri.Partial)
		}
		if len(b.Entries) != want {
			return fmt.Errorf("ledger: entries: bundle %s holds %d entries, want %d", layout.EntriesPath(ri.Index, ri.Partial), len(b.Entries), want)
		}
		base := ri.Index * layout.EntryBundleWidth
		for j := ri.First; j < ri.First+ri.N; j++ {
			if err := fn(base+uint64(j), b.Entries[j]); err != nil {
				return err
			}
		}
	}
	return nil
}

func (f files) inclusionProof(ctx context.Context, index, treeSize, size uint64) ([][]byte, error) {
	if index >= treeSize {
		return nil, fmt.Errorf("ledger: inclusion proof: index %d not below tree size %d: %w", index, treeSize, ErrNotFound)
	}
	if treeSize > size {
		return nil, fmt.Errorf("ledger: inclusion proof: tree size %d exceeds log size %d: %w", treeSize, size, ErrNotFound)
	}
	pb, err := client.NewProofBuilder(ctx, treeSize, f.fetch.ReadTile)
	if err != nil {
		return nil, fmt.Errorf("ledger: inclusion proof: %w", err)
	}
	p, err := pb.InclusionProof(ctx, index)
	if err != nil {
		return nil, fmt.Errorf("ledger: inclusion proof of %d in %d: %w", index, treeSize, err)
	}
	return p, nil
}

func (f files) consistencyProof(ctx context.Context, smaller, larger, size uint64) ([][]byte, error) {
	if smaller > larger {
		return nil, fmt.Errorf("ledger: consistency proof: smaller size %d exceeds larger %d", smaller, larger)
	}
	if larger > size {
		return nil, fmt.Errorf("ledger: consistency proof: tree size %d exceeds log size %d: %w", larger, size, ErrNotFound)
	}
	pb, err := client.NewProofBuilder(ctx, larger, f.fetch.ReadTile)
	if err != nil {
		return nil, fmt.Errorf("ledger: consistency proof: %w", err)
	}
	p, err := pb.ConsistencyProof(ctx, smaller, larger)
	if err != nil {
		return nil, fmt.Errorf("ledger: consistency proof %d→%d: %w", smaller, larger, err)
	}
	return p, nil
}

// parseUnverified checks the signed-note form of a tree head (text, blank
// line, signature lines) without verifying any signature, and parses the
// checkpoint body.
func parseUnverified(raw []byte) (*flog.Checkpoint, error) {
	_, err := note.Open(raw, note.VerifierList())
	var unverified *note.UnverifiedNoteError
	if !errors.As(err, &unverified) {
		// With no known keys a well-formed note always ends up here.
		return nil, fmt.Errorf("ledger: tree head is not a signed note: %v", err)
	}
	return parseTreeHeadText(unverified.Note.Text)
}

func parseTreeHeadText(text string) (*flog.Checkpoint, error) {
	var cp flog.Checkpoint
	if _, err := cp.Unmarshal([]byte(text)); err != nil {
		return nil, fmt.Errorf("ledger: parsing tree head: %w", err)
	}
	if len(cp.Hash) != rfc6962.DefaultHasher.Size() {
		return nil, fmt.Errorf("ledger: parsing tree head: root hash is %d bytes, want %d", len(cp.Hash), rfc6962.DefaultHasher.Size())
	}
	return &cp, nil
}

// selfVerifier checks a tree head signature against the log's own signer.
// note.Signer exposes no public key, so for deterministic signature schemes
// (Ed25519, the only one x/mod/sumdb/note provides) it re-signs the text and
// compares; for a randomised signer it can only confirm that a signature by
// this key name and hash is present.
type selfVerifier struct {
	s             note.Signer
	deterministic bool
}

func newSelfVerifier(s note.Signer) (*selfVerifier, error) {
	probe := []byte("ledger signer probe\n")
	a, err := s.Sign(probe)
	if err != nil {
		return nil, fmt.Errorf("tree head signer %s cannot sign: %w", s.Name(), err)
	}
	b, err := s.Sign(probe)
	if err != nil {
		return nil, fmt.Errorf("tree head signer %s cannot sign: %w", s.Name(), err)
	}
	return &selfVerifier{s: s, deterministic: bytes.Equal(a, b)}, nil
}

func (v *selfVerifier) Name() string    { return v.s.Name() }
func (v *selfVerifier) KeyHash() uint32 { return v.s.KeyHash() }
func (v *selfVerifier) Verify(msg, sig []byte) bool {
	if !v.deterministic {
		return true
	}
	want, err := v.s.Sign(msg)
	return err == nil && bytes.Equal(want, sig)
}

// ReadResource returns a public resource of the log exactly as stored, by
// its C2SP tlog-tiles path: "checkpoint", "tile/<L>/<N>[.p/<W>]" or
// "tile/entries/<N>[.p/<W>]" (no fallback from a partial to a full tile, so
// a server can hand clients precisely what they asked for). A missing
// resource gives an error matching ErrNotFound and fs.ErrNotExist.
func (l *Log) ReadResource(ctx context.Context, p string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if p != layout.CheckpointPath && (!strings.HasPrefix(p, "tile/") || path.Clean(p) != p || strings.Contains(p, "..")) {
		return nil, fmt.Errorf("ledger: %q is not a log resource: %w", p, ErrNotFound)
	}
	raw, err := l.files.o.get(ctx, p)
	if err != nil {
		return nil, notFound("reading "+p, err)
	}
	return raw, nil
}

// Origin returns the log's origin (the name of its tree head signer).
func (l *Log) Origin() string { return l.origin }

// TreeHeadTime returns when the latest tree head was written (published or
// republished), from the checkpoint's modification time.
func (l *Log) TreeHeadTime() (time.Time, error) {
	t, err := l.files.o.modTime(context.Background(), layout.CheckpointPath)
	if err != nil {
		return time.Time{}, notFound("reading "+layout.CheckpointPath, err)
	}
	return t, nil
}

// CheckpointInterval returns how often the log publishes a tree head.
func (l *Log) CheckpointInterval() time.Duration { return l.opts.CheckpointInterval }

// ConsistencyProof returns the RFC 6962 consistency proof between tree sizes
// smaller <= larger <= Size, from the tiles on disk.
func (r *Reader) ConsistencyProof(ctx context.Context, smaller, larger uint64) ([][]byte, error) {
	size, err := r.Size(ctx)
	if err != nil {
		return nil, err
	}
	return r.files.consistencyProof(ctx, smaller, larger, size)
}

// VerifyConsistency checks that the latest signed tree head of the log in
// dir extends prev, an earlier signed tree head of the same log: both carry
// a valid signature, the tree did not shrink, and a consistency proof built
// from the tiles links the two roots (so no entry before prev's size was
// changed, removed or reordered). It returns the two sizes.
func VerifyConsistency(ctx context.Context, dir string, verifier note.Verifier, prev []byte) (from, to uint64, err error) {
	return OpenReader(dir).VerifyConsistency(ctx, verifier, prev)
}

// VerifyConsistency is the package's VerifyConsistency on the log r reads.
func (r *Reader) VerifyConsistency(ctx context.Context, verifier note.Verifier, prev []byte) (from, to uint64, err error) {
	old, err := openTreeHead(prev, verifier)
	if err != nil {
		return 0, 0, fmt.Errorf("earlier tree head: %w", err)
	}
	raw, _, _, err := r.TreeHead(ctx)
	if err != nil {
		return 0, 0, err
	}
	cur, err := openTreeHead(raw, verifier)
	if err != nil {
		return 0, 0, fmt.Errorf("latest tree head: %w", err)
	}
	switch {
	case cur.Size < old.Size:
		return old.Size, cur.Size, &TreeError{Index: -1, Reason: fmt.Sprintf("the log shrank: a tree head of size %d was verified before, the latest is of size %d", old.Size, cur.Size)}
	case cur.Size == old.Size:
		if !bytes.Equal(cur.Hash, old.Hash) {
			return old.Size, cur.Size, &TreeError{Index: -1, Reason: fmt.Sprintf("fork: two tree heads of size %d with different roots", cur.Size)}
		}
		return old.Size, cur.Size, nil
	}
	if old.Size == 0 {
		return 0, cur.Size, nil
	}
	p, err := r.ConsistencyProof(ctx, old.Size, cur.Size)
	if err != nil {
		return old.Size, cur.Size, fmt.Errorf("consistency proof %d → %d: %w", old.Size, cur.Size, err)
	}
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, old.Size, cur.Size, p, old.Hash, cur.Hash); err != nil {
		return old.Size, cur.Size, &TreeError{Index: -1, Reason: fmt.Sprintf("the latest tree head (size %d) is not consistent with the one verified before (size %d): %v", cur.Size, old.Size, err)}
	}
	return old.Size, cur.Size, nil
}

// openTreeHead checks a signed tree head's signature and parses it.
func openTreeHead(raw []byte, verifier note.Verifier) (*flog.Checkpoint, error) {
	n, err := note.Open(raw, note.VerifierList(verifier))
	if err != nil {
		return nil, fmt.Errorf("signature: %w", err)
	}
	return parseTreeHeadText(n.Text)
}
