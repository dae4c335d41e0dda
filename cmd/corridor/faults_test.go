package main

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"corridor/internal/skipped"
	"corridor/ledger"
	"corridor/record"

	"golang.org/x/mod/sumdb/note"
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

// TestKillWitnessDuringStateWrites SIGKILLs a real "corridor witness"
// while clients make it cosign (each cosignature is a durable write of its
// state) and starts it again, five times: it always starts, leaves no
// temporary file behind, remembers at least every tree head it answered
// for, and goes on cosigning the log as it grows.
func TestKillWitnessDuringStateWrites(t *testing.T) {
	bin := buildBinary(t)
	ctx := context.Background()
	skey, vkey, err := note.GenerateKey(crand.Reader, "corridor.test/witnessed-log")
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := note.NewSigner(skey)
	l, err := ledger.Open(ctx, t.TempDir(), signer, ledger.Options{CheckpointInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(ctx)
	// grow appends k entries and returns the published tree head with them.
	grow := func(k int) ([]byte, uint64) {
		t.Helper()
		var es [][]byte
		for range k {
			es = append(es, []byte(fmt.Sprintf("entry %d", rand.Int64())))
		}
		idx, err := l.Append(ctx, es)
		if err != nil {
			t.Fatal(err)
		}
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := l.WaitPublished(wctx, idx[len(idx)-1]); err != nil {
			t.Fatal(err)
		}
		raw, size, _, err := l.TreeHead(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return raw, size
	}
	// request is a tlog-witness add-checkpoint body from old to the tree head.
	request := func(old, size uint64, treeHead []byte) []byte {
		var b bytes.Buffer
		fmt.Fprintf(&b, "old %d\n", old)
		if old > 0 && old < size {
			p, err := l.ConsistencyProof(ctx, old, size)
			if err != nil {
				panic(err)
			}
			for _, h := range p {
				b.WriteString(base64.StdEncoding.EncodeToString(h) + "\n")
			}
		}
		b.WriteString("\n")
		b.Write(treeHead)
		return b.Bytes()
	}

	state := filepath.Join(t.TempDir(), "witness-state")
	keyFile := filepath.Join(t.TempDir(), "witness.key")
	port := freePort(t)
	url := "http://127.0.0.1:" + port + "/add-checkpoint"
	var cosigned uint64 // the largest size the witness answered a cosignature for
	for cycle := range 5 {
		var out syncBuffer
		cmd := exec.Command(bin, "witness", "--log-key", vkey, "--key", keyFile, "--state", state, "--addr", "127.0.0.1:"+port)
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if !waitFor(30*time.Second, func() bool { return strings.Contains(out.String(), "corridor: serving") }) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("cycle %d: the witness did not start after a kill:\n%s", cycle, out.String())
		}
		if left, _ := filepath.Glob(filepath.Join(state, ".*.tmp-*")); len(left) > 0 {
			t.Errorf("cycle %d: temporary state files left after a start: %v", cycle, left)
		}
		treeHead, size := grow(3)
		// The witness's size, from a 409 for a size it cannot have.
		resp, err := http.Post(url, "text/plain", bytes.NewReader(request(size, size, treeHead)))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var known uint64
		if resp.StatusCode != http.StatusConflict {
			t.Fatalf("cycle %d: asked with the wrong old size the witness answered %d: %s", cycle, resp.StatusCode, body)
		}
		fmt.Sscan(string(body), &known)
		if known < cosigned {
			t.Fatalf("cycle %d: after a kill the witness knows size %d, but it answered a cosignature for size %d", cycle, known, cosigned)
		}
		// Cosign the grown tree head, then the same again and again, each
		// a state write, until the kill.
		var mu sync.Mutex
		writes := 0
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					mu.Lock()
					old := known
					mu.Unlock()
					resp, err := http.Post(url, "text/plain", bytes.NewReader(request(old, size, treeHead)))
					if err != nil {
						return // killed
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode == http.StatusOK {
						mu.Lock()
						writes++
						known, cosigned = size, max(cosigned, size)
						mu.Unlock()
					}
				}
			}()
		}
		time.Sleep(100*time.Millisecond + time.Duration(rand.Int64N(int64(300*time.Millisecond))))
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		close(stop)
		wg.Wait()
		t.Logf("cycle %d: killed after %d cosignatures (state writes) of size %d", cycle, writes, size)
		if cosigned != size {
			t.Fatalf("cycle %d: the witness cosigned nothing of size %d before the kill:\n%s", cycle, size, out.String())
		}
	}
}
