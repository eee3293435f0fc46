package cli

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/postgres"
)

// The columns of an import file (CSV header names, JSON lines field names).
var (
	importColumns  = []string{"patient_ref", "program", "source", "model", "manager", "priority", "name", "birth_date"}
	requiredColumn = []string{"patient_ref", "program", "source"}
	priorities     = []string{"routine", "urgent"}
)

const (
	maxConcurrency = 64
	// stopAfterFailures is how many cases in a row may fail before an
	// import stops starting more: by then the cause (Temporal or the
	// database unreachable, say) is not the rows.
	stopAfterFailures = 10
	// maxListed is how many structural problems of a file are named.
	maxListed = 10
)

// ImportSummary is what "case import" reports, on stdout.
type ImportSummary struct {
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
	Cases      []ImportedCase `json:"cases"`
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

type importFlags struct {
	format, model, manager, progress string
	strict, dryRun                   bool
	concurrency                      int
	rate                             float64
}

func (a *app) importCommand() *cobra.Command {
	var f importFlags
	cmd := &cobra.Command{
		Use:   "import <file>",
		Short: "Open cases in bulk from a CSV or JSON lines file of candidates",
		Long: `Open one case per row of a file of candidates: an insurer's nightly list of
flagged members, a hospital's daily discharge list. Each row goes the same way
as "caseflow case open": the patient is registered in PostgreSQL, then the case
workflow is started.

The file is CSV with a header line, or JSON lines (one object per line). The
format comes from the extension (.csv, .jsonl, .ndjson) or --format; "-" reads
standard input and needs --format. Columns (CSV header names, JSON field names;
all values are text):
  patient_ref  required  the patient's reference in your records (PostgreSQL only)
  program      required  care-management program, e.g. complex-case
  source       required  referral, adt or claims
  model        optional  brokerage, clinical, strengths-based, intensive; default --model
  manager      optional  opaque id of the case manager; default --manager
  priority     optional  routine (default) or urgent: urgent rows are started first.
                         Nothing else: the case itself has no priority yet.
  name         optional  the patient's name (PostgreSQL only)
  birth_date   optional  YYYY-MM-DD (PostgreSQL only)

Every row is checked before anything is written. A file that cannot be read as
intended (empty, no header, unknown, duplicate or missing columns, not UTF-8, a
row with the wrong number of fields, malformed JSON) is refused as a whole. A
row with a bad value is reported with its line, field and reason and skipped;
with --strict no case is started at all. Rows asking for the same patient and
program are started once; if they disagree, none of them is started. Once
connected, and still before anything is written, each program is checked for
a policy in force; rows of a program without one are invalid too (--dry-run
connects to nothing, so it cannot check this).

Cases are started by --concurrency workers at most --rate a second. Running
the same file again opens nothing twice: cases opened before are reported as
already existing. Ctrl-C (or SIGTERM) stops starting new rows, lets the ones
in flight finish, prints the summary so far and exits 1; a second Ctrl-C
abandons the ones in flight. --timeout applies to each case.

Progress goes to stderr (a bar on a terminal, a line every 2 s otherwise), the
summary to stdout; with --output json stdout holds only the JSON summary.

Exit status: 0 when every row of the file is open (opened now or before);
1 otherwise: invalid rows (even though the valid ones were opened), failed or
unstarted cases, an interrupted run, or a refused file. With --dry-run, 0 when
every row is valid.`,
		Example: `  # check a file without writing anything
  caseflow case import demo/candidates.csv --dry-run

  # open them all, rows without a model get the clinical model
  caseflow case import demo/candidates.csv --model clinical

  # a nightly claims list in JSON lines, all-or-nothing, as JSON for a script
  caseflow case import flagged-2026-05-01.jsonl --strict --manager cm-ana --output json

  # from standard input, faster
  export-candidates | caseflow case import - --format csv --concurrency 16 --rate 200`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return fmt.Errorf("give one file of candidates (or - for standard input); see \"caseflow case import --help\"")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runImport(cmd.Context(), args[0], f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.format, "format", "", "csv or jsonl (default: from the file's extension)")
	fl.StringVar(&f.model, "model", "", "case-management model for rows without one: brokerage, clinical, strengths-based, intensive")
	fl.StringVar(&f.manager, "manager", "", "case manager for rows without one (an opaque id, e.g. cm-ana)")
	fl.BoolVar(&f.strict, "strict", false, "start nothing if any row is invalid")
	fl.BoolVar(&f.dryRun, "dry-run", false, "only read and check the file (not the programs' policies): connect to nothing, write nothing")
	fl.IntVar(&f.concurrency, "concurrency", 8, fmt.Sprintf("cases started at the same time (1-%d)", maxConcurrency))
	fl.Float64Var(&f.rate, "rate", 50, "at most this many cases started a second (0: no limit)")
	fl.StringVar(&f.progress, "progress", progressAuto, "progress on stderr: auto (bar on a terminal, else lines), bar, lines, none")
	return cmd
}

// candidate is one valid row to open.
type candidate struct {
	line   int
	urgent bool
	open   caseToOpen
}

func (a *app) runImport(ctx context.Context, path string, f importFlags) error {
	if f.concurrency < 1 || f.concurrency > maxConcurrency {
		return care.Invalidf("--concurrency", "must be from 1 to %d, got %d", maxConcurrency, f.concurrency)
	}
	if f.rate < 0 {
		return care.Invalidf("--rate", "must be 0 (no limit) or more cases a second, got %g", f.rate)
	}
	if err := checkProgressMode(f.progress); err != nil {
		return err
	}
	if f.model != "" {
		if _, err := care.ParseEnum("--model", f.model, care.Models); err != nil {
			return err
		}
	}
	if f.manager != "" {
		if err := care.ValidateOpaqueID("--manager", f.manager); err != nil {
			return err
		}
	}
	format, err := importFormat(path, f.format)
	if err != nil {
		return err
	}
	data, err := readImportFile(path)
	if err != nil {
		return err
	}
	var rows []importRow
	if format == "csv" {
		rows, err = parseCSV(data, f)
	} else {
		rows, err = parseJSONLines(data)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}

	sum := &ImportSummary{File: path, Format: format, DryRun: f.dryRun, Strict: f.strict, Rows: len(rows),
		Invalid: []RowProblem{}, Duplicates: []DuplicateRow{}, Failures: []RowFailure{}, Cases: []ImportedCase{}}
	todo := a.checkRows(rows, f, sum)
	sum.ToOpen = len(todo)
	if f.dryRun || (f.strict && sum.InvalidRows > 0) || len(todo) == 0 {
		sum.NotStarted = len(todo)
		if f.dryRun {
			sum.NotStarted = 0
		}
		return a.finishImport(sum)
	}

	// Reach both systems before writing to either.
	dialCtx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	cases, err := a.cases(dialCtx)
	if err != nil {
		return err
	}
	store, err := a.db(dialCtx)
	if err != nil {
		return err
	}
	if todo, err = a.checkPrograms(dialCtx, store, todo, sum); err != nil {
		return err
	}
	if (f.strict && sum.InvalidRows > 0) || len(todo) == 0 {
		sum.NotStarted = len(todo)
		return a.finishImport(sum)
	}

	// Urgent rows first, then file order.
	slices.SortStableFunc(todo, func(x, y candidate) int {
		switch {
		case x.urgent == y.urgent:
			return 0
		case x.urgent:
			return -1
		}
		return 1
	})

	// ctx ends on the first interrupt: start nothing more. Cases in flight
	// run on, until a second interrupt ends inflight.
	inflight, abandon := context.WithCancel(context.WithoutCancel(ctx))
	defer abandon()
	dispatch, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	prog := newProgress(a.errOut, f.progress, len(todo))
	finished := make(chan struct{})
	var watchers sync.WaitGroup
	watchers.Go(func() {
		select {
		case <-finished:
			return
		case <-ctx.Done():
		}
		prog.stopping.Store(true)
		prog.note("interrupted: starting no more cases; finishing the ones in flight (interrupt again to abandon them)")
		again := make(chan os.Signal, 1)
		signal.Notify(again, os.Interrupt, syscall.SIGTERM)
		defer signal.Stop(again)
		select {
		case <-finished:
		case <-again:
			prog.note("abandoning the cases in flight; run the same command again to find out whether they were opened")
			abandon()
		}
	})

	type outcome struct {
		started bool
		res     OpenResult
		err     error
	}
	outcomes := make([]outcome, len(todo))
	jobs := make(chan int)
	var failuresInARow atomic.Int64
	var workers sync.WaitGroup
	for range f.concurrency {
		workers.Go(func() {
			for i := range jobs {
				opCtx, cancel := context.WithTimeout(inflight, a.timeout)
				res, err := a.openCase(opCtx, cases, store, todo[i].open)
				cancel()
				if err != nil && inflight.Err() != nil {
					err = errors.New("abandoned by a second interrupt before it finished; run the same command again to find out whether it was opened")
				}
				outcomes[i] = outcome{started: true, res: res, err: err}
				var invalid *care.ValidationError
				if errors.As(err, &invalid) { // refused on opening, e.g. a policy that ended since checkPrograms
					prog.done("invalid")
					continue
				}
				if err != nil {
					prog.done("failed")
					if failuresInARow.Add(1) == stopAfterFailures {
						prog.stopping.Store(true)
						stop(fmt.Errorf("stopped after %d cases in a row failed (the last: %s); fix the cause and run the same command again", stopAfterFailures, oneLine(err)))
					}
					continue
				}
				failuresInARow.Store(0)
				prog.done(res.Status)
			}
		})
	}
	rateNote := "no rate limit"
	if f.rate > 0 {
		rateNote = fmt.Sprintf("at most %g a second", f.rate)
	}
	prog.begin(fmt.Sprintf("starting %d cases from %s (%d at a time, %s)", len(todo), path, f.concurrency, rateNote))
	lim := newLimiter(f.rate)
	for i := range todo {
		if dispatch.Err() != nil || !lim.wait(dispatch.Done()) {
			break
		}
		select {
		case jobs <- i:
		case <-dispatch.Done():
		}
	}
	close(jobs)
	workers.Wait()
	close(finished)
	watchers.Wait()
	prog.finish()

	elapsed := time.Since(prog.start)
	sum.DurationSeconds = elapsed.Round(time.Millisecond).Seconds()
	for i, o := range outcomes {
		line := todo[i].line
		var invalid *care.ValidationError
		switch {
		case !o.started:
			sum.NotStarted++
		case errors.As(o.err, &invalid):
			field := strings.ReplaceAll(strings.TrimLeft(invalid.Field, "-"), "-", "_")
			sum.Invalid = append(sum.Invalid, RowProblem{Line: line, Field: field, Problem: invalid.Problem})
			sum.InvalidRows++
		case o.err != nil:
			sum.Failed++
			sum.Failures = append(sum.Failures, RowFailure{Line: line, CaseID: o.res.CaseID, Error: oneLine(o.err)})
		default:
			if o.res.Status == "opened" {
				sum.Opened++
			} else {
				sum.AlreadyExisted++
			}
			sum.Cases = append(sum.Cases, ImportedCase{Line: line, CaseID: o.res.CaseID, Status: o.res.Status})
		}
	}
	slices.SortFunc(sum.Failures, func(x, y RowFailure) int { return x.Line - y.Line })
	slices.SortStableFunc(sum.Invalid, func(x, y RowProblem) int { return x.Line - y.Line })
	slices.SortFunc(sum.Cases, func(x, y ImportedCase) int { return x.Line - y.Line })
	if done := len(todo) - sum.NotStarted; done > 0 {
		sum.CasesPerSecond = float64(int(float64(done)/max(elapsed.Seconds(), 0.001)*10)) / 10
	}
	sum.Interrupted = ctx.Err() != nil && sum.NotStarted > 0
	if cause := context.Cause(dispatch); !sum.Interrupted && cause != nil && !errors.Is(cause, context.Canceled) {
		sum.Stopped = cause.Error()
	}
	return a.finishImport(sum)
}

// checkPrograms asks, once per program, whether the program has a policy in
// force: what "case open" needs and the file alone cannot tell. The rows of a
// program without one are invalid, found before any case is started, so that
// --strict holds for them too. It returns the rows still to open.
func (a *app) checkPrograms(ctx context.Context, store *postgres.Store, todo []candidate, sum *ImportSummary) ([]candidate, error) {
	refused := map[string]*care.ValidationError{}
	for _, c := range todo {
		program := c.open.Case.Program
		if _, checked := refused[program]; checked {
			continue
		}
		_, err := a.policy(ctx, store, program)
		var invalid *care.ValidationError
		switch {
		case err == nil:
			refused[program] = nil
		case errors.As(err, &invalid):
			refused[program] = invalid
		default:
			return nil, fmt.Errorf("policy of program %s: %w", program, err)
		}
	}
	kept := todo[:0]
	for _, c := range todo {
		if invalid := refused[c.open.Case.Program]; invalid != nil {
			sum.Invalid = append(sum.Invalid, RowProblem{Line: c.line, Field: "program", Problem: invalid.Problem})
			sum.InvalidRows++
			continue
		}
		kept = append(kept, c)
	}
	slices.SortStableFunc(sum.Invalid, func(x, y RowProblem) int { return x.Line - y.Line })
	sum.ToOpen = len(kept)
	return kept, nil
}

// finishImport prints the summary and returns the error that sets the exit
// status, if any.
func (a *app) finishImport(sum *ImportSummary) error {
	var err error
	if a.json() {
		err = a.printJSON(sum)
	} else {
		a.printImportSummary(sum)
	}
	if err != nil {
		return err
	}
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

func (a *app) printImportSummary(sum *ImportSummary) {
	out := a.out
	switch {
	case sum.DryRun:
		fmt.Fprintf(out, "Checked %s (%s, %s); nothing was written (--dry-run)\n", sum.File, sum.Format, plural(sum.Rows, "row", "rows"))
	case sum.Strict && sum.InvalidRows > 0:
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

// importRow is one data row of an import file: its line and the values of
// the columns it has, with the problems found while reading it.
type importRow struct {
	line     int
	values   map[string]string
	problems []RowProblem
}

// checkRows validates every row, reports the invalid and duplicate ones in
// sum, and returns the cases to open, in file order.
func (a *app) checkRows(rows []importRow, f importFlags, sum *ImportSummary) []candidate {
	type checked struct {
		row    importRow
		c      candidate
		values map[string]string // with defaults applied, for comparing duplicates
	}
	var valid []*checked
	for _, r := range rows {
		values := maps.Clone(r.values)
		if values["model"] == "" {
			values["model"] = f.model
		}
		if values["manager"] == "" {
			values["manager"] = f.manager
		}
		req := caseRequest{PatientRef: values["patient_ref"], Name: values["name"], BirthDate: values["birth_date"],
			Program: values["program"], Model: values["model"], Manager: values["manager"], Source: values["source"]}
		o, problems := checkCase(req, a.actor)
		bad := r.problems
		for _, p := range problems {
			var ve *care.ValidationError
			if errors.As(p, &ve) {
				field := strings.ReplaceAll(ve.Field, "-", "_")
				if slices.ContainsFunc(r.problems, func(q RowProblem) bool { return q.Field == field }) {
					continue // already reported: the value was not text
				}
				bad = append(bad, RowProblem{Line: r.line, Field: field, Problem: ve.Problem})
			} else {
				bad = append(bad, RowProblem{Line: r.line, Field: "row", Problem: p.Error()})
			}
		}
		urgent := false
		if p := values["priority"]; p != "" {
			if _, err := care.ParseEnum("priority", p, priorities); err != nil {
				bad = append(bad, RowProblem{Line: r.line, Field: "priority", Problem: err.(*care.ValidationError).Problem})
			}
			urgent = p == "urgent"
		}
		if len(bad) > 0 {
			sum.Invalid = append(sum.Invalid, bad...)
			sum.InvalidRows++
			continue
		}
		valid = append(valid, &checked{row: r, c: candidate{line: r.line, urgent: urgent, open: o}, values: values})
	}

	// Rows for the same case must agree; rows for the same patient must
	// agree on the patient. Otherwise the outcome would depend on which row
	// ran last, so none of them is started.
	bad := map[int][]RowProblem{}
	byCase := map[[2]string][]*checked{}
	var caseKeys [][2]string
	byPatient := map[string][]*checked{}
	var patients []string
	for _, c := range valid {
		k := [2]string{c.values["patient_ref"], c.values["program"]}
		if byCase[k] == nil {
			caseKeys = append(caseKeys, k)
		}
		byCase[k] = append(byCase[k], c)
		if byPatient[k[0]] == nil {
			patients = append(patients, k[0])
		}
		byPatient[k[0]] = append(byPatient[k[0]], c)
	}
	conflict := func(group []*checked, field, what string) {
		var with []*checked
		for _, c := range group {
			if c.values[field] != "" {
				with = append(with, c)
			}
		}
		for _, c := range with {
			if c.values[field] == with[0].values[field] {
				continue
			}
			for _, x := range with {
				var others []string
				for _, y := range with {
					if y != x {
						others = append(others, fmt.Sprint(y.row.line))
					}
				}
				bad[x.row.line] = append(bad[x.row.line], RowProblem{Line: x.row.line, Field: field,
					Problem: fmt.Sprintf("differs from line %s for the same %s; none of these rows was started", strings.Join(others, ", "), what)})
			}
			return
		}
	}
	for _, k := range caseKeys {
		for _, field := range []string{"source", "model", "manager"} {
			conflict(byCase[k], field, "patient_ref and program")
		}
	}
	for _, p := range patients {
		conflict(byPatient[p], "name", "patient_ref")
		conflict(byPatient[p], "birth_date", "patient_ref")
	}
	var todo []candidate
	for _, k := range caseKeys {
		group := byCase[k]
		firstBad := 0
		for _, c := range group {
			if len(bad[c.row.line]) > 0 {
				firstBad = c.row.line
				break
			}
		}
		if firstBad != 0 {
			for _, c := range group {
				p := bad[c.row.line]
				if len(p) == 0 {
					p = []RowProblem{{Line: c.row.line, Field: "patient_ref", Problem: fmt.Sprintf("same patient_ref and program as line %d, which is invalid; not started", firstBad)}}
				}
				sum.Invalid = append(sum.Invalid, p...)
				sum.InvalidRows++
			}
			continue
		}
		first := group[0]
		for _, c := range group[1:] {
			sum.Duplicates = append(sum.Duplicates, DuplicateRow{Line: c.row.line, SameAs: first.row.line})
			first.c.urgent = first.c.urgent || c.c.urgent
		}
		sum.DuplicateRows += len(group) - 1
		todo = append(todo, first.c)
	}
	slices.SortStableFunc(sum.Invalid, func(x, y RowProblem) int { return x.Line - y.Line })
	slices.SortFunc(sum.Duplicates, func(x, y DuplicateRow) int { return x.Line - y.Line })
	slices.SortFunc(todo, func(x, y candidate) int { return x.line - y.line })
	return todo
}

// importFormat is csv or jsonl, from --format or the file's extension.
func importFormat(path, flag string) (string, error) {
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

// readImportFile reads the whole file, which must be UTF-8 text; a leading
// byte-order mark is dropped.
func readImportFile(path string) ([]byte, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, rootCause(err))
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
func parseCSV(data []byte, f importFlags) ([]importRow, error) {
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
		case !slices.Contains(importColumns, name):
			problems = append(problems, fmt.Sprintf("line 1: unknown column %q; the columns are %s", name, strings.Join(importColumns, ", ")))
		default:
			known++
		}
		if name != "" && index[name] == 0 {
			index[name] = i + 1
		}
	}
	if known == 0 {
		// Not quoted back: without a header the first line is a patient's row.
		return nil, fmt.Errorf("line 1: no header: the first line must name the columns (%s), but none of its values is a column name; nothing was written", strings.Join(importColumns, ", "))
	}
	for _, c := range requiredColumn {
		if index[c] == 0 {
			problems = append(problems, fmt.Sprintf("line 1: no %s column; every row needs a %s", c, c))
		}
	}
	if index["model"] == 0 && f.model == "" {
		problems = append(problems, "line 1: no model column and no --model: give the rows a model column or pass --model (brokerage, clinical, strengths-based, intensive)")
	}
	if index["manager"] == 0 && f.manager == "" {
		problems = append(problems, "line 1: no manager column and no --manager: give the rows a manager column or pass --manager (e.g. cm-ana)")
	}
	if err := problems.err(); err != nil {
		return nil, err
	}
	var rows []importRow
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
		row := importRow{line: line, values: map[string]string{}}
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
func parseJSONLines(data []byte) ([]importRow, error) {
	var problems structural
	var rows []importRow
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

func parseJSONLine(line int, raw []byte) (importRow, string) {
	row := importRow{line: line, values: map[string]string{}}
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
		case !slices.Contains(importColumns, key):
			return row, fmt.Sprintf("unknown field %q; the fields are %s", key, strings.Join(importColumns, ", "))
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
