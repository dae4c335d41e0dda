package store

import (
	"context"
	"corridor/record"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"corridor"
)

// Entry is one record to project, with what the domain state made of it.
type Entry struct {
	Index   uint64
	Record  *record.Record
	Party   string // the signer's party
	Payload corridor.Payload
	Convoy  *corridor.ConvoyState // the convoy's state right after this record, if it is about one
}

type txn struct {
	tx *sql.Tx
	d  dialect
	s  *Store
	c  *txCache
	// direct runs statements unprepared: in a migration, before its
	// changes are committed, a statement prepared outside could not see them.
	direct bool
}

// txCache holds, for one transaction, the road network as read so far:
// forgotten when a route, checkpoint or checkpoint change is applied.
type txCache struct {
	net *network
}

// network is the road network as this transaction stands.
func (t txn) network(ctx context.Context) (*network, error) {
	if t.c.net != nil {
		return t.c.net, nil
	}
	routes, err := docsOf[*corridor.Route](ctx, t, `SELECT doc FROM routes ORDER BY id`)
	if err != nil {
		return nil, err
	}
	t.c.net = &network{routes: routes, at: map[string][]*corridor.Checkpoint{}}
	return t.c.net, nil
}

func (t txn) exec(ctx context.Context, q string, args ...any) error {
	if t.direct {
		_, err := t.tx.ExecContext(ctx, t.d.rebind(q), args...)
		return err
	}
	st, err := t.s.prepared(ctx, q)
	if err != nil {
		return err
	}
	_, err = t.tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	return err
}

// query and queryRow run prepared statements too: the projection runs the
// same few dozen statements for every record, and parsing them was half
// its cost.
func (t txn) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if t.direct {
		return t.tx.QueryContext(ctx, t.d.rebind(q), args...)
	}
	st, err := t.s.prepared(ctx, q)
	if err != nil {
		return nil, err
	}
	return t.tx.StmtContext(ctx, st).QueryContext(ctx, args...)
}

func (t txn) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	if t.direct {
		return t.tx.QueryRowContext(ctx, t.d.rebind(q), args...)
	}
	st, err := t.s.prepared(ctx, q)
	if err != nil {
		return t.tx.QueryRowContext(ctx, t.d.rebind(q), args...) // reports the same error on Scan
	}
	return t.tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
}

// inTx runs fn in one transaction, committed if fn returns nil.
func (s *Store) inTx(ctx context.Context, fn func(t txn) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(txn{tx: tx, d: s.dialect, s: s, c: &txCache{}}); err != nil {
		return err
	}
	return tx.Commit()
}

// Apply projects entries, which must continue the log exactly where the
// projection stands, in one transaction that also advances the applied
// index.
func (s *Store) Apply(ctx context.Context, entries []Entry) error {
	if len(entries) == 0 {
		return nil
	}
	return s.inTx(ctx, func(t txn) error { return applyEntries(ctx, t, entries) })
}

func applyEntries(ctx context.Context, t txn, entries []Entry) error {
	var applied int64
	if err := t.tx.QueryRowContext(ctx, `SELECT applied FROM projection_state WHERE id = 1`).Scan(&applied); err != nil {
		return err
	}
	d, err := newDeriver(ctx, t, entries)
	if err != nil {
		return err
	}
	// as_of first: it is the latest day the batch names, and every source
	// derived while applying the batch is derived against it.
	var last corridor.Date
	for _, e := range entries {
		last = max(last, DayNamed(e.Payload))
	}
	if err := d.advance(last); err != nil {
		return fmt.Errorf("derive to %s: %w", last, err)
	}
	for _, e := range entries {
		if e.Index != uint64(applied) {
			return fmt.Errorf("projection is at %d, cannot apply log index %d", applied, e.Index)
		}
		if err := applyOne(ctx, t, e); err != nil {
			return fmt.Errorf("project log index %d (%s %s): %w", e.Index, e.Record.Type, e.Record.ID, err)
		}
		if err := d.entry(e); err != nil {
			return fmt.Errorf("derive from log index %d (%s %s): %w", e.Index, e.Record.Type, e.Record.ID, err)
		}
		applied++
	}
	if err := d.finish(); err != nil {
		return fmt.Errorf("derive claim verdicts: %w", err)
	}
	return t.exec(ctx, `UPDATE projection_state SET applied = ? WHERE id = 1`, applied)
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only our own types are marshalled here
	}
	return string(b)
}

