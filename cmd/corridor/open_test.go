package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/transparency-dev/tessera/api/layout"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"corridor"
	"corridor/app"
	"corridor/ledger"
	"corridor/record"
	"corridor/witness"
)

var witnessKeyLine = regexp.MustCompile(`witness key: (\S+)`)

// startWitness runs "corridor witness" in-process for the log with key vkey.
func startWitness(t *testing.T, name, vkey string) (url, key string) {
	t.Helper()
	dir := t.TempDir()
	s := startInProcess(t, "witness", "--log-key", vkey, "--key", filepath.Join(dir, "witness.key"), "--name", name,
		"--state", filepath.Join(dir, "state"), "--addr", "127.0.0.1:0")
	m := witnessKeyLine.FindStringSubmatch(s.Stdout.String())
	if m == nil {
		t.Fatalf("witness printed no key:\n%s", s.Stdout)
	}
	return s.URL, m[1]
}

func httpGet(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", url, resp.Status, b)
	}
	return b
}

// postStatement signs a statement as the demo monitor and posts it with
// ?wait=published, returning the receipt.
func postStatement(t *testing.T, dir, base, id string) string {
	t.Helper()
	k, err := record.ReadKeyFile(filepath.Join(dir, "demo-keys", "monitor.key"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := os.ReadFile(filepath.Join(dir, "demo-keys", "monitor.token"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := record.Sign(k, id, corridor.TypeStatement, 1, map[string]any{
		"id": id, "kind": "statement", "speaker": "Test speaker", "said_on": "2023-08-31",
		"medium": "test", "quote": "Witnessed.", "lang": "en", "about_routes": []any{"lachin-corridor"},
	})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"record": r})
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/records?wait=published", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST: %s: %s", resp.Status, rb)
	}
	var out struct {
		Results []struct {
			ID      string `json:"id"`
			Index   uint64 `json:"index"`
			Receipt string `json:"receipt"`
		} `json:"results"`
	}
	if err := json.Unmarshal(rb, &out); err != nil || len(out.Results) != 1 || out.Results[0].Receipt == "" {
		t.Fatalf("POST answer has no receipt (%v): %s", err, rb)
	}
	return out.Results[0].Receipt
}

