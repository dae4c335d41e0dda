// Package scenario holds the reference scenario (the Lachin corridor and the
// Aghdam–Khankendi road, summer 2023) as a data file, and turns a scenario
// into records signed by the parties that made them.
package scenario

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"corridor"
	"corridor/app"
	"corridor/client"
	"corridor/record"
)

//go:embed lachin-2023.json
var reference []byte

// Reference returns the embedded reference scenario.
func Reference() *Scenario {
	s, err := Parse(reference)
	if err != nil {
		panic(err) // the embedded file is checked by tests
	}
	return s
}

// Scenario is a set of parties and the records they sign, in order.
type Scenario struct {
	Name     string           `json:"name"`
	About    string           `json:"about"`
	FirstDay corridor.Date    `json:"first_day"`
	LastDay  corridor.Date    `json:"last_day"`
	Parties  []corridor.Party `json:"parties"` // keys are generated at load time
	Records  []Step           `json:"records"`
	// Sources are the public reports the scenario is built from.
	Sources []Source `json:"sources,omitempty"`

	// Delegated, if set, holds keys that parties hand to the server for
	// web forms; they are registered as delegated keys beside their own.
	Delegated map[string]*record.Key `json:"-"`
}

// Source is a public report a scenario draws on.
type Source struct {
	Publisher string        `json:"publisher"`
	Title     string        `json:"title"`
	Published corridor.Date `json:"published"`
	URL       string        `json:"url,omitempty"`
	Used      string        `json:"used,omitempty"` // what of it the scenario records
}

// Step is one record of the scenario: who signs it and what it says.
// In a convoy.file payload a vehicle may carry "count" (so many alike
// vehicles) and plain personal values ("plate", "driver", "phone", with %d
// for the vehicle's number); they are sealed as commitments at load time.
type Step struct {
	By      string          `json:"by"`
	Type    string          `json:"type"`
	ID      string          `json:"id"`
	Payload json.RawMessage `json:"payload"`
}

// MaxBytes bounds a scenario file.
const MaxBytes = 32 << 20

// Parse reads a scenario file. It checks the file's shape (every party
// named once, every record with a signer, a type and an id); the records
// themselves are checked by the rules when they are submitted.
func Parse(data []byte) (*Scenario, error) {
	if len(data) > MaxBytes {
		return nil, fmt.Errorf("scenario: %d bytes, more than %d", len(data), MaxBytes)
	}
	var s Scenario
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("scenario: more than one JSON document")
	}
	if len(s.Parties) == 0 {
		return nil, fmt.Errorf("scenario: parties: none")
	}
	seen := map[string]bool{}
	for i, p := range s.Parties {
		if p.ID == "" || seen[p.ID] {
			return nil, fmt.Errorf("scenario: parties[%d].id: %q is empty or given twice", i, p.ID)
		}
		seen[p.ID] = true
	}
	for i, r := range s.Records {
		for _, f := range []struct{ name, v string }{{"by", r.By}, {"type", r.Type}, {"id", r.ID}} {
			if f.v == "" {
				return nil, fmt.Errorf("scenario: records[%d].%s: missing", i, f.name)
			}
		}
		if len(r.Payload) == 0 {
			return nil, fmt.Errorf("scenario: records[%d].payload: missing", i)
		}
	}
	return &s, nil
}

// Keys generates a fresh key for every party of the scenario.
func (s *Scenario) Keys() (map[string]*record.Key, error) {
	keys := map[string]*record.Key{}
	for _, p := range s.Parties {
		k, err := record.GenerateKey()
		if err != nil {
			return nil, err
		}
		keys[p.ID] = k
	}
	return keys, nil
}

// Build signs the scenario: first the operator registers every party with
// its key, then each record is signed by the key of the party that made it.
func (s *Scenario) Build(operatorID string, operator *record.Key, keys map[string]*record.Key) ([]*app.Submission, error) {
	subs, _, err := s.build(operatorID, operator, keys)
	return subs, err
}

// Batch is a run of consecutive records signed by one party, to be posted
// with that party's token.
type Batch struct {
	Party string
	Subs  []*app.Submission
}

