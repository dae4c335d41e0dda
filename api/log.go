package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	fnote "github.com/transparency-dev/formats/note"
	"github.com/transparency-dev/tessera/api/layout"
	"golang.org/x/mod/sumdb/note"

	"corridor"
	"corridor/app"
	"corridor/ledger"
	"corridor/receipt"
	"corridor/witness"
)

// LogOptions describe the public log a Server publishes.
type LogOptions struct {
	// VerifierKey is the log's signed-note verifier key, served at /log/key.
	VerifierKey string
	// Policy is the witness policy the log publishes under (nil: none). It
	// is shown at /api/v1/log with which witnesses cosigned.
	Policy *witness.Policy
	// PublishWait bounds how long POST /api/v1/records?wait=published waits
	// for a tree head. Default 30s.
	PublishWait time.Duration
}

// logServer is the state behind the /log/ routes.
type logServer struct {
	log  *ledger.Log
	opts LogOptions
}

// WithLog makes the server publish the log: the C2SP tlog-tiles read API
// under /log/, receipts and consistency proofs under /api/v1/. Call it
// before serving. Without it those routes answer 404.
func (s *Server) WithLog(l *ledger.Log, o LogOptions) *Server {
	if o.PublishWait <= 0 {
		o.PublishWait = 30 * time.Second
	}
	s.log = &logServer{log: l, opts: o}
	return s
}

func (s *Server) logState() (*logServer, error) {
	if s.log == nil {
		return nil, &corridor.Error{Code: corridor.CodeNotFound, Reason: "this server does not publish its log"}
	}
	return s.log, nil
}

// registerLog adds the public log routes (/log/ tiles, tree heads,
// receipts, consistency proofs).
func (s *Server) registerLog(mux *http.ServeMux) {
	mux.Handle("GET /log/{$}", s.handle(s.logIndex))
	mux.Handle("GET /log/checkpoint", s.handle(s.logCheckpoint))
	mux.Handle("GET /log/key", s.handle(s.logKey))
	mux.Handle("GET /log/tile/{path...}", s.handle(s.logTile))
	mux.Handle("GET /api/v1/log", s.handle(s.logStatus))
	mux.Handle("GET /api/v1/log/consistency", s.handle(s.logConsistency))
	mux.Handle("GET /api/v1/records/{id}/receipt", s.handle(s.recordReceipt))
}

func notFound(reason string) error {
	return &corridor.Error{Code: corridor.CodeNotFound, Reason: reason}
}

func (s *Server) logCheckpoint(w http.ResponseWriter, r *http.Request) error {
	ls, err := s.logState()
	if err != nil {
		return err
	}
	return ls.serveResource(w, r, layout.CheckpointPath, "no tree head published yet", "text/plain; charset=utf-8", "no-store")
}

// serveResource writes one stored C2SP resource of the log as it is on disk.
func (ls *logServer) serveResource(w http.ResponseWriter, r *http.Request, path, missing, contentType, cacheControl string) error {
	raw, err := ls.log.ReadResource(r.Context(), path)
	if errors.Is(err, ledger.ErrNotFound) {
		return notFound(missing)
	}
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", cacheControl)
	_, err = w.Write(raw)
	return err
}

