package web

import (
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"

	"corridor"
	"corridor/evidence"
	"corridor/record"
)

// fileRows is how many evidence files a form takes.
const fileRows = 2

// fileFields are the inputs of the evidence file rows: the file, its
// caption and whether it is restricted, and (hidden) what an earlier
// post of the same form uploaded, so that a form sent back with an error
// does not need its files again over a slow link.
func fileFields() []string {
	var out []string
	for i := 0; i < fileRows; i++ {
		for _, f := range []string{"file", "caption", "restricted", "sha256", "media_type", "size"} {
			out = append(out, fmt.Sprintf("files[%d].%s", i, f))
		}
	}
	return out
}

// parseFormPost reads a form's body: URL-encoded, or multipart for a
// form that takes files (each at most corridor.MaxFileSize).
func parseFormPost(w http.ResponseWriter, r *http.Request, d formDef) error {
	limit := int64(1 << 20)
	if d.Files {
		limit += fileRows * (corridor.MaxFileSize + 4<<10)
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	var err error
	if d.Files && strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		err = r.ParseMultipartForm(4 << 20) // the rest spills to temporary files
	} else {
		err = r.ParseForm()
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errTooLarge
	}
	if err != nil {
		return errBadRequest
	}
	return nil
}

// FileError is the error shown by file row i, whichever of its parts it
// is about.
func (f *formData) FileError(i int) string {
	for _, p := range []string{"file", "sha256", "size", "media_type"} {
		if e := f.E(fmt.Sprintf("files[%d].%s", i, p)); e != "" {
			return e
		}
	}
	return f.E(fmt.Sprintf("files[%d]", i))
}

// takeFiles reads the files of the form's rows: each is checked, its
// metadata stripped and stored (evidence.Clean, Store.Put), or taken from
// what an earlier post uploaded; a refused file is shown against its row.
// A restricted file is attached as a salted commitment.
func (s *Server) takeFiles(r *http.Request, f *formData) error {
	files := s.node.App.Files()
	if files == nil {
		return nil
	}
	for i := range f.FileRows {
		k := fmt.Sprintf("files[%d]", i)
		var a corridor.Attachment
		if fh := formFile(r, k+".file"); fh != nil {
			data, err := readPart(fh)
			if err != nil {
				return err
			}
			c, err := evidence.Clean(data, fh.Header.Get("Content-Type"))
			var fe *evidence.Error
			if errors.As(err, &fe) {
				f.fail(k+".file", f.L.T("error.invalid")+": "+fe.Reason)
				continue
			}
			if err != nil {
				return err
			}
			sum, err := files.Put(c.Data)
			if err != nil {
				return err
			}
			a = corridor.Attachment{SHA256: sum, MediaType: c.MediaType, Size: int64(len(c.Data))}
			f.Values.Set(k+".sha256", sum)
			f.Values.Set(k+".media_type", c.MediaType)
			f.Values.Set(k+".size", strconv.FormatInt(a.Size, 10))
		} else if sum := f.text(k + ".sha256"); sum != "" {
			size, err := strconv.ParseInt(f.text(k+".size"), 10, 64)
			if err != nil || !corridor.IsSHA256(sum) {
				f.fail(k+".file", f.L.T("error.invalid")+": choose the file again")
				continue
			}
			a = corridor.Attachment{SHA256: sum, MediaType: f.text(k + ".media_type"), Size: size}
		} else {
			continue
		}
		a.Caption = f.text(k + ".caption")
		if f.text(k+".restricted") != "" {
			value := a.SHA256
			salt := record.NewSalt()
			a.SHA256, a.Commitment = "", record.Commitment(salt, value)
			if f.private == nil {
				f.private = map[string]record.Opening{}
			}
			f.private[a.Commitment] = record.Opening{Value: value, Salt: salt}
		}
		f.attached = append(f.attached, a)
		f.rowOf["files"] = append(f.rowOf["files"], i)
	}
	return nil
}

// formFile is the file sent in an input, or nil if none was chosen.
func formFile(r *http.Request, name string) *multipart.FileHeader {
	if r.MultipartForm == nil {
		return nil
	}
	fhs := r.MultipartForm.File[name]
	if len(fhs) == 0 || fhs[0].Size == 0 {
		return nil
	}
	return fhs[0]
}

func readPart(fh *multipart.FileHeader) ([]byte, error) {
	rd, err := fh.Open()
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	return io.ReadAll(io.LimitReader(rd, corridor.MaxFileSize+1))
}
