package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"corridor"
)

// PartyRow is a registered party as projected.
type PartyRow struct {
	corridor.Party
	LogIndex uint64 `json:"log_index"`
}

// PlaceRow is a gazetteer place as projected.
type PlaceRow struct {
	corridor.Place
	LogIndex uint64 `json:"log_index"`
}

// RouteRow is a route as projected.
type RouteRow struct {
	corridor.Route
	LogIndex uint64 `json:"log_index"`
}

// CheckpointRow is a checkpoint as projected.
type CheckpointRow struct {
	corridor.Checkpoint
	LogIndex uint64 `json:"log_index"`
	// History is the checkpoint's changes of operator or closing, in
	// the order of their days (also in Checkpoint.Changes).
	History []corridor.CheckpointChange `json:"changes"`
}

// withHistory gives a function that fills in each checkpoint's changes
// (a checkpoint list's result passes through it).
func (s *Store) withHistory(ctx context.Context) func([]CheckpointRow, error) ([]CheckpointRow, error) {
	return func(rows []CheckpointRow, err error) ([]CheckpointRow, error) {
		if err != nil {
			return nil, err
		}
		cps := make([]*corridor.Checkpoint, len(rows))
		for i := range rows {
			cps[i] = &rows[i].Checkpoint
		}
		if err := withChanges(ctx, s, cps); err != nil {
			return nil, err
		}
		for i := range rows {
			rows[i].History = nonNil(rows[i].Changes)
		}
		return rows, nil
	}
}

// ConvoyRow is a convoy with its current state.
type ConvoyRow struct {
	ID           string          `json:"id"`
	Organisation string          `json:"organisation"`
	Route        string          `json:"route"`
	Origin       string          `json:"origin"`
	Destination  string          `json:"destination"`
	Planned      string          `json:"planned"`
	Status       string          `json:"status"`
	Checkpoint   string          `json:"checkpoint,omitempty"`
	LastAt       string          `json:"last_at,omitempty"`
	Flags        []string        `json:"flags"`
	Kg           float64         `json:"kg"`
	Filing       corridor.Convoy `json:"filing"`
	Progress     ConvoyProgress  `json:"progress"`
	// Authorities run a checkpoint on the convoy's way: those its
	// clearance request went to, in route order.
	Authorities []string   `json:"authorities"`
	LogIndex    uint64     `json:"log_index"`
	Updated     uint64     `json:"updated_index"`
	Events      []EventRow `json:"events,omitempty"`
}

// EventRow is one step in a convoy's history.
type EventRow struct {
	LogIndex   uint64          `json:"log_index"`
	Type       string          `json:"type"`
	Event      string          `json:"event"`
	Checkpoint string          `json:"checkpoint,omitempty"`
	Party      string          `json:"signer_party"`
	At         string          `json:"at,omitempty"`
	Payload    json.RawMessage `json:"payload"`
}

// StatementRow is a recorded statement.
type StatementRow struct {
	corridor.Statement
	RecordedBy string `json:"recorded_by"`
	LogIndex   uint64 `json:"log_index"`
}

// RecordRow is a signed record with its log index.
type RecordRow struct {
	Index  uint64          `json:"index"`
	Party  string          `json:"party"`
	Record json.RawMessage `json:"record"`
}

func decodeDoc(doc string, v any) error {
	if err := json.Unmarshal([]byte(doc), v); err != nil {
		return fmt.Errorf("corrupt projected document: %w", err)
	}
	return nil
}

// listDocs runs a query returning (doc, log_index) rows and decodes each.
func listDocs[T any](ctx context.Context, s *Store, q string, set func(*T, uint64), args ...any) ([]T, error) {
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var doc string
		var idx int64
		if err := rows.Scan(&doc, &idx); err != nil {
			return nil, err
		}
		var v T
		if err := decodeDoc(doc, &v); err != nil {
			return nil, err
		}
		set(&v, uint64(idx))
		out = append(out, v)
	}
	return out, rows.Err()
}

// Parties lists every registered party.
func (s *Store) Parties(ctx context.Context) ([]PartyRow, error) {
	return listDocs(ctx, s, `SELECT doc, log_index FROM parties ORDER BY id`, func(p *PartyRow, i uint64) { p.LogIndex = i })
}

