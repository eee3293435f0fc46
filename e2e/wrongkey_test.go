package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/cli"
	"github.com/caseflow/caseflow/codec"
	"github.com/caseflow/caseflow/internal/testkeys"
	"github.com/caseflow/caseflow/workflows"
)

// TestWrongKeyWorkerFailsNoWorkflow opens cases with the right key, then
// replaces the worker with one whose keyring shares no key with them. It
// refuses to start, naming the missing key. Started anyway
// (CASEFLOW_SKIP_KEY_CHECK=1), it polls while the cases get work (staff
// actions, a demo case's own clocks and services): it fails their tasks,
// logs the missing key, writes nothing under its own key, and fails no
// workflow. Once the right worker is back every case moves on.
func TestWrongKeyWorkerFailsNoWorkflow(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	waitPollers(t, plainConn, e.taskQueue)
	rightID, _, _ := strings.Cut(testkeys.Spec, ":")
	wrongID, _, _ := strings.Cut(testkeys.Wrong, ":")

	// A demo case whose clocks and services run by themselves, and two
	// cases waiting for staff.
	var res cli.OpenResult
	e.okJSON(&res, "case", "open", "--patient-ref", "MRN-WRONGKEY-D", "--name", plantedName, "--program", "demo", "--model", "intensive", "--manager", "cm-ana")
	demo := res.CaseID
	e.ok("case", "screen", demo, "--eligible")
	e.ok("case", "assess", demo, "--file", "demo/river/assessment.json")
	e.ok("case", "stratify", demo, "--risk", "high", "--override-reason", "demo", "--category", "acute")
	e.ok("case", "plan", demo, "--file", "demo/river/plan.json")
	e.okJSON(&res, "case", "open", "--patient-ref", "MRN-WRONGKEY-A", "--name", plantedName, "--program", "complex-case", "--model", "clinical", "--manager", "cm-ana")
	a := res.CaseID
	e.ok("case", "screen", a, "--eligible")
	e.okJSON(&res, "case", "open", "--patient-ref", "MRN-WRONGKEY-B", "--name", plantedName, "--program", "complex-case", "--model", "clinical", "--manager", "cm-ana")
	b := res.CaseID
	e.stopWorker()

	wrong := "CASEFLOW_CODEC_KEYS=" + testkeys.Wrong

	// 1. The startup check: the worker refuses to start.
	cmd := exec.Command(filepath.Join(binDir, "caseflow-worker"))
	cmd.Env = e.environ(wrong)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, cmd.Start())
	go func() { <-ctx.Done(); _ = cmd.Process.Kill() }()
	err := cmd.Wait()
	require.Error(t, err, "the wrong-key worker started:\n%s", out.String())
	exit, ok := err.(*exec.ExitError)
	require.True(t, ok, "%v", err)
	require.Equal(t, 1, exit.ExitCode(), out.String())
	msg := out.String()
	require.Contains(t, msg, fmt.Sprintf("caseflow-worker: this worker cannot read the cases on task queue %q", e.taskQueue))
	require.Contains(t, msg, fmt.Sprintf("key %q, which its keyring does not have (keyring: %q)", rightID, wrongID))
	require.Contains(t, msg, codec.EnvKeys)
	require.Contains(t, msg, codec.EnvKeyFile)
	require.Contains(t, msg, "docs/privacy.md")
	require.NotContains(t, msg, "caseflow-worker started")
	require.NotContains(t, msg, plantedName)

	// 2. Started anyway, it polls while the cases get work: the demo case's
	// clocks and services fall due, a hospital reports a discharge (a
	// signal), staff act on the other two (updates).
	w := startWorkerWith(e, wrong, "CASEFLOW_SKIP_KEY_CHECK=1")
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	require.NoError(t, codecConn.SignalWorkflow(sctx, care.WorkflowID(b), "", workflows.SignalTransition,
		care.Transition{Kind: care.TransitionDischarge, From: "city hospital", To: "home", Date: time.Now().Format(time.DateOnly)}))
	type action struct {
		what string
		args []string
	}
	type done struct {
		action
		r result
	}
	staff := []action{
		{"assess " + a, []string{"case", "assess", a, "--file", "demo/river/assessment.json", "--timeout", "3m"}},
		{"screen " + b, []string{"case", "screen", b, "--eligible", "--timeout", "3m"}},
	}
	finished := make(chan done, len(staff))
	for _, act := range staff {
		go func() { finished <- done{act, e.cli(act.args...)} }()
	}

	e.waitFor("the wrong-key worker to log the missing key", 60*time.Second, func() bool {
		return strings.Contains(w.log.String(), `"key_id":"`+rightID+`"`)
	})
	time.Sleep(20 * time.Second) // the demo case's clocks and services keep falling due
	// Queries fail meanwhile: Temporal refuses them while the case's task
	// fails, or the wrong-key worker cannot answer them.
	r := e.cli("case", "show", a)
	require.Equal(t, 1, r.code, r.stdout)
	require.True(t, refused(r.stderr), r.stderr)
	failed := func() int {
		resp, err := plainConn.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
			Query: fmt.Sprintf("TaskQueue = '%s' AND (ExecutionStatus = 'Failed' OR ExecutionStatus = 'TimedOut' OR ExecutionStatus = 'Terminated')", e.taskQueue),
		})
		require.NoError(t, err)
		for _, ex := range resp.GetExecutions() {
			t.Logf("%s: %s", ex.GetExecution().GetWorkflowId(), ex.GetStatus())
		}
		return len(resp.GetExecutions())
	}
	for _, id := range []string{demo, a, b} {
		d, err := plainConn.DescribeWorkflowExecution(context.Background(), care.WorkflowID(id), "")
		require.NoError(t, err)
		require.Equal(t, enums.WORKFLOW_EXECUTION_STATUS_RUNNING, d.GetWorkflowExecutionInfo().GetStatus(), id)
		// An activity attempt the wrong-key worker failed is retried, its
		// failure in plain text.
		for _, pa := range d.GetPendingActivities() {
			if f := pa.GetLastFailure(); f != nil && strings.Contains(f.GetMessage(), "unknown key") {
				assert.Nil(t, f.GetEncodedAttributes(), "%v", pa)
				assert.Equal(t, codec.DecodeFailureType, f.GetApplicationFailureInfo().GetType())
			}
		}
	}
	require.Zero(t, failed(), "no workflow failed under the wrong-key worker")
	w.stop(t)
	log := w.log.String()
	require.Contains(t, log, "keyring check skipped")
	require.Contains(t, log, "no workflow is failed")
	require.NotContains(t, log, plantedName, "the worker log never holds a payload")

	// 3. The right worker is back: the staff actions complete (or, if
	// Temporal refused them while the case's workflow task was failing,
	// succeed when staff try again), the signal is applied and the cases
	// move on.
	e.startWorker()
	for range staff {
		select {
		case d := <-finished:
			if d.r.code != 0 {
				require.True(t, refused(d.r.stderr), "%s: %+v", d.what, d.r)
				t.Logf("%s was refused while the workflow task failed; trying again", d.what)
				// The failed task runs again once it times out on the
				// wrong-key worker (the workflow task timeout, 10 s).
				var r result
				e.waitFor("the case to take staff actions again", 90*time.Second, func() bool {
					r = e.cli(d.args...)
					return r.code == 0 || !refused(r.stderr)
				})
				require.Equal(t, 0, r.code, "%s: %+v\nworker: %s", d.what, r, e.workerLog)
			}
		case <-time.After(3 * time.Minute):
			t.Fatalf("a staff action did not complete once the right worker was back\nworker: %s", e.workerLog)
		}
	}
	var st workflows.Status
	e.okJSON(&st, "case", "show", a)
	require.Equal(t, care.PhaseStratification, st.Phase)
	e.okJSON(&st, "case", "show", b)
	require.Equal(t, care.PhaseAssessment, st.Phase)
	var events []care.Event
	e.okJSON(&events, "case", "history", b)
	var trail []string
	for _, ev := range events {
		trail = append(trail, ev.Action)
	}
	require.Subset(t, trail, []string{"opened", "screen"})
	require.True(t, slices.Contains(trail, "transition") || slices.Contains(trail, "transition-ignored"),
		"the discharge signalled while only the wrong-key worker ran reached the case: %v", trail)
	e.waitFor("the demo case's first call to fall due", 90*time.Second, func() bool {
		return e.count(`SELECT count(*) FROM tasks WHERE case_id = $1 AND kind = 'call'`, demo) >= 1
	})
	require.Zero(t, failed(), "no workflow failed")

	// The wrong-key worker failed tasks, in plain text, and wrote nothing
	// under its own key.
	taskFailures := 0
	for _, id := range []string{demo, a, b} {
		for _, ev := range historyEvents(t, plainConn, care.WorkflowID(id)) {
			if f := ev.GetWorkflowTaskFailedEventAttributes().GetFailure(); f != nil {
				taskFailures++
				assert.Contains(t, f.GetMessage(), fmt.Sprintf("unknown key %q", rightID), "%v", ev)
				assert.Nil(t, f.GetEncodedAttributes(), "a task failure is written in plain text")
			}
			for _, p := range payloadsIn(ev) {
				if string(p.GetMetadata()[codec.MetadataEncoding]) == codec.EncodingEncrypted {
					require.Equal(t, rightID, string(p.GetMetadata()[codec.MetadataKeyID]), "payload not under the namespace's key in %v", ev)
				}
			}
		}
	}
	require.Positive(t, taskFailures, "the wrong-key worker failed workflow tasks")
	e.ok("case", "close", demo, "--reason", "transferred")
}

// refused reports whether a CLI error says that the case could not act or
// answer because its workflow task is failing on a worker without the key.
func refused(stderr string) bool {
	return strings.Contains(stderr, "Workflow Task in failed state") || strings.Contains(stderr, "unknown key")
}
