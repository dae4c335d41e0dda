package main

import (
	"context"
	"io"
	"strings"

	"corridor"
	"corridor/record"
)

func init() {
	commands["statement"] = command{"record what someone said in public, as an exact quote or reported speech (client)", cmdStatement}
	commands["claim"] = command{"record a public claim with what it asserts, or link a record to one as evidence (client)", cmdClaim}
	commands["incident"] = command{"report an access incident, or record a new verification status of one (client)", cmdIncident}
	commands["route"] = command{"record a route closed or opened (an authority), or traffic observed passing (client)", cmdRoute}
}

// splitList reads a comma-separated flag value.
func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

// words are the flags of what a speaker said.
type words struct {
	speaker, speakerParty, affiliation, saidOn, medium, url, quote, reported, lang, translation, translationLang *string
}

func wordFlags(fs interface {
	String(name, value, usage string) *string
}) words {
	return words{
		speaker:         fs.String("speaker", "", "who spoke: a person or office, by name"),
		speakerParty:    fs.String("speaker-party", "", "the registered party the speaker speaks for, if any"),
		affiliation:     fs.String("affiliation", "", "the speaker's affiliation, when it is not a registered party"),
		saidOn:          fs.String("said-on", "", "the day it was said, YYYY-MM-DD"),
		medium:          fs.String("medium", "", "where it was said or published"),
		url:             fs.String("url", "", "the source's address"),
		quote:           fs.String("quote", "", "the exact words, in their language"),
		reported:        fs.String("reported", "", "reported speech: what was said, in the source's words (instead of or beside -quote)"),
		lang:            fs.String("lang", "", "the language of the words (BCP 47: en, ar, he, hy, az, ru…)"),
		translation:     fs.String("translation", "", "a translation of the words"),
		translationLang: fs.String("translation-lang", "", "the translation's language"),
	}
}

func cmdStatement(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "record" {
		return usagef("want: statement record")
	}
	fs := newFlags("statement record", stderr)
	o := addClientFlags(fs, true)
	o.byContent = true
	w := wordFlags(fs)
	kind := fs.String("kind", "statement", strings.Join(corridor.StatementKinds, ", "))
	routes := fs.String("about-routes", "", "routes it is about, by id or name, comma-separated")
	places := fs.String("about-places", "", "places it is about, by id or name, comma-separated")
	files := fileFlags(fs)
	cf := assertFlags(fs, "; given, the statement is recorded with its claim (and links) in one batch")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if err := o.resolve(ctx, append(cf.resolveFlags(), resolveFlag{"about-routes", "routes", routes, true}, resolveFlag{"about-places", "places", places, true},
		resolveFlag{"speaker-party", "parties", w.speakerParty, false})...); err != nil {
		return err
	}
	return o.submitAll(ctx, stdout, func(party string) ([]draft, error) {
		attached, private, err := files.attach(ctx, o)
		if err != nil {
			return nil, err
		}
		st := &corridor.Statement{Files: attached, Kind: *kind, Speaker: *w.speaker, SpeakerParty: *w.speakerParty, Affiliation: *w.affiliation,
			SaidOn: corridor.Date(*w.saidOn), Medium: *w.medium, URL: *w.url, Quote: *w.quote, Reported: *w.reported, Lang: *w.lang,
			Translation: *w.translation, TranslationLang: *w.translationLang, AboutRoutes: splitList(*routes), AboutPlaces: splitList(*places)}
		st.ID = *o.id
		if st.ID == "" {
			st.ID = contentID("st", party, st)
		}
		out := []draft{{typ: corridor.TypeStatement, payload: st, private: private}}
		if !cf.given() {
			return out, nil
		}
		// Its claim takes the statement's words; what it asserts, the
		// convoys it names and the records that bear on it are the flags'.
		c := &corridor.Claim{Statement: st.ID, AboutRoutes: st.AboutRoutes, AboutPlaces: st.AboutPlaces}
		if err := cf.fill(c); err != nil {
			return nil, err
		}
		return append(out, cf.drafts(party, c)...), nil
	})
}

