package web

import (
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/number"

	"corridor"
	"corridor/report"
)

//go:embed i18n/*.json
var i18nFS embed.FS

// Languages lists the languages of the interface, the first the default.
var Languages = []string{"en", "fr", "ru", "hy", "az", "ar"}

var langMatcher = language.NewMatcher([]language.Tag{language.English, language.French, language.Russian, language.Armenian, language.Azerbaijani, language.Arabic})

// rightToLeft are the languages written from right to left.
var rightToLeft = map[string]bool{"ar": true, "he": true, "fa": true, "ur": true}

// Dir is the direction a language is written in: "rtl" or "ltr".
func Dir(lang string) string {
	if rightToLeft[lang] {
		return "rtl"
	}
	return "ltr"
}

// catalogues holds every language's messages, by key.
type catalogues map[string]map[string]string

func loadCatalogues() (catalogues, error) {
	c := catalogues{}
	for _, lang := range Languages {
		b, err := fs.ReadFile(i18nFS, "i18n/"+lang+".json")
		if err != nil {
			return nil, err
		}
		m := map[string]string{}
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("i18n/%s.json: %w", lang, err)
		}
		c[lang] = m
	}
	return c, nil
}

// missingKeys lists, for each language, the keys that another language
// has and it lacks, and the keys in want it lacks.
func (c catalogues) missingKeys(want []string) map[string][]string {
	all := map[string]bool{}
	for _, m := range c {
		for k := range m {
			all[k] = true
		}
	}
	for _, k := range want {
		all[k] = true
	}
	out := map[string][]string{}
	for _, lang := range Languages {
		for k := range all {
			if v, ok := c[lang][k]; !ok || strings.TrimSpace(v) == "" {
				out[lang] = append(out[lang], k)
			}
		}
		sort.Strings(out[lang])
	}
	return out
}

// Locale formats text, numbers and dates for one language.
type Locale struct {
	Tag    string
	digits rune // the language's zero digit, if not '0'

	msgs    map[string]string
	printer *message.Printer
	missing func(lang, key string)
}

func (c catalogues) locale(lang string, missing func(lang, key string)) *Locale {
	l := &Locale{Tag: lang, msgs: c[lang], printer: message.NewPrinter(language.Make(lang)), missing: missing}
	// The language's own digits (Arabic-Indic for ar), for the numbers
	// in dates and times, which are not grouped.
	if zero := []rune(l.printer.Sprint(number.Decimal(0))); len(zero) == 1 && zero[0] != '0' {
		l.digits = zero[0]
	}
	return l
}

// T returns the message for key with {0}, {1}… replaced by args. A
// missing key shows as ⟦key⟧ (and is logged), so that tests catch it.
func (l *Locale) T(key string, args ...any) string {
	m, ok := l.msgs[key]
	if !ok {
		if l.missing != nil {
			l.missing(l.Tag, key)
		}
		return "⟦" + key + "⟧"
	}
	if len(args) == 0 {
		return m
	}
	return fill(m, args)
}

// fill puts args[n] in place of each {n} of a message; a {n} without an
// argument stays as it is. (A strings.Replacer per call built a lookup
// table each time: a third of what a page allocated.)
func fill(m string, args []any) string {
	var b strings.Builder
	b.Grow(len(m) + 16*len(args))
	for {
		i := strings.IndexByte(m, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(m[i:], '}')
		if j < 0 {
			break
		}
		n, err := strconv.Atoi(m[i+1 : i+j])
		if err != nil || n < 0 || n >= len(args) {
			b.WriteString(m[:i+j+1])
		} else {
			b.WriteString(m[:i])
			b.WriteString(fmt.Sprint(args[n]))
		}
		m = m[i+j+1:]
	}
	b.WriteString(m)
	return b.String()
}

// TI is T for a message whose arguments are names (of parties, places,
// routes): each is isolated in a <bdi>, so that a name in another script
// or direction never runs into the words around it.
func (l *Locale) TI(key string, args ...any) template.HTML {
	iso := make([]any, len(args))
	for i, a := range args {
		iso[i] = "<bdi>" + template.HTMLEscapeString(fmt.Sprint(a)) + "</bdi>"
	}
	m, ok := l.msgs[key]
	if !ok {
		return template.HTML(template.HTMLEscapeString(l.T(key)))
	}
	return template.HTML(fill(template.HTMLEscapeString(m), iso))
}

// K is T for a key made of parts joined by dots, e.g. K "status" .Status.
func (l *Locale) K(parts ...string) string { return l.T(strings.Join(parts, ".")) }

// Num formats a number with at most frac decimals, grouped for the language.
func (l *Locale) Num(v any, frac int) string {
	return l.printer.Sprint(number.Decimal(v, number.MaxFractionDigits(frac)))
}

// Int formats a whole number, grouped for the language.
func (l *Locale) Int(v any) string { return l.Num(v, 0) }

// Pct formats a share (0.25 is 25 %) for the language.
func (l *Locale) Pct(share float64) string {
	frac := 0
	if share != 0 && share < 0.1 {
		frac = 1
	}
	return l.T("unit.percent", l.Num(share*100, frac))
}

// Tonnes formats kilograms as tonnes.
func (l *Locale) Tonnes(kg float64) string { return l.T("unit.tonnes", l.Num(kg/1000, 1)) }

// KB formats a size in bytes (a number, or its decimal text) in kilobytes.
func (l *Locale) KB(bytes any) string {
	var n float64
	switch v := bytes.(type) {
	case int64:
		n = float64(v)
	case string:
		n, _ = strconv.ParseFloat(v, 64)
	}
	frac := 0
	if n < 10_000 {
		frac = 1
	}
	return l.Num(n/1000, frac)
}

// Date formats a day "YYYY-MM-DD" for the language.
func (l *Locale) Date(d any) string {
	s := fmt.Sprint(d)
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return s
	}
	return l.T("date.pattern", l.local(strconv.Itoa(t.Day())), l.T("month."+strconv.Itoa(int(t.Month()))), l.local(strconv.Itoa(t.Year())))
}

