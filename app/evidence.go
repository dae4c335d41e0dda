package app

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"corridor"
	"corridor/evidence"
	"corridor/record"
)

// Files is the store of evidence files (nil if there is none).
func (a *App) Files() *evidence.Store { return a.opts.Files }

// checkAttached makes sure every file a record points to was uploaded
// (POST /api/v1/files) and is stored as the record describes it: its
// SHA-256 (for a restricted file, the one its opening gives), size and
// media type. A record is never signed for a file the server cannot
// show.
func checkAttached(p corridor.Payload, private map[string]record.Opening, files *evidence.Store) error {
	a, ok := p.(corridor.Attacher)
	if !ok || len(a.Attachments()) == 0 {
		return nil
	}
	if files == nil {
		return &corridor.Error{Code: corridor.CodeInvalid, Field: "payload.files", Reason: "this server keeps no evidence files"}
	}
	for i, f := range a.Attachments() {
		field := fmt.Sprintf("payload.files[%d]", i)
		sum, at := f.SHA256, field+".sha256"
		if f.Restricted() {
			sum, at = private[f.Commitment].Value, "private."+f.Commitment
			if !corridor.IsSHA256(sum) {
				return &corridor.Error{Code: corridor.CodeInvalid, Field: at, Reason: "the opening of a restricted file's commitment is the file's SHA-256 (64 lower-case hex characters)"}
			}
		}
		if err := checkStored(files, sum, f); err != nil {
			if errors.Is(err, evidence.ErrNotFound) {
				return &corridor.Error{Code: corridor.CodeInvalid, Field: at, Reason: fmt.Sprintf("no file with SHA-256 %s was uploaded: send the file to POST /api/v1/files first", sum)}
			}
			var ce *corridor.Error
			if errors.As(err, &ce) {
				ce.Field = field + "." + ce.Field
				return ce
			}
			return err
		}
	}
	return nil
}

func checkStored(files *evidence.Store, sum string, f corridor.Attachment) error {
	ok, err := files.Check(sum)
	if err != nil {
		return err
	}
	if !ok {
		return &corridor.Error{Code: corridor.CodeInvalid, Field: "sha256", Reason: "the stored file no longer matches its SHA-256; upload it again"}
	}
	r, err := files.Open(sum)
	if err != nil {
		return err
	}
	defer r.Close()
	head := make([]byte, 512)
	n, _ := io.ReadFull(r, head)
	fi, err := r.Stat()
	if err != nil {
		return err
	}
	if fi.Size() != f.Size {
		return &corridor.Error{Code: corridor.CodeInvalid, Field: "size", Reason: fmt.Sprintf("the uploaded file is %d bytes; the record says %d", fi.Size(), f.Size)}
	}
	if got := mediaType(head[:n]); got != f.MediaType {
		return &corridor.Error{Code: corridor.CodeInvalid, Field: "media_type", Reason: fmt.Sprintf("the uploaded file is %s; the record says %s", got, f.MediaType)}
	}
	return nil
}

func mediaType(head []byte) string {
	t, _, _ := strings.Cut(http.DetectContentType(head), ";")
	return t
}
