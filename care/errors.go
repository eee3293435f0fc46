package care

import (
	"errors"
	"fmt"
)

// ErrorKind says what kind of failure an error is, so that every layer (the
// workflow's validators and handlers, the activities, the CLI) can tell them
// apart without reading messages. The CLI maps each kind to an exit code
// (docs/operations.md lists them).
type ErrorKind string

// Error kinds.
const (
	// KindInvalid: bad input; the message names the field and the fix.
	KindInvalid ErrorKind = "invalid"
	// KindNotFound: the case, task, appointment or record does not exist.
	KindNotFound ErrorKind = "not-found"
	// KindNotAllowed: the action is not allowed in the case's current state
	// (its phase, a pause, a closed case).
	KindNotAllowed ErrorKind = "not-allowed"
	// KindConflict: the action collides with what is already recorded (a
	// policy version loaded with another body, a patient with other
	// demographics, a slot taken).
	KindConflict ErrorKind = "conflict"
	// KindUnavailable: a dependency (Temporal, PostgreSQL, the payer, the
	// worker) did not answer; trying again later may succeed.
	KindUnavailable ErrorKind = "unavailable"
	// KindInternal: anything else.
	KindInternal ErrorKind = "internal"
)

// ErrorKinds lists every kind.
var ErrorKinds = []ErrorKind{KindInvalid, KindNotFound, KindNotAllowed, KindConflict, KindUnavailable, KindInternal}

// Error is a failure of a known kind with a message staff can act on.
// ValidationError is the KindInvalid error that names a field.
type Error struct {
	Kind    ErrorKind
	Message string
	// Err is the underlying error, if any.
	Err error
}

func (e *Error) Error() string { return e.Message }

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error of kind with a formatted message. A %w verb wraps
// its argument.
func Errorf(kind ErrorKind, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	return &Error{Kind: kind, Message: err.Error(), Err: errors.Unwrap(err)}
}

// NotAllowedf returns a KindNotAllowed error.
func NotAllowedf(format string, args ...any) error { return Errorf(KindNotAllowed, format, args...) }

// NotFoundf returns a KindNotFound error.
func NotFoundf(format string, args ...any) error { return Errorf(KindNotFound, format, args...) }

// Conflictf returns a KindConflict error.
func Conflictf(format string, args ...any) error { return Errorf(KindConflict, format, args...) }

// Unavailablef returns a KindUnavailable error.
func Unavailablef(format string, args ...any) error { return Errorf(KindUnavailable, format, args...) }

// KindOf returns the kind of err: that of the outermost *Error or
// *ValidationError (KindInvalid) in its chain, "" for nil and KindInternal
// when the chain holds neither.
func KindOf(err error) ErrorKind {
	if err == nil {
		return ""
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		switch t := e.(type) {
		case *Error:
			return t.Kind
		case *ValidationError:
			return KindInvalid
		}
	}
	return KindInternal
}
