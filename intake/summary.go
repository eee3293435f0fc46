package intake

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
)

// Summary is what an import reports ("case import" on stdout).
type Summary struct {
	File   string `json:"file"`
	Format string `json:"format"`
	DryRun bool   `json:"dry_run"`
	Strict bool   `json:"strict"`
	// Rows is the number of data rows in the file; ToOpen the distinct,
	// valid cases among them (with --dry-run: as far as the file can tell).
	Rows   int `json:"rows"`
	ToOpen int `json:"to_open"`

	Opened         int `json:"opened"`
	AlreadyExisted int `json:"already_existed"`
	Failed         int `json:"failed"`
	// NotStarted counts valid cases never attempted: the import was
	// interrupted or stopped, or --strict refused the file.
	NotStarted    int `json:"not_started"`
	InvalidRows   int `json:"invalid_rows"`
	DuplicateRows int `json:"duplicate_rows"`

	Interrupted bool   `json:"interrupted"`
	Stopped     string `json:"stopped,omitempty"` // why it stopped starting cases early

	DurationSeconds float64 `json:"duration_seconds"`
	CasesPerSecond  float64 `json:"cases_per_second"`

	Invalid    []RowProblem   `json:"invalid"`
	Duplicates []DuplicateRow `json:"duplicates"`
	Failures   []RowFailure   `json:"failures"`
	// Cases are the cases opened or found, in file order, as a summary
	// decoded from JSON has them. The summary of a Batch.Run keeps its
	// own cases compactly instead (a few bytes each, however many rows):
	// read them with EachCase, which gives both. Its JSON (MarshalJSON,
	// WriteJSON) lists them all under "cases".
	Cases []ImportedCase `json:"cases"`

	run *runCases
}

// runCases are the cases of a run: its cases to open, in file order, and
// what became of each.
type runCases struct {
	todo []candidate
	res  *results
}

// EachCase calls fn with each case opened or found, in file order.
func (sum *Summary) EachCase(fn func(ImportedCase)) {
	for _, c := range sum.Cases {
		fn(c)
	}
	if sum.run == nil {
		return
	}
	for i, st := range sum.run.res.status {
		if st == resultOpened || st == resultExisted {
			status := StatusOpened
			if st == resultExisted {
				status = StatusAlreadyExists
			}
			fn(ImportedCase{Line: int(sum.run.todo[i].line), CaseID: sum.run.res.ids[i], Status: status})
		}
	}
}

// plainSummary is a Summary without its methods, for encoding/json.
type plainSummary Summary

// MarshalJSON encodes the summary with every case under "cases".
func (sum *Summary) MarshalJSON() ([]byte, error) {
	p := plainSummary(*sum)
	if sum.run != nil {
		p.Cases = []ImportedCase{}
		sum.EachCase(func(c ImportedCase) { p.Cases = append(p.Cases, c) })
	}
	return json.Marshal(p)
}

// WriteJSON writes the summary as a json.Encoder indenting by two spaces
// writes it, but a case at a time: the summary of an import of a million
// rows is never all in memory.
func (sum *Summary) WriteJSON(w io.Writer) error {
	p := plainSummary(*sum)
	p.Cases = []ImportedCase{}
	var head bytes.Buffer
	enc := json.NewEncoder(&head)
	enc.SetIndent("", "  ")
	if err := enc.Encode(p); err != nil {
		return err
	}
	const tail = "[]\n}\n"
	bw := bufio.NewWriter(w)
	bw.Write(bytes.TrimSuffix(head.Bytes(), []byte(tail)))
	n := 0
	var err error
	sum.EachCase(func(c ImportedCase) {
		if err != nil {
			return
		}
		sep := ",\n    "
		if n == 0 {
			sep = "[\n    "
		}
		n++
		var b []byte
		if b, err = json.MarshalIndent(c, "    ", "  "); err == nil {
			bw.WriteString(sep)
			bw.Write(b)
		}
	})
	if err != nil {
		return err
	}
	if n == 0 {
		bw.WriteString(tail)
	} else {
		bw.WriteString("\n  ]\n}\n")
	}
	return bw.Flush()
}

// RowProblem is one reason a row is invalid.
type RowProblem struct {
	Line    int    `json:"line"`
	Field   string `json:"field"`
	Problem string `json:"problem"`
}

func (p RowProblem) String() string {
	return fmt.Sprintf("line %d: %s: %s", p.Line, p.Field, p.Problem)
}

// DuplicateRow is a row that asks for the same case as an earlier one, with
// the same values; the case is started once.
type DuplicateRow struct {
	Line   int `json:"line"`
	SameAs int `json:"same_as"`
}

