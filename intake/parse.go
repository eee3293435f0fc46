package intake

import (
	"bufio"
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

// source is an import file that can be read more than once, row by row:
// the file at its path, or standard input (or a pipe) spooled to an
// unlinked temporary file. Nothing of it is kept in memory.
type source struct {
	path  string
	spool *os.File // nil: reopen path
}

// openSource opens path ("-": stdin). What cannot be read twice (stdin, a
// pipe, a device) is copied to a temporary file first, unlinked at once so
// that it goes away with the process whatever happens.
func openSource(path string, stdin io.Reader) (*source, error) {
	fail := func(err error) error { return fmt.Errorf("%s: %v", path, connect.RootCause(err)) }
	if path != "-" {
		fi, err := os.Stat(path)
		if err != nil {
			return nil, fail(err)
		}
		if fi.Mode().IsRegular() {
			return &source{path: path}, nil
		}
		f, err := os.Open(path)
		if err != nil {
			return nil, fail(err)
		}
		defer f.Close()
		stdin = f
	}
	spool, err := os.CreateTemp("", "caseflow-import-*")
	if err != nil {
		return nil, fmt.Errorf("%s: a temporary copy to read it twice: %w", path, err)
	}
	_ = os.Remove(spool.Name()) // unlinked: the open file stays readable
	if _, err := io.Copy(spool, stdin); err != nil {
		spool.Close()
		return nil, fail(err)
	}
	return &source{path: path, spool: spool}, nil
}

// open reads the file from its start, without its byte-order mark.
func (s *source) open() (io.Reader, func(), error) {
	var r io.Reader
	done := func() {}
	if s.spool != nil {
		r = io.NewSectionReader(s.spool, 0, 1<<62)
	} else {
		f, err := os.Open(s.path)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %v", s.path, connect.RootCause(err))
		}
		r, done = f, func() { f.Close() }
	}
	br := bufio.NewReaderSize(r, 64<<10)
	if bom, _ := br.Peek(3); bytes.Equal(bom, []byte("\xef\xbb\xbf")) {
		_, _ = br.Discard(3)
	}
	return br, done, nil
}

func (s *source) close() {
	if s != nil && s.spool != nil {
		s.spool.Close()
		s.spool = nil
	}
}

// checkText reads the whole file once, a line at a time: it must be UTF-8
// text (a leading byte-order mark is dropped) and not empty. It returns
// the number of lines.
func (s *source) checkText() (int, error) {
	r, done, err := s.open()
	if err != nil {
		return 0, err
	}
	defer done()
	br := r.(*bufio.Reader)
	blank := true
	line := 1
	for ; ; line++ {
		l, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) { // a line longer than the buffer
			long := append([]byte(nil), l...)
			for errors.Is(err, bufio.ErrBufferFull) {
				l, err = br.ReadSlice('\n')
				long = append(long, l...)
			}
			l = long
		}
		if err != nil && err != io.EOF {
			return 0, fmt.Errorf("%s: %v", s.path, connect.RootCause(err))
		}
		if !utf8.Valid(l) {
			off := 0
			for off < len(l) {
				r, size := utf8.DecodeRune(l[off:])
				if r == utf8.RuneError && size <= 1 {
					break
				}
				off += size
			}
			return 0, fmt.Errorf("%s: line %d: not UTF-8 text (byte 0x%02x at byte %d of the line); save the file as UTF-8 (e.g. \"CSV UTF-8\" in a spreadsheet) and import it again; nothing was written", s.path, line, l[off], off+1)
		}
		blank = blank && len(bytes.TrimSpace(l)) == 0
		if err == io.EOF {
			break
		}
	}
	if blank {
		return 0, fmt.Errorf("%s: the file is empty: expected a header line naming the columns (e.g. patient_ref,program,source,model,manager) and one row per case; nothing was written", s.path)
	}
	return line, nil
}

// eachRow reads the file's rows one by one and passes them to fn; an error
// from fn ends the reading and is returned. Structural problems are
// returned at the end, after every row was read.
func (s *source) eachRow(format string, opts Options, fn func(fileRow) error) error {
	r, done, err := s.open()
	if err != nil {
		return err
	}
	defer done()
	if format == "csv" {
		return parseCSV(r, opts, fn)
	}
	return parseJSONLines(r, fn)
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

// parseCSV reads a CSV file with a header line, passing each row to fn.
func parseCSV(in io.Reader, opts Options, fn func(fileRow) error) error {
	r := csv.NewReader(in)
	r.ReuseRecord = true
	header, err := r.Read()
	if err != nil {
		return fmt.Errorf("%s; nothing was written", csvError(err))
	}
	header = slices.Clone(header)
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
		return fmt.Errorf("line 1: no header: the first line must name the columns (%s), but none of its values is a column name; nothing was written", strings.Join(columns, ", "))
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
		return err
	}
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
			if err := fn(row); err != nil {
				return err
			}
		}
	}
	return problems.err()
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

// parseJSONLines reads one JSON object per non-blank line, passing each row
// to fn. Field values must be strings (null counts as absent).
func parseJSONLines(in io.Reader, fn func(fileRow) error) error {
	var problems structural
	br, ok := in.(*bufio.Reader)
	if !ok {
		br = bufio.NewReader(in)
	}
	for line := 1; ; line++ {
		raw, err := br.ReadBytes('\n')
		if err != nil && err != io.EOF {
			return err
		}
		if trimmed := bytes.TrimSpace(raw); len(trimmed) > 0 {
			row, problem := parseJSONLine(line, trimmed)
			if problem != "" {
				problems = append(problems, fmt.Sprintf("line %d: %s", line, problem))
			} else if err := fn(row); err != nil {
				return err
			}
		}
		if err == io.EOF {
			break
		}
	}
	return problems.err()
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
