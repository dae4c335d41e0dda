package main

import (
	"context"
	"corridor"
	"encoding/json"
	"html"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"corridor/app"
	"corridor/record"
	"corridor/scenario"
	"corridor/store"
)

// shippedScenarios reads every scenario file in scenario/.
func shippedScenarios(t *testing.T) map[string]*scenario.Scenario {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "scenario", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenario files: %v", err)
	}
	out := map[string]*scenario.Scenario{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sc, err := scenario.Parse(b)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[f] = sc
	}
	return out
}

func TestLoadScenarioFile(t *testing.T) {
	for file, sc := range shippedScenarios(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			keyDir := filepath.Join(t.TempDir(), "keys")
			// One party's key is given; the others are made.
			given, err := record.GenerateKey()
			if err != nil {
				t.Fatal(err)
			}
			first := sc.Parties[0].ID
			if err := os.MkdirAll(keyDir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := record.WriteKeyFiles(given, filepath.Join(keyDir, first+".key")); err != nil {
				t.Fatal(err)
			}
			code, out, errOut := runCLI(t, "load", "--data", dir, "--keys", keyDir, file)
			if code != 0 || !strings.Contains(out, "loaded") {
				t.Fatalf("load: status %d\n%s\n%s", code, out, errOut)
			}
			for _, p := range sc.Parties {
				if _, err := os.Stat(filepath.Join(keyDir, p.ID+".token")); err != nil {
					t.Errorf("no token left for %s: %v", p.ID, err)
				}
			}
			st, err := store.Open(context.Background(), filepath.Join(dir, app.ProjectionFile))
			if err != nil {
				t.Fatal(err)
			}
			p, err := st.Party(context.Background(), first)
			st.Close()
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Keys) == 0 || p.Keys[0].ID != given.ID {
				t.Errorf("party %s registered with keys %+v, want the given key %s first", first, p.Keys, given.ID)
			}
			want := uint64(len(sc.Parties) + len(sc.Records))
			before, err := app.Verify(context.Background(), dir, "", new(strings.Builder))
			if err != nil || before < want {
				t.Fatalf("verify after load: %d records, %v; want at least %d", before, err, want)
			}
			// Loading again changes nothing and says so.
			code, out, _ = runCLI(t, "load", "--data", dir, "--keys", keyDir, file)
			if code != 0 || !strings.Contains(out, "nothing loaded") {
				t.Errorf("second load: status %d, %q; want a note that nothing was loaded", code, out)
			}
			if n, err := app.Verify(context.Background(), dir, "", new(strings.Builder)); err != nil || n != before {
				t.Errorf("after a second load the log holds %d records (%v), before it %d", n, err, before)
			}
		})
	}

	// A file that is not a scenario names itself, and nothing is made.
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"parties": [], "records": []}`), 0o600)
	fresh := filepath.Join(t.TempDir(), "fresh")
	code, _, errOut := runCLI(t, "load", "--data", fresh, bad)
	if code != 2 || !strings.Contains(errOut, bad) || !strings.Contains(errOut, "parties") {
		t.Errorf("load of an empty scenario: status %d, stderr %q; want 2 naming the file and its parties", code, errOut)
	}
	if _, err := os.Stat(fresh); !os.IsNotExist(err) {
		t.Errorf("a refused load made the data folder %s", fresh)
	}
}

// TestDemoServesEveryShippedScenario serves each scenario file with
// demo --scenario and reads its dashboard: it names the scenario's own
// parties and places and none of another scenario's.
func TestDemoServesEveryShippedScenario(t *testing.T) {
	all := shippedScenarios(t)
	for file, sc := range all {
		t.Run(filepath.Base(file), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "demo")
			s := startInProcess(t, "demo", "--data", dir, "--addr", "127.0.0.1:0", "--scenario", file)
			page := string(httpGet(t, s.URL+"/"))
			parties := string(httpGet(t, s.URL+"/api/v1/parties"))
			for _, p := range sc.Parties {
				if !strings.Contains(parties, `"id":"`+p.ID+`"`) {
					t.Errorf("GET /api/v1/parties lacks %s of %s", p.ID, file)
				}
			}
			places := string(httpGet(t, s.URL+"/api/v1/places")) + string(httpGet(t, s.URL+"/api/v1/routes"))
			listed := 0
			for id := range registeredNames(sc) {
				if strings.Contains(places, `"id":"`+id+`"`) {
					listed++
				}
			}
			if listed == 0 {
				t.Errorf("GET /api/v1/places and /api/v1/routes list none of the places and routes of %s", file)
			}
			for other, o := range all {
				if other == file {
					continue
				}
				own := map[string]bool{}
				for _, p := range sc.Parties {
					own[p.ID] = true
					for _, n := range p.Names {
						own[n.Name] = true
					}
				}
				for id, names := range registeredNames(sc) {
					own[id] = true
					for _, n := range names {
						own[n] = true
					}
				}
				// Places, routes and checkpoints of the other scenario are
				// named nowhere on this one's dashboard or in its lists.
				for id, names := range registeredNames(o) {
					for _, n := range append(names, id) {
						if !own[n] && (strings.Contains(page, n) || strings.Contains(places, `"`+n+`"`)) {
							t.Errorf("the dashboard of %s names %q (%s) of %s", file, n, id, other)
						}
					}
				}
				for _, p := range o.Parties {
					if own[p.ID] {
						continue // a party both scenarios have, such as their demo monitor
					}
					for _, n := range p.Names {
						if own[n.Name] {
							continue
						}
						if strings.Contains(page, n.Name) || strings.Contains(parties, `"id":"`+p.ID+`"`) {
							t.Errorf("the dashboard of %s names %q (%s) of %s", file, n.Name, p.ID, other)
						}
					}
				}
			}
			// A convoy whose way leaves its route shows that way on its page,
			// place by place in the order it goes.
			for _, st := range sc.Records {
				var c struct {
					ID  string   `json:"id"`
					Way []string `json:"way"`
				}
				if st.Type != "convoy.file" || json.Unmarshal(st.Payload, &c) != nil || len(c.Way) == 0 {
					continue
				}
				page := string(httpGet(t, s.URL+"/convoys/"+c.ID))
				at := 0
				for _, p := range c.Way {
					name := placeName(t, sc, p)
					i := strings.Index(page[at:], name)
					if i < 0 {
						t.Errorf("the page of convoy %s does not show %q (%s) after the places before it on its way", c.ID, name, p)
						break
					}
					at += i + len(name)
				}
			}
			if code := s.stop(t); code != 0 {
				t.Errorf("demo ended with %d", code)
			}
		})
	}
}

// registeredNames lists the names of every place, route and checkpoint a
// scenario registers, by id.
func registeredNames(sc *scenario.Scenario) map[string][]string {
	out := map[string][]string{}
	for _, st := range sc.Records {
		var r struct {
			ID    string          `json:"id"`
			Names []corridor.Name `json:"names"`
		}
		if (st.Type != corridor.TypePlace && st.Type != corridor.TypeRoute && st.Type != corridor.TypeCheckpoint) || json.Unmarshal(st.Payload, &r) != nil {
			continue
		}
		for _, n := range r.Names {
			out[r.ID] = append(out[r.ID], n.Name)
		}
	}
	return out
}

// placeName is the first name of a scenario's place.
func placeName(t *testing.T, sc *scenario.Scenario, id string) string {
	t.Helper()
	for _, st := range sc.Records {
		var p struct {
			ID    string          `json:"id"`
			Names []corridor.Name `json:"names"`
		}
		if st.Type == "place.register" && json.Unmarshal(st.Payload, &p) == nil && p.ID == id && len(p.Names) > 0 {
			return html.EscapeString(p.Names[0].Name)
		}
	}
	t.Fatalf("no place %q in the scenario", id)
	return ""
}