func applyOne(ctx context.Context, t txn, e Entry) error {
	r := e.Record
	entry, err := r.Entry()
	if err != nil {
		return err
	}
	idx := int64(e.Index)
	if err := t.exec(ctx, `INSERT INTO records (log_index, id, type, version, key_id, party, entry) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		idx, r.ID, r.Type, r.Version, r.KeyID, e.Party, string(entry)); err != nil {
		return err
	}
	if err := applyFiles(ctx, t, e); err != nil {
		return err
	}
	switch p := e.Payload.(type) {
	case *corridor.Party:
		if err := t.exec(ctx, `DELETE FROM party_keys WHERE party = ?`, p.ID); err != nil {
			return err
		}
		for _, k := range p.Keys {
			if err := t.exec(ctx, `INSERT INTO party_keys (key_id, party, public_key, log_index) VALUES (?, ?, ?, ?)`,
				k.ID, p.ID, base64.StdEncoding.EncodeToString(k.Public), idx); err != nil {
				return err
			}
		}
		return t.exec(ctx, `INSERT INTO parties (id, kind, name, doc, log_index) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, name = excluded.name, doc = excluded.doc, log_index = excluded.log_index`,
			p.ID, string(p.Kind), p.Names[0].Name, string(r.Payload), idx)
	case *corridor.Place:
		if err := t.exec(ctx, `DELETE FROM place_names WHERE place = ?`, p.ID); err != nil {
			return err
		}
		for i, n := range p.Names {
			if err := t.exec(ctx, `INSERT INTO place_names (place, pos, name, lang, log_index) VALUES (?, ?, ?, ?, ?)`, p.ID, i, n.Name, n.Lang, idx); err != nil {
				return err
			}
		}
		return t.exec(ctx, `INSERT INTO places (id, kind, lat, lon, population, doc, log_index) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, lat = excluded.lat, lon = excluded.lon, population = excluded.population, doc = excluded.doc, log_index = excluded.log_index`,
			p.ID, p.Kind, p.Lat, p.Lon, p.Population, string(r.Payload), idx)
	case *corridor.Route:
		if err := t.exec(ctx, `DELETE FROM route_places WHERE route = ?`, p.ID); err != nil {
			return err
		}
		for i, pl := range p.Places {
			if err := t.exec(ctx, `INSERT INTO route_places (route, pos, place, log_index) VALUES (?, ?, ?, ?)`, p.ID, i, pl, idx); err != nil {
				return err
			}
		}
		t.c.net = nil
		if err := t.exec(ctx, `INSERT INTO routes (id, doc, log_index) VALUES (?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET doc = excluded.doc, log_index = excluded.log_index`, p.ID, string(r.Payload), idx); err != nil {
			return err
		}
		// Registered again, its clearance_by may have changed.
		return reclearRoute(ctx, t, p.ID)
	case *corridor.Checkpoint:
		t.c.net = nil
		if err := t.exec(ctx, `INSERT INTO checkpoints (id, route, place, authority, valid_from, valid_to, doc, log_index) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET route = excluded.route, place = excluded.place, authority = excluded.authority,
			valid_from = excluded.valid_from, valid_to = excluded.valid_to, doc = excluded.doc, log_index = excluded.log_index`,
			p.ID, p.Route, p.Place, p.Authority, string(p.From), string(p.To), string(r.Payload), idx); err != nil {
			return err
		}
		// Convoys filed before it that will pass it need its clearance too.
		return reclear(ctx, t, p.ID, p.From)
	case *corridor.CheckpointChange:
		t.c.net = nil
		if err := t.exec(ctx, `INSERT INTO checkpoint_changes (checkpoint, from_day, authority, doc, log_index) VALUES (?, ?, ?, ?, ?)`,
			p.Checkpoint, string(p.From), p.Authority, string(r.Payload), idx); err != nil {
			return err
		}
		return reclear(ctx, t, p.Checkpoint, p.From)
	case *corridor.Statement:
		return t.exec(ctx, `INSERT INTO statements (id, kind, speaker, said_on, party, doc, log_index) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			p.ID, p.Kind, p.Speaker, string(p.SaidOn), e.Party, string(r.Payload), idx)
	}
	if e.Convoy != nil {
		return applyConvoy(ctx, t, e)
	}
	if ok, err := applyMonitoring(ctx, t, e); ok {
		return err
	}
	if ok, err := applyReply(ctx, t, e); ok {
		return err
	}
	return nil
}

