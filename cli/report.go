package cli

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/postgres"
	"github.com/caseflow/caseflow/report"
)

// reportFilter holds the flags every report shares.
type reportFilter struct {
	program, manager, from, to string
}

func (rf *reportFilter) flags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&rf.program, "program", "", "only cases of this program")
	cmd.Flags().StringVar(&rf.manager, "manager", "", "only cases of this case manager (opaque staff id)")
	cmd.Flags().StringVar(&rf.from, "from", "", "first day of the period, YYYY-MM-DD (UTC; each report's anchor date, see docs/reports.md)")
	cmd.Flags().StringVar(&rf.to, "to", "", "last day of the period, YYYY-MM-DD (inclusive)")
}

func (rf reportFilter) filter() (report.Filter, error) {
	f := report.Filter{Program: rf.program, Manager: rf.manager, Now: time.Now()}
	for _, d := range []struct {
		flag, value string
		into        *time.Time
	}{{"--from", rf.from, &f.From}, {"--to", rf.to, &f.To}} {
		if d.value == "" {
			continue
		}
		t, err := time.Parse(time.DateOnly, d.value)
		if err != nil {
			return f, care.Invalidf(d.flag, "%q is not a date; use YYYY-MM-DD, e.g. 2026-03-01", d.value)
		}
		*d.into = t
	}
	return f, f.Validate()
}

var reportHelp = map[string]string{
	"tcm":            "Transitional care: discharges, contact within 2 business days, visit within 7/14 days, medication reconciliation, 30-day readmissions",
	"authorizations": "Prior authorizations: requests by urgency, decision turnaround against the 72-hour and 7-day deadlines, denials, appeals",
	"appointments":   "Appointments: booked, attended, no-show and cancellation rates, rebookings, reminders sent, skipped and failed",
	"calls":          "Follow-up calls: due, on time, late, missed, escalated, no-answer streaks, lost to contact",
	"ccm":            "Chronic care management: minutes per case per calendar month and the share reaching the target",
	"caseload":       "Caseload: open cases by phase, risk, model and manager; overdue work items by age",
}

func (a *app) reportCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Compliance and caseload reports, aggregated (no names, no free text)",
		Long: `Compliance and caseload reports computed over the records in PostgreSQL. Every figure is
an aggregate by program (and a total row "all"): no report shows a patient, a case id or
free text. The definitions (numerator, denominator, what counts as met, the source rule)
are in docs/reports.md.

--output is table, json or csv (csv: one block per section, each row led by the
section's name, blocks separated by an empty line).`,
		Example: `  caseflow report tcm --program transitional-care --from 2026-03-01 --to 2026-03-31
  caseflow report authorizations --output json
  caseflow report html --out report.html`,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			switch a.output {
			case "table", "json", "csv":
			default:
				return care.Invalidf("--output", "unknown value %q; use table, json or csv", a.output)
			}
			if a.timeout <= 0 {
				return care.Invalidf("--timeout", "must be more than 0, e.g. 30s or 2m")
			}
			return care.ValidateOpaqueID("--actor", a.actor)
		},
	}
	for _, name := range report.Names {
		var rf reportFilter
		sub := &cobra.Command{
			Use:   name,
			Short: reportHelp[name],
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				f, err := rf.filter()
				if err != nil {
					return err
				}
				var r report.Report
				if err := a.withStore(cmd, func(ctx context.Context, store *postgres.Store) error {
					r, err = report.Run(ctx, store.DB(), name, f)
					return err
				}); err != nil {
					return err
				}
				return a.printReport(r)
			},
		}
		rf.flags(sub)
		cmd.AddCommand(sub)
	}
	cmd.AddCommand(a.reportHTMLCommand())
	return cmd
}

func (a *app) reportHTMLCommand() *cobra.Command {
	var rf reportFilter
	var out string
	cmd := &cobra.Command{
		Use:     "html --out FILE",
		Short:   "Every report on one self-contained HTML page, with charts (nothing fetched at view time)",
		Args:    cobra.NoArgs,
		Example: `  caseflow report html --out report.html --from 2026-03-01 --to 2026-03-31`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return care.Invalidf("--out", "is required: the file to write, e.g. --out report.html")
			}
			f, err := rf.filter()
			if err != nil {
				return err
			}
			var page report.Page
			if err := a.withStore(cmd, func(ctx context.Context, store *postgres.Store) error {
				page, err = report.Collect(ctx, store.DB(), f)
				return err
			}); err != nil {
				return err
			}
			var buf bytes.Buffer
			if err := report.WriteHTML(&buf, page); err != nil {
				return err
			}
			if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
				return care.Invalidf("--out", "cannot write %s: %v", out, rootCause(err))
			}
			if a.json() {
				return a.printJSON(map[string]any{"out": out, "reports": report.Names, "bytes": buf.Len()})
			}
			fmt.Fprintf(a.out, "wrote %s (%d reports, %d bytes)\n", out, len(page.Reports), buf.Len())
			return nil
		},
	}
	rf.flags(cmd)
	cmd.Flags().StringVar(&out, "out", "", "the HTML file to write")
	return cmd
}

// printReport writes a report in the --output format.
func (a *app) printReport(r report.Report) error {
	switch a.output {
	case "json":
		return a.printJSON(r)
	case "csv":
		w := csv.NewWriter(a.out)
		for i, t := range r.Tables {
			if i > 0 {
				w.Write(nil)
			}
			w.Write(append([]string{"section"}, t.Columns...))
			for _, row := range t.Rows {
				rec := []string{t.Name}
				for _, v := range row {
					rec = append(rec, cell(v, ""))
				}
				w.Write(rec)
			}
		}
		w.Flush()
		return w.Error()
	}
	for i, t := range r.Tables {
		if i > 0 {
			fmt.Fprintln(a.out)
		}
		fmt.Fprintln(a.out, t.Title)
		tw := tabwriter.NewWriter(a.out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, strings.ToUpper(strings.Join(t.Columns, "\t")))
		for _, row := range t.Rows {
			vals := make([]string, len(row))
			for j, v := range row {
				vals[j] = cell(v, "-")
			}
			fmt.Fprintln(tw, strings.Join(vals, "\t"))
		}
		if len(t.Rows) == 0 {
			fmt.Fprintln(tw, "(none)")
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// cell writes one value; none for nil (no denominator).
func cell(v any, none string) string {
	switch x := v.(type) {
	case nil:
		return none
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	default:
		return fmt.Sprint(x)
	}
}
