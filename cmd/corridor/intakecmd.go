package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"corridor"
	"corridor/intake"
	"corridor/record"
	"corridor/scenario"
	"corridor/store"
)

func init() {
	commands["intake"] = command{"propose draft statements, claims and events from a news text, for review; --sign records reviewed drafts (client)", cmdIntake}
}

// maxDraftsFile bounds a drafts file given to --sign.
const maxDraftsFile = 4 << 20

func cmdIntake(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("intake", stderr)
	o := addClientFlags(fs, true)
	o.byContent = true
	published := fs.String("published", "", "the day the text was published, YYYY-MM-DD (default today): relative dates are read against it")
	scenarioFile := fs.String("scenario", "", "match names against this scenario file's places, routes, checkpoints and parties (default: the server's with --server, else the reference scenario)")
	sign := fs.Bool("sign", false, "FILE is a drafts file (the JSON intake printed, reviewed and edited): sign and record every draft in it, all or none")
	if err := parseArgs(fs, args, 1, "one FILE: a text, or - for standard input; with -sign, a drafts file"); err != nil {
		return err
	}
	data, err := readInput(fs.Arg(0), max(intake.MaxText*4, maxDraftsFile))
	if err != nil {
		return err
	}
	if *sign {
		return signDrafts(ctx, o, data, stdout)
	}
	pub := time.Now().UTC().Truncate(24 * time.Hour)
	if *published != "" {
		if pub, err = time.Parse(time.DateOnly, *published); err != nil {
			return usagef("-published %q: want YYYY-MM-DD", *published)
		}
	}
	g, err := gazetteer(ctx, o, *scenarioFile, fs)
	if err != nil {
		return err
	}
	res, err := intake.Read(string(data), pub, g)
	if errors.Is(err, intake.ErrNothing) {
		if *o.asJSON {
			printJSON(stdout, res)
		}
		return fmt.Errorf("%s: %w", fs.Arg(0), err)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", fs.Arg(0), err)
	}
	if *o.asJSON {
		return printJSON(stdout, res)
	}
	fmt.Fprintf(stdout, "%d drafts from a text in %s (published %s); review them, then sign with: corridor intake --json … > drafts.json; edit; corridor intake --sign drafts.json\n",
		len(res.Drafts), res.Lang, pub.Format(time.DateOnly))
	for i, d := range res.Drafts {
		b, _ := json.Marshal(d.Payload)
		fmt.Fprintf(stdout, "\n%d. %s (confidence %.2f), characters %d–%d\n   %s\n", i+1, d.Type, d.Confidence, d.Source.Start, d.Source.End, b)
		if len(d.Facts) > 0 {
			f, _ := json.Marshal(d.Facts)
			fmt.Fprintf(stdout, "   facts: %s\n", f)
		}
		fmt.Fprintf(stdout, "   from: %q\n", d.Source.Sentence)
	}
	for _, n := range res.Notes {
		fmt.Fprintln(stdout, "note:", n)
	}
	return nil
}

// readInput reads a file (or standard input for "-"), at most limit bytes.
func readInput(name string, limit int) ([]byte, error) {
	var r io.Reader = os.Stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, err
	}
	if len(data) > limit {
		return nil, usagef("%s: more than %d bytes", name, limit)
	}
	return data, nil
}

// gazetteer gathers the names to match: from a scenario file, from the
// server's registry, or from the reference scenario.
func gazetteer(ctx context.Context, o *clientOpts, scenarioFile string, fs *flag.FlagSet) (*intake.Gazetteer, error) {
	var ps []corridor.Payload
	fromScenario := func(sc *scenario.Scenario) {
		for i := range sc.Parties {
			ps = append(ps, &sc.Parties[i])
		}
		for _, st := range sc.Records {
			if p, ok := intake.RegistryPayload(st.Type, st.Payload); ok {
				ps = append(ps, p)
			}
		}
	}
	switch {
	case scenarioFile != "":
		b, err := os.ReadFile(scenarioFile)
		if err != nil {
			return nil, err
		}
		sc, err := scenario.Parse(b)
		if err != nil {
			return nil, fmt.Errorf("-scenario %s: %w", scenarioFile, err)
		}
		fromScenario(sc)
	case serverGiven(fs):
		c, err := o.client()
		if err != nil {
			return nil, err
		}
		var places struct{ Items []store.PlaceRow }
		var routes struct{ Items []store.RouteRow }
		var cps struct{ Items []store.CheckpointRow }
		var parties struct{ Items []store.PartyRow }
		for path, out := range map[string]any{"/api/v1/places": &places, "/api/v1/routes": &routes, "/api/v1/checkpoints": &cps, "/api/v1/parties": &parties} {
			if err := c.Get(ctx, path, out); err != nil {
				return nil, fmt.Errorf("reading the gazetteer from %s: %w", c.Base, err)
			}
		}
		return intake.FromRows(places.Items, routes.Items, cps.Items, parties.Items), nil
	default:
		fromScenario(scenario.Reference())
	}
	return intake.FromPayloads(ps), nil
}

// signDrafts signs every draft of a reviewed drafts file as its party
// and records them in one batch; each record's id follows from its
// content, so signing the same file again is a retry.
func signDrafts(ctx context.Context, o *clientOpts, data []byte, stdout io.Writer) error {
	var doc struct {
		Drafts []struct {
			Type    string         `json:"type"`
			Payload map[string]any `json:"payload"`
		} `json:"drafts"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return usagef("drafts file: %v (want the JSON corridor intake --json prints)", err)
	}
	if len(doc.Drafts) == 0 {
		return usagef("drafts file: no drafts")
	}
	prefixes := map[string]string{corridor.TypeStatement: "st", corridor.TypeClaim: "claim", corridor.TypeIncident: "incident"}
	for i, d := range doc.Drafts {
		if prefixes[d.Type] == "" {
			return usagef("drafts[%d].type: %q is not one intake proposes (%s, %s, %s)", i, d.Type, corridor.TypeStatement, corridor.TypeClaim, corridor.TypeIncident)
		}
	}
	return o.submitAll(ctx, stdout, func(party string) ([]draft, error) {
		var out []draft
		for _, d := range doc.Drafts {
			p := d.Payload
			if id, _ := p["id"].(string); id == "" {
				p["id"] = record.ContentID(prefixes[d.Type], party, p)
			}
			out = append(out, draft{typ: d.Type, payload: p, id: record.ContentID(strings.ReplaceAll(d.Type, ".", "-"), party, p)})
		}
		return out, nil
	})
}

// serverGiven reports whether a server was named (-server or
// CORRIDOR_SERVER), rather than defaulted.
func serverGiven(fs *flag.FlagSet) bool {
	given := os.Getenv("CORRIDOR_SERVER") != ""
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == "server" })
	return given
}
