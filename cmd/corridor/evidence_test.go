package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"image"
	"image/jpeg"
	pngenc "image/png"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"corridor"
	"corridor/evidence"
	"corridor/internal/testfiles"
)

// clientDemo serves a demo in-process for the client commands, with no
// server, token or key taken from the environment, and returns it, its
// data folder and the folder of its parties' keys and tokens.
func clientDemo(t *testing.T) (*server, string, string) {
	t.Helper()
	for _, v := range []string{"CORRIDOR_SERVER", "CORRIDOR_TOKEN", "CORRIDOR_KEY"} {
		t.Setenv(v, "")
	}
	dir := filepath.Join(t.TempDir(), "demo")
	s := startInProcess(t, "demo", "--data", dir, "--addr", "127.0.0.1:0")
	return s, dir, filepath.Join(dir, "demo-keys")
}

// A monitor reports an incident with a photograph from the command line,
// with no id typed; the public photo has no GPS left; the audit checks
// the file against its hash, and fails naming it once it is changed on
// disk.
func TestIncidentWithPhotoThenAudit(t *testing.T) {
	s, dir, keys := clientDemo(t)
	photo := filepath.Join(t.TempDir(), "bridge.jpg")
	if err := os.WriteFile(photo, testfiles.PhotoWithGPS(), 0o644); err != nil {
		t.Fatal(err)
	}
	report := []string{"incident", "report", "--server", s.URL, "--key", filepath.Join(keys, "monitor.key"), "--token-file", filepath.Join(keys, "monitor.token"),
		"--category", "restriction-of-movement", "--occurred", "2023-08-30", "--reported", "2023-08-31", "--route", "lachin-corridor", "--place", "kornidzor",
		"--description", "Lorries stopped before the bridge.", "--file", photo + "=Lorries waiting before the bridge"}
	code, out, errOut := runCLI(t, report...)
	if code != 0 {
		t.Fatalf("incident report: %d\n%s%s", code, out, errOut)
	}
	m := recordedLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no \"recorded\" line in %q", out)
	}
	if code, again, _ := runCLI(t, report...); code != 0 || !strings.Contains(again, "already recorded") {
		t.Errorf("the same report again: %d %q; want a retry that writes nothing", code, again)
	}
	var rec struct {
		Record struct {
			Payload corridor.Incident `json:"payload"`
		} `json:"record"`
	}
	if err := getJSONInto(s.URL, "/api/v1/records/"+m[2], &rec); err != nil {
		t.Fatal(err)
	}
	files := rec.Record.Payload.Files
	if len(files) != 1 || files[0].Caption != "Lorries waiting before the bridge" || files[0].MediaType != "image/jpeg" {
		t.Fatalf("files of the incident: %+v", files)
	}
	sum := files[0].SHA256
	resp, err := http.Get(s.URL + "/files/" + sum)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || bytes.Contains(body, []byte("GPSLatitude")) || bytes.Contains(body, []byte("Exif\x00")) {
		t.Fatalf("the public photo: %d, %d bytes, GPS left: %v", resp.StatusCode, len(body), bytes.Contains(body, []byte("GPSLatitude")))
	}
	// The published tree head catches up with the records (every second
	// or so); the audit reads the log as it publishes it.
	size := logSize(t, s.URL)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		var st struct {
			TreeSize uint64 `json:"tree_size"`
		}
		if err := getJSONInto(s.URL, "/api/v1/log", &st); err == nil && st.TreeSize >= size {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no tree head of %d records published in 30 s", size)
		}
	}
	code, out, errOut = runCLI(t, "audit", "--quiet", s.URL)
	if code != 0 || !strings.Contains(out, "evidence files: 1 checked") {
		t.Fatalf("audit of the server: %d\n%s%s", code, out, errOut)
	}
	if code := s.stop(t); code != 0 {
		t.Fatalf("demo ended with %d", code)
	}

	code, out, _ = runCLI(t, "audit", "--quiet", "--dir", dir)
	if code != 0 || !strings.Contains(out, "evidence files: 1 checked") {
		t.Fatalf("audit of the folder: %d\n%s", code, out)
	}
	stored := filepath.Join(dir, "files", sum[:2], sum)
	b, err := os.ReadFile(stored)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(stored, b, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ = runCLI(t, "audit", "--quiet", "--dir", dir)
	if code == 0 || !strings.Contains(out, "PROBLEM: log index "+m[4]+": evidence file "+sum) || !strings.Contains(out, "changed") {
		t.Fatalf("audit after the photo was changed on disk: %d\n%s", code, out)
	}
	if err := os.Remove(stored); err != nil {
		t.Fatal(err)
	}
	if code, out, _ = runCLI(t, "audit", "--quiet", "--dir", dir); code == 0 || !strings.Contains(out, sum+" (image/jpeg of record "+m[2]+"): missing") {
		t.Fatalf("audit after the photo was removed: %d\n%s", code, out)
	}
}