// Places lists every place of the gazetteer.
func (s *Store) Places(ctx context.Context) ([]PlaceRow, error) {
	return listDocs(ctx, s, `SELECT doc, log_index FROM places ORDER BY id`, func(p *PlaceRow, i uint64) { p.LogIndex = i })
}

// Routes lists every route.
func (s *Store) Routes(ctx context.Context) ([]RouteRow, error) {
	return listDocs(ctx, s, `SELECT doc, log_index FROM routes ORDER BY id`, func(p *RouteRow, i uint64) { p.LogIndex = i })
}

// Network is the road network: every route, by id.
func (s *Store) Network(ctx context.Context) ([]*corridor.Route, error) {
	return docsOf[*corridor.Route](ctx, s, `SELECT doc FROM routes ORDER BY id`)
}

// Checkpoints lists every checkpoint, optionally only those at the places
// of route (each serves every route through its place).
func (s *Store) Checkpoints(ctx context.Context, route string) ([]CheckpointRow, error) {
	return s.withHistory(ctx)(listDocs(ctx, s, `SELECT doc, log_index FROM checkpoints
		WHERE (? = '' OR place IN (SELECT place FROM route_places WHERE route = ?)) ORDER BY route, id`,
		func(p *CheckpointRow, i uint64) { p.LogIndex = i }, route, route))
}

// Statements lists recorded statements by date.
func (s *Store) Statements(ctx context.Context) ([]StatementRow, error) {
	return listStatements(ctx, s, `SELECT doc, party, log_index FROM statements ORDER BY said_on, log_index`)
}

// StatementsPage lists statements in log order after the cursor.
func (s *Store) StatementsPage(ctx context.Context, p Page) ([]StatementRow, error) {
	return listStatements(ctx, s, `SELECT doc, party, log_index FROM statements WHERE log_index > ? ORDER BY log_index LIMIT ?`, p.After, p.limit())
}

// LatestStatements lists the n statements said last, latest first.
func (s *Store) LatestStatements(ctx context.Context, n int) ([]StatementRow, error) {
	return listStatements(ctx, s, `SELECT doc, party, log_index FROM statements ORDER BY said_on DESC, log_index DESC LIMIT ?`, n)
}

func listStatements(ctx context.Context, s *Store, q string, args ...any) ([]StatementRow, error) {
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []StatementRow
	for rows.Next() {
		var doc, party string
		var idx int64
		if err := rows.Scan(&doc, &party, &idx); err != nil {
			return nil, err
		}
		var st StatementRow
		if err := decodeDoc(doc, &st.Statement); err != nil {
			return nil, err
		}
		st.RecordedBy, st.LogIndex = party, uint64(idx)
		out = append(out, st)
	}
	return out, rows.Err()
}

// ConvoyFilter narrows a convoy listing. Empty fields do not filter.
type ConvoyFilter struct {
	Route        string
	Status       string
	Organisation string
	Checkpoint   string
	Authority    string // one whose clearance the convoy needs
	From, To     string // planned date range, YYYY-MM-DD, inclusive
	After        int64  // cursor: log index of the last convoy already seen; -1 for none
	Limit        int    // 0 for no limit
}

const convoyCols = `id, organisation, route, origin, destination, planned, status, checkpoint, last_at, flags, kg, doc, state, log_index, updated_index, authorities`

func scanConvoy(sc interface{ Scan(...any) error }) (ConvoyRow, error) {
	var c ConvoyRow
	var flags, doc, state, auths string
	var idx, upd int64
	if err := sc.Scan(&c.ID, &c.Organisation, &c.Route, &c.Origin, &c.Destination, &c.Planned, &c.Status, &c.Checkpoint, &c.LastAt, &flags, &c.Kg, &doc, &state, &idx, &upd, &auths); err != nil {
		return c, err
	}
	if err := decodeDoc(auths, &c.Authorities); err != nil {
		return c, err
	}
	c.Flags = []string{}
	if flags != "" {
		c.Flags = strings.Split(flags, ",")
	}
	c.LogIndex, c.Updated = uint64(idx), uint64(upd)
	if err := decodeDoc(doc, &c.Filing); err != nil {
		return c, err
	}
	if err := decodeDoc(state, &c.Progress); err != nil {
		return c, err
	}
	// Lists read as lists, empty or not, as the API documents them.
	p := &c.Progress
	if p.Passed == nil {
		p.Passed = []string{}
	}
	if p.Removed == nil {
		p.Removed = []corridor.LineQty{}
	}
	if p.Received == nil {
		p.Received = []corridor.LineQty{}
	}
	if p.Clearance == nil {
		p.Clearance = map[string]corridor.ClearanceAnswer{}
	}
	return c, nil
}

