package intake

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/connect"
)

// fileRow is one data row of an import file: its line and the values of
// the columns it has, with the problems found while reading it.
type fileRow struct {
	line     int
	values   map[string]string
	problems []RowProblem
}

// fileFormat is csv or jsonl, from --format or the file's extension.
func fileFormat(path, flag string) (string, error) {
	switch strings.ToLower(flag) {
	case "csv":
		return "csv", nil
	case "jsonl", "ndjson":
		return "jsonl", nil
	case "":
	default:
		return "", care.Invalidf("--format", "unknown value %q; use csv or jsonl", flag)
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		return "csv", nil
	case ".jsonl", ".ndjson":
		return "jsonl", nil
	}
	if path == "-" {
		return "", care.Invalidf("--format", "is required when reading standard input; use csv or jsonl")
	}
	return "", care.Invalidf("--format", "cannot tell the format of %s from its extension: name it .csv, .jsonl or .ndjson, or pass --format csv or --format jsonl", path)
}

// readFile reads the whole file ("-": stdin), which must be UTF-8 text; a leading
// byte-order mark is dropped.
func readFile(path string, stdin io.Reader) ([]byte, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, connect.RootCause(err))
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		off := 0
		for off < len(data) {
			r, size := utf8.DecodeRune(data[off:])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			off += size
		}
		line := lineAt(data, int64(off))
		col := off - (bytes.LastIndexByte(data[:off], '\n') + 1) + 1
		return nil, fmt.Errorf("%s: line %d: not UTF-8 text (byte 0x%02x at byte %d of the line); save the file as UTF-8 (e.g. \"CSV UTF-8\" in a spreadsheet) and import it again; nothing was written", path, line, data[off], col)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("%s: the file is empty: expected a header line naming the columns (e.g. patient_ref,program,source,model,manager) and one row per case; nothing was written", path)
	}
	return data, nil
}

// structural collects the problems that make a file unreadable as intended.
type structural []string

func (s structural) err() error {
	if len(s) == 0 {
		return nil
	}
	msg := strings.Join(s[:min(len(s), maxListed)], "; ")
	if len(s) > maxListed {
		msg += fmt.Sprintf("; and %d more", len(s)-maxListed)
	}
	return errors.New(msg + "; nothing was written")
}

// parseCSV reads a CSV file with a header line.
func parseCSV(data []byte, opts Options) ([]fileRow, error) {
	r := csv.NewReader(bytes.NewReader(data))
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%s; nothing was written", csvError(err))
	}
	var problems structural
	index := map[string]int{}
	known := 0
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(h))
		header[i] = name
		switch {
		case name == "":
			problems = append(problems, fmt.Sprintf("line 1: column %d has no name in the header (a trailing comma?)", i+1))
		case index[name] > 0:
			problems = append(problems, fmt.Sprintf("line 1: column %q appears twice (columns %d and %d)", name, index[name], i+1))
		case !slices.Contains(columns, name):
			problems = append(problems, fmt.Sprintf("line 1: unknown column %q; the columns are %s", name, strings.Join(columns, ", ")))
		default:
			known++
		}
		if name != "" && index[name] == 0 {
			index[name] = i + 1
		}
	}
	if known == 0 {
		// Not quoted back: without a header the first line is a patient's row.
		return nil, fmt.Errorf("line 1: no header: the first line must name the columns (%s), but none of its values is a column name; nothing was written", strings.Join(columns, ", "))
	}
	for _, c := range requiredColumn {
		if index[c] == 0 {
			problems = append(problems, fmt.Sprintf("line 1: no %s column; every row needs a %s", c, c))
		}
	}
	if index["model"] == 0 && opts.Model == "" {
		problems = append(problems, "line 1: no model column and no --model: give the rows a model column or pass --model (brokerage, clinical, strengths-based, intensive)")
	}
	if index["manager"] == 0 && opts.Manager == "" {
		problems = append(problems, "line 1: no manager column and no --manager: give the rows a manager column or pass --manager (e.g. cm-ana)")
	}
	if err := problems.err(); err != nil {
		return nil, err
	}
	var rows []fileRow
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrFieldCount) {
			problems = append(problems, fmt.Sprintf("line %d: %d fields, the header has %d (quote values that contain commas)", pe.StartLine, len(rec), len(header)))
			continue
		}
		if err != nil {
			problems = append(problems, csvError(err))
			break
		}
		line, _ := r.FieldPos(0)
		row := fileRow{line: line, values: map[string]string{}}
		empty := true
		for i, v := range rec {
			v = strings.TrimSpace(v)
			row.values[header[i]] = v
			empty = empty && v == ""
		}
		if !empty { // spreadsheets export blank rows as ",,,,"
			rows = append(rows, row)
		}
	}
	return rows, problems.err()
}