// The French cities dispute their convoy's refusal from the command line
// (docs/API.md "Right of reply"); running it again is a retry; another
// organisation is refused, told who may reply.
func TestReplyCommand(t *testing.T) {
	s, _, keys := clientDemo(t)
	as := func(party string, args ...string) []string {
		return append([]string{"reply", "--server", s.URL, "--key", filepath.Join(keys, party+".key"), "--token-file", filepath.Join(keys, party+".token")}, args...)
	}
	reply := as("fr-cities", "--record", "convoy-fr-2023-08-refused", "--kind", "dispute", "--lang", "fr",
		"--text", "Le convoi avait l’accord des autorités arméniennes.")
	code, out, errOut := runCLI(t, reply...)
	if code != 0 || !recordedLine.MatchString(out) {
		t.Fatalf("reply: %d\n%s%s", code, out, errOut)
	}
	if code, again, _ := runCLI(t, reply...); code != 0 || !strings.Contains(again, "already recorded") {
		t.Errorf("the same reply again: %d %q", code, again)
	}
	var replies struct {
		Items []struct {
			Party, Kind, Text string
		} `json:"items"`
	}
	if err := getJSONInto(s.URL, "/api/v1/records/convoy-fr-2023-08-refused/replies", &replies); err != nil || len(replies.Items) != 1 ||
		replies.Items[0].Party != "fr-cities" || replies.Items[0].Kind != "dispute" {
		t.Fatalf("replies: %+v %v", replies.Items, err)
	}
	code, _, errOut = runCLI(t, as("arcs", "--record", "convoy-fr-2023-08-refused", "--kind", "acknowledge")...)
	if code == 0 || !strings.Contains(errOut, "403") || !strings.Contains(errOut, "fr-cities") {
		t.Fatalf("a reply by another organisation: %d\n%s", code, errOut)
	}
}