// claimFlags are the flags of what a claim asserts and the records linked
// to it, shared by claim record and statement record.
type claimFlags struct {
	convoys, period, kind, route, traffic, place, note *string
	tonnes, trucks, percent                            *float64
	linked                                             map[string]*string
}

func assertFlags(fs interface {
	String(name, value, usage string) *string
	Float64(name string, value float64, usage string) *float64
}, also string) claimFlags {
	cf := claimFlags{
		convoys: fs.String("about-convoys", "", "convoys it is about, by id, comma-separated"),
		period:  fs.String("period", "", "the days it is about, FROM..TO (YYYY-MM-DD..YYYY-MM-DD)"),
		kind:    fs.String("assert", "", "what it asserts, to be judged: "+strings.Join(corridor.AssertionKinds, ", ")+also),
		route:   fs.String("route", "", "for route-open and route-blocked: the route"),
		traffic: fs.String("traffic", "", "for route-open and route-blocked: "+strings.Join(corridor.TrafficKinds, ", ")),
		place:   fs.String("place", "", "for delivered and coverage-below: the settlement"),
		tonnes:  fs.Float64("tonnes", 0, "for delivered and tonnes-per-day: the tonnes claimed (in all, or a day)"),
		trucks:  fs.Float64("trucks", 0, "for trucks-per-day: the vehicles a day claimed"),
		percent: fs.Float64("percent", 0, "for coverage-below: the share of the need, in per cent"),
		note:    fs.String("note", "", "how the assertion reads the words"),
		linked:  map[string]*string{},
	}
	for _, rel := range corridor.Relations {
		cf.linked[rel] = fs.String(rel, "", "records (by id) linked to the claim as "+rel+", comma-separated: recorded with it, in the same batch")
	}
	return cf
}

func (cf claimFlags) resolveFlags() []resolveFlag {
	return []resolveFlag{{"route", "routes", cf.route, false}, {"place", "places", cf.place, false}}
}

// given reports whether any claim flag was set.
func (cf claimFlags) given() bool {
	if *cf.convoys != "" || *cf.period != "" || *cf.kind != "" || *cf.note != "" {
		return true
	}
	for _, v := range cf.linked {
		if *v != "" {
			return true
		}
	}
	return false
}

// fill sets the claim's convoys, period, assertion and note from the flags.
func (cf claimFlags) fill(c *corridor.Claim) error {
	c.AboutConvoys, c.Note = splitList(*cf.convoys), *cf.note
	if *cf.period != "" {
		from, to, ok := strings.Cut(*cf.period, "..")
		if !ok {
			return usagef("-period %q: want FROM..TO, such as 2024-05-01..2024-05-31", *cf.period)
		}
		c.Period = &corridor.Period{From: corridor.Date(from), To: corridor.Date(to)}
	}
	if *cf.kind != "" {
		c.Assertion = &corridor.Assertion{Kind: *cf.kind, Route: *cf.route, Traffic: *cf.traffic, Place: *cf.place, Tonnes: *cf.tonnes, Percent: *cf.percent, Trucks: *cf.trucks}
	}
	return nil
}

// drafts are the claim, with an id from its content unless it has one,
// and a link to it for each record the flags name.
func (cf claimFlags) drafts(party string, c *corridor.Claim) []draft {
	if c.ID == "" {
		c.ID = contentID("claim", party, c)
	}
	out := []draft{{typ: corridor.TypeClaim, payload: c}}
	for _, rel := range corridor.Relations {
		for _, rec := range splitList(*cf.linked[rel]) {
			l := &corridor.ClaimLink{Claim: c.ID, Record: rec, Relation: rel}
			out = append(out, draft{typ: corridor.TypeClaimLink, payload: l, id: contentID("claim-link", party, l)})
		}
	}
	return out
}

