package main

import (
	"context"
	"corridor/internal/durable"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/transparency-dev/tessera/client"
	"golang.org/x/mod/sumdb/note"

	"corridor/app"
	"corridor/audit"
	"corridor/evidence"
	"corridor/witness"
)

func init() {
	commands["audit"] = command{"check a public log from its tiles and recompute what the server publishes", cmdAudit}
}

func cmdAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("audit", stderr)
	dir := fs.String("dir", "", "read the log from a local copy (a log folder, or a data folder holding log/) instead of URL/log/")
	policyFile := fs.String("policy", "", "trust policy: the log key (log line), the witnesses and the quorum")
	logKey := fs.String("log-key", "", "the log's verifier key (if the policy has no log line)")
	stateFile := fs.String("state", "", "file keeping the last tree head audited: the next audit checks the log is consistent with it")
	workers := fs.Int("workers", 8, "tiles and bundles fetched at once")
	verifiers := fs.Int("verifiers", 0, "goroutines parsing entries and verifying signatures ahead of the replay (default: one per core)")
	quiet := fs.Bool("quiet", false, "no progress lines")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usagef("%v", err)
	}
	if fs.NArg() > 1 {
		return usagef("want at most one URL, got %q", strings.Join(fs.Args(), " "))
	}
	server := fs.Arg(0)
	if server == "" && *dir == "" {
		return usagef("give the server's URL, or -dir for a local copy")
	}

	var notes []string
	var src audit.Source
	var files audit.FileSource
	var localKey string
	if *dir != "" {
		root := *dir
		if _, err := os.Stat(filepath.Join(root, app.LogDir, "checkpoint")); err == nil {
			if cfg, err := app.ReadConfig(root); err == nil {
				localKey = cfg.Verifier
			}
			root = filepath.Join(root, app.LogDir)
		}
		src = client.FileFetcher{Root: root}
		// The evidence files beside the log: the data folder's files/.
		if fi, err := os.Stat(filepath.Join(filepath.Dir(root), app.FilesDir)); err == nil && fi.IsDir() {
			files = audit.LocalFiles{Store: evidence.At(filepath.Join(filepath.Dir(root), app.FilesDir))}
		}
	} else {
		u, err := url.Parse(strings.TrimRight(server, "/") + "/log/")
		if err != nil {
			return usagef("URL %q: %v", server, err)
		}
		f, err := client.NewHTTPFetcher(u, nil)
		if err != nil {
			return err
		}
		src = f
		files = audit.HTTPFiles{Base: server}
	}

	policy := &witness.Policy{}
	if *policyFile != "" {
		p, err := witness.ReadPolicy(*policyFile)
		if err != nil {
			return err
		}
		policy = p
	} else {
		p, err := witness.ParsePolicy([]byte("quorum none\n"))
		if err != nil {
			return err
		}
		policy = p
		notes = append(notes, "no policy given: witness cosignatures are listed but not required")
	}
	if policy.Log == nil {
		key := strings.TrimSpace(*logKey)
		switch {
		case key != "":
		case localKey != "":
			key = localKey
			notes = append(notes, "log key read from the data folder's corridor.json")
		case server != "":
			k, err := fetchLogKey(ctx, server)
			if err != nil {
				return err
			}
			key = k
			notes = append(notes, "log key taken from the server itself ("+server+"/log/key): pass -log-key or -policy to pin it")
		default:
			return usagef("-log-key or -policy is needed to check a copy that is not a data folder")
		}
		v, err := note.NewVerifier(key)
		if err != nil {
			return fmt.Errorf("log key: %w", err)
		}
		policy.Log, policy.LogKey = v, key
	}

	var prev []byte
	if *stateFile != "" {
		b, err := os.ReadFile(*stateFile)
		switch {
		case err == nil:
			prev = b
		case !errors.Is(err, os.ErrNotExist):
			return err
		}
	}
	o := audit.Options{Source: src, Policy: policy, API: server, Previous: prev, Workers: *workers, Verifiers: *verifiers, Files: files}
	if !*quiet {
		o.Progress = stderr
	}
	rep, err := audit.Run(ctx, o)
	if err != nil {
		return err
	}
	printReport(stdout, rep, append(notes, rep.Notes...))
	if !rep.OK() {
		return fmt.Errorf("FAILED: %d problems found", len(rep.Problems))
	}
	if *stateFile != "" {
		if err := durable.WriteFile(*stateFile, rep.TreeHead, 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "corridor: audit passed: %d records of %s, in %s\n", rep.TreeSize, rep.Origin, rep.Took.Round(1e6))
	return nil
}

func printReport(w io.Writer, rep *audit.Report, notes []string) {
	fmt.Fprintf(w, "tree head: %s, %d entries, root %x\n", rep.Origin, rep.TreeSize, rep.Root)
	if len(rep.Cosigners) > 0 {
		fmt.Fprintf(w, "cosigned by: %s\n", strings.Join(rep.Cosigners, ", "))
	} else {
		fmt.Fprintf(w, "cosigned by: no witness of the policy\n")
	}
	fmt.Fprintf(w, "records: %d replayed through the rules with valid signatures\n", rep.Replayed)
	if len(rep.Compared) > 0 {
		fmt.Fprintf(w, "compared with the server: %d answers, every page of each list (%s)\n", rep.Pages, summarisePaths(rep.Compared))
	}
	if rep.Files > 0 {
		fmt.Fprintf(w, "evidence files: %d checked against the SHA-256 their records signed\n", rep.Files)
	}
	for _, n := range notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	for _, p := range rep.Problems {
		fmt.Fprintf(w, "PROBLEM: %s\n", p)
	}
}

func summarisePaths(paths []string) string {
	var lists []string
	details := 0
	for _, p := range paths {
		if strings.Count(p, "/") > 3 || strings.Contains(p, "?") {
			details++
			continue
		}
		lists = append(lists, strings.TrimPrefix(p, "/api/v1/"))
	}
	return fmt.Sprintf("%s and %d details", strings.Join(lists, ", "), details)
}
