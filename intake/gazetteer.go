package intake

import (
	"sort"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Kinds of gazetteer entries.
const (
	KindPlace      = "place"
	KindRoute      = "route"
	KindCheckpoint = "checkpoint"
	KindParty      = "party"
)

// Entry is one thing the gazetteer knows by several names: a place, a
// route, a checkpoint or a party, with all its names in every language.
type Entry struct {
	Kind  string
	ID    string
	Names []string
	// Authority is a checkpoint's operator (a party id), if known.
	Authority string
	// PlaceKind is a place's kind (border-crossing, checkpoint-site,
	// town, ...); for a checkpoint, the kind of its place.
	PlaceKind string
}

// Gazetteer matches names in a text to the registry's entries, in every
// language they are registered in and in Latin transliteration of
// Cyrillic, without case or diacritics.
type Gazetteer struct {
	entries []Entry
	forms   []form // longest first
	stems   map[string]int
}

type form struct {
	text  string // normalised
	entry int
}

// Match is a name found in a text.
type Match struct {
	Entry
	Start, End int // byte offsets in the normalised sentence
}

// NewGazetteer indexes the entries.
func NewGazetteer(entries []Entry) *Gazetteer {
	g := &Gazetteer{entries: entries, stems: map[string]int{}}
	owners := map[string]map[int]bool{}
	for i, e := range entries {
		for _, n := range e.Names {
			for _, f := range []string{fold(n), fold(translit(n))} {
				if len([]rune(f)) >= 3 {
					g.forms = append(g.forms, form{f, i})
				}
			}
			if e.Kind != KindParty {
				continue
			}
			// Words that name one party alone ("Border", "Crescent",
			// "Armenia") let a text's "Armenian government" or "border
			// guards" find it.
			for _, w := range words(n) {
				if s := stem(w); s != "" {
					if owners[s] == nil {
						owners[s] = map[int]bool{}
					}
					owners[s][i] = true
				}
			}
		}
	}
	for s, o := range owners {
		if len(o) == 1 && !generic[s] {
			for i := range o {
				g.stems[s] = i
			}
		}
	}
	sort.SliceStable(g.forms, func(a, b int) bool { return len(g.forms[a].text) > len(g.forms[b].text) })
	return g
}

// generic are stems of words that name no one in particular.
var generic = map[string]bool{"republ": true, "govern": true, "minist": true, "nation": true, "intern": true, "region": true,
	"respub": true, "pravit": true, "gouver": true, "ministe": true, "servic": true, "contin": true}

// Find returns the entries named in text, longest names first, none
// overlapping.
func (g *Gazetteer) Find(text string) []Match {
	t := fold(text)
	var out []Match
	taken := make([]bool, len(t))
	for _, f := range g.forms {
		for from := 0; ; {
			i := strings.Index(t[from:], f.text)
			if i < 0 {
				break
			}
			i += from
			j := i + len(f.text)
			from = j
			if !boundary(t, i, j) || anyTaken(taken, i, j) {
				continue
			}
			for k := i; k < j; k++ {
				taken[k] = true
			}
			out = append(out, Match{Entry: g.entries[f.entry], Start: i, End: j})
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Start < out[b].Start })
	return out
}

// Party finds the party that words of text name alone (a demonym, a
// distinctive word of its name), or "".
func (g *Gazetteer) Party(text string) string {
	for _, m := range g.Find(text) {
		if m.Kind == KindParty {
			return m.ID
		}
	}
	found := ""
	for _, w := range words(text) {
		if i, ok := g.stems[stem(w)]; ok {
			if found != "" && found != g.entries[i].ID {
				return "" // two parties: say neither
			}
			found = g.entries[i].ID
		}
	}
	return found
}

// Checkpoint returns the gazetteer's entry for a checkpoint id.
func (g *Gazetteer) Checkpoint(id string) (Entry, bool) {
	for _, e := range g.entries {
		if e.Kind == KindCheckpoint && e.ID == id {
			return e, true
		}
	}
	return Entry{}, false
}

// Place returns the gazetteer's entry for a place id.
func (g *Gazetteer) Place(id string) (Entry, bool) {
	for _, e := range g.entries {
		if e.Kind == KindPlace && e.ID == id {
			return e, true
		}
	}
	return Entry{}, false
}

func anyTaken(t []bool, i, j int) bool {
	for k := i; k < j; k++ {
		if t[k] {
			return true
		}
	}
	return false
}

// boundary reports whether t[i:j] starts and ends at word edges; a name
// may take an inflection of up to three letters (Лачинского, Armenia's).
func boundary(t string, i, j int) bool {
	if i > 0 {
		r := lastRune(t[:i])
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return false
		}
	}
	n := 0
	for _, r := range t[j:] {
		if !unicode.IsLetter(r) {
			break
		}
		if n++; n > 3 {
			return false
		}
	}
	return true
}

func lastRune(s string) rune {
	r := []rune(s)
	return r[len(r)-1]
}

// fold lowercases s and drops its diacritics, keeping byte offsets
// meaningful only within the folded text.
func fold(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		switch r {
		case '–', '—', '‑':
			r = '-'
		case '’', 'ʼ':
			r = '\''
		case 'ə':
			r = 'e'
		case 'ı':
			r = 'i'
		case 'ё':
			r = 'е'
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// words splits s into its words of letters.
func words(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) })
}

// stem is the first six letters of a capitalised word of at least six,
// folded and transliterated, or "".
func stem(w string) string {
	r := []rune(w)
	if len(r) < 6 || !unicode.IsUpper(r[0]) {
		return ""
	}
	f := []rune(fold(translit(w)))
	if len(f) < 6 {
		return ""
	}
	return string(f[:6])
}

var cyrillic = map[rune]string{'а': "a", 'б': "b", 'в': "v", 'г': "g", 'д': "d", 'е': "e", 'ё': "e", 'ж': "zh", 'з': "z", 'и': "i", 'й': "y",
	'к': "k", 'л': "l", 'м': "m", 'н': "n", 'о': "o", 'п': "p", 'р': "r", 'с': "s", 'т': "t", 'у': "u", 'ф': "f", 'х': "kh", 'ц': "ts",
	'ч': "ch", 'ш': "sh", 'щ': "shch", 'ъ': "", 'ы': "y", 'ь': "", 'э': "e", 'ю': "yu", 'я': "ya"}

// translit writes Cyrillic letters in Latin, as English-language news
// usually does (Ханкенди → Khankendi).
func translit(s string) string {
	var b strings.Builder
	for _, r := range s {
		lr := unicode.ToLower(r)
		if l, ok := cyrillic[lr]; ok {
			if lr != r && l != "" {
				l = strings.ToUpper(l[:1]) + l[1:]
			}
			b.WriteString(l)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