// TestOpenVerification is the acceptance test of the public log: the demo
// under two witnesses, receipts, a standard tlog client, the audit, and an
// audit that catches a server whose projection was altered behind its back.
func TestOpenVerification(t *testing.T) {
	dir, _ := demoFolder(t)
	cfg, err := app.ReadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	w1, k1 := startWitness(t, "witness-one", cfg.Verifier)
	w2, k2 := startWitness(t, "witness-two", cfg.Verifier)
	policyFile := filepath.Join(t.TempDir(), "policy")
	policyText := fmt.Sprintf("log %s\nwitness one %s %s\nwitness two %s %s\ngroup both all one two\nquorum both\n", cfg.Verifier, k1, w1, k2, w2)
	if err := os.WriteFile(policyFile, []byte(policyText), 0o644); err != nil {
		t.Fatal(err)
	}
	policy, err := witness.ReadPolicy(policyFile)
	if err != nil {
		t.Fatal(err)
	}
	s := startInProcess(t, "demo", "--data", dir, "--addr", "127.0.0.1:0", "--witness-policy", policyFile)

	// A new record: its receipt carries both cosignatures.
	rc := postStatement(t, dir, s.URL, "witnessed-1")
	rcFile := filepath.Join(t.TempDir(), "witnessed-1.tlog-proof")
	os.WriteFile(rcFile, []byte(rc), 0o644)
	if code, out, errOut := runCLI(t, "receipt", "verify", "--policy", policyFile, rcFile); code != 0 {
		t.Fatalf("receipt verify: %d\n%s%s\nreceipt:\n%s", code, out, errOut, rc)
	} else {
		t.Log(strings.TrimSpace(out))
	}
	th := httpGet(t, s.URL+"/log/checkpoint")
	if got := policy.Cosigners(th); len(got) != 2 {
		t.Fatalf("published tree head cosigned by %v, want both witnesses:\n%s", got, th)
	}
	var st struct {
		QuorumMet bool `json:"quorum_met"`
		Witnesses []struct {
			Name     string `json:"name"`
			Cosigned bool   `json:"cosigned"`
		} `json:"witnesses"`
	}
	if err := json.Unmarshal(httpGet(t, s.URL+"/api/v1/log"), &st); err != nil || !st.QuorumMet || len(st.Witnesses) != 2 || !st.Witnesses[0].Cosigned || !st.Witnesses[1].Cosigned {
		t.Fatalf("log status: %+v (%v)", st, err)
	}
	// The dashboard's data page shows both witnesses and that they cosigned.
	page := string(httpGet(t, s.URL+"/data"))
	if !strings.Contains(page, "The witness quorum cosigned it.") || strings.Count(page, "✔") != 2 {
		t.Errorf("the data page does not show both witnesses cosigning:\n%s", page)
	}
	// The receipt served later is valid too.
	later := filepath.Join(t.TempDir(), "later.tlog-proof")
	if code, _, errOut := runCLI(t, "receipt", "get", "--out", later, s.URL, "witnessed-1"); code != 0 {
		t.Fatal(errOut)
	}
	if code, out, errOut := runCLI(t, "receipt", "verify", "--policy", policyFile, later); code != 0 {
		t.Fatalf("receipt verify (fetched later): %d\n%s%s", code, out, errOut)
	}

	standardClientVerifies(t, s.URL, cfg.Verifier)
	checkLogResources(t, s.URL, cfg.Verifier)

	// The audit of the live server passes.
	code, out, errOut := runCLI(t, "audit", "--quiet", "--policy", policyFile, s.URL)
	if code != 0 {
		t.Fatalf("audit: status %d\n%s\n%s", code, out, errOut)
	}
	t.Logf("audit:\n%s", out)
	if !strings.Contains(out, "cosigned by: one, two") {
		t.Errorf("audit output does not list both cosigners:\n%s", out)
	}

	// Alter one projected row behind the server's back: the audit names it.
	db := openProjection(t, dir)
	execOne(t, db, `UPDATE convoys SET status = 'delivered' WHERE id = 'am-2023-07'`)
	code, out, _ = runCLI(t, "audit", "--quiet", "--policy", policyFile, s.URL)
	if code != 1 {
		t.Fatalf("audit of a server with an altered row: status %d, want 1\n%s", code, out)
	}
	if !strings.Contains(out, "PROBLEM: GET /api/v1/convoys") || !strings.Contains(out, `"delivered"`) {
		t.Fatalf("audit does not report the altered convoy:\n%s", out)
	}
	t.Logf("audit of the altered server (as expected):\n%s", out)
	if code := s.stop(t); code != 0 {
		t.Fatalf("serve: status %d\n%s", code, s.Stderr)
	}
}

// standardClientVerifies checks the served log with golang.org/x/mod's
// sumdb packages alone: the tree head's signature, and the inclusion of a
// record chosen at random, with proof hashes read from /log/ tiles.
func standardClientVerifies(t *testing.T, base, vkey string) {
	t.Helper()
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	raw := httpGet(t, base+"/log/checkpoint")
	n, err := note.Open(raw, note.VerifierList(v))
	if err != nil {
		t.Fatalf("x/mod/sumdb/note does not verify the served tree head: %v", err)
	}
	lines := strings.SplitN(n.Text, "\n", 4)
	var size int64
	fmt.Sscan(lines[1], &size)
	root, err := tlog.ParseHash(lines[2])
	if err != nil {
		t.Fatal(err)
	}
	tree := tlog.Tree{N: size, Hash: root}
	index := rand.Int64N(size)

	// The entry, from its C2SP entry bundle.
	bundleIdx := uint64(index) / layout.EntryBundleWidth
	bundle := httpGet(t, base+"/log/"+layout.EntriesPath(bundleIdx, layout.PartialTileSize(0, bundleIdx, uint64(size))))
	var entry []byte
	for i, off := uint64(0), 0; ; i++ {
		l := int(bundle[off])<<8 | int(bundle[off+1])
		if i == uint64(index)%layout.EntryBundleWidth {
			entry = bundle[off+2 : off+2+l]
			break
		}
		off += 2 + l
	}
	p, err := tlog.ProveRecord(size, index, tlog.TileHashReader(tree, c2spTiles{t, base}))
	if err != nil {
		t.Fatalf("x/mod/sumdb/tlog cannot build the proof from /log/ tiles: %v", err)
	}
	if err := tlog.CheckRecord(p, size, root, index, tlog.RecordHash(entry)); err != nil {
		t.Fatalf("x/mod/sumdb/tlog: record %d is not in the tree: %v", index, err)
	}
	t.Logf("x/mod/sumdb/tlog verified the tree head (size %d) and the inclusion of record %d: %.60s…", size, index, entry)
}

