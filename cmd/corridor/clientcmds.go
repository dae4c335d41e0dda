package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"corridor"
	"corridor/api"
	"corridor/app"
	"corridor/client"
	"corridor/record"
	"corridor/report"
	"corridor/store"
)

// The client commands talk to a server over HTTP and sign locally with a
// party's key file; they never touch a data folder.
func init() {
	commands["convoy"] = command{"file, show, list, move, deliver or confirm convoys (client)", cmdConvoy}
	commands["clearance"] = command{"answer a convoy's clearance request as an authority (client)", cmdClearance}
	commands["checkpoint"] = command{"record what happened to a convoy at your checkpoint (client)", cmdCheckpoint}
}

// clientOpts are the flags every client command shares.
type clientOpts struct {
	server, token, tokenFile, key, id *string
	asJSON                            *bool

	signingKey *record.Key // set by signer
	newID      string      // the record id chosen for this run
	// byContent: with no -id, the record id is derived from the payload,
	// so that running the same command again is a retry, not a second
	// record.
	byContent bool
}

func addClientFlags(fs *flag.FlagSet, signs bool) *clientOpts {
	o := &clientOpts{
		server: fs.String("server", envOr("CORRIDOR_SERVER", "http://127.0.0.1:8420"), "server URL (env CORRIDOR_SERVER)"),
		asJSON: fs.Bool("json", false, "print JSON instead of a table"),
	}
	if signs {
		o.token = fs.String("token", os.Getenv("CORRIDOR_TOKEN"), "bearer token of your party (env CORRIDOR_TOKEN)")
		o.tokenFile = fs.String("token-file", "", "file holding the bearer token")
		o.key = fs.String("key", os.Getenv("CORRIDOR_KEY"), "your party's private key file (env CORRIDOR_KEY)")
		o.id = fs.String("id", "", "record id (default: a new random one; reuse it to retry safely)")
	}
	return o
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func (o *clientOpts) client() (*client.Client, error) {
	if !strings.HasPrefix(*o.server, "http://") && !strings.HasPrefix(*o.server, "https://") {
		return nil, usagef("-server %q: want an http:// or https:// URL", *o.server)
	}
	c := client.New(*o.server)
	if o.token != nil {
		c.Token = strings.TrimSpace(*o.token)
		if *o.tokenFile != "" {
			b, err := os.ReadFile(*o.tokenFile)
			if err != nil {
				return nil, err
			}
			c.Token = strings.TrimSpace(string(b))
		}
	}
	return c, nil
}

// signer loads the key and finds, from the server, the party it belongs to.
func (o *clientOpts) signer(ctx context.Context, c *client.Client) (*record.Key, string, error) {
	if err := requireFlag("key", *o.key); err != nil {
		return nil, "", err
	}
	if c.Token == "" {
		return nil, "", usagef("-token or -token-file is required to write")
	}
	k, err := record.ReadKeyFile(*o.key)
	if err != nil {
		return nil, "", err
	}
	if k.Private == nil {
		return nil, "", fmt.Errorf("%s holds a public key; signing needs the private key", *o.key)
	}
	var parties struct{ Items []store.PartyRow }
	if err := c.Get(ctx, "/api/v1/parties", &parties); err != nil {
		return nil, "", err
	}
	for _, p := range parties.Items {
		for _, pk := range p.Keys {
			if pk.ID == k.ID {
				o.signingKey = k
				return k, p.ID, nil
			}
		}
	}
	return nil, "", fmt.Errorf("key %s is not registered to any party on %s", k.ID, c.Base)
}

// recordID is the record id for this run: -id, or one chosen at random
// once (so that the salts and the record agree).
func (o *clientOpts) recordID(prefix string) string {
	if *o.id != "" {
		return *o.id
	}
	if o.newID == "" {
		var b [8]byte
		rand.Read(b[:])
		o.newID = prefix + "-" + hex.EncodeToString(b[:])
	}
	return o.newID
}

// submit signs payload as typ and posts it, printing where it landed.
func (o *clientOpts) submit(ctx context.Context, stdout io.Writer, typ string, build func(party string) (any, map[string]record.Opening, error)) error {
	return o.submitAll(ctx, stdout, func(party string) ([]draft, error) {
		payload, private, err := build(party)
		if err != nil {
			return nil, err
		}
		return []draft{{typ: typ, payload: payload, private: private}}, nil
	})
}

// draft is one record a command makes: its type, payload and personal
// values, and its id ("" for the command's own: -id, or one made).
type draft struct {
	typ     string
	payload any
	private map[string]record.Opening
	id      string
}

// submitAll signs the records build makes and sends them in one batch:
// all are recorded, or none.
func (o *clientOpts) submitAll(ctx context.Context, stdout io.Writer, build func(party string) ([]draft, error)) error {
	c, err := o.client()
	if err != nil {
		return err
	}
	k, party, err := o.signer(ctx, c)
	if err != nil {
		return err
	}
	drafts, err := build(party)
	if err != nil {
		return err
	}
	var subs []*app.Submission
	for _, d := range drafts {
		t, err := corridor.LookupType(d.typ, 1)
		if err != nil {
			return err
		}
		id := d.id
		if id == "" {
			prefix := strings.ReplaceAll(d.typ, ".", "-")
			id = o.recordID(prefix)
			if *o.id == "" && o.byContent {
				id = contentID(prefix, party, d.payload)
			}
		}
		rec, err := record.Sign(k, id, t.Name, t.Version, d.payload)
		if err != nil {
			return err
		}
		// Check locally first, so a mistake is named before anything is sent.
		if _, _, err := corridor.Decode(rec); err != nil {
			return err
		}
		subs = append(subs, &app.Submission{Record: rec, Private: d.private})
	}
	res, err := c.Submit(ctx, subs)
	if err != nil {
		return err
	}
	if *o.asJSON {
		return printJSON(stdout, res)
	}
	for i, r := range res {
		dup := ""
		if r.Duplicate {
			dup = " (already recorded: nothing new written)"
		}
		fmt.Fprintf(stdout, "recorded %s %s, signed by %s, at log index %d%s\n", drafts[i].typ, r.ID, party, r.Index, dup)
	}
	return nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func parseAt(s string) (time.Time, error) {
	if s == "" {
		return time.Now().UTC().Truncate(time.Second), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return t, usagef("-at %q: want an RFC 3339 time with its offset, such as 2024-03-01T12:00:00Z", s)
	}
	return t, nil
}

// parseLineQtys reads "LINE:QUANTITY:KG,..." (manifest line positions from 0).
func parseLineQtys(flagName, s string) ([]corridor.LineQty, error) {
	if s == "" {
		return nil, nil
	}
	var out []corridor.LineQty
	for _, part := range strings.Split(s, ",") {
		f := strings.Split(strings.TrimSpace(part), ":")
		if len(f) != 3 {
			return nil, usagef("-%s %q: want LINE:QUANTITY:KG, comma-separated", flagName, part)
		}
		line, err1 := strconv.Atoi(f[0])
		q, err2 := strconv.ParseFloat(f[1], 64)
		kg, err3 := strconv.ParseFloat(f[2], 64)
		if err1 != nil || err2 != nil || err3 != nil {
			return nil, usagef("-%s %q: LINE must be a whole number, QUANTITY and KG numbers", flagName, part)
		}
		out = append(out, corridor.LineQty{Line: line, Quantity: q, Kg: kg})
	}
	return out, nil
}

func cmdConvoy(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("want a subcommand: file, show, list, move, deliver or confirm")
	}
	sub, args := args[0], args[1:]
	fs := newFlags("convoy "+sub, stderr)
	switch sub {
	case "file":
		o := addClientFlags(fs, true)
		file := fs.String("file", "", "convoy filing as JSON (vehicles may give plain plate/driver/phone: they are sealed before sending)")
		if err := parse(fs, args); err != nil {
			return err
		}
		if err := requireFlag("file", *file); err != nil {
			return err
		}
		raw, err := os.ReadFile(*file)
		if err != nil {
			return err
		}
		if len(raw) > 1<<20 {
			return usagef("-file: larger than 1 MiB")
		}
		return o.submit(ctx, stdout, corridor.TypeConvoy, func(party string) (any, map[string]record.Opening, error) {
			c, openings, err := client.SealConvoy(raw, client.KeyedSalt(o.signingKey, o.recordID("convoy-file")))
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", *file, err)
			}
			if c.Organisation == "" {
				c.Organisation = party
			}
			return c, openings, nil
		})
	case "show":
		o := addClientFlags(fs, false)
		token := fs.String("token", os.Getenv("CORRIDOR_TOKEN"), "bearer token: entitled parties also see personal values")
		// The id may come before or after the flags.
		var id string
		if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
			id, args = args[0], args[1:]
		}
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return err
			}
			return usagef("%v", err)
		}
		if id == "" && fs.NArg() == 1 {
			id = fs.Arg(0)
		} else if id == "" || fs.NArg() > 0 {
			return usagef("want one convoy id")
		}
		if err := record.CheckID("convoy", id); err != nil {
			return usagef("%v", err)
		}
		c, err := o.client()
		if err != nil {
			return err
		}
		c.Token = *token
		var v api.ConvoyView
		if err := c.Get(ctx, "/api/v1/convoys/"+id, &v); err != nil {
			return err
		}
		if *o.asJSON {
			return printJSON(stdout, v)
		}
		return printConvoy(stdout, v)
	case "list":
		o := addClientFlags(fs, false)
		route := fs.String("route", "", "only convoys on this route")
		status := fs.String("status", "", "only convoys in this state")
		org := fs.String("organisation", "", "only convoys of this organisation")
		if err := parse(fs, args); err != nil {
			return err
		}
		c, err := o.client()
		if err != nil {
			return err
		}
		// Follow the cursor until the server has no more.
		var list struct{ Items []store.ConvoyRow }
		after := "-1"
		for {
			q := "/api/v1/convoys?" + url.Values{"limit": {"1000"}, "after": {after}, "route": {*route}, "status": {*status}, "organisation": {*org}}.Encode()
			var page struct {
				Items []store.ConvoyRow
				Next  *int64 `json:"next_after"`
			}
			if err := c.Get(ctx, q, &page); err != nil {
				return err
			}
			list.Items = append(list.Items, page.Items...)
			if page.Next == nil {
				break
			}
			after = strconv.FormatInt(*page.Next, 10)
		}
		if *o.asJSON {
			return printJSON(stdout, list.Items)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "CONVOY\tORGANISATION\tROUTE\tPLANNED\tSTATUS\tAT\tWEIGHT\tFLAGS")
		for _, v := range list.Items {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v.ID, v.Organisation, v.Route, v.Planned, v.Status, v.Checkpoint, report.Tonnes(v.Kg), strings.Join(v.Flags, ","))
		}
		return tw.Flush()
	case "move", "deliver", "confirm":
		o := addClientFlags(fs, true)
		convoy := fs.String("convoy", "", "convoy id")
		at := fs.String("at", "", "when, RFC 3339 (default now)")
		note := fs.String("note", "", "free text")
		var event, received *string
		switch sub {
		case "move":
			event = fs.String("event", "", "departed, returned or cancelled")
		case "deliver":
			received = fs.String("received", "", "quantities received: LINE:QUANTITY:KG,... (manifest lines from 0)")
		}
		if err := parse(fs, args); err != nil {
			return err
		}
		if err := requireFlag("convoy", *convoy); err != nil {
			return err
		}
		when, err := parseAt(*at)
		if err != nil {
			return err
		}
		switch sub {
		case "confirm":
			return o.submit(ctx, stdout, corridor.TypeConfirm, func(string) (any, map[string]record.Opening, error) {
				return &corridor.DeliveryConfirm{Convoy: *convoy, At: when, Note: *note}, nil, nil
			})
		case "deliver":
			lines, err := parseLineQtys("received", *received)
			if err != nil {
				return err
			}
			if len(lines) == 0 {
				return usagef("-received is required")
			}
			return o.submit(ctx, stdout, corridor.TypeMove, func(string) (any, map[string]record.Opening, error) {
				return &corridor.ConvoyMove{Convoy: *convoy, Event: corridor.MvDelivered, At: when, Received: lines, Note: *note}, nil, nil
			})
		}
		if *event == corridor.MvDelivered {
			return usagef("-event delivered: use corridor convoy deliver, which takes the quantities received")
		}
		return o.submit(ctx, stdout, corridor.TypeMove, func(string) (any, map[string]record.Opening, error) {
			return &corridor.ConvoyMove{Convoy: *convoy, Event: *event, At: when, Note: *note}, nil, nil
		})
	}
	return usagef("unknown convoy subcommand %q: want file, show, list, move, deliver or confirm", sub)
}

