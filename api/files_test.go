package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"image"
	"image/png"
	"net/http"
	"strings"
	"testing"

	"corridor"
	"corridor/client"
	"corridor/internal/testfiles"
	"corridor/record"
	"corridor/wire"
)

// TestEvidenceFiles: a monitor uploads a photograph taken at a
// checkpoint and reports an incident that points to it. The public sees
// the photo with no trace of where, when or by whom it was taken, and a
// thumbnail; a file no record points to, or a restricted one, is never
// served.
func TestEvidenceFiles(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	mon := e.keys["monitor"]
	photo := testfiles.PhotoWithGPS()
	up, err := e.cl.Upload(ctx, photo, "image/jpeg")
	if err != nil {
		t.Fatal(err)
	}
	if up.MediaType != "image/jpeg" || strings.Join(up.Stripped, ",") != "EXIF,XMP,comment" || up.Size >= int64(len(photo)) {
		t.Fatalf("upload: %+v (sent %d bytes)", up, len(photo))
	}
	if r := e.do(http.MethodGet, "/files/"+up.SHA256, nil); r.Status != http.StatusNotFound {
		t.Fatalf("a file no record points to is served: %d", r.Status)
	}

	incident := func(id string, files ...corridor.Attachment) *corridor.Incident {
		return &corridor.Incident{ID: id, Category: "restriction-of-movement", Occurred: "2023-08-30", Reported: "2023-08-31",
			Route: "lachin-corridor", Place: "kornidzor", Description: "Lorries stopped before the bridge.", Verification: corridor.Unverified, Files: files}
	}
	att := corridor.Attachment{SHA256: up.SHA256, MediaType: up.MediaType, Size: up.Size, Caption: "Lorries waiting before the bridge"}
	if r := e.post(map[string]any{"records": []any{map[string]any{"record": sign(t, mon, "incident-photo", corridor.TypeIncident, 1, incident("incident-photo", att))}}}); r.Status != http.StatusCreated {
		t.Fatalf("incident with a photo: %d %s", r.Status, r.Body)
	}

	r := e.do(http.MethodGet, "/files/"+up.SHA256, nil)
	if r.Status != http.StatusOK || r.Type != "image/jpeg" {
		t.Fatalf("photo: %d %s", r.Status, r.Type)
	}
	if sum := sha256.Sum256(r.Body); hex.EncodeToString(sum[:]) != up.SHA256 {
		t.Fatal("the photo served is not the file the record names")
	}
	for _, leak := range []string{"GPSLatitude", "BodySerialNumber", "field officer"} {
		if bytes.Contains(r.Body, []byte(leak)) {
			t.Errorf("the public photo holds %q", leak)
		}
	}
	resp, err := http.Get(e.srv.URL + "/files/" + up.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Errorf("photo headers %v", resp.Header)
	}
	th := e.do(http.MethodGet, "/files/"+up.SHA256+"/thumb", nil)
	if th.Status != http.StatusOK || th.Type != "image/jpeg" {
		t.Fatalf("thumbnail: %d %s", th.Status, th.Type)
	}
	if cfg, _, err := image.DecodeConfig(bytes.NewReader(th.Body)); err != nil || cfg.Width != 320 || cfg.Height != 240 {
		t.Fatalf("thumbnail %d×%d, %v", cfg.Width, cfg.Height, err)
	}
	var incidents struct {
		Items []struct {
			ID    string                `json:"id"`
			Files []corridor.Attachment `json:"files"`
		} `json:"items"`
	}
	e.get("/api/v1/incidents", &incidents)
	found := false
	for _, it := range incidents.Items {
		if it.ID == "incident-photo" {
			found = len(it.Files) == 1 && it.Files[0] == att
		}
	}
	if !found {
		t.Errorf("the incident does not list its photo: %+v", incidents.Items)
	}

	// A restricted photo (a face): the record carries a commitment, the
	// file is kept but never served.
	var face bytes.Buffer
	png.Encode(&face, testfiles.Picture(40, 40))
	upFace, err := e.cl.Upload(ctx, face.Bytes(), "image/png")
	if err != nil {
		t.Fatal(err)
	}
	salt := record.NewSalt()
	commit := record.Commitment(salt, upFace.SHA256)
	restricted := corridor.Attachment{Commitment: commit, MediaType: "image/png", Size: upFace.Size, Caption: "Driver at the checkpoint"}
	if r := e.post(map[string]any{"records": []any{map[string]any{"record": sign(t, mon, "incident-face", corridor.TypeIncident, 1, incident("incident-face", restricted)),
		"private": map[string]record.Opening{commit: {Value: upFace.SHA256, Salt: salt}}}}}); r.Status != http.StatusCreated {
		t.Fatalf("incident with a restricted photo: %d %s", r.Status, r.Body)
	}
	if r := e.do(http.MethodGet, "/files/"+upFace.SHA256, nil); r.Status != http.StatusNotFound {
		t.Errorf("a restricted file is served: %d", r.Status)
	}
	if rec := e.do(http.MethodGet, "/api/v1/records/incident-face", nil); bytes.Contains(rec.Body, []byte(upFace.SHA256)) {
		t.Error("the public record names the restricted file's SHA-256")
	}
}

