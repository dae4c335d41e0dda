package store

import (
	"context"
	"encoding/json"
	"slices"

	"corridor"
)

func init() {
	projectedTables = append(projectedTables, "incidents", "incident_verifications", "claims", "claim_links", "claim_convoys", "route_notices", "areas", "checkpoint_changes", "restricted_lists")
}

// applyMonitoring projects access-monitoring records (incidents, claims,
// links, route closures and openings, areas). It reports whether the
// entry was one of them.
func applyMonitoring(ctx context.Context, t txn, e Entry) (bool, error) {
	idx := int64(e.Index)
	doc := string(e.Record.Payload)
	switch p := e.Payload.(type) {
	case *corridor.Incident:
		return true, t.exec(ctx, `INSERT INTO incidents (id, category, occurred, last_day, reported, route, checkpoint, place, verification, party, doc, log_index, updated_index)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			p.ID, p.Category, string(p.Occurred), string(p.LastDay()), string(p.Reported), p.Route, p.Checkpoint, p.Place, p.Verification, e.Party, doc, idx, idx)
	case *corridor.IncidentVerification:
		if err := t.exec(ctx, `UPDATE incidents SET verification = ?, updated_index = ? WHERE id = ?`, p.Verification, idx, p.Incident); err != nil {
			return true, err
		}
		return true, t.exec(ctx, `INSERT INTO incident_verifications (log_index, incident, verification, party, doc) VALUES (?, ?, ?, ?, ?)`,
			idx, p.Incident, p.Verification, e.Party, doc)
	case *corridor.Claim:
		kind := ""
		if p.Assertion != nil {
			kind = p.Assertion.Kind
		}
		for _, cv := range slices.Compact(slices.Sorted(slices.Values(p.AboutConvoys))) {
			if err := t.exec(ctx, `INSERT INTO claim_convoys (convoy, claim, log_index) VALUES (?, ?, ?)`, cv, p.ID, idx); err != nil {
				return true, err
			}
		}
		return true, t.exec(ctx, `INSERT INTO claims (id, statement, assertion, party, doc, log_index) VALUES (?, ?, ?, ?, ?, ?)`,
			p.ID, p.Statement, kind, e.Party, doc, idx)
	case *corridor.RestrictedList:
		return true, t.exec(ctx, `INSERT INTO restricted_lists (id, authority, from_day, doc, log_index) VALUES (?, ?, ?, ?, ?)`,
			p.ID, p.Authority, string(p.From), doc, idx)
	case *corridor.ClaimLink:
		return true, t.exec(ctx, `INSERT INTO claim_links (log_index, claim, record_id, relation, party, doc) VALUES (?, ?, ?, ?, ?, ?)`,
			idx, p.Claim, p.Record, p.Relation, e.Party, doc)
	case *corridor.RouteClosure:
		return true, t.exec(ctx, `INSERT INTO route_notices (log_index, kind, route, from_day, to_day, party, doc) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			idx, "closed", p.Route, string(p.From), string(p.To), e.Party, doc)
	case *corridor.RouteOpening:
		return true, t.exec(ctx, `INSERT INTO route_notices (log_index, kind, route, from_day, to_day, party, doc) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			idx, "opened", p.Route, string(p.From), "", e.Party, doc)
	case *corridor.PassageObservation:
		return true, t.exec(ctx, `INSERT INTO route_notices (log_index, kind, route, from_day, to_day, party, doc) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			idx, "passage", p.Route, string(p.From), string(p.LastDay()), e.Party, doc)
	case *corridor.Area:
		return true, t.exec(ctx, `INSERT INTO areas (place, doc, log_index) VALUES (?, ?, ?)
			ON CONFLICT (place) DO UPDATE SET doc = excluded.doc, log_index = excluded.log_index`, p.Place, doc, idx)
	}
	return false, nil
}

// IncidentRow is a reported incident with its current verification status.
type IncidentRow struct {
	corridor.Incident
	ReportedBy string `json:"reported_by"`
	LogIndex   uint64 `json:"log_index"`
	Updated    uint64 `json:"updated_index"` // the latest verification, or the report
}

