package client

import (
	"bytes"
	"corridor/record"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"corridor"
)

type fleet struct {
	Kind   string `json:"kind"`
	Count  int    `json:"count"`
	Plate  string `json:"plate"`
	Driver string `json:"driver"`
	Phone  string `json:"phone"`
}

// Salter returns the salt for one personal value: field is "plate",
// "driver" or "phone" and n the vehicle's number (from 1).
type Salter func(field string, n int, value string) string

// RandomSalt gives every value a fresh random salt.
func RandomSalt(string, int, string) string { return record.NewSalt() }

// KeyedSalt derives salts from the signer's private key and the record id,
// so that signing the same filing again (a retry with the same record id)
// gives the same commitments, while nobody without the key can guess them.
func KeyedSalt(k *record.Key, recordID string) Salter {
	return func(field string, n int, value string) string {
		m := hmac.New(sha256.New, k.Private.Seed())
		fmt.Fprintf(m, "corridor-salt-v1\n%s\n%s\n%d\n%s", recordID, field, n, value)
		return hex.EncodeToString(m.Sum(nil)[:16])
	}
}

// MaxVehicles bounds the vehicles a filing may expand to.
const MaxVehicles = corridor.MaxList

// SealConvoy reads a convoy filing in which vehicles carry plain personal
// values, and returns the filing with each value replaced by a salted
// commitment, and the openings that prove them. A vehicle entry may carry
// "count" (so many alike vehicles); "%d" or "%02d" in one of its values
// stands for the vehicle's number. No other % sequence is special.
func SealConvoy(raw json.RawMessage, salt Salter) (*corridor.Convoy, map[string]record.Opening, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, nil, err
	}
	var fleets []fleet
	if v, ok := doc["vehicles"]; ok {
		if err := json.Unmarshal(v, &fleets); err != nil {
			return nil, nil, fmt.Errorf("vehicles: %w", err)
		}
	}
	delete(doc, "vehicles")
	rest, _ := json.Marshal(doc)
	var c corridor.Convoy
	dec := json.NewDecoder(bytes.NewReader(rest))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, nil, err
	}
	openings := map[string]record.Opening{}
	seal := func(field, format string, n int) string {
		if format == "" {
			return ""
		}
		v := strings.NewReplacer("%02d", fmt.Sprintf("%02d", n), "%d", fmt.Sprint(n)).Replace(format)
		o := record.Opening{Value: v, Salt: salt(field, n, v)}
		commit := record.Commitment(o.Salt, o.Value)
		openings[commit] = o
		return commit
	}
	n := 0
	for i, f := range fleets {
		if f.Count < 0 {
			return nil, nil, fmt.Errorf("vehicles[%d].count: must not be negative", i)
		}
		if f.Count == 0 {
			f.Count = 1
		}
		if n+f.Count > MaxVehicles {
			return nil, nil, fmt.Errorf("vehicles: more than %d vehicles", MaxVehicles)
		}
		for j := 0; j < f.Count; j++ {
			n++
			c.Vehicles = append(c.Vehicles, corridor.Vehicle{Kind: f.Kind, Plate: seal("plate", f.Plate, n), Driver: seal("driver", f.Driver, n), Phone: seal("phone", f.Phone, n)})
		}
	}
	return &c, openings, nil
}
