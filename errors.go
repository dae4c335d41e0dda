// Package corridor is the domain of corridor: parties, the gazetteer,
// convoys and statements, the record types that carry them, and the rules
// that decide whether a signed record may be applied to the current state.
// It does no I/O.
package corridor

import (
	"corridor/record"
	"errors"
	"fmt"
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
}

func (e *Error) Error() string {
	if e.Field == "" {
		return string(e.Code) + ": " + e.Reason
	}
	return fmt.Sprintf("%s: %s: %s", e.Code, e.Field, e.Reason)
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
