package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"text/tabwriter"

	"corridor/app"
	"corridor/record"
	"corridor/store"
)

func init() {
	commands["token"] = command{"issue, list or revoke API tokens for party members (issue|list|revoke)", cmdToken}
}

func cmdToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("want a subcommand: issue, list or revoke")
	}
	sub, args := args[0], args[1:]
	fs := newFlags("token "+sub, stderr)
	data := fs.String("data", "", "data folder of the server")
	db := fs.String("db", "", "projection database, if not the SQLite file in the data folder")
	var party, label, id *string
	switch sub {
	case "issue":
		party = fs.String("party", "", "party whose member gets the token")
		label = fs.String("label", "", "who or what the token is for (shown in token list)")
	case "list":
		party = fs.String("party", "", "only this party's tokens")
	case "revoke":
		id = fs.String("id", "", "id of the token to revoke (from token list)")
	default:
		return usagef("unknown token subcommand %q: want issue, list or revoke", sub)
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := requireFlag("data", *data); err != nil {
		return err
	}
	st, err := openStore(ctx, *data, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	switch sub {
	case "issue":
		if err := requireFlag("party", *party); err != nil {
			return err
		}
		if err := record.CheckID("party", *party); err != nil {
			return usagef("-%v", err)
		}
		if len(*label) > 200 {
			return usagef("-label: longer than 200 characters")
		}
		if _, err := st.Party(ctx, *party); err != nil {
			return fmt.Errorf("-party %q: no such party is registered", *party)
		}
		secret, t, err := st.IssueToken(ctx, *party, *label)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "token %s for party %s; it is shown once, keep it secret\n", t.ID, t.Party)
		fmt.Fprintln(stdout, secret)
	case "list":
		list, err := st.Tokens(ctx, *party)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tPARTY\tLABEL\tCREATED\tREVOKED")
		for _, t := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.ID, t.Party, t.Label, t.Created, t.Revoked)
		}
		return tw.Flush()
	case "revoke":
		if err := requireFlag("id", *id); err != nil {
			return err
		}
		if err := st.RevokeToken(ctx, *id); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "revoked token %s\n", *id)
	}
	return nil
}

// openStore opens the projection of the data folder data: the SQLite
// file in it, or db if given.
func openStore(ctx context.Context, data, db string) (*store.Store, error) {
	if _, err := app.ReadConfig(data); err != nil {
		return nil, err
	}
	if db == "" {
		db = filepath.Join(data, app.ProjectionFile)
	}
	return store.Open(ctx, db)
}
