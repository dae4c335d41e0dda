package corridor_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"testing"

	"corridor"
	"corridor/record"
)

// FuzzDecodePayload: a record of any type with any payload is refused
// with a *corridor.Error or decodes to a payload that validates.
func FuzzDecodePayload(f *testing.F) {
	var sc struct {
		Records []struct {
			Type    string          `json:"type"`
			Payload json.RawMessage `json:"payload"`
		} `json:"records"`
	}
	b, err := os.ReadFile("scenario/lachin-2023.json")
	if err != nil {
		f.Fatal(err)
	}
	if err := json.Unmarshal(b, &sc); err != nil {
		f.Fatal(err)
	}
	for _, r := range sc.Records {
		f.Add(r.Type, []byte(r.Payload))
	}
	f.Add("checkpoint.change", []byte(`{"checkpoint": "c", "from": "2024-05-07", "authority": "a"}`))
	f.Add("claim.record", []byte(`{"id": "c", "assertion": {"kind": "coverage-below", "percent": 1e309}}`))
	f.Fuzz(func(t *testing.T, typ string, payload []byte) {
		r := &record.Record{ID: "fuzz", Type: typ, Version: 1, Payload: payload}
		_, p, err := corridor.Decode(r)
		if err != nil {
			var e *corridor.Error
			if !errors.As(err, &e) {
				t.Fatalf("%s: refused with %T %v, want a *corridor.Error", typ, err, err)
			}
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("%s: decoded a payload that does not validate: %v", typ, err)
		}
	})
}

// FuzzDecodeState: a writer's snapshot file, however damaged, decodes or
// is refused; it never panics (a refused one makes the writer replay).
func FuzzDecodeState(f *testing.F) {
	st := corridor.NewState()
	var buf bytes.Buffer
	if err := st.Encode(&buf); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte("corridor-state-v1\n\xff\xff\xff\xff\xff\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<20 {
			return
		}
		corridor.DecodeState(bufio.NewReader(bytes.NewReader(data)))
	})
}