// A monitor reads a news report with corridor intake, reviews the drafts
// and signs them (docs/INTAKE.md): one batch, each record's id from its
// content, so signing the file again writes nothing; a text with nothing
// recognisable proposes nothing and says so.
func TestIntakeThenSign(t *testing.T) {
	s, _, keys := clientDemo(t)
	text := filepath.Join(t.TempDir(), "report.txt")
	os.WriteFile(text, []byte("Deputy Foreign Minister Vahan Kostanyan said on Thursday that the Lachin corridor remains blocked. "+
		"Nineteen trucks carrying 361 tonnes of flour and sugar are still stuck at the Hakari bridge checkpoint.\n"), 0o644)
	code, out, errOut := runCLI(t, "intake", "--server", s.URL, "--published", "2023-07-28", "--json", text)
	if code != 0 {
		t.Fatalf("intake: %d\n%s", code, errOut)
	}
	var res struct {
		Drafts []struct {
			Type    string         `json:"type"`
			Payload map[string]any `json:"payload"`
			Source  struct {
				Sentence   string
				Start, End int
			} `json:"source"`
			Confidence float64        `json:"confidence"`
			Facts      map[string]any `json:"facts"`
		} `json:"drafts"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	types := ""
	for _, d := range res.Drafts {
		types += d.Type + " "
		if d.Source.Sentence == "" || d.Source.End <= d.Source.Start || d.Confidence <= 0 || d.Confidence > 1 {
			t.Errorf("draft %s: source %+v, confidence %v", d.Type, d.Source, d.Confidence)
		}
	}
	if types != "statement.record claim.record incident.report " {
		t.Fatalf("drafts %q", types)
	}
	if res.Drafts[0].Payload["said_on"] != "2023-07-27" || res.Drafts[2].Payload["checkpoint"] != "hakari" || res.Drafts[2].Facts["vehicles"] != float64(19) {
		t.Errorf("drafts read: %v / %v %v", res.Drafts[0].Payload, res.Drafts[2].Payload, res.Drafts[2].Facts)
	}
	drafts := filepath.Join(t.TempDir(), "drafts.json")
	os.WriteFile(drafts, []byte(out), 0o644)
	sign := []string{"intake", "--sign", "--server", s.URL, "--key", filepath.Join(keys, "monitor.key"), "--token-file", filepath.Join(keys, "monitor.token"), drafts}
	before := logSize(t, s.URL)
	if code, out, errOut := runCLI(t, sign...); code != 0 || strings.Count(out, "recorded ") != 3 {
		t.Fatalf("sign: %d\n%s%s", code, out, errOut)
	}
	if got := logSize(t, s.URL); got != before+3 {
		t.Fatalf("log %d -> %d, want 3 records", before, got)
	}
	if code, out, _ := runCLI(t, sign...); code != 0 || strings.Count(out, "already recorded") != 3 || logSize(t, s.URL) != before+3 {
		t.Errorf("signing again: %d\n%s", code, out)
	}
	os.WriteFile(text, []byte("The weather was fine all week and the market opened early.\n"), 0o644)
	if code, _, errOut := runCLI(t, "intake", text); code != 1 || !strings.Contains(errOut, "nothing is proposed") {
		t.Errorf("a text with nothing in it: %d %q", code, errOut)
	}
}

// TestPruneFiles: an upload never signed for is deleted once it is old
// enough; a public file and a restricted one that records point to are
// kept, and so is a recent upload; --dry-run deletes nothing.
func TestPruneFiles(t *testing.T) {
	s, dir, keys := clientDemo(t)
	tmp := t.TempDir()
	photo, face := filepath.Join(tmp, "road.jpg"), filepath.Join(tmp, "face.png")
	if err := os.WriteFile(photo, testfiles.PhotoWithGPS(), 0o644); err != nil {
		t.Fatal(err)
	}
	var png bytes.Buffer
	if err := pngenc.Encode(&png, testfiles.Picture(40, 30)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(face, png.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "incident", "report", "--server", s.URL, "--key", filepath.Join(keys, "monitor.key"), "--token-file", filepath.Join(keys, "monitor.token"),
		"--category", "restriction-of-movement", "--occurred", "2023-08-30", "--reported", "2023-08-31", "--route", "lachin-corridor",
		"--description", "Kept: its files are signed for.", "--file", photo+"=the road", "--restricted-file", face+"=a face")
	if code != 0 {
		t.Fatalf("incident report: %d\n%s%s", code, out, errOut)
	}
	token, _ := os.ReadFile(filepath.Join(keys, "monitor.token"))
	upload := func(img image.Image) string {
		var b bytes.Buffer
		if err := jpeg.Encode(&b, img, nil); err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/api/v1/files", &b)
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
		req.Header.Set("Content-Type", "image/jpeg")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var up struct{ SHA256 string }
		if err := json.NewDecoder(resp.Body).Decode(&up); err != nil || resp.StatusCode != http.StatusCreated {
			t.Fatalf("upload: %s %v", resp.Status, err)
		}
		return up.SHA256
	}
	abandoned, recent := upload(testfiles.Picture(50, 50)), upload(testfiles.Picture(60, 60))
	files := evidence.At(filepath.Join(dir, "files"))
	var all []string
	files.Walk(func(sum string, _ int64, _ time.Time) error { all = append(all, sum); return nil })
	if len(all) != 4 {
		t.Fatalf("%d files stored, want 4 (public, restricted, two uploads)", len(all))
	}
	// All but the recent upload were stored eight days ago.
	week := time.Now().Add(-8 * 24 * time.Hour)
	for _, sum := range all {
		if sum != recent {
			p, _ := files.Path(sum)
			os.Chtimes(p, week, week)
		}
	}
	if code, _, errOut := runCLI(t, "prune-files", "--data", dir, "--older-than", "10m"); code == 0 || !strings.Contains(errOut, "older-than") {
		t.Errorf("prune-files --older-than 10m: %d %q; want a refusal naming the flag", code, errOut)
	}
	code, out, errOut = runCLI(t, "prune-files", "--data", dir, "--dry-run")
	if code != 0 || strings.Count(out, "would delete ") != 2 || !strings.Contains(out, "would delete "+abandoned) {
		t.Fatalf("prune-files --dry-run: %d\n%s%s\nwant the one abandoned upload listed", code, out, errOut)
	}
	if _, err := files.Stat(abandoned); err != nil {
		t.Fatal("--dry-run deleted a file")
	}
	code, out, errOut = runCLI(t, "prune-files", "--data", dir)
	if code != 0 || !strings.Contains(out, "deleted 1 never signed for") {
		t.Fatalf("prune-files: %d\n%s%s", code, out, errOut)
	}
	for _, sum := range all {
		_, err := files.Stat(sum)
		if gone := errors.Is(err, evidence.ErrNotFound); gone != (sum == abandoned) {
			t.Errorf("file %s: deleted %v, want only the old upload never signed for deleted", sum[:12], gone)
		}
	}
}
