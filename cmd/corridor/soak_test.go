package main

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// A short soak: writers and readers at once against a real serve; every
// acknowledged record is there afterwards and the folder verifies.
func TestSoakShort(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real server under load for a few seconds")
	}
	bin := buildBinary(t)
	dir := filepath.Join(t.TempDir(), "data")
	out, err := exec.Command(bin, "soak", "--data", dir, "--duration", "3s", "--writers", "4", "--readers", "4").CombinedOutput()
	if err != nil {
		t.Fatalf("soak: %v\n%s", err, out)
	}
	if m := regexp.MustCompile(`writes acknowledged: (\d+)`).FindSubmatch(out); m == nil || string(m[1]) == "0" {
		t.Errorf("no write was acknowledged:\n%s", out)
	}
	for _, want := range []string{"writes acknowledged:", "reads answered:", "errors: none", "every acknowledged record is present", "verify passes"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("soak output lacks %q:\n%s", want, out)
		}
	}
}
