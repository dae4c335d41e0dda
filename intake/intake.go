// Package intake reads a news report in English, French or Russian and
// proposes draft records for a monitor to review: statements (who said
// what, quoted or reported, and when), claims with what they assert,
// diplomatic actions, and events it mentions (a convoy stopped, held,
// refused, let through, with its lorries, tonnes and items). It is
// rule-based: the gazetteer of places, routes, checkpoints and parties
// (in every language they are registered in) and word lists for the
// three languages, no model and no network. Nothing it proposes is
// signed: drafts carry the sentence and offsets they came from and a
// confidence, and the monitor edits and signs them.
package intake

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"corridor"
	"corridor/store"
)

// MaxText bounds the text read at once.
const MaxText = 200_000

// Draft is a proposed record.
type Draft struct {
	Type       string         `json:"type"`    // statement.record, claim.record or incident.report
	Payload    map[string]any `json:"payload"` // the record's fields, as far as the text gives them
	Source     Source         `json:"source"`
	Confidence float64        `json:"confidence"` // 0 to 1
	// Facts are what the text says beyond the payload: for an event,
	// its kind (stopped, held, refused, passed), vehicles, tonnes, items.
	Facts map[string]any `json:"facts,omitempty"`
}

// Source is where a draft came from: the sentence and its character
// offsets in the text.
type Source struct {
	Sentence string `json:"sentence"`
	Start    int    `json:"start"`
	End      int    `json:"end"`
}

// Result is what a text gives.
type Result struct {
	Lang   string        `json:"lang"`
	Drafts []Draft       `json:"drafts"`
	Dates  []DateMention `json:"dates"`
	// Notes say what could not be resolved (a name that matches two
	// places, a text with nothing recognisable).
	Notes []string `json:"notes,omitempty"`
}

// ErrNothing: the text holds nothing intake recognises.
var ErrNothing = errors.New("no statement, claim or event recognised in the text: nothing is proposed")

