package workflows_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/workflow"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/workflows"
)

// The tests of change transition-contact: the contact clock of a transfer
// or level change is kept like a discharge's clocks. The workflow's clock
// starts in UTC, as the server's is.

func transfer(date string) care.Transition {
	return care.Transition{Kind: care.TransitionTransfer, From: "city hospital", To: "rehabilitation unit", Date: date}
}

// transferCase transfers a high-risk transitional-care case on Wednesday 2
// December 2026, entered at 14:00 (its contact is due by the end of Friday
// 4 December, the second business day), and waits until wait has passed.
func transferCase(t *testing.T, version workflow.Version, wait time.Duration) *caseEnv {
	c := newCaseEnvWith(t, "transitional-care", care.ModelClinical)
	c.env.SetStartTime(newYork(t, "2026-12-02 09:00:00").UTC())
	if version == workflow.DefaultVersion {
		c.env.OnGetVersion("transition-contact", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	}
	c.toFollowUp(care.RiskHigh)                                            // 10:00 to 13:00
	c.update(workflows.UpdateTransition, "cm-ana", transfer("2026-12-02")) // entered 14:00
	c.wait(wait)
	return c
}

func (c *caseEnv) closeAndRun() {
	c.t.Helper()
	c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	c.run()
	require.NoError(c.t, c.env.GetWorkflowError())
}

// A contact made on Friday afternoon and entered on Monday meets the
// transfer's contact clock that fired missed at Friday's end; before the
// change the missed clock had left the case and stayed missed.
func TestATransferContactMadeInTimeAndEnteredLateMeetsItsClock(t *testing.T) {
	at := newYork(t, "2026-12-04 15:00:00")
	c := transferCase(t, 1, 5*day)
	r := c.update(workflows.UpdateContact, "cm-ana", care.Contact{With: care.PartyClient, At: at})
	c.closeAndRun()
	require.NoError(t, r.err)
	task := c.lastTaskOfKind(care.TaskContact)
	require.Equal(t, care.TaskDone, task.Status)
	require.True(t, *task.Met, "made by the end of the second business day")
	require.True(t, at.Equal(task.CompletedAt), "done when it was made: %s", task.CompletedAt)
	require.Contains(t, task.Outcome, "contact with client at 2026-12-04T20:00:00Z, entered after its clock fired")

	c = transferCase(t, workflow.DefaultVersion, 5*day)
	c.update(workflows.UpdateContact, "cm-ana", care.Contact{With: care.PartyClient, At: at})
	c.closeAndRun()
	task = c.lastTaskOfKind(care.TaskContact)
	require.Equal(t, care.TaskMissed, task.Status)
	require.False(t, *task.Met)
}

// A contact made after the transfer's contact clock fired, entered later
// still, records it done late at the time it was made; one entered without
// a time records it done late when entered.
func TestATransferContactAfterItsDueTimeIsDoneLate(t *testing.T) {
	at := newYork(t, "2026-12-05 10:00:00")
	c := transferCase(t, 1, 5*day)
	c.update(workflows.UpdateContact, "cm-ana", care.Contact{With: care.PartyClient, At: at})
	c.closeAndRun()
	task := c.lastTaskOfKind(care.TaskContact)
	require.Equal(t, care.TaskDone, task.Status)
	require.False(t, *task.Met)
	require.True(t, at.Equal(task.CompletedAt))
	require.Contains(t, task.Outcome, "late (missed at 2026-12-05T04:59:59Z)")

	c = transferCase(t, 1, 5*day)
	c.update(workflows.UpdateContact, "cm-ana", care.Contact{With: care.PartyFamily})
	c.closeAndRun()
	task = c.lastTaskOfKind(care.TaskContact)
	require.Equal(t, care.TaskDone, task.Status)
	require.False(t, *task.Met)
	require.Contains(t, task.Outcome, "contact with family late (missed at 2026-12-05T04:59:59Z)")

	// Before the change the missed clock had left the case: no record that
	// the contact was made.
	c = transferCase(t, workflow.DefaultVersion, 5*day)
	c.update(workflows.UpdateContact, "cm-ana", care.Contact{With: care.PartyFamily})
	c.closeAndRun()
	require.Equal(t, care.TaskMissed, c.lastTaskOfKind(care.TaskContact).Status)
}

// A call that reached the client after the transfer's contact clock fired
// missed records it done late: entered without a time, when entered; with
// one, at that time. Before the change it stayed missed.
func TestAReachedCallRecordsAMissedTransferContactClockDoneLate(t *testing.T) {
	wait := 7*day + 2*time.Hour // Wednesday 9 December, 16:00: call-2 is due
	c := transferCase(t, 1, wait)
	call := c.update(workflows.UpdateCall, "cm-ana", care.CallResult{TaskID: "call-2", Outcome: care.CallReached})
	c.closeAndRun()
	require.NoError(t, call.err)
	task := c.lastTaskOfKind(care.TaskContact)
	require.Equal(t, care.TaskDone, task.Status)
	require.False(t, *task.Met)
	require.Contains(t, task.Outcome, "reached by phone late (missed at 2026-12-05T04:59:59Z)")

	at := newYork(t, "2026-12-09 15:30:00")
	c = transferCase(t, 1, wait)
	call = c.update(workflows.UpdateCall, "cm-ana", care.CallResult{TaskID: "call-2", Outcome: care.CallReached, At: at})
	c.closeAndRun()
	require.NoError(t, call.err)
	task = c.lastTaskOfKind(care.TaskContact)
	require.Equal(t, care.TaskDone, task.Status)
	require.True(t, at.Equal(task.CompletedAt), "done when the call was made: %s", task.CompletedAt)
	require.Contains(t, task.Outcome, "reached by phone late (missed at 2026-12-05T04:59:59Z)")

	c = transferCase(t, workflow.DefaultVersion, wait)
	c.update(workflows.UpdateCall, "cm-ana", care.CallResult{TaskID: "call-2", Outcome: care.CallReached})
	c.closeAndRun()
	require.Equal(t, care.TaskMissed, c.lastTaskOfKind(care.TaskContact).Status)
}

// A discharge supersedes a transfer's missed contact clock: a contact
// entered afterwards is the discharge's, and does not touch it.
func TestADischargeSupersedesTheKeptContactClock(t *testing.T) {
	c := transferCase(t, 1, 5*day)
	c.update(workflows.UpdateTransition, "cm-ana", discharge("2026-12-07"))
	r := c.update(workflows.UpdateContact, "cm-ana", care.Contact{With: care.PartyClient})
	c.closeAndRun()
	require.NoError(t, r.err)
	missed := c.lastTaskOfKind(care.TaskContact) // the transfer's: a discharge opens none
	require.Equal(t, care.TaskMissed, missed.Status)
	require.Equal(t, care.TaskDone, c.lastTaskOfKind(care.TaskTCMContact).Status, "the contact is the discharge's")
	require.NotContains(t, c.lastSummary(r), missed.ID)
	for _, tk := range r.status.Tasks {
		require.NotEqual(t, missed.ID, tk.ID, "the superseded clock has left the case")
	}
}

// A transfer's contact clock met in time leaves the case like any done
// task: only a missed one is kept.
func TestAMetTransferContactClockIsNotKept(t *testing.T) {
	c := transferCase(t, 1, day)
	met := c.update(workflows.UpdateContact, "cm-ana", care.Contact{With: care.PartyClient})
	c.wait(day)
	later := c.update(workflows.UpdateContact, "cm-ana", care.Contact{With: care.PartyProvider})
	c.closeAndRun()
	require.NoError(t, met.err)
	task := c.lastTaskOfKind(care.TaskContact)
	require.True(t, *task.Met)
	for _, tk := range later.status.Tasks {
		require.NotEqual(t, task.ID, tk.ID, "a met clock is not kept")
	}
}

// A transfer dated today without a time starts its contact clock when it
// is entered; a contact made earlier that day, after the case's last step
// and entered after the transfer, counts toward it. Before the change it
// did not, and the clock stayed open.
func TestAContactEarlierOnTheDayOfAnUntimedTransferCounts(t *testing.T) {
	at := newYork(t, "2026-12-02 13:30:00")
	c := transferCase(t, 1, 0)
	r := c.update(workflows.UpdateContact, "cm-ana", care.Contact{With: care.PartyClient, At: at})
	c.closeAndRun()
	require.NoError(t, r.err)
	task := c.lastTaskOfKind(care.TaskContact)
	require.Equal(t, care.TaskDone, task.Status)
	require.True(t, *task.Met)
	require.True(t, at.Equal(task.CompletedAt))

	c = transferCase(t, workflow.DefaultVersion, 0)
	c.update(workflows.UpdateContact, "cm-ana", care.Contact{With: care.PartyClient, At: at})
	c.closeAndRun()
	require.Equal(t, care.TaskCancelled, c.lastTaskOfKind(care.TaskContact).Status, "still open when the case closed")
}

// A later transfer supersedes the kept clock: a contact entered late for
// the first transfer no longer changes it.
func TestANewTransferSupersedesTheKeptContactClock(t *testing.T) {
	c := transferCase(t, 1, 5*day)
	second := c.update(workflows.UpdateTransition, "cm-ana", care.Transition{Kind: care.TransitionLevelChange, From: "rehabilitation unit", To: "home care", Date: "2026-12-07"})
	r := c.update(workflows.UpdateContact, "cm-ana", care.Contact{With: care.PartyClient, At: newYork(t, "2026-12-04 15:00:00")})
	c.closeAndRun()
	require.NoError(t, second.err)
	require.NoError(t, r.err)
	var first care.Task
	for _, st := range c.steps {
		for _, tk := range st.Tasks {
			if tk.Kind == care.TaskContact && tk.Status == care.TaskMissed {
				first = tk
			}
		}
	}
	require.NotEmpty(t, first.ID, "the first transfer's contact clock fired missed")
	require.Equal(t, care.TaskMissed, c.lastTask(first.ID).Status, "no longer kept after the level change")
	for _, tk := range r.status.Tasks {
		require.NotEqual(t, first.ID, tk.ID, "the superseded clock has left the case")
	}
}

// A call that reached the client, entered without a time after the TCM
// contact clock fired missed, records it done late, as a contact does;
// before the change it stayed missed.
func TestAnUntimedReachedCallRecordsAMissedContactClockDoneLate(t *testing.T) {
	for _, version := range []workflow.Version{1, workflow.DefaultVersion} {
		c := newCaseEnvWith(t, "transitional-care", care.ModelClinical)
		c.env.SetStartTime(newYork(t, "2026-12-02 09:00:00").UTC())
		if version == workflow.DefaultVersion {
			c.env.OnGetVersion("transition-contact", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
		}
		c.toFollowUp(care.RiskHigh)
		c.update(workflows.UpdateTransition, "cm-ana", discharge("2026-12-02"))
		c.wait(7*day + 2*time.Hour) // Wednesday 9 December: tcm-contact-1 missed, call-5 due
		call := c.update(workflows.UpdateCall, "cm-ana", care.CallResult{TaskID: "call-5", Outcome: care.CallReached})
		c.closeAndRun()
		require.NoError(t, call.err)
		task := c.lastTask("tcm-contact-1")
		if version == workflow.DefaultVersion {
			require.Equal(t, care.TaskMissed, task.Status)
			continue
		}
		require.Equal(t, care.TaskDone, task.Status)
		require.False(t, *task.Met)
		require.Contains(t, task.Outcome, "reached by phone late (missed at 2026-12-05T04:59:59Z)")
	}
}
