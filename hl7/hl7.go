// Package hl7 parses and writes HL7 v2.x messages (the pipe-and-hat
// encoding): segments, fields, repetitions, components, subcomponents and
// escape sequences, with the delimiters each message declares in MSH-1 and
// MSH-2. It also frames messages for MLLP (mllp.go) and builds
// acknowledgements (ack.go). It knows no message semantics; package adt does.
//
// No maintained HL7 v2 library was available from the Go module proxy when
// this was written, so this is a small parser kept to what caseflow reads.
package hl7

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Delimiters are the encoding characters of a message.
type Delimiters struct {
	Field, Component, Repetition, Escape, Subcomponent byte
}

// DefaultDelimiters are the usual |^~\&.
var DefaultDelimiters = Delimiters{'|', '^', '~', '\\', '&'}

// Message is a parsed HL7 v2 message.
type Message struct {
	Delimiters Delimiters
	Segments   []Segment
}

// Segment is one segment: its name and its fields, numbered as HL7 numbers
// them (Field(1) is the first field after the name; in MSH, Field(1) is the
// field separator itself and Field(2) the encoding characters).
type Segment struct {
	Name   string
	fields []Field
}

// Field is a field's repetitions.
type Field []Repetition

// Repetition is one occurrence of a field: its components.
type Repetition []Component

// Component is a component's subcomponents, unescaped.
type Component []string

// ParseError says why a message could not be parsed. It never quotes the
// message, which may hold PHI: only positions and segment names.
type ParseError struct {
	Segment int    // 1-based segment number, 0 for the message as a whole
	Name    string // segment name when known
	Problem string
}

func (e *ParseError) Error() string {
	if e.Segment == 0 {
		return "hl7: " + e.Problem
	}
	if e.Name != "" {
		return fmt.Sprintf("hl7: segment %d (%s): %s", e.Segment, e.Name, e.Problem)
	}
	return fmt.Sprintf("hl7: segment %d: %s", e.Segment, e.Problem)
}

// ErrNoMSH: the message does not start with an MSH segment.
var ErrNoMSH = errors.New("hl7: message does not start with an MSH segment")

// Parse parses a message. Segments end with a carriage return; a line feed
// or CR LF is accepted too. Empty lines are skipped.
func Parse(raw []byte) (*Message, error) {
	s := strings.ReplaceAll(string(raw), "\r\n", "\r")
	s = strings.ReplaceAll(s, "\n", "\r")
	if !strings.HasPrefix(s, "MSH") || len(s) < 8 {
		return nil, ErrNoMSH
	}
	d := Delimiters{Field: s[3]}
	enc, _, _ := strings.Cut(s[4:], string(d.Field))
	if len(enc) < 4 {
		return nil, &ParseError{Segment: 1, Name: "MSH", Problem: "MSH-2 must hold 4 encoding characters (^~\\&)"}
	}
	d.Component, d.Repetition, d.Escape, d.Subcomponent = enc[0], enc[1], enc[2], enc[3]
	seen := map[byte]bool{d.Field: true}
	for _, c := range []byte{d.Component, d.Repetition, d.Escape, d.Subcomponent} {
		if seen[c] || c == '\r' || isAlnum(c) {
			return nil, &ParseError{Segment: 1, Name: "MSH", Problem: "MSH-1/MSH-2 delimiters must be distinct punctuation"}
		}
		seen[c] = true
	}
	m := &Message{Delimiters: d}
	n := 0
	for line := range strings.SplitSeq(s, "\r") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		n++
		seg, err := d.parseSegment(line, n)
		if err != nil {
			return nil, err
		}
		m.Segments = append(m.Segments, seg)
	}
	return m, nil
}

func isAlnum(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
}

func (d Delimiters) parseSegment(line string, n int) (Segment, error) {
	if len(line) < 3 {
		return Segment{}, &ParseError{Segment: n, Problem: "segment name must be 3 characters"}
	}
	name := line[:3]
	for i := 0; i < 3; i++ {
		if c := name[i]; !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return Segment{}, &ParseError{Segment: n, Problem: "segment name must be 3 upper-case letters or digits"}
		}
	}
	if len(line) > 3 && line[3] != d.Field {
		return Segment{}, &ParseError{Segment: n, Name: name, Problem: "segment name must be followed by the field separator"}
	}
	seg := Segment{Name: name}
	if len(line) <= 4 {
		return seg, nil
	}
	rest := line[4:]
	if name == "MSH" {
		if n != 1 {
			return Segment{}, &ParseError{Segment: n, Name: name, Problem: "MSH may only be the first segment"}
		}
		enc, after, _ := strings.Cut(rest, string(d.Field))
		seg.fields = append(seg.fields, Field{{{string(d.Field)}}}, Field{{{enc}}})
		if after == "" && !strings.Contains(rest, string(d.Field)) {
			return seg, nil
		}
		rest = after
	}
	for f := range strings.SplitSeq(rest, string(d.Field)) {
		field, err := d.parseField(f)
		if err != nil {
			return Segment{}, &ParseError{Segment: n, Name: name, Problem: fmt.Sprintf("field %d: %v", len(seg.fields)+1, err)}
		}
		seg.fields = append(seg.fields, field)
	}
	return seg, nil
}

