package main

import (
	"context"
	"corridor/internal/durable"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"corridor/app"
	"corridor/witness"
)

func init() {
	commands["witness"] = command{"run a C2SP tlog-witness that cosigns a log's consistent tree heads", cmdWitness}
}

// cmdWitness runs a witness for one log. The log's verifier key is given
// with --log-key, or fetched once from URL/log/key and pinned in the state
// folder (trust on first use); a later run refuses a different key.
func cmdWitness(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("witness", stderr)
	logURL := fs.String("log", "", "base URL of the corridor server whose log to witness (its key is read from URL/log/key)")
	logKey := fs.String("log-key", "", "the log's verifier key (instead of fetching it from --log)")
	keyFile := fs.String("key", "", "the witness's private key file; created with a new key if missing (public key in FILE.pub)")
	name := fs.String("name", "", "the witness's key name, used when creating --key (default witness-<host>)")
	state := fs.String("state", "", "folder holding the last tree head cosigned (kept durably)")
	addr := fs.String("addr", "127.0.0.1:8421", "HOST:PORT to listen on")
	if err := parse(fs, args); err != nil {
		return err
	}
	for _, f := range []struct{ n, v string }{{"key", *keyFile}, {"state", *state}} {
		if err := requireFlag(f.n, f.v); err != nil {
			return err
		}
	}
	if *logURL == "" && *logKey == "" {
		return usagef("-log or -log-key is required")
	}
	if err := checkAddr(*addr); err != nil {
		return err
	}
	signer, vkey, err := witnessKey(*keyFile, *name)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*state, 0o700); err != nil {
		return err
	}
	lkey, err := pinLogKey(ctx, *state, *logURL, *logKey)
	if err != nil {
		return err
	}
	lv, err := note.NewVerifier(lkey)
	if err != nil {
		return fmt.Errorf("log key %q: %w", lkey, err)
	}
	lg := logger(stderr)
	w, err := witness.New(witness.Config{Signer: signer, Logs: map[string]note.Verifier{lv.Name(): lv}, StateDir: *state, Logger: lg})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: w.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "corridor: witness %s for log %s\n  witness key: %s\ncorridor: serving http://%s\n", signer.Name(), lv.Name(), vkey, ln.Addr())
	select {
	case <-ctx.Done():
	case err := <-served:
		return err
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// witnessKey reads the witness's private key, or creates it (and FILE.pub
// with the cosignature verifier key) if the file does not exist.
func witnessKey(file, name string) (note.Signer, string, error) {
	b, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		if name == "" {
			host, _ := os.Hostname()
			name = "witness-" + strings.ReplaceAll(host, " ", "-")
		}
		skey, vkey, err := witness.GenerateKey(name)
		if err != nil {
			return nil, "", err
		}
		if err := durable.WriteFile(file, []byte(skey+"\n"), 0o600); err != nil {
			return nil, "", err
		}
		if err := durable.WriteFile(file+".pub", []byte(vkey+"\n"), 0o644); err != nil {
			return nil, "", err
		}
		s, err := witness.NewSigner(skey)
		return s, vkey, err
	}
	if err != nil {
		return nil, "", err
	}
	s, err := witness.NewSigner(string(b))
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", file, err)
	}
	vkey := ""
	if pub, err := os.ReadFile(file + ".pub"); err == nil {
		vkey = strings.TrimSpace(string(pub))
	}
	return s, vkey, nil
}

// pinLogKey returns the log key to trust: given, or pinned in the state
// folder, or fetched from the log and pinned. A key that differs from the
// pinned one is refused.
func pinLogKey(ctx context.Context, state, logURL, given string) (string, error) {
	pinFile := filepath.Join(state, "log.vkey")
	pinned := ""
	if b, err := os.ReadFile(pinFile); err == nil {
		pinned = strings.TrimSpace(string(b))
	}
	key := strings.TrimSpace(given)
	if key == "" && pinned != "" {
		key = pinned
	}
	if key == "" {
		k, err := fetchLogKey(ctx, logURL)
		if err != nil {
			return "", err
		}
		key = k
	}
	if pinned != "" && pinned != key {
		return "", fmt.Errorf("log key %s differs from the key %s pinned in %s: refusing (remove the file to trust a new key)", key, pinned, pinFile)
	}
	if pinned == "" {
		if err := durable.WriteFile(pinFile, []byte(key+"\n"), 0o644); err != nil {
			return "", err
		}
	}
	return key, nil
}

// fetchLogKey reads URL/log/key.
func fetchLogKey(ctx context.Context, base string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+"/log/key", nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("fetching the log key: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("fetching the log key from %s/log/key: %s", base, resp.Status)
	}
	return strings.TrimSpace(string(b)), nil
}

// witnessFlags are the serve flags that put the log under a witness policy.
type witnessFlags struct {
	policy   *string
	failOpen *bool
	timeout  *time.Duration
}

func addWitnessFlags(fs *flag.FlagSet) *witnessFlags {
	return &witnessFlags{
		policy:   fs.String("witness-policy", "", "witness policy file (witness, group and quorum lines): tree heads are published only with the quorum's cosignatures"),
		failOpen: fs.Bool("witness-fail-open", false, "publish tree heads even when the witness quorum cannot be reached (with a warning); by default publication is held"),
		timeout:  fs.Duration("witness-timeout", 5*time.Second, "how long to wait for the witnesses for one tree head"),
	}
}

// apply reads the policy, if any, into the node's ledger options.
func (f *witnessFlags) apply(opts *app.NodeOptions) (*witness.Policy, error) {
	if *f.policy == "" {
		return nil, nil
	}
	p, err := witness.ReadPolicy(*f.policy)
	if err != nil {
		return nil, err
	}
	if err := p.Reachable(); err != nil {
		return nil, fmt.Errorf("%s: %w", *f.policy, err)
	}
	opts.Ledger.Witnesses = p.Group
	opts.Ledger.WitnessFailOpen = *f.failOpen
	opts.Ledger.WitnessTimeout = *f.timeout
	return p, nil
}