// Incidents lists reported incidents by the day they occurred.
func (s *Store) Incidents(ctx context.Context) ([]IncidentRow, error) {
	rows, err := s.query(ctx, `SELECT doc, verification, party, log_index, updated_index FROM incidents ORDER BY occurred, log_index`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []IncidentRow
	for rows.Next() {
		var r IncidentRow
		var doc string
		var idx, upd int64
		var verification string
		if err := rows.Scan(&doc, &verification, &r.ReportedBy, &idx, &upd); err != nil {
			return nil, err
		}
		if err := decodeDoc(doc, &r.Incident); err != nil {
			return nil, err
		}
		r.Verification, r.LogIndex, r.Updated = verification, uint64(idx), uint64(upd)
		out = append(out, r)
	}
	return out, rows.Err()
}

// LinkRow is a record linked to a claim.
type LinkRow struct {
	corridor.ClaimLink
	RecordIndex *uint64 `json:"record_index,omitempty"` // log index of the linked record
	LinkedBy    string  `json:"linked_by"`
	LogIndex    uint64  `json:"log_index"`
}

// ClaimRow is a recorded claim with the records linked to it.
type ClaimRow struct {
	corridor.Claim
	RecordedBy string    `json:"recorded_by"`
	LogIndex   uint64    `json:"log_index"`
	Links      []LinkRow `json:"links"`
}

// Claims lists every recorded claim in log order, each with its links
// (for exports and tests; pages read ClaimsPage).
func (s *Store) Claims(ctx context.Context) ([]ClaimRow, error) {
	return s.claims(ctx, `SELECT doc, party, log_index FROM claims WHERE log_index > ? ORDER BY log_index LIMIT ?`, -1, 1<<30)
}

// claims runs a query returning (doc, party, log_index) rows of claims and
// attaches the links of those claims.
func (s *Store) claims(ctx context.Context, q string, args ...any) ([]ClaimRow, error) {
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	var out []ClaimRow
	byID := map[string]int{}
	for rows.Next() {
		var c ClaimRow
		var doc string
		var idx int64
		if err := rows.Scan(&doc, &c.RecordedBy, &idx); err != nil {
			rows.Close()
			return nil, err
		}
		if err := decodeDoc(doc, &c.Claim); err != nil {
			rows.Close()
			return nil, err
		}
		c.LogIndex, c.Links = uint64(idx), []LinkRow{}
		byID[c.ID] = len(out)
		out = append(out, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(out) == 0 {
		return out, err
	}
	ids := make([]string, len(out))
	for i, c := range out {
		ids[i] = c.ID
	}
	for chunk := range slices.Chunk(ids, 500) {
		links, err := s.query(ctx, `SELECT l.doc, l.party, l.log_index, r.log_index FROM claim_links l LEFT JOIN records r ON r.id = l.record_id
			WHERE l.claim IN (`+placeholders(len(chunk))+`) ORDER BY l.log_index`, anys(chunk)...)
		if err != nil {
			return nil, err
		}
		for links.Next() {
			var l LinkRow
			var doc string
			var idx int64
			var rec *int64
			if err := links.Scan(&doc, &l.LinkedBy, &idx, &rec); err != nil {
				links.Close()
				return nil, err
			}
			if err := decodeDoc(doc, &l.ClaimLink); err != nil {
				links.Close()
				return nil, err
			}
			l.LogIndex = uint64(idx)
			if rec != nil {
				ri := uint64(*rec)
				l.RecordIndex = &ri
			}
			if i, ok := byID[l.Claim]; ok {
				out[i].Links = append(out[i].Links, l)
			}
		}
		links.Close()
		if err := links.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// NoticeRow is a route closure or opening as its authority signed it, or
// an observed passage as its monitor or authority signed it.
type NoticeRow struct {
	Kind     string          `json:"kind"` // closed, opened or passage
	Route    string          `json:"route"`
	Party    string          `json:"authority"`
	Doc      json.RawMessage `json:"payload"`
	LogIndex uint64          `json:"log_index"`
}

// RouteNotices lists route closures, openings and observed passages in log order.
func (s *Store) RouteNotices(ctx context.Context) ([]NoticeRow, error) {
	rows, err := s.query(ctx, `SELECT kind, route, party, doc, log_index FROM route_notices ORDER BY log_index`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []NoticeRow
	for rows.Next() {
		var n NoticeRow
		var doc string
		var idx int64
		if err := rows.Scan(&n.Kind, &n.Route, &n.Party, &doc, &idx); err != nil {
			return nil, err
		}
		n.Doc, n.LogIndex = json.RawMessage(doc), uint64(idx)
		out = append(out, n)
	}
	return out, rows.Err()
}

// AreaRow is an area as projected.
type AreaRow struct {
	corridor.Area
	LogIndex uint64 `json:"log_index"`
}

// RestrictedListRow is a restricted list as published.
type RestrictedListRow struct {
	corridor.RestrictedList
	LogIndex uint64 `json:"log_index"`
}

// RestrictedLists lists the authorities' restricted lists, by authority
// and day; only one authority's when authority is not empty.
func (s *Store) RestrictedLists(ctx context.Context, authority string) ([]RestrictedListRow, error) {
	return listDocs(ctx, s, `SELECT doc, log_index FROM restricted_lists WHERE (? = '' OR authority = ?) ORDER BY authority, from_day`,
		func(l *RestrictedListRow, i uint64) { l.LogIndex = i }, authority, authority)
}

// Areas lists the areas (catchments) registered.
func (s *Store) Areas(ctx context.Context) ([]AreaRow, error) {
	return listDocs(ctx, s, `SELECT doc, log_index FROM areas ORDER BY place`, func(a *AreaRow, i uint64) { a.LogIndex = i })
}

// ConvoyEventRow is one record about a convoy, as signed.
type ConvoyEventRow struct {
	Convoy   string
	Type     string
	Party    string
	Payload  json.RawMessage
	LogIndex uint64
}

// ConvoyEvents lists every record about every convoy (filings included),
// in log order.
func (s *Store) ConvoyEvents(ctx context.Context) ([]ConvoyEventRow, error) {
	rows, err := s.query(ctx, `SELECT convoy, type, party, doc, log_index FROM convoy_events ORDER BY log_index`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ConvoyEventRow
	for rows.Next() {
		var e ConvoyEventRow
		var doc string
		var idx int64
		if err := rows.Scan(&e.Convoy, &e.Type, &e.Party, &doc, &idx); err != nil {
			return nil, err
		}
		e.Payload, e.LogIndex = json.RawMessage(doc), uint64(idx)
		out = append(out, e)
	}
	return out, rows.Err()
}

// ConvoyClaims lists the claims about a convoy (its about_convoys), in
// log order, each with its links.
func (s *Store) ConvoyClaims(ctx context.Context, convoy string) ([]ClaimRow, error) {
	return s.claims(ctx, `SELECT c.doc, c.party, c.log_index FROM claim_convoys a JOIN claims c ON c.id = a.claim WHERE a.convoy = ? ORDER BY c.log_index`, convoy)
}

// LatestClaims lists the n claims recorded last, latest first.
func (s *Store) LatestClaims(ctx context.Context, n int) ([]ClaimRow, error) {
	return s.claims(ctx, `SELECT doc, party, log_index FROM claims ORDER BY log_index DESC LIMIT ?`, n)
}
