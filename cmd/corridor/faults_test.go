package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"corridor/internal/skipped"
	"corridor/record"
)

// smallDisk mounts a tmpfs of the given size (such as "2m") for the test,
// or skips: it needs root and a system that lets it mount.
func smallDisk(t *testing.T, size string) (dir string, resize func(size string)) {
	t.Helper()
	const group = "disk-full test (cmd/corridor)"
	if os.Geteuid() != 0 {
		skipped.Skip(t, group, "it mounts a small tmpfs, which needs root")
	}
	dir = t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		skipped.Skip(t, group, "mount -t tmpfs failed: "+strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return dir, func(size string) {
		t.Helper()
		if out, err := exec.Command("mount", "-o", "remount,size="+size, dir).CombinedOutput(); err != nil {
			t.Fatalf("remount %s with size %s: %v\n%s", dir, size, err, out)
		}
	}
}

// waitFor polls cond until it holds or the time is up.
func waitFor(limit time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

// TestDiskFull serves a data folder on a small disk and writes until the
// disk is full: every record that could not be stored is answered 503
// "unavailable" with a Retry-After and nothing else; none that was
// acknowledged is lost; once there is room again the same server takes
// records again; and afterwards the folder verifies and opens.
func TestDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a disk through a real server")
	}
	mnt, resize := smallDisk(t, "2m")
	bin := buildBinary(t)
	dir := filepath.Join(mnt, "data")
	if out, err := exec.Command(bin, "init", "--data", dir).CombinedOutput(); err != nil {
		t.Fatalf("corridor init on a 2 MB disk: %v\n%s", err, out)
	}
	op, err := record.ReadKeyFile(filepath.Join(dir, "operator.key"))
	if err != nil {
		t.Fatal(err)
	}
	token := operatorToken(t, dir)
	p := startServe(t, bin, dir, "diskfull")

	full, stop := writeRecords(p, op, token, "full")
	filled := waitFor(2*time.Minute, func() bool { return full.problemCount() >= 40 })
	stop()
	if !filled {
		t.Fatalf("the disk never filled: %d records acknowledged, answers %v\nstderr:\n%s", full.ackCount(), full.problems, p.stderrTail())
	}
	if len(full.acked) == 0 {
		t.Fatalf("nothing was acknowledged before the disk filled\nstderr:\n%s", p.stderrTail())
	}
	for kind, n := range full.problems {
		if kind != "503 unavailable retry=30s" {
			t.Errorf("%d answers while the disk was full were %q, want 503 unavailable with Retry-After: 30", n, kind)
		}
	}
	if len(full.rejected) > 0 {
		sort.Strings(full.rejected)
		t.Errorf("%d records refused with a 4xx answer while the disk was full, e.g. %s", len(full.rejected), full.rejected[0])
	}
	if !strings.Contains(p.stderrTail(), "no space left on device") {
		t.Errorf("serve's log does not name the cause:\n%s", p.stderrTail())
	}
	t.Logf("disk full after %d acknowledged records; %d answered 503", len(full.acked), full.problemCount())

	resize("64m")
	again, stop := writeRecords(p, op, token, "again")
	resumed := waitFor(time.Minute, func() bool { return again.ackCount() >= 20 })
	stop()
	if !resumed {
		t.Fatalf("with room on the disk again the server took %d records in a minute; answers %v\nstderr:\n%s", again.ackCount(), again.problems, p.stderrTail())
	}
	acked, unknown := full.acked, full.unknown
	for id, i := range again.acked {
		acked[id] = i
	}
	for id := range again.unknown {
		unknown[id] = true
	}
	checkServed(t, p.url, acked, unknown)
	p.terminate(t)
	checkLog(t, dir, acked)
	if code, out, errOut := runCLI(t, "verify", "--data", dir); code != 0 {
		t.Fatalf("verify after the disk was full: %d\n%s%s", code, out, errOut)
	}
	p = startServe(t, bin, dir, "diskfull-reopen")
	checkServed(t, p.url, acked, unknown)
	p.terminate(t)
}
