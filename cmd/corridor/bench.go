package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"corridor"
	"corridor/app"
	"corridor/record"
	"corridor/scenario"
)

func init() {
	commands["bench"] = command{"write a data folder with a log of N records, for measuring audits", cmdBench}
}

// cmdBench makes a data folder holding the reference scenario followed by
// generated convoys (filed, departed, held at the peacekeepers' checkpoint)
// and statements, four records a cycle, all signed and checked like any
// others, until the log holds --records entries.
func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench", stderr)
	data := fs.String("data", "", "data folder to create")
	n := fs.Int("records", 1000, "how many records the log should hold")
	db := fs.String("db", "", "projection database: empty for SQLite in the data folder, or a postgres:// URL (an empty database)")
	scFile := scenarioFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := requireFlag("data", *data); err != nil {
		return err
	}
	if *n < 1 || *n > 100_000_000 {
		return usagef("-records %d: want 1 to 100,000,000", *n)
	}
	sc, err := readScenario("-scenario", *scFile)
	if err != nil {
		return err
	}
	start := time.Now()
	if _, err := app.InitWith(ctx, *data, "corridor.localhost/bench", app.NodeOptions{DB: *db}); err != nil {
		return err
	}
	node, err := app.OpenNode(ctx, *data, app.NodeOptions{Logger: logger(io.Discard), DB: *db})
	if err != nil {
		return err
	}
	defer node.Close(context.Background())

	op, err := record.ReadKeyFile(filepath.Join(*data, app.OperatorKey))
	if err != nil {
		return err
	}
	keys, err := sc.Keys()
	if err != nil {
		return err
	}
	plan, err := planFrom(sc)
	if err != nil {
		return err
	}
	subs, err := sc.Build(node.Config.Operator, op, keys)
	if err != nil {
		return err
	}
	if _, err := node.Submit(ctx, subs); err != nil {
		return fmt.Errorf("scenario: %w", err)
	}
	var have uint64
	have = node.Size()
	total := uint64(*n)
	if total < have {
		return fmt.Errorf("-records %d: the scenario alone is %d records", total, have)
	}

	// Sign batches of whole cycles in parallel; submit them in order.
	const perBatch = 1000 // 250 cycles
	cycles := (total - have) / 4
	extra := (total - have) % 4 // made up with statements
	type batch struct {
		subs []*app.Submission
		err  error
	}
	var batches []chan batch
	for c := uint64(0); c < cycles; c += perBatch / 4 {
		batches = append(batches, make(chan batch, 1))
	}
	// At most 16 batches are signed ahead of the one being submitted.
	ahead := make(chan struct{}, 16)
	go func() {
		for bi := range batches {
			ahead <- struct{}{}
			go func() {
				var out []*app.Submission
				for c := uint64(bi) * perBatch / 4; c < min(cycles, uint64(bi+1)*perBatch/4); c++ {
					s, err := plan.cycle(keys, c)
					if err != nil {
						batches[bi] <- batch{err: err}
						return
					}
					out = append(out, s...)
				}
				batches[bi] <- batch{subs: out}
			}()
		}
	}()
	done := 0
	for _, ch := range batches {
		b := <-ch
		if b.err != nil {
			return b.err
		}
		if _, err := node.Submit(ctx, b.subs); err != nil {
			return err
		}
		<-ahead
		done += len(b.subs)
		if done%100000 < perBatch {
			fmt.Fprintf(stderr, "\rbench: %d / %d records", have+uint64(done), total)
		}
	}
	for i := uint64(0); i < extra; i++ {
		s, err := plan.statement(keys, fmt.Sprintf("x%d", i))
		if err != nil {
			return err
		}
		if _, err := node.Submit(ctx, []*app.Submission{s}); err != nil {
			return err
		}
	}
	have = node.Size()
	if err := node.Log.WaitPublished(ctx, have-1); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	fmt.Fprintf(stderr, "\n")
	fmt.Fprintf(stdout, "corridor: wrote %d records to %s in %s\n", have, *data, time.Since(start).Round(time.Millisecond))
	return nil
}

// benchPlan is the shape of the generated records, taken from the
// scenario itself: its last convoy that departed and was held or refused
// at a checkpoint gives the organisation, route, places, checkpoint,
// authority, day and times; its monitor records the statements.
type benchPlan struct {
	org, route, origin, destination, planned string
	checkpoint, authority                    string
	departed, stopped                        string // times as recorded, in their own offset
	monitor                                  string
}

