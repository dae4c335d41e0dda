package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"corridor/app"
	"corridor/evidence"
)

func init() {
	commands["prune-files"] = command{"delete evidence files uploaded but never signed for, once they are old enough", cmdPruneFiles}
}

// minPruneAge keeps prune-files away from uploads a form or command is
// still about to sign.
const minPruneAge = time.Hour

// cmdPruneFiles deletes the evidence files (and thumbnails) in a data
// folder that no record points to, publicly or as a restricted file, and
// that were stored longer ago than --older-than: a photo uploaded for a
// report that was never sent should not stay on disk, least of all a
// face. Files a record points to are never touched.
func cmdPruneFiles(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("prune-files", stderr)
	data := fs.String("data", "", "data folder of the server (its files/)")
	db := fs.String("db", "", "projection database, if not the SQLite file in the data folder")
	olderThan := fs.Duration("older-than", 7*24*time.Hour, "delete only uploads stored longer ago than this (at least 1h)")
	dry := fs.Bool("dry-run", false, "list what would be deleted, delete nothing")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := requireFlag("data", *data); err != nil {
		return err
	}
	if *olderThan < minPruneAge {
		return usagef("-older-than %v: at least %v, so that an upload about to be signed is kept", *olderThan, minPruneAge)
	}
	st, err := openStore(ctx, *data, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	files := evidence.At(filepath.Join(*data, app.FilesDir))
	cutoff := time.Now().Add(-*olderThan)
	var old []string
	sizes := map[string]int64{}
	total := 0
	if err := files.Walk(func(sum string, size int64, stored time.Time) error {
		total++
		if stored.Before(cutoff) {
			old = append(old, sum)
			sizes[sum] = size
		}
		return nil
	}); err != nil {
		return err
	}
	used, err := st.ReferencedFiles(ctx, old)
	if err != nil {
		return err
	}
	n, freed := 0, int64(0)
	for _, sum := range old {
		if used[sum] {
			continue
		}
		if *dry {
			fmt.Fprintf(stdout, "would delete %s (%d bytes)\n", sum, sizes[sum])
		} else if err := files.Remove(sum); err != nil {
			return err
		}
		n++
		freed += sizes[sum]
	}
	verb := "deleted"
	if *dry {
		verb = "would delete"
	}
	fmt.Fprintf(stdout, "%d evidence files stored, %d older than %v; %s %d never signed for (%d bytes)\n", total, len(old), *olderThan, verb, n, freed)
	return nil
}