// TestEvidenceFilesRefused: each bad file or bad pointer to one is
// refused naming the field, and nothing is written.
func TestEvidenceFilesRefused(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	mon := e.keys["monitor"]
	up, err := e.cl.Upload(ctx, testfiles.PhotoWithGPS(), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, typ string
		data      []byte
		status    int
		code      string
	}{
		{"over 20 MB", "image/jpeg", make([]byte, corridor.MaxFileSize+1), http.StatusRequestEntityTooLarge, "too-large"},
		{"a web page", "text/html", []byte("<html><body>hi</body></html>"), http.StatusUnsupportedMediaType, "unsupported-media-type"},
		{"a JPEG cut short", "image/jpeg", testfiles.PhotoWithGPS()[:900], http.StatusBadRequest, "invalid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.cl.Upload(ctx, tc.data, tc.typ)
			var pe *client.ProblemError
			if !errors.As(err, &pe) || pe.Status != tc.status || pe.Code != tc.code || pe.Field != "file" || pe.Detail == "" {
				t.Fatalf("got %v; want %d %s at file", err, tc.status, tc.code)
			}
		})
	}
	anon := client.New(e.srv.URL)
	if _, err := anon.Upload(ctx, testfiles.PhotoWithGPS(), ""); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("an anonymous upload: %v", err)
	}

	good := corridor.Attachment{SHA256: up.SHA256, MediaType: up.MediaType, Size: up.Size}
	for _, tc := range []struct {
		name  string
		file  corridor.Attachment
		field string
	}{
		{"never uploaded", corridor.Attachment{SHA256: strings.Repeat("ab", 32), MediaType: "image/jpeg", Size: 10}, "records[0].payload.files[0].sha256"},
		{"wrong size", func() corridor.Attachment { f := good; f.Size++; return f }(), "records[0].payload.files[0].size"},
		{"wrong type", func() corridor.Attachment { f := good; f.MediaType = "image/png"; return f }(), "records[0].payload.files[0].media_type"},
		{"not a hash", func() corridor.Attachment { f := good; f.SHA256 = "photo.jpg"; return f }(), "records[0].payload.files[0].sha256"},
		{"type not allowed", func() corridor.Attachment { f := good; f.MediaType = "video/mp4"; return f }(), "records[0].payload.files[0].media_type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.logSize()
			inc := &corridor.Incident{ID: "bad-file", Category: "restriction-of-movement", Occurred: "2023-08-30", Reported: "2023-08-31",
				Route: "lachin-corridor", Place: "kornidzor", Description: "Test.", Verification: corridor.Unverified, Files: []corridor.Attachment{tc.file}}
			r := e.post(map[string]any{"records": []*wire.Submission{{Record: sign(t, mon, "bad-file", corridor.TypeIncident, 1, inc)}}})
			if r.Status != http.StatusBadRequest {
				t.Fatalf("status %d: %s", r.Status, r.Body)
			}
			if p := r.problem(t); p.Field != tc.field {
				t.Fatalf("field %q (%s); want %q", p.Field, p.Detail, tc.field)
			}
			if e.logSize() != before {
				t.Fatal("a refused record was written")
			}
		})
	}
	if r := e.do(http.MethodGet, "/files/not-a-hash", nil); r.Status != http.StatusBadRequest || r.problem(t).Field != "sha256" {
		t.Fatalf("GET /files/not-a-hash: %d %s", r.Status, r.Body)
	}
}