// c2spTiles is a tlog.TileReader over the C2SP paths (which, unlike the
// sumdb's, do not name the tile height).
type c2spTiles struct {
	t    *testing.T
	base string
}

func (c2spTiles) Height() int { return 8 }

func (c c2spTiles) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, tl := range tiles {
		w := uint8(0)
		if tl.W < 256 {
			w = uint8(tl.W)
		}
		out[i] = httpGet(c.t, c.base+"/log/"+layout.TilePath(uint64(tl.L), uint64(tl.N), w))
	}
	return out, nil
}

func (c2spTiles) SaveTiles([]tlog.Tile, [][]byte) {}

// TestDemoLogHoldsNoPersonalData scans every tile and entry bundle of the
// demo log for the plain personal values of the scenario, and checks that
// a value and its salt reproduce a commitment that is in the log.
func TestDemoLogHoldsNoPersonalData(t *testing.T) {
	t.Parallel()
	dir, _ := demoFolder(t)
	var plain []string
	for _, f := range []string{"DEMO-AM-%02d", "Demo driver AM-%02d", "DEMO-FR-%02d", "Demo driver FR-%02d", "DEMO-AZ-%02d", "Demo driver AZ-%02d"} {
		plain = append(plain, fmt.Sprintf(f, 1), fmt.Sprintf(f, 2))
	}
	var logBytes bytes.Buffer
	files := 0
	err := filepath.Walk(filepath.Join(dir, "log"), func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() || strings.Contains(p, ".state") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files++
		for _, v := range plain {
			if bytes.Contains(b, []byte(v)) {
				t.Errorf("%s holds the plain personal value %q", p, v)
			}
		}
		logBytes.Write(b)
		return nil
	})
	if err != nil || files < 3 {
		t.Fatalf("walked %d log files: %v", files, err)
	}
	db := openProjection(t, dir)
	var commitment, value, salt string
	if err := db.QueryRow(`SELECT commitment, value, salt FROM private_values WHERE value = 'DEMO-AM-01'`).Scan(&commitment, &value, &salt); err != nil {
		t.Fatal(err)
	}
	if record.Commitment(salt, value) != commitment {
		t.Fatalf("value and salt do not reproduce the commitment")
	}
	if !bytes.Contains(logBytes.Bytes(), []byte(commitment)) {
		t.Fatalf("the commitment %s is not in the log", commitment)
	}
}

// auditDir runs the audit of a local copy and returns its status and output.
func auditDir(t *testing.T, dir string, extra ...string) (int, string) {
	t.Helper()
	code, out, errOut := runCLI(t, append(append([]string{"audit", "--quiet"}, extra...), "--dir", dir)...)
	return code, out + errOut
}

