// Package adt takes a hospital's HL7 v2 ADT feed into caseflow: the MLLP
// listener stores each message in the inbox before it acknowledges it
// (listener.go), and the applier applies the stored messages to the cases,
// in order and with retries (applier.go). This file reads an ADT message
// into what caseflow needs of it; docs/interop.md has the mapping table.
package adt

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/hl7"
)

// Trigger events caseflow takes (MSH-9.2).
const (
	A01 = "A01" // admit
	A02 = "A02" // transfer
	A03 = "A03" // discharge
	A04 = "A04" // register an outpatient
	A08 = "A08" // update patient information
	A11 = "A11" // cancel admit
	A13 = "A13" // cancel discharge
)

// Events are the trigger events caseflow takes.
var Events = []string{A01, A02, A03, A04, A08, A11, A13}

// Identifier is one PID-3 repetition: the id and its assigning authority
// (CX.1 and CX.4.1, else the sending facility, MSH-4.1).
type Identifier struct {
	ID, Authority, Type string
}

// Message is what caseflow reads from an ADT message. Name and BirthDate
// are PHI.
type Message struct {
	Facility    string // MSH-4.1, sending facility
	ControlID   string // MSH-10
	Event       string // MSH-9.2 (or EVN-1)
	Identifiers []Identifier
	Name        string
	BirthDate   *time.Time
	// Date is the event's own date (YYYY-MM-DD): PV1-45 for a discharge,
	// PV1-44 for an admission, else EVN-6, else EVN-2.
	Date string
	// DateAt is the event's instant when its timestamp carried a UTC
	// offset (+HHMM/-HHMM): its date is then that of the case's program's
	// calendar, not as written.
	DateAt *time.Time
	// Location is where the patient is (PV1-3), Prior where they were
	// (PV1-6), DischargedTo where they went (PV1-37, or PV1-36 the
	// disposition).
	Location, Prior, DischargedTo string
}

// Reject is a message caseflow will not apply, with the ACK code and the
// ERR segment to answer it with. Its text never holds PHI.
type Reject struct {
	Code hl7.AckCode
	Err  hl7.Error
}

func (r *Reject) Error() string {
	return fmt.Sprintf("%s %s %s: %s", r.Code, r.Err.Code, r.Err.Text, r.Err.Diagnostic)
}

func reject(code hl7.AckCode, e hl7.Error, location, format string, args ...any) *Reject {
	return &Reject{Code: code, Err: e.With(location, fmt.Sprintf(format, args...))}
}

// Header reads the key of a parsed message and checks it is an ADT event
// caseflow takes: the message is then worth storing. A *Reject says why not.
func Header(m *hl7.Message) (facility, controlID, event string, rej *Reject) {
	facility, controlID = m.Get("MSH-4"), m.Get("MSH-10")
	event = m.Get("MSH-9.2")
	if event == "" {
		event = m.Get("EVN-1")
	}
	switch {
	case m.Get("MSH-9") != "ADT":
		return facility, controlID, event, reject(hl7.AR, hl7.ErrUnsupportedType, "MSH^1^9", "only ADT messages are taken")
	case !slices.Contains(Events, event):
		return facility, controlID, event, reject(hl7.AR, hl7.ErrUnsupportedEvent, "MSH^1^9^2", "ADT events taken: %s", strings.Join(Events, ", "))
	case controlID == "":
		return facility, controlID, event, reject(hl7.AR, hl7.ErrRequiredField, "MSH^1^10", "MSH-10 (message control id) is required")
	case facility == "":
		return facility, controlID, event, reject(hl7.AR, hl7.ErrRequiredField, "MSH^1^4", "MSH-4 (sending facility) is required")
	case !strings.HasPrefix(m.Get("MSH-12"), "2."):
		return facility, controlID, event, reject(hl7.AR, hl7.ErrUnsupportedVer, "MSH^1^12", "HL7 version 2.x is required in MSH-12")
	}
	return facility, controlID, event, nil
}

// Read reads an ADT message whose Header passed. A *Reject (AE) says what
// is missing or malformed.
func Read(m *hl7.Message) (Message, error) {
	facility, controlID, event, rej := Header(m)
	if rej != nil {
		return Message{}, rej
	}
	msg := Message{Facility: facility, ControlID: controlID, Event: event}
	pid := m.Segment("PID")
	if pid == nil {
		return msg, reject(hl7.AE, hl7.ErrSegmentSequence, "PID", "the PID segment is required")
	}
	for _, rep := range pid.Field(3) {
		if id := strings.TrimSpace(rep.Comp(1)); id != "" {
			// An identifier without an assigning authority (CX.4) is the
			// sending facility's: read as bare, it could name a patient of
			// another hospital's, or one of the local MRNs.
			authority := strings.TrimSpace(rep.Sub(4, 1))
			if authority == "" {
				authority = facility
			}
			msg.Identifiers = append(msg.Identifiers, Identifier{ID: id, Authority: authority, Type: rep.Comp(5)})
		}
	}
	if len(msg.Identifiers) == 0 {
		return msg, reject(hl7.AE, hl7.ErrRequiredField, "PID^1^3", "PID-3 (patient identifier list) is required")
	}
	name := pid.Field(5).First()
	msg.Name = strings.TrimSpace(strings.Join(strings.Fields(name.Comp(2)+" "+name.Comp(3)+" "+name.Comp(1)), " "))
	if b := pid.Field(7).String(); b != "" {
		d, err := hl7Date(b)
		if err != nil {
			return msg, reject(hl7.AE, hl7.ErrDataType, "PID^1^7", "PID-7 (birth date) must be a date YYYYMMDD")
		}
		t, _ := time.Parse(time.DateOnly, d)
		msg.BirthDate = &t
	}
	msg.Location = location(m, "PV1-3")
	msg.Prior = location(m, "PV1-6")
	msg.DischargedTo = m.Get("PV1-37")
	if msg.DischargedTo == "" && m.Get("PV1-36") != "" {
		msg.DischargedTo = "disposition " + m.Get("PV1-36")
	}
	dates := []string{"EVN-6", "EVN-2"}
	switch event {
	case A03:
		dates = append([]string{"PV1-45"}, dates...)
	case A01, A04:
		dates = append([]string{"PV1-44"}, dates...)
	}
	for _, f := range dates {
		if v := m.Get(f); v != "" {
			d, at, err := hl7Time(v)
			if err != nil {
				seg, n, _ := strings.Cut(f, "-")
				return msg, reject(hl7.AE, hl7.ErrDataType, seg+"^1^"+n, "%s must be a date/time YYYYMMDD[HHMM[SS[.S]]][+/-ZZZZ]", f)
			}
			msg.Date, msg.DateAt = d, at
			break
		}
	}
	if msg.Date == "" && (event == A01 || event == A02 || event == A03) {
		return msg, reject(hl7.AE, hl7.ErrRequiredField, "EVN^1^2", "the event date is required (PV1-45 or PV1-44, EVN-6 or EVN-2)")
	}
	return msg, nil
}

