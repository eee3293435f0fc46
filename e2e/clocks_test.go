package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/cli"
	"github.com/caseflow/caseflow/workflows"
)

// taskRow is a row of the tasks table.
type taskRow struct {
	ID        string     `db:"task_id"`
	Status    string     `db:"status"`
	Met       *bool      `db:"met"`
	Escalated *time.Time `db:"escalated_at"`
}

func (e *env) taskRow(caseID, taskID string) (taskRow, bool) {
	var r taskRow
	err := e.db.Get(&r, `SELECT task_id, status, met, escalated_at FROM tasks WHERE case_id = $1 AND task_id = $2`, caseID, taskID)
	return r, err == nil
}

func (e *env) alertKinds(caseID string) map[string]int {
	rows, err := e.db.Query(`SELECT kind FROM alerts WHERE case_id = $1 AND delivered_at IS NOT NULL`, caseID)
	require.NoError(e.t, err)
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var k string
		require.NoError(e.t, rows.Scan(&k))
		out[k]++
	}
	return out
}

// waitFor polls cond on the test's goroutine until it holds or timeout
// passes. A command inside cond that gets no answer in time (a loaded
// machine's dev server or worker) counts as "not yet": the poll goes on
// until the deadline, where the last such answer is part of the failure.
func (e *env) waitFor(what string, timeout time.Duration, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	var last *notYet
	for {
		held, slow := e.poll(cond)
		if held {
			return
		}
		if slow != nil {
			last = slow
		}
		if time.Now().After(deadline) {
			if last != nil {
				e.t.Fatalf("waited %s for %s; the last command without an answer in time said: %s", timeout, what, last.r.stderr)
			}
			e.t.Fatalf("waited %s for %s", timeout, what)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// poll evaluates cond once with e.polling set; slow is the command that got
// no answer in time, if one did.
func (e *env) poll(cond func() bool) (held bool, slow *notYet) {
	e.polling = true
	defer func() {
		e.polling = false
		if r := recover(); r != nil {
			n, ok := r.(notYet)
			if !ok {
				panic(r)
			}
			held, slow = false, &n
		}
	}()
	return cond(), nil
}

// TestDemoProgramClocksFireByThemselves runs the demo program (seconds-scale
// clocks) on the real dev server: follow-up calls fall due on their own, an
// unanswered one escalates to the supervisor, a discharge starts the
// transitional-care clocks, and the ones not met are recorded as missed.
func TestDemoProgramClocksFireByThemselves(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var res cli.OpenResult
	e.okJSON(&res, "case", "open", "--patient-ref", "MRN-DEMO-1", "--program", "demo", "--model", "intensive", "--manager", "cm-ana")
	id := res.CaseID
	e.ok("case", "screen", id, "--eligible")
	e.ok("case", "assess", id, "--file", "demo/river/assessment.json")
	e.ok("case", "stratify", id, "--risk", "high", "--override-reason", "demo", "--category", "acute")
	e.ok("case", "plan", id, "--file", "demo/river/plan.json")

	// Intensive + high risk in the demo program: a call every 30 s, a
	// 10 s window and escalation 10 s after it.
	calls := func() []string {
		var ids []string
		require.NoError(t, e.db.Select(&ids, `SELECT task_id FROM tasks WHERE case_id = $1 AND kind = 'call' ORDER BY started_at`, id))
		return ids
	}
	e.waitFor("the first call to fall due", 60*time.Second, func() bool { return len(calls()) >= 1 })
	first := calls()[0]
	var worklist []care.Task
	e.okJSON(&worklist, "worklist", "--manager", "cm-ana")
	require.Condition(t, func() bool {
		for _, w := range worklist {
			if w.CaseID == id && w.ID == first {
				return true
			}
		}
		return false
	}, "%s on the case manager's worklist: %v", first, worklist)
	e.waitFor("the first call to escalate", 60*time.Second, func() bool {
		r, _ := e.taskRow(id, first)
		return r.Escalated != nil
	})
	e.waitFor("the second call to fall due", 60*time.Second, func() bool { return len(calls()) >= 2 })
	second := calls()[1]
	e.ok("case", "call", id, second, "--outcome", "reached", "--notes", "doing well")
	r, _ := e.taskRow(id, second)
	require.Equal(t, "done", r.Status)

	// A discharge: contact within 1 minute, face-to-face visit within 90 s.
	var st workflows.Status
	e.okJSON(&st, "case", "transition", id, "--kind", "discharge", "--from", "city hospital", "--to", "home", "--date", time.Now().Format(time.DateOnly))
	var contactID, visitID, medrecID string
	for _, it := range st.OpenItems {
		switch it.Kind {
		case "tcm-contact":
			contactID = it.TaskID
		case "tcm-visit":
			visitID = it.TaskID
		case "med-reconciliation":
			medrecID = it.TaskID
		}
	}
	require.NotEmpty(t, contactID)
	e.ok("case", "contact", id, "--with", "client")
	e.waitFor("the visit clock to run out", 150*time.Second, func() bool {
		r, _ := e.taskRow(id, visitID)
		return r.Status == "missed"
	})
	contact, _ := e.taskRow(id, contactID)
	require.True(t, *contact.Met, "contact made in time")
	visit, _ := e.taskRow(id, visitID)
	require.False(t, *visit.Met)
	medrec, _ := e.taskRow(id, medrecID)
	require.Equal(t, "missed", medrec.Status)
	e.ok("case", "close", id, "--reason", "transferred")

	alerts := e.alertKinds(id)
	require.GreaterOrEqual(t, alerts["call-due"], 2)
	require.GreaterOrEqual(t, alerts["automated-call"], 2, "the demo program places automated calls")
	require.GreaterOrEqual(t, alerts["call-overdue"], 1)
	require.Equal(t, 2, alerts["clock-missed"], "visit and medication reconciliation")
	history := e.ok("case", "history", id)
	require.Contains(t, history, first+" escalated to sup-care-team")
	require.Contains(t, history, visitID+" missed")
	recordHistory(t, "demo-clocks-attrs", rawHistory(t, care.WorkflowID(id)))
}

func TestAPolicyChangeAppliesToNewCasesOnly(t *testing.T) {
	e := newEnv(t)
	first := e.openRiver()

	// The next version of complex-case, in force from today: calls twice as often.
	b, err := os.ReadFile(filepath.Join(root, "policies", "complex-case.json"))
	require.NoError(t, err)
	var p care.Policy
	require.NoError(t, json.Unmarshal(b, &p))
	base := p.Version
	next := fmt.Sprintf("complex-case v%d", base+1)
	p.Version = base + 1
	p.EffectiveFrom = time.Now().Format(time.DateOnly)
	p.FollowUp.Cadence.High = care.Duration(84 * time.Hour)
	dir := t.TempDir()
	write := func(name string, v care.Policy) {
		out, err := json.Marshal(v)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), out, 0o600))
	}
	write("complex-case-next.json", p)
	require.Contains(t, e.ok("policy", "load", dir), next+": loaded")
	require.Contains(t, e.ok("policy", "load", dir), next+": already loaded")

	var second cli.OpenResult
	e.okJSON(&second, "case", "open", "--patient-ref", "MRN-OTHER-7", "--program", "complex-case", "--model", "clinical", "--manager", "cm-ana")
	var a, b2 workflows.Status
	e.okJSON(&a, "case", "show", first)
	e.okJSON(&b2, "case", "show", second.CaseID)
	require.Equal(t, base, a.Policy.Version, "the running case keeps the version it opened with")
	require.Equal(t, care.Duration(7*24*time.Hour), a.Policy.FollowUp.Cadence.High)
	require.Equal(t, base+1, b2.Policy.Version)
	require.Equal(t, care.Duration(84*time.Hour), b2.Policy.FollowUp.Cadence.High)

	// A published version never changes.
	p.FollowUp.Cadence.High = care.Duration(48 * time.Hour)
	write("complex-case-next.json", p)
	r := e.cli("policy", "load", dir)
	require.Equal(t, 4, r.code, "a conflict: %s", r.stderr)
	require.Contains(t, r.stderr, next+": policy version already loaded with a different body: give the changed policy a new version")
	// An unknown program is refused before anything is written.
	r = e.cli("case", "open", "--patient-ref", "MRN-NOPE", "--program", "dermatology", "--model", "clinical", "--manager", "cm-ana")
	require.Equal(t, 2, r.code, "invalid: %s", r.stderr)
	require.Contains(t, r.stderr, `--program: "dermatology" has no policy in force; known programs: chronic-care, complex-case, demo, transitional-care`)
	require.Equal(t, 0, e.count(`SELECT count(*) FROM patients WHERE external_ref = 'MRN-NOPE'`))
}