// Batches signs the scenario like Build and groups consecutive records by
// the party that signed them.
func (s *Scenario) Batches(operatorID string, operator *record.Key, keys map[string]*record.Key) ([]Batch, error) {
	subs, by, err := s.build(operatorID, operator, keys)
	if err != nil {
		return nil, err
	}
	var out []Batch
	for i, sub := range subs {
		if len(out) == 0 || out[len(out)-1].Party != by[i] {
			out = append(out, Batch{Party: by[i]})
		}
		out[len(out)-1].Subs = append(out[len(out)-1].Subs, sub)
	}
	return out, nil
}

func (s *Scenario) build(operatorID string, operator *record.Key, keys map[string]*record.Key) ([]*app.Submission, []string, error) {
	keys[operatorID] = operator
	var out []*app.Submission
	var by []string
	for _, p := range s.Parties {
		k := keys[p.ID]
		if k == nil {
			return nil, nil, fmt.Errorf("party %s: no key", p.ID)
		}
		p.Keys = []corridor.PartyKey{{ID: k.ID, Public: k.Public}}
		if d := s.Delegated[p.ID]; d != nil {
			p.Keys = append(p.Keys, corridor.PartyKey{ID: d.ID, Public: d.Public, Delegated: true})
		}
		r, err := record.Sign(operator, "party-"+p.ID, corridor.TypeParty, 1, &p)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, &app.Submission{Record: r})
		by = append(by, operatorID)
	}
	for i, st := range s.Records {
		k := keys[st.By]
		if k == nil {
			return nil, nil, fmt.Errorf("records[%d] (%s): unknown party %q", i, st.ID, st.By)
		}
		payload := any(st.Payload)
		var private map[string]record.Opening
		if st.Type == corridor.TypeConvoy {
			c, openings, err := client.SealConvoy(st.Payload, client.RandomSalt)
			if err != nil {
				return nil, nil, fmt.Errorf("records[%d] (%s): %w", i, st.ID, err)
			}
			payload, private = c, openings
		}
		t, err := corridor.LookupType(st.Type, 1)
		if err != nil {
			return nil, nil, fmt.Errorf("records[%d] (%s): %w", i, st.ID, err)
		}
		r, err := record.Sign(k, st.ID, t.Name, t.Version, payload)
		if err != nil {
			return nil, nil, fmt.Errorf("records[%d] (%s): %w", i, st.ID, err)
		}
		out = append(out, &app.Submission{Record: r, Private: private})
		by = append(by, st.By)
	}
	return out, by, nil
}

// Signed is a scenario signed with fresh keys, ready to be submitted.
type Signed struct {
	Keys      map[string]*record.Key // each party's own key, the operator's among them
	Delegated map[string]*record.Key // keys the parties delegate to the server, for web forms
	Batches   []Batch
}

// SignFor signs the scenario for the data folder dir: it reads the
// operator's key there, makes a key and a delegated key for every party,
// and leaves the delegated keys in DIR/delegated, where the server looks
// for them.
func (s *Scenario) SignFor(dir, operatorID string) (*Signed, error) {
	return s.SignWith(dir, operatorID, nil)
}

// SignWith is SignFor with the parties' keys given: a party with no key in
// keys gets a fresh one (keys is filled in).
func (s *Scenario) SignWith(dir, operatorID string, keys map[string]*record.Key) (*Signed, error) {
	op, err := record.ReadKeyFile(filepath.Join(dir, app.OperatorKey))
	if err != nil {
		return nil, err
	}
	if keys == nil {
		keys = map[string]*record.Key{}
	}
	for _, p := range s.Parties {
		if keys[p.ID] == nil {
			if keys[p.ID], err = record.GenerateKey(); err != nil {
				return nil, err
			}
		}
	}
	if s.Delegated, err = s.Keys(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, app.DelegatedDir), 0o700); err != nil {
		return nil, err
	}
	for id, k := range s.Delegated {
		if err := record.WriteKeyFiles(k, filepath.Join(dir, app.DelegatedDir, id+".key")); err != nil {
			return nil, err
		}
	}
	batches, err := s.Batches(operatorID, op, keys)
	if err != nil {
		return nil, err
	}
	return &Signed{Keys: keys, Delegated: s.Delegated, Batches: batches}, nil
}

// SubmitTo submits every batch to a running app in-process, each as a
// member of the party that signed it.
func (sg *Signed) SubmitTo(ctx context.Context, a *app.App) error {
	for _, b := range sg.Batches {
		if _, err := a.Submit(app.WithCaller(ctx, b.Party), b.Subs); err != nil {
			return fmt.Errorf("records of %s: %w", b.Party, err)
		}
	}
	return nil
}
