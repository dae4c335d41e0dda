package intake

import (
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"corridor"
)

// lang holds the word lists and patterns of one language.
type lang struct {
	lang string
	// speech verbs, as a pattern; "that"-like conjunctions that start
	// reported speech.
	verbs, that *regexp.Regexp
	conj        *regexp.Regexp // the word that starts what was said ("that")
	// according to NP (the speaker follows).
	according *regexp.Regexp
	// pronouns that stand for the last speaker.
	pronouns []string
	// titles and other lower-case words a speaker's name may carry.
	titles map[string]bool
	// summons and protest notes.
	summons, note *regexp.Regexp
	// convoy nouns, and event verbs by kind.
	convoy *regexp.Regexp
	events []eventPattern
	// vehicles and tonnes.
	vehicles, tonnes *regexp.Regexp
	// assertions: blocked, open, below needs.
	blocked, open, below *regexp.Regexp
	items                map[string]string // item word -> sector
}

type eventPattern struct {
	kind string
	re   *regexp.Regexp
}

// re compiles a pattern without case, where \b is an edge of a word in
// any script (RE2's \b knows ASCII letters only, and would not end a word
// at é or я).
func re(s string) *regexp.Regexp {
	return regexp.MustCompile(`(?i)` + strings.ReplaceAll(s, `\b`, `(?:^|$|[^\p{L}\p{N}_])`))
}

