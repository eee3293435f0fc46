package workflows_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/workflow"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/workflows"
)

// The tests of change contact-times start the workflow's clock in UTC, as
// the server's is, and record contacts and calls made before they are
// entered.

// tcmContactCase discharges a high-risk case on Wednesday 2 December 2026
// (the interactive contact is due by the end of Friday 4 December, the
// second business day), then records contacts entered on Monday 7
// December.
func tcmContactCase(t *testing.T, version workflow.Version, contacts ...care.Contact) (*caseEnv, []*result) {
	c := newCaseEnvWith(t, "transitional-care", care.ModelClinical)
	c.env.SetStartTime(newYork(t, "2026-12-02 09:00:00").UTC())
	if version == workflow.DefaultVersion {
		c.env.OnGetVersion("contact-times", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	}
	c.toFollowUp(care.RiskHigh)
	c.update(workflows.UpdateTransition, "cm-ana", discharge("2026-12-02"))
	c.wait(5 * day) // Monday 7 December
	var rs []*result
	for _, ct := range contacts {
		rs = append(rs, c.update(workflows.UpdateContact, "cm-ana", ct))
	}
	c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	c.run()
	require.NoError(t, c.env.GetWorkflowError())
	return c, rs
}

// A contact made on Friday afternoon and entered on Monday meets the
// contact clock that fired missed at Friday's end.
func TestAContactMadeInTimeAndEnteredLateMeetsItsClock(t *testing.T) {
	at := newYork(t, "2026-12-04 15:00:00")
	c, rs := tcmContactCase(t, 1, care.Contact{With: care.PartyClient, At: at})
	require.NoError(t, rs[0].err)
	task := c.lastTask("tcm-contact-1")
	require.Equal(t, care.TaskDone, task.Status)
	require.True(t, *task.Met, "made by the end of the second business day")
	require.True(t, at.Equal(task.CompletedAt), "done when it was made: %s", task.CompletedAt)
	require.Contains(t, task.Outcome, "contact with client at 2026-12-04T20:00:00Z, entered after its clock fired")
	require.Contains(t, c.lastSummary(rs[0]), "contact with client (made 2026-12-04T20:00:00Z, entered later)")
}

// Before the change the same contact counted when it was entered: late.
func TestAContactEnteredLateBeforeContactTimesIsLate(t *testing.T) {
	c, _ := tcmContactCase(t, workflow.DefaultVersion, care.Contact{With: care.PartyClient, At: newYork(t, "2026-12-04 15:00:00")})
	task := c.lastTask("tcm-contact-1")
	require.Equal(t, care.TaskDone, task.Status)
	require.False(t, *task.Met)
	require.Contains(t, task.Outcome, "late (missed at")
}

// A contact made after its clock's due time, entered later still, is done
// late at the time it was made.
func TestAContactMadeAfterItsDueTimeIsDoneLateWhenMade(t *testing.T) {
	at := newYork(t, "2026-12-05 10:00:00")
	c, _ := tcmContactCase(t, 1, care.Contact{With: care.PartyClient, At: at})
	task := c.lastTask("tcm-contact-1")
	require.False(t, *task.Met)
	require.True(t, at.Equal(task.CompletedAt))
	require.Contains(t, task.Outcome, "late (missed at 2026-12-05T04:59:59Z)")
}

// Two documented attempts made on Thursday and Friday and entered on
// Monday meet the contact clock by attempts.
func TestAttemptsMadeInTheWindowAndEnteredLateMeetTheClock(t *testing.T) {
	attempt := func(s string) care.Contact {
		return care.Contact{With: care.PartyClient, Attempt: true, Outcome: care.CallNoAnswer, At: newYork(t, s)}
	}
	c, rs := tcmContactCase(t, 1, attempt("2026-12-03 10:00:00"), attempt("2026-12-04 16:00:00"), attempt("2026-12-05 10:00:00"))
	require.Contains(t, c.lastSummary(rs[0]), "(attempt 1 within the contact window)")
	require.Contains(t, c.lastSummary(rs[1]), "tcm-contact-1 met by attempts")
	require.NotContains(t, c.lastSummary(rs[2]), "within the contact window", "Saturday is after the window")
	task := c.lastTask("tcm-contact-1")
	require.Equal(t, care.TaskDone, task.Status)
	require.True(t, *task.Met)
	require.True(t, newYork(t, "2026-12-04 16:00:00").Equal(task.CompletedAt))
	require.Contains(t, task.Outcome, "met by attempts: 2 documented attempts within the window (entered after its clock fired")

	// Entered in the other order, the clock is met when the later of the
	// two was made.
	c, _ = tcmContactCase(t, 1, attempt("2026-12-04 16:00:00"), attempt("2026-12-03 10:00:00"))
	task = c.lastTask("tcm-contact-1")
	require.True(t, *task.Met)
	require.True(t, newYork(t, "2026-12-04 16:00:00").Equal(task.CompletedAt), "met at %s", task.CompletedAt)
}

// A discharge dated today without a time starts its clocks when it is
// entered; a contact made earlier that day, entered after it, counts.
func TestAContactEarlierOnTheDayOfAnUntimedDischargeCounts(t *testing.T) {
	c := newCaseEnvWith(t, "transitional-care", care.ModelClinical)
	c.env.SetStartTime(newYork(t, "2026-12-02 09:00:00").UTC())
	c.toFollowUp(care.RiskHigh)                                             // 10:00 to 13:00
	c.update(workflows.UpdateTransition, "cm-ana", discharge("2026-12-02")) // entered 14:00
	at := newYork(t, "2026-12-02 11:00:00")
	r := c.update(workflows.UpdateContact, "cm-ana", care.Contact{With: care.PartyClient, At: at})
	c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	c.run()
	require.NoError(t, c.env.GetWorkflowError())
	require.NoError(t, r.err)
	task := c.lastTask("tcm-contact-1")
	require.Equal(t, care.TaskDone, task.Status)
	require.True(t, *task.Met)
	require.True(t, at.Equal(task.CompletedAt))
}

// A time in the future is refused, naming the field (the case's opening
// time, which the client sets, is checked in care.CheckHappenedAt's test).
func TestAContactTimeInTheFutureIsRefused(t *testing.T) {
	c := newCaseEnvWith(t, "transitional-care", care.ModelClinical)
	start := newYork(t, "2026-12-02 09:00:00").UTC()
	c.env.SetStartTime(start)
	c.toFollowUp(care.RiskHigh)
	future := c.update(workflows.UpdateContact, "cm-ana", care.Contact{With: care.PartyClient, At: start.Add(30 * day)})
	c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	c.run()
	require.NoError(t, c.env.GetWorkflowError())
	require.True(t, future.rejected, "%v", future.err)
	require.ErrorContains(t, future.err, "at: 2027-01-01T14:00:00Z is in the future")
}

// A call made within its window and entered after it is recorded in time.
func TestACallMadeInItsWindowAndEnteredLateIsInTime(t *testing.T) {
	c := newCaseEnv(t)
	start := newYork(t, "2026-12-01 09:00:00").UTC()
	c.env.SetStartTime(start)
	c.toFollowUp(care.RiskHigh)
	c.wait(10 * day)
	early := c.update(workflows.UpdateCall, "cm-ana", care.CallResult{TaskID: "call-1", Outcome: care.CallReached, At: start.Add(2 * day)})
	call := c.update(workflows.UpdateCall, "cm-ana", care.CallResult{TaskID: "call-1", Outcome: care.CallReached, At: start.Add(7*day + 12*time.Hour)})
	c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	c.run()
	require.NoError(t, c.env.GetWorkflowError())
	require.True(t, early.rejected)
	require.ErrorContains(t, early.err, "before call-1 fell due")
	require.NoError(t, call.err)
	require.Contains(t, c.lastSummary(call), "call-1: reached (in time) (made ")
	task := c.lastTask("call-1")
	require.True(t, *task.Met)
	require.True(t, start.Add(7*day+12*time.Hour).Equal(task.CompletedAt))
}

// CCM minutes count toward the month the contact was made in; minutes of a
// month whose clock has closed do not count, and the event says so.
func TestCCMMinutesCountInTheMonthTheyWereMade(t *testing.T) {
	c := newCaseEnvWith(t, "chronic-care", care.ModelClinical)
	c.env.SetStartTime(newYork(t, "2027-02-01 08:00:00").UTC())
	c.toFollowUp(care.RiskLow)
	c.wait(9 * day)
	feb := c.update(workflows.UpdateContact, "cm-ana", care.Contact{With: care.PartyClient, Minutes: 15})
	c.wait(25 * day) // 7 March: February's clock closed under target
	late := c.update(workflows.UpdateContact, "cm-ana", care.Contact{With: care.PartyClient, Minutes: 10, At: newYork(t, "2027-02-27 11:00:00")})
	march := c.update(workflows.UpdateContact, "cm-ana", care.Contact{With: care.PartyFamily, Minutes: 5, At: newYork(t, "2027-03-02 11:00:00")})
	c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	c.run()
	require.NoError(t, c.env.GetWorkflowError())
	require.Contains(t, c.lastSummary(feb), "15 of 20 in 2027-02")
	require.Contains(t, c.lastSummary(late), "10 minutes made before 2027-03, not counted: the clock of their month closed")
	require.Contains(t, c.lastSummary(march), "5 of 20 in 2027-03")
	var detail string
	for _, st := range c.steps {
		if strings.Contains(st.Event.Summary, "not counted") {
			b, err := json.Marshal(st.Event.Detail)
			require.NoError(t, err)
			detail = string(b)
		}
	}
	require.Contains(t, detail, `"minutes_not_counted":true`)
	require.Contains(t, detail, `"at":"2027-02-27T11:00:00-05:00"`)
}

// Minutes made before the case's first CCM month had no clock to count
// toward, and the step says so; minutes entered late that reach the target
// meet it when the latest minutes it needed were made.
func TestCCMMinutesBeforeTheFirstMonthAndATargetReachedLate(t *testing.T) {
	c := newCaseEnvWith(t, "chronic-care", care.ModelClinical)
	c.env.SetStartTime(newYork(t, "2027-02-20 08:00:00").UTC())
	c.toFollowUp(care.RiskLow)
	c.wait(10 * day) // 2 March
	first := c.update(workflows.UpdateContact, "cm-ana", care.Contact{With: care.PartyClient, Minutes: 15})
	feb := c.update(workflows.UpdateContact, "cm-ana", care.Contact{With: care.PartyClient, Minutes: 25, At: newYork(t, "2027-02-26 11:00:00")})
	early := c.update(workflows.UpdateContact, "cm-ana", care.Contact{With: care.PartyFamily, Minutes: 10, At: newYork(t, "2027-03-01 10:00:00")})
	c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	c.run()
	require.NoError(t, c.env.GetWorkflowError())
	require.Contains(t, c.lastSummary(first), "15 of 20 in 2027-03")
	require.Contains(t, c.lastSummary(feb), "25 minutes made before 2027-03, the case's first CCM month, not counted: their month had no clock")
	require.Contains(t, c.lastSummary(early), "25 of 20 in 2027-03 (target met)")
	task := c.lastTaskOfKind(care.TaskCCMMinutes)
	require.True(t, *task.Met)
	require.False(t, task.CompletedAt.Before(newYork(t, "2027-03-02 10:00:00")), "met once the 15 minutes of 2 March were made, not on the 1st: %s", task.CompletedAt)
}

// A case continued from a run that counted a TCM contact attempt before
// the time of attempts was kept (DischargeClocks.LastAttemptAt zero): a
// second attempt, made earlier than it is entered, meets the clock when
// it is entered, the latest the first attempt can have been made, not at
// its own time, which may be before the first.
func TestAnAttemptCountedBeforeItsTimeWasKeptMeetsTheClockWhenEntered(t *testing.T) {
	c := newCaseEnvWith(t, "transitional-care", care.ModelClinical)
	start := newYork(t, "2026-12-02 09:00:00").UTC()
	due := newYork(t, "2026-12-04 23:59:59").UTC()
	cs := riverCase()
	cs.Program = c.policy.Program
	contact := care.Task{ID: "tcm-contact-1", CaseID: cs.ID, Kind: care.TaskTCMContact, Description: "interactive contact",
		Owner: "cm-ana", StartedAt: start, Due: due, Status: care.TaskOpen, Clock: true}
	state := workflows.CaseState{Case: cs, Policy: c.policy, Phase: care.PhasePostTransition, PhaseSince: start, Risk: care.RiskHigh,
		Seq: 10, TaskSeq: 1, Tasks: []care.Task{contact},
		Discharge: &care.DischargeClocks{DischargedAt: start, EnteredAt: start, Date: "2026-12-02", ContactDue: due,
			Tasks: []string{contact.ID}, Attempts: 1}}
	c.env.SetStartTime(start)
	c.wait(day) // Thursday 3 December, 09:00
	r := c.update(workflows.UpdateContact, "cm-ana", care.Contact{With: care.PartyClient, Attempt: true, Outcome: care.CallNoAnswer,
		At: start.Add(time.Hour)})
	c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	c.env.ExecuteWorkflow(workflows.CaseWorkflow, &workflows.CaseInput{Case: cs, Policy: c.policy, State: &state})
	require.NoError(t, c.env.GetWorkflowError())
	require.Contains(t, c.lastSummary(r), "tcm-contact-1 met by attempts")
	task := c.lastTask("tcm-contact-1")
	require.True(t, *task.Met)
	require.True(t, start.Add(day).Equal(task.CompletedAt), "met when the second attempt was entered: %s", task.CompletedAt)
}

// Minutes made in the last second of a month, after the whole second its
// clock is due at and closed at, do not count, as minutes of a closed
// month; before change ccm-last-second they opened a second clock for the
// same month.
func TestCCMMinutesInTheMonthsLastSecondAreNotCounted(t *testing.T) {
	for _, version := range []workflow.Version{1, workflow.DefaultVersion} {
		c := newCaseEnvWith(t, "chronic-care", care.ModelClinical)
		start := newYork(t, "2027-02-20 08:00:00").UTC()
		c.env.SetStartTime(start)
		if version == workflow.DefaultVersion {
			c.env.OnGetVersion("ccm-last-second", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
		}
		c.toFollowUp(care.RiskLow)
		c.update(workflows.UpdateContact, "cm-ana", care.Contact{With: care.PartyClient, Minutes: 5})
		last := newYork(t, "2027-02-28 23:59:59").Add(500 * time.Millisecond)
		c.wait(last.Sub(start) - c.at)
		r := c.update(workflows.UpdateContact, "cm-ana", care.Contact{With: care.PartyClient, Minutes: 15})
		c.closeAndRun()
		require.NoError(t, r.err)
		var feb []string
		for _, st := range c.steps {
			for _, tk := range st.Tasks {
				if tk.Kind == care.TaskCCMMinutes && strings.Contains(tk.Description, "2027-02") && !slices.Contains(feb, tk.ID) {
					feb = append(feb, tk.ID)
				}
			}
		}
		if version == workflow.DefaultVersion {
			require.Len(t, feb, 2, "the old path opened a second February clock")
			continue
		}
		require.Contains(t, c.lastSummary(r), "15 minutes made after 2027-02's clock closed at its last whole second, not counted")
		require.Len(t, feb, 1, "one February clock: %v", feb)
		task := c.lastTask(feb[0])
		require.Equal(t, care.TaskMissed, task.Status)
		require.False(t, *task.Met)
	}
}
