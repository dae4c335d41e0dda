package main

import (
	"strings"
	"testing"

	"k8s.io/klog/v2"
)

// Tessera's warnings (a witness unreachable: "failing-open despite
// error") reach serve's stderr; its informational lines do not.
func TestTesseraWarningsReachStderr(t *testing.T) {
	var buf syncBuffer
	bridgeKlog(&buf)
	defer klog.ClearLogger()
	klog.Info("Initializing directory for POSIX log")
	klog.Warningf("WitnessGateway: failing-open despite error: %v", "dial tcp: refused")
	klog.Errorf("integrate: %v", "disk full")
	klog.Flush()
	out := buf.String()
	if !strings.Contains(out, "level=WARN") || !strings.Contains(out, "failing-open despite error: dial tcp: refused") {
		t.Errorf("the warning is not on stderr as a warning:\n%s", out)
	}
	if !strings.Contains(out, "level=ERROR") || !strings.Contains(out, "disk full") {
		t.Errorf("the error is not on stderr:\n%s", out)
	}
	if strings.Contains(out, "Initializing directory") {
		t.Errorf("an informational line reached stderr:\n%s", out)
	}
}