var languages = map[string]*lang{
	"en": {
		lang:      "en",
		verbs:     re(`\b(?:has |have |had )?(said|says|stated|told|declared|noted|stressed|emphasi[sz]ed|announced|warned|urged|added|wrote|tweeted|claimed|insisted|accused|reported)\b`),
		conj:      re(`\bthat\b`),
		that:      re(`\b(?:said|stated|told|declared|noted|stressed|emphasi[sz]ed|announced|warned|added|wrote|claimed|insisted|reported)(?:\s+(?:\S+\s+){0,4}?that\s+|\s+)`),
		according: re(`\baccording to ((?:the )?\p{L}[\p{L}'’-]*(?:\s+(?:of\s+the\s+|of\s+|the\s+)?(?-i:\p{Lu})[\p{L}'’-]*)*)`),
		pronouns:  []string{"he", "she", "they", "it"},
		titles: set("minister", "deputy", "foreign", "prime", "president", "spokesperson", "spokesman", "spokeswoman", "ambassador", "mayor", "of", "the",
			"affairs", "head", "official", "officials", "member", "envoy", "representative", "assistant", "adviser", "advisor", "chief", "ministry", "government",
			"office", "authorities", "service", "guards", "border", "mission", "committee", "state", "national", "security", "vice", "special", "secretary", "general"),
		summons:  re(`\bsummon(?:ed|s)?\b`),
		note:     re(`\b(?:protest note|note of protest|diplomatic note|note verbale)\b`),
		convoy:   re(`\b(convoys?|trucks?|lorries|lorry|vehicles?|cargo|aid shipments?|aid|column)\b`),
		vehicles: re(countRE + `\s+(?:\pL+\s+){0,2}?(?:trucks|lorries|vehicles)\b`),
		tonnes:   re(`(\d[\d,.]*)\s*(?:metric\s+)?(?:tons|tonnes|t)\b`),
		events: []eventPattern{
			{corridor.EvRefused, re(`\b(refused|not allowed|did not allow|denied|turned (?:back|away)|barred|rejected|prohibited|banned)\b`)},
			{corridor.EvHeld, re(`\b(remains? (?:blocked|stranded|stuck)|stranded|stuck|blocked|waiting|held|halted|detained|stopped|cannot (?:enter|pass|proceed))\b`)},
			{corridor.EvPassed, re(`\b(passed through|passed (?:the |a )?(?:\pL+ ){0,3}checkpoint|crossed into|entered|were let through|was let through|were allowed (?:in|through|to pass|to enter)|was allowed (?:in|through|to pass|to enter))\b`)},
		},
		blocked: re(`\b(blockade|blocked|closed|shut|siege|blocking)\b`),
		open:    re(`\b(?:is|was|remains|are) open\b|\bno blockade\b|\bnot blocked\b|\bthere (?:is|was) no blockade\b`),
		below:   re(`\b(?:far |well )?(?:below|short of|insufficient for|not enough for) (?:the )?needs?\b`),
		items: map[string]string{"flour": "food", "sugar": "food", "oil": "food", "pasta": "food", "salt": "food", "milk": "food", "baby food": "food",
			"food": "food", "medicine": "health", "medicines": "health", "medical supplies": "health", "fuel": "energy", "hygiene": "wash"},
	},
	"fr": {
		lang:      "fr",
		verbs:     re(`\b(a déclaré|a-t-(?:il|elle) déclaré|ont déclaré|a indiqué|ont indiqué|a affirmé|ont affirmé|a souligné|a dit|a annoncé|a écrit|a tweeté|tweetait|déclarait|a accusé|affirment|accusent|a assuré|a estimé|a qualifié|a averti|a rapporté)\b`),
		conj:      re(`\b(?:que|qu['’])`),
		that:      re(`\b(?:a déclaré|a indiqué|a affirmé|a souligné|a dit|a annoncé|a écrit|a assuré|a estimé|affirment|ont indiqué|ont déclaré)\s+(?:qu['’]|que\s+)?`),
		according: re(`\bselon ((?:le |la |les |l['’])?\p{L}[\p{L}'’-]*(?:\s+(?:de\s+la\s+|des\s+|du\s+|de\s+|d['’])?(?-i:\p{Lu})[\p{L}'’-]*)*)`),
		pronouns:  []string{"il", "elle", "ils", "elles"},
		titles: set("ministre", "vice-ministre", "premier", "président", "présidente", "porte-parole", "ambassadeur", "maire", "la", "le", "de", "des", "du",
			"affaires", "étrangères", "chef", "responsable", "gouvernement", "ministère", "autorités", "gardes-frontières", "service", "d'état", "conseiller", "arménien", "azerbaïdjanais"),
		summons:  re(`\bconvoqu(?:é|ée|és|e)\b`),
		note:     re(`\bnote (?:de protestation|verbale|diplomatique)\b`),
		convoy:   re(`\b(convois?|camions?|poids lourds|véhicules?|cargaisons?|fret|aide humanitaire)\b`),
		vehicles: re(countRE + `\s+(?:\pL+\s+){0,2}?(?:camions|poids lourds|véhicules)\b`),
		tonnes:   re(`(\d[\d\x{a0}\x{202f} ,.]*)\s*(?:tonnes|t)\b`),
		events: []eventPattern{
			{corridor.EvRefused, re(`\b(a refusé|ont refusé|refuse|n['’]a pas autorisé|ne donne pas l['’]autorisation|interdit|refoulés?|empêché)\b`)},
			{corridor.EvHeld, re(`\b(bloqués?|bloquées?|immobilisés?|toujours bloqués|attend(?:ent)?|restent|coincés?|arrêtés?)\b`)},
			{corridor.EvPassed, re(`\b(sont entrés|est entré|(?:a|ont) passé (?:le |un )?(?:\pL+ ){0,3}(?:poste|point de contrôle)|ont franchi|a pu passer|ont pu passer|ont été autorisés à passer)\b`)},
		},
		blocked: re(`\b(bloqué|bloquée|blocus|fermé|fermée|bloquant|assiégés?)\b`),
		open:    re(`\b(?:est|était|reste) ouvert\b|\bpas de blocus\b|\baucun blocus\b`),
		below:   re(`\b(?:bien )?(?:en deçà|loin) des besoins\b|\binsuffisante?s? (?:pour|au regard des) besoins\b`),
		items: map[string]string{"farine": "food", "sucre": "food", "huile": "food", "pâtes": "food", "sel": "food", "lait": "food", "nourriture pour bébé": "food",
			"vivres": "food", "médicaments": "health", "carburant": "energy", "pétrole": "energy"},
	},
	"ru": {
		lang:      "ru",
		verbs:     re(`(?:^|[^\p{L}])(заявил[аи]?|сказал[аи]?|отметил[аи]?|подчеркнул[аи]?|сообщил[аи]?|написал[аи]?|указал[аи]?|добавил[аи]?|назвал[аи]?|обвинил[аи]?|заявляет|сообщает|сообщают|отмечает|пишет|передает|передаёт|уточняет|говорится)(?:[^\p{L}]|$)`),
		conj:      re(`(?:^|[^\p{L}])что(?:[^\p{L}]|$)`),
		that:      re(`(?:заявил[аи]?|сказал[аи]?|отметил[аи]?|подчеркнул[аи]?|сообщил[аи]?|указал[аи]?|добавил[аи]?),?\s+(?:что\s+)?`),
		according: re(`по (?:его|её|их) словам|по словам ([А-ЯЁ][\p{L}-]*(?:\s+[А-ЯЁ]?[\p{L}-]*){0,4})`),
		pronouns:  []string{"он", "она", "они"},
		titles: set("министр", "замглавы", "заместитель", "главы", "глава", "мид", "президент", "президента", "помощник", "премьер-министр", "посол", "мэр",
			"официальный", "представитель", "пресс-секретарь", "власти", "правительство", "армении", "азербайджана", "дипломат",
			"сторона", "министерство", "ведомство", "пресс-служба", "агентство", "пограничная", "служба", "иностранных", "дел"),
		summons:  re(`вызван[аоы]?|вызвал[аи]?\s+посла`),
		note:     re(`нот[ауы] протеста|протестн[ауы]ю ноту`),
		convoy:   re(`(?:^|[^\p{L}])(конво[йяюе]\p{L}*|колонн\p{L}*|автоколонн\p{L}*|грузовик\p{L}*|фур\p{L}*|машин\p{L}*|груз\p{L}*|гумпомощ\p{L}*|гуманитарн\p{L}* помощ\p{L}*)`),
		vehicles: re(countRE + `\s+(?:\p{L}+\s+){0,2}?(?:грузовик\p{L}*|фур\p{L}*|машин\p{L}*|транспортных средств)`),
		tonnes:   re(`(\d[\d\x{a0}\x{202f} ,.]*)\s*(?:тонн\p{L}*|т\.)`),
		events: []eventPattern{
			{corridor.EvRefused, re(`не (?:пропусти\p{L}*|разреши\p{L}*|мо(?:жет|гут) (?:въехать|проехать|пройти|пересечь)|позволил\p{L}*)|запрети\p{L}*|отказ\p{L}*|развернул\p{L}*`)},
			{corridor.EvHeld, re(`заблокирован\p{L}*|задержан\p{L}*|стоят|стоит|ожидает|ждет|ждёт|застрял\p{L}*|остановлен\p{L}*`)},
			{corridor.EvPassed, re(`проехал\p{L}*|въехал\p{L}*|доставлен\p{L}*|пропущен\p{L}*`)},
		},
		blocked: re(`заблокирован\p{L}*|перекрыт\p{L}*|закрыт\p{L}*|блокад\p{L}*|блокирован\p{L}*`),
		open:    re(`никакой блокады не было|блокады нет|открыт(?:а|о|)?(?:[^\p{L}]|$)`),
		below:   re(`(?:намного |значительно )?ниже потребност\p{L}*|недостаточн\p{L}* для потребност\p{L}*`),
		items: map[string]string{"мука": "food", "муки": "food", "сахар": "food", "масло": "food", "макарон": "food", "соль": "food", "молоко": "food",
			"продукт": "food", "продовольств": "food", "лекарств": "health", "медикамент": "health", "топлив": "energy"},
	},
}