// reclear sets again whose clearance the convoys planned from a day on
// need, when their way passes a checkpoint that was registered or changed
// operator from that day: the operators in force on their planned days,
// as the writer's rules have them ("" for every convoy through it).
func reclear(ctx context.Context, t txn, checkpoint string, from corridor.Date) error {
	var place string
	if err := t.queryRow(ctx, `SELECT place FROM checkpoints WHERE id = ?`, checkpoint).Scan(&place); err != nil {
		return err
	}
	n, err := t.network(ctx)
	if err != nil {
		return err
	}
	// The convoys on a route through the place, and those whose own way
	// passes it; the checkpoints are read once for them all.
	through := append(corridor.RoutesThrough(place, n.routes), "") // never empty
	convoys, err := docsOf[corridor.Convoy](ctx, t, `SELECT doc FROM convoys WHERE planned >= ? AND (route IN (`+placeholders(len(through))+`)
		OR id IN (SELECT convoy FROM convoy_way WHERE place = ?))`, append(append([]any{string(from)}, anys(through)...), place)...)
	if err != nil {
		return err
	}
	return setAuthorities(ctx, t, n, convoys)
}

// reclearRoute does the same for the convoys on a route registered again
// (its clearance_by may have changed).
func reclearRoute(ctx context.Context, t txn, route string) error {
	n, err := t.network(ctx)
	if err != nil {
		return err
	}
	convoys, err := docsOf[corridor.Convoy](ctx, t, `SELECT doc FROM convoys WHERE route = ?
		OR id IN (SELECT w.convoy FROM convoy_way w JOIN route_places r ON r.place = w.place WHERE r.route = ?)`, route, route)
	if err != nil {
		return err
	}
	return setAuthorities(ctx, t, n, convoys)
}

// setAuthorities derives again whose clearance each convoy needs.
func setAuthorities(ctx context.Context, t txn, n *network, convoys []corridor.Convoy) error {
	for _, c := range convoys {
		wayRoutes, way, err := n.way(ctx, t, &c)
		if err != nil {
			return err
		}
		if err := t.exec(ctx, `UPDATE convoys SET authorities = ? WHERE id = ?`, jsonText(nonNil(corridor.ClearanceAuthorities(wayRoutes, way, c.Planned))), c.ID); err != nil {
			return err
		}
	}
	return nil
}

// ConvoyProgress is the part of a convoy's state kept as JSON in its row.
type ConvoyProgress struct {
	Passed    []string                            `json:"passed"`
	Removed   []corridor.LineQty                  `json:"removed"`
	Received  []corridor.LineQty                  `json:"received"`
	Clearance map[string]corridor.ClearanceAnswer `json:"clearance"`
}

