package store

import (
	"context"
	"slices"

	"corridor"
)

func init() {
	projectedTables = append(projectedTables, "evidence_files")
}

// applyFiles projects the public evidence files a record points to.
func applyFiles(ctx context.Context, t txn, e Entry) error {
	a, ok := e.Payload.(corridor.Attacher)
	if !ok {
		return nil
	}
	for _, f := range a.Attachments() {
		if f.Restricted() {
			continue
		}
		if err := t.exec(ctx, `INSERT INTO evidence_files (sha256, record_id, log_index, media_type, size, caption) VALUES (?, ?, ?, ?, ?, ?)`,
			f.SHA256, e.Record.ID, int64(e.Index), f.MediaType, f.Size, f.Caption); err != nil {
			return err
		}
	}
	return nil
}

// FileRow is a public evidence file as a record published it.
type FileRow struct {
	corridor.Attachment
	Record   string `json:"record"`
	LogIndex uint64 `json:"log_index"`
}

// PublishedFile returns the first record that published the file with
// that SHA-256, or ok false if no record did (a file uploaded but never
// signed for, or a restricted one, is not public).
func (s *Store) PublishedFile(ctx context.Context, sum string) (FileRow, bool, error) {
	rows, err := s.files(ctx, `SELECT sha256, record_id, log_index, media_type, size, caption FROM evidence_files WHERE sha256 = ? ORDER BY log_index LIMIT 1`, sum)
	if err != nil || len(rows) == 0 {
		return FileRow{}, false, err
	}
	return rows[0], true, nil
}

// RecordFiles lists the public files of the records at the given log
// indexes, by index.
func (s *Store) RecordFiles(ctx context.Context, indexes []uint64) (map[uint64][]FileRow, error) {
	out := map[uint64][]FileRow{}
	for chunk := range slices.Chunk(indexes, 500) {
		idx := make([]int64, len(chunk))
		for i, x := range chunk {
			idx[i] = int64(x)
		}
		rows, err := s.files(ctx, `SELECT sha256, record_id, log_index, media_type, size, caption FROM evidence_files WHERE log_index IN (`+placeholders(len(idx))+`) ORDER BY log_index`, anys(idx)...)
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			out[r.LogIndex] = append(out[r.LogIndex], r)
		}
	}
	return out, nil
}

// PublishedFiles lists every public file in log order (for audits): one
// row per record that points to it.
func (s *Store) PublishedFiles(ctx context.Context) ([]FileRow, error) {
	return s.files(ctx, `SELECT sha256, record_id, log_index, media_type, size, caption FROM evidence_files ORDER BY log_index, sha256`)
}

func (s *Store) files(ctx context.Context, q string, args ...any) ([]FileRow, error) {
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []FileRow
	for rows.Next() {
		var r FileRow
		var idx int64
		if err := rows.Scan(&r.SHA256, &r.Record, &idx, &r.MediaType, &r.Size, &r.Caption); err != nil {
			return nil, err
		}
		r.LogIndex = uint64(idx)
		out = append(out, r)
	}
	return out, rows.Err()
}

// ReferencedFiles reports which of sums a record points to: as a public
// file, or as a restricted one (the SHA-256 its commitment opens to).
// Files no record points to are uploads never signed for.
func (s *Store) ReferencedFiles(ctx context.Context, sums []string) (map[string]bool, error) {
	out := map[string]bool{}
	for len(sums) > 0 {
		n := min(len(sums), 500)
		part := sums[:n]
		sums = sums[n:]
		args := make([]any, 0, 2*n)
		for _, x := range part {
			args = append(args, x)
		}
		args = append(args, args...)
		ph := placeholders(n)
		rows, err := s.query(ctx, `SELECT sha256 FROM evidence_files WHERE sha256 IN (`+ph+`) UNION SELECT value FROM private_values WHERE value IN (`+ph+`)`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var sum string
			if err := rows.Scan(&sum); err != nil {
				rows.Close()
				return nil, err
			}
			out[sum] = true
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
	}
	return out, nil
}