func set(ws ...string) map[string]bool {
	m := map[string]bool{}
	for _, w := range ws {
		m[w] = true
	}
	return m
}

func lexicon(code string) *lang { return languages[code] }

// speech is a statement found in a sentence.
type speech struct {
	kind            string // statement, summons, diplomatic-note
	name, party     string
	affiliation     string // an apposition to the name ("an aide to the President")
	quote, reported string
	pronoun         bool
	conf            float64
	// saidEnd is where the words that say who spoke and when end, in
	// characters of the sentence: at "that" after the speech verb, or the
	// sentence's end; -1 if there is no verb ("according to", a summons).
	saidEnd int
}

var quoteRE = regexp.MustCompile(`«\s*([^»]{12,}?)\s*»|“([^”]{12,}?)”|"([^"]{12,}?)"`)

// speech finds who said what in a sentence: a speech verb with its
// speaker before it ("Pashinyan said"), after it (", said Pashinyan",
// "a-t-elle déclaré"), or after "according to"; the words in quotes, or
// the clause after the verb as reported speech.
func (lx *lang) speech(s string, g *Gazetteer) *speech {
	kind := "statement"
	switch {
	case lx.summons.MatchString(s):
		kind = "summons"
	case lx.note.MatchString(s):
		kind = "diplomatic-note"
	}
	loc := lx.verbs.FindStringSubmatchIndex(s)
	acc := lx.according.FindStringSubmatchIndex(s)
	if loc == nil && acc == nil && kind == "statement" {
		return nil
	}
	sp := &speech{kind: kind, conf: 0.6, saidEnd: -1}
	switch {
	case acc != nil && acc[2] >= 0:
		sp.name = strings.TrimSpace(s[acc[2]:acc[3]])
		sp.conf = 0.65
	case acc != nil:
		sp.pronoun = true // "по его словам": the last speaker
	case loc != nil:
		v0, v1 := loc[2], loc[3]
		sp.saidEnd = utf8.RuneCountInString(s)
		if c := lx.conj.FindStringIndex(s[v1:]); c != nil {
			sp.saidEnd = utf8.RuneCountInString(s[:v1+c[0]])
		}
		sp.name, sp.affiliation = lx.apposition(s[:v0])
		if left := strings.TrimSpace(s[:v0]); sp.name == "" && (strings.HasSuffix(left, ",") || strings.HasSuffix(left, "—")) {
			// Inverted, after what was said: ", заявил в четверг
			// премьер-министр Никол Пашинян", ", said Vardan Sargsyan".
			sp.name = lx.nameAfter(lx.skipWhen(s[v1:]))
		}
		if sp.name == "" {
			sp.name = lx.nameBefore(s[:v0])
		}
		if sp.name == "" {
			// "Vardan Sargsyan, a member of the working group, said":
			// the name stands before the apposition.
			if left := strings.TrimSpace(s[:v0]); strings.HasSuffix(left, ",") {
				if i := strings.LastIndex(left[:len(left)-1], ","); i > 0 {
					sp.name = lx.nameBefore(left[:i])
				}
			}
		}
		if sp.name == "" {
			sp.name = lx.nameAfter(s[v1:])
		}
		if sp.name == "" {
			sp.pronoun = lx.pronounNear(s[:v0], s[v1:]) || strings.Contains(s[v0:v1], "-t-")
		}
		if sp.name != "" {
			sp.conf = 0.75
		}
	}
	if sp.name == "" && !sp.pronoun {
		if kind == "statement" {
			return nil
		}
		sp.name = lx.subject(s) // "Armenia summoned the ambassador"
		if sp.name == "" {
			return nil
		}
	}
	if m := quoteRE.FindStringSubmatch(s); m != nil {
		sp.quote = strings.TrimSpace(m[1] + m[2] + m[3])
		sp.conf += 0.1
	} else {
		sp.reported = lx.reportedSpeech(s)
	}
	sp.party = g.Party(sp.name)
	return sp
}

