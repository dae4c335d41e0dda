// Package skipped tells the person running go test which groups of tests
// did not run, and why, even without -v.
//
// In package list mode (go test ./...) the go command shows nothing but
// "ok" for a passing package: t.Log and t.Skip messages, and anything the
// test binary writes, are dropped. So Say writes its line to the go
// command's own standard error (the test binary's parent, through /proc
// on Linux), once per run and group however many packages share the
// group, and to the test's log as usual. Elsewhere it writes to the test
// binary's standard error, which go test shows with -v.
package skipped

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

var (
	mu   sync.Mutex
	said = map[string]bool{}
)

// Say tells once per go test run that the tests of group did not run (or
// ran in part) and why: one line, "corridor tests: GROUP not run: WHY".
func Say(t testing.TB, group, why string) {
	t.Helper()
	// One line, however much a tool printed.
	why = strings.Join(strings.Fields(why), " ")
	if r := []rune(why); len(r) > 300 {
		why = string(r[:300]) + "…"
	}
	t.Log(group + " not run: " + why)
	mu.Lock()
	defer mu.Unlock()
	if said[group] {
		return
	}
	said[group] = true
	if !firstInRun(group) {
		return
	}
	line := fmt.Sprintf("corridor tests: %s not run: %s\n", group, why)
	if f, err := os.OpenFile("/proc/"+strconv.Itoa(os.Getppid())+"/fd/2", os.O_WRONLY|os.O_APPEND, 0); err == nil {
		f.WriteString(line)
		f.Close()
		return
	}
	os.Stderr.WriteString(line)
}

// Skip says why and skips the test.
func Skip(t testing.TB, group, why string) {
	t.Helper()
	Say(t, group, why)
	t.Skip(group + " not run: " + why)
}

// firstInRun reports whether no other test binary of this go test run
// (they share the go command as parent) has said group yet: a marker file
// named by the parent's process id and start time and the group is made
// exclusively.
func firstInRun(group string) bool {
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, strings.ToLower(group))
	run := strconv.Itoa(os.Getppid())
	if stat, err := os.ReadFile("/proc/" + run + "/stat"); err == nil {
		// Field 22, the start time, after the command name in parentheses:
		// a later process with the same id is another run.
		if f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:])); len(f) > 19 {
			run += "-" + f[19]
		}
	}
	dir := filepath.Join(os.TempDir(), "corridor-skipped-"+run)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return true
	}
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return false
	}
	if err == nil {
		f.Close()
	}
	return true
}
