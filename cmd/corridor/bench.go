package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"maps"
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
// scenario itself: every convoy of it that departed and was held or
// refused at a checkpoint gives a stop (organisation, filing, checkpoint,
// authority, times as recorded), and the generated convoys take them in
// turn, so the load spreads over the scenario's parties, routes and time
// zones; its monitor records the statements.
type benchPlan struct {
	stops   []benchStop
	monitor string
}

// benchStop is one recorded convoy that was stopped at a checkpoint.
type benchStop struct {
	org                 string
	filing              map[string]any // the recorded filing, less its id, vehicles and manifest
	route, planned      string
	checkpoint, by      string
	departed, stoppedAt string // times as recorded, in their own offset
}

func planFrom(sc *scenario.Scenario) (benchPlan, error) {
	type event struct {
		Convoy, Checkpoint, Event, At string
	}
	filings := map[string]map[string]any{}
	departed := map[string]string{}
	firstCheckpoint := map[string]string{}
	var p benchPlan
	for _, st := range sc.Records {
		switch st.Type {
		case corridor.TypeConvoy:
			var f map[string]any
			if json.Unmarshal(st.Payload, &f) == nil {
				if id, ok := f["id"].(string); ok {
					filings[id] = f
				}
			}
		case corridor.TypeMove:
			var e event
			if json.Unmarshal(st.Payload, &e) == nil && e.Event == corridor.MvDeparted {
				departed[e.Convoy] = e.At
			}
		case corridor.TypeCheckEvent:
			var e event
			if json.Unmarshal(st.Payload, &e) != nil {
				continue
			}
			if firstCheckpoint[e.Convoy] == "" {
				firstCheckpoint[e.Convoy] = e.Checkpoint
			}
			f, ok := filings[e.Convoy]
			// A stop at the first checkpoint the convoy met: a generated
			// convoy goes there straight from departing.
			if !ok || departed[e.Convoy] == "" || e.Checkpoint != firstCheckpoint[e.Convoy] || (e.Event != corridor.EvHeld && e.Event != corridor.EvRefused) {
				continue
			}
			org, _ := f["organisation"].(string)
			route, _ := f["route"].(string)
			planned, _ := f["planned"].(string)
			filing := maps.Clone(f)
			for _, k := range []string{"id", "vehicles", "manifest"} {
				delete(filing, k)
			}
			p.stops = append(p.stops, benchStop{org: org, filing: filing, route: route, planned: planned,
				checkpoint: e.Checkpoint, by: st.By, departed: departed[e.Convoy], stoppedAt: e.At})
		}
	}
	for _, party := range sc.Parties {
		if party.Kind == corridor.Monitor {
			p.monitor = party.ID
			break
		}
	}
	if len(p.stops) == 0 || p.monitor == "" {
		return p, errors.New("bench: the scenario needs a monitor and a convoy that departed and was held or refused at a checkpoint")
	}
	return p, nil
}

// cycle signs one generated convoy's records (filed, departed, held
// where the c-th stop's convoy was stopped) and a statement.
func (p benchPlan) cycle(keys map[string]*record.Key, c uint64) ([]*app.Submission, error) {
	s := p.stops[c%uint64(len(p.stops))]
	id := fmt.Sprintf("bench-%d", c)
	plate, po := record.Seal(fmt.Sprintf("BENCH-%d", c))
	driver, do := record.Seal(fmt.Sprintf("Bench driver %d", c))
	convoy := maps.Clone(s.filing)
	convoy["id"] = id
	convoy["vehicles"] = []any{map[string]any{"kind": "lorry", "plate": plate, "driver": driver}}
	convoy["manifest"] = []any{map[string]any{"item": "wheat flour", "sector": "food", "quantity": 20, "unit": "t", "kg": 20000}}
	steps := []struct {
		by, typ, id string
		payload     any
		private     map[string]record.Opening
	}{
		{s.org, corridor.TypeConvoy, "convoy-" + id, convoy, map[string]record.Opening{plate: po, driver: do}},
		{s.org, corridor.TypeMove, "convoy-" + id + "-departed", map[string]any{"convoy": id, "event": corridor.MvDeparted, "at": s.departed}, nil},
		{s.by, corridor.TypeCheckEvent, "convoy-" + id + "-held", map[string]any{"convoy": id, "checkpoint": s.checkpoint, "event": corridor.EvHeld, "at": s.stoppedAt, "reason_category": "other", "reason": "Not allowed to proceed."}, nil},
	}
	var out []*app.Submission
	for _, s := range steps {
		r, err := record.Sign(keys[s.by], s.id, s.typ, 1, s.payload)
		if err != nil {
			return nil, err
		}
		out = append(out, &app.Submission{Record: r, Private: s.private})
	}
	st, err := p.statementOn(keys, id, s)
	if err != nil {
		return nil, err
	}
	return append(out, st), nil
}

func (p benchPlan) statement(keys map[string]*record.Key, id string) (*app.Submission, error) {
	return p.statementOn(keys, id, p.stops[crc32.ChecksumIEEE([]byte(id))%uint32(len(p.stops))])
}

// statementOn signs a statement of the monitor about stop's route on its
// planned day.
func (p benchPlan) statementOn(keys map[string]*record.Key, id string, s benchStop) (*app.Submission, error) {
	r, err := record.Sign(keys[p.monitor], "statement-"+id, corridor.TypeStatement, 1, map[string]any{
		"id": "st-" + id, "kind": "statement", "speaker": "Bench speaker", "said_on": s.planned,
		"medium": "generated for a benchmark", "quote": "The road is open.", "lang": "en",
		"about_routes": []any{s.route},
	})
	if err != nil {
		return nil, err
	}
	return &app.Submission{Record: r}, nil
}
