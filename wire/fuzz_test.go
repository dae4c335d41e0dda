package wire_test

import (
	"testing"

	"corridor/wire"
)

// FuzzDecodeSubmissions: a POST body of any shape is refused with an
// error or gives at most MaxBatch submissions, each with a record.
func FuzzDecodeSubmissions(f *testing.F) {
	for _, s := range []string{
		`{"records": [{"id": "a", "type": "statement.record", "v": 1, "key": "k", "payload": {}, "sig": "AA=="}]}`,
		`{"record": {"id": "a", "type": "place.register", "v": 1, "key": "k", "payload": {"id": "p"}, "sig": "AA=="}, "private": {}}`,
		`{"id": "a", "type": "t", "v": 1}`,
		`{"records": {}}`, `[]`, `null`, `{"records": [1, "x", null]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		subs, err := wire.DecodeSubmissions(body)
		if err != nil {
			return
		}
		if len(subs) == 0 || len(subs) > wire.MaxBatch {
			t.Fatalf("%d submissions from one body", len(subs))
		}
		for i, s := range subs {
			if s == nil || s.Record == nil {
				t.Fatalf("submission %d has no record", i)
			}
		}
	})
}