// apposition reads "Hikmet Hajiyev, an aide to the President of
// Azerbaijan, said": a name, then between commas a description that
// starts in lower case. It returns the name and the description, or "".
func (lx *lang) apposition(left string) (name, affiliation string) {
	left = strings.TrimSpace(left)
	if !strings.HasSuffix(left, ",") {
		return "", ""
	}
	i := strings.LastIndex(left[:len(left)-1], ",")
	if i <= 0 {
		return "", ""
	}
	app := strings.TrimSpace(left[i+1 : len(left)-1])
	if first := firstWords(app, 1); first == "" || isCapital(first) || len(strings.Fields(app)) < 2 {
		return "", ""
	}
	if name = lx.nameBefore(left[:i]); name == "" {
		return "", ""
	}
	return name, app
}

// nameBefore is the speaker named just before a speech verb: a run of
// capitalised words and the titles among them, ending at the verb.
func (lx *lang) nameBefore(left string) string {
	ws := strings.Fields(left)
	var name []string
	for i := len(ws) - 1; i >= 0 && len(name) < 9; i-- {
		w := strings.Trim(ws[i], ",;:()«»“”\"")
		if w == "" {
			break
		}
		if strings.HasSuffix(ws[i], ",") && len(name) > 0 {
			break
		}
		lw := strings.ToLower(w)
		if slices.Contains(lx.pronouns, lw) {
			break
		}
		if isCapital(w) || lx.titles[lw] || (len(name) > 0 && (lw == "of" || lw == "de" || lw == "des" || lw == "du")) {
			name = append([]string{w}, name...)
			continue
		}
		break
	}
	for len(name) > 0 && lx.titles[strings.ToLower(name[0])] && !isCapital(name[0]) {
		name = name[1:]
	}
	for len(name) > 0 && (name[len(name)-1] == "of" || name[len(name)-1] == "de") {
		name = name[:len(name)-1]
	}
	if len(name) == 0 || !slices.ContainsFunc(name, isCapital) {
		return ""
	}
	if lx.lang == "ru" && len(name) == 1 && !isCapital(name[0]) {
		return ""
	}
	return strings.Join(name, " ")
}