func applyConvoy(ctx context.Context, t txn, e Entry) error {
	c := e.Convoy
	state := jsonText(ConvoyProgress{Passed: c.Passed, Removed: c.Removed, Received: c.Received, Clearance: c.Clearance})
	lastAt := ""
	if !c.LastAt.IsZero() {
		lastAt = c.LastAt.Format(time.RFC3339) // with the offset it was recorded in
	}
	routes, way, err := convoyWay(ctx, t, &c.Convoy)
	if err != nil {
		return err
	}
	// The next checkpoint is the first not passed that operates on the
	// day of the convoy's last event (its planned day before any).
	day := c.Convoy.Planned
	if !c.LastAt.IsZero() {
		day = corridor.DayOf(c.LastAt)
	}
	next := ""
	for _, cp := range way {
		if !slices.Contains(c.Passed, cp.ID) && cp.OperatorOn(day) != "" {
			next = cp.ID
			break
		}
	}
	if _, filed := e.Payload.(*corridor.Convoy); filed {
		auths := corridor.ClearanceAuthorities(routes, way, c.Convoy.Planned)
		for i, p := range c.Convoy.Way {
			if err := t.exec(ctx, `INSERT INTO convoy_way (convoy, pos, place) VALUES (?, ?, ?)`, c.Convoy.ID, i, p); err != nil {
				return err
			}
		}
		if err := t.exec(ctx, `INSERT INTO convoys (id, organisation, route, origin, destination, planned, status, checkpoint, last_at, flags, kg, doc, state, log_index, updated_index, next_checkpoint, authorities)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.Convoy.ID, c.Convoy.Organisation, c.Convoy.Route, c.Convoy.Origin, c.Convoy.Destination, string(c.Convoy.Planned),
			string(c.Status), c.Checkpoint, lastAt, strings.Join(c.Flags, ","), c.Convoy.Kg(), string(e.Record.Payload), state,
			int64(c.Index), int64(c.Updated), next, jsonText(nonNil(auths))); err != nil {
			return err
		}
		for _, k := range append(queueFigures(string(c.Status), c.Checkpoint, next), "status:"+string(c.Status)) {
			if err := bumpFigure(ctx, t, k, 1); err != nil {
				return err
			}
		}
	} else {
		var was, wasAt, wasNext string
		if err := t.queryRow(ctx, `SELECT status, checkpoint, next_checkpoint FROM convoys WHERE id = ?`, c.Convoy.ID).Scan(&was, &wasAt, &wasNext); err != nil {
			return err
		}
		for _, k := range queueFigures(was, wasAt, wasNext) {
			if err := bumpFigure(ctx, t, k, -1); err != nil {
				return err
			}
		}
		if err := t.exec(ctx, `UPDATE convoys SET status = ?, checkpoint = ?, last_at = ?, flags = ?, state = ?, updated_index = ?, next_checkpoint = ? WHERE id = ?`,
			string(c.Status), c.Checkpoint, lastAt, strings.Join(c.Flags, ","), state, int64(c.Updated), next, c.Convoy.ID); err != nil {
			return err
		}
		for _, k := range queueFigures(string(c.Status), c.Checkpoint, next) {
			if err := bumpFigure(ctx, t, k, 1); err != nil {
				return err
			}
		}
		if was != string(c.Status) {
			if err := bumpFigure(ctx, t, "status:"+was, -1); err != nil {
				return err
			}
			if err := bumpFigure(ctx, t, "status:"+string(c.Status), 1); err != nil {
				return err
			}
		}
	}
	var event, checkpoint string
	var at time.Time
	switch p := e.Payload.(type) {
	case *corridor.Convoy:
		event = "filed"
	case *corridor.ClearanceAnswer:
		event, at = p.Decision, p.At
	case *corridor.CheckpointEvent:
		event, checkpoint, at = p.Event, p.Checkpoint, p.At
	case *corridor.ConvoyMove:
		event, at = p.Event, p.At
	case *corridor.DeliveryConfirm:
		event, at = "delivery-confirmed", p.At
	}
	atText := ""
	if !at.IsZero() {
		atText = at.Format(time.RFC3339)
	}
	return t.exec(ctx, `INSERT INTO convoy_events (log_index, convoy, type, event, checkpoint, party, at, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		int64(e.Index), c.Convoy.ID, e.Record.Type, event, checkpoint, e.Party, atText, string(e.Record.Payload))
}

// SavePrivate stores the openings of personal-data commitments, durably,
// before the records that carry the commitments are appended. Saving the
// same opening twice is harmless.
func (s *Store) SavePrivate(ctx context.Context, openings map[string]record.Opening) error {
	if len(openings) == 0 {
		return nil
	}
	return s.inTx(ctx, func(t txn) error {
		for c, o := range openings {
			if err := t.exec(ctx, `INSERT INTO private_values (commitment, value, salt) VALUES (?, ?, ?) ON CONFLICT (commitment) DO NOTHING`, c, o.Value, o.Salt); err != nil {
				return err
			}
		}
		return nil
	})
}

// Private returns the openings of the given commitments that are known.
func (s *Store) Private(ctx context.Context, commitments []string) (map[string]record.Opening, error) {
	out := map[string]record.Opening{}
	for _, c := range commitments {
		var o record.Opening
		err := s.queryRow(ctx, `SELECT value, salt FROM private_values WHERE commitment = ?`, c).Scan(&o.Value, &o.Salt)
		if err == sql.ErrNoRows {
			continue
		}
		if err != nil {
			return nil, err
		}
		out[c] = o
	}
	return out, nil
}

// CheckPrivate checks that every stored personal value still matches the
// commitment the log carries for it.
func (s *Store) CheckPrivate(ctx context.Context) error {
	rows, err := s.query(ctx, `SELECT commitment, value, salt FROM private_values ORDER BY commitment`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var c, v, salt string
		if err := rows.Scan(&c, &v, &salt); err != nil {
			return err
		}
		if record.Commitment(salt, v) != c {
			return fmt.Errorf("table private_values: row commitment=%s: value and salt do not match the commitment", c)
		}
	}
	return rows.Err()
}

// queueFigures names the queue counts a convoy is in: "at:CP" while it is
// at checkpoint CP or held there, "next:CP" while it has departed or moves
// on with CP the next checkpoint on its way.
func queueFigures(status, checkpoint, next string) []string {
	switch corridor.ConvoyStatus(status) {
	case corridor.StatusAtCheckpt, corridor.StatusHeld:
		return []string{"at:" + checkpoint}
	case corridor.StatusDeparted, corridor.StatusEnRoute:
		if next != "" {
			return []string{"next:" + next}
		}
	}
	return nil
}