func planFrom(sc *scenario.Scenario) (benchPlan, error) {
	type filing struct {
		ID, Organisation, Route, Origin, Destination, Planned string
	}
	type event struct {
		Convoy, Checkpoint, Event, At string
	}
	filings := map[string]filing{}
	departed := map[string]string{}
	var p benchPlan
	found := false
	for _, st := range sc.Records {
		switch st.Type {
		case corridor.TypeConvoy:
			var f filing
			if json.Unmarshal(st.Payload, &f) == nil {
				filings[f.ID] = f
			}
		case corridor.TypeMove:
			var e event
			if json.Unmarshal(st.Payload, &e) == nil && e.Event == corridor.MvDeparted {
				departed[e.Convoy] = e.At
			}
		case corridor.TypeCheckEvent:
			var e event
			if json.Unmarshal(st.Payload, &e) != nil || (e.Event != corridor.EvHeld && e.Event != corridor.EvRefused) {
				continue
			}
			f, ok := filings[e.Convoy]
			if !ok || departed[e.Convoy] == "" {
				continue
			}
			p = benchPlan{org: f.Organisation, route: f.Route, origin: f.Origin, destination: f.Destination, planned: f.Planned,
				checkpoint: e.Checkpoint, authority: st.By, departed: departed[e.Convoy], stopped: e.At}
			found = true
		}
	}
	for _, party := range sc.Parties {
		if party.Kind == corridor.Monitor {
			p.monitor = party.ID
			break
		}
	}
	if !found || p.monitor == "" {
		return p, errors.New("bench: the scenario needs a monitor and a convoy that departed and was held or refused at a checkpoint")
	}
	return p, nil
}

// cycle signs one generated convoy's records (filed, departed, held
// where the plan's convoy was stopped) and a statement.
func (p benchPlan) cycle(keys map[string]*record.Key, c uint64) ([]*app.Submission, error) {
	id := fmt.Sprintf("bench-%d", c)
	plate, po := record.Seal(fmt.Sprintf("BENCH-%d", c))
	driver, do := record.Seal(fmt.Sprintf("Bench driver %d", c))
	convoy := map[string]any{
		"id": id, "organisation": p.org, "route": p.route, "origin": p.origin, "destination": p.destination,
		"planned":  p.planned,
		"vehicles": []any{map[string]any{"kind": "lorry", "plate": plate, "driver": driver}},
		"manifest": []any{map[string]any{"item": "wheat flour", "sector": "food", "quantity": 20, "unit": "t", "kg": 20000}},
	}
	steps := []struct {
		by, typ, id string
		payload     any
		private     map[string]record.Opening
	}{
		{p.org, corridor.TypeConvoy, "convoy-" + id, convoy, map[string]record.Opening{plate: po, driver: do}},
		{p.org, corridor.TypeMove, "convoy-" + id + "-departed", map[string]any{"convoy": id, "event": corridor.MvDeparted, "at": p.departed}, nil},
		{p.authority, corridor.TypeCheckEvent, "convoy-" + id + "-held", map[string]any{"convoy": id, "checkpoint": p.checkpoint, "event": corridor.EvHeld, "at": p.stopped, "reason_category": "other", "reason": "Not allowed to proceed."}, nil},
	}
	var out []*app.Submission
	for _, s := range steps {
		r, err := record.Sign(keys[s.by], s.id, s.typ, 1, s.payload)
		if err != nil {
			return nil, err
		}
		out = append(out, &app.Submission{Record: r, Private: s.private})
	}
	st, err := p.statement(keys, id)
	if err != nil {
		return nil, err
	}
	return append(out, st), nil
}

func (p benchPlan) statement(keys map[string]*record.Key, id string) (*app.Submission, error) {
	r, err := record.Sign(keys[p.monitor], "statement-"+id, corridor.TypeStatement, 1, map[string]any{
		"id": "st-" + id, "kind": "statement", "speaker": "Bench speaker", "said_on": p.planned,
		"medium": "generated for a benchmark", "quote": "The road is open.", "lang": "en",
		"about_routes": []any{p.route},
	})
	if err != nil {
		return nil, err
	}
	return &app.Submission{Record: r}, nil
}