// Read proposes drafts from text, published on the given day.
func Read(text string, published time.Time, g *Gazetteer) (*Result, error) {
	if !utf8.ValidString(text) {
		return nil, errors.New("the text is not valid UTF-8")
	}
	if n := utf8.RuneCountInString(text); n > MaxText {
		return nil, fmt.Errorf("the text is %d characters; intake reads at most %d at once", n, MaxText)
	}
	if strings.TrimSpace(text) == "" {
		return nil, errors.New("the text is empty")
	}
	lx := lexicon(detect(text))
	res := &Result{Lang: lx.lang, Drafts: []Draft{}, Dates: Dates(text, published)}
	pub := published.Format(time.DateOnly)
	var lastSpeaker *speakerRef
	var seen []sentence
	prevSubject := ""
	for _, s := range sentences(text) {
		dates := within(res.Dates, s)
		day, since := "", ""
		for _, d := range dates {
			if d.Since && since == "" {
				since = d.Date
			} else if day == "" {
				day = d.Date
			}
		}
		names := g.Find(s.Sentence)
		src := Source{Sentence: s.Sentence, Start: s.Start, End: s.End}

		subject := lx.subject(s.Sentence)
		if sp := lx.speech(s.Sentence, g); sp != nil {
			if sp.pronoun {
				// A pronoun stands for the one who spoke last, or else
				// for the subject of the sentence before.
				switch {
				case lastSpeaker != nil && lastSpeaker.sentence == len(seen)-1:
					sp.name, sp.party = lastSpeaker.name, lastSpeaker.party
				case prevSubject != "":
					sp.name, sp.party = prevSubject, g.Party(prevSubject)
				case lastSpeaker != nil:
					sp.name, sp.party = lastSpeaker.name, lastSpeaker.party
				}
				sp.conf *= 0.8
			}
			if sp.name != "" {
				lastSpeaker = &speakerRef{name: sp.name, party: sp.party, sentence: len(seen)}
				said := cmpOr(saidOn(dates, s, sp.saidEnd), pub)
				p := map[string]any{"kind": sp.kind, "speaker": sp.name, "said_on": said, "lang": lx.lang}
				if sp.party != "" {
					p["speaker_party"] = sp.party
				} else if sp.affiliation != "" {
					p["affiliation"] = sp.affiliation
				}
				if sp.quote != "" {
					p["quote"] = sp.quote
				} else {
					p["reported"] = sp.reported
				}
				addAbout(p, names)
				res.Drafts = append(res.Drafts, Draft{Type: corridor.TypeStatement, Payload: p, Source: src, Confidence: round2(sp.conf)})
				if a := lx.assertion(s.Sentence, names); a != nil {
					cp := map[string]any{"speaker": sp.name, "said_on": said, "lang": lx.lang, "assertion": a,
						"period": map[string]string{"from": cmpOr(since, said), "to": said}}
					for _, k := range []string{"speaker_party", "quote", "reported", "about_routes", "about_places"} {
						if v, ok := p[k]; ok {
							cp[k] = v
						}
					}
					res.Drafts = append(res.Drafts, Draft{Type: corridor.TypeClaim, Payload: cp, Source: src, Confidence: round2(sp.conf * 0.8)})
				}
			}
		}
		prev := ""
		if len(seen) > 0 {
			prev = seen[len(seen)-1].Sentence
		}
		if ev := lx.event(s.Sentence, prev); ev != nil {
			p := map[string]any{"occurred": cmpOr(day, since, pub), "reported": pub, "traffic": []string{corridor.Cargo},
				"description": s.Sentence, "verification": corridor.Unverified}
			conf := 0.5
			var at Entry // the checkpoint, or else the place, the category follows from
			for _, m := range names {
				switch {
				case m.Kind == KindRoute && p["route"] == nil:
					p["route"] = m.ID
				case m.Kind == KindCheckpoint && p["checkpoint"] == nil:
					p["checkpoint"], at = m.ID, m.Entry
					if m.Authority != "" {
						p["perpetrator"] = m.Authority
					}
					conf += 0.15
				case m.Kind == KindPlace && p["place"] == nil:
					p["place"] = m.ID
					if at.ID == "" {
						at = m.Entry
					}
				}
			}
			if _, ok := p["perpetrator"]; !ok {
				if who := g.Party(lx.actor(s.Sentence)); who != "" {
					p["perpetrator"] = who
				}
			}
			if p["route"] != nil || p["place"] != nil || p["checkpoint"] != nil {
				conf += 0.15
			}
			if day != "" {
				conf += 0.1
			}
			cat := corridor.StoppedAtCategory(at.PlaceKind).Code
			p["category"] = cat
			facts := map[string]any{"event": ev.kind}
			if ev.vehicles > 0 {
				facts["vehicles"] = ev.vehicles
			}
			if ev.tonnes > 0 {
				facts["tonnes"] = ev.tonnes
			}
			if len(ev.items) > 0 {
				facts["items"] = ev.items
				p["aid_denied"] = sectors(ev.items)
			}
			d := Draft{Type: corridor.TypeIncident, Payload: p, Source: src, Confidence: round2(conf), Facts: facts}
			if !mergeEvent(res.Drafts, d) {
				res.Drafts = append(res.Drafts, d)
			}
		}
		seen = append(seen, s)
		prevSubject = subject
	}
	if len(res.Drafts) == 0 {
		return res, ErrNothing
	}
	return res, nil
}

// saidOn is the day a sentence gives for when something was said: a
// date among the words that say who spoke ("said on Sunday that",
// "told a cabinet meeting on Thursday"), not one in what was said ("said
// that after 15 June the road was closed"); with no speech verb, the
// sentence's first day.
func saidOn(dates []DateMention, s sentence, saidEnd int) string {
	for _, d := range dates {
		if d.Since {
			continue
		}
		if saidEnd < 0 || d.Start-s.Start < saidEnd {
			return d.Date
		}
	}
	return ""
}

type speakerRef struct {
	name, party string
	sentence    int // the sentence it spoke in
}

func addAbout(p map[string]any, names []Match) {
	var routes, places []string
	for _, m := range names {
		switch m.Kind {
		case KindRoute:
			routes = appendNew(routes, m.ID)
		case KindPlace:
			places = appendNew(places, m.ID)
		}
	}
	if len(routes) > 0 {
		p["about_routes"] = routes
	}
	if len(places) > 0 {
		p["about_places"] = places
	}
}

func appendNew(l []string, v string) []string {
	for _, x := range l {
		if x == v {
			return l
		}
	}
	return append(l, v)
}

