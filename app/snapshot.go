package app

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"corridor"
)

// SnapshotFile is the writer's snapshot in a data folder.
const SnapshotFile = "writer-state.snapshot"

// A snapshot file holds the writer's state as of a log size, and says which
// log it belongs to:
//
//	"corridor-writer-snapshot-v1\n"
//	8 bytes   log size N it covers (big-endian)
//	32 bytes  SHA-256 of log entry 0
//	32 bytes  SHA-256 of log entry N-1
//	          the state (corridor.State.Encode)
//	4 bytes   CRC-32C of everything before (big-endian)
//
// It is written to a temporary file, synced, and renamed over the last one
// (then the folder is synced), so a crash leaves the previous snapshot.
const snapshotMagic = "corridor-writer-snapshot-v1\n"

const snapshotHeaderSize = len(snapshotMagic) + 8 + 32 + 32

// The checksum is against damage (a torn or cut write, a flipped bit), not
// against an adversary: the file is the node's own, like its log. CRC-32C
// costs 10 ms where SHA-256 costs a quarter of a second at 1,000,000
// records.
var crcTable = crc32.MakeTable(crc32.Castagnoli)

const checksumSize = 4

type snapshotHeader struct {
	size        uint64
	first, last [32]byte
}

func (h snapshotHeader) encode() []byte {
	b := make([]byte, 0, snapshotHeaderSize)
	b = append(b, snapshotMagic...)
	b = binary.BigEndian.AppendUint64(b, h.size)
	b = append(b, h.first[:]...)
	return append(b, h.last[:]...)
}

// entryHash returns the SHA-256 of the log entry at index i.
func (a *App) entryHash(ctx context.Context, i uint64) ([32]byte, error) {
	var h [32]byte
	found := false
	err := a.log.Entries(ctx, i, i+1, func(_ uint64, data []byte) error {
		h, found = sha256.Sum256(data), true
		return nil
	})
	if err == nil && !found {
		err = fmt.Errorf("log entry %d not found", i)
	}
	return h, err
}

// logHeader is the header a snapshot of n records of this log must have.
func (a *App) logHeader(ctx context.Context, n uint64) (snapshotHeader, error) {
	h := snapshotHeader{size: n}
	var err error
	if h.first, err = a.entryHash(ctx, 0); err != nil {
		return h, err
	}
	h.last, err = a.entryHash(ctx, n-1)
	return h, err
}

// errNoSnapshot means there is no snapshot file.
var errNoSnapshot = errors.New("no snapshot")

// startFromSnapshot loads the snapshot if it can serve this start: it is
// whole, of this log, no longer than the log, and the projection has
// applied at least the records it covers (the projection of a record needs
// the state just after it, which only a replay from the start gives for an
// earlier record). Otherwise it logs why and returns nil.
func (a *App) startFromSnapshot(ctx context.Context, logSize, applied uint64) *corridor.State {
	path := a.opts.SnapshotPath
	st, err := a.loadSnapshot(ctx, path, logSize)
	switch {
	case errors.Is(err, errNoSnapshot):
		if logSize > 0 {
			a.lg.Info("no snapshot of the writer's state: replaying the whole log", slog.String("path", path))
		}
		return nil
	case err != nil:
		a.lg.Warn("snapshot of the writer's state not used: replaying the whole log", slog.String("path", path), slog.Any("err", err))
		return nil
	case applied < st.Size:
		a.lg.Warn("the projection is behind the snapshot of the writer's state: replaying the whole log",
			slog.Uint64("projected", applied), slog.Uint64("snapshot", st.Size))
		return nil
	}
	return st
}

// loadSnapshot reads and checks the snapshot at path against the log,
// which holds logSize entries.
func (a *App) loadSnapshot(ctx context.Context, path string, logSize uint64) (*corridor.State, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, errNoSnapshot
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() < int64(snapshotHeaderSize+checksumSize) {
		return nil, fmt.Errorf("%s: cut short (%d bytes)", path, fi.Size())
	}
	head := make([]byte, snapshotHeaderSize)
	if _, err := io.ReadFull(f, head); err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(head, []byte(snapshotMagic)) {
		return nil, fmt.Errorf("%s: not a snapshot of this version", path)
	}
	var h snapshotHeader
	h.size = binary.BigEndian.Uint64(head[len(snapshotMagic):])
	copy(h.first[:], head[len(snapshotMagic)+8:])
	copy(h.last[:], head[len(snapshotMagic)+8+32:])
	if h.size == 0 || h.size > logSize {
		return nil, fmt.Errorf("%s: covers %d records, the log holds %d", path, h.size, logSize)
	}
	want, err := a.logHeader(ctx, h.size)
	if err != nil {
		return nil, err
	}
	if want.first != h.first || want.last != h.last {
		return nil, fmt.Errorf("%s: made from another log (entries 0 and %d differ)", path, h.size-1)
	}

	sum := crc32.New(crcTable)
	sum.Write(head)
	body := io.LimitReader(f, fi.Size()-int64(snapshotHeaderSize+checksumSize))
	br := bufio.NewReaderSize(io.TeeReader(body, sum), 256<<10)
	st, err := corridor.DecodeState(br)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		return nil, fmt.Errorf("%s: data after the state", path)
	}
	var trailer [checksumSize]byte
	if _, err := io.ReadFull(f, trailer[:]); err != nil {
		return nil, err
	}
	if binary.BigEndian.Uint32(trailer[:]) != sum.Sum32() {
		return nil, fmt.Errorf("%s: checksum does not match: damaged", path)
	}
	if st.Size != h.size {
		return nil, fmt.Errorf("%s: the state holds %d records, the header says %d", path, st.Size, h.size)
	}
	return st, nil
}

