package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"corridor"
)

// A monitor records a statement in reported speech, a claim on it with
// what it asserts, and a link, from the command line; running the same
// command again is a retry, not a second record.
func TestMonitorCommandsAgainstDemo(t *testing.T) {
	s, _, keys := clientDemo(t)
	as := func(cmd ...string) []string {
		return append(cmd, "--server", s.URL, "--key", filepath.Join(keys, "monitor.key"), "--token-file", filepath.Join(keys, "monitor.token"))
	}
	run := func(cmd ...string) string {
		t.Helper()
		code, out, errOut := runCLI(t, as(cmd...)...)
		if code != 0 {
			t.Fatalf("corridor %s: %d\n%s%s", strings.Join(cmd[:2], " "), code, out, errOut)
		}
		return out
	}
	idOf := func(out string) string {
		m := recordedLine.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no \"recorded\" line in %q", out)
		}
		return m[2]
	}
	stmt := []string{"statement", "record", "--speaker", "Ministry spokesperson", "--affiliation", "Ministry of Foreign Affairs",
		"--said-on", "2023-08-30", "--reported", "The spokesperson said no convoy had been stopped.", "--lang", "en", "--about-routes", "lachin-corridor"}
	out := run(stmt...)
	stRecord := idOf(out)
	before := logSize(t, s.URL)
	if again := run(stmt...); !strings.Contains(again, "already recorded") || idOf(again) != stRecord || logSize(t, s.URL) != before {
		t.Errorf("the same statement again: %q; want a retry of %s that writes nothing", again, stRecord)
	}
	var rec struct {
		Record struct {
			Payload corridor.Statement `json:"payload"`
		} `json:"record"`
	}
	if err := getJSONInto(s.URL, "/api/v1/records/"+stRecord, &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Record.Payload.Reported == "" || rec.Record.Payload.Quote != "" || rec.Record.Payload.ID == "" {
		t.Fatalf("the statement as recorded: %+v", rec.Record.Payload)
	}
	claimOut := run("claim", "record", "--statement", rec.Record.Payload.ID, "--period", "2023-08-29..2023-08-30",
		"--assert", corridor.AssertOpen, "--route", "lachin-corridor", "--traffic", corridor.Cargo, "--note", "read as: the road was open to aid")
	claimRecord := idOf(claimOut)
	var claimRec struct {
		Record struct {
			Payload corridor.Claim `json:"payload"`
		} `json:"record"`
	}
	if err := getJSONInto(s.URL, "/api/v1/records/"+claimRecord, &claimRec); err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Items []struct {
			ID      string `json:"id"`
			Verdict *struct {
				Verdict string `json:"verdict"`
			} `json:"verdict"`
			Reported string `json:"reported"`
		} `json:"items"`
	}
	if err := getJSONInto(s.URL, "/api/v1/claims?limit=1000", &claims); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range claims.Items {
		if c.ID == claimRec.Record.Payload.ID {
			found = true
			if c.Verdict == nil || c.Verdict.Verdict != corridor.Contradicted || c.Reported == "" {
				t.Errorf("the claim %s: verdict %+v, reported %q; want contradicted (the records show the road blocked) with the statement's reported speech", c.ID, c.Verdict, c.Reported)
			}
		}
	}
	if !found {
		t.Fatalf("claim %s not listed", claimRec.Record.Payload.ID)
	}
	run("claim", "link", "--claim", claimRec.Record.Payload.ID, "--record", "convoy-fr-2023-08-refused", "--relation", corridor.Context, "--note", "the refusal that day")

	// One command: a claim in its own words, about a convoy, with the
	// records it is linked to, in one batch; with one bad link, nothing.
	own := []string{"claim", "record", "--speaker", "A spokesperson", "--affiliation", "Ministry", "--said-on", "2023-08-31",
		"--reported", "said the French convoy had crossed", "--lang", "en", "--about-convoys", "fr-2023-08"}
	before = logSize(t, s.URL)
	if code, _, errOut := runCLI(t, as(append(own, "--contradicts", "convoy-fr-2023-08-refused,no-such-record")...)...); code == 0 || logSize(t, s.URL) != before {
		t.Errorf("a claim with a link to an unknown record: %d %q, log %d → %d; want refused, nothing written", code, errOut, before, logSize(t, s.URL))
	}
	out = run(append(own, "--contradicts", "convoy-fr-2023-08-refused", "--context", "convoy-fr-2023-08")...)
	if n := strings.Count(out, "\nrecorded ") + 1; !strings.HasPrefix(out, "recorded ") || n != 3 || logSize(t, s.URL) != before+3 {
		t.Fatalf("claim with two links: %d records said, log %d → %d:\n%s", n, before, logSize(t, s.URL), out)
	}
	var page struct {
		Items []struct {
			ID           string   `json:"id"`
			AboutConvoys []string `json:"about_convoys"`
			Links        []struct {
				Record   string `json:"record"`
				Relation string `json:"relation"`
			} `json:"links"`
		} `json:"items"`
	}
	if err := getJSONInto(s.URL, "/api/v1/claims?limit=1000", &page); err != nil {
		t.Fatal(err)
	}
	last := page.Items[len(page.Items)-1]
	if fmt.Sprint(last.AboutConvoys) != "[fr-2023-08]" || fmt.Sprint(last.Links) != "[{convoy-fr-2023-08-refused contradicts} {convoy-fr-2023-08 context}]" {
		t.Errorf("the claim recorded with its links: %+v", last)
	}

	// One command: a statement in reported speech with its claim about a
	// convoy and two links, four records in one batch, no id typed.
	before = logSize(t, s.URL)
	compound := run("statement", "record", "--speaker", "Deputy minister", "--affiliation", "Ministry of Foreign Affairs", "--said-on", "2023-08-31",
		"--reported", "The deputy minister said the French convoy had been let through.", "--lang", "en", "--about-routes", "Lachin corridor",
		"--about-convoys", "fr-2023-08", "--period", "2023-08-31..2023-08-31", "--assert", corridor.AssertOpen, "--route", "lachin-corridor", "--traffic", corridor.Cargo,
		"--contradicts", "convoy-fr-2023-08-refused", "--context", "convoy-fr-2023-08")
	if n := strings.Count(compound, "recorded "); n != 4 || logSize(t, s.URL) != before+4 ||
		!strings.Contains(compound, "recorded statement.record") || strings.Count(compound, "recorded claim.link") != 2 {
		t.Fatalf("statement with its claim and two links: %d records said, log %d → %d:\n%s", n, before, logSize(t, s.URL), compound)
	}
	t.Logf("statement record with its claim and links:\n%s", compound)
	if err := getJSONInto(s.URL, "/api/v1/claims?limit=1000", &page); err != nil {
		t.Fatal(err)
	}
	last = page.Items[len(page.Items)-1]
	if fmt.Sprint(last.AboutConvoys) != "[fr-2023-08]" || len(last.Links) != 2 {
		t.Errorf("the statement's claim: %+v", last)
	}

	// Every field at fault is named at once, before anything is sent.
	before = logSize(t, s.URL)
	code, _, errOut := runCLI(t, as("incident", "report", "--category", "weather", "--occurred", "2023-08-30", "--reported", "2023-08-30",
		"--route", "lachin-corridor", "--people-affected", "-2")...)
	if code == 0 || !strings.Contains(errOut, "payload.category") || !strings.Contains(errOut, "payload.people_affected") ||
		!strings.Contains(errOut, "payload.description") || logSize(t, s.URL) != before {
		t.Errorf("an incident with three fields wrong: %d %q; want all three named, nothing written", code, errOut)
	}

	// A claim that asserts without a period is refused before anything is sent.
	code, _, errOut = runCLI(t, as("claim", "record", "--statement", rec.Record.Payload.ID, "--assert", corridor.AssertOpen, "--route", "lachin-corridor", "--traffic", corridor.Cargo)...)
	if code == 0 || !strings.Contains(errOut, "period") {
		t.Errorf("a claim with no period: %d %q; want a refusal naming period", code, errOut)
	}

	// An incident report, and its verification, from the command line.
	inc := run("incident", "report", "--category", "restriction-of-movement", "--occurred", "2023-08-31", "--reported", "2023-08-31",
		"--route", "lachin-corridor", "--traffic", corridor.Civilians, "--description", "Residents were not let through.", "--source", "local press")
	var incRec struct {
		Record struct {
			Payload corridor.Incident `json:"payload"`
		} `json:"record"`
	}
	if err := getJSONInto(s.URL, "/api/v1/records/"+idOf(inc), &incRec); err != nil {
		t.Fatal(err)
	}
	run("incident", "verify", "--incident", incRec.Record.Payload.ID, "--verification", corridor.Verified, "--note", "two sources")
	var incs struct {
		Items []struct {
			ID           string `json:"id"`
			Verification string `json:"verification"`
		} `json:"items"`
	}
	if err := getJSONInto(s.URL, "/api/v1/incidents?limit=1000", &incs); err != nil {
		t.Fatal(err)
	}
	seen := false
	for _, i := range incs.Items {
		if i.ID == incRec.Record.Payload.ID {
			seen = i.Verification == corridor.Verified
		}
	}
	if !seen {
		t.Errorf("incident %s is not listed as verified: %+v", incRec.Record.Payload.ID, incs.Items)
	}
	// A monitor may not record a route closed: only an authority of the route.
	code, _, errOut = runCLI(t, as("route", "closed", "--route", "lachin-corridor", "--traffic", corridor.Cargo, "--from", "2023-08-31",
		"--reason-category", "security")...)
	if code == 0 || !strings.Contains(errOut, "403") {
		t.Errorf("a monitor closing a route: %d %q; want 403", code, errOut)
	}
	run("route", "passage", "--route", "lachin-corridor", "--traffic", corridor.Civilians, "--from", "2023-08-30", "--count", "12", "--unit", "vehicles", "--source", "observer")

	// Places, routes and parties by any of their names: the record holds
	// their ids; a name that matches nothing is refused with what it
	// could mean, before anything is sent.
	named := run("incident", "report", "--category", "restriction-of-movement", "--occurred", "2023-08-30", "--reported", "2023-08-30",
		"--route", "Lachin corridor", "--place", "stepanakert", "--perpetrator", "government of the republic of armenia",
		"--description", "Named, not by id.", "--source", "local press")
	var namedRec struct {
		Record struct {
			Payload corridor.Incident `json:"payload"`
		} `json:"record"`
	}
	if err := getJSONInto(s.URL, "/api/v1/records/"+idOf(named), &namedRec); err != nil {
		t.Fatal(err)
	}
	if p := namedRec.Record.Payload; p.Route != "lachin-corridor" || p.Place != "khankendi" || p.Perpetrator != "am-gov" {
		t.Errorf("an incident given by names holds route %q, place %q, perpetrator %q; want lachin-corridor, khankendi, am-gov", p.Route, p.Place, p.Perpetrator)
	}
	before = logSize(t, s.URL)
	code, _, errOut = runCLI(t, as("incident", "report", "--category", "restriction-of-movement", "--occurred", "2023-08-30", "--reported", "2023-08-30",
		"--route", "lachin-corridor", "--place", "Stepanakrt", "--description", "A typo.")...)
	if code == 0 || !strings.Contains(errOut, "-place") || !strings.Contains(errOut, "did you mean khankendi") || logSize(t, s.URL) != before {
		t.Errorf("a misspelt place: %d %q; want a refusal naming -place that suggests khankendi, and nothing written", code, errOut)
	}
}

// A name two entries share is refused with both, and their ids.
func TestResolverAmbiguousName(t *testing.T) {
	r := newResolver(t.Context(), nil)
	r.lists["places"] = []named{
		{ID: "rafah", Names: []corridor.Name{{Name: "Rafah", Lang: "en"}}},
		{ID: "rafah-crossing", Names: []corridor.Name{{Name: "Rafah", Lang: "en"}, {Name: "Rafah crossing", Lang: "en"}}},
	}
	if _, err := r.id("place", "places", "rafah "); err != nil {
		t.Errorf("an id: %v", err)
	}
	if id, err := r.id("place", "places", "RAFAH CROSSING"); err != nil || id != "rafah-crossing" {
		t.Errorf("a name in other case: %q, %v", id, err)
	}
	_, err := r.id("place", "places", "Rafah")
	if err == nil || !strings.Contains(err.Error(), "rafah (Rafah)") || !strings.Contains(err.Error(), "rafah-crossing (") || !strings.Contains(err.Error(), "give its id") {
		t.Errorf("a shared name: %v", err)
	}
}