// TestContinueAsNewKeepsRunsBoundedOnTheRealServer runs a case with a call
// every second and a small step budget per run, so that it continues as new
// several times, and reads the real history length of every run: the events
// per step measured here, times the default step budget, must stay under
// 4,096; and no call is lost or repeated across runs.
func TestContinueAsNewKeepsRunsBoundedOnTheRealServer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b, err := os.ReadFile(filepath.Join(root, "policies", "demo.json"))
	require.NoError(t, err)
	var p care.Policy
	require.NoError(t, json.Unmarshal(b, &p))
	p.Program = "e2e-fast"
	p.FollowUp.Cadence.High = care.Duration(time.Second)
	p.FollowUp.ModelFactor.Clinical = 1
	p.FollowUp.CallWindow = care.Duration(time.Minute)
	p.FollowUp.AutomatedCalls = false
	// Each run reads the case's policy from PostgreSQL by version (change
	// policy-by-reference), so it is loaded as staff load one.
	dir := t.TempDir()
	body, err := json.Marshal(p)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "e2e-fast.json"), body, 0o600))
	require.Contains(t, e.ok("policy", "load", dir), "e2e-fast v"+fmt.Sprint(p.Version)+": loaded")
	var patient string
	require.NoError(t, e.db.Get(&patient, `INSERT INTO patients (patient_id, external_ref) VALUES ('p-e2efast', 'MRN-FAST') RETURNING patient_id`))
	c := care.Case{ID: "c-e2e-fast", PatientID: patient, Program: p.Program, Model: care.ModelClinical, Manager: "cm-ana",
		Source: care.SourceReferral, OpenedBy: "cm-ana", OpenedAt: time.Now().UTC()}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const steps = 40
	_, err = codecConn.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: care.WorkflowID(c.ID), TaskQueue: e.taskQueue},
		workflows.CaseWorkflow, &workflows.CaseInput{Case: c, PolicyVersion: p.Version, MaxStepsPerRun: steps})
	require.NoError(t, err)
	id := c.ID
	e.ok("case", "screen", id, "--eligible")
	e.ok("case", "assess", id, "--file", "demo/river/assessment.json")
	e.ok("case", "stratify", id, "--risk", "high", "--override-reason", "test", "--category", "acute")
	e.ok("case", "plan", id, "--file", "demo/river/plan.json")

	runs := func() []*workflowservice.ListWorkflowExecutionsResponse {
		resp, err := codecConn.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: "WorkflowId = '" + care.WorkflowID(id) + "'"})
		require.NoError(t, err)
		return []*workflowservice.ListWorkflowExecutionsResponse{resp}
	}
	e.waitFor("three runs", 150*time.Second, func() bool { return len(runs()[0].Executions) >= 3 })
	// Shell completion offers the case once, not once per run.
	require.Equal(t, []string{id}, e.completions("case", "show", id), "an open case that continued as new")
	e.ok("case", "close", id, "--reason", "transferred")
	require.Equal(t, []string{id}, e.completions("case", "show", id), "a closed case that continued as new")

	var lengths []int64
	executions := runs()[0].Executions // newest first
	for i, ex := range executions {
		// The first run (opened by reference, continued under the gate
		// policy-by-reference) and the last (which read its policy again).
		switch i {
		case 0:
			recordHistory(t, "continued-last-run-attrs", rawRunHistory(t, ex.Execution.WorkflowId, ex.Execution.RunId))
		case len(executions) - 1:
			recordHistory(t, "continued-first-run-attrs", rawRunHistory(t, ex.Execution.WorkflowId, ex.Execution.RunId))
		}
		if ex.GetStatus() != enums.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW {
			continue
		}
		d, err := codecConn.DescribeWorkflowExecution(ctx, ex.Execution.WorkflowId, ex.Execution.RunId)
		require.NoError(t, err)
		lengths = append(lengths, d.WorkflowExecutionInfo.HistoryLength)
	}
	require.GreaterOrEqual(t, len(lengths), 2)
	for _, n := range lengths {
		perStep := float64(n) / steps
		require.Less(t, perStep*workflows.DefaultMaxStepsPerRun, 4096.0,
			"a run of %d steps had %d events: the default budget of %d steps would exceed 4,096", steps, n, workflows.DefaultMaxStepsPerRun)
	}
	t.Logf("history length of continued runs (%d steps each): %v", steps, lengths)

	// Every call fell due once, in order, across the runs.
	var ids []string
	require.NoError(t, e.db.Select(&ids, `SELECT task_id FROM tasks WHERE case_id = $1 AND kind = 'call' ORDER BY started_at`, id))
	require.Greater(t, len(ids), steps/2, "calls kept falling due across runs")
	prev := 0
	for _, tid := range ids {
		var n int
		_, err := fmtSscanf(strings.TrimPrefix(tid, "call-"), &n)
		require.NoError(t, err)
		require.Greater(t, n, prev, "task ids increase: none repeated")
		prev = n
	}
	var gaps []float64
	require.NoError(t, e.db.Select(&gaps, `SELECT extract(epoch FROM started_at - lag(started_at) OVER (ORDER BY started_at))
		FROM tasks WHERE case_id = $1 AND kind = 'call' ORDER BY started_at OFFSET 1`, id))
	for _, g := range gaps {
		require.InDelta(t, 1.0, g, 0.001, "calls fall due every second on schedule, across runs")
	}
}
