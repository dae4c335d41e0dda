package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"corridor/api"
)

// The convoy filed by TestClientCommandsAgainstDemo; docs/API.md shows the
// same file and the same command sequence, so keep the two in step.
const cliConvoyID = "arcs-2023-09-cli"

const cliConvoyJSON = `{
  "id": "arcs-2023-09-cli",
  "organisation": "arcs",
  "route": "aghdam-khankendi",
  "origin": "aghdam",
  "destination": "khankendi",
  "planned": "2023-09-05",
  "vehicles": [{"kind": "lorry", "count": 2, "plate": "CLI-AZ-%02d", "driver": "CLI driver %02d"}],
  "manifest": [{"item": "wheat flour", "sector": "food", "quantity": 40, "unit": "t", "kg": 40000}]
}
`

var recordedLine = regexp.MustCompile(`^recorded (\S+) (\S+), signed by (\S+), at log index (\d+)( \(already recorded: nothing new written\))?\n$`)

// cliRecorded checks the one line a successful write prints and returns
// the log index and whether the server called it a retry.
func cliRecorded(t *testing.T, out, typ, id, party string) (uint64, bool) {
	t.Helper()
	m := recordedLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("output is not one \"recorded … at log index N\" line:\n%s", out)
	}
	if m[1] != typ || m[2] != id || m[3] != party {
		t.Fatalf("recorded %s %s signed by %s; want %s %s signed by %s", m[1], m[2], m[3], typ, id, party)
	}
	n, err := strconv.ParseUint(m[4], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n, m[5] != ""
}

// logSize reads the number of records in the log from /healthz.
func logSize(t *testing.T, base string) uint64 {
	t.Helper()
	var h struct {
		Records uint64 `json:"records"`
	}
	if err := getJSONInto(base, "/healthz", &h); err != nil {
		t.Fatal(err)
	}
	return h.Records
}

// postRaw POSTs body to /api/v1/records with a bearer token and returns the
// status and the problem answer.
func postRaw(t *testing.T, base, token, body string) (int, api.Problem, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/api/v1/records", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p api.Problem
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	json.Unmarshal(buf.Bytes(), &p)
	return resp.StatusCode, p, resp.Header
}

