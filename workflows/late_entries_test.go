package workflows_test

// The clocks of a discharge entered late, and of a readmission entered
// late, run from when the events happened (DOMAIN.md), and a visit before
// the discharge is not the post-discharge visit (changes medrec-visit-met,
// discharge-recorded-contacts, readmission-late-clocks). Found by a review
// pass.

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/workflow"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/workflows"
)

// visitBeforeDischarge discharges a high-risk case on Wednesday 2 December
// (visit due 9 December) and enters a face-to-face visit with the client
// made in hospital the day before.
func visitBeforeDischarge(t *testing.T, version workflow.Version) *caseEnv {
	c := dischargeCase(t, newYork(t, "2026-12-02 09:00:00"), care.RiskHigh, "2026-12-02")
	if version == workflow.DefaultVersion {
		c.env.OnGetVersion("medrec-visit-met", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	}
	c.wait(2 * time.Hour)
	c.update(workflows.UpdateContact, "cm-ana", care.Contact{With: care.PartyClient, FaceToFace: true,
		At: newYork(t, "2026-12-01 15:00:00")})
	c.wait(day)
	c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	c.run()
	require.NoError(t, c.env.GetWorkflowError())
	return c
}

// A face-to-face visit with the client made the day before the discharge,
// entered with its time after the discharge, is not the post-discharge
// visit: tcm-visit stays open and the medication reconciliation stays due
// with the visit still to come.
func TestAVisitBeforeTheDischargeLeavesTheMedicationReconciliationDueWithTheVisit(t *testing.T) {
	c := visitBeforeDischarge(t, 1)
	require.Equal(t, care.TaskCancelled, c.lastTask("tcm-visit-2").Status, "open until the close: not met by a visit before discharge")
	medRec := c.lastTask("med-reconciliation-3")
	require.True(t, newYork(t, "2026-12-09 23:59:59").Equal(medRec.Due),
		"due with the visit still to come; got due %s, status %s (%s)", medRec.Due.In(newYork(t, "2026-12-01 00:00:00").Location()), medRec.Status, medRec.Outcome)
	require.Equal(t, care.TaskCancelled, medRec.Status)
}

// Before the change the same visit moved the medication reconciliation to
// the day before the discharge, where it was recorded missed.
func TestAVisitBeforeTheDischargeMovedTheMedicationReconciliationBeforeMedrecVisitMet(t *testing.T) {
	c := visitBeforeDischarge(t, workflow.DefaultVersion)
	medRec := c.lastTask("med-reconciliation-3")
	require.True(t, newYork(t, "2026-12-01 23:59:59").Equal(medRec.Due), "got %s", medRec.Due)
	require.Equal(t, care.TaskMissed, medRec.Status)
}

// The post-discharge visit still sets the medication reconciliation's due
// time under the change.
func TestTheVisitThatMeetsTheVisitClockSetsTheMedicationReconciliation(t *testing.T) {
	c := dischargeCase(t, newYork(t, "2026-12-02 09:00:00"), care.RiskHigh, "2026-12-02")
	c.wait(2 * day)
	c.update(workflows.UpdateContact, "cm-ana", care.Contact{With: care.PartyClient, FaceToFace: true,
		At: newYork(t, "2026-12-03 15:00:00")})
	c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	c.run()
	require.NoError(t, c.env.GetWorkflowError())
	require.True(t, *c.lastTask("tcm-visit-2").Met)
	medRec := c.lastTask("med-reconciliation-3")
	require.True(t, newYork(t, "2026-12-03 23:59:59").Equal(medRec.Due), "got %s", medRec.Due)
}

// lateReadmission discharges a high-risk case on Wednesday 2 December
// (contact due 4 December, visit 9 December) and enters a readmission on 3
// December after wait.
func lateReadmission(t *testing.T, wait time.Duration, version workflow.Version) (contact, visit care.Task) {
	c := dischargeCase(t, newYork(t, "2026-12-02 09:00:00"), care.RiskHigh, "2026-12-02")
	if version == workflow.DefaultVersion {
		c.env.OnGetVersion("readmission-late-clocks", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	}
	c.wait(wait)
	c.update(workflows.UpdateTransition, "cm-ana", readmission("2026-12-03"))
	c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	c.run()
	require.NoError(t, c.env.GetWorkflowError())
	return c.lastTask("tcm-contact-1"), c.lastTask("tcm-visit-2")
}

// A readmission on day 1 entered on day 8 cancels the TCM contact and visit
// clocks that fell due while the client was back in hospital, as the same
// readmission entered on day 1 does, at the readmission's time.
func TestALateReadmissionCancelsTheTCMClocksAsAnOnTimeOneDoes(t *testing.T) {
	onTimeContact, onTimeVisit := lateReadmission(t, day, 1)
	lateContact, lateVisit := lateReadmission(t, 8*day, 1)
	require.Equal(t, care.TaskCancelled, onTimeContact.Status)
	require.Equal(t, care.TaskCancelled, onTimeVisit.Status)
	require.Equal(t, onTimeContact.Status, lateContact.Status, "tcm-contact entered on day 8: %s (%s)", lateContact.Status, lateContact.Outcome)
	require.Equal(t, onTimeVisit.Status, lateVisit.Status, "tcm-visit entered on day 8: %s (%s)", lateVisit.Status, lateVisit.Outcome)
	readmitted := newYork(t, "2026-12-03 00:00:00")
	for _, task := range []care.Task{lateContact, lateVisit} {
		require.Nil(t, task.Met, task.ID)
		require.True(t, readmitted.Equal(task.CompletedAt), "%s cancelled at the readmission: %s", task.ID, task.CompletedAt)
		require.Contains(t, task.Outcome, "readmitted on 2026-12-03, entered late (it had been recorded missed at ")
	}
}

// Before the change the clocks that fell due stayed missed.
func TestALateReadmissionLeftTheTCMClocksMissedBeforeReadmissionLateClocks(t *testing.T) {
	contact, visit := lateReadmission(t, 8*day, workflow.DefaultVersion)
	require.Equal(t, care.TaskMissed, contact.Status)
	require.Equal(t, care.TaskMissed, visit.Status)
}

// recordedBeforeDischarge reaches the client on Wednesday 2 December (a
// face-to-face visit when f2f), recorded then, and enters an hour later a
// discharge of Tuesday 1 December (contact due Thursday 3 December, visit
// 8 December).
func recordedBeforeDischarge(t *testing.T, f2f bool, version workflow.Version) (*caseEnv, *result) {
	c := newCaseEnvWith(t, "transitional-care", care.ModelClinical)
	c.env.SetStartTime(newYork(t, "2026-12-02 09:00:00"))
	if version == workflow.DefaultVersion {
		c.env.OnGetVersion("discharge-recorded-contacts", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	}
	c.toFollowUp(care.RiskHigh)
	c.update(workflows.UpdateContact, "cm-ana", care.Contact{With: care.PartyClient, FaceToFace: f2f}) // Dec 2 14:00
	r := c.update(workflows.UpdateTransition, "cm-ana", discharge("2026-12-01"))                       // Dec 2 15:00
	c.wait(3 * day)
	c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	c.run()
	require.NoError(t, c.env.GetWorkflowError())
	return c, r
}

// The contact clock of a discharge entered late is met by the contact made
// within it and recorded before the discharge was entered.
func TestAContactRecordedBeforeALateEnteredDischargeMeetsItsContactClock(t *testing.T) {
	c, r := recordedBeforeDischarge(t, false, 1)
	contact := c.lastTask("tcm-contact-1")
	require.True(t, newYork(t, "2026-12-03 23:59:59").Equal(contact.Due))
	require.Equal(t, care.TaskDone, contact.Status, "the 2 December contact is within 2 business days of the 1 December discharge; got %s (%s)", contact.Status, contact.Outcome)
	require.True(t, *contact.Met)
	reached := newYork(t, "2026-12-02 14:00:00")
	require.True(t, reached.Equal(contact.CompletedAt), "met when the client was reached: %s", contact.CompletedAt)
	require.Equal(t, "client reached at 2026-12-02T19:00:00Z, before the discharge was entered", contact.Outcome)
	require.Contains(t, c.lastSummary(r), "; met by contacts recorded before: tcm-contact-1 at 2026-12-02T19:00:00Z")
	require.Equal(t, care.TaskCancelled, c.lastTask("tcm-visit-2").Status, "no visit yet: open until the close")
}

// A face-to-face visit with the client recorded before the discharge was
// entered meets the visit clock too, and sets the medication
// reconciliation's due time.
func TestAVisitRecordedBeforeALateEnteredDischargeMeetsItsVisitClock(t *testing.T) {
	c, _ := recordedBeforeDischarge(t, true, 1)
	visit := c.lastTask("tcm-visit-2")
	require.Equal(t, care.TaskDone, visit.Status)
	require.True(t, *visit.Met)
	require.True(t, newYork(t, "2026-12-02 14:00:00").Equal(visit.CompletedAt))
	medRec := c.lastTask("med-reconciliation-3")
	require.True(t, newYork(t, "2026-12-02 23:59:59").Equal(medRec.Due), "due by the visit's date: %s", medRec.Due)
	require.True(t, *c.lastTask("tcm-contact-1").Met)
}

// Before the change the contact clock was recorded missed.
func TestAContactRecordedBeforeALateDischargeWasMissedBeforeDischargeRecordedContacts(t *testing.T) {
	c, _ := recordedBeforeDischarge(t, false, workflow.DefaultVersion)
	require.Equal(t, care.TaskMissed, c.lastTask("tcm-contact-1").Status)
}
