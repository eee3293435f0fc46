package e2e

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/cli"
	"github.com/caseflow/caseflow/internal/tzdb"
	"github.com/caseflow/caseflow/workflows"
)

// clockRow is a clock of the tasks table.
type clockRow struct {
	ID          string     `db:"task_id"`
	Kind        string     `db:"kind"`
	Status      string     `db:"status"`
	Met         *bool      `db:"met"`
	Due         time.Time  `db:"due_at"`
	CompletedAt *time.Time `db:"completed_at"`
	Outcome     string     `db:"outcome"`
}

func (e *env) clocks(caseID string) map[string]clockRow {
	var rows []clockRow
	require.NoError(e.t, e.db.Select(&rows, `SELECT task_id, kind, status, met, due_at, completed_at, outcome
		FROM tasks WHERE case_id = $1 AND clock ORDER BY task_id`, caseID))
	out := map[string]clockRow{}
	for _, r := range rows {
		out[r.ID] = r
	}
	return out
}

// TestAuditedClocksThroughDischargeReadmissionAndEvaluation drives one
// transitional-care case with the CLI on the real dev server and
// PostgreSQL: a discharge entered five days late (its contact clock is
// recorded missed at its due time, with one late-entry alert), a
// readmission during the re-assessment (recorded against the watch), a
// second discharge, and the evaluation; then it checks the clock records
// in tasks. The contact made on the day of the first discharge, entered
// late with --at, meets the contact clock that was recorded missed.
func TestAuditedClocksThroughDischargeReadmissionAndEvaluation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var res cli.OpenResult
	e.okJSON(&res, "case", "open", "--patient-ref", "MRN-AUDIT-1", "--program", "transitional-care", "--model", "clinical", "--manager", "cm-ana")
	id := res.CaseID
	e.ok("case", "screen", id, "--eligible")
	e.ok("case", "assess", id, "--file", "demo/river/assessment.json")
	e.ok("case", "stratify", id, "--category", "acute")
	e.ok("case", "plan", id, "--file", "demo/river/plan.json")
	var st workflows.Status
	waitPhase := func(p care.Phase) {
		require.Eventually(t, func() bool {
			e.okJSON(&st, "case", "show", id)
			return st.Phase == p
		}, 30*time.Second, 200*time.Millisecond)
	}
	waitPhase(care.PhaseFollowUp)

	loc, err := tzdb.Load("America/New_York")
	require.NoError(t, err)
	today := time.Now().In(loc)
	day := func(offset int) string { return today.AddDate(0, 0, offset).Format(time.DateOnly) }

	// A planned discharge is refused; so is one dated absurdly early.
	r := e.cli("case", "transition", id, "--kind", "discharge", "--from", "city hospital", "--to", "home", "--date", day(3))
	require.Equal(t, 2, r.code, r.stderr)
	r = e.cli("case", "transition", id, "--kind", "discharge", "--from", "city hospital", "--to", "home", "--date", day(-400))
	require.Equal(t, 2, r.code, r.stderr)

	// Discharged five days ago, entered now: high complexity by the clinician's call.
	e.okJSON(&st, "case", "transition", id, "--kind", "discharge", "--from", "city hospital", "--to", "home",
		"--date", day(-5), "--time", "10:30", "--complexity", "high")
	require.Equal(t, care.PhasePostTransition, st.Phase)
	require.Equal(t, care.ComplexityHigh, st.Discharge.Complexity)
	require.False(t, st.Discharge.TCMPeriodEnd.IsZero(), "the TCM period's end is recorded")
	first := e.clocks(id)
	var contact1, visit1, watch1 string
	for _, c := range first {
		switch c.Kind {
		case "tcm-contact":
			contact1 = c.ID
		case "tcm-visit":
			visit1 = c.ID
		case "readmission-watch":
			watch1 = c.ID
		}
	}
	require.Equal(t, "missed", first[contact1].Status, "its 2 business days passed before it was entered")
	require.True(t, first[contact1].CompletedAt.Equal(first[contact1].Due), "missed at its real due time")
	require.Equal(t, "open", first[visit1].Status, "the 7-day visit is still ahead")

	// The contact made on the day of the discharge, entered now with the
	// time it was made (--at), meets the contact clock recorded missed.
	d := today.AddDate(0, 0, -5)
	made := time.Date(d.Year(), d.Month(), d.Day(), 15, 0, 0, 0, loc)
	r = e.cli("case", "contact", id, "--with", "client", "--at", time.Now().Add(time.Hour).Format(time.RFC3339))
	require.Equal(t, 2, r.code, "a contact in the future: %s", r.stderr)
	require.Contains(t, r.stderr, "at: ")
	r = e.cli("case", "contact", id, "--with", "client", "--at", made.Format(time.DateOnly))
	require.Equal(t, 2, r.code, "a time without its offset: %s", r.stderr)
	e.ok("case", "contact", id, "--with", "client", "--at", made.Format(time.RFC3339), "--notes", "called on the day of discharge")
	met := e.clocks(id)[contact1]
	require.Equal(t, "done", met.Status)
	require.True(t, *met.Met, "made on the day of the discharge")
	require.True(t, made.Equal(*met.CompletedAt), "done when it was made: %s", met.CompletedAt)
	require.Contains(t, met.Outcome, "entered after its clock fired")
	require.Contains(t, e.ok("case", "history", id), "(made "+made.UTC().Format(time.RFC3339)+", entered later)")

	// Back to assessment, and readmitted during the re-assessment.
	e.okJSON(&st, "case", "contact", id, "--with", "client", "--back-to", "assessment", "--notes", "short of breath")
	require.Equal(t, care.PhaseAssessment, st.Phase)
	e.okJSON(&st, "case", "transition", id, "--kind", "readmission", "--from", "home", "--to", "city hospital", "--date", day(-1))
	require.Equal(t, care.PhaseTransition, st.Phase)
	// A second discharge needs the admission in between: now it has one.
	e.okJSON(&st, "case", "transition", id, "--kind", "discharge", "--from", "city hospital", "--to", "home", "--date", day(0))
	require.Equal(t, care.PhasePostTransition, st.Phase)
	r = e.cli("case", "transition", id, "--kind", "discharge", "--from", "city hospital", "--to", "home", "--date", day(0))
	require.Equal(t, 4, r.code, "a second discharge without an admission: %s", r.stderr)
	e.ok("case", "contact", id, "--attempt", "--outcome", "no-answer")
	e.ok("case", "contact", id, "--attempt", "--outcome", "no-answer")
	e.ok("case", "contact", id, "--with", "client", "--face-to-face", "--minutes", "30")

	r = e.cli("case", "close", id, "--reason", "goals-met")
	require.Equal(t, 4, r.code, "goals-met needs an evaluation: %s", r.stderr)
	e.okJSON(&st, "case", "evaluate", id, "--file", "demo/river/evaluation.json")
	require.Equal(t, care.PhaseEvaluation, st.Phase)
	e.ok("case", "close", id, "--reason", "goals-met")

	all := e.clocks(id)
	require.False(t, *all[watch1].Met, "the readmission during the re-assessment fails the first watch")
	require.Contains(t, all[watch1].Outcome, "readmitted on day 4 after discharge")
	require.Equal(t, "cancelled", all[visit1].Status, "the readmission cancels the first visit")
	var second []clockRow
	for _, c := range all {
		if _, old := first[c.ID]; !old {
			second = append(second, c)
		}
	}
	byKind := map[string]clockRow{}
	for _, c := range second {
		byKind[c.Kind] = c
	}
	require.Equal(t, "done", byKind["tcm-contact"].Status)
	require.True(t, *byKind["tcm-contact"].Met)
	require.Contains(t, byKind["tcm-contact"].Outcome, "met by attempts")
	require.True(t, *byKind["tcm-visit"].Met, "the visit with the patient present")
	require.Equal(t, "cancelled", byKind["readmission-watch"].Status, "closing cancels the open watch")
	alerts := e.alertKinds(id)
	require.Equal(t, 1, alerts["late-entry"], "one alert for the late entry")
	require.Equal(t, 1, alerts["readmission"])
	require.Contains(t, e.ok("case", "history", id), "entered late")
	recordHistory(t, "audited-clocks-attrs", rawHistory(t, care.WorkflowID(id)))
}

