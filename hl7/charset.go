package hl7

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ToUTF8 returns a raw message as UTF-8, decoded from the character set
// its MSH-18 names: ISO-8859-1 ("8859/1") byte for byte; UTF-8 ("UNICODE
// UTF-8") as it is, when it is valid. A message that names no character set
// (or ASCII, the standard's default) and is not valid UTF-8 is read as
// ISO-8859-1, as senders of that default commonly send it. Any other
// character set is taken only when the message is plain ASCII. The error
// names MSH-18 and never quotes the message.
func ToUTF8(raw []byte) ([]byte, error) {
	ascii := true
	for _, b := range raw {
		if b >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return raw, nil
	}
	switch cs := charset(raw); cs {
	case "8859/1":
		return latin1(raw), nil
	case "", "ASCII":
		if utf8.Valid(raw) {
			return raw, nil
		}
		return latin1(raw), nil
	case "UNICODE UTF-8":
		if utf8.Valid(raw) {
			return raw, nil
		}
		return nil, fmt.Errorf("MSH-18 says UNICODE UTF-8 but the message is not valid UTF-8")
	default:
		return nil, fmt.Errorf("MSH-18 character set %q is not supported: send UNICODE UTF-8 or 8859/1", cs)
	}
}

// charset is the first repetition of MSH-18 on the message's first line,
// trimmed and upper-cased.
func charset(raw []byte) string {
	line := raw
	if i := bytes.IndexAny(raw, "\r\n"); i >= 0 {
		line = raw[:i]
	}
	if len(line) < 8 || !bytes.HasPrefix(line, []byte("MSH")) {
		return ""
	}
	fieldSep, repSep := line[3], line[5]
	fields := bytes.Split(line, []byte{fieldSep})
	// fields[0] is "MSH" and MSH-1 is the separator itself: MSH-n is fields[n-1].
	if len(fields) < 18 {
		return ""
	}
	v := fields[17]
	if i := bytes.IndexByte(v, repSep); i >= 0 {
		v = v[:i]
	}
	return strings.ToUpper(strings.TrimSpace(string(v)))
}

// latin1 decodes ISO-8859-1, whose bytes are the first 256 code points.
func latin1(raw []byte) []byte {
	out := make([]byte, 0, len(raw)+len(raw)/8)
	for _, b := range raw {
		out = utf8.AppendRune(out, rune(b))
	}
	return out
}