func csvError(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		hint := ""
		if errors.Is(pe.Err, csv.ErrBareQuote) || errors.Is(pe.Err, csv.ErrQuote) {
			hint = ` (a value with a quote must be quoted as a whole, its quotes doubled: "O""Brien")`
		}
		return fmt.Sprintf("line %d: malformed CSV: %v%s", pe.Line, pe.Err, hint)
	}
	return fmt.Sprintf("malformed CSV: %v", err)
}

// parseJSONLines reads one JSON object per non-blank line. Field values must
// be strings (null counts as absent).
func parseJSONLines(data []byte) ([]fileRow, error) {
	var problems structural
	var rows []fileRow
	for i, raw := range bytes.Split(data, []byte("\n")) {
		line := i + 1
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 {
			continue
		}
		row, problem := parseJSONLine(line, raw)
		if problem != "" {
			problems = append(problems, fmt.Sprintf("line %d: %s", line, problem))
			continue
		}
		rows = append(rows, row)
	}
	return rows, problems.err()
}

func parseJSONLine(line int, raw []byte) (fileRow, string) {
	row := fileRow{line: line, values: map[string]string{}}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	malformed := func(err error) string {
		var syntax *json.SyntaxError
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return "malformed JSON: the line ends in the middle of the object; each line must hold one whole JSON object"
		}
		if errors.As(err, &syntax) {
			return "malformed JSON: " + strings.TrimPrefix(err.Error(), "json: ") + "; each line must hold one JSON object"
		}
		return "malformed JSON: " + err.Error()
	}
	tok, err := dec.Token()
	if err != nil {
		return row, malformed(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return row, "not a JSON object; each line must hold one object, e.g. {\"patient_ref\": \"MRN-0042\", \"program\": \"complex-case\", \"source\": \"referral\"}"
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return row, malformed(err)
		}
		key := tok.(string)
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return row, malformed(err)
		}
		switch {
		case seen[key]:
			return row, fmt.Sprintf("field %q appears twice", key)
		case !slices.Contains(columns, key):
			return row, fmt.Sprintf("unknown field %q; the fields are %s", key, strings.Join(columns, ", "))
		}
		seen[key] = true
		var s *string
		if err := json.Unmarshal(value, &s); err != nil {
			row.problems = append(row.problems, RowProblem{Line: line, Field: key, Problem: "must be a JSON string, not " + jsonKind(value)})
			continue
		}
		if s != nil {
			row.values[key] = strings.TrimSpace(*s)
		}
	}
	if _, err := dec.Token(); err != nil {
		return row, malformed(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return row, "unexpected data after the JSON object; each line must hold one object"
	}
	return row, ""
}

// jsonKind names the kind of a JSON value without quoting it: it may be
// patient data.
func jsonKind(v json.RawMessage) string {
	switch v[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "true or false"
	}
	return "a number"
}

func lineAt(data []byte, offset int64) int {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	return bytes.Count(data[:offset], []byte("\n")) + 1
}