// RowFailure is a valid row whose case could not be opened.
type RowFailure struct {
	Line   int    `json:"line"`
	CaseID string `json:"case_id,omitempty"`
	Error  string `json:"error"`
}

// ImportedCase is the case a row opened or found.
type ImportedCase struct {
	Line   int    `json:"line"`
	CaseID string `json:"case_id"`
	Status string `json:"status"` // opened or already-exists
}

// Err is the error that sets the exit status of the import summed up, if
// any: nil when every row is open (opened now or before), or, with
// --dry-run, every row is valid.
func (sum *Summary) Err() error {
	again := "; run the same command again to open the rest (cases already opened are not opened twice)"
	switch {
	case sum.DryRun && sum.InvalidRows > 0:
		return fmt.Errorf("--dry-run: %s invalid; nothing was written", plural(sum.InvalidRows, "row is", "rows are"))
	case sum.DryRun:
		return nil
	case sum.Interrupted:
		return fmt.Errorf("import interrupted: %s not started, %s%s", plural(sum.NotStarted, "case", "cases"), plural(sum.Failed, "failed", "failed"), again)
	case sum.Stopped != "":
		return fmt.Errorf("import %s; %s not started", sum.Stopped, plural(sum.NotStarted, "case", "cases"))
	case sum.Strict && sum.InvalidRows > 0:
		return fmt.Errorf("--strict: %s invalid, so no case was started; fix them and run again", plural(sum.InvalidRows, "row is", "rows are"))
	case sum.Failed > 0:
		return fmt.Errorf("import incomplete: %s could not be opened (see the summary)%s", plural(sum.Failed, "case", "cases"), again)
	case sum.InvalidRows > 0:
		return fmt.Errorf("import incomplete: %s invalid and skipped (see the summary); fix them and run the same file again (cases already opened are not opened twice)", plural(sum.InvalidRows, "row is", "rows are"))
	}
	return nil
}

// plural is "1 case" or "2 cases".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// Print writes the summary as text for staff.
func (sum *Summary) Print(out io.Writer) {
	switch {
	case sum.DryRun:
		fmt.Fprintf(out, "Checked %s (%s, %s); nothing was written (--dry-run)\n", sum.File, sum.Format, plural(sum.Rows, "row", "rows"))
	case sum.Strict && sum.InvalidRows > 0 && sum.Opened+sum.AlreadyExisted+sum.Failed == 0:
		fmt.Fprintf(out, "Checked %s (%s, %s); no case was started (--strict)\n", sum.File, sum.Format, plural(sum.Rows, "row", "rows"))
	case sum.Rows == 0:
		fmt.Fprintf(out, "%s (%s) has a header and no rows; nothing to do\n", sum.File, sum.Format)
	default:
		fmt.Fprintf(out, "Imported %s (%s, %s) in %.1fs, %.1f cases/s\n", sum.File, sum.Format, plural(sum.Rows, "row", "rows"), sum.DurationSeconds, sum.CasesPerSecond)
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', tabwriter.AlignRight)
	row := func(n int, what string) { fmt.Fprintf(w, "  %d\t  %s\n", n, what) }
	if sum.DryRun {
		row(sum.ToOpen, "cases to open (or found already open)")
	} else {
		row(sum.Opened, "opened")
		row(sum.AlreadyExisted, "already existed (opened before, maybe since closed)")
		row(sum.Failed, "failed")
		row(sum.NotStarted, "not started")
	}
	if sum.InvalidRows > 0 && !sum.Strict && !sum.DryRun {
		row(sum.InvalidRows, "invalid rows (skipped)")
	} else {
		row(sum.InvalidRows, "invalid rows")
	}
	row(sum.DuplicateRows, "duplicate rows (one case each)")
	w.Flush()
	if sum.Stopped != "" {
		fmt.Fprintf(out, "\nStopped: %s\n", sum.Stopped)
	}
	if len(sum.Invalid) > 0 {
		fmt.Fprintln(out, "\nInvalid rows")
		for _, p := range sum.Invalid {
			fmt.Fprintln(out, "  "+p.String())
		}
	}
	if len(sum.Duplicates) > 0 {
		fmt.Fprintln(out, "\nDuplicate rows")
		for _, d := range sum.Duplicates {
			fmt.Fprintf(out, "  line %d: same patient_ref and program as line %d\n", d.Line, d.SameAs)
		}
	}
	if len(sum.Failures) > 0 {
		fmt.Fprintln(out, "\nFailed")
		for _, f := range sum.Failures {
			fmt.Fprintf(out, "  line %d: %s\n", f.Line, f.Error)
		}
	}
}
