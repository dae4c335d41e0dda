package scenario_test

import (
	"os"
	"strings"
	"testing"

	"corridor/scenario"
)

func TestParseRefusesMalformedFiles(t *testing.T) {
	for _, c := range []struct{ name, doc, field string }{
		{"no parties", `{"name": "x", "records": []}`, "parties"},
		{"party twice", `{"parties": [{"id": "a", "kind": "monitor", "names": [{"name": "A", "lang": "en"}]}, {"id": "a", "kind": "monitor", "names": [{"name": "A", "lang": "en"}]}]}`, "parties[1].id"},
		{"record without signer", `{"parties": [{"id": "a", "kind": "monitor", "names": [{"name": "A", "lang": "en"}]}], "records": [{"type": "statement.record", "id": "s", "payload": {}}]}`, "records[0].by"},
		{"record without payload", `{"parties": [{"id": "a", "kind": "monitor", "names": [{"name": "A", "lang": "en"}]}], "records": [{"by": "a", "type": "statement.record", "id": "s"}]}`, "records[0].payload"},
		{"unknown field", `{"parties": [], "colour": "red"}`, "colour"},
		{"two documents", `{"parties": [{"id": "a"}]} {}`, "more than one"},
	} {
		if _, err := scenario.Parse([]byte(c.doc)); err == nil || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%s: error %v, want one naming %q", c.name, err, c.field)
		}
	}
}

func TestShippedScenariosParse(t *testing.T) {
	files, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range files {
		if !strings.HasSuffix(f.Name(), ".json") {
			continue
		}
		b, err := os.ReadFile(f.Name())
		if err != nil {
			t.Fatal(err)
		}
		sc, err := scenario.Parse(b)
		if err != nil {
			t.Errorf("%s: %v", f.Name(), err)
			continue
		}
		if sc.Name == "" || sc.About == "" || len(sc.Records) == 0 {
			t.Errorf("%s: a shipped scenario needs a name, an about and records", f.Name())
		}
		n++
	}
	if n == 0 {
		t.Fatal("no scenario file found beside the package")
	}
}

func FuzzParse(f *testing.F) {
	b, err := os.ReadFile("lachin-2023.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"parties": [{"id": "a"}], "records": [{"by": "a", "type": "t", "id": "i", "payload": {}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, err := scenario.Parse(data)
		if err != nil {
			return
		}
		if len(sc.Parties) == 0 {
			t.Fatal("a parsed scenario has no parties")
		}
	})
}
