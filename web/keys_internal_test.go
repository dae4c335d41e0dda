package web

import (
	"io/fs"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// usedKeys lists the catalogue keys named literally in the templates and
// in the Go code of the package.
func usedKeys(t *testing.T) []string {
	t.Helper()
	set := map[string]bool{}
	tpl := regexp.MustCompile(`\.T "([a-z0-9_.-]+)"`)
	err := fs.WalkDir(templateFS, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(templateFS, p)
		for _, m := range tpl.FindAllStringSubmatch(string(b), -1) {
			set[m[1]] = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	code := regexp.MustCompile(`\.T\("([a-z0-9_.-]+)"`)
	files, _ := os.ReadDir(".")
	for _, f := range files {
		if !strings.HasSuffix(f.Name(), ".go") || strings.HasSuffix(f.Name(), "_test.go") {
			continue
		}
		b, err := os.ReadFile(f.Name())
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range code.FindAllStringSubmatch(string(b), -1) {
			if !strings.HasSuffix(m[1], ".") { // a prefix joined at run time: see dynamicKeys
				set[m[1]] = true
			}
		}
	}
	var out []string
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestCataloguesComplete fails on a key missing from any catalogue: every
// key another catalogue has, every key the templates and code name, and
// every key built from domain values.
func TestCataloguesComplete(t *testing.T) {
	c, err := loadCatalogues()
	if err != nil {
		t.Fatal(err)
	}
	used := usedKeys(t)
	if len(used) < 100 {
		t.Fatalf("found only %d keys in the templates and code: the scan is broken", len(used))
	}
	want := append(used, dynamicKeys()...)
	for lang, missing := range c.missingKeys(want) {
		if len(missing) > 0 {
			t.Errorf("catalogue %s lacks %d keys: %s", lang, len(missing), strings.Join(missing, ", "))
		}
	}
	// Placeholders must agree across languages.
	ph := regexp.MustCompile(`\{\d\}`)
	for k, en := range c["en"] {
		want := ph.FindAllString(en, -1)
		sort.Strings(want)
		for _, lang := range Languages[1:] {
			got := ph.FindAllString(c[lang][k], -1)
			sort.Strings(got)
			if strings.Join(got, "") != strings.Join(uniq(want), "") && strings.Join(uniq(got), "") != strings.Join(uniq(want), "") {
				t.Errorf("%s %q: placeholders %v, English has %v", lang, k, got, want)
			}
		}
	}
}

func uniq(s []string) []string {
	var out []string
	for i, x := range s {
		if i == 0 || s[i-1] != x {
			out = append(out, x)
		}
	}
	return out
}

// TestMissingKeyShows makes a missing key visible rather than blank.
func TestMissingKeyShows(t *testing.T) {
	c, err := loadCatalogues()
	if err != nil {
		t.Fatal(err)
	}
	var noted []string
	l := c.locale("fr", func(lang, key string) { noted = append(noted, lang+":"+key) })
	if got := l.T("no.such.key"); got != "⟦no.such.key⟧" || len(noted) != 1 {
		t.Errorf("missing key shows %q, noted %v", got, noted)
	}
}

func TestFormatting(t *testing.T) {
	c, err := loadCatalogues()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		lang, date, num, tonnes string
	}{
		{"en", "30 Aug 2023", "120,000", "40 t"},
		{"fr", "30 août 2023", "120\u00a0000", "40 t"},
		{"ru", "30 августа 2023", "120\u00a0000", "40 т"},
	} {
		l := c.locale(tc.lang, nil)
		if got := l.Date("2023-08-30"); got != tc.date {
			t.Errorf("%s date: %q, want %q", tc.lang, got, tc.date)
		}
		if got := l.Int(120000); got != tc.num {
			t.Errorf("%s number: %q, want %q", tc.lang, got, tc.num)
		}
		if got := l.Tonnes(40000); got != tc.tonnes {
			t.Errorf("%s tonnes: %q, want %q", tc.lang, got, tc.tonnes)
		}
	}
}

// TestFill: each {n} takes its argument, wherever and however often it
// stands; braces that name no argument are left as written.
func TestFill(t *testing.T) {
	for _, c := range []struct {
		msg  string
		args []any
		want string
	}{
		{"{0} t delivered to {1}, {2}", []any{38, "Khankendi", "5 Sep"}, "38 t delivered to Khankendi, 5 Sep"},
		{"{1} before {0}, {1} again", []any{"a", "b"}, "b before a, b again"},
		{"{0} of {3}", []any{"x"}, "x of {3}"},
		{"set {a} and {0", []any{"x"}, "set {a} and {0"},
		{"{}{0}{-1}", []any{"x"}, "{}x{-1}"},
	} {
		if got := fill(c.msg, c.args); got != c.want {
			t.Errorf("fill(%q, %v) = %q, want %q", c.msg, c.args, got, c.want)
		}
	}
}
