package corridor

import (
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
)

// Limits and kinds of evidence files (see docs/API.md "Evidence files").
const (
	MaxFileSize = 20 << 20 // bytes of one file, after its metadata is stripped
	MaxFiles    = 10       // files attached to one record
)

// FileTypes are the media types an evidence file may have: photographs,
// scans and letters as PDF, and plain text.
var FileTypes = []string{"image/jpeg", "image/png", "image/webp", "application/pdf", "text/plain"}

// IsImage reports whether a file of media type t is a photograph, shown
// on pages as a thumbnail.
func IsImage(t string) bool { return strings.HasPrefix(t, "image/") }

// Attachment is an evidence file a record points to: a photograph, a
// waybill, a letter. The record carries the file's SHA-256 (of its bytes
// as stored, metadata stripped), so the log proves which file was meant;
// the file itself is kept beside the log, not in it. A restricted file (a
// face, a plate) carries a salted commitment to its SHA-256 instead, like
// other personal data, and is never published.
type Attachment struct {
	SHA256     string `json:"sha256,omitempty"`
	Commitment string `json:"commitment,omitempty"`
	MediaType  string `json:"media_type"`
	Size       int64  `json:"size"`
	Caption    string `json:"caption,omitempty"`
}

// Restricted reports whether the file is published as a commitment only.
func (a Attachment) Restricted() bool { return a.Commitment != "" }

// Attacher is a payload that may carry evidence files.
type Attacher interface {
	Attachments() []Attachment
}

func (i *Incident) Attachments() []Attachment        { return i.Files }
func (e *CheckpointEvent) Attachments() []Attachment { return e.Files }
func (s *Statement) Attachments() []Attachment       { return s.Files }
func (d *DeliveryConfirm) Attachments() []Attachment { return d.Files }
func (m *ConvoyMove) Attachments() []Attachment      { return m.Files }

func (i *Incident) Commitments() []string        { return fileCommitments(i.Files) }
func (e *CheckpointEvent) Commitments() []string { return fileCommitments(e.Files) }
func (s *Statement) Commitments() []string       { return fileCommitments(s.Files) }
func (d *DeliveryConfirm) Commitments() []string { return fileCommitments(d.Files) }
func (m *ConvoyMove) Commitments() []string      { return fileCommitments(m.Files) }

func fileCommitments(fs []Attachment) []string {
	var out []string
	for _, f := range fs {
		if f.Restricted() {
			out = append(out, f.Commitment)
		}
	}
	return out
}

// IsSHA256 reports whether s is a SHA-256 in lower-case hex.
func IsSHA256(s string) bool {
	if len(s) != 64 || strings.ToLower(s) != s {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// checkFiles validates the files attached to a record.
func checkFiles(fs []Attachment) error {
	if len(fs) > MaxFiles {
		return invalid("files", "%d files; a record may carry at most %d", len(fs), MaxFiles)
	}
	seen := map[string]bool{}
	for i, f := range fs {
		field := fmt.Sprintf("files[%d]", i)
		switch {
		case f.SHA256 == "" && f.Commitment == "":
			return invalid(field+".sha256", "is required: the SHA-256 of the file as uploaded (or, for a restricted file, commitment)")
		case f.SHA256 != "" && f.Commitment != "":
			return invalid(field+".commitment", "a file is either public (sha256) or restricted (commitment), not both")
		case f.SHA256 != "" && !IsSHA256(f.SHA256):
			return invalid(field+".sha256", "must be 64 lower-case hex characters")
		}
		if err := checkCommitment(field+".commitment", f.Commitment); err != nil {
			return err
		}
		if !slices.Contains(FileTypes, f.MediaType) {
			return invalid(field+".media_type", "%q is not one of %s", f.MediaType, strings.Join(FileTypes, ", "))
		}
		if f.Size < 1 || f.Size > MaxFileSize {
			return invalid(field+".size", "must be 1 to %d bytes", MaxFileSize)
		}
		if err := checkText(field+".caption", f.Caption, MaxShortText*2, false); err != nil {
			return err
		}
		key := f.SHA256 + f.Commitment
		if seen[key] {
			return invalid(field, "the same file is attached twice")
		}
		seen[key] = true
	}
	return nil
}
