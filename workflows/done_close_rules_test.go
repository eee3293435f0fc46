package workflows_test

// The tests of changes done-needs-contact ("case done" does not complete a
// clock only a record meets) and close-ends-pause (closing a paused case
// ends its pause in the store), found by review pass 3.

import (
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/workflows"
)

// openTaskIDs are the task ids of a status's open items.
func openTaskIDs(st *workflows.Status) []string {
	var out []string
	for _, it := range st.OpenItems {
		if it.TaskID != "" {
			out = append(out, it.TaskID)
		}
	}
	return out
}

// requireRefusedDone checks that "case done" was refused as not allowed,
// naming how the clock is met.
func requireRefusedDone(t *testing.T, r *result, how string) {
	t.Helper()
	require.True(t, r.rejected, "the validator refuses it: %v", r.err)
	require.Equal(t, string(care.KindNotAllowed), appErrType(r.err), "%v", r.err)
	require.ErrorContains(t, r.err, how)
}

// CPT 99490: at least 20 minutes per calendar month. "case done" on the
// month's ccm-minutes clock, with 5 minutes on record, is refused and the
// clock stays open; the minutes meet it.
func TestCaseDoneCannotMeetTheCCMMonthWithoutItsMinutes(t *testing.T) {
	c := newCaseEnvWith(t, "chronic-care", care.ModelClinical)
	c.env.SetStartTime(newYork(t, "2027-02-01 08:00:00"))
	c.toFollowUp(care.RiskLow)
	c.wait(9 * day)
	c.update(workflows.UpdateContact, "cm-ana", care.Contact{With: care.PartyClient, Minutes: 5})
	done := c.update(workflows.UpdateComplete, "cm-ana", care.TaskCompletion{TaskID: "ccm-minutes-1"})
	open := c.queryStatus()
	c.update(workflows.UpdateContact, "cm-ana", care.Contact{With: care.PartyClient, Minutes: 15})
	c.closeAndRun()

	requireRefusedDone(t, done, "caseflow case contact --minutes")
	require.Contains(t, openTaskIDs(open), "ccm-minutes-1", "the clock stays open")
	task := c.lastTask("ccm-minutes-1")
	require.Equal(t, care.TaskDone, task.Status)
	require.True(t, *task.Met, "met by the month's 20 minutes")
}

// The TCM interactive contact is met by a contact, a reached call or two
// documented attempts: "case done" with none of them on record is refused
// and the clock stays open.
func TestCaseDoneCannotMeetTheTCMContactClockWithoutAContact(t *testing.T) {
	c := dischargeCase(t, newYork(t, "2026-12-02 09:00:00"), care.RiskHigh, "2026-12-02")
	done := c.update(workflows.UpdateComplete, "cm-ana", care.TaskCompletion{TaskID: "tcm-contact-1"})
	open := c.queryStatus()
	c.closeAndRun()

	requireRefusedDone(t, done, "caseflow case contact")
	require.ErrorContains(t, done.err, "caseflow case call")
	require.Contains(t, openTaskIDs(open), "tcm-contact-1", "the clock stays open")
	require.NotEqual(t, care.TaskDone, c.lastTask("tcm-contact-1").Status)
}

// A missed TCM contact clock is not recorded done late by "case done"
// either: the contact or call made late records it so.
func TestCaseDoneCannotRecordAMissedTCMContactDoneLate(t *testing.T) {
	c := dischargeCase(t, newYork(t, "2026-12-02 09:00:00"), care.RiskHigh, "2026-12-02")
	c.wait(3 * day) // due by the end of Friday 4 December
	done := c.update(workflows.UpdateComplete, "cm-ana", care.TaskCompletion{TaskID: "tcm-contact-1"})
	c.closeAndRun()

	requireRefusedDone(t, done, "caseflow case contact")
	require.Equal(t, care.TaskMissed, c.lastTask("tcm-contact-1").Status)
}

// The post-transition contact clock of a transfer is met by a contact or a
// reached call, not by "case done".
func TestCaseDoneCannotMeetATransferContactClockWithoutAContact(t *testing.T) {
	c := transferCase(t, 1, 2*time.Hour)
	done := c.update(workflows.UpdateComplete, "cm-ana", care.TaskCompletion{TaskID: "contact-1"})
	open := c.queryStatus()
	c.closeAndRun()

	requireRefusedDone(t, done, "caseflow case contact")
	require.Contains(t, openTaskIDs(open), "contact-1", "the clock stays open")
}

// acceptComplete lets every complete update past its validator, as a
// worker from before change done-needs-contact accepted it: what remains is
// the handler's re-check under the lock, which is replayed.
type acceptComplete struct {
	interceptor.WorkerInterceptorBase
}

func (*acceptComplete) InterceptWorkflow(_ workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	i := &acceptCompleteInbound{}
	i.Next = next
	return i
}

type acceptCompleteInbound struct {
	interceptor.WorkflowInboundInterceptorBase
}

func (i *acceptCompleteInbound) ValidateUpdate(ctx workflow.Context, in *interceptor.UpdateInput) error {
	if in.Name == workflows.UpdateComplete {
		return nil
	}
	return i.Next.ValidateUpdate(ctx, in)
}