func printConvoy(w io.Writer, v api.ConvoyView) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "convoy\t%s\n", v.ID)
	fmt.Fprintf(tw, "organisation\t%s\n", v.Organisation)
	fmt.Fprintf(tw, "route\t%s (%s → %s)\n", v.Route, v.Origin, v.Destination)
	fmt.Fprintf(tw, "planned\t%s\n", v.Planned)
	fmt.Fprintf(tw, "status\t%s %s\n", v.Status, v.Checkpoint)
	if len(v.Flags) > 0 {
		fmt.Fprintf(tw, "flags\t%s\n", strings.Join(v.Flags, ", "))
	}
	fmt.Fprintf(tw, "vehicles\t%d\n", len(v.Filing.Vehicles))
	fmt.Fprintf(tw, "filed at\tlog index %d\n", v.LogIndex)
	tw.Flush()
	fmt.Fprintln(w, "\nMANIFEST")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LINE\tITEM\tSECTOR\tQUANTITY\tKG\tREMOVED KG\tRECEIVED KG")
	for i, l := range v.Filing.Manifest {
		var removed, received float64
		for _, r := range v.Progress.Removed {
			if r.Line == i {
				removed += r.Kg
			}
		}
		for _, r := range v.Progress.Received {
			if r.Line == i {
				received += r.Kg
			}
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%g %s\t%g\t%g\t%g\n", i, l.Item, l.Sector, l.Quantity, l.Unit, l.Kg, removed, received)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nCLEARANCE")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "AUTHORITY\tDEADLINE\tSTATE\tDETAIL")
	for _, c := range v.Clearance {
		detail := ""
		if c.Answer != nil {
			detail = strings.TrimSpace(c.Answer.Conditions + " " + c.Answer.Reason)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Authority, c.Deadline, c.State, detail)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nHISTORY")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LOG INDEX\tAT\tEVENT\tCHECKPOINT\tSIGNED BY")
	for _, e := range v.Events {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", e.LogIndex, e.At, e.Event, e.Checkpoint, e.Party)
	}
	tw.Flush()
	if len(v.Private) > 0 {
		fmt.Fprintln(w, "\nPERSONAL DATA (you are entitled to see it)")
		for i, veh := range v.Filing.Vehicles {
			fmt.Fprintf(w, "  vehicle %d: plate %s, driver %s\n", i+1, v.Private[veh.Plate].Value, v.Private[veh.Driver].Value)
		}
	}
	return nil
}