func (s *Server) logKey(w http.ResponseWriter, r *http.Request) error {
	ls, err := s.logState()
	if err != nil {
		return err
	}
	if ls.opts.VerifierKey == "" {
		return notFound("no verifier key configured")
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, err = fmt.Fprintln(w, ls.opts.VerifierKey)
	return err
}

// logTile serves hash tiles and entry bundles, immutable once written
// (a partial tile has its width in its name, so it never changes either).
func (s *Server) logTile(w http.ResponseWriter, r *http.Request) error {
	ls, err := s.logState()
	if err != nil {
		return err
	}
	p := r.PathValue("path")
	var canonical string
	var level, idx uint64
	var width uint8
	if rest, ok := strings.CutPrefix(p, "entries/"); ok {
		if idx, width, err = layout.ParseTileIndexPartial(rest); err != nil {
			return notFound("not a tile path")
		}
		canonical = layout.EntriesPath(idx, width)
	} else {
		lv, rest, _ := strings.Cut(p, "/")
		if level, idx, width, err = layout.ParseTileLevelIndexPartial(lv, rest); err != nil {
			return notFound("not a tile path")
		}
		canonical = layout.TilePath(level, idx, width)
	}
	if canonical != "tile/"+p {
		return notFound("not a canonical tile path")
	}
	if width > 0 {
		// A partial tile or bundle is served only while it is the one the
		// published tree head implies: one it superseded (a narrower
		// partial, or any partial of a tile now full) is not part of the
		// log any reader can check, so it is not served.
		_, size, _, err := ls.log.TreeHead(r.Context())
		if err != nil {
			return notFound("no tree head published yet")
		}
		if layout.PartialTileSize(level, idx, size) != width {
			return notFound("a partial tile the published tree head has superseded")
		}
	}
	return ls.serveResource(w, r, canonical, "no such tile", "application/octet-stream", "public, max-age=31536000, immutable")
}

// WitnessStatus is one witness of the policy and whether it cosigned the
// latest tree head.
type WitnessStatus struct {
	Name       string     `json:"name"`
	Key        string     `json:"key"`
	URL        string     `json:"url,omitempty"`
	Cosigned   bool       `json:"cosigned"`
	CosignedAt *time.Time `json:"cosigned_at,omitempty"`
}

// LogStatus is the answer of GET /api/v1/log.
type LogStatus struct {
	Origin         string          `json:"origin"`
	VerifierKey    string          `json:"verifier_key"`
	TreeSize       uint64          `json:"tree_size"`
	RootHash       []byte          `json:"root_hash"`
	TreeHead       string          `json:"tree_head"`
	PublishedAt    *time.Time      `json:"published_at,omitempty"`
	IntegratedSize uint64          `json:"integrated_size"`
	Witnesses      []WitnessStatus `json:"witnesses"`
	Quorum         string          `json:"quorum,omitempty"`
	QuorumMet      bool            `json:"quorum_met"`
	Warnings       []string        `json:"warnings,omitempty"`
}

func (ls *logServer) status(ctx context.Context) (*LogStatus, error) {
	st := &LogStatus{Origin: ls.log.Origin(), VerifierKey: ls.opts.VerifierKey, Witnesses: []WitnessStatus{}}
	size, err := ls.log.Size(ctx)
	if err != nil {
		return nil, err
	}
	st.IntegratedSize = size
	raw, treeSize, root, err := ls.log.TreeHead(ctx)
	switch {
	case errors.Is(err, ledger.ErrNotFound):
		st.Warnings = append(st.Warnings, "no tree head has been published yet")
	case err != nil:
		return nil, err
	default:
		st.TreeSize, st.RootHash, st.TreeHead = treeSize, root, string(raw)
	}
	if t, err := ls.log.TreeHeadTime(); err == nil {
		st.PublishedAt = &t
		if size > treeSize && time.Since(t) > 5*ls.log.CheckpointInterval()+10*time.Second {
			st.Warnings = append(st.Warnings, fmt.Sprintf("%d records are durable but no tree head covering them has been published since %s: publication is held until the witness policy is met", size-treeSize, t.UTC().Format(time.RFC3339)))
		}
	}
	st.QuorumMet = true
	if p := ls.opts.Policy; p != nil {
		st.Quorum = p.Quorum
		for _, m := range p.Witnesses {
			ws := WitnessStatus{Name: m.Name, Key: m.Key, URL: m.URL}
			if n, err := note.Open(raw, note.VerifierList(m.Verifier)); err == nil && len(n.Sigs) == 1 {
				ws.Cosigned = true
				if t, err := fnote.CoSigV1Timestamp(n.Sigs[0]); err == nil {
					ws.CosignedAt = &t
				}
			}
			st.Witnesses = append(st.Witnesses, ws)
		}
		st.QuorumMet = raw != nil && p.Satisfied(raw)
		if raw != nil && !st.QuorumMet {
			st.Warnings = append(st.Warnings, "the latest tree head does not carry the cosignatures the witness policy asks for (published while the witnesses were unreachable)")
		}
	}
	return st, nil
}

func (s *Server) logStatus(w http.ResponseWriter, r *http.Request) error {
	ls, err := s.logState()
	if err != nil {
		return err
	}
	st, err := ls.status(r.Context())
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, st)
}

// logIndex is a plain-text page for people: what the log is, its key, its
// latest tree head and which witnesses cosigned it.
func (s *Server) logIndex(w http.ResponseWriter, r *http.Request) error {
	ls, err := s.logState()
	if err != nil {
		return err
	}
	st, err := ls.status(r.Context())
	if err != nil {
		return err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "corridor public log (C2SP tlog-tiles)\n\norigin: %s\nverifier key: %s\ntree size: %d\n", st.Origin, st.VerifierKey, st.TreeSize)
	if st.PublishedAt != nil {
		fmt.Fprintf(&b, "published: %s\n", st.PublishedAt.UTC().Format(time.RFC3339))
	}
	if ls.opts.Policy != nil {
		fmt.Fprintf(&b, "\nwitnesses (quorum %s, met: %t):\n", st.Quorum, st.QuorumMet)
		for _, ws := range st.Witnesses {
			mark := "did not cosign"
			if ws.Cosigned {
				mark = "cosigned"
				if ws.CosignedAt != nil {
					mark += " at " + ws.CosignedAt.UTC().Format(time.RFC3339)
				}
			}
			fmt.Fprintf(&b, "  %s %s: %s\n", ws.Name, ws.Key, mark)
		}
	} else {
		fmt.Fprintf(&b, "\nwitnesses: none configured\n")
	}
	for _, wn := range st.Warnings {
		fmt.Fprintf(&b, "\nWARNING: %s\n", wn)
	}
	fmt.Fprintf(&b, "\nresources: checkpoint, key, tile/<L>/<N>, tile/entries/<N>\n\n%s", st.TreeHead)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, err = w.Write(b.Bytes())
	return err
}

