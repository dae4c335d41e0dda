package client

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"corridor"
	"corridor/ledger"
)

type fleet struct {
	Kind   string `json:"kind"`
	Count  int    `json:"count"`
	Plate  string `json:"plate"`
	Driver string `json:"driver"`
	Phone  string `json:"phone"`
}

// SealConvoy reads a convoy filing in which vehicles carry plain personal
// values (and may carry "count", so many alike vehicles, with %d in a value
// standing for the vehicle's number), and returns the filing with each
// value replaced by a salted commitment, and the openings. It expands vehicle counts and replaces personal values by
// salted commitments, returning the openings.
func SealConvoy(raw json.RawMessage) (*corridor.Convoy, map[string]ledger.Opening, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, nil, err
	}
	var fleets []fleet
	if err := json.Unmarshal(doc["vehicles"], &fleets); err != nil {
		return nil, nil, fmt.Errorf("vehicles: %w", err)
	}
	delete(doc, "vehicles")
	rest, _ := json.Marshal(doc)
	var c corridor.Convoy
	dec := json.NewDecoder(bytes.NewReader(rest))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, nil, err
	}
	openings := map[string]ledger.Opening{}
	seal := func(format string, n int) string {
		if format == "" {
			return ""
		}
		v := format
		if strings.Contains(format, "%") {
			v = fmt.Sprintf(format, n)
		}
		commit, o := ledger.Seal(v)
		openings[commit] = o
		return commit
	}
	n := 0
	for _, f := range fleets {
		if f.Count == 0 {
			f.Count = 1
		}
		for j := 0; j < f.Count; j++ {
			n++
			c.Vehicles = append(c.Vehicles, corridor.Vehicle{Kind: f.Kind, Plate: seal(f.Plate, n), Driver: seal(f.Driver, n), Phone: seal(f.Phone, n)})
		}
	}
	return &c, openings, nil
}
