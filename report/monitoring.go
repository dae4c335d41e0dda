package report

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"corridor"
	"corridor/store"
)

// Data is everything the access-monitoring views read, loaded from the
// projection in one go. Statuses, verdicts, coverage and exports are
// computed from it by the rules of the root package, so they follow from
// the log alone.
type Data struct {
	Parties     []store.PartyRow
	Places      []store.PlaceRow
	Routes      []store.RouteRow
	Checkpoints []store.CheckpointRow
	Convoys     []store.ConvoyRow
	Histories   []corridor.ConvoyHistory
	Incidents   []store.IncidentRow
	Claims      []store.ClaimRow
	Statements  []store.StatementRow
	Notices     []store.NoticeRow
	Areas       []store.AreaRow
	Replies     map[uint64][]store.ReplyRow // by the log index of the record answered
	// AsOf is the latest day named by a dated record: the log speaks up to
	// it (see corridor.EvidenceInput).
	AsOf corridor.Date
	// FirstDay is the earliest day any evidence names, or AsOf.
	FirstDay corridor.Date

	evidence []corridor.Evidence
	places   map[string]store.PlaceRow
	cps      map[string]*corridor.Checkpoint
	parties  map[string]store.PartyRow
}

// Load reads the projection.
func Load(ctx context.Context, st *store.Store) (*Data, error) {
	d := &Data{}
	var err error
	if d.Parties, err = st.Parties(ctx); err != nil {
		return nil, err
	}
	if d.Places, err = st.Places(ctx); err != nil {
		return nil, err
	}
	if d.Routes, err = st.Routes(ctx); err != nil {
		return nil, err
	}
	if d.Checkpoints, err = st.Checkpoints(ctx, ""); err != nil {
		return nil, err
	}
	if d.Convoys, err = st.Convoys(ctx, store.ConvoyFilter{}); err != nil {
		return nil, err
	}
	events, err := st.ConvoyEvents(ctx)
	if err != nil {
		return nil, err
	}
	if d.Incidents, err = st.Incidents(ctx); err != nil {
		return nil, err
	}
	if d.Claims, err = st.Claims(ctx); err != nil {
		return nil, err
	}
	if d.Statements, err = st.Statements(ctx); err != nil {
		return nil, err
	}
	if d.Notices, err = st.RouteNotices(ctx); err != nil {
		return nil, err
	}
	if d.Areas, err = st.Areas(ctx); err != nil {
		return nil, err
	}
	replies, err := st.Replies(ctx)
	if err != nil {
		return nil, err
	}
	d.Replies = map[uint64][]store.ReplyRow{}
	for _, r := range replies {
		d.Replies[r.RecordIndex] = append(d.Replies[r.RecordIndex], r)
	}
	if err := d.index(events); err != nil {
		return nil, err
	}
	return d, nil
}

// decodePayload decodes a projected payload by its record type.
func decodePayload(typ string, raw []byte) (corridor.Payload, error) {
	t, err := corridor.LookupType(typ, 1)
	if err != nil {
		return nil, err
	}
	p := t.New()
	if err := json.NewDecoder(bytes.NewReader(raw)).Decode(p); err != nil {
		return nil, fmt.Errorf("projected %s: %w", typ, err)
	}
	return p, nil
}

func (d *Data) index(events []store.ConvoyEventRow) error {
	d.places = map[string]store.PlaceRow{}
	for _, p := range d.Places {
		d.places[p.ID] = p
	}
	d.parties = map[string]store.PartyRow{}
	for _, p := range d.Parties {
		d.parties[p.ID] = p
	}
	d.cps = map[string]*corridor.Checkpoint{}
	for i := range d.Checkpoints {
		d.cps[d.Checkpoints[i].ID] = &d.Checkpoints[i].Checkpoint
	}
	var days []corridor.Date
	byConvoy := map[string]int{}
	for _, c := range d.Convoys {
		byConvoy[c.ID] = len(d.Histories)
		d.Histories = append(d.Histories, corridor.ConvoyHistory{Convoy: c.Filing, Index: c.LogIndex})
	}
	for _, e := range events {
		if e.Type == corridor.TypeConvoy {
			continue
		}
		p, err := decodePayload(e.Type, e.Payload)
		if err != nil {
			return fmt.Errorf("log index %d: %w", e.LogIndex, err)
		}
		i, ok := byConvoy[e.Convoy]
		if !ok {
			return fmt.Errorf("log index %d: convoy %q not projected", e.LogIndex, e.Convoy)
		}
		d.Histories[i].Events = append(d.Histories[i].Events, corridor.Logged[corridor.Payload]{Index: e.LogIndex, By: e.Party, Payload: p})
		if day := eventDay(p); day != "" {
			days = append(days, day)
		}
	}
	for _, s := range d.Statements {
		days = append(days, s.SaidOn)
	}
	for _, i := range d.Incidents {
		days = append(days, i.Reported)
	}
	for _, c := range d.Claims {
		days = append(days, c.SaidOn)
	}
	in := corridor.EvidenceInput{Checkpoints: d.cps, Convoys: d.Histories}
	for i := range d.Routes {
		in.Routes = append(in.Routes, &d.Routes[i].Route)
	}
	for i := range d.Incidents {
		r := &d.Incidents[i]
		in.Incidents = append(in.Incidents, corridor.Logged[*corridor.Incident]{Index: r.LogIndex, By: r.ReportedBy, Payload: &r.Incident})
	}
	for _, n := range d.Notices {
		switch n.Kind {
		case "closed":
			p, err := decodePayload(corridor.TypeRouteClosed, n.Doc)
			if err != nil {
				return err
			}
			c := p.(*corridor.RouteClosure)
			in.Closures = append(in.Closures, corridor.Logged[*corridor.RouteClosure]{Index: n.LogIndex, By: n.Party, Payload: c})
			days = append(days, c.From)
		case "opened":
			p, err := decodePayload(corridor.TypeRouteOpened, n.Doc)
			if err != nil {
				return err
			}
			o := p.(*corridor.RouteOpening)
			in.Openings = append(in.Openings, corridor.Logged[*corridor.RouteOpening]{Index: n.LogIndex, By: n.Party, Payload: o})
			days = append(days, o.From)
		case "passage":
			p, err := decodePayload(corridor.TypePassage, n.Doc)
			if err != nil {
				return err
			}
			o := p.(*corridor.PassageObservation)
			in.Passages = append(in.Passages, corridor.Logged[*corridor.PassageObservation]{Index: n.LogIndex, By: n.Party, Payload: o})
			days = append(days, o.LastDay())
		}
	}
	for _, day := range days {
		if day > d.AsOf {
			d.AsOf = day
		}
	}
	in.AsOf = d.AsOf
	d.evidence = corridor.RouteEvidence(in)
	d.FirstDay = d.AsOf
	for _, e := range d.evidence {
		if e.From < d.FirstDay {
			d.FirstDay = e.From
		}
	}
	return nil
}

