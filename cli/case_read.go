package cli

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	commonpb "go.temporal.io/api/common/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/caseclient"
	"github.com/caseflow/caseflow/postgres"
	"github.com/caseflow/caseflow/workflows"
)

func (a *app) showCommand() *cobra.Command {
	var web bool
	cmd := &cobra.Command{
		Use:   "show <case>",
		Short: "Show a case: phase, risk, plan, services, open items, notes, timeline",
		Long: `Show a case: phase (and whether its clocks are paused), risk, plan, services,
outcomes, open items with the task ids "case done" and "case call" take (the
appointment ids "case appointment" takes are in the Services table), the notes
staff wrote (from the audit trail in PostgreSQL) and the latest timeline
entries. --web prints the case's address
in the Temporal Web UI (CASEFLOW_UI_URL, default ` + defaultUIURL + `).`,
		Example: `  caseflow case show c-1a2b3c4d5e6f7a8b
  caseflow case show c-1a2b3c4d5e6f7a8b --output json | jq .open_items
  caseflow case show c-1a2b3c4d5e6f7a8b --web`,
		Args: exactlyOneCase,
		RunE: func(cmd *cobra.Command, args []string) error {
			caseID := args[0]
			if err := care.ValidateOpaqueID("case", caseID); err != nil {
				return err
			}
			if web {
				return a.printWeb(caseID)
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), a.timeout)
			defer cancel()
			cases, err := a.cases(ctx)
			if err != nil {
				return err
			}
			st, err := cases.Status(ctx, caseID)
			if err != nil {
				return a.caseError(caseID, err)
			}
			who := a.subject(ctx, caseID)
			if a.json() {
				return a.printJSON(struct {
					workflows.Status
					Subject *postgres.CaseSubject `json:"subject,omitempty"`
				}{st, who})
			}
			a.renderStatus(ctx, st, who)
			return nil
		},
	}
	cmd.Flags().BoolVar(&web, "web", false, "print the case's address in the Temporal Web UI")
	return cmd
}

func (a *app) renderStatus(ctx context.Context, st workflows.Status, who *postgres.CaseSubject) {
	w := tabwriter.NewWriter(a.out, 0, 4, 2, ' ', 0)
	c := st.Case
	row := func(k, v string) { fmt.Fprintf(w, "%s\t%s\n", k, v) }
	row("Case", c.ID)
	row("Phase", fmt.Sprintf("%s (since %s)", st.Phase, formatTime(st.PhaseSince)))
	renderPause(row, st)
	row("Program", fmt.Sprintf("%s (policy v%d)", c.Program, st.Policy.Version))
	row("Model", string(c.Model))
	row("Manager", c.Manager)
	row("Patient", describe(who)+", id "+c.PatientID)
	row("Source", string(c.Source))
	row("Opened", formatTime(c.OpenedAt)+" by "+c.OpenedBy)
	if st.Proposal != nil {
		row("Risk proposed", fmt.Sprintf("%s (score %d, %s: %s)", st.Proposal.Level, st.Proposal.Score, st.Proposal.Rules, strings.Join(st.Proposal.Factors, "; ")))
	}
	row("Risk", orDash(string(st.Risk)))
	row("Care category", orDash(string(st.Category)))
	if st.Paused {
		row("Paused", fmt.Sprintf("since %s: %s (outreach only; deadlines keep running)", formatTime(st.PausedAt), st.PauseReason))
	}
	if d := st.Discharge; d != nil && !d.TCMPeriodEnd.IsZero() {
		row("Discharged", fmt.Sprintf("%s (%s complexity); TCM period ends %s", orDash(d.Date), d.Complexity, formatTime(d.TCMPeriodEnd)))
	}
	if st.Closure != nil {
		row("Closed", fmt.Sprintf("%s: %s", formatTime(st.ClosedAt), st.Closure.Reason))
	}
	w.Flush()
	if st.Plan != nil {
		fmt.Fprintln(a.out, "\nGoals")
		for _, g := range st.Plan.Goals {
			fmt.Fprintf(w, "  %s\t%s\t%s\n", g.ID, g.Description, orDash(g.Due))
		}
		w.Flush()
	}
	a.renderServices(w, st.Services)
	renderPlanChanges(a.out, st.PlanChanges)
	if st.Assessment != nil {
		a.renderOutcomes(w, st)
	}
	a.renderOpenItems(w, st)
	a.renderNotes(ctx, w, c.ID)
	a.renderTimeline(w, st)
}