func TestAuditFindsTamperedTile(t *testing.T) {
	t.Parallel()
	dir, _ := demoFolder(t)
	if code, out := auditDir(t, dir); code != 0 {
		t.Fatalf("audit of the demo folder: %d\n%s", code, out)
	}
	size, err := ledger.OpenReader(filepath.Join(dir, "log")).Size(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tile := filepath.Join(dir, "log", layout.TilePath(0, 0, uint8(size)))
	b, err := os.ReadFile(tile)
	if err != nil {
		t.Fatal(err)
	}
	const at = 7
	b[at*32] ^= 0xff
	if err := os.WriteFile(tile, b, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out := auditDir(t, dir)
	if code != 1 || !strings.Contains(out, fmt.Sprintf("PROBLEM: log index %d: leaf hash in tile", at)) {
		t.Fatalf("audit of a tampered tile: status %d, want 1 naming index %d\n%s", code, at, out)
	}
	t.Logf("audit (as expected):\n%s", out)
}

// TestAuditFindsBadSignature logs the demo's records again under the same
// log key, one with a broken signature, as a dishonest operator could:
// the tree is sound, the record is not, and the audit names its index.
func TestAuditFindsBadSignature(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir, _ := demoFolder(t)
	r := ledger.OpenReader(filepath.Join(dir, "log"))
	size, err := r.Size(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const bad = 20
	var entries [][]byte
	err = r.Entries(ctx, 0, size, func(i uint64, data []byte) error {
		if i == bad {
			rec, err := record.ParseEntry(data)
			if err != nil {
				return err
			}
			rec.Sig[0] ^= 1
			if data, err = rec.Entry(); err != nil {
				return err
			}
		}
		entries = append(entries, data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	skey, err := os.ReadFile(filepath.Join(dir, app.LogKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(strings.TrimSpace(string(skey)))
	if err != nil {
		t.Fatal(err)
	}
	forged := t.TempDir()
	l, err := ledger.Open(ctx, forged, signer, ledger.Options{CheckpointInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(ctx, entries); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	cfg, _ := app.ReadConfig(dir)
	code, out := auditDir(t, forged, "--log-key", cfg.Verifier)
	if code != 1 || !strings.Contains(out, fmt.Sprintf("PROBLEM: log index %d: record refused on replay", bad)) || !strings.Contains(out, "signature") {
		t.Fatalf("audit of a log with a bad signature: status %d, want 1 naming index %d\n%s", code, bad, out)
	}
	t.Logf("audit (as expected):\n%s", out)
}

// checkLogResources checks /log/key, the caching of /log/ resources and the
// consistency proof endpoint.
func checkLogResources(t *testing.T, base, vkey string) {
	t.Helper()
	if got := strings.TrimSpace(string(httpGet(t, base+"/log/key"))); got != vkey {
		t.Errorf("GET /log/key = %q, want %q", got, vkey)
	}
	for path, want := range map[string]string{"/log/checkpoint": "no-store", "/log/tile/0/000.p/46": "immutable", "/log/tile/entries/000.p/46": "immutable"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Cache-Control"), want) {
			t.Errorf("GET %s: %s, Cache-Control %q, want 200 and %q", path, resp.Status, resp.Header.Get("Cache-Control"), want)
		}
	}
	for _, bad := range []string{"/log/tile/0/../../corridor.json", "/log/tile/0/x000", "/log/tile/64/000"} {
		if resp, err := http.Get(base + bad); err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("GET %s: %s, want 404", bad, resp.Status)
			}
		}
	}
	var cp struct {
		From, To uint64
		Proof    [][]byte
	}
	if err := json.Unmarshal(httpGet(t, base+"/api/v1/log/consistency?from=10"), &cp); err != nil {
		t.Fatal(err)
	}
	v, _ := note.NewVerifier(vkey)
	raw := httpGet(t, base+"/log/checkpoint")
	n, err := note.Open(raw, note.VerifierList(v))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(n.Text, "\n")
	root, _ := tlog.ParseHash(lines[2])
	// The root of the first 10 entries, from the tiles, with x/mod/sumdb/tlog.
	old, err := tlog.TreeHash(10, tlog.TileHashReader(tlog.Tree{N: int64(cp.To), Hash: root}, c2spTiles{t, base}))
	if err != nil {
		t.Fatal(err)
	}
	var proof tlog.TreeProof
	for _, h := range cp.Proof {
		proof = append(proof, tlog.Hash(h))
	}
	if err := tlog.CheckTree(proof, int64(cp.To), root, 10, old); err != nil {
		t.Fatalf("the consistency proof 10→%d does not verify: %v", cp.To, err)
	}
}