// eventDay is the day a convoy record names (store.DayNamed).
func eventDay(p corridor.Payload) corridor.Date { return store.DayNamed(p) }

func (d *Data) partyName(id string) string {
	if p, ok := d.parties[id]; ok {
		return p.Names[0].Name
	}
	return id
}

func (d *Data) route(id string) (store.RouteRow, bool) {
	for _, r := range d.Routes {
		if r.ID == id {
			return r, true
		}
	}
	return store.RouteRow{}, false
}

// IncidentViews lists reported incidents and those derived from convoy
// refusals and holds at checkpoints, by day and log index.
func (d *Data) IncidentViews() []IncidentView {
	var out []IncidentView
	for _, r := range d.Incidents {
		cat, _ := corridor.CategoryOf(r.Category)
		v := IncidentView{
			ID: r.ID, Category: r.Category, CategoryNumber: cat.Number, CategoryLabel: cat.Label,
			Occurred: string(r.Occurred), Until: string(r.Until), Reported: string(r.Reported),
			Route: r.Route, Checkpoint: r.Checkpoint, Place: r.Place, Perpetrator: r.Perpetrator,
			Affected: r.Affected, People: r.People, PeopleEstimated: r.PeopleEstimated,
			AidDenied: nonNil(r.AidDenied), Traffic: nonNil(r.Traffic), Description: r.Description,
			Source: r.Source, SourceURL: r.SourceURL, Verification: r.Verification, ReportedBy: r.ReportedBy, LogIndex: r.LogIndex,
		}
		if cp, ok := d.cps[r.Checkpoint]; ok {
			if v.Route == "" {
				v.Route = cp.Route
			}
			if v.Place == "" {
				v.Place = cp.Place
			}
		}
		d.locate(&v)
		out = append(out, v)
	}
	for _, h := range d.Histories {
		for _, e := range h.Events {
			ev, ok := e.Payload.(*corridor.CheckpointEvent)
			if !ok || (ev.Event != corridor.EvHeld && ev.Event != corridor.EvRefused) {
				continue
			}
			idx := e.Index
			cp := d.cps[ev.Checkpoint]
			var kind string
			if cp != nil {
				kind = d.places[cp.Place].Kind
			}
			cat := corridor.StoppedAtCategory(kind)
			var sectors []string
			for _, l := range h.Convoy.Manifest {
				if !slices.Contains(sectors, l.Sector) {
					sectors = append(sectors, l.Sector)
				}
			}
			day := string(corridor.DayOf(ev.At))
			desc := fmt.Sprintf("Convoy %s of %s %s at checkpoint %s (%s): %s", h.Convoy.ID, d.partyName(h.Convoy.Organisation), ev.Event, ev.Checkpoint, ev.ReasonCategory, ev.Reason)
			v := IncidentView{
				ID: fmt.Sprintf("derived-%d", idx), Derived: true, DerivedFrom: &idx,
				Category: cat.Code, CategoryNumber: cat.Number, CategoryLabel: cat.Label,
				Occurred: day, Reported: day, Route: h.Convoy.Route, Checkpoint: ev.Checkpoint,
				Perpetrator: e.By, Affected: d.partyName(h.Convoy.Organisation),
				AidDenied: sectors, Traffic: []string{corridor.Cargo}, Description: desc,
				Source:       fmt.Sprintf("%s signed by %s, log index %d", corridor.TypeCheckEvent, e.By, idx),
				Verification: corridor.Verified, ReportedBy: e.By, LogIndex: idx,
			}
			if cp != nil {
				v.Place = cp.Place
			}
			d.locate(&v)
			out = append(out, v)
		}
	}
	slices.SortStableFunc(out, func(a, b IncidentView) int {
		if a.Occurred != b.Occurred {
			if a.Occurred < b.Occurred {
				return -1
			}
			return 1
		}
		return int(a.LogIndex) - int(b.LogIndex)
	})
	return out
}

// locate gives an incident the coordinates of its place or, failing that,
// of the middle place of its route.
func (d *Data) locate(v *IncidentView) {
	id := v.Place
	if id == "" {
		if r, ok := d.route(v.Route); ok && len(r.Places) > 0 {
			id = r.Places[len(r.Places)/2]
		}
	}
	if p, ok := d.places[id]; ok {
		lat, lon := p.Lat, p.Lon
		v.Lat, v.Lon = &lat, &lon
	}
}

func nonNil[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}
