package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"corridor/app"
	"corridor/client"
	"corridor/record"
	"corridor/scenario"
)

func init() {
	commands["load"] = command{"sign a scenario file with its parties' keys and submit it through the API (stop corridor serve first)", cmdLoad}
}

// scenarioFlag adds -scenario FILE.
func scenarioFlag(fs *flag.FlagSet) *string {
	return fs.String("scenario", "", "scenario file (JSON, the format of scenario/*.json); default: the reference scenario")
}

// readScenario reads a scenario file, or gives the reference scenario for "".
func readScenario(label, path string) (*scenario.Scenario, error) {
	if path == "" {
		return scenario.Reference(), nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, usagef("%s %s: %v", label, path, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, scenario.MaxBytes+1))
	if err != nil {
		return nil, usagef("%s %s: %v", label, path, err)
	}
	sc, err := scenario.Parse(b)
	if err != nil {
		return nil, usagef("%s %s: %v", label, path, err)
	}
	return sc, nil
}

// loadScenario signs a scenario and posts it to the running server like
// any client: each party's records with a token of that party. Keys are
// read from keyDir where they exist (ID.key) and made and left there
// where not, with a token per party (ID.token), so that the CLI can act as
// any party. A folder that already holds the scenario (its first party is
// registered) is left as it is; it says so.
func loadScenario(ctx context.Context, node *app.Node, sc *scenario.Scenario, keyDir, url string) (loaded bool, err error) {
	if _, err := node.Store().Party(ctx, sc.Parties[0].ID); err == nil {
		return false, nil
	}
	if err := os.MkdirAll(keyDir, 0o700); err != nil {
		return false, err
	}
	keys := map[string]*record.Key{}
	for _, p := range sc.Parties {
		k, err := record.ReadKeyFile(filepath.Join(keyDir, p.ID+".key"))
		if err == nil {
			keys[p.ID] = k
		} else if !errors.Is(err, os.ErrNotExist) {
			return false, fmt.Errorf("key of %s: %w", p.ID, err)
		}
	}
	signed, err := sc.SignWith(node.Dir, node.Config.Operator, keys)
	if err != nil {
		return false, err
	}
	tokens := map[string]string{}
	for id, k := range signed.Keys {
		if id != node.Config.Operator {
			path := filepath.Join(keyDir, id+".key")
			if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
				if err := record.WriteKeyFiles(k, path); err != nil {
					return false, err
				}
			}
		}
		tok, _, err := node.Store().IssueToken(ctx, id, "scenario")
		if err != nil {
			return false, err
		}
		tokens[id] = tok
		if err := os.WriteFile(filepath.Join(keyDir, id+".token"), []byte(tok+"\n"), 0o600); err != nil {
			return false, err
		}
	}
	c := client.New(url)
	for _, b := range signed.Batches {
		c.Token = tokens[b.Party]
		if _, err := c.Submit(ctx, b.Subs); err != nil {
			return false, fmt.Errorf("records of %s: %w", b.Party, err)
		}
	}
	return true, nil
}

// cmdLoad opens a data folder, serves its API on a loopback port of its
// own and submits the scenario through it, as any client would.
func cmdLoad(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("load", stderr)
	data := fs.String("data", "", "data folder (made if missing); corridor serve must not be running on it")
	keyDir := fs.String("keys", "", "folder of the parties' keys: ID.key where given, made there where not (default DATA/scenario-keys)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: corridor load -data DIR [-keys DIR] FILE")
		fs.PrintDefaults()
	}
	var file string
	if len(args) > 0 && args[len(args)-1] != "" && args[len(args)-1][0] != '-' {
		file, args = args[len(args)-1], args[:len(args)-1]
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := requireFlag("data", *data); err != nil {
		return err
	}
	if file == "" || fs.NArg() > 0 {
		return usagef("give one scenario FILE after the flags")
	}
	sc, err := readScenario("FILE", file)
	if err != nil {
		return err
	}
	if *keyDir == "" {
		*keyDir = filepath.Join(*data, "scenario-keys")
	}
	if _, err := app.ReadConfig(*data); err != nil {
		if _, err := app.Init(ctx, *data, "corridor.localhost/log"); err != nil {
			return err
		}
	}
	lg := logger(stderr)
	node, err := app.OpenNode(ctx, *data, app.NodeOptions{Logger: lg})
	if err != nil {
		return err
	}
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	var loaded bool
	err = serveNode(sctx, node, "127.0.0.1:0", lg, serveOpts{}, func(url string) error {
		defer stop()
		var err error
		loaded, err = loadScenario(ctx, node, sc, *keyDir, url)
		return err
	})
	if err != nil {
		return err
	}
	if !loaded {
		fmt.Fprintf(stdout, "corridor: %s already holds %q (party %s is registered); nothing loaded\n", *data, sc.Name, sc.Parties[0].ID)
		return nil
	}
	fmt.Fprintf(stdout, "corridor: loaded %q into %s: %d parties, %d records (keys and tokens in %s)\n", sc.Name, *data, len(sc.Parties), len(sc.Records), *keyDir)
	return nil
}
