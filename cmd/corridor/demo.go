package main

import (
	"context"
	"os"
	"path/filepath"

	"corridor/app"
	"corridor/client"
	"corridor/record"
	"corridor/scenario"
)

// loadScenario signs the reference scenario with fresh demo keys and posts
// it to the running server like any client: each party's records with a
// token of that party. Keys and tokens are left in DIR/demo-keys so that
// the CLI can act as any party. A folder that already holds the scenario
// is left as it is.
func loadScenario(ctx context.Context, node *app.Node, dir, url string) error {
	sc := scenario.Reference()
	if len(sc.Parties) > 0 {
		if _, err := node.Store().Party(ctx, sc.Parties[0].ID); err == nil {
			return nil
		}
	}
	signed, err := sc.SignFor(dir, node.Config.Operator)
	if err != nil {
		return err
	}
	keys := signed.Keys
	keyDir := filepath.Join(dir, "demo-keys")
	if err := os.MkdirAll(keyDir, 0o700); err != nil {
		return err
	}
	tokens := map[string]string{}
	for id, k := range keys {
		if id != node.Config.Operator {
			if err := record.WriteKeyFiles(k, filepath.Join(keyDir, id+".key")); err != nil {
				return err
			}
		}
		tok, _, err := node.Store().IssueToken(ctx, id, "demo")
		if err != nil {
			return err
		}
		tokens[id] = tok
		if err := os.WriteFile(filepath.Join(keyDir, id+".token"), []byte(tok+"\n"), 0o600); err != nil {
			return err
		}
	}
	c := client.New(url)
	for _, b := range signed.Batches {
		c.Token = tokens[b.Party]
		if _, err := c.Submit(ctx, b.Subs); err != nil {
			return err
		}
	}
	return nil
}