// skipWhen drops the lower-case words (at most three: "в четверг",
// "on Thursday", "mardi") between a speech verb and the speaker named
// after it, unless what follows is what was said ("that").
func (lx *lang) skipWhen(right string) string {
	ws := strings.Fields(right)
	for i := 0; i < len(ws) && i < 3; i++ {
		w := strings.Trim(ws[i], ",;:")
		if isCapital(w) || lx.titles[strings.ToLower(w)] {
			return strings.Join(ws[i:], " ")
		}
		if lx.conj.MatchString(w) {
			return right
		}
	}
	return right
}

// nameAfter is the speaker named just after the verb (", said Vardan
// Sargsyan, a member of…", "сообщил помощник президента Хикмет Гаджиев").
func (lx *lang) nameAfter(right string) string {
	ws := strings.Fields(right)
	var name []string
	for _, raw := range ws {
		w := strings.Trim(raw, ",;:.()«»“”\"")
		lw := strings.ToLower(w)
		if w == "" || !(isCapital(w) || lx.titles[lw]) {
			break
		}
		name = append(name, w)
		if strings.HasSuffix(raw, ",") || strings.HasSuffix(raw, ".") || len(name) == 8 {
			break
		}
	}
	if len(name) == 0 || !slices.ContainsFunc(name, isCapital) {
		return ""
	}
	return strings.Join(name, " ")
}

func (lx *lang) pronounNear(left, right string) bool {
	for _, part := range []string{lastWords(left, 2), firstWords(right, 2)} {
		for _, w := range strings.Fields(strings.ToLower(part)) {
			w = strings.Trim(w, ",;:-")
			if slices.Contains(lx.pronouns, w) || strings.HasSuffix(w, "-il") || strings.HasSuffix(w, "-elle") {
				return true
			}
		}
	}
	return strings.Contains(left, "-t-il") || strings.Contains(left, "-t-elle")
}

