package main

import (
	"context"
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
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := requireFlag("data", *data); err != nil {
		return err
	}
	start := time.Now()
	if _, err := app.Init(ctx, *data, "corridor.localhost/bench"); err != nil {
		return err
	}
	node, err := app.OpenNode(ctx, *data, app.NodeOptions{Logger: logger(io.Discard)})
	if err != nil {
		return err
	}
	defer node.Close(context.Background())

	sc := scenario.Reference()
	op, err := record.ReadKeyFile(filepath.Join(*data, app.OperatorKey))
	if err != nil {
		return err
	}
	keys, err := sc.Keys()
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
					s, err := benchCycle(keys, c)
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
		s, err := benchStatement(keys, fmt.Sprintf("x%d", i))
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

// benchCycle signs one generated convoy's records and a statement.
func benchCycle(keys map[string]*record.Key, c uint64) ([]*app.Submission, error) {
	id := fmt.Sprintf("bench-%d", c)
	plate, po := record.Seal(fmt.Sprintf("BENCH-%d", c))
	driver, do := record.Seal(fmt.Sprintf("Bench driver %d", c))
	convoy := map[string]any{
		"id": id, "organisation": "arcs", "route": "aghdam-khankendi", "origin": "aghdam", "destination": "khankendi",
		"planned":  "2023-08-29",
		"vehicles": []any{map[string]any{"kind": "lorry", "plate": plate, "driver": driver}},
		"manifest": []any{map[string]any{"item": "wheat flour", "sector": "food", "quantity": 20, "unit": "t", "kg": 20000}},
	}
	steps := []struct {
		by, typ, id string
		payload     any
		private     map[string]record.Opening
	}{
		{"arcs", corridor.TypeConvoy, "convoy-" + id, convoy, map[string]record.Opening{plate: po, driver: do}},
		{"arcs", corridor.TypeMove, "convoy-" + id + "-departed", map[string]any{"convoy": id, "event": "departed", "at": "2023-08-29T09:00:00+04:00"}, nil},
		{"ru-pkc", corridor.TypeCheckEvent, "convoy-" + id + "-held", map[string]any{"convoy": id, "checkpoint": "askeran-pkc", "event": "held", "at": "2023-08-29T12:00:00+04:00", "reason_category": "other", "reason": "Not allowed to proceed."}, nil},
	}
	var out []*app.Submission
	for _, s := range steps {
		r, err := record.Sign(keys[s.by], s.id, s.typ, 1, s.payload)
		if err != nil {
			return nil, err
		}
		out = append(out, &app.Submission{Record: r, Private: s.private})
	}
	st, err := benchStatement(keys, id)
	if err != nil {
		return nil, err
	}
	return append(out, st), nil
}

func benchStatement(keys map[string]*record.Key, id string) (*app.Submission, error) {
	r, err := record.Sign(keys["monitor"], "statement-"+id, corridor.TypeStatement, 1, map[string]any{
		"id": "st-" + id, "kind": "statement", "speaker": "Bench speaker", "said_on": "2023-08-30",
		"medium": "generated for a benchmark", "quote": "The road is open.", "lang": "en",
		"about_routes": []any{"aghdam-khankendi"},
	})
	if err != nil {
		return nil, err
	}
	return &app.Submission{Record: r}, nil
}
