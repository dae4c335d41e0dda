package web

import (
	"net/url"
	"testing"
)

// FuzzFormBodies: every web form turns any body a browser (or anyone)
// posts into a payload or errors beside its fields, never a panic; the
// payload is then checked by the same rules as the API's.
func FuzzFormBodies(f *testing.F) {
	cat, err := loadCatalogues()
	if err != nil {
		f.Fatal(err)
	}
	L := cat.locale("en", func(string, string) {})
	for _, s := range []string{
		"id=c1&route=r&origin=a&destination=b&planned=2023-08-29&manifest[0].item=flour&manifest[0].quantity=1,5&manifest[0].kg=1%C2%A0500",
		"convoy=c&event=passed-less&at=2023-08-29T10:00&at_offset=%2B04:00&removed[0].line=0&removed[0].quantity=NaN",
		"assertion.kind=coverage-below&assertion.percent=1e999&period.from=2023-01-01",
		"at=2023-08-29T10:00:00&at_offset=Z07", "people_affected=-9223372036854775809",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		v, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		for _, d := range formDefs() {
			fd := &formData{Name: d.Name, Type: d.Type, Values: v, Errors: map[string]string{}, L: L, fields: d.Fields, rowOf: map[string][]int{}, signing: "party"}
			if p := d.build(fd, "party"); p != nil && len(fd.Errors) == 0 {
				_ = p.Validate()
			}
		}
	})
}
