package api

import (
	"errors"
	"net/http"
	"net/url"
	"testing"

	"corridor"
)

// FuzzQueryParams: any query string is read into a page, a period and an
// incident cursor, or refused with an error that names its field.
func FuzzQueryParams(f *testing.F) {
	for _, q := range []string{"after=10&limit=50", "limit=0", "after=-2", "from=2023-08-01&to=2023-07-01", "after=2023-08-29.41",
		"limit=1e3", "after=%00", "from=2023-02-30", "after=2023-08-29.-1&after=x"} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		r := &http.Request{URL: &url.URL{RawQuery: q.Encode()}}
		named := func(err error, fields ...string) {
			if err == nil {
				return
			}
			var e *corridor.Error
			if !errors.As(err, &e) || e.Code != corridor.CodeInvalid {
				t.Fatalf("query %q: %v is not an invalid-input error", raw, err)
			}
			for _, f := range fields {
				if e.Field == f {
					return
				}
			}
			t.Fatalf("query %q: error at %q, want one of %v", raw, e.Field, fields)
		}
		p, err := pageParams(r)
		named(err, "after", "limit")
		if err == nil && (p.Limit < 1 || p.Limit > 1000 || p.After < -1) {
			t.Fatalf("query %q: page %+v out of bounds", raw, p)
		}
		from, to, err := queryPeriod(r)
		named(err, "from", "to")
		if err == nil && from != "" && to != "" && to < from {
			t.Fatalf("query %q: period %s..%s ends before it starts", raw, from, to)
		}
		c, err := incidentCursor(r.URL.Query().Get("after"))
		named(err, "after")
		if err == nil && c.Index < 0 {
			t.Fatalf("query %q: cursor %+v", raw, c)
		}
	})
}