func cmpOr(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

func round2(f float64) float64 { return float64(int(f*100+0.5)) / 100 }

// sentence is one sentence of the text with its character offsets.
type sentence struct {
	Sentence   string
	Start, End int
}

// sentences splits text at the end of each sentence: a full stop,
// question or exclamation mark outside quotes followed by a space and a
// capital, or a line break. A full stop after an abbreviation or an
// initial does not end one.
func sentences(text string) []sentence {
	var out []sentence
	rs := []rune(text)
	start, depth := 0, 0
	emit := func(end int) {
		s := strings.TrimSpace(string(rs[start:end]))
		if s != "" {
			lead := 0
			for lead < end-start && unicode.IsSpace(rs[start+lead]) {
				lead++
			}
			out = append(out, sentence{Sentence: s, Start: start + lead, End: start + lead + utf8.RuneCountInString(s)})
		}
		start = end
	}
	for i := 0; i < len(rs); i++ {
		switch r := rs[i]; {
		case r == '«' || r == '“':
			depth++
		case (r == '»' || r == '”') && depth > 0:
			depth--
		case r == '\n' && (i+1 < len(rs) && rs[i+1] == '\n' || depth == 0):
			emit(i + 1)
			depth = 0
		case (r == '.' || r == '?' || r == '!') && depth == 0:
			j := i + 1
			for j < len(rs) && (rs[j] == '"' || rs[j] == '»' || rs[j] == '”' || rs[j] == ')') {
				j++
			}
			if j < len(rs) && !unicode.IsSpace(rs[j]) {
				continue
			}
			k := j
			for k < len(rs) && unicode.IsSpace(rs[k]) {
				k++
			}
			if k < len(rs) && !(unicode.IsUpper(rs[k]) || rs[k] == '«' || rs[k] == '“' || rs[k] == '"' || unicode.IsDigit(rs[k])) {
				continue
			}
			if r == '.' && abbreviation(rs[:i]) {
				continue
			}
			emit(j)
		}
	}
	emit(len(rs))
	return out
}

var abbreviations = map[string]bool{"mr": true, "mrs": true, "ms": true, "dr": true, "st": true, "gen": true, "col": true, "lt": true, "no": true,
	"jan": true, "feb": true, "aug": true, "sept": true, "oct": true, "nov": true, "dec": true, "vs": true, "etc": false,
	"m": true, "mme": true, "г": true, "гг": true, "т": true, "им": true, "ул": true}

// abbreviation reports whether the word before a full stop is an
// abbreviation or a single initial (A. Smith).
func abbreviation(before []rune) bool {
	i := len(before)
	for i > 0 && unicode.IsLetter(before[i-1]) {
		i--
	}
	w := strings.ToLower(string(before[i:]))
	if utf8.RuneCountInString(w) == 1 && unicode.IsUpper(before[i]) {
		return true
	}
	return abbreviations[w]
}

// within lists the dates inside sentence s.
func within(ds []DateMention, s sentence) []DateMention {
	var out []DateMention
	for _, d := range ds {
		if d.Start >= s.Start && d.End <= s.End {
			out = append(out, d)
		}
	}
	return out
}

// detect tells the language of a text: Russian by its Cyrillic letters,
// French or English by their commonest words.
func detect(text string) string {
	cyr, lat := 0, 0
	for _, r := range text {
		switch {
		case unicode.Is(unicode.Cyrillic, r):
			cyr++
		case unicode.Is(unicode.Latin, r):
			lat++
		}
	}
	if cyr > lat {
		return "ru"
	}
	fr, en := 0, 0
	for _, w := range strings.Fields(strings.ToLower(text)) {
		switch strings.Trim(w, ".,;:«»\"'()") {
		case "le", "la", "les", "des", "du", "est", "et", "une", "dans", "pour", "qui", "sont", "a", "au", "aux", "que":
			fr++
		case "the", "and", "of", "is", "was", "to", "in", "that", "with", "has", "for", "are", "on":
			en++
		}
	}
	if fr > en {
		return "fr"
	}
	return "en"
}

var numberWords = map[string]float64{"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
	"eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
	"un": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "sept": 7, "huit": 8, "neuf": 9, "dix": 10, "onze": 11, "douze": 12,
	"treize": 13, "quatorze": 14, "quinze": 15, "seize": 16, "dix-sept": 17, "dix-huit": 18, "dix-neuf": 19, "vingt": 20,
	"два": 2, "две": 2, "три": 3, "четыре": 4, "пять": 5, "шесть": 6, "семь": 7, "восемь": 8, "девять": 9, "десять": 10, "двадцать": 20}

// number reads a count written in digits (1,000 or 1 000) or words.
func number(s string) float64 {
	s = strings.ToLower(strings.TrimSpace(s))
	if v, ok := numberWords[s]; ok {
		return v
	}
	s = strings.NewReplacer(",", "", " ", "", "\u00a0", "", "\u202f", "").Replace(s)
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0
	}
	return v
}