// local writes the ASCII digits of s in the language's own.
func (l *Locale) local(s string) string {
	if l.digits == 0 {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return l.digits + (r - '0')
		}
		return r
	}, s)
}

// Month formats the month of a day "YYYY-MM-DD", e.g. "August 2023".
func (l *Locale) Month(d any) string {
	t, err := time.Parse(time.DateOnly, fmt.Sprint(d))
	if err != nil {
		return fmt.Sprint(d)
	}
	return l.T("date.month_pattern", l.T("monthname."+strconv.Itoa(int(t.Month()))), l.local(strconv.Itoa(t.Year())))
}

// Time formats an RFC 3339 time as recorded: its day, hour and offset.
func (l *Locale) Time(v any) string {
	var t time.Time
	switch x := v.(type) {
	case time.Time:
		t = x
	default:
		var err error
		if t, err = time.Parse(time.RFC3339, fmt.Sprint(v)); err != nil {
			return fmt.Sprint(v)
		}
	}
	return l.T("date.time_pattern", l.Date(t.Format(time.DateOnly)), l.local(t.Format("15:04")), l.local(t.Format("-07:00")))
}

// negotiate picks the language of a request: ?lang=, then the lang
// cookie, then Accept-Language.
func negotiate(r *http.Request) (lang string, fromQuery bool) {
	if q := r.URL.Query().Get("lang"); slices.Contains(Languages, q) {
		return q, true
	}
	if c, err := r.Cookie("lang"); err == nil && slices.Contains(Languages, c.Value) {
		return c.Value, false
	}
	tags, _, _ := language.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
	_, i, conf := langMatcher.Match(tags...)
	if conf == language.No {
		return Languages[0], false
	}
	return Languages[i], false
}

// dynamicKeys lists the catalogue keys built from domain values at run
// time (status words, categories, record types…): every catalogue must
// have them all.
func dynamicKeys() []string {
	var out []string
	add := func(prefix string, vals ...string) {
		for _, v := range vals {
			out = append(out, prefix+"."+v)
		}
	}
	for _, s := range []corridor.RouteStatus{corridor.Open, corridor.Restricted, corridor.Blocked, corridor.Unknown} {
		add("status", string(s))
	}
	add("traffic", corridor.TrafficKinds...)
	for _, c := range corridor.AccessCategories {
		add("category", c.Code)
	}
	add("sector", corridor.Sectors...)
	add("reason", corridor.ReasonCategories...)
	add("event", corridor.CheckpointEvents...)
	add("event", corridor.ConvoyMoves...)
	add("event", "filed", corridor.Approved, corridor.ApprovedWithConditions, corridor.Refused, corridor.Acknowledged, "confirmed")
	for _, s := range []corridor.ConvoyStatus{corridor.StatusFiled, corridor.StatusDeparted, corridor.StatusAtCheckpt, corridor.StatusHeld,
		corridor.StatusEnRoute, corridor.StatusRefused, corridor.StatusTurnedBack, corridor.StatusDelivered, corridor.StatusReturned, corridor.StatusCancelled} {
		add("convoy_status", string(s))
	}
	add("mode", corridor.Modes...)
	add("media", corridor.FileTypes...)
	add("reply_kind", corridor.ReplyKinds...)
	add("reply", corridor.ReplyKinds...)
	add("line_decision", corridor.LineDecisions...)
	add("flag", corridor.FlagNoAgreement, corridor.FlagOutOfOrder, corridor.FlagConfirmed)
	add("clearance", corridor.Approved, corridor.ApprovedWithConditions, corridor.Refused, corridor.Acknowledged, "notified", corridor.ClearancePending, corridor.ClearanceUnanswered)
	add("verification", corridor.VerificationStatuses...)
	add("verdict", corridor.Consistent, corridor.Contradicted, corridor.NoEvidence)
	for _, k := range corridor.AssertionKinds {
		add("assertion", k)
		add("verdict_reason."+k, corridor.Consistent, corridor.Contradicted, corridor.NoEvidence)
	}
	add("relation", corridor.Relations...)
	for _, t := range corridor.Types() {
		add("type", t.Name)
	}
	for _, k := range []corridor.PartyKind{corridor.Organisation, corridor.Authority, corridor.Monitor, corridor.Witness, corridor.Operator} {
		add("party_kind", string(k))
	}
	add("place_kind", corridor.PlaceKinds...)
	add("statement_kind", corridor.StatementKinds...)
	add("outcome", corridor.OutcomeDelivered, corridor.OutcomeHeld, corridor.OutcomeRefused)
	for _, c := range []corridor.Code{corridor.CodeInvalid, corridor.CodeUnknownType, corridor.CodeUnknownKey, corridor.CodeBadSignature,
		corridor.CodeForbidden, corridor.CodeConflict, corridor.CodeDuplicate, corridor.CodeNotFound} {
		add("error", string(c))
	}
	add("form", formNames...)
	add("form_intro", formNames...)
	for i := 1; i <= 12; i++ {
		add("month", strconv.Itoa(i))
		add("monthname", strconv.Itoa(i))
	}
	add("export", report.ExportKinds...)
	add("lang", Languages...)
	return out
}
