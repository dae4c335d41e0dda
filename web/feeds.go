package web

import (
	"cmp"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"corridor/report"
	"corridor/store"
)

// feedEntries is how many entries a feed holds: the latest.
const feedEntries = 50

// Atom (RFC 4287) documents, as journalists' and monitors' feed readers
// take them.
type atomFeed struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	ID      string      `xml:"id"`
	Title   string      `xml:"title"`
	Updated string      `xml:"updated"`
	Author  atomPerson  `xml:"author"`
	Links   []atomLink  `xml:"link"`
	Entries []atomEntry `xml:"entry"`
}

type atomPerson struct {
	Name string `xml:"name"`
}

type atomLink struct {
	Rel  string `xml:"rel,attr,omitempty"`
	Href string `xml:"href,attr"`
	Type string `xml:"type,attr,omitempty"`
}

type atomEntry struct {
	ID      string     `xml:"id"`
	Title   string     `xml:"title"`
	Updated string     `xml:"updated"`
	Author  atomPerson `xml:"author"`
	Links   []atomLink `xml:"link"`
	Summary string     `xml:"summary"`
}

// base is the address readers reach this server at.
func (s *Server) base(r *http.Request) string {
	if s.public != nil {
		return s.public.Scheme + "://" + s.public.Host
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// dayTime writes a day as an Atom date-time (its start, UTC).
func dayTime(d string) string {
	if t, err := time.Parse(time.DateOnly, d); err == nil {
		return t.Format(time.RFC3339)
	}
	return "1970-01-01T00:00:00Z"
}

func (s *Server) writeFeed(w http.ResponseWriter, f atomFeed) error {
	f.Updated = "1970-01-01T00:00:00Z"
	for _, e := range f.Entries {
		f.Updated = max(f.Updated, e.Updated)
	}
	w.Header().Set("Content-Type", "application/atom+xml; charset=utf-8")
	if _, err := w.Write([]byte(xml.Header)); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", " ")
	return enc.Encode(f)
}

// incidentsFeed is the latest incidents, reported and derived, in the
// words the records give them.
func (s *Server) incidentsFeed(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	l, err := s.load(ctx)
	if err != nil {
		return err
	}
	list, err := s.node.Store().LatestIncidents(ctx, feedEntries)
	if err != nil {
		return err
	}
	answered := func(i report.IncidentView) uint64 { return *cmp.Or(i.DerivedFrom, &i.LogIndex) }
	var idx []uint64
	for _, i := range list {
		idx = append(idx, answered(i))
	}
	replies, err := s.node.Store().RepliesTo(ctx, idx)
	if err != nil {
		return err
	}
	base := s.base(r)
	f := s.newFeed(base, "/incidents.atom", "access incidents", "/")
	for _, i := range list {
		title := fmt.Sprintf("%s, %s", i.CategoryLabel, i.Occurred)
		if i.Route != "" {
			title += ", " + l.routeName(i.Route)
		}
		f.Entries = append(f.Entries, atomEntry{ID: base + "/api/v1/incidents#" + i.ID,
			Title: title, Updated: dayTime(cmp.Or(i.Reported, i.Occurred)), Author: atomPerson{l.party(i.ReportedBy)},
			Links:   []atomLink{{Href: base + "/api/v1/incidents"}},
			Summary: fmt.Sprintf("%s (%s; log index %d, signed by %s)", i.Description, i.Verification, i.LogIndex, i.ReportedBy) + replySummary(replies[answered(i)])})
	}
	return s.writeFeed(w, f)
}

// newFeed starts the feed at path of this origin, about what, whose page
// is at alt.
func (s *Server) newFeed(base, path, what, alt string) atomFeed {
	origin := s.node.Config.Origin
	return atomFeed{ID: base + path, Title: "corridor: " + what + " (" + origin + ")", Author: atomPerson{origin},
		Links: []atomLink{{Rel: "self", Href: base + path, Type: "application/atom+xml"}, {Href: base + alt}}}
}

// claimsFeed is the latest claims with corridor's verdict on each.
func (s *Server) claimsFeed(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	claims, err := report.LatestClaims(ctx, s.node.Store(), feedEntries)
	if err != nil {
		return err
	}
	base := s.base(r)
	f := s.newFeed(base, "/claims.atom", "public claims and their verdicts", "/claims")
	for _, v := range claims {
		summary := fmt.Sprintf("%q", cmp.Or(v.Quote, v.Reported))
		if vd := v.Verdict; vd != nil {
			summary += fmt.Sprintf(" — corridor's verdict from the records: %s (%s)", vd.Verdict, vd.Reason)
			if len(v.Disputed) > 0 {
				summary += fmt.Sprintf("; %d of the records deciding it disputed by a party they name", len(v.Disputed))
			}
		}
		summary += replySummary(v.Replies)
		f.Entries = append(f.Entries, atomEntry{ID: base + "/claims#claim-" + v.ID, Title: fmt.Sprintf("%s, %s", v.Speaker, v.SaidOn),
			Updated: dayTime(string(v.SaidOn)), Author: atomPerson{v.RecordedBy}, Links: []atomLink{{Href: base + "/claims#claim-" + v.ID}},
			Summary: summary})
	}
	return s.writeFeed(w, f)
}

// replySummary says, after a record's summary, who replied to it and how.
func replySummary(rs []store.ReplyRow) string {
	out := ""
	for _, r := range rs {
		out += fmt.Sprintf(" — reply by %s (%s, log index %d)", r.Party, r.Kind, r.LogIndex)
		if r.Text != "" {
			out += fmt.Sprintf(": %q", r.Text)
		}
	}
	return out
}

// recordsFeed is the latest records of a scope (everything, a route, a
// checkpoint, a convoy), each entry naming the record, who signed it and
// its log index, and linking to the record and its page.
func (s *Server) recordsFeed(scope string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		ctx := r.Context()
		l, err := s.load(ctx)
		if err != nil {
			return err
		}
		id := r.PathValue("id")
		path, what, alt := "/feed.atom", "every record", "/"
		switch scope {
		case store.FeedRoute:
			if _, err := s.node.Store().Route(ctx, id); err != nil {
				return err
			}
			path, what, alt = "/routes/"+id+"/feed.atom", "records of route "+l.routeName(id), "/routes/"+id
		case store.FeedCheckpoint:
			cp, err := s.node.Store().Checkpoint(ctx, id)
			if err != nil {
				return err
			}
			path, what, alt = "/checkpoints/"+id+"/feed.atom", "records of checkpoint "+report.AllNames(cp.Names), "/"
			if cp.Route != "" {
				alt = "/routes/" + cp.Route
			}
		case store.FeedConvoy:
			if _, err := s.node.Store().Convoy(ctx, id); err != nil {
				return err
			}
			path, what, alt = "/convoys/"+id+"/feed.atom", "records of convoy "+id, "/convoys/"+id
		}
		list, err := s.node.Store().LatestRecords(ctx, scope, id, feedEntries)
		if err != nil {
			return err
		}
		base := s.base(r)
		f := s.newFeed(base, path, what, alt)
		for _, rec := range list {
			var e struct {
				Payload map[string]any `json:"payload"`
			}
			json.Unmarshal(rec.Entry, &e)
			day := ""
			for _, k := range []string{"at", "occurred", "said_on", "from", "planned", "reported"} {
				if v, ok := e.Payload[k].(string); ok && v != "" {
					day = v
					break
				}
			}
			updated := dayTime(day)
			if t, err := time.Parse(time.RFC3339, day); err == nil {
				updated = t.UTC().Format(time.RFC3339)
			}
			href := base + "/api/v1/records/" + url.PathEscape(rec.ID)
			f.Entries = append(f.Entries, atomEntry{ID: href, Title: fmt.Sprintf("%s %s", typeTitle(rec.Type), rec.ID), Updated: updated,
				Author: atomPerson{l.party(rec.Party)}, Links: []atomLink{{Href: href, Type: "application/json"}, {Rel: "related", Href: base + "/api/v1/records/" + url.PathEscape(rec.ID) + "/receipt"}},
				Summary: fmt.Sprintf("%s, signed by %s (%s), log index %d", typeTitle(rec.Type), l.party(rec.Party), rec.Party, rec.Index)})
		}
		return s.writeFeed(w, f)
	}
}

// typeTitle is a record type as a feed reader reads it: "checkpoint
// event" for checkpoint.event.
func typeTitle(t string) string { return strings.ReplaceAll(t, ".", " ") }
