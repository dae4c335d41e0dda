package store

import (
	"context"
	"slices"

	"corridor"
)

func init() {
	projectedTables = append(projectedTables, "replies")
}

// applyReply projects a reply beside the record it answers.
func applyReply(ctx context.Context, t txn, e Entry) (bool, error) {
	r, ok := e.Payload.(*corridor.Reply)
	if !ok {
		return false, nil
	}
	var answered int64
	if err := t.queryRow(ctx, `SELECT log_index FROM records WHERE id = ?`, r.Record).Scan(&answered); err != nil {
		return true, err
	}
	return true, t.exec(ctx, `INSERT INTO replies (log_index, record_id, record_index, party, kind, doc) VALUES (?, ?, ?, ?, ?, ?)`,
		int64(e.Index), r.Record, answered, e.Party, r.Kind, string(e.Record.Payload))
}

// ReplyRow is a reply as recorded.
type ReplyRow struct {
	corridor.Reply
	Party       string `json:"party"`
	LogIndex    uint64 `json:"log_index"`
	RecordIndex uint64 `json:"record_index"` // of the record answered
}

// Disputes reports whether the reply says the record is wrong.
func (r ReplyRow) Disputes() bool {
	return r.Kind == corridor.ReplyDispute || r.Kind == corridor.ReplyCorrect
}

// RepliesTo lists the replies to the records at the given log indexes,
// by index, each in log order.
func (s *Store) RepliesTo(ctx context.Context, indexes []uint64) (map[uint64][]ReplyRow, error) {
	out := map[uint64][]ReplyRow{}
	idx := slices.Compact(slices.Sorted(slices.Values(indexes)))
	for chunk := range slices.Chunk(idx, 500) {
		args := make([]any, len(chunk))
		for i, x := range chunk {
			args[i] = int64(x)
		}
		rows, err := s.replies(ctx, `SELECT doc, party, log_index, record_index FROM replies WHERE record_index IN (`+placeholders(len(chunk))+`) ORDER BY log_index`, args...)
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			out[r.RecordIndex] = append(out[r.RecordIndex], r)
		}
	}
	return out, nil
}

// RepliesToRecord lists the replies to the record with that id, in log
// order.
func (s *Store) RepliesToRecord(ctx context.Context, id string) ([]ReplyRow, error) {
	return s.replies(ctx, `SELECT doc, party, log_index, record_index FROM replies WHERE record_id = ? ORDER BY log_index`, id)
}

// RepliesPage lists replies in log order after the cursor.
func (s *Store) RepliesPage(ctx context.Context, p Page) ([]ReplyRow, error) {
	return s.replies(ctx, `SELECT doc, party, log_index, record_index FROM replies WHERE log_index > ? ORDER BY log_index LIMIT ?`, p.After, p.limit())
}

// Replies lists every reply in log order (for exports and audits).
func (s *Store) Replies(ctx context.Context) ([]ReplyRow, error) {
	return s.replies(ctx, `SELECT doc, party, log_index, record_index FROM replies ORDER BY log_index`)
}

func (s *Store) replies(ctx context.Context, q string, args ...any) ([]ReplyRow, error) {
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ReplyRow
	for rows.Next() {
		var r ReplyRow
		var doc string
		var idx, rec int64
		if err := rows.Scan(&doc, &r.Party, &idx, &rec); err != nil {
			return nil, err
		}
		if err := decodeDoc(doc, &r.Reply); err != nil {
			return nil, err
		}
		r.LogIndex, r.RecordIndex = uint64(idx), uint64(rec)
		out = append(out, r)
	}
	return out, rows.Err()
}