func cmdClaim(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "record" && args[0] != "link") {
		return usagef("want: claim record, or claim link")
	}
	fs := newFlags("claim "+args[0], stderr)
	o := addClientFlags(fs, true)
	o.byContent = true
	if args[0] == "link" {
		claim := fs.String("claim", "", "the claim's id")
		rec := fs.String("record", "", "the id of the record that bears on it")
		relation := fs.String("relation", "", strings.Join(corridor.Relations, ", "))
		note := fs.String("note", "", "why it bears on the claim")
		if err := parse(fs, args[1:]); err != nil {
			return err
		}
		return o.submit(ctx, stdout, corridor.TypeClaimLink, func(string) (any, map[string]record.Opening, error) {
			return &corridor.ClaimLink{Claim: *claim, Record: *rec, Relation: *relation, Note: *note}, nil, nil
		})
	}
	statement := fs.String("statement", "", "the recorded statement the claim is (its words come from it)")
	w := wordFlags(fs)
	routes := fs.String("about-routes", "", "routes it is about, by id or name, comma-separated")
	places := fs.String("about-places", "", "places it is about, by id or name, comma-separated")
	cf := assertFlags(fs, "")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if err := o.resolve(ctx, append(cf.resolveFlags(), resolveFlag{"about-routes", "routes", routes, true}, resolveFlag{"about-places", "places", places, true},
		resolveFlag{"speaker-party", "parties", w.speakerParty, false})...); err != nil {
		return err
	}
	c := &corridor.Claim{Statement: *statement, Speaker: *w.speaker, SpeakerParty: *w.speakerParty, Affiliation: *w.affiliation,
		SaidOn: corridor.Date(*w.saidOn), Medium: *w.medium, URL: *w.url, Quote: *w.quote, Reported: *w.reported, Lang: *w.lang,
		Translation: *w.translation, TranslationLang: *w.translationLang, AboutRoutes: splitList(*routes), AboutPlaces: splitList(*places)}
	if err := cf.fill(c); err != nil {
		return err
	}
	return o.submitAll(ctx, stdout, func(party string) ([]draft, error) {
		c.ID = *o.id
		return cf.drafts(party, c), nil
	})
}

func cmdIncident(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "report" && args[0] != "verify") {
		return usagef("want: incident report, or incident verify")
	}
	fs := newFlags("incident "+args[0], stderr)
	o := addClientFlags(fs, true)
	o.byContent = true
	if args[0] == "verify" {
		incident := fs.String("incident", "", "the incident's id")
		status := fs.String("verification", "", strings.Join(corridor.VerificationStatuses, ", "))
		note := fs.String("note", "", "why")
		if err := parse(fs, args[1:]); err != nil {
			return err
		}
		return o.submit(ctx, stdout, corridor.TypeIncidentVerify, func(string) (any, map[string]record.Opening, error) {
			return &corridor.IncidentVerification{Incident: *incident, Verification: *status, Note: *note}, nil, nil
		})
	}
	category := fs.String("category", "", "access category (GET /api/v1/access-categories)")
	occurred := fs.String("occurred", "", "the day it happened, YYYY-MM-DD")
	until := fs.String("until", "", "its last day, for one that lasted")
	reported := fs.String("reported", "", "the day it was reported, YYYY-MM-DD")
	route := fs.String("route", "", "the route")
	checkpoint := fs.String("checkpoint", "", "the checkpoint")
	place := fs.String("place", "", "the place")
	perpetrator := fs.String("perpetrator", "", "the party held responsible by the source, if it names one")
	affected := fs.String("affected-organisation", "", "the organisation whose work was affected")
	people := fs.Int64("people-affected", 0, "how many people were affected")
	estimated := fs.Bool("people-estimated", false, "the number of people is an estimate")
	aid := fs.String("aid-denied", "", "sectors of aid denied, comma-separated")
	traffic := fs.String("traffic", "", "traffic that could not pass, comma-separated: "+strings.Join(corridor.TrafficKinds, ", "))
	description := fs.String("description", "", "what happened")
	source := fs.String("source", "", "who reported it")
	sourceURL := fs.String("source-url", "", "where")
	verification := fs.String("verification", corridor.Unverified, strings.Join(corridor.VerificationStatuses, ", "))
	files := fileFlags(fs)
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if err := o.resolve(ctx, resolveFlag{"route", "routes", route, false}, resolveFlag{"checkpoint", "checkpoints", checkpoint, false},
		resolveFlag{"place", "places", place, false}, resolveFlag{"perpetrator", "parties", perpetrator, false},
		resolveFlag{"affected-organisation", "parties", affected, false}); err != nil {
		return err
	}
	return o.submit(ctx, stdout, corridor.TypeIncident, func(party string) (any, map[string]record.Opening, error) {
		attached, private, err := files.attach(ctx, o)
		if err != nil {
			return nil, nil, err
		}
		in := &corridor.Incident{Files: attached, Category: *category, Occurred: corridor.Date(*occurred), Until: corridor.Date(*until), Reported: corridor.Date(*reported),
			Route: *route, Checkpoint: *checkpoint, Place: *place, Perpetrator: *perpetrator, Affected: *affected, People: *people,
			PeopleEstimated: *estimated, AidDenied: splitList(*aid), Traffic: splitList(*traffic), Description: *description,
			Source: *source, SourceURL: *sourceURL, Verification: *verification}
		in.ID = *o.id
		if in.ID == "" {
			in.ID = contentID("incident", party, in)
		}
		return in, private, nil
	})
}

