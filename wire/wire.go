// Package wire holds what a client and a server exchange: a submission
// (a signed record with the openings of its commitments), the result of an
// accepted record, and the RFC 9457 problem body of a refusal. It is small
// on purpose: the client imports it, and through it no storage driver.
package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"corridor"
	"corridor/record"
)

// MaxBatch is the most records one submission may carry.
const MaxBatch = 1000

// Submission is one signed record as a client sends it: the record, and
// the value and salt of each commitment it makes (kept private, never
// logged).
type Submission struct {
	Record  *record.Record            `json:"record"`
	Private map[string]record.Opening `json:"private,omitempty"`
}

// Result is the answer for one accepted record.
type Result struct {
	ID        string `json:"id"`
	Index     uint64 `json:"index"`
	Duplicate bool   `json:"duplicate,omitempty"` // an earlier identical submission; nothing new was written
}

// Problem is an RFC 9457 problem details body.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	Code   string `json:"code,omitempty"`
	Field  string `json:"field,omitempty"`
	// Errors are all the fields at fault, the first being Field, when a
	// record's check found more than one.
	Errors []FieldProblem `json:"errors,omitempty"`
}

// FieldProblem is one field at fault.
type FieldProblem struct {
	Code   string `json:"code"`
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

// DecodeSubmissions parses a POST body: one submission object, or
// {"records": [...]} with up to MaxBatch of them. A bare record (with no
// "record" wrapper) is accepted too.
func DecodeSubmissions(body []byte) ([]*Submission, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(body, &probe); err != nil {
		return nil, &corridor.Error{Code: corridor.CodeInvalid, Field: "", Reason: "body is not a JSON object: " + err.Error()}
	}
	parseOne := func(raw json.RawMessage, field string) (*Submission, error) {
		var s Submission
		var keys map[string]json.RawMessage
		if err := json.Unmarshal(raw, &keys); err != nil {
			return nil, &corridor.Error{Code: corridor.CodeInvalid, Field: field, Reason: "not a JSON object"}
		}
		if _, wrapped := keys["record"]; wrapped {
			if err := strictUnmarshal(raw, &s); err != nil {
				return nil, &corridor.Error{Code: corridor.CodeInvalid, Field: field, Reason: err.Error()}
			}
		} else {
			var r record.Record
			if err := strictUnmarshal(raw, &r); err != nil {
				return nil, &corridor.Error{Code: corridor.CodeInvalid, Field: field, Reason: err.Error()}
			}
			s.Record = &r
		}
		return &s, nil
	}
	if raw, ok := probe["records"]; ok {
		var list []json.RawMessage
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, &corridor.Error{Code: corridor.CodeInvalid, Field: "records", Reason: "must be an array"}
		}
		if len(list) == 0 {
			return nil, &corridor.Error{Code: corridor.CodeInvalid, Field: "records", Reason: "no records: a batch holds at least one"}
		}
		if len(list) > MaxBatch {
			return nil, &corridor.Error{Code: corridor.CodeInvalid, Field: "records", Reason: fmt.Sprintf("more than %d records in one batch", MaxBatch)}
		}
		out := make([]*Submission, len(list))
		for i, raw := range list {
			s, err := parseOne(raw, fmt.Sprintf("records[%d]", i))
			if err != nil {
				return nil, err
			}
			out[i] = s
		}
		return out, nil
	}
	s, err := parseOne(body, "records[0]")
	if err != nil {
		return nil, err
	}
	return []*Submission{s}, nil
}

func strictUnmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("unexpected data after the JSON value")
	}
	return nil
}

// Uploaded is the answer to POST /api/v1/files: what a record must carry
// to point to the file (sha256, media_type, size), and which metadata the
// server took out of it before hashing.
type Uploaded struct {
	SHA256    string   `json:"sha256"`
	MediaType string   `json:"media_type"`
	Size      int64    `json:"size"`
	Stripped  []string `json:"stripped"`
}
