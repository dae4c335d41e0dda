package main

import (
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
)

func TestStatusAndExportCommands(t *testing.T) {
	dir, _ := demoFolder(t)

	code, out, errOut := runCLI(t, "status", "--data", dir)
	if code != 0 {
		t.Fatalf("status: %d\n%s", code, errOut)
	}
	for _, want := range []string{
		"blocked 2023-06-15 to 2023-08-31: 78 days",
		"blocked 2023-08-29 to 2023-08-31: 3 days",
		"route-blocked to humanitarian-cargo, 2023-08-30 to 2023-08-30: consistent",
		"route-open to civilians, 2023-08-30 to 2023-08-30: no-evidence",
		"held at checkpoints 400.0 t: 602619 person-days (5.02 days of need)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status output lacks %q:\n%s", want, out)
		}
	}

	code, one, _ := runCLI(t, "status", "--data", dir, "--route", "aghdam-khankendi", "--from", "2023-08-29", "--to", "2023-08-29")
	if code != 0 || !strings.Contains(one, "humanitarian-cargo: blocked on 2023-08-29") || strings.Contains(one, "[lachin-corridor]") {
		t.Errorf("status of the Aghdam road on 29 Aug (%d):\n%s", code, one)
	}

	code, csvOut, errOut := runCLI(t, "export", "incidents", "--format", "csv", "--data", dir)
	if code != 0 {
		t.Fatalf("export incidents: %d\n%s", code, errOut)
	}
	rows, err := csv.NewReader(strings.NewReader(csvOut)).ReadAll()
	if err != nil || len(rows) < 3 || rows[0][0] != "id" || rows[1][0] != "#event +id" {
		t.Errorf("incidents CSV (%v):\n%s", err, csvOut)
	}

	code, geo, errOut := runCLI(t, "export", "map", "--format", "geojson", "--data", dir)
	var fc struct {
		Type     string            `json:"type"`
		Features []json.RawMessage `json:"features"`
	}
	if code != 0 || json.Unmarshal([]byte(geo), &fc) != nil || fc.Type != "FeatureCollection" || len(fc.Features) == 0 {
		t.Errorf("export map (%d): %s\n%s", code, errOut, geo)
	}

	for _, args := range [][]string{
		{"status"},
		{"status", "--data", dir, "--server", "http://127.0.0.1:1"},
		{"status", "--data", dir, "--from", "31/08/2023"},
		{"export", "--data", dir},
		{"export", "secrets", "--data", dir},
		{"export", "convoys", "--format", "geojson", "--data", dir},
		{"export", "claims", "--format", "csv", "--server", "ftp://x"},
	} {
		if code, _, _ := runCLI(t, args...); code != 2 {
			t.Errorf("corridor %s: status %d, want 2", strings.Join(args, " "), code)
		}
	}

	// The same from a running server.
	s := startInProcess(t, "serve", "--data", dir, "--addr", "127.0.0.1:0")
	code, viaServer, errOut := runCLI(t, "status", "--server", s.URL)
	if code != 0 || viaServer != out {
		t.Errorf("status --server (%d, %s) differs from status --data:\n%s\n---\n%s", code, errOut, viaServer, out)
	}
	code, csvServer, errOut := runCLI(t, "export", "incidents", "--format", "csv", "--server", s.URL)
	if code != 0 || csvServer != csvOut {
		t.Errorf("export --server (%d, %s) differs from export --data", code, errOut)
	}
	if code, _, errOut := runCLI(t, "status", "--server", s.URL, "--route", "nowhere"); code != 1 || !strings.Contains(errOut, "nowhere") {
		t.Errorf("status of an unknown route: %d %s", code, errOut)
	}
}