// countRE is a count in digits or in words of the three languages.
var countRE = func() string {
	ws := make([]string, 0, len(numberWords))
	for w := range numberWords {
		ws = append(ws, regexp.QuoteMeta(w))
	}
	sort.Slice(ws, func(i, j int) bool { return len(ws[i]) > len(ws[j]) })
	return `\b(\d[\d,\x{a0}\x{202f} ]*\d|\d+|` + strings.Join(ws, "|") + `)`
}()

var spaceRE = regexp.MustCompile(`\s+`)

// FromPayloads builds a gazetteer from registered places, routes,
// checkpoints and parties (other payloads are skipped): each with all its
// names, a checkpoint with its operator and its place's kind.
func FromPayloads(ps []corridor.Payload) *Gazetteer {
	kinds := map[string]string{}
	for _, p := range ps {
		if pl, ok := p.(*corridor.Place); ok {
			kinds[pl.ID] = pl.Kind
		}
	}
	var es []Entry
	for _, p := range ps {
		switch x := p.(type) {
		case *corridor.Place:
			es = append(es, Entry{Kind: KindPlace, ID: x.ID, Names: nameList(x.Names), PlaceKind: x.Kind})
		case *corridor.Route:
			es = append(es, Entry{Kind: KindRoute, ID: x.ID, Names: nameList(x.Names)})
		case *corridor.Checkpoint:
			es = append(es, Entry{Kind: KindCheckpoint, ID: x.ID, Names: nameList(x.Names), Authority: x.Latest(), PlaceKind: kinds[x.Place]})
		case *corridor.Party:
			es = append(es, Entry{Kind: KindParty, ID: x.ID, Names: nameList(x.Names)})
		}
	}
	return NewGazetteer(es)
}

func nameList(ns []corridor.Name) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = n.Name
	}
	return out
}

// RegistryPayload decodes a registration record's payload (a place,
// route, checkpoint, checkpoint change or party), for FromPayloads; ok is
// false for other types.
func RegistryPayload(typ string, payload []byte) (corridor.Payload, bool) {
	var p corridor.Payload
	switch typ {
	case corridor.TypePlace:
		p = new(corridor.Place)
	case corridor.TypeRoute:
		p = new(corridor.Route)
	case corridor.TypeCheckpoint:
		p = new(corridor.Checkpoint)
	case corridor.TypeParty:
		p = new(corridor.Party)
	default:
		return nil, false
	}
	if json.Unmarshal(payload, p) != nil {
		return nil, false
	}
	return p, true
}

// mergeEvent folds an event into an earlier draft of the same event (the
// same kind at the same route, place and checkpoint) that a text tells
// twice, keeping the earlier words and adding the counts it lacked. It
// reports whether it did.
func mergeEvent(ds []Draft, e Draft) bool {
	for i := range ds {
		d := &ds[i]
		if d.Type != corridor.TypeIncident || d.Facts["event"] != e.Facts["event"] {
			continue
		}
		// The same place: no key where both name one and they differ.
		same := true
		for _, k := range []string{"route", "place", "checkpoint"} {
			a, b := d.Payload[k], e.Payload[k]
			same = same && (a == nil || b == nil || a == b)
		}
		// A hold goes on over days; a refusal or passage is of its day.
		if !same || (e.Facts["event"] != corridor.EvHeld && d.Payload["occurred"] != e.Payload["occurred"]) {
			continue
		}
		for k, v := range e.Facts {
			if _, ok := d.Facts[k]; !ok {
				d.Facts[k] = v
			}
		}
		return true
	}
	return false
}

// FromRows builds a gazetteer from the projection's registry as the
// store or the API gives it (a checkpoint with its changes of operator).
func FromRows(places []store.PlaceRow, routes []store.RouteRow, cps []store.CheckpointRow, parties []store.PartyRow) *Gazetteer {
	var ps []corridor.Payload
	for i := range places {
		ps = append(ps, &places[i].Place)
	}
	for i := range routes {
		ps = append(ps, &routes[i].Route)
	}
	for i := range cps {
		cp := cps[i].Checkpoint
		cp.Changes = cps[i].History
		ps = append(ps, &cp)
	}
	for i := range parties {
		ps = append(ps, &parties[i].Party)
	}
	return FromPayloads(ps)
}