// Convoys lists convoys in filing order.
func (s *Store) Convoys(ctx context.Context, f ConvoyFilter) ([]ConvoyRow, error) {
	if f.Limit <= 0 {
		f.Limit = 1 << 30
	}
	return s.listConvoys(ctx, `SELECT `+convoyCols+` FROM convoys
		WHERE (? = '' OR route = ?) AND (? = '' OR status = ?) AND (? = '' OR organisation = ?) AND (? = '' OR checkpoint = ?)
		AND (? = '' OR authorities LIKE ?)
		AND (? = '' OR planned >= ?) AND (? = '' OR planned <= ?) AND log_index > ?
		ORDER BY log_index LIMIT ?`,
		f.Route, f.Route, f.Status, f.Status, f.Organisation, f.Organisation, f.Checkpoint, f.Checkpoint,
		f.Authority, `%"`+f.Authority+`"%`, // authorities is a JSON list of ids, which hold no quote
		f.From, f.From, f.To, f.To, f.After, f.Limit)
}

func (s *Store) listConvoys(ctx context.Context, q string, args ...any) ([]ConvoyRow, error) {
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ConvoyRow
	for rows.Next() {
		c, err := scanConvoy(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// RouteCheckpoints lists the checkpoints of route in route order.
func (s *Store) RouteCheckpoints(ctx context.Context, route string) ([]CheckpointRow, error) {
	return s.withHistory(ctx)(listDocs(ctx, s, `SELECT c.doc, c.log_index FROM checkpoints c JOIN route_places rp ON rp.place = c.place
		WHERE rp.route = ? ORDER BY rp.pos, c.id`, func(p *CheckpointRow, i uint64) { p.LogIndex = i }, route))
}

// one finds a single document by id in table.
func one[T any](ctx context.Context, s *Store, table, id string, set func(*T, uint64)) (T, error) {
	list, err := listDocs(ctx, s, `SELECT doc, log_index FROM `+table+` WHERE id = ?`, set, id)
	var zero T
	if err != nil {
		return zero, err
	}
	if len(list) == 0 {
		return zero, fmt.Errorf("%s %q: %w", strings.TrimSuffix(table, "s"), id, ErrNotFound)
	}
	return list[0], nil
}

// Party returns one party.
func (s *Store) Party(ctx context.Context, id string) (PartyRow, error) {
	return one(ctx, s, "parties", id, func(p *PartyRow, i uint64) { p.LogIndex = i })
}

// Place returns one place.
func (s *Store) Place(ctx context.Context, id string) (PlaceRow, error) {
	return one(ctx, s, "places", id, func(p *PlaceRow, i uint64) { p.LogIndex = i })
}

// Route returns one route.
func (s *Store) Route(ctx context.Context, id string) (RouteRow, error) {
	return one(ctx, s, "routes", id, func(p *RouteRow, i uint64) { p.LogIndex = i })
}

// Checkpoint returns one checkpoint.
func (s *Store) Checkpoint(ctx context.Context, id string) (CheckpointRow, error) {
	c, err := one(ctx, s, "checkpoints", id, func(p *CheckpointRow, i uint64) { p.LogIndex = i })
	if err != nil {
		return c, err
	}
	rows, err := s.withHistory(ctx)([]CheckpointRow{c}, nil)
	if err != nil {
		return c, err
	}
	return rows[0], nil
}

// Convoy returns one convoy with its full history.
func (s *Store) Convoy(ctx context.Context, id string) (ConvoyRow, error) {
	c, err := scanConvoy(s.queryRow(ctx, `SELECT `+convoyCols+` FROM convoys WHERE id = ?`, id))
	if err == sql.ErrNoRows {
		return c, fmt.Errorf("convoy %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return c, err
	}
	rows, err := s.query(ctx, `SELECT log_index, type, event, checkpoint, party, at, doc FROM convoy_events WHERE convoy = ? ORDER BY log_index`, id)
	if err != nil {
		return c, err
	}
	defer rows.Close()
	for rows.Next() {
		var e EventRow
		var idx int64
		var doc string
		if err := rows.Scan(&idx, &e.Type, &e.Event, &e.Checkpoint, &e.Party, &e.At, &doc); err != nil {
			return c, err
		}
		e.LogIndex, e.Payload = uint64(idx), json.RawMessage(doc)
		c.Events = append(c.Events, e)
	}
	return c, rows.Err()
}

// Records lists signed records with log index greater than after (or from
// the start when after is negative), at most limit of them.
func (s *Store) Records(ctx context.Context, after int64, limit int) ([]RecordRow, error) {
	rows, err := s.query(ctx, `SELECT log_index, party, entry FROM records WHERE log_index > ? ORDER BY log_index LIMIT ?`, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []RecordRow
	for rows.Next() {
		var r RecordRow
		var idx int64
		var entry string
		if err := rows.Scan(&idx, &r.Party, &entry); err != nil {
			return nil, err
		}
		r.Index, r.Record = uint64(idx), json.RawMessage(entry)
		out = append(out, r)
	}
	return out, rows.Err()
}

// RecordByID finds a record's log index and stored entry.
func (s *Store) RecordByID(ctx context.Context, id string) (RecordRow, error) {
	var r RecordRow
	var idx int64
	var entry string
	err := s.queryRow(ctx, `SELECT log_index, party, entry FROM records WHERE id = ?`, id).Scan(&idx, &r.Party, &entry)
	if err == sql.ErrNoRows {
		return r, fmt.Errorf("record %q: %w", id, ErrNotFound)
	}
	r.Index, r.Record = uint64(idx), json.RawMessage(entry)
	return r, err
}

// RecordRef is a record as a feed lists it.
type RecordRef struct {
	Index uint64
	ID    string
	Type  string
	Party string
	Entry json.RawMessage // the signed record
}

// Feed scopes: which records a feed lists.
const (
	FeedAll        = ""
	FeedRoute      = "route"      // its closures and openings, incidents, and the events of convoys on it
	FeedCheckpoint = "checkpoint" // the events at it and incidents there
	FeedConvoy     = "convoy"     // its filing and every step after
)

// LatestRecords lists the n latest records of a feed's scope, the latest
// first.
func (s *Store) LatestRecords(ctx context.Context, scope, id string, n int) ([]RecordRef, error) {
	q := `SELECT log_index, id, type, party, entry FROM records`
	var args []any
	switch scope {
	case FeedRoute:
		q += ` WHERE log_index IN (SELECT log_index FROM route_notices WHERE route = ?
			UNION SELECT log_index FROM incidents WHERE route = ?
			UNION SELECT log_index FROM convoys WHERE route = ?
			UNION SELECT ce.log_index FROM convoy_events ce JOIN convoys cv ON cv.id = ce.convoy WHERE cv.route = ?)`
		args = append(args, id, id, id, id)
	case FeedCheckpoint:
		q += ` WHERE log_index IN (SELECT log_index FROM convoy_events WHERE checkpoint = ? UNION SELECT log_index FROM incidents WHERE checkpoint = ?)`
		args = append(args, id, id)
	case FeedConvoy:
		q += ` WHERE log_index IN (SELECT log_index FROM convoys WHERE id = ? UNION SELECT log_index FROM convoy_events WHERE convoy = ?)`
		args = append(args, id, id)
	}
	rows, err := s.query(ctx, q+` ORDER BY log_index DESC LIMIT ?`, append(args, n)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []RecordRef
	for rows.Next() {
		var r RecordRef
		var idx int64
		var entry string
		if err := rows.Scan(&idx, &r.ID, &r.Type, &r.Party, &entry); err != nil {
			return nil, err
		}
		r.Index, r.Entry = uint64(idx), json.RawMessage(entry)
		out = append(out, r)
	}
	return out, rows.Err()
}
