// Package corridor is the domain of corridor: parties, the gazetteer,
// convoys and statements, the record types that carry them, and the rules
// that decide whether a signed record may be applied to the current state.
// It does no I/O.
package corridor

import (
	"corridor/record"
	"errors"
	"fmt"
	"slices"
)

// Code says what kind of problem an Error is; the API maps it to a status.
type Code string

const (
	CodeInvalid      Code = "invalid"       // a field fails validation
	CodeUnknownType  Code = "unknown-type"  // record type or version not registered
	CodeUnknownKey   Code = "unknown-key"   // signer's key id is not registered
	CodeBadSignature Code = "bad-signature" // signature does not verify
	CodeForbidden    Code = "forbidden"     // the signer's role does not allow it
	CodeConflict     Code = "conflict"      // the record contradicts the current state
	CodeDuplicate    Code = "duplicate-id"  // a record id reused for other content
	CodeNotFound     Code = "not-found"
)

// Error is a domain error that names the field at fault.
type Error struct {
	Code   Code
	Field  string // JSON path within the record, e.g. "payload.manifest[2].kg"
	Reason string
	// Also are the other fields of the same record found at fault in the
	// same check, so that all are reported at once.
	Also []*Error
}

func (e *Error) Error() string {
	s := e.one()
	for _, a := range e.Also {
		s += "; " + a.one()
	}
	return s
}

func (e *Error) one() string {
	if e.Field == "" {
		return string(e.Code) + ": " + e.Reason
	}
	return fmt.Sprintf("%s: %s: %s", e.Code, e.Field, e.Reason)
}

// All is the error and the others found with it.
func (e *Error) All() []*Error {
	return append([]*Error{{Code: e.Code, Field: e.Field, Reason: e.Reason}}, e.Also...)
}

// maxProblems bounds the errors one record reports at once.
const maxProblems = 20

// problems collects the errors of a record's fields, the first one each
// field has, so that a record's check reports them all at once.
type problems struct{ list []*Error }

// add keeps err if it is not nil; it reports whether err was nil.
func (p *problems) add(err error) bool {
	if err == nil {
		return true
	}
	if len(p.list) >= maxProblems {
		return false
	}
	e := AsError(err, "")
	for _, x := range e.All() {
		if !slices.ContainsFunc(p.list, func(y *Error) bool { return y.Field == x.Field }) {
			p.list = append(p.list, x)
		}
	}
	return false
}

// err is the first error with the others in Also, or nil.
func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	first := *p.list[0]
	first.Also = p.list[1:]
	return &first
}

// Is lets errors.Is match on the code alone: errors.Is(err, ErrForbidden).
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Field == "" && t.Reason == "" && t.Code == e.Code
}

// Sentinels for errors.Is.
var (
	ErrInvalid   = &Error{Code: CodeInvalid}
	ErrForbidden = &Error{Code: CodeForbidden}
	ErrConflict  = &Error{Code: CodeConflict}
	ErrNotFound  = &Error{Code: CodeNotFound}
)

func invalid(field, format string, args ...any) *Error {
	return &Error{Code: CodeInvalid, Field: field, Reason: fmt.Sprintf(format, args...)}
}

func forbidden(field, format string, args ...any) *Error {
	return &Error{Code: CodeForbidden, Field: field, Reason: fmt.Sprintf(format, args...)}
}

func conflict(field, format string, args ...any) *Error {
	return &Error{Code: CodeConflict, Field: field, Reason: fmt.Sprintf(format, args...)}
}

// AsError converts any error from decoding or checking a record into an
// *Error, prefixing field paths with prefix.
func AsError(err error, prefix string) *Error {
	var e *Error
	if errors.As(err, &e) {
		c := *e
		c.Field = joinField(prefix, c.Field)
		c.Also = nil
		for _, a := range e.Also {
			c.Also = append(c.Also, &Error{Code: a.Code, Field: joinField(prefix, a.Field), Reason: a.Reason})
		}
		return &c
	}
	var fe *record.FieldError
	if errors.As(err, &fe) {
		return &Error{Code: CodeInvalid, Field: joinField(prefix, fe.Field), Reason: fe.Reason}
	}
	if errors.Is(err, record.ErrBadSignature) {
		return &Error{Code: CodeBadSignature, Field: joinField(prefix, "sig"), Reason: err.Error()}
	}
	return &Error{Code: CodeInvalid, Field: prefix, Reason: err.Error()}
}

func joinField(prefix, field string) string {
	switch {
	case prefix == "":
		return field
	case field == "":
		return prefix
	case field[0] == '[':
		return prefix + field
	}
	return prefix + "." + field
}
