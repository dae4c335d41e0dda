package record_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"corridor/record"
)

// FuzzCanonical: the canonical form of a JSON document is valid JSON and
// its own canonical form.
func FuzzCanonical(f *testing.F) {
	for _, s := range []string{`{"b": 1, "a": [true, null, 1.5e3, "\u00e9"]}`, `"x"`, `1e400`, `{"a":{"a":{}}}`, `[1,2,`, `{"\ud800": 1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		c, err := record.Canonical(doc)
		if err != nil {
			return
		}
		if !json.Valid(c) {
			t.Fatalf("canonical form is not JSON: %q", c)
		}
		again, err := record.Canonical(c)
		if err != nil || !bytes.Equal(again, c) {
			t.Fatalf("canonical form is not stable: %q -> %q (%v)", c, again, err)
		}
	})
}

// FuzzRecordJSON: any record a client sends decodes or is refused; one
// that decodes has an entry (its canonical JSON) that decodes to itself.
func FuzzRecordJSON(f *testing.F) {
	k, _ := record.GenerateKey()
	r, _ := record.Sign(k, "rec-1", "statement.record", 1, map[string]any{"id": "s", "quote": "q"})
	b, _ := json.Marshal(r)
	f.Add(b)
	f.Add([]byte(`{"id": "", "type": "x", "v": 0, "payload": 1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var r record.Record
		if json.Unmarshal(data, &r) != nil || r.Canonicalize() != nil {
			return
		}
		e, err := r.Entry()
		if err != nil {
			return
		}
		var back record.Record
		if err := json.Unmarshal(e, &back); err != nil {
			t.Fatalf("an entry does not decode: %v\n%s", err, e)
		}
		if back.ID != r.ID || back.Type != r.Type || !bytes.Equal(back.Payload, r.Payload) {
			t.Fatalf("entry round trip changed the record:\n%+v\n%+v", r, back)
		}
	})
}