// renderServices prints the services of a case: status, authorization,
// appointment, attendance, reminders.
func (a *app) renderServices(w *tabwriter.Writer, services []care.ServiceState) {
	if len(services) == 0 {
		return
	}
	fmt.Fprintln(a.out)
	fmt.Fprintln(w, "Services\tstatus\tauthorization\tappointment\tattended\treminders sent")
	for _, s := range services {
		auth := "not required"
		if s.RequiresAuthorization {
			auth = "-"
		}
		if z := s.Authorization; z != nil {
			auth = string(z.Status)
			switch {
			case z.Number != "":
				auth += " " + z.Number + " until " + z.ValidTo.Local().Format(time.DateOnly)
			case z.Reason != "":
				auth += ": " + z.Reason
			case z.Status == care.AuthorizationPended && z.Exempt:
				auth += ", no decision deadline (exempt payer type)"
			case z.Status == care.AuthorizationPended:
				auth += ", decision due " + formatTime(z.DeadlineAt)
				if z.Escalated {
					auth += " (escalated)"
				}
			}
			if z.Related != "" {
				auth += " (appeal of " + z.Related + ")"
			}
		}
		appt := "-"
		if ap := s.Appointment; ap != nil {
			appt = fmt.Sprintf("%s %s %s (%s)", ap.ID, formatTime(ap.StartsAt), ap.ProviderID, ap.Status)
		}
		fmt.Fprintf(w, "  %s %s\t%s\t%s\t%s\t%d/%d\t%d\n", s.ID, s.Code, s.Status, auth, appt, s.Attended, s.Total(), s.RemindersSent)
	}
	w.Flush()
}

// renderOutcomes prints the outcome domains: baseline and evaluation.
func (a *app) renderOutcomes(w *tabwriter.Writer, st workflows.Status) {
	fmt.Fprintln(a.out)
	fmt.Fprintln(w, "Outcomes\tbaseline\tevaluation")
	base := st.Assessment.Baseline.Domains()
	for i, d := range base {
		final := "-"
		if st.Evaluation != nil {
			final = fmt.Sprint(st.Evaluation.Scores.Domains()[i].Score)
		}
		fmt.Fprintf(w, "  %s\t%d\t%s\n", d.Name, d.Score, final)
	}
	w.Flush()
}

// CaseListing is one row of "case list".
type CaseListing struct {
	CaseID  string     `json:"case_id"`
	Status  string     `json:"status"`
	Phase   string     `json:"phase"`
	Risk    string     `json:"risk,omitempty"`
	Program string     `json:"program"`
	Manager string     `json:"manager"`
	Name    string     `json:"name,omitempty"` // from PostgreSQL
	MRN     string     `json:"mrn,omitempty"`  // from PostgreSQL
	NextDue *time.Time `json:"next_due,omitempty"`
	// Overdue: NextDue has passed (the worklist marks the same).
	Overdue bool      `json:"overdue,omitempty"`
	Opened  time.Time `json:"opened"`
	Paused  bool      `json:"paused,omitempty"`
}

