// Package receipt makes and checks corridor's receipts: offline-verifiable
// proofs, in the C2SP tlog-proof form, that a record is in the public log
// under a signed, witnessed tree head.
//
//	c2sp.org/tlog-proof@v1
//	extra <base64 of the log entry: the record's canonical JSON>
//	index <log index>
//	<inclusion proof hashes, base64, one a line>
//	<empty line>
//	<signed tree head with its cosignatures>
//
// The "extra" line carries the entry itself, so one file is enough to
// check; a verifier that holds the record from elsewhere compares the two.
package receipt

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	flog "github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"

	"corridor/record"
	"corridor/witness"
)

const header = "c2sp.org/tlog-proof@v1"

// Receipt is a parsed receipt.
type Receipt struct {
	Entry    []byte   // the log entry (from the extra line)
	Index    uint64   // its log index
	Proof    [][]byte // inclusion proof in the tree of TreeHead
	TreeHead []byte   // signed note, with cosignatures
}

// Marshal writes the receipt in the C2SP tlog-proof form.
func (r *Receipt) Marshal() []byte {
	var b bytes.Buffer
	b.WriteString(header + "\n")
	if r.Entry != nil {
		b.WriteString("extra " + base64.StdEncoding.EncodeToString(r.Entry) + "\n")
	}
	fmt.Fprintf(&b, "index %d\n", r.Index)
	for _, h := range r.Proof {
		b.WriteString(base64.StdEncoding.EncodeToString(h) + "\n")
	}
	b.WriteString("\n")
	b.Write(r.TreeHead)
	return b.Bytes()
}

// Parse reads a receipt.
func Parse(data []byte) (*Receipt, error) {
	head, treeHead, ok := bytes.Cut(data, []byte("\n\n"))
	if !ok {
		return nil, errors.New("receipt: no empty line before the tree head")
	}
	lines := strings.Split(string(head), "\n")
	if lines[0] != header {
		return nil, fmt.Errorf("receipt: first line is %q, want %q", lines[0], header)
	}
	lines = lines[1:]
	r := &Receipt{TreeHead: treeHead}
	if len(lines) > 0 && strings.HasPrefix(lines[0], "extra ") {
		e, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(lines[0], "extra "))
		if err != nil {
			return nil, fmt.Errorf("receipt: extra line: %w", err)
		}
		r.Entry = e
		lines = lines[1:]
	}
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "index ") {
		return nil, errors.New("receipt: no index line")
	}
	idx, err := strconv.ParseUint(strings.TrimPrefix(lines[0], "index "), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("receipt: index line: %w", err)
	}
	r.Index = idx
	for _, l := range lines[1:] {
		h, err := base64.StdEncoding.DecodeString(l)
		if err != nil || len(h) != rfc6962.DefaultHasher.Size() {
			return nil, fmt.Errorf("receipt: proof line %q is not a base64 SHA-256 hash", l)
		}
		r.Proof = append(r.Proof, h)
	}
	if len(r.Proof) > 63 {
		return nil, fmt.Errorf("receipt: proof has %d hashes, at most 63 allowed", len(r.Proof))
	}
	return r, nil
}

// Result is what a verified receipt establishes.
type Result struct {
	Record    *record.Record
	Index     uint64
	Origin    string
	TreeSize  uint64
	Cosigners []string
}

// Verify checks the receipt against a policy, which must name the log key:
// the tree head's signature by the log, its origin, its cosignatures
// against the quorum, and the inclusion of the entry at the index. If
// given is not nil it must be the entry the receipt proves.
func Verify(r *Receipt, policy *witness.Policy, given []byte) (*Result, error) {
	if policy == nil || policy.Log == nil {
		return nil, errors.New("receipt: the policy names no log key")
	}
	n, err := note.Open(r.TreeHead, note.VerifierList(policy.Log))
	if err != nil {
		return nil, fmt.Errorf("receipt: tree head is not signed by the log key %s: %w", policy.Log.Name(), err)
	}
	var cp flog.Checkpoint
	if _, err := cp.Unmarshal([]byte(n.Text)); err != nil {
		return nil, fmt.Errorf("receipt: tree head: %w", err)
	}
	if cp.Origin != policy.Log.Name() {
		return nil, fmt.Errorf("receipt: tree head origin %q is not the log's %q", cp.Origin, policy.Log.Name())
	}
	if err := policy.Check(r.TreeHead); err != nil {
		return nil, fmt.Errorf("receipt: %w", err)
	}
	entry := r.Entry
	if given != nil {
		if entry != nil && !bytes.Equal(entry, given) {
			return nil, errors.New("receipt: the record given differs from the one in the receipt")
		}
		entry = given
	}
	if entry == nil {
		return nil, errors.New("receipt: no record: the receipt has no extra line and none was given")
	}
	if r.Index >= cp.Size {
		return nil, fmt.Errorf("receipt: index %d is outside the tree of size %d", r.Index, cp.Size)
	}
	leaf := rfc6962.DefaultHasher.HashLeaf(entry)
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, r.Index, cp.Size, leaf, r.Proof, cp.Hash); err != nil {
		return nil, fmt.Errorf("receipt: the record is not at index %d of the tree of size %d: %w", r.Index, cp.Size, err)
	}
	rec, err := record.ParseEntry(entry)
	if err != nil {
		return nil, fmt.Errorf("receipt: %w", err)
	}
	return &Result{Record: rec, Index: r.Index, Origin: cp.Origin, TreeSize: cp.Size, Cosigners: policy.Cosigners(r.TreeHead)}, nil
}
