package intake

import (
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzRead feeds intake any text: it proposes drafts or says it found
// nothing, never panics, and every draft's source is the very sentence at
// its offsets; every date is the words at its offsets.
func FuzzRead(f *testing.F) {
	f.Add("Deputy Foreign Minister Vahan Kostanyan said on Thursday that the Lachin corridor remains blocked. Nineteen trucks are stuck.")
	f.Add("« Le convoi attend », a-t-elle déclaré le 30 août. Les dix-neuf camions sont bloqués.")
	f.Add("По его словам, 26 июля грузовики стоят на въезде в Лачинский коридор.")
	f.Add("since December 12, 2022 ... «»“”\"\n\n. . !")
	g := referenceGazetteer(f)
	pub := time.Date(2023, 8, 31, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, text string) {
		res, err := Read(text, pub, g)
		if err != nil && err != ErrNothing {
			return
		}
		rs := []rune(text)
		for _, d := range res.Drafts {
			s := d.Source
			if s.Start < 0 || s.End > len(rs) || s.Start > s.End || string(rs[s.Start:s.End]) != s.Sentence {
				t.Fatalf("draft %s: source %q at %d–%d is not the text there", d.Type, s.Sentence, s.Start, s.End)
			}
			if d.Confidence < 0 || d.Confidence > 1 {
				t.Fatalf("confidence %v", d.Confidence)
			}
		}
		for _, m := range res.Dates {
			if m.Start < 0 || m.End > len(rs) || string(rs[m.Start:m.End]) != m.Text || !utf8.ValidString(m.Text) {
				t.Fatalf("date %q at %d–%d is not the text there", m.Text, m.Start, m.End)
			}
			if _, err := time.Parse(time.DateOnly, m.Date); err != nil {
				t.Fatalf("date %q resolved to %q", m.Text, m.Date)
			}
		}
	})
}

// TestRelativeDates: days named without a year or by the week are read
// against the publication day.
func TestRelativeDates(t *testing.T) {
	pub := time.Date(2023, 1, 5, 0, 0, 0, 0, time.UTC) // a Thursday
	for _, c := range []struct{ text, want string }{
		{"on Tuesday", "2023-01-03"},
		{"on Thursday", "2023-01-05"},
		{"yesterday", "2023-01-04"},
		{"hier", "2023-01-04"},
		{"вчера", "2023-01-04"},
		{"since December", "2022-12-01"},     // no year: the December before
		{"on 28 December", "2022-12-28"},     // after publication by more than a week: the year before
		{"le 3 janvier", "2023-01-03"},       // French, the year of publication
		{"3 января 2021 года", "2021-01-03"}, // a year given is kept
		{"earlier this week", "2023-01-02"},
	} {
		ds := Dates(c.text, pub)
		if len(ds) != 1 || ds[0].Date != c.want {
			t.Errorf("%q: %+v, want %s", c.text, ds, c.want)
		}
	}
}
