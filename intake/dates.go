package intake

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// DateMention is a day a text names, resolved against its publication.
type DateMention struct {
	Text  string `json:"text"`
	Start int    `json:"start"` // character offsets in the text
	End   int    `json:"end"`
	Date  string `json:"date"` // YYYY-MM-DD
	// Since marks a day that starts a period ("since 12 December").
	Since bool `json:"since,omitempty"`
}

var monthNames = map[string]time.Month{}

func init() {
	for i, names := range [][]string{
		{"january", "jan", "janvier", "января", "январь", "январе"},
		{"february", "feb", "fevrier", "février", "февраля", "февраль", "феврале"},
		{"march", "mar", "mars", "марта", "март", "марте"},
		{"april", "apr", "avril", "апреля", "апрель", "апреле"},
		{"may", "mai", "мая", "май", "мае"},
		{"june", "jun", "juin", "июня", "июнь", "июне"},
		{"july", "jul", "juillet", "июля", "июль", "июле"},
		{"august", "aug", "aout", "août", "августа", "август", "августе"},
		{"september", "sep", "sept", "septembre", "сентября", "сентябрь", "сентябре"},
		{"october", "oct", "octobre", "октября", "октябрь", "октябре"},
		{"november", "nov", "novembre", "ноября", "ноябрь", "ноябре"},
		{"december", "dec", "decembre", "décembre", "декабря", "декабрь", "декабре"},
	} {
		for _, n := range names {
			monthNames[n] = time.Month(i + 1)
		}
	}
}

var weekdays = map[string]time.Weekday{
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday, "thursday": time.Thursday,
	"friday": time.Friday, "saturday": time.Saturday,
	"dimanche": time.Sunday, "lundi": time.Monday, "mardi": time.Tuesday, "mercredi": time.Wednesday, "jeudi": time.Thursday,
	"vendredi": time.Friday, "samedi": time.Saturday,
	"воскресенье": time.Sunday, "понедельник": time.Monday, "вторник": time.Tuesday, "среду": time.Wednesday, "среда": time.Wednesday,
	"четверг": time.Thursday, "пятницу": time.Friday, "пятница": time.Friday, "субботу": time.Saturday, "суббота": time.Saturday,
}

const monthRE = `(january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec|` +
	`janvier|février|fevrier|mars|avril|mai|juin|juillet|août|aout|septembre|octobre|novembre|décembre|decembre|` +
	`января|февраля|марта|апреля|мая|июня|июля|августа|сентября|октября|ноября|декабря|` +
	`январе|феврале|марте|апреле|мае|июне|июле|августе|сентябре|октябре|ноябре|декабре|январь|февраль|март|апрель|май|июнь|июль|август|сентябрь|октябрь|ноябрь|декабрь)`

// dre compiles a date pattern that stands as whole words in any script;
// its group 1 is the whole mention, the pattern's own groups follow.
func dre(inner string) *regexp.Regexp {
	return regexp.MustCompile(`(?i)(?:^|[^\p{L}\p{N}])(` + inner + `)(?:$|[^\p{L}\p{N}])`)
}

var (
	// "since"/"depuis"/"с" before a date makes it the start of a period.
	sinceRE = `(?:(since|depuis(?: le)?|с|со)\s+)?`
	// 5 August 2023, 1er août, 5 августа 2023 года
	dayMonthRE = dre(sinceRE + `(\d{1,2})(?:er|st|nd|rd|th)?\s+` + monthRE + `\.?(?:,?\s+(\d{4}))?`)
	// August 5, 2023; Aug. 5
	monthDayRE = dre(sinceRE + monthRE + `\.?\s+(\d{1,2})(?:st|nd|rd|th)?(?:,?\s+(\d{4}))?`)
	// since December, depuis décembre, с декабря, in July
	monthOnlyRE = dre(`(since|depuis|с|in|en|в)\s+` + monthRE + `(?:\s+(\d{4}))?`)
	isoRE       = dre(`(\d{4})-(\d{2})-(\d{2})`)
	weekdayRE   = dre(`(sunday|monday|tuesday|wednesday|thursday|friday|saturday|dimanche|lundi|mardi|mercredi|jeudi|vendredi|samedi|воскресенье|понедельник|вторник|среду|четверг|пятницу|субботу)`)
	relativeRE  = dre(`(yesterday|today|this morning|earlier this week|last week|hier|aujourd'hui|ce matin|cette semaine|вчера|сегодня|на этой неделе)`)
)

