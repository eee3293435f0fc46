package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/caseflow/caseflow/care"
)

// readJSONFile decodes the JSON file at path ("-" is stdin) into v, refusing
// unknown fields and trailing data, and names the line of any error.
func readJSONFile(path string, v any) error {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return care.Errorf(care.KindInvalid, "file %s does not exist; give the path of a JSON file (or - for stdin)", path)
	case err != nil:
		return care.Errorf(care.KindInvalid, "file %s: %v", path, rootCause(err))
	}
	if !utf8.Valid(data) {
		return care.Errorf(care.KindInvalid, "%s: not UTF-8 text; save the file as UTF-8 JSON", path)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return care.Errorf(care.KindInvalid, "%s: %s", path, describeJSONError(data, dec.InputOffset(), err))
	}
	if dec.More() {
		return care.Errorf(care.KindInvalid, "%s: unexpected data after the JSON object; the file must hold one object", path)
	}
	return nil
}

func describeJSONError(data []byte, offset int64, err error) string {
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		offset = syntax.Offset
		return fmt.Sprintf("line %d: malformed JSON: %s", lineAt(data, offset), syntax.Error())
	case errors.As(err, &typeErr):
		return fmt.Sprintf("line %d: field %q must be a %s, not %s", lineAt(data, typeErr.Offset), typeErr.Field, typeErr.Type, typeErr.Value)
	case errors.Is(err, io.EOF):
		return "the file is empty; it must hold one JSON object"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "malformed JSON: the file ends in the middle of the object"
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		if at, ok := fieldOffset(data, unknownField(err)); ok {
			offset = at
		}
		return fmt.Sprintf("line %d: %s; check the spelling against the example in \"--help\"", lineAt(data, offset), strings.TrimPrefix(err.Error(), "json: "))
	}
	return err.Error()
}

// unknownField is the name in a "json: unknown field" error: the last
// element of its path.
func unknownField(err error) string {
	name := strings.TrimPrefix(err.Error(), "json: unknown field ")
	name = strings.Trim(name, "\"")
	if i := strings.LastIndex(name, "."); i >= 0 {
		name = name[i+1:]
	}
	return name
}

// fieldOffset is the offset of the first object key called name in data,
// for the line of an unknown field (the decoder reports the end of the
// object it was in).
func fieldOffset(data []byte, name string) (int64, bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	type frame struct{ object, wantKey bool }
	var stack []frame
	for {
		before := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return 0, false
		}
		top := len(stack) - 1
		if s, ok := tok.(string); ok && top >= 0 && stack[top].object && stack[top].wantKey {
			stack[top].wantKey = false
			if s == name {
				for before < int64(len(data)) && strings.ContainsRune(" \t\r\n,", rune(data[before])) {
					before++
				}
				return before, true
			}
			continue
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:top]
			continue
		}
		if top >= 0 && stack[top].object {
			stack[top].wantKey = true // this value ends the pair
		}
		if d, ok := tok.(json.Delim); ok {
			stack = append(stack, frame{object: d == '{', wantKey: d == '{'})
		}
	}
}

func lineAt(data []byte, offset int64) int {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	return bytes.Count(data[:offset], []byte("\n")) + 1
}

// parseScores reads outcome scores written as
// physical_function=3,clinical_results=2,... into s. Domains not named keep
// their value.
func parseScores(flag, value string, s *care.OutcomeScores) error {
	fields := map[string]*int{
		"physical_function": &s.PhysicalFunction, "clinical_results": &s.ClinicalResults,
		"financial": &s.Financial, "satisfaction": &s.Satisfaction,
		"knowledge": &s.Knowledge, "psychosocial": &s.Psychosocial,
	}
	for _, part := range strings.Split(value, ",") {
		name, num, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return care.Invalidf(flag, "%q is not domain=score; e.g. physical_function=3,clinical_results=2,financial=3,satisfaction=4,knowledge=3,psychosocial=3", part)
		}
		p, known := fields[name]
		if !known {
			return care.Invalidf(flag, "unknown outcome domain %q; use physical_function, clinical_results, financial, satisfaction, knowledge, psychosocial", name)
		}
		n, err := strconv.Atoi(num)
		if err != nil {
			return care.Invalidf(flag, "score of %s must be a whole number from 1 to 5, got %q", name, num)
		}
		*p = n
	}
	return nil
}
