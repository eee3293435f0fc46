package hl7

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ToUTF8 returns a raw message as UTF-8, decoded from the character set
// its MSH-18 names: "8859/1" byte for byte from ISO-8859-1, except that
// bytes 0x80-0x9F (C1 controls, never text) are read as Windows-1252, which
// most senders of "8859/1" send (curly quotes, dashes); "UNICODE UTF-8" or
// "UNICODE" as it is, when it is valid UTF-8. A message that names no
// character set (or ASCII, the standard's default) and is not valid UTF-8
// is read the same way as 8859/1. Any other character set is taken when the
// message is plain ASCII or valid UTF-8 (as senders label UTF-8 in their own
// ways). The error names MSH-18 and never quotes the message.
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
	case "UNICODE UTF-8", "UNICODE":
		if utf8.Valid(raw) {
			return raw, nil
		}
		return nil, fmt.Errorf("MSH-18 says %s but the message is not valid UTF-8", cs)
	default:
		if utf8.Valid(raw) {
			return raw, nil
		}
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

// latin1 decodes ISO-8859-1, whose bytes are the first 256 code points,
// with 0x80-0x9F read as Windows-1252 (cp1252); its five unassigned bytes
// stay C1 code points.
func latin1(raw []byte) []byte {
	out := make([]byte, 0, len(raw)+len(raw)/8)
	for _, b := range raw {
		r := rune(b)
		if b >= 0x80 && b <= 0x9F {
			r = cp1252[b-0x80]
		}
		out = utf8.AppendRune(out, r)
	}
	return out
}

// cp1252 is Windows-1252 from 0x80 to 0x9F.
var cp1252 = [32]rune{
	0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x8D, 0x017D, 0x8F,
	0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D, 0x017E, 0x0178,
}