func cmdRoute(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "closed" && args[0] != "opened" && args[0] != "passage") {
		return usagef("want: route closed, route opened, or route passage")
	}
	fs := newFlags("route "+args[0], stderr)
	o := addClientFlags(fs, true)
	o.byContent = true
	route := fs.String("route", "", "the route, by id or any of its names")
	traffic := fs.String("traffic", "", "kinds of traffic, comma-separated: "+strings.Join(corridor.TrafficKinds, ", "))
	from := fs.String("from", "", "the first day, YYYY-MM-DD")
	var to, checkpoint, category, reason, unit, source *string
	note := new(string)
	if args[0] != "closed" {
		note = fs.String("note", "", "free text")
	}
	var count *int
	switch args[0] {
	case "closed":
		to = fs.String("to", "", "the last day, if known (otherwise until you record it opened)")
		checkpoint = fs.String("checkpoint", "", "the checkpoint it is closed at, if one")
		category = fs.String("reason-category", "", strings.Join(corridor.ReasonCategories, ", "))
		reason = fs.String("reason", "", "the reason in words")
	case "passage":
		to = fs.String("to", "", "the last day (default: the first)")
		checkpoint = fs.String("checkpoint", "", "the checkpoint it was seen at, if one")
		count = fs.Int("count", 0, "how many were seen")
		unit = fs.String("unit", "", "what was counted: vehicles, persons")
		source = fs.String("source", "", "who saw it")
	}
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if checkpoint == nil {
		checkpoint = new(string)
	}
	if err := o.resolve(ctx, resolveFlag{"route", "routes", route, false}, resolveFlag{"checkpoint", "checkpoints", checkpoint, false}); err != nil {
		return err
	}
	switch args[0] {
	case "closed":
		return o.submit(ctx, stdout, corridor.TypeRouteClosed, func(string) (any, map[string]record.Opening, error) {
			return &corridor.RouteClosure{Route: *route, Checkpoint: *checkpoint, Traffic: splitList(*traffic), From: corridor.Date(*from),
				To: corridor.Date(*to), ReasonCategory: *category, Reason: *reason}, nil, nil
		})
	case "opened":
		return o.submit(ctx, stdout, corridor.TypeRouteOpened, func(string) (any, map[string]record.Opening, error) {
			return &corridor.RouteOpening{Route: *route, Traffic: splitList(*traffic), From: corridor.Date(*from), Note: *note}, nil, nil
		})
	}
	return o.submit(ctx, stdout, corridor.TypePassage, func(string) (any, map[string]record.Opening, error) {
		return &corridor.PassageObservation{Route: *route, Checkpoint: *checkpoint, Traffic: splitList(*traffic), From: corridor.Date(*from),
			To: corridor.Date(*to), Count: *count, Unit: *unit, Source: *source, Note: *note}, nil, nil
	})
}
