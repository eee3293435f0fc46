package hl7

import (
	"strings"
	"time"
)

// AckCode is MSA-1 (HL7 table 0008, original acknowledgment mode).
type AckCode string

// Acknowledgment codes.
const (
	// AA: accepted (stored durably; it will be applied).
	AA AckCode = "AA"
	// AE: understood, but it cannot be applied (an application error).
	AE AckCode = "AE"
	// AR: rejected: it could not be parsed or is not a message this
	// receiver takes.
	AR AckCode = "AR"
)

// Error is an ERR segment's content: HL7 table 0357 code and where.
type Error struct {
	Code     string // table 0357, e.g. "204"
	Text     string // the code's name, e.g. "Unknown key identifier"
	Location string // ERR-2, e.g. "PID^1^3"
	// Diagnostic is ERR-8, a short explanation; never PHI.
	Diagnostic string
}

// HL7 table 0357 codes caseflow answers with.
var (
	ErrSegmentSequence   = Error{Code: "100", Text: "Segment sequence error"}
	ErrRequiredField     = Error{Code: "101", Text: "Required field missing"}
	ErrDataType          = Error{Code: "102", Text: "Data type error"}
	ErrUnsupportedType   = Error{Code: "200", Text: "Unsupported message type"}
	ErrUnsupportedEvent  = Error{Code: "201", Text: "Unsupported event code"}
	ErrUnsupportedVer    = Error{Code: "203", Text: "Unsupported version id"}
	ErrUnknownKey        = Error{Code: "204", Text: "Unknown key identifier"}
	ErrDuplicateKey      = Error{Code: "205", Text: "Duplicate key identifier"}
	ErrApplicationRecord = Error{Code: "206", Text: "Application record locked"}
	ErrInternal          = Error{Code: "207", Text: "Application internal error"}
)

// With returns the error with location and diagnostic set.
func (e Error) With(location, diagnostic string) Error {
	e.Location, e.Diagnostic = location, diagnostic
	return e
}

// Ack builds the acknowledgement of msg (which may be nil when nothing of
// it could be parsed) from the receiving application: MSH with sender and
// receiver swapped, MSA with the code and the original control id, and an
// ERR segment when err is set. controlID is the ACK's own MSH-10.
func Ack(msg *Message, code AckCode, err *Error, controlID string, now time.Time) []byte {
	d := DefaultDelimiters
	get := func(p string) string { return "" }
	if msg != nil {
		d = msg.Delimiters
		get = msg.Get
	}
	esc := d.Encode
	f, c := string(d.Field), string(d.Component)
	enc := string([]byte{d.Component, d.Repetition, d.Escape, d.Subcomponent})
	version := get("MSH-12")
	if version == "" {
		version = "2.5.1"
	}
	trigger := get("MSH-9.2")
	msgType := "ACK"
	if trigger != "" {
		msgType = "ACK" + c + esc(trigger) + c + "ACK"
	}
	processing := get("MSH-11")
	if processing == "" {
		processing = "P"
	}
	var b strings.Builder
	b.WriteString(strings.Join([]string{"MSH", enc,
		esc(get("MSH-5")), esc(get("MSH-6")), esc(get("MSH-3")), esc(get("MSH-4")),
		now.UTC().Format("20060102150405"), "", msgType, esc(controlID), esc(processing), esc(version)}, f))
	b.WriteByte('\r')
	msa := []string{"MSA", string(code), esc(get("MSH-10"))}
	if err != nil {
		msa = append(msa, esc(err.Text))
	}
	b.WriteString(strings.Join(msa, f))
	b.WriteByte('\r')
	if err != nil {
		severity := "E"
		loc := strings.ReplaceAll(err.Location, "^", c)
		b.WriteString(strings.Join([]string{"ERR", "", loc,
			esc(err.Code) + c + esc(err.Text) + c + "HL70357", severity, "", "", "", esc(err.Diagnostic)}, f))
		b.WriteByte('\r')
	}
	return []byte(b.String())
}