// saveSnapshot writes a snapshot of st, which must not change meanwhile.
// With waitProjection set it puts the file in place only once the
// projection holds every record st covers, so that the next start can use
// it (see startFromSnapshot).
// copied is how long the writer took to copy the state, for the log.
func (a *App) saveSnapshot(st *corridor.State, waitProjection bool, copied time.Duration) error {
	start := time.Now()
	ctx := context.Background()
	path := a.opts.SnapshotPath
	h, err := a.logHeader(ctx, st.Size)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	n, err := writeSnapshotFile(tmp, h, st)
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if waitProjection && !a.w.waitProjected(st.Size) {
		os.Remove(tmp)
		return fmt.Errorf("the projection did not reach %d records: snapshot left out", st.Size)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return err
	}
	a.w.setSaved(st.Size)
	a.lg.Info("snapshot of the writer's state written", slog.Uint64("records", st.Size),
		slog.Int64("bytes", n), slog.Duration("writer_copy", copied), slog.Duration("took", time.Since(start)))
	return nil
}

// writeSnapshotFile writes and syncs the snapshot file, and returns its size.
func writeSnapshotFile(path string, h snapshotHeader, st *corridor.State) (int64, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sum := crc32.New(crcTable)
	cw := &countWriter{w: f}
	bw := bufio.NewWriterSize(io.MultiWriter(cw, sum), 256<<10)
	bw.Write(h.encode())
	if err := st.Encode(bw); err != nil {
		return 0, err
	}
	if err := bw.Flush(); err != nil {
		return 0, err
	}
	if _, err := cw.Write(binary.BigEndian.AppendUint32(nil, sum.Sum32())); err != nil {
		return 0, err
	}
	if err := f.Sync(); err != nil {
		return 0, err
	}
	return cw.n, f.Close()
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// maybeSnapshot starts writing a snapshot when enough records or time have
// gone by since the last one. The writer only copies the state's maps (a
// few milliseconds at a million records); the encoding and the file are
// another goroutine's.
func (a *App) maybeSnapshot() {
	w := a.w
	if a.opts.SnapshotPath == "" {
		return
	}
	if w.snapBusy != nil {
		select {
		case <-w.snapBusy:
			w.snapBusy = nil
		default:
			return // one at a time
		}
	}
	n := a.st.Size - w.snapSize
	if n == 0 || (n < a.opts.SnapshotEvery && time.Since(w.snapTime) < a.opts.SnapshotInterval) {
		return
	}
	start := time.Now()
	st := a.st.Clone()
	copied := time.Since(start)
	w.snapSize, w.snapTime = st.Size, time.Now()
	busy := make(chan struct{})
	w.snapBusy = busy
	go func() {
		defer close(busy)
		if err := a.saveSnapshot(st, true, copied); err != nil {
			a.lg.Warn("snapshot of the writer's state not written", slog.Any("err", err))
		}
	}()
}

// closingSnapshot writes the last snapshot, once the projector has stopped.
func (a *App) closingSnapshot() {
	w := a.w
	if a.opts.SnapshotPath == "" {
		return
	}
	if w.snapBusy != nil {
		<-w.snapBusy
		w.snapBusy = nil
	}
	if a.st.Size == 0 || a.st.Size == w.savedSize() {
		return
	}
	if p := w.projectedSize(); p < a.st.Size {
		a.lg.Warn("the projection is behind the log: the snapshot is not written, the next start catches it up",
			slog.Uint64("projected", p), slog.Uint64("records", a.st.Size))
		return
	}
	if err := a.saveSnapshot(a.st, false, 0); err != nil {
		a.lg.Warn("snapshot of the writer's state not written", slog.Any("err", err))
	}
}