func TestClientCommandsAgainstDemo(t *testing.T) {
	for _, v := range []string{"CORRIDOR_SERVER", "CORRIDOR_TOKEN", "CORRIDOR_KEY"} {
		t.Setenv(v, "")
	}
	dir := filepath.Join(t.TempDir(), "demo")
	s := startInProcess(t, "demo", "--data", dir, "--addr", "127.0.0.1:0")
	keys := filepath.Join(dir, "demo-keys")
	keyOf := func(party string) string { return filepath.Join(keys, party+".key") }
	tokenFileOf := func(party string) string { return filepath.Join(keys, party+".token") }
	tokenOf := func(party string) string {
		b, err := os.ReadFile(tokenFileOf(party))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	// as builds "corridor CMD SUB ARGS… --server URL --key K --token-file T"
	// for a party, with its demo key and token.
	as := func(party string, cmd ...string) []string {
		return append(slices.Clone(cmd), "--server", s.URL, "--key", keyOf(party), "--token-file", tokenFileOf(party))
	}
	// write runs a command that must record one record and returns its index.
	write := func(party, typ, id string, cmd ...string) uint64 {
		t.Helper()
		code, out, errOut := runCLI(t, as(party, append(cmd, "--id", id)...)...)
		if code != 0 {
			t.Fatalf("corridor %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(cmd[:2], " "), code, out, errOut)
		}
		n, dup := cliRecorded(t, out, typ, id, party)
		if dup {
			t.Fatalf("%s was a first write but the server called it a retry", id)
		}
		return n
	}
	// fails runs a command that must fail with code and a message on stderr
	// containing every one of want, writing nothing.
	fails := func(code int, want []string, args ...string) {
		t.Helper()
		before := logSize(t, s.URL)
		got, out, errOut := runCLI(t, args...)
		if got != code {
			t.Errorf("corridor %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), got, code, out, errOut)
		}
		for _, w := range want {
			if !strings.Contains(errOut, w) {
				t.Errorf("corridor %s: stderr lacks %q:\n%s", strings.Join(args[:2], " "), w, errOut)
			}
		}
		if after := logSize(t, s.URL); after != before {
			t.Errorf("corridor %s failed but the log grew from %d to %d records", strings.Join(args[:2], " "), before, after)
		}
	}

	file := filepath.Join(t.TempDir(), "convoy.json")
	if err := os.WriteFile(file, []byte(cliConvoyJSON), 0o644); err != nil {
		t.Fatal(err)
	}
	start := logSize(t, s.URL)

	// The organisation files; the clearance request goes to ru-pkc, which
	// runs the only checkpoint on the way.
	next := start
	step := func(n uint64, what string) {
		t.Helper()
		if n != next {
			t.Errorf("%s landed at log index %d, want %d", what, n, next)
		}
		next = n + 1
	}
	step(write("arcs", "convoy.file", "cli-file-1", "convoy", "file", "--file", file), "the filing")

	var clr struct{ Items []api.ClearanceRequest }
	for on, want := range map[string]string{"2023-09-01": "pending", "2023-09-06": "unanswered"} {
		if err := getJSONInto(s.URL, "/api/v1/convoys/"+cliConvoyID+"/clearance?on="+on, &clr); err != nil {
			t.Fatal(err)
		}
		if len(clr.Items) != 1 || clr.Items[0].Authority != "ru-pkc" || clr.Items[0].State != want || clr.Items[0].Deadline != "2023-09-05" {
			t.Errorf("clearance on %s before any answer: %+v, want one request to ru-pkc, deadline 2023-09-05, %s", on, clr.Items, want)
		}
	}

	step(write("ru-pkc", "clearance.answer", "cli-clearance-1", "clearance", "answer",
		"--convoy", cliConvoyID, "--decision", "approved", "--at", "2023-09-04T10:00:00+04:00"), "the clearance answer")
	step(write("arcs", "convoy.move", "cli-departed-1", "convoy", "move",
		"--convoy", cliConvoyID, "--event", "departed", "--at", "2023-09-05T08:00:00+04:00"), "the departure")
	step(write("ru-pkc", "checkpoint.event", "cli-askeran-1", "checkpoint", "record",
		"--convoy", cliConvoyID, "--checkpoint", "askeran-pkc", "--event", "passed-with-removals",
		"--removed", "0:2:2000", "--reason-category", "inspection", "--reason", "Two tonnes kept for inspection.",
		"--at", "2023-09-05T10:30:00+04:00"), "the checkpoint event")

	// 40 t loaded, 2 t removed: 39 t cannot be delivered.
	fails(1, []string{"409", "records[0].payload.received[0]", "delivers more than was loaded less what was removed"},
		as("arcs", "convoy", "deliver", "--convoy", cliConvoyID, "--received", "0:39:39000", "--at", "2023-09-05T14:00:00+04:00")...)

	step(write("arcs", "convoy.move", "cli-delivered-1", "convoy", "deliver",
		"--convoy", cliConvoyID, "--received", "0:38:38000", "--at", "2023-09-05T14:00:00+04:00"), "the delivery")

	// The monitor's key with the organisation's token: the record is valid
	// but the token belongs to another party.
	fails(1, []string{"403", "records[0].key", `signed by a key of "monitor", but the caller's token is for "arcs"`},
		"convoy", "confirm", "--convoy", cliConvoyID, "--at", "2023-09-05T16:00:00+04:00",
		"--server", s.URL, "--key", keyOf("monitor"), "--token-file", tokenFileOf("arcs"))

	confirm := as("monitor", "convoy", "confirm", "--convoy", cliConvoyID, "--at", "2023-09-05T16:00:00+04:00", "--id", "cli-confirm-1")
	code, out, errOut := runCLI(t, confirm...)
	if code != 0 {
		t.Fatalf("convoy confirm: exit %d\n%s%s", code, out, errOut)
	}
	confirmed, _ := cliRecorded(t, out, "delivery.confirm", "cli-confirm-1", "monitor")
	step(confirmed, "the confirmation")
	if size := logSize(t, s.URL); size != next {
		t.Errorf("log holds %d records after the convoy's six, want %d", size, next)
	}

	// A retry with the same record id and content is answered with the
	// first index, and nothing is written.
	code, out, errOut = runCLI(t, confirm...)
	if code != 0 {
		t.Fatalf("convoy confirm retry: exit %d\n%s%s", code, out, errOut)
	}
	if n, dup := cliRecorded(t, out, "delivery.confirm", "cli-confirm-1", "monitor"); n != confirmed || !dup {
		t.Errorf("retry answered index %d (already recorded %v), want %d, already recorded", n, dup, confirmed)
	}
	if size := logSize(t, s.URL); size != next {
		t.Errorf("log grew to %d records on a retry, want %d", size, next)
	}

	// Command-line mistakes: exit 2, nothing sent.
	fails(2, []string{"corridor convoy: -key is required"},
		"convoy", "move", "--convoy", cliConvoyID, "--event", "returned", "--server", s.URL, "--token-file", tokenFileOf("arcs"))
	fails(2, []string{`-at "yesterday": want an RFC 3339 time`},
		as("arcs", "convoy", "move", "--convoy", cliConvoyID, "--event", "returned", "--at", "yesterday")...)
	fails(2, []string{`-removed "0:2": want LINE:QUANTITY:KG`},
		as("ru-pkc", "checkpoint", "record", "--convoy", cliConvoyID, "--checkpoint", "askeran-pkc",
			"--event", "passed-with-removals", "--removed", "0:2", "--reason-category", "inspection", "--reason", "x")...)

	// show --json, as the monitor: personal values present.
	show := func(token string) (api.ConvoyView, string) {
		t.Helper()
		args := []string{"convoy", "show", cliConvoyID, "--json", "--server", s.URL}
		if token != "" {
			args = append(args, "--token", token)
		}
		code, out, errOut := runCLI(t, args...)
		if code != 0 {
			t.Fatalf("convoy show: exit %d\n%s%s", code, out, errOut)
		}
		var v api.ConvoyView
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("convoy show --json: %v\n%s", err, out)
		}
		return v, out
	}
	v, raw := show(tokenOf("monitor"))
	if v.Status != "delivered" || !slices.Contains(v.Flags, "delivery-confirmed-by-monitor") || slices.Contains(v.Flags, "departed-without-agreement") {
		t.Errorf("status %s, flags %v; want delivered with delivery-confirmed-by-monitor only", v.Status, v.Flags)
	}
	if v.Organisation != "arcs" || v.Route != "aghdam-khankendi" || v.Kg != 40000 || len(v.Filing.Vehicles) != 2 {
		t.Errorf("convoy %+v: want arcs on aghdam-khankendi, 40000 kg, 2 vehicles", v.ConvoyRow)
	}
	if len(v.Progress.Removed) != 1 || v.Progress.Removed[0].Kg != 2000 || len(v.Progress.Received) != 1 || v.Progress.Received[0].Kg != 38000 {
		t.Errorf("progress removed %v received %v; want 2000 kg removed, 38000 kg received", v.Progress.Removed, v.Progress.Received)
	}
	var signers, events []string
	for _, e := range v.Events {
		signers = append(signers, e.Party)
		events = append(events, e.Event)
	}
	if want := []string{"arcs", "ru-pkc", "arcs", "ru-pkc", "arcs", "monitor"}; !slices.Equal(signers, want) {
		t.Errorf("history signed by %v, want %v", signers, want)
	}
	if want := []string{"filed", "approved", "departed", "passed-with-removals", "delivered", "delivery-confirmed"}; !slices.Equal(events, want) {
		t.Errorf("history events %v, want %v", events, want)
	}
	if len(v.Clearance) != 1 || v.Clearance[0].State != "approved" {
		t.Errorf("clearance %+v, want ru-pkc approved", v.Clearance)
	}
	veh := v.Filing.Vehicles[1]
	if len(v.Private) != 4 || v.Private[veh.Plate].Value != "CLI-AZ-02" || v.Private[veh.Driver].Value != "CLI driver 02" {
		t.Errorf("monitor sees personal values %v; want 4, vehicle 2 plate CLI-AZ-02, driver CLI driver 02", v.Private)
	}
	if !strings.Contains(raw, "CLI-AZ-01") {
		t.Errorf("monitor's convoy show lacks the plate CLI-AZ-01")
	}
	// Anonymous, or another organisation: commitments only.
	for _, tok := range []string{"", tokenOf("fr-cities")} {
		v, raw := show(tok)
		if len(v.Private) != 0 || strings.Contains(raw, "CLI-AZ-") || strings.Contains(raw, "CLI driver") {
			t.Errorf("convoy show with token %q shows personal values:\n%s", tok, raw)
		}
		if len(veh.Plate) != 64 || !strings.Contains(raw, veh.Plate) {
			t.Errorf("convoy show lacks the plate's commitment %q", veh.Plate)
		}
	}
	// The authority on its way sees them too.
	if v, _ := show(tokenOf("ru-pkc")); len(v.Private) != 4 {
		t.Errorf("ru-pkc sees %d personal values, want 4", len(v.Private))
	}

	// The table forms.
	code, out, errOut = runCLI(t, "convoy", "show", cliConvoyID, "--server", s.URL)
	if code != 0 || !strings.Contains(out, "status        delivered askeran-pkc") || !strings.Contains(out, "flags         delivery-confirmed-by-monitor") {
		t.Errorf("convoy show: exit %d\n%s%s", code, out, errOut)
	}
	if strings.Contains(out, "PERSONAL DATA") {
		t.Errorf("anonymous convoy show prints personal data:\n%s", out)
	}
	code, out, errOut = runCLI(t, "convoy", "list", "--server", s.URL)
	if code != 0 {
		t.Fatalf("convoy list: exit %d\n%s%s", code, out, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[0], "CONVOY") {
		t.Errorf("convoy list: want a header and 4 convoys (3 of the scenario and ours):\n%s", out)
	}
	found := false
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) > 0 && f[0] == cliConvoyID {
			found = true
			if want := []string{cliConvoyID, "arcs", "aghdam-khankendi", "2023-09-05", "delivered", "askeran-pkc", "40.0", "t", "delivery-confirmed-by-monitor"}; !slices.Equal(f, want) {
				t.Errorf("convoy list line %q, want fields %v", l, want)
			}
		}
	}
	if !found {
		t.Errorf("convoy list lacks %s:\n%s", cliConvoyID, out)
	}

	// Tokens are managed on the data folder of a stopped server.
	if code := s.stop(t); code != 0 {
		t.Fatalf("demo ended with status %d\nstderr:\n%s", code, s.Stderr)
	}
	code, out, errOut = runCLI(t, "token", "issue", "--data", dir, "--party", "monitor", "--label", "cli test")
	if code != 0 {
		t.Fatalf("token issue: exit %d\n%s%s", code, out, errOut)
	}
	secret := strings.TrimSpace(out)
	if !regexp.MustCompile(`^corridor_[A-Za-z0-9_-]{43}$`).MatchString(secret) || strings.Count(out, "\n") != 1 {
		t.Errorf("token issue printed %q, want one line with the token", out)
	}
	m := regexp.MustCompile(`^token (\S+) for party monitor; it is shown once`).FindStringSubmatch(errOut)
	if m == nil {
		t.Fatalf("token issue: stderr does not name the token id:\n%s", errOut)
	}
	tokID := m[1]
	listLine := func() []string {
		t.Helper()
		code, out, errOut := runCLI(t, "token", "list", "--data", dir, "--party", "monitor")
		if code != 0 {
			t.Fatalf("token list: exit %d\n%s%s", code, out, errOut)
		}
		for _, l := range strings.Split(out, "\n") {
			if f := strings.Fields(l); len(f) > 0 && f[0] == tokID {
				return f
			}
		}
		t.Fatalf("token list lacks token %s:\n%s", tokID, out)
		return nil
	}
	if f := listLine(); len(f) != 5 || f[1] != "monitor" || f[2] != "cli" || f[3] != "test" {
		t.Errorf("token list line %v, want id, monitor, label \"cli test\", created, not revoked", f)
	}
	code, out, errOut = runCLI(t, "token", "revoke", "--data", dir, "--id", tokID)
	if code != 0 || out != "revoked token "+tokID+"\n" {
		t.Errorf("token revoke: exit %d\n%s%s", code, out, errOut)
	}
	if f := listLine(); len(f) != 6 {
		t.Errorf("token list after revoke: %v, want a revoked time", f)
	}
	code, _, errOut = runCLI(t, "token", "revoke", "--data", dir, "--id", tokID)
	if code != 1 || !strings.Contains(errOut, "already revoked") {
		t.Errorf("second revoke: exit %d, want 1 naming already revoked\n%s", code, errOut)
	}
	code, out, errOut = runCLI(t, "token", "issue", "--data", dir, "--party", "nobody")
	if code != 1 || out != "" || !strings.Contains(errOut, `-party "nobody": no such party is registered`) {
		t.Errorf("token issue for an unknown party: exit %d, stdout %q\n%s", code, out, errOut)
	}

	// Served again, the revoked token is refused; the demo's own token of
	// the same party still works.
	s2 := startInProcess(t, "serve", "--data", dir, "--addr", "127.0.0.1:0")
	status, p, h := postRaw(t, s2.URL, secret, `{}`)
	if status != http.StatusUnauthorized || p.Code != "unauthenticated" || p.Field != "Authorization" || h.Get("WWW-Authenticate") == "" {
		t.Errorf("POST with a revoked token: %d %+v, want 401 unauthenticated naming Authorization", status, p)
	}
	code, _, errOut = runCLI(t, "convoy", "confirm", "--convoy", cliConvoyID, "--at", "2023-09-05T17:00:00+04:00",
		"--server", s2.URL, "--key", keyOf("monitor"), "--token", secret)
	if code != 1 || !strings.Contains(errOut, "401") || !strings.Contains(errOut, "unknown or revoked token") {
		t.Errorf("convoy confirm with a revoked token: exit %d\n%s", code, errOut)
	}
	code, out, errOut = runCLI(t, "convoy", "show", cliConvoyID, "--json", "--server", s2.URL, "--token", tokenOf("monitor"))
	if code != 0 || !strings.Contains(out, "CLI-AZ-01") {
		t.Errorf("convoy show with the demo monitor token after the restart: exit %d\n%s", code, errOut)
	}
	if code := s2.stop(t); code != 0 {
		t.Fatalf("serve ended with status %d\nstderr:\n%s", code, s2.Stderr)
	}
}
