package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"corridor"
	"corridor/evidence"
	"corridor/store"
)

// FileSource reads the public evidence files records point to. A file
// that is not there is ErrNoFile.
type FileSource interface {
	ReadFile(ctx context.Context, sum string) (io.ReadCloser, error)
}

// ErrNoFile: the source does not hold the file.
var ErrNoFile = errors.New("file not found")

// LocalFiles reads evidence files from a data folder's files/.
type LocalFiles struct{ Store *evidence.Store }

func (l LocalFiles) ReadFile(_ context.Context, sum string) (io.ReadCloser, error) {
	f, err := l.Store.Open(sum)
	if errors.Is(err, evidence.ErrNotFound) {
		return nil, ErrNoFile
	}
	return f, err
}

// HTTPFiles reads evidence files from a server's /files/.
type HTTPFiles struct {
	Base string // the server's URL
	HTTP *http.Client
}

func (h HTTPFiles) ReadFile(ctx context.Context, sum string) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(h.Base, "/")+"/files/"+sum, nil)
	if err != nil {
		return nil, err
	}
	c := h.HTTP
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	switch resp.StatusCode {
	case http.StatusOK:
		return resp.Body, nil
	case http.StatusNotFound:
		resp.Body.Close()
		return nil, ErrNoFile
	}
	resp.Body.Close()
	return nil, fmt.Errorf("GET /files/%s: %s", sum, resp.Status)
}

// checkFiles reads every public evidence file the replayed records point
// to and checks its bytes against the SHA-256 and size the record signed.
func checkFiles(ctx context.Context, src FileSource, rep *Report, st *store.Store) error {
	rows, err := st.PublishedFiles(ctx)
	if err != nil {
		return err
	}
	checked := map[string]bool{}
	for _, f := range rows {
		if checked[f.SHA256] {
			continue
		}
		checked[f.SHA256] = true
		what, err := checkFile(ctx, src, f.Attachment)
		if err != nil {
			return err
		}
		if what != "" {
			rep.problem(int64(f.LogIndex), "evidence file %s (%s of record %s): %s", f.SHA256, f.MediaType, f.Record, what)
		}
	}
	rep.Files = len(checked)
	return nil
}

// checkFile says what is wrong with one file, or "".
func checkFile(ctx context.Context, src FileSource, f corridor.Attachment) (string, error) {
	r, err := src.ReadFile(ctx, f.SHA256)
	if errors.Is(err, ErrNoFile) || errors.Is(err, os.ErrNotExist) {
		return "missing: the record points to it but it is not there", nil
	}
	if err != nil {
		return "", err
	}
	defer r.Close()
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(r, corridor.MaxFileSize+1))
	if err != nil {
		return "", err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != f.SHA256 {
		return fmt.Sprintf("changed: its bytes have SHA-256 %s, not the one the record signed", got), nil
	}
	if n != f.Size {
		return fmt.Sprintf("its size is %d bytes, the record says %d", n, f.Size), nil
	}
	return "", nil
}
