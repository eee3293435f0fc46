package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/caseflow/caseflow/intake"
)

const importHelp = `Open one case per row of a file of candidates: an insurer's nightly list of
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
with --strict no case is started at all (a row found invalid only as it is
opened, such as an unregistered manager, stops the import there and the
summary says what was opened). Rows asking for the same patient and
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
every row is valid.`

const importExample = `  # check a file without writing anything
  caseflow case import demo/candidates.csv --dry-run

  # open them all, rows without a model get the clinical model
  caseflow case import demo/candidates.csv --model clinical

  # a nightly claims list in JSON lines, all-or-nothing, as JSON for a script
  caseflow case import flagged-2026-05-01.jsonl --strict --manager cm-ana --output json

  # from standard input, faster
  export-candidates | caseflow case import - --format csv --concurrency 16 --rate 200`

func (a *app) importCommand() *cobra.Command {
	var o intake.Options
	var metricsFile string
	cmd := &cobra.Command{
		Use:     "import <file>",
		Short:   "Open cases in bulk from a CSV or JSON lines file of candidates",
		Long:    importHelp,
		Example: importExample,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return importFailed{errors.New("give one file of candidates (or - for standard input); see \"caseflow case import --help\"")}
			}
			return nil
		},
		// A wrong flag is a failure of the import like any other: exit
		// status 1, and nothing on stdout (its help, docs/import.md).
		PersistentPreRunE: func(*cobra.Command, []string) error {
			if err := a.checkGlobalFlags(); err != nil {
				return importFailed{err}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.runImport(cmd.Context(), args[0], o, metricsFile); err != nil {
				return importFailed{err}
			}
			return nil
		},
	}
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return importFailed{badFlag(c, err)} })
	fl := cmd.Flags()
	fl.StringVar(&o.Format, "format", "", "csv or jsonl (default: from the file's extension)")
	fl.StringVar(&o.Model, "model", "", "case-management model for rows without one: brokerage, clinical, strengths-based, intensive")
	fl.StringVar(&o.Manager, "manager", "", "case manager for rows without one (an opaque id, e.g. cm-ana)")
	fl.BoolVar(&o.Strict, "strict", false, "start nothing if any row is invalid")
	fl.BoolVar(&o.DryRun, "dry-run", false, "only read and check the file (not the programs' policies): connect to nothing, write nothing")
	fl.IntVar(&o.Concurrency, "concurrency", 8, fmt.Sprintf("cases started at the same time (1-%d)", intake.MaxConcurrency))
	fl.Float64Var(&o.Rate, "rate", 50, "at most this many cases started a second (0: no limit)")
	fl.StringVar(&o.Progress, "progress", intake.ProgressAuto, "progress on stderr: auto (bar on a terminal, else lines), bar, lines, none")
	fl.StringVar(&metricsFile, "metrics-file", "", "also write the rows by result as Prometheus metrics to this file (for node_exporter's textfile collector)")
	return cmd
}

// runImport reads and checks the file, reaches Temporal and PostgreSQL,
// checks the programs and opens the cases, then prints the summary.
func (a *app) runImport(ctx context.Context, path string, o intake.Options, metricsFile string) error {
	o.Actor, o.Timeout, o.Log = a.actor, a.timeout, a.errOut
	b, err := intake.Load(path, o)
	if err != nil {
		return err
	}
	if b.Pending() {
		// Reach both systems before writing to either.
		dialCtx, cancel := context.WithTimeout(ctx, a.timeout)
		defer cancel()
		op, err := a.opener(dialCtx)
		if err != nil {
			return err
		}
		// The actor opens every row: one who is not registered staff
		// refuses the file once, before anything is written, instead of
		// every row on its own.
		if err := op.checkStaff(dialCtx, "--actor", a.actor); err != nil {
			return err
		}
		if err := b.CheckPrograms(dialCtx, op); err != nil {
			return err
		}
		if b.Pending() {
			b.Run(ctx, op)
		}
	}
	if a.json() {
		// A case at a time: the summary of a large import is never all in memory.
		if err := b.Summary.WriteJSON(a.out); err != nil {
			return err
		}
	} else {
		b.Summary.Print(a.out)
	}
	if metricsFile != "" {
		if err := b.Summary.WriteMetricsFile(metricsFile); err != nil {
			return err
		}
	}
	return b.Summary.Err()
}
