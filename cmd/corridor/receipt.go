package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"corridor/receipt"
	"corridor/witness"
)

func init() {
	commands["receipt"] = command{"fetch a record's receipt, or verify one offline against a trust policy", cmdReceipt}
}

func cmdReceipt(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("want \"receipt verify [flags] FILE\" or \"receipt get [flags] URL RECORD-ID\"")
	}
	switch args[0] {
	case "verify":
		return receiptVerify(args[1:], stdout, stderr)
	case "get":
		return receiptGet(ctx, args[1:], stdout, stderr)
	}
	return usagef("unknown receipt command %q: want verify or get", args[0])
}

func parseArgs(fs *flag.FlagSet, args []string, n int, what string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usagef("%v", err)
	}
	if fs.NArg() != n {
		return usagef("want %s (flags first)", what)
	}
	return nil
}

func receiptVerify(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("receipt verify", stderr)
	policyFile := fs.String("policy", "", "trust policy: log key (log line), witnesses, quorum")
	logKey := fs.String("log-key", "", "the log's verifier key (if the policy has no log line; with no policy no cosignature is required)")
	recordFile := fs.String("record", "", "the record (its canonical JSON, as logged) to check the receipt against, if held separately")
	if err := parseArgs(fs, args, 1, "one receipt FILE"); err != nil {
		return err
	}
	var policy *witness.Policy
	var err error
	if *policyFile != "" {
		policy, err = witness.ReadPolicy(*policyFile)
	} else {
		policy, err = witness.ParsePolicy([]byte("quorum none\n"))
	}
	if err != nil {
		return err
	}
	if *logKey != "" {
		v, err := note.NewVerifier(strings.TrimSpace(*logKey))
		if err != nil {
			return fmt.Errorf("log key: %w", err)
		}
		policy.Log, policy.LogKey = v, *logKey
	}
	if policy.Log == nil {
		return usagef("-policy with a log line, or -log-key, is required")
	}
	data, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return err
	}
	var given []byte
	if *recordFile != "" {
		if given, err = os.ReadFile(*recordFile); err != nil {
			return err
		}
		given = []byte(strings.TrimRight(string(given), "\n"))
	}
	r, err := receipt.Parse(data)
	if err != nil {
		return fmt.Errorf("FAILED: %w", err)
	}
	res, err := receipt.Verify(r, policy, given)
	if err != nil {
		return fmt.Errorf("FAILED: %w", err)
	}
	cos := "no witness"
	if len(res.Cosigners) > 0 {
		cos = strings.Join(res.Cosigners, ", ")
	}
	fmt.Fprintf(stdout, "corridor: receipt verified: record %s (%s, key %s) is at index %d of %s, in the tree head of size %d cosigned by %s\n",
		res.Record.ID, res.Record.Type, res.Record.KeyID, res.Index, res.Origin, res.TreeSize, cos)
	return nil
}

func receiptGet(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("receipt get", stderr)
	out := fs.String("out", "", "file to write the receipt to (default stdout)")
	if err := parseArgs(fs, args, 2, "URL and RECORD-ID"); err != nil {
		return err
	}
	u := strings.TrimRight(fs.Arg(0), "/") + "/api/v1/records/" + url.PathEscape(fs.Arg(1)) + "/receipt"
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", u, resp.Status, strings.TrimSpace(string(b)))
	}
	if *out == "" {
		_, err = stdout.Write(b)
		return err
	}
	return os.WriteFile(*out, b, 0o644)
}