func cmdClearance(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "answer" {
		return usagef("want: clearance answer")
	}
	fs := newFlags("clearance answer", stderr)
	o := addClientFlags(fs, true)
	convoy := fs.String("convoy", "", "convoy id")
	decision := fs.String("decision", "", "approved, approved-with-conditions or refused")
	conditions := fs.String("conditions", "", "conditions, for approved-with-conditions")
	category := fs.String("reason-category", "", "for a refusal: "+strings.Join(corridor.ReasonCategories, ", "))
	reason := fs.String("reason", "", "for a refusal: the reason in words")
	at := fs.String("at", "", "when, RFC 3339 (default now)")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if err := requireFlag("convoy", *convoy); err != nil {
		return err
	}
	when, err := parseAt(*at)
	if err != nil {
		return err
	}
	return o.submit(ctx, stdout, corridor.TypeClearance, func(party string) (any, map[string]record.Opening, error) {
		return &corridor.ClearanceAnswer{Convoy: *convoy, Authority: party, Decision: *decision, Conditions: *conditions,
			ReasonCategory: *category, Reason: *reason, At: when}, nil, nil
	})
}

func cmdCheckpoint(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "record" {
		return usagef("want: checkpoint record")
	}
	fs := newFlags("checkpoint record", stderr)
	o := addClientFlags(fs, true)
	convoy := fs.String("convoy", "", "convoy id")
	checkpoint := fs.String("checkpoint", "", "checkpoint id (one your party runs)")
	event := fs.String("event", "", strings.Join(corridor.CheckpointEvents, ", "))
	removed := fs.String("removed", "", "for passed-with-removals: LINE:QUANTITY:KG,... (manifest lines from 0)")
	category := fs.String("reason-category", "", strings.Join(corridor.ReasonCategories, ", "))
	reason := fs.String("reason", "", "the reason in words")
	release := fs.String("expected-release", "", "for a hold: expected release day YYYY-MM-DD, if known")
	outOfOrder := fs.String("out-of-order-reason", "", "why the convoy is recorded here before an earlier checkpoint")
	note := fs.String("note", "", "free text")
	at := fs.String("at", "", "when, RFC 3339 (default now)")
	files := fileFlags(fs)
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	for name, v := range map[string]string{"convoy": *convoy, "checkpoint": *checkpoint, "event": *event} {
		if err := requireFlag(name, v); err != nil {
			return err
		}
	}
	when, err := parseAt(*at)
	if err != nil {
		return err
	}
	lines, err := parseLineQtys("removed", *removed)
	if err != nil {
		return err
	}
	return o.submit(ctx, stdout, corridor.TypeCheckEvent, func(string) (any, map[string]record.Opening, error) {
		attached, private, err := files.attach(ctx, o)
		if err != nil {
			return nil, nil, err
		}
		return &corridor.CheckpointEvent{Convoy: *convoy, Checkpoint: *checkpoint, Event: *event, At: when, Removed: lines,
			ReasonCategory: *category, Reason: *reason, ExpectedRelease: corridor.Date(*release), OutOfOrder: *outOfOrder, Note: *note, Files: attached}, private, nil
	})
}

// contentID is record.ContentID: the id of what a command records
// follows from its content, so running it again is a retry.
func contentID(prefix, party string, payload any) string {
	return record.ContentID(prefix, party, payload)
}
