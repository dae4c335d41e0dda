// Package witness implements a C2SP tlog-witness: it cosigns a log's tree
// heads (C2SP tlog-cosignature) only when each is consistent with the last
// one it cosigned, and keeps that state durably. It also reads the witness
// policy (which witnesses, how many must cosign) that the log, receipts and
// the auditor share.
package witness

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"

	fnote "github.com/transparency-dev/formats/note"
	"github.com/transparency-dev/tessera"
	"golang.org/x/mod/sumdb/note"
)

// Policy is a trust policy in the Sigsum policy format as Tessera reads it
// (tessera.NewWitnessGroupFromPolicy), with corridor's one addition: the
// "log" line names the log's verifier key.
//
//	log <log vkey>
//	witness <name> <cosignature vkey> <url>
//	group <name> <n|any|all> <member>...
//	quorum <group or witness name | none>
//
// A witness URL may be left out where the policy is only used to check
// tree heads (receipts, audits), not to reach the witnesses.
type Policy struct {
	// Log checks the log's own signature on tree heads; nil if the policy
	// has no log line.
	Log note.Verifier
	// LogKey is the log's verifier key as written in the policy.
	LogKey string
	// Witnesses lists every witness the policy names, in order.
	Witnesses []Member
	// Group is the quorum, ready for ledger.Options.Witnesses.
	Group tessera.WitnessGroup
	// Quorum is the quorum line's argument, for messages.
	Quorum string
}

// Member is one witness of a policy.
type Member struct {
	Name     string // the policy's name for it
	Key      string // its cosignature verifier key
	URL      string // its root URL ("" if not given)
	Verifier note.Verifier
}

// noURL stands in for a missing witness URL when the policy is handed to
// tessera's parser, which requires one.
const noURL = "https://witness.invalid/"

// MaxPolicy is the largest policy ParsePolicy reads.
const MaxPolicy = 1 << 20

// ParsePolicy reads a policy.
func ParsePolicy(text []byte) (*Policy, error) {
	if len(text) > MaxPolicy {
		return nil, fmt.Errorf("policy: %d bytes, at most %d", len(text), MaxPolicy)
	}
	p := &Policy{}
	var forTessera bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(text))
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if i := strings.Index(line, "#"); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			forTessera.WriteString("\n")
			continue
		}
		switch f[0] {
		case "log":
			if len(f) < 2 || len(f) > 3 {
				return nil, fmt.Errorf("policy line %d: want \"log <verifier key> [url]\"", n)
			}
			v, err := note.NewVerifier(f[1])
			if err != nil {
				return nil, fmt.Errorf("policy line %d: log key: %w", n, err)
			}
			if p.Log != nil {
				return nil, fmt.Errorf("policy line %d: a second log line", n)
			}
			p.Log, p.LogKey = v, f[1]
			forTessera.WriteString("\n")
			continue
		case "witness":
			if len(f) == 3 {
				f = append(f, noURL)
			}
			if len(f) != 4 {
				return nil, fmt.Errorf("policy line %d: want \"witness <name> <verifier key> [url]\"", n)
			}
			v, err := fnote.NewVerifierForCosignatureV1(f[2])
			if err != nil {
				return nil, fmt.Errorf("policy line %d: witness %s key: %w", n, f[1], err)
			}
			m := Member{Name: f[1], Key: f[2], Verifier: v}
			if f[3] != noURL {
				m.URL = f[3]
			}
			p.Witnesses = append(p.Witnesses, m)
		case "quorum":
			if len(f) == 2 {
				p.Quorum = f[1]
			}
		}
		forTessera.WriteString(strings.Join(f, " ") + "\n")
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	g, err := tessera.NewWitnessGroupFromPolicy(forTessera.Bytes())
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	p.Group = g
	return p, nil
}

// ReadPolicy reads a policy file.
func ReadPolicy(file string) (*Policy, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	p, err := ParsePolicy(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return p, nil
}

// Reachable reports whether every witness has a URL, as a log needs.
func (p *Policy) Reachable() error {
	for _, m := range p.Witnesses {
		if m.URL == "" {
			return fmt.Errorf("witness %s has no URL: a log must be able to reach every witness of its policy", m.Name)
		}
	}
	return nil
}

// Cosigners returns the names of the policy's witnesses whose cosignature
// on the tree head verifies.
func (p *Policy) Cosigners(treeHead []byte) []string {
	var names []string
	for _, m := range p.Witnesses {
		if n, err := note.Open(treeHead, note.VerifierList(m.Verifier)); err == nil && len(n.Sigs) == 1 {
			names = append(names, m.Name)
		}
	}
	return names
}

// Satisfied reports whether the tree head carries enough valid
// cosignatures to meet the quorum. It does not check the log's signature.
func (p *Policy) Satisfied(treeHead []byte) bool { return p.Group.Satisfied(treeHead) }

// Check verifies the tree head's log signature (when the policy names the
// log key) and that its cosignatures meet the quorum; the error says which
// witnesses cosigned.
func (p *Policy) Check(treeHead []byte) error {
	if p.Log != nil {
		if _, err := note.Open(treeHead, note.VerifierList(p.Log)); err != nil {
			return fmt.Errorf("tree head is not signed by the log key %s: %w", p.Log.Name(), err)
		}
	}
	if !p.Satisfied(treeHead) {
		got := p.Cosigners(treeHead)
		return fmt.Errorf("tree head has too few cosignatures for quorum %q: cosigned by %d of %d witnesses (%s)",
			p.Quorum, len(got), len(p.Witnesses), strings.Join(append([]string{}, got...), ", "))
	}
	return nil
}