// location is a PL as caseflow names a place: the facility (PL.4), then
// point of care, room and bed.
func location(m *hl7.Message, path string) string {
	var parts []string
	for _, c := range []string{".4", ".1", ".2", ".3"} {
		if v := m.Get(path + c); v != "" {
			parts = append(parts, v)
		}
	}
	return strings.Join(parts, " ")
}

// hl7Date is the date of an HL7 DTM/TS value as YYYY-MM-DD, as the sender
// wrote it (its local date).
func hl7Date(v string) (string, error) {
	d, _, err := hl7Time(v)
	return d, err
}

// hl7Time reads an HL7 DTM/TS value, YYYYMMDD[HH[MM[SS[.S+]]]][+/-ZZZZ]:
// its date as written (YYYY-MM-DD) and, when it carries a UTC offset, the
// instant it names. Every part must be in range.
func hl7Time(v string) (date string, at *time.Time, err error) {
	digits, zone := v, ""
	if i := strings.IndexAny(v, "+-"); i >= 0 {
		digits, zone = v[:i], v[i:]
	}
	digits, frac, _ := strings.Cut(digits, ".")
	bad := fmt.Errorf("not a date/time YYYYMMDD[HHMM[SS]]")
	if len(digits) < 8 || len(digits) > 14 || len(digits)%2 != 0 || !allDigits(digits) || (frac != "" && (len(digits) != 14 || !allDigits(frac))) {
		return "", nil, bad
	}
	t, perr := time.Parse("20060102150405", digits+"000000"[:14-len(digits)])
	if perr != nil {
		return "", nil, bad
	}
	date = t.Format(time.DateOnly)
	if zone != "" && (len(zone) != 5 || !allDigits(zone[1:])) {
		return "", nil, bad
	}
	if zone == "" || len(digits) < 10 {
		// No offset, or a date alone: the date as written.
		return date, nil, nil
	}
	h, m := int(zone[1]-'0')*10+int(zone[2]-'0'), int(zone[3]-'0')*10+int(zone[4]-'0')
	if h > 14 || m > 59 {
		return "", nil, bad
	}
	off := (h*60 + m) * 60
	if zone[0] == '-' {
		off = -off
	}
	instant := time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, time.FixedZone(zone, off)).UTC()
	return date, &instant, nil
}

func allDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// Refs are the patients.external_ref values an identifier list may match,
// in order: "AUTHORITY:ID" for each identifier with an assigning
// authority, and the bare ID for one whose authority is in local (the
// authorities whose identifiers caseflow stores as they are, e.g. the
// hospital's own MRNs that staff enter with caseflow case open).
func (m Message) Refs(local []string) []string {
	var refs []string
	for _, id := range m.Identifiers {
		if id.Authority != "" {
			refs = append(refs, id.Authority+":"+id.ID)
		}
		if slices.Contains(local, id.Authority) {
			refs = append(refs, id.ID)
		}
	}
	return slices.Compact(refs)
}

// NewRef is the external_ref a patient first seen on the feed is registered
// with: the first medical record number (CX.5 MR), else the first
// identifier, qualified by its authority unless that is local.
func (m Message) NewRef(local []string) string {
	pick := m.Identifiers[0]
	for _, id := range m.Identifiers {
		if id.Type == "MR" {
			pick = id
			break
		}
	}
	if slices.Contains(local, pick.Authority) {
		return pick.ID
	}
	return pick.Authority + ":" + pick.ID
}

// Transition is the care transition an A01, A02 or A03 reports.
func (m Message) Transition(kind care.TransitionKind) care.Transition {
	t := care.Transition{Kind: kind, Date: m.Date, Message: m.Facility + "/" + m.ControlID}
	here := orElse(m.Location, m.Facility)
	switch kind {
	case care.TransitionDischarge:
		t.From, t.To = here, orElse(m.DischargedTo, "not stated in the ADT message")
	case care.TransitionTransfer:
		t.From, t.To = orElse(m.Prior, m.Facility), here
	default:
		t.From, t.To = orElse(m.Prior, "community"), here
	}
	return t
}

func orElse(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}