// ConsistencyProof is the answer of GET /api/v1/log/consistency.
type ConsistencyProof struct {
	From  uint64   `json:"from"`
	To    uint64   `json:"to"`
	Proof [][]byte `json:"proof"`
}

func (s *Server) logConsistency(w http.ResponseWriter, r *http.Request) error {
	ls, err := s.logState()
	if err != nil {
		return err
	}
	_, published, _, err := ls.log.TreeHead(r.Context())
	if errors.Is(err, ledger.ErrNotFound) {
		return notFound("no tree head published yet")
	}
	if err != nil {
		return err
	}
	from, err := intParam(r, "from", 0, 0, int64(published))
	if err != nil {
		return err
	}
	to, err := intParam(r, "to", int64(published), from, int64(published))
	if err != nil {
		return err
	}
	p, err := ls.log.ConsistencyProof(r.Context(), uint64(from), uint64(to))
	if err != nil {
		return err
	}
	if p == nil {
		p = [][]byte{}
	}
	return writeJSON(w, http.StatusOK, ConsistencyProof{From: uint64(from), To: uint64(to), Proof: p})
}

// receipt builds the receipt of the entry at index under the latest
// published tree head.
func (ls *logServer) receipt(ctx context.Context, index uint64) (*receipt.Receipt, error) {
	raw, size, _, err := ls.log.TreeHead(ctx)
	if errors.Is(err, ledger.ErrNotFound) {
		return nil, errNotPublished
	}
	if err != nil {
		return nil, err
	}
	if index >= size {
		return nil, errNotPublished
	}
	var entry []byte
	if err := ls.log.Entries(ctx, index, index+1, func(_ uint64, data []byte) error { entry = data; return nil }); err != nil {
		return nil, err
	}
	p, err := ls.log.InclusionProof(ctx, index, size)
	if err != nil {
		return nil, err
	}
	return &receipt.Receipt{Entry: entry, Index: index, Proof: p, TreeHead: raw}, nil
}

var errNotPublished = &corridor.Error{Code: corridor.CodeNotFound, Field: "id", Reason: "the record is durable but not yet in a published tree head; retry in a few seconds"}

func (s *Server) recordReceipt(w http.ResponseWriter, r *http.Request) error {
	ls, err := s.logState()
	if err != nil {
		return err
	}
	rec, err := s.app.Store().RecordByID(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	rc, err := ls.receipt(r.Context(), rec.Index)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf("inline; filename=%q", r.PathValue("id")+".tlog-proof"))
	_, err = w.Write(rc.Marshal())
	return err
}

// errPublishTimeout: no tree head covered the records in time.
var errPublishTimeout = errors.New("not yet published")

// PublishedResult is one answer of POST /api/v1/records?wait=published: the
// result and its receipt (C2SP tlog-proof text).
type PublishedResult struct {
	app.Result
	Receipt string `json:"receipt"`
}

// waitPublished waits until a tree head covers every result, then returns
// each with its receipt.
func (s *Server) waitPublished(ctx context.Context, res []app.Result) ([]PublishedResult, error) {
	ls, err := s.logState()
	if err != nil {
		return nil, err
	}
	var highest uint64
	for _, x := range res {
		highest = max(highest, x.Index)
	}
	wctx, cancel := context.WithTimeout(ctx, ls.opts.PublishWait)
	defer cancel()
	if err := ls.log.WaitPublished(wctx, highest); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("%w: the records are durable (indices up to %d) but no tree head covering them was published within %s (are the witnesses reachable?); fetch the receipts later from /api/v1/records/{id}/receipt", errPublishTimeout, highest, ls.opts.PublishWait)
		}
		return nil, err
	}
	out := make([]PublishedResult, len(res))
	for i, x := range res {
		rc, err := ls.receipt(ctx, x.Index)
		if err != nil {
			return nil, err
		}
		out[i] = PublishedResult{Result: x, Receipt: string(rc.Marshal())}
	}
	return out, nil
}