// The complete handler re-checks the rule under the gate: an update past
// the validator is refused; a history from before the change (its update
// accepted by an older worker) replays as it ran: done and met.
func TestTheCompleteHandlerAppliesDoneNeedsContactOnlyUnderItsGate(t *testing.T) {
	for _, version := range []workflow.Version{1, workflow.DefaultVersion} {
		c := dischargeCase(t, newYork(t, "2026-12-02 09:00:00"), care.RiskHigh, "2026-12-02")
		c.env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{&acceptComplete{}}})
		if version == workflow.DefaultVersion {
			c.env.OnGetVersion("done-needs-contact", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
		}
		done := c.update(workflows.UpdateComplete, "cm-ana", care.TaskCompletion{TaskID: "tcm-contact-1"})
		c.closeAndRun()

		require.False(t, done.rejected, "past the validator")
		task := c.lastTask("tcm-contact-1")
		if version == 1 {
			require.Error(t, done.err, "the handler refuses it")
			require.Equal(t, string(care.KindNotAllowed), appErrType(done.err), "%v", done.err)
			require.Equal(t, care.TaskCancelled, task.Status, "open until the case closed")
			continue
		}
		require.NoError(t, done.err, "the old path, as before")
		require.Equal(t, care.TaskDone, task.Status)
		require.True(t, *task.Met)
		require.Equal(t, "done", task.Outcome)
	}
}

// lastPause is the last pause record the steps wrote.
func (c *caseEnv) lastPause() *care.PauseRecord {
	var last *care.PauseRecord
	for _, st := range c.steps {
		if st.Pause != nil {
			last = st.Pause
		}
	}
	return last
}

// A case closed while paused ends its pause at the close: the store's
// case_pauses.resumed_at is set, so the reminders no longer read the case
// as paused, and the case keeps no pause. Before the change (the old
// path) the pause stayed open.
func TestClosingAPausedCaseEndsItsPause(t *testing.T) {
	for _, version := range []workflow.Version{1, workflow.DefaultVersion} {
		c := newCaseEnv(t)
		if version == workflow.DefaultVersion {
			c.env.OnGetVersion("close-ends-pause", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
		}
		c.toFollowUp(care.RiskHigh)
		paused := c.update(workflows.UpdatePause, "cm-ana", care.Pause{Reason: "client away"})
		c.wait(2 * day)
		closed := c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
		c.run()
		require.NoError(t, c.env.GetWorkflowError())
		require.NoError(t, closed.err)

		last := c.lastPause()
		require.NotNil(t, last)
		require.True(t, paused.status.PausedAt.Equal(last.PausedAt), "the pause taken")
		require.Equal(t, "client away", last.Reason)
		require.False(t, closed.status.Paused)
		if version == workflow.DefaultVersion {
			require.True(t, last.ResumedAt.IsZero(), "the old path writes no end")
			require.Equal(t, "client away", closed.status.PauseReason)
			continue
		}
		closeStep := c.steps[len(c.steps)-1]
		require.Equal(t, "close", closeStep.Event.Action)
		require.Same(t, closeStep.Pause, last, "written by the close step")
		require.True(t, closeStep.Event.At.Equal(last.ResumedAt), "ended at the close: %+v", *last)
		require.True(t, closed.status.PausedAt.IsZero())
		require.Empty(t, closed.status.PauseReason)
	}
}

// askedVersion counts the times the case asks for changeID (new path).
func (c *caseEnv) askedVersion(changeID string) *int {
	n := new(int)
	c.env.OnGetVersion(changeID, workflow.DefaultVersion, 1).Run(func(mock.Arguments) { *n++ }).Return(workflow.Version(1))
	return n
}

// Closing a case that is not paused writes no pause record and asks no
// version: the recorded histories' closes replay without a marker.
func TestClosingACaseNotPausedAsksNoVersion(t *testing.T) {
	c := newCaseEnv(t)
	asked := c.askedVersion("close-ends-pause")
	c.toFollowUp(care.RiskHigh)
	c.closeAndRun()
	require.Nil(t, c.lastPause())
	require.Zero(t, *asked)

	c = newCaseEnv(t)
	asked = c.askedVersion("close-ends-pause")
	c.toFollowUp(care.RiskHigh)
	c.update(workflows.UpdatePause, "cm-ana", care.Pause{Reason: "client away"})
	c.closeAndRun()
	require.NotZero(t, *asked, "asked when a paused case closes")
}

// "case done" on a task it completes (the face-to-face visit) asks no
// version of done-needs-contact.
func TestCaseDoneOnAVisitAsksNoVersion(t *testing.T) {
	c := dischargeCase(t, newYork(t, "2026-12-02 09:00:00"), care.RiskHigh, "2026-12-02")
	asked := c.askedVersion("done-needs-contact")
	done := c.update(workflows.UpdateComplete, "cm-ana", care.TaskCompletion{TaskID: "tcm-visit-2"})
	c.closeAndRun()
	require.NoError(t, done.err)
	require.Equal(t, care.TaskDone, c.lastTask("tcm-visit-2").Status)
	require.Zero(t, *asked)
}