func (a *app) listCommand() *cobra.Command {
	var phase, risk, manager, program string
	var all bool
	var limit int
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List cases from Temporal visibility, most overdue first",
		Long: `List open cases (add --all for closed ones too), filtered by phase, risk,
manager or program, the most overdue first: by next due time, then the cases
with nothing due. It reads every case that matches from Temporal visibility,
page by page, and shows the first --limit (default ` + fmt.Sprint(defaultListLimit) + `; --limit 0 shows
all). A line on stderr says how many it shows of how many match:
  showing 50 of 10000 open cases (most overdue first); --limit N shows more, --limit 0 all
With --output json, stdout is the JSON array of the rows shown, and the line
is on stderr only when rows were left out.
The same filters work in the Temporal Web UI and CLI:
  temporal workflow list --query "CasePhase = 'assessment' AND CaseManager = 'cm-ana'"`,
		Example: `  caseflow case list
  caseflow case list --manager cm-ana --risk high
  caseflow case list --limit 0 --output json | jq length
  caseflow case list --phase follow-up --program complex-case --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit < 0 {
				return care.Invalidf("--limit", "must be 0 (all cases) or more, got %d", limit)
			}
			query, err := caseQuery(all, phase, risk, manager, program)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), a.timeout)
			defer cancel()
			tc, err := a.client(ctx)
			if err != nil {
				return err
			}
			rows, total, err := listCases(ctx, tc, query, limit, time.Now())
			if err != nil {
				return err
			}
			ids := make([]string, len(rows))
			for i, r := range rows {
				ids[i] = r.CaseID
			}
			who := a.subjects(ctx, ids)
			for i, r := range rows {
				if s, ok := who[r.CaseID]; ok {
					rows[i].MRN = s.ExternalRef
					if s.Name != nil {
						rows[i].Name = *s.Name
					}
				}
			}
			filtered := phase != "" || risk != "" || manager != "" || program != ""
			if line := listSummary(len(rows), total, all, filtered); line != "" && (!a.json() || len(rows) < total) {
				defer fmt.Fprintln(a.errOut, line)
			}
			return printRows(a, rows, func() error { return a.printCases(rows) })
		},
	}
	cmd.Flags().StringVar(&phase, "phase", "", "only cases in this phase")
	cmd.Flags().StringVar(&risk, "risk", "", "only cases at this risk level: low, moderate, high")
	cmd.Flags().StringVar(&manager, "manager", "", "only cases of this case manager")
	cmd.Flags().StringVar(&program, "program", "", "only cases in this program")
	cmd.Flags().BoolVar(&all, "all", false, "include closed cases")
	cmd.Flags().IntVar(&limit, "limit", defaultListLimit, "show the first this many cases, most overdue first (0: all)")
	return cmd
}

// defaultListLimit is how many cases "case list" shows unless --limit says.
const defaultListLimit = 50

// listSummary is the line "case list" prints on stderr: how many cases it
// shows of how many match, and how to see more. Empty when none match.
func listSummary(shown, total int, all, filtered bool) string {
	if total == 0 {
		return ""
	}
	noun := "open cases"
	if all {
		noun = "cases"
	}
	if total == 1 {
		noun = strings.TrimSuffix(noun, "s")
	}
	if filtered {
		noun += " matching the filters"
	}
	line := fmt.Sprintf("showing %d of %d %s (most overdue first)", shown, total, noun)
	if shown < total {
		line += "; --limit N shows more, --limit 0 all"
	}
	return line
}

// printCases prints the rows of "case list" as a table.
func (a *app) printCases(rows []CaseListing) error {
	if len(rows) == 0 {
		fmt.Fprintln(a.out, "no cases match")
		return nil
	}
	w := tabwriter.NewWriter(a.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "CASE\tPATIENT\tMRN\tSTATUS\tPHASE\tRISK\tPROGRAM\tMANAGER\tNEXT DUE")
	for _, r := range rows {
		due := "-"
		if r.NextDue != nil {
			due = formatTime(*r.NextDue) + dueMark(*r.NextDue, time.Now())
		}
		status := r.Status
		if r.Paused {
			status += " (paused)"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.CaseID, orDash(r.Name), orDash(r.MRN), status, r.Phase, orDash(r.Risk), r.Program, r.Manager, due)
	}
	return w.Flush()
}

// caseQuery is the visibility query of "case list" for its filters.
func caseQuery(all bool, phase, risk, manager, program string) (string, error) {
	q := []string{"WorkflowType = 'CaseWorkflow'"}
	if !all {
		q = append(q, "ExecutionStatus = 'Running'")
	} else {
		// A case that continued as new is one case: its earlier runs are
		// not listed (nor counted) beside its current one.
		q = append(q, "ExecutionStatus != 'ContinuedAsNew'")
	}
	if phase != "" {
		p, err := care.ParseEnum("--phase", phase, care.Phases)
		if err != nil {
			return "", err
		}
		q = append(q, fmt.Sprintf("CasePhase = '%s'", p))
	}
	if risk != "" {
		r, err := care.ParseEnum("--risk", risk, care.RiskLevels)
		if err != nil {
			return "", err
		}
		q = append(q, fmt.Sprintf("CaseRisk = '%s'", r))
	}
	for _, f := range []struct{ flag, attr, value string }{{"--manager", "CaseManager", manager}, {"--program", "CaseProgram", program}} {
		if f.value == "" {
			continue
		}
		if err := care.ValidateOpaqueID(f.flag, f.value); err != nil {
			return "", err
		}
		q = append(q, fmt.Sprintf("%s = '%s'", f.attr, f.value))
	}
	return strings.Join(q, " AND "), nil
}

// caseLister is what "case list" needs of the Temporal client.
type caseLister interface {
	ListWorkflow(ctx context.Context, req *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error)
}

// listPageSize is the visibility page size of "case list": the largest the
// server allows by default (frontend.visibilityMaxPageSize is 1000).
const listPageSize = 1000

// listCases reads every case the query matches, page by page, and returns
// the first limit of them in due order (dueBefore; limit 0: all) and how
// many matched. Visibility on SQL cannot order by a search attribute, so
// the order is made here; with a limit only the best limit rows are kept
// (a bounded heap), so memory follows --limit, not the number of cases.
func listCases(ctx context.Context, tc caseLister, query string, limit int, now time.Time) ([]CaseListing, int, error) {
	top := &worstFirst{}
	total := 0
	var token []byte
	for {
		resp, err := tc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query, NextPageToken: token, PageSize: listPageSize})
		if err != nil {
			return nil, 0, care.Errorf(caseclient.TransportKind(err), "list cases: %v", rootCause(err))
		}
		for _, e := range resp.Executions {
			total++
			r := caseListing(e, now)
			switch {
			case limit == 0 || top.Len() < limit:
				heap.Push(top, r)
			case dueBefore(r, (*top)[0]):
				(*top)[0] = r
				heap.Fix(top, 0)
			}
		}
		token = resp.NextPageToken
		if len(token) == 0 {
			break
		}
	}
	rows := []CaseListing(*top)
	sort.Slice(rows, func(i, j int) bool { return dueBefore(rows[i], rows[j]) })
	return rows, total, nil
}

// caseListing is the row of one case's visibility record.
func caseListing(e *workflowpb.WorkflowExecutionInfo, now time.Time) CaseListing {
	attrs := e.GetSearchAttributes().GetIndexedFields()
	r := CaseListing{
		CaseID:  strings.TrimPrefix(e.GetExecution().GetWorkflowId(), "case-"),
		Status:  strings.ToLower(e.GetStatus().String()),
		Phase:   keyword(attrs["CasePhase"]),
		Risk:    keyword(attrs["CaseRisk"]),
		Program: keyword(attrs["CaseProgram"]),
		Manager: keyword(attrs["CaseManager"]),
		Opened:  e.GetStartTime().AsTime(),
	}
	if p, ok := attrs["CasePaused"]; ok && r.Status == "running" {
		_ = converter.GetDefaultDataConverter().FromPayload(p, &r.Paused)
	}
	if p, ok := attrs["CaseNextDue"]; ok && r.Status == "running" {
		var t time.Time
		if converter.GetDefaultDataConverter().FromPayload(p, &t) == nil && !t.IsZero() {
			r.NextDue, r.Overdue = &t, t.Before(now)
		}
	}
	return r
}

// dueBefore is the order of "case list": the cases with a next due time
// first, the most overdue (earliest due) first; then the cases with nothing
// due, the newest first; ties by case id, so the order never depends on the
// order visibility returns.
func dueBefore(x, y CaseListing) bool {
	switch {
	case x.NextDue != nil && y.NextDue != nil:
		if !x.NextDue.Equal(*y.NextDue) {
			return x.NextDue.Before(*y.NextDue)
		}
	case x.NextDue != nil:
		return true
	case y.NextDue != nil:
		return false
	default:
		if !x.Opened.Equal(y.Opened) {
			return x.Opened.After(y.Opened)
		}
	}
	return x.CaseID < y.CaseID
}

// worstFirst is a heap of rows with the last in due order on top: the row a
// better one replaces when the heap holds --limit rows.
type worstFirst []CaseListing

func (h worstFirst) Len() int           { return len(h) }
func (h worstFirst) Less(i, j int) bool { return dueBefore(h[j], h[i]) }
func (h worstFirst) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *worstFirst) Push(x any)        { *h = append(*h, x.(CaseListing)) }
func (h *worstFirst) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func keyword(p *commonpb.Payload) string {
	if p == nil {
		return ""
	}
	var s string
	if err := converter.GetDefaultDataConverter().FromPayload(p, &s); err != nil {
		var list []string
		if converter.GetDefaultDataConverter().FromPayload(p, &list) == nil && len(list) > 0 {
			return list[0]
		}
	}
	return s
}

func (a *app) historyCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "history <case>",
		Short: "Show the audit trail of a case from PostgreSQL",
		Long: `Every phase change and staff action of a case, as recorded in PostgreSQL:
when, who, what, the phase before and after. With --output json each event
also carries its detail (the record staff entered).`,
		Example: `  caseflow case history c-1a2b3c4d5e6f7a8b
  caseflow case history c-1a2b3c4d5e6f7a8b --output json`,
		Args: exactlyOneCase,
		RunE: func(cmd *cobra.Command, args []string) error {
			caseID := args[0]
			if err := care.ValidateOpaqueID("case", caseID); err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), a.timeout)
			defer cancel()
			store, err := a.db(ctx)
			if err != nil {
				return err
			}
			if _, err := store.Case(ctx, caseID); errors.Is(err, care.ErrNotFound) {
				return care.NotFoundf("case %s not found; check the id with \"caseflow case list\"", caseID)
			} else if err != nil {
				return err
			}
			evs, err := store.Events(ctx, caseID)
			if err != nil {
				return err
			}
			if a.json() {
				return a.printJSON(evs)
			}
			w := tabwriter.NewWriter(a.out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "SEQ\tAT\tACTOR\tACTION\tPHASE\tSUMMARY")
			for _, e := range evs {
				ph := string(e.PhaseAfter)
				if e.PhaseBefore != e.PhaseAfter {
					ph = string(e.PhaseBefore) + " → " + ph
				}
				fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\n", e.Seq, formatTime(e.At), e.Actor, e.Action, ph, e.Summary)
			}
			return w.Flush()
		},
	}
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
