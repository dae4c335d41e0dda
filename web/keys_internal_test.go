package web

import (
	"os"
	"strings"
	"testing"
)

func TestPrintDynamicKeys(t *testing.T) {
	if os.Getenv("DUMP") == "" {
		t.Skip()
	}
	os.WriteFile("/tmp/dynkeys.txt", []byte(strings.Join(dynamicKeys(), "\n")), 0o644)
}