// TestAPausedCaseKeepsItsDeadlinesOnTheDevServer pauses a demo case
// (seconds-scale clocks) right after a discharge: no call falls due while it
// is paused, the CasePaused search attribute says so, and the TCM contact
// clock still runs out on time and alerts. Contact minutes count against the
// CCM target.
func TestAPausedCaseKeepsItsDeadlinesOnTheDevServer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var res cli.OpenResult
	e.okJSON(&res, "case", "open", "--patient-ref", "MRN-PAUSE-1", "--program", "demo", "--model", "clinical", "--manager", "cm-ana")
	id := res.CaseID
	e.ok("case", "screen", id, "--eligible")
	e.ok("case", "assess", id, "--file", "demo/river/assessment.json")
	e.ok("case", "stratify", id, "--risk", "high", "--override-reason", "demo", "--category", "acute")
	e.ok("case", "plan", id, "--file", "demo/river/plan.json")
	var st workflows.Status
	require.Eventually(t, func() bool {
		e.okJSON(&st, "case", "show", id)
		return st.Phase == care.PhaseFollowUp
	}, 30*time.Second, 200*time.Millisecond)
	e.okJSON(&st, "case", "transition", id, "--kind", "discharge", "--from", "city hospital", "--to", "home",
		"--date", time.Now().UTC().Format(time.DateOnly))
	var contactID string
	for _, it := range st.OpenItems {
		if it.Kind == "tcm-contact" {
			contactID = it.TaskID
		}
	}
	e.okJSON(&st, "case", "pause", id, "--reason", "client away")
	require.True(t, st.Paused)
	calls := func() int { return e.count(`SELECT count(*) FROM tasks WHERE case_id = $1 AND kind = 'call'`, id) }
	before := calls()
	e.waitFor("the CasePaused search attribute", 30*time.Second, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		resp, err := codecConn.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: fmt.Sprintf("WorkflowId = '%s' AND CasePaused = true", care.WorkflowID(id))})
		return err == nil && len(resp.Executions) == 1
	})
	var listed []cli.CaseListing
	e.okJSON(&listed, "case", "list", "--manager", "cm-ana", "--limit", "0") // every test shares one dev server
	require.True(t, slices.ContainsFunc(listed, func(r cli.CaseListing) bool { return r.CaseID == id && r.Paused }),
		"case list shows the case paused")
	e.waitFor("the contact clock to run out while paused", 90*time.Second, func() bool {
		r, _ := e.taskRow(id, contactID)
		return r.Status == "missed"
	})
	require.Equal(t, before, calls(), "no follow-up call falls due while paused")
	var worklist []care.Task
	e.okJSON(&worklist, "worklist", "--manager", "cm-ana")
	require.True(t, slices.ContainsFunc(worklist, func(t care.Task) bool { return t.CaseID == id && t.CasePaused }),
		"the worklist shows the case paused")
	require.Contains(t, e.ok("case", "show", id), "Paused")
	e.okJSON(&st, "case", "show", id)
	require.True(t, st.Paused)
	require.GreaterOrEqual(t, e.alertKinds(id)["clock-missed"], 1, "its alert fired while paused")
	e.ok("case", "contact", id, "--with", "family", "--minutes", "25")
	require.Equal(t, 1, e.count(`SELECT count(*) FROM tasks WHERE case_id = $1 AND kind = 'ccm-minutes' AND status = 'done' AND met`, id),
		"25 minutes meet the month's 20")
	var resumed workflows.Status
	e.okJSON(&resumed, "case", "resume", id, "--reason", "back home")
	require.False(t, resumed.Paused)
	e.ok("case", "close", id, "--reason", "transferred")
	recordHistory(t, "paused-deadlines-attrs", rawHistory(t, care.WorkflowID(id)))
}
