package witness

import (
	"bytes"
	"corridor/internal/durable"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	flog "github.com/transparency-dev/formats/log"
	fnote "github.com/transparency-dev/formats/note"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
)

// MaxRequest is the largest add-checkpoint body accepted.
const MaxRequest = 64 << 10

// Witness cosigns the tree heads of the logs it knows.
type Witness struct {
	signer note.Signer
	logs   map[string]note.Verifier // origin → log key
	dir    string
	lg     *slog.Logger

	mu sync.Mutex // serialises updates of the state files
}

// Config configures a witness.
type Config struct {
	// Signer makes the C2SP tlog-cosignature (cosignature/v1) signatures;
	// see NewSigner.
	Signer note.Signer
	// Logs maps each log's origin to its verifier.
	Logs map[string]note.Verifier
	// StateDir holds one file per log: the last tree head cosigned.
	StateDir string
	Logger   *slog.Logger
}

// New returns a witness over its state folder, creating the folder if needed.
func New(cfg Config) (*Witness, error) {
	if cfg.Signer == nil || cfg.StateDir == "" {
		return nil, errors.New("witness: a signer and a state folder are required")
	}
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("witness: %w", err)
	}
	lg := cfg.Logger
	if lg == nil {
		lg = slog.Default()
	}
	// A crash during save leaves its temporary file; the state it was
	// replacing is whole (the rename had not happened).
	left, _ := filepath.Glob(filepath.Join(cfg.StateDir, ".*.tmp-*"))
	for _, f := range left {
		os.Remove(f)
	}
	return &Witness{signer: cfg.Signer, logs: cfg.Logs, dir: cfg.StateDir, lg: lg}, nil
}

// State is what a witness keeps per log: the last tree head it cosigned.
type State struct {
	Origin   string    `json:"origin"`
	Size     uint64    `json:"size"`
	Root     []byte    `json:"root"`
	TreeHead string    `json:"tree_head"` // the signed note as cosigned, with this witness's cosignature
	At       time.Time `json:"cosigned_at"`
}

func (w *Witness) statePath(origin string) string {
	h := sha256.Sum256([]byte(origin))
	return filepath.Join(w.dir, hex.EncodeToString(h[:8])+".json")
}

// Latest returns the last tree head cosigned for origin (Size 0 if none).
func (w *Witness) Latest(origin string) (State, error) {
	b, err := os.ReadFile(w.statePath(origin))
	if errors.Is(err, os.ErrNotExist) {
		return State{Origin: origin}, nil
	}
	if err != nil {
		return State{}, err
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return State{}, fmt.Errorf("witness state %s: %w", w.statePath(origin), err)
	}
	if s.Origin != origin {
		return State{}, fmt.Errorf("witness state %s: holds origin %q, want %q", w.statePath(origin), s.Origin, origin)
	}
	return s, nil
}

// save writes the state durably (durable.WriteFile). A cosignature is
// answered only after this returns.
func (w *Witness) save(s State) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return durable.WriteFile(w.statePath(s.Origin), append(b, '\n'), 0o600)
}

// Error is a refusal, with the HTTP status C2SP tlog-witness gives it.
type Error struct {
	Status int
	Reason string
	// Size is set with 409 when the old size is not the witness's: the
	// answer body is then that size (text/x.tlog.size).
	Size *uint64
}

func (e *Error) Error() string {
	return fmt.Sprintf("%d %s: %s", e.Status, http.StatusText(e.Status), e.Reason)
}

func refuse(status int, format string, args ...any) *Error {
	return &Error{Status: status, Reason: fmt.Sprintf(format, args...)}
}