// subject is the capitalised words (and titles) a sentence starts with,
// an apposition between commas included ("La maire de Paris, Anne
// Hidalgo, a accompagné").
func (lx *lang) subject(s string) string {
	var name []string
	for _, w := range strings.Fields(s) {
		w = strings.Trim(w, ",;:«»“”\"")
		if !isCapital(w) && !lx.titles[strings.ToLower(w)] {
			break
		}
		name = append(name, w)
	}
	if len(name) == 0 || !slices.ContainsFunc(name, isCapital) {
		return ""
	}
	return strings.Join(name, " ")
}

// actor is who a sentence says acted: the words before its event verb,
// unless the convoy is what stands there (a passive: "the trucks were
// halted" names no one who halted them).
func (lx *lang) actor(s string) string {
	for _, p := range lx.events {
		if loc := p.re.FindStringIndex(s); loc != nil {
			left := s[:loc[0]]
			if lx.convoy.MatchString(left) {
				return ""
			}
			return left
		}
	}
	return ""
}

func (lx *lang) reportedSpeech(s string) string {
	if loc := lx.that.FindStringIndex(s); loc != nil && loc[1] < len(s) {
		r := strings.TrimSpace(strings.TrimRight(s[loc[1]:], "."))
		if len([]rune(r)) >= 12 {
			return r
		}
	}
	return strings.TrimSpace(s)
}

func isCapital(w string) bool {
	for _, r := range w {
		return unicode.IsUpper(r)
	}
	return false
}

func lastWords(s string, n int) string {
	ws := strings.Fields(s)
	return strings.Join(ws[max(0, len(ws)-n):], " ")
}

func firstWords(s string, n int) string {
	ws := strings.Fields(s)
	return strings.Join(ws[:min(n, len(ws))], " ")
}

// event is what a sentence says happened to a convoy.
type event struct {
	kind     string
	vehicles int
	tonnes   float64
	items    []string
}

// event finds a convoy and what happened to it in a sentence: the first
// event pattern that matches (refused before held before passed), the
// number of vehicles and tonnes, and the items named.
func (lx *lang) event(s, prev string) *event {
	// "Bakou a refusé de les laisser passer": the convoy may be named in
	// the sentence before.
	if !lx.convoy.MatchString(s) && (prev == "" || !lx.convoy.MatchString(prev)) {
		return nil
	}
	var ev *event
	for _, p := range lx.events {
		if p.re.MatchString(s) {
			ev = &event{kind: p.kind}
			break
		}
	}
	if ev == nil {
		return nil
	}
	if m := lx.vehicles.FindStringSubmatch(s); m != nil {
		ev.vehicles = int(number(m[1]))
	}
	if m := lx.tonnes.FindStringSubmatch(s); m != nil {
		ev.tonnes = number(strings.TrimRight(m[1], ",. "))
	}
	low := strings.ToLower(s)
	for w := range lx.items {
		if strings.Contains(low, w) {
			ev.items = append(ev.items, w)
		}
	}
	slices.Sort(ev.items)
	return ev
}

// sectors are the sectors of the items an event names.
func sectors(items []string) []string {
	var out []string
	for _, it := range items {
		for _, lx := range languages {
			if s, ok := lx.items[it]; ok {
				out = appendNew(out, s)
				break
			}
		}
	}
	slices.Sort(out)
	return out
}

// assertion is what a statement asserts about a route it names: open,
// blocked (to cargo), or aid below the needs of a place.
func (lx *lang) assertion(s string, names []Match) map[string]any {
	route, place := "", ""
	for _, m := range names {
		if m.Kind == KindRoute && route == "" {
			route = m.ID
		}
		if m.Kind == KindPlace && place == "" {
			place = m.ID
		}
	}
	switch {
	case route != "" && lx.open.MatchString(s):
		return map[string]any{"kind": corridor.AssertOpen, "route": route, "traffic": corridor.Cargo}
	case route != "" && lx.blocked.MatchString(s):
		return map[string]any{"kind": corridor.AssertBlocked, "route": route, "traffic": corridor.Cargo}
	case place != "" && lx.below.MatchString(s):
		return map[string]any{"kind": corridor.AssertCoverageBelow, "place": place, "percent": 100}
	}
	return nil
}