// Dates finds the days text names, resolved against published: a day
// and month without a year is in the year of publication unless that
// would put it more than a week after it (then the year before); a
// weekday is the last such day on or before publication; "yesterday",
// "hier", "вчера" the day before; "since December" the first of that
// month.
func Dates(text string, published time.Time) []DateMention {
	folded := text
	var out []DateMention
	taken := make([]bool, len(folded))
	add := func(i, j int, d time.Time, since bool) {
		for k := i; k < j; k++ {
			if taken[k] {
				return
			}
		}
		for k := i; k < j; k++ {
			taken[k] = true
		}
		out = append(out, DateMention{Text: text[i:j], Start: runeIndex(text, i), End: runeIndex(text, j), Date: d.Format(time.DateOnly), Since: since})
	}
	year := func(s string, m time.Month, day int) time.Time {
		if y, err := strconv.Atoi(s); err == nil && y > 1900 {
			return time.Date(y, m, day, 0, 0, 0, 0, time.UTC)
		}
		t := time.Date(published.Year(), m, day, 0, 0, 0, 0, time.UTC)
		if t.After(published.AddDate(0, 0, 7)) {
			t = t.AddDate(-1, 0, 0)
		}
		return t
	}
	for _, m := range isoRE.FindAllStringSubmatchIndex(folded, -1) {
		if t, err := time.Parse(time.DateOnly, folded[m[2]:m[3]]); err == nil {
			add(m[2], m[3], t, false)
		}
	}
	// Day and month in either order: dg and mg are the groups of each.
	for _, p := range []struct {
		re     *regexp.Regexp
		dg, mg int
	}{{dayMonthRE, 6, 8}, {monthDayRE, 8, 6}} {
		for _, m := range p.re.FindAllStringSubmatchIndex(folded, -1) {
			day, _ := strconv.Atoi(folded[m[p.dg]:m[p.dg+1]])
			mon := monthNames[strings.ToLower(folded[m[p.mg]:m[p.mg+1]])]
			y := ""
			if m[10] >= 0 {
				y = folded[m[10]:m[11]]
			}
			if day >= 1 && day <= 31 && mon != 0 {
				add(m[2], m[3], year(y, mon, day), m[4] >= 0)
			}
		}
	}
	for _, m := range monthOnlyRE.FindAllStringSubmatchIndex(folded, -1) {
		word := strings.ToLower(folded[m[4]:m[5]])
		since := word == "since" || word == "depuis" || word == "с"
		mon := monthNames[strings.ToLower(folded[m[6]:m[7]])]
		y := ""
		if m[8] >= 0 {
			y = folded[m[8]:m[9]]
		}
		if mon != 0 {
			add(m[2], m[3], year(y, mon, 1), since)
		}
	}
	for _, m := range weekdayRE.FindAllStringSubmatchIndex(folded, -1) {
		wd := weekdays[strings.ToLower(folded[m[4]:m[5]])]
		d := published
		for d.Weekday() != wd {
			d = d.AddDate(0, 0, -1)
		}
		add(m[4], m[5], d, false)
	}
	for _, m := range relativeRE.FindAllStringSubmatchIndex(folded, -1) {
		d := published
		switch strings.ToLower(folded[m[4]:m[5]]) {
		case "yesterday", "hier", "вчера":
			d = d.AddDate(0, 0, -1)
		case "earlier this week", "cette semaine", "на этой неделе":
			for d.Weekday() != time.Monday {
				d = d.AddDate(0, 0, -1)
			}
			add(m[4], m[5], d, true)
			continue
		case "last week":
			d = d.AddDate(0, 0, -7)
			for d.Weekday() != time.Monday {
				d = d.AddDate(0, 0, -1)
			}
			add(m[4], m[5], d, true)
			continue
		}
		add(m[4], m[5], d, false)
	}
	sortMentions(out)
	return out
}

func sortMentions(ms []DateMention) {
	for i := 1; i < len(ms); i++ {
		for j := i; j > 0 && ms[j].Start < ms[j-1].Start; j-- {
			ms[j], ms[j-1] = ms[j-1], ms[j]
		}
	}
}

// runeIndex is the character offset of byte offset i of s.
func runeIndex(s string, i int) int { return len([]rune(s[:i])) }
