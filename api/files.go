package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"corridor"
	"corridor/app"
	"corridor/evidence"
	"corridor/wire"
)

// registerFiles adds the evidence file routes: uploads, and the public
// files and thumbnails that signed records point to.
func (s *Server) registerFiles(mux *http.ServeMux) {
	mux.Handle("POST /api/v1/files", s.handle(s.postFile))
	mux.Handle("GET /files/{sha256}", s.handle(s.getFile))
	mux.Handle("GET /files/{sha256}/thumb", s.handle(s.getThumb))
}

// postFile takes an evidence file as the request body (its media type in
// Content-Type), strips its metadata and stores it under its SHA-256. The
// file is not public until a signed record points to it.
func (s *Server) postFile(w http.ResponseWriter, r *http.Request) error {
	if s.app.ReadOnly() {
		return &app.ReadOnlyError{Writer: s.app.Writer(r.Context())}
	}
	if _, err := s.requireCaller(r); err != nil {
		return err
	}
	files := s.app.Files()
	if files == nil {
		return &corridor.Error{Code: corridor.CodeNotFound, Reason: "this server keeps no evidence files"}
	}
	if r.ContentLength > corridor.MaxFileSize {
		return &evidence.Error{Status: http.StatusRequestEntityTooLarge, Reason: "the file is larger than 20 MB (20971520 bytes)"}
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, corridor.MaxFileSize+1))
	if err != nil {
		return err
	}
	c, err := evidence.Clean(data, r.Header.Get("Content-Type"))
	if err != nil {
		return err
	}
	sum, err := files.Put(c.Data)
	if err != nil {
		return err
	}
	if c.Stripped == nil {
		c.Stripped = []string{}
	}
	return writeJSON(w, http.StatusCreated, wire.Uploaded{SHA256: sum, MediaType: c.MediaType, Size: int64(len(c.Data)), Stripped: c.Stripped})
}

// published finds the public file named in the path.
func (s *Server) published(r *http.Request) (corridor.Attachment, error) {
	sum := r.PathValue("sha256")
	if !corridor.IsSHA256(sum) {
		return corridor.Attachment{}, &corridor.Error{Code: corridor.CodeInvalid, Field: "sha256", Reason: "must be 64 lower-case hex characters"}
	}
	row, ok, err := s.app.Store().PublishedFile(r.Context(), sum)
	if err != nil {
		return corridor.Attachment{}, err
	}
	if !ok || s.app.Files() == nil {
		return corridor.Attachment{}, &corridor.Error{Code: corridor.CodeNotFound, Field: "sha256", Reason: "no signed record publishes a file with this SHA-256"}
	}
	return row.Attachment, nil
}

// fileHeaders: the type the record gave, never sniffed by the browser;
// nothing in the file may run; the bytes never change under the name.
func fileHeaders(w http.ResponseWriter, mediaType, etag string) {
	if mediaType == "text/plain" {
		mediaType += "; charset=utf-8"
	}
	h := w.Header()
	h.Set("Content-Type", mediaType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox")
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("ETag", `"`+etag+`"`)
}

// getFile serves a public evidence file (ranges too, so that a download
// cut on a slow link goes on where it stopped).
func (s *Server) getFile(w http.ResponseWriter, r *http.Request) error {
	f, err := s.published(r)
	if err != nil {
		return err
	}
	fh, err := s.app.Files().Open(f.SHA256)
	if errors.Is(err, evidence.ErrNotFound) {
		if err = s.fromWriter(r.Context(), f.SHA256); err == nil {
			fh, err = s.app.Files().Open(f.SHA256)
		}
	}
	if errors.Is(err, evidence.ErrNotFound) {
		return &corridor.Error{Code: corridor.CodeNotFound, Field: "sha256", Reason: "a record publishes this file but this server does not hold it"}
	}
	if err != nil {
		return err
	}
	defer fh.Close()
	fileHeaders(w, f.MediaType, f.SHA256)
	if f.MediaType == "application/pdf" || f.MediaType == "text/plain" {
		w.Header().Set("Content-Disposition", `inline; filename="`+f.SHA256[:12]+map[string]string{"application/pdf": ".pdf", "text/plain": ".txt"}[f.MediaType]+`"`)
	}
	http.ServeContent(w, r, "", time.Time{}, fh)
	return nil
}

// getThumb serves a JPEG thumbnail of a public photograph, made on the
// server.
func (s *Server) getThumb(w http.ResponseWriter, r *http.Request) error {
	f, err := s.published(r)
	if err != nil {
		return err
	}
	if !corridor.IsImage(f.MediaType) {
		return &corridor.Error{Code: corridor.CodeNotFound, Field: "sha256", Reason: "the file is " + f.MediaType + ", not an image: it has no thumbnail"}
	}
	b, err := s.app.Files().Thumb(f.SHA256)
	if errors.Is(err, evidence.ErrNotFound) {
		if err = s.fromWriter(r.Context(), f.SHA256); err == nil {
			b, err = s.app.Files().Thumb(f.SHA256)
		}
	}
	if errors.Is(err, evidence.ErrNotFound) {
		return &corridor.Error{Code: corridor.CodeNotFound, Field: "sha256", Reason: "a record publishes this file but this server does not hold it"}
	}
	if err != nil {
		return err
	}
	fileHeaders(w, "image/jpeg", f.SHA256+"-thumb")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(b))
	return nil
}

// fileClient fetches evidence files from the writer.
var fileClient = &http.Client{Timeout: 2 * time.Minute}

// fromWriter gives a read server a published file it does not hold yet:
// files are uploaded to the writer, so a read server fetches the file
// from it once, checks it against the SHA-256 the signed record names,
// and keeps it. It returns evidence.ErrNotFound when this is no read
// server, no writer is known, or the writer does not hold the file
// either; a copy that does not match is refused and not kept.
func (s *Server) fromWriter(ctx context.Context, sum string) error {
	writer := s.app.Writer(ctx)
	if !s.app.ReadOnly() || writer == "" {
		return evidence.ErrNotFound
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(writer, "/")+"/files/"+sum, nil)
	if err != nil {
		return err
	}
	resp, err := fileClient.Do(req)
	if err != nil {
		s.lg.Warn("evidence file not fetched from the writer", "sha256", sum, "writer", writer, "err", err)
		return evidence.ErrNotFound
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return evidence.ErrNotFound
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, corridor.MaxFileSize+1))
	if err != nil {
		return err
	}
	if got := evidence.Sum(data); got != sum {
		return fmt.Errorf("the writer %s served %d bytes with SHA-256 %s for evidence file %s", writer, len(data), got, sum)
	}
	_, err = s.app.Files().Put(data)
	return err
}