// AddCheckpoint handles one C2SP tlog-witness add-checkpoint request body:
//
//	old <size>
//	<consistency proof hashes, base64, one a line>
//	<empty line>
//	<signed tree head>
//
// It returns the cosignature line(s) to answer, or an *Error.
func (w *Witness) AddCheckpoint(body []byte) ([]byte, error) {
	head, treeHead, ok := bytes.Cut(body, []byte("\n\n"))
	if !ok {
		return nil, refuse(http.StatusBadRequest, "request has no empty line before the tree head")
	}
	lines := strings.Split(string(head), "\n")
	oldStr, found := strings.CutPrefix(lines[0], "old ")
	if !found {
		return nil, refuse(http.StatusBadRequest, "first line must be \"old <size>\"")
	}
	old, err := strconv.ParseUint(oldStr, 10, 64)
	if err != nil {
		return nil, refuse(http.StatusBadRequest, "old size %q is not a number", oldStr)
	}
	var hashes [][]byte
	for _, l := range lines[1:] {
		h, err := base64.StdEncoding.DecodeString(l)
		if err != nil || len(h) != sha256.Size {
			return nil, refuse(http.StatusBadRequest, "consistency proof line %q is not a base64 SHA-256 hash", l)
		}
		hashes = append(hashes, h)
	}
	if len(hashes) > 63 {
		return nil, refuse(http.StatusBadRequest, "consistency proof has %d hashes, at most 63 allowed", len(hashes))
	}

	origin, _, _ := strings.Cut(string(treeHead), "\n")
	v, known := w.logs[origin]
	if !known {
		return nil, refuse(http.StatusNotFound, "unknown log origin %q", origin)
	}
	n, err := note.Open(treeHead, note.VerifierList(v))
	if err != nil {
		return nil, refuse(http.StatusForbidden, "tree head is not signed by the key of %s: %v", origin, err)
	}
	var cp flog.Checkpoint
	if _, err := cp.Unmarshal([]byte(n.Text)); err != nil {
		return nil, refuse(http.StatusBadRequest, "tree head body: %v", err)
	}
	if len(cp.Hash) != sha256.Size {
		return nil, refuse(http.StatusBadRequest, "tree head root is %d bytes, want %d", len(cp.Hash), sha256.Size)
	}

	w.mu.Lock()
	defer w.mu.Unlock()
	st, err := w.Latest(origin)
	if err != nil {
		return nil, err
	}
	if old > cp.Size {
		return nil, refuse(http.StatusBadRequest, "old size %d is larger than the tree head's size %d", old, cp.Size)
	}
	if old != st.Size {
		e := refuse(http.StatusConflict, "old size %d is not the size %d of the last tree head this witness cosigned", old, st.Size)
		size := st.Size
		e.Size = &size
		return nil, e
	}
	if cp.Size < st.Size {
		return nil, refuse(http.StatusConflict, "tree head of size %d is smaller than the cosigned size %d", cp.Size, st.Size)
	}
	switch {
	case old == cp.Size:
		if old > 0 && !bytes.Equal(cp.Hash, st.Root) {
			w.lg.Warn("fork: refused a tree head", slog.String("origin", origin), slog.Uint64("size", cp.Size))
			return nil, refuse(http.StatusConflict, "fork: a tree of size %d with root %x was cosigned, this tree head gives the same size with root %x", cp.Size, st.Root, cp.Hash)
		}
		if len(hashes) > 0 {
			return nil, refuse(http.StatusUnprocessableEntity, "a tree head of the cosigned size needs an empty consistency proof")
		}
	case old > 0:
		if err := proof.VerifyConsistency(rfc6962.DefaultHasher, old, cp.Size, hashes, st.Root, cp.Hash); err != nil {
			w.lg.Warn("inconsistent tree head refused", slog.String("origin", origin), slog.Uint64("old", old), slog.Uint64("size", cp.Size))
			return nil, refuse(http.StatusUnprocessableEntity, "tree head of size %d (root %x) is not consistent with the cosigned tree head of size %d (root %x): %v; the log has forked or rewritten history", cp.Size, cp.Hash, old, st.Root, err)
		}
	}

	signed, err := note.Sign(&note.Note{Text: n.Text}, w.signer)
	if err != nil {
		return nil, fmt.Errorf("witness: cosign: %w", err)
	}
	_, sigs, _ := bytes.Cut(signed, []byte("\n\n"))
	// Keep the tree head as published: the log's signature and ours.
	var kept bytes.Buffer
	kept.Write(treeHead)
	kept.Write(sigs)
	if err := w.save(State{Origin: origin, Size: cp.Size, Root: cp.Hash, TreeHead: kept.String(), At: time.Now().UTC()}); err != nil {
		return nil, fmt.Errorf("witness: saving state: %w", err)
	}
	w.lg.Info("cosigned", slog.String("origin", origin), slog.Uint64("size", cp.Size))
	return sigs, nil
}

// Handler serves POST /add-checkpoint (C2SP tlog-witness) and GET / with
// the witness's key and the last tree head cosigned per log.
func (w *Witness) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /add-checkpoint", func(rw http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, MaxRequest))
		if err != nil {
			http.Error(rw, "request too large or unreadable: "+err.Error(), http.StatusBadRequest)
			return
		}
		sig, err := w.AddCheckpoint(body)
		var we *Error
		switch {
		case err == nil:
			rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
			rw.Write(sig)
		case errors.As(err, &we) && we.Size != nil:
			rw.Header().Set("Content-Type", "text/x.tlog.size")
			rw.WriteHeader(we.Status)
			fmt.Fprintf(rw, "%d\n", *we.Size)
		case errors.As(err, &we):
			http.Error(rw, we.Reason, we.Status)
		default:
			w.lg.Error("add-checkpoint", slog.Any("err", err))
			http.Error(rw, "internal error", http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("GET /{$}", func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(rw, "corridor witness %s\n", w.signer.Name())
		for origin := range w.logs {
			st, err := w.Latest(origin)
			if err != nil {
				fmt.Fprintf(rw, "\nlog %s: %v\n", origin, err)
				continue
			}
			fmt.Fprintf(rw, "\nlog %s: cosigned size %d at %s\n%s", origin, st.Size, st.At.Format(time.RFC3339), st.TreeHead)
		}
	})
	return mux
}

// NewSigner makes a cosignature/v1 signer from a signed-note private key
// ("PRIVATE+KEY+name+hash+key", as note.GenerateKey writes).
func NewSigner(skey string) (note.Signer, error) {
	s, err := fnote.NewSignerForCosignatureV1(strings.TrimSpace(skey))
	if err != nil {
		return nil, fmt.Errorf("witness key: %w", err)
	}
	return s, nil
}

// GenerateKey makes a witness key pair: the private key (signed-note form)
// and the cosignature/v1 verifier key to put in policies.
func GenerateKey(name string) (skey, vkey string, err error) {
	skey, v, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		return "", "", err
	}
	vkey, err = fnote.VKeyToCosignatureV1(v)
	if err != nil {
		return "", "", err
	}
	return skey, vkey, nil
}
