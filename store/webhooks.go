package store

import (
	"context"
	"database/sql"
	"errors"
)

// Delivery is one webhook event and where its delivery stands.
type Delivery struct {
	ID         string `json:"id"` // webhook and event, e.g. newsroom/refusal/convoy-x-refused
	Webhook    string `json:"webhook"`
	Event      string `json:"event"`
	Body       string `json:"body"`
	Status     string `json:"status"` // pending, delivered, failed
	Attempts   int    `json:"attempts"`
	NextAt     int64  `json:"next_at"` // Unix milliseconds of the next attempt
	LastStatus int    `json:"last_status"`
	LastError  string `json:"last_error,omitempty"`
	Created    int64  `json:"created"`
}

// WebhookCursor is the log index a webhook has read up to, and whether it
// has one yet.
func (s *Store) WebhookCursor(ctx context.Context, webhook string) (int64, bool, error) {
	var c int64
	err := s.queryRow(ctx, `SELECT read_to FROM webhook_cursors WHERE webhook = ?`, webhook).Scan(&c)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	return c, err == nil, err
}

// AdvanceWebhook records the deliveries found in the records up to
// cursor, the convoys to watch and the new cursor, in one transaction.
func (s *Store) AdvanceWebhook(ctx context.Context, webhook string, cursor int64, ds []Delivery, watch map[string]string) error {
	return s.inTx(ctx, func(t txn) error {
		if err := addDeliveries(ctx, t, ds); err != nil {
			return err
		}
		for convoy, deadline := range watch {
			if err := t.exec(ctx, `INSERT INTO webhook_watches (webhook, convoy, deadline) VALUES (?, ?, ?)
				ON CONFLICT (webhook, convoy) DO UPDATE SET deadline = excluded.deadline`, webhook, convoy, deadline); err != nil {
				return err
			}
		}
		return t.exec(ctx, `INSERT INTO webhook_cursors (webhook, read_to) VALUES (?, ?)
			ON CONFLICT (webhook) DO UPDATE SET read_to = excluded.read_to`, webhook, cursor)
	})
}

// WatchesDue lists the convoys a webhook watches whose deadline is before
// today (YYYY-MM-DD).
func (s *Store) WatchesDue(ctx context.Context, webhook, today string) ([]string, error) {
	rows, err := s.query(ctx, `SELECT convoy FROM webhook_watches WHERE webhook = ? AND deadline < ? ORDER BY convoy`, webhook, today)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Unwatch records the deliveries a passed deadline gave and stops
// watching the convoy, in one transaction.
func (s *Store) Unwatch(ctx context.Context, webhook, convoy string, ds []Delivery) error {
	return s.inTx(ctx, func(t txn) error {
		if err := addDeliveries(ctx, t, ds); err != nil {
			return err
		}
		return t.exec(ctx, `DELETE FROM webhook_watches WHERE webhook = ? AND convoy = ?`, webhook, convoy)
	})
}

// DueDeliveries lists pending deliveries whose next attempt is due at now
// (Unix milliseconds), oldest first.
func (s *Store) DueDeliveries(ctx context.Context, now int64, limit int) ([]Delivery, error) {
	return s.deliveries(ctx, `WHERE status = 'pending' AND next_at <= ? ORDER BY next_at, id LIMIT ?`, now, limit)
}

// Deliveries is the delivery log, the latest first.
func (s *Store) Deliveries(ctx context.Context, limit int) ([]Delivery, error) {
	return s.deliveries(ctx, `ORDER BY created DESC, id LIMIT ?`, limit)
}

func (s *Store) deliveries(ctx context.Context, where string, args ...any) ([]Delivery, error) {
	rows, err := s.query(ctx, `SELECT id, webhook, event, body, status, attempts, next_at, last_status, last_error, created FROM webhook_deliveries `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Delivery
	for rows.Next() {
		var d Delivery
		if err := rows.Scan(&d.ID, &d.Webhook, &d.Event, &d.Body, &d.Status, &d.Attempts, &d.NextAt, &d.LastStatus, &d.LastError, &d.Created); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Attempted records one attempt at a delivery: its new status, attempts,
// next attempt and the answer.
func (s *Store) Attempted(ctx context.Context, d Delivery) error {
	_, err := s.exec(ctx, `UPDATE webhook_deliveries SET status = ?, attempts = ?, next_at = ?, last_status = ?, last_error = ? WHERE id = ?`,
		d.Status, d.Attempts, d.NextAt, d.LastStatus, d.LastError, d.ID)
	return err
}

// addDeliveries adds new pending deliveries in t; one already there is
// left as it is (an event is delivered once).
func addDeliveries(ctx context.Context, t txn, ds []Delivery) error {
	for _, d := range ds {
		if err := t.exec(ctx, `INSERT INTO webhook_deliveries (id, webhook, event, body, status, attempts, next_at, last_status, last_error, created)
			VALUES (?, ?, ?, ?, 'pending', 0, ?, 0, '', ?) ON CONFLICT (id) DO NOTHING`, d.ID, d.Webhook, d.Event, d.Body, d.NextAt, d.Created); err != nil {
			return err
		}
	}
	return nil
}