func (d Delimiters) parseField(f string) (Field, error) {
	if f == "" {
		return nil, nil
	}
	var field Field
	for r := range strings.SplitSeq(f, string(d.Repetition)) {
		var rep Repetition
		for c := range strings.SplitSeq(r, string(d.Component)) {
			var comp Component
			for sc := range strings.SplitSeq(c, string(d.Subcomponent)) {
				v, err := d.Unescape(sc)
				if err != nil {
					return nil, err
				}
				comp = append(comp, v)
			}
			rep = append(rep, comp)
		}
		field = append(field, rep)
	}
	return field, nil
}

// Unescape replaces the escape sequences of a value: \F\ \S\ \T\ \R\ \E\
// (the delimiters), \Xhh..\ (hexadecimal bytes) and \.br\ (a line break).
// Formatting sequences it does not know (\H\, \N\, ...) are dropped.
func (d Delimiters) Unescape(s string) (string, error) {
	e := string(d.Escape)
	if !strings.Contains(s, e) {
		return s, nil
	}
	var b strings.Builder
	for {
		i := strings.Index(s, e)
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		b.WriteString(s[:i])
		j := strings.Index(s[i+1:], e)
		if j < 0 {
			return "", errors.New("unterminated escape sequence")
		}
		seq := s[i+1 : i+1+j]
		s = s[i+2+j:]
		switch {
		case seq == "F":
			b.WriteByte(d.Field)
		case seq == "S":
			b.WriteByte(d.Component)
		case seq == "T":
			b.WriteByte(d.Subcomponent)
		case seq == "R":
			b.WriteByte(d.Repetition)
		case seq == "E":
			b.WriteByte(d.Escape)
		case seq == ".br":
			b.WriteByte('\n')
		case len(seq) > 1 && seq[0] == 'X':
			hex := seq[1:]
			if len(hex)%2 != 0 {
				return "", errors.New("odd number of digits in a \\X\\ escape")
			}
			for k := 0; k < len(hex); k += 2 {
				v, err := strconv.ParseUint(hex[k:k+2], 16, 8)
				if err != nil {
					return "", errors.New("bad hexadecimal digits in a \\X\\ escape")
				}
				b.WriteByte(byte(v))
			}
		case seq == "":
			return "", errors.New("empty escape sequence")
		default:
			// formatting commands (\H\, \N\, \.sp\ ...) carry no data
		}
	}
}

// Encode escapes the delimiters in a value for writing.
func (d Delimiters) Encode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case d.Escape:
			b.WriteString(string(d.Escape) + "E" + string(d.Escape))
		case d.Field:
			b.WriteString(string(d.Escape) + "F" + string(d.Escape))
		case d.Component:
			b.WriteString(string(d.Escape) + "S" + string(d.Escape))
		case d.Subcomponent:
			b.WriteString(string(d.Escape) + "T" + string(d.Escape))
		case d.Repetition:
			b.WriteString(string(d.Escape) + "R" + string(d.Escape))
		case '\r', '\n':
			b.WriteString(string(d.Escape) + ".br" + string(d.Escape))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// Segment returns the first segment with the name, or nil.
func (m *Message) Segment(name string) *Segment {
	for i := range m.Segments {
		if m.Segments[i].Name == name {
			return &m.Segments[i]
		}
	}
	return nil
}

// Get returns the value at a terser-style path "SEG-f[.c[.s]]" (1-based;
// the first repetition), or "" when absent: Get("PID-3.4.1").
func (m *Message) Get(path string) string {
	name, rest, ok := strings.Cut(path, "-")
	if !ok {
		return ""
	}
	seg := m.Segment(name)
	if seg == nil {
		return ""
	}
	parts := strings.Split(rest, ".")
	idx := make([]int, 3)
	idx[1], idx[2] = 1, 1
	for i, p := range parts {
		if i > 2 {
			return ""
		}
		v, err := strconv.Atoi(p)
		if err != nil || v < 1 {
			return ""
		}
		idx[i] = v
	}
	return seg.Field(idx[0]).First().Sub(idx[1], idx[2])
}

// Field returns field n (1-based), or nil when absent.
func (s *Segment) Field(n int) Field {
	if s == nil || n < 1 || n > len(s.fields) {
		return nil
	}
	return s.fields[n-1]
}

// Len is the number of fields of the segment.
func (s *Segment) Len() int { return len(s.fields) }

// First is the field's first repetition.
func (f Field) First() Repetition {
	if len(f) == 0 {
		return nil
	}
	return f[0]
}

// String is the first component of the first repetition.
func (f Field) String() string { return f.First().Comp(1) }

// Comp returns component n (1-based), its first subcomponent.
func (r Repetition) Comp(n int) string { return r.Sub(n, 1) }

// Sub returns subcomponent s of component c (both 1-based), or "".
func (r Repetition) Sub(c, s int) string {
	if c < 1 || c > len(r) || s < 1 || s > len(r[c-1]) {
		return ""
	}
	return r[c-1][s-1]
}
