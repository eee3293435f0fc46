package workflows_test

// One test per rule of the audited clocks (issue 12), with time skipping.

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/workflows"
)

func discharge(date string) care.Transition {
	return care.Transition{Kind: care.TransitionDischarge, From: "city hospital", To: "home", Date: date}
}

func readmission(date string) care.Transition {
	return care.Transition{Kind: care.TransitionReadmission, From: "home", To: "city hospital", Date: date}
}

func (c *caseEnv) lastSummary(r *result) string {
	c.t.Helper()
	require.NoError(c.t, r.err)
	return r.status.Timeline[len(r.status.Timeline)-1].Summary
}

func TestReadmissionOnDay12EnteredOnDay31CorrectsTheClosedWatch(t *testing.T) {
	c := dischargeCase(t, newYork(t, "2026-12-02 09:00:00"), care.RiskHigh, "2026-12-02")
	c.wait(31 * day) // the watch closed met at the end of day 30
	back := c.update(workflows.UpdateTransition, "cm-ana", readmission("2026-12-14"))
	c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	c.run()
	require.NoError(t, c.env.GetWorkflowError())

	require.Contains(t, c.lastSummary(back), "on day 12 of the readmission watch")
	watch := c.lastTask("readmission-watch-4")
	require.Equal(t, care.TaskDone, watch.Status)
	require.False(t, *watch.Met, "a readmission on day 12 fails the watch, however late it is entered")
	require.Equal(t, "readmitted on day 12 after discharge (entered on day 31)", watch.Outcome)
	require.Len(t, c.alertsOf("readmission"), 1)
}

func TestReadmissionOnDay30IsInsideTheWatch(t *testing.T) {
	c := dischargeCase(t, newYork(t, "2026-12-02 09:00:00"), care.RiskHigh, "2026-12-02")
	c.wait(30 * day)
	back := c.update(workflows.UpdateTransition, "cm-ana", readmission("2027-01-01"))
	c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	c.run()
	require.NoError(t, c.env.GetWorkflowError())

	require.Contains(t, c.lastSummary(back), "on day 30 of the readmission watch")
	watch := c.lastTask("readmission-watch-4")
	require.False(t, *watch.Met)
	require.Equal(t, "readmitted on day 30 after discharge", watch.Outcome)
	require.True(t, newYork(t, "2027-01-01 23:59:59").Equal(watch.Due), "the watch runs through the end of day 30")
}

func TestReadmissionOnDay31IsAfterTheWatch(t *testing.T) {
	c := dischargeCase(t, newYork(t, "2026-12-02 09:00:00"), care.RiskHigh, "2026-12-02")
	c.wait(31 * day)
	back := c.update(workflows.UpdateTransition, "cm-ana", readmission("2027-01-02"))
	c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	c.run()
	require.NoError(t, c.env.GetWorkflowError())

	require.Contains(t, c.lastSummary(back), "on day 31 after discharge, after the 30 days readmission watch")
	require.True(t, *c.lastTask("readmission-watch-4").Met)
	require.Empty(t, c.alertsOf("readmission"))
	require.Equal(t, care.PhaseTransition, back.status.Phase)
}

func TestReadmissionDuringAssessmentIsRecordedAgainstTheWatch(t *testing.T) {
	c := dischargeCase(t, newYork(t, "2026-12-02 09:00:00"), care.RiskHigh, "2026-12-02")
	c.wait(3 * day)
	c.update(workflows.UpdateContact, "cm-ana", care.Contact{With: care.PartyClient, BackTo: care.PhaseAssessment})
	back := c.update(workflows.UpdateTransition, "cm-ana", readmission("2026-12-05"))
	c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	c.run()
	require.NoError(t, c.env.GetWorkflowError())

	require.NoError(t, back.err, "accepted during the re-assessment")
	require.Equal(t, care.PhaseTransition, back.status.Phase)
	watch := c.lastTask("readmission-watch-4")
	require.False(t, *watch.Met, "the watch does not close as met")
	require.Equal(t, "readmitted on day 3 after discharge", watch.Outcome)
}

func TestReadmissionSignalDuringPlanningIsApplied(t *testing.T) {
	c := dischargeCase(t, newYork(t, "2026-12-02 09:00:00"), care.RiskHigh, "2026-12-02")
	c.wait(2 * day)
	c.update(workflows.UpdateContact, "cm-ana", care.Contact{With: care.PartyClient, BackTo: care.PhasePlanning})
	c.at += time.Hour
	c.env.RegisterDelayedCallback(func() {
		c.env.SignalWorkflow(workflows.SignalTransition, readmission("2026-12-04"))
	}, c.at)
	c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	c.run()
	require.NoError(t, c.env.GetWorkflowError())

	require.Contains(t, actions(c.events), "transition:transition", "the feed's readmission is applied in planning")
	require.False(t, *c.lastTask("readmission-watch-4").Met)
}

func TestReadmissionBeforeAnyDischargeOutsideFollowUpIsRefused(t *testing.T) {
	c := newCaseEnvWith(t, "transitional-care", care.ModelClinical)
	c.env.SetStartTime(newYork(t, "2026-12-02 09:00:00"))
	c.update(workflows.UpdateScreen, "cm-ana", care.Screening{Eligible: true})
	r := c.update(workflows.UpdateTransition, "cm-ana", readmission("2026-12-02"))
	c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	c.run()
	require.True(t, r.rejected)
	require.ErrorContains(t, r.err, "record the discharge first")
}

func TestDischargeEnteredTwoDaysLateRunsFromTheDischargeDate(t *testing.T) {
	// Discharged Monday 30 November, entered Wednesday 2 December.
	c := dischargeCase(t, newYork(t, "2026-12-02 09:00:00"), care.RiskModerate, "2026-11-30")
	c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	c.run()
	require.NoError(t, c.env.GetWorkflowError())

	contact := c.lastTask("tcm-contact-1")
	require.True(t, newYork(t, "2026-12-02 23:59:59").Equal(contact.Due), "Monday + 2 business days, not from the entry: %s", contact.Due)
	require.True(t, newYork(t, "2026-12-14 23:59:59").Equal(c.lastTask("tcm-visit-2").Due), "14 days from the discharge date")
	require.True(t, newYork(t, "2026-12-30 23:59:59").Equal(c.lastTask("readmission-watch-4").Due))
	require.True(t, newYork(t, "2026-11-30 00:00:00").Equal(contact.StartedAt), "the clock started at the discharge")
	require.Empty(t, c.alertsOf("late-entry"), "no clock had passed yet")
}

func TestADischargeEnteredAfterItsContactClockRecordsItMissedAtItsDueTimeWithOneAlert(t *testing.T) {
	// Discharged Wednesday 25 November (Thanksgiving the 26th): contact due Monday 30th; entered 2 December.
	c := dischargeCase(t, newYork(t, "2026-12-02 09:00:00"), care.RiskModerate, "2026-11-25")
	c.wait(20 * day)
	c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	c.run()
	require.NoError(t, c.env.GetWorkflowError())

	contact := c.lastTask("tcm-contact-1")
	require.Equal(t, care.TaskMissed, contact.Status)
	require.True(t, newYork(t, "2026-11-30 23:59:59").Equal(contact.CompletedAt), "missed at its real due time")
	late := c.alertsOf("late-entry")
	require.Len(t, late, 1, "one alert for the late entry, not one per clock")
	require.Contains(t, late[0].Message, "tcm-contact-1 missed")
	for _, a := range c.alertsOf("clock-missed") {
		require.NotEqual(t, "tcm-contact-1", a.TaskID, "reported by the late-entry alert")
	}
	require.Equal(t, care.TaskMissed, c.lastTask("tcm-visit-2").Status, "the visit was due 9 December")
}

func TestAFutureDischargeIsRefused(t *testing.T) {
	c := dischargeCase(t, newYork(t, "2026-12-02 09:00:00"), care.RiskModerate, "2026-12-09")
	c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	c.run()
	require.NoError(t, c.env.GetWorkflowError())
	for _, e := range c.events {
		require.NotEqual(t, workflows.UpdateTransition, e.Action, "a planned discharge is not recorded")
	}
}

func TestASecondDischargeWithoutAnAdmissionIsRefused(t *testing.T) {
	c := dischargeCase(t, newYork(t, "2026-12-02 09:00:00"), care.RiskHigh, "2026-12-02")
	again := c.update(workflows.UpdateTransition, "cm-ana", discharge("2026-12-02"))
	c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	c.run()
	require.True(t, again.rejected)
	require.ErrorContains(t, again.err, "no admission was recorded since")
}

func TestANewDischargeAfterAReadmissionSupersedesTheOldClocksAndVisitBooking(t *testing.T) {
	c := dischargeCase(t, newYork(t, "2026-12-02 09:00:00"), care.RiskHigh, "2026-12-02")
	c.wait(3 * day)
	c.update(workflows.UpdateTransition, "cm-ana", readmission("2026-12-05"))
	c.wait(2 * day)
	again := c.update(workflows.UpdateTransition, "cm-ana", discharge("2026-12-07"))
	c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	c.run()
	require.NoError(t, c.env.GetWorkflowError())

	require.NoError(t, again.err)
	require.Contains(t, c.cancelled, workflows.ServiceWorkflowID("c-river", "tcm-visit-2", 1), "the old visit booking is cancelled")
	require.Equal(t, care.TaskCancelled, c.lastTask("tcm-visit-2").Status)
	var visits []string
	for _, it := range again.status.OpenItems {
		if it.Kind == string(care.TaskTCMVisit) {
			visits = append(visits, it.TaskID)
		}
	}
	require.Len(t, visits, 1, "one visit clock")
}

func TestPauseAcrossATCMContactDueDateStillMissesItAndAlerts(t *testing.T) {
	c := dischargeCase(t, newYork(t, "2026-12-02 09:00:00"), care.RiskHigh, "2026-12-02") // contact due Friday 4th
	c.wait(day)
	paused := c.update(workflows.UpdatePause, "cm-ana", care.Pause{Reason: "client away"})
	c.wait(5 * day)
	resumed := c.update(workflows.UpdateResume, "cm-ana", care.Pause{Reason: "back home"})
	c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	c.run()
	require.NoError(t, c.env.GetWorkflowError())

	require.True(t, paused.status.Paused)
	contact := c.lastTask("tcm-contact-1")
	require.Equal(t, care.TaskMissed, contact.Status, "a pause never moves a TCM deadline")
	require.True(t, newYork(t, "2026-12-04 23:59:59").Equal(contact.CompletedAt))
	var missed []care.Alert
	for _, a := range c.alertsOf("clock-missed") {
		if a.TaskID == "tcm-contact-1" {
			missed = append(missed, a)
		}
	}
	require.Len(t, missed, 1, "the alert fired while paused")
	require.True(t, missed[0].At.Before(resumed.status.Timeline[len(resumed.status.Timeline)-1].At))
	require.Empty(t, c.alertsOf("call-due"), "no calls while paused")
	require.True(t, newYork(t, "2026-12-09 23:59:59").Equal(c.lastTask("tcm-visit-2").Due), "resume does not move the visit either")
	require.Contains(t, c.lastSummary(resumed), "deadlines unchanged")
}

func TestTwoUnsuccessfulAttemptsMeetTheContactClock(t *testing.T) {
	c := dischargeCase(t, newYork(t, "2026-12-02 09:00:00"), care.RiskHigh, "2026-12-02")
	first := c.update(workflows.UpdateContact, "cm-ana", care.Contact{With: care.PartyClient, Attempt: true, Outcome: care.CallNoAnswer})
	c.wait(day)
	second := c.update(workflows.UpdateContact, "cm-ana", care.Contact{With: care.PartyClient, Attempt: true, Outcome: care.CallNoAnswer})
	c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	c.run()
	require.NoError(t, c.env.GetWorkflowError())

	require.Contains(t, c.lastSummary(first), "attempt 1 within the contact window")
	require.Contains(t, c.lastSummary(second), "tcm-contact-1 met by attempts")
	contact := c.lastTask("tcm-contact-1")
	require.Equal(t, care.TaskDone, contact.Status)
	require.True(t, *contact.Met)
	require.Contains(t, contact.Outcome, "met by attempts")
	require.True(t, first.status.LastContactAt.IsZero(), "an attempt is not a contact")
}

func TestMedicationReconciliationAfterTheVisitIsMissed(t *testing.T) {
	c := dischargeCase(t, newYork(t, "2026-12-02 09:00:00"), care.RiskHigh, "2026-12-02") // visit due 9 December
	c.wait(2 * day)
	c.update(workflows.UpdateContact, "cm-ana", care.Contact{With: care.PartyClient, FaceToFace: true}) // visit on the 4th
	c.wait(2 * day)
	late := c.update(workflows.UpdateComplete, "cm-ana", care.TaskCompletion{TaskID: "med-reconciliation-3"})
	c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	c.run()
	require.NoError(t, c.env.GetWorkflowError())

	require.True(t, *c.lastTask("tcm-visit-2").Met)
	medRec := c.lastTask("med-reconciliation-3")
	require.True(t, newYork(t, "2026-12-04 23:59:59").Equal(medRec.Due), "due by the date of the visit that happened: %s", medRec.Due)
	require.NoError(t, late.err)
	require.Equal(t, care.TaskDone, medRec.Status, "done late")
	require.False(t, *medRec.Met, "its clock stays missed")
	require.Contains(t, c.lastSummary(late), "done late")
}

func TestAVisitWithFamilyOnlyDoesNotMeetTheVisitClock(t *testing.T) {
	c := dischargeCase(t, newYork(t, "2026-12-02 09:00:00"), care.RiskHigh, "2026-12-02")
	c.wait(day)
	family := c.update(workflows.UpdateContact, "cm-ana", care.Contact{With: care.PartyFamily, FaceToFace: true})
	c.wait(8 * day)
	c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	c.run()
	require.NoError(t, c.env.GetWorkflowError())

	require.Contains(t, c.lastSummary(family), "the patient was not present")
	require.True(t, *c.lastTask("tcm-contact-1").Met, "the family meets the interactive contact")
	require.Equal(t, care.TaskMissed, c.lastTask("tcm-visit-2").Status, "but not the face-to-face visit")
}

func TestComplexityIsTheStaffsChoiceAtDischargeAndLabelsComeFromThePolicy(t *testing.T) {
	c := newCaseEnvWith(t, "transitional-care", care.ModelClinical)
	c.policy.PostDischarge.VisitHigh = care.Duration(5 * day)
	c.env.SetStartTime(newYork(t, "2026-12-02 09:00:00"))
	c.toFollowUp(care.RiskModerate) // moderate risk would default to moderate complexity
	t1 := discharge("2026-12-02")
	t1.Complexity = care.ComplexityHigh
	r := c.update(workflows.UpdateTransition, "cm-ana", t1)
	c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	c.run()
	require.NoError(t, c.env.GetWorkflowError())

	visit := c.lastTask("tcm-visit-2")
	require.Contains(t, visit.Description, "within 5 days of discharge (high complexity, CPT 99496)")
	require.True(t, newYork(t, "2026-12-07 23:59:59").Equal(visit.Due))
	require.Equal(t, care.ComplexityHigh, r.status.Discharge.Complexity)
	require.True(t, newYork(t, "2027-01-01 23:59:59").Equal(r.status.Discharge.TCMPeriodEnd), "the 30-day TCM period's end is recorded")
	require.Contains(t, c.lastSummary(r), "TCM period ends")
}

func TestFebruaryCCMContactFallsDueInACalendarMonthCadence(t *testing.T) {
	c := newCaseEnvWith(t, "chronic-care", care.ModelClinical)
	c.env.SetStartTime(newYork(t, "2027-01-31 08:00:00"))
	c.toFollowUp(care.RiskLow) // monthly; follow-up starts on 31 January at noon
	c.wait(62 * day)
	c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	c.run()
	require.NoError(t, c.env.GetWorkflowError())

	due := c.alertsOf("call-due")
	require.GreaterOrEqual(t, len(due), 2)
	require.True(t, newYork(t, "2027-02-28 12:00:00").Equal(due[0].At), "February has its call: %s", due[0].At)
	require.True(t, newYork(t, "2027-03-31 12:00:00").Equal(due[1].At), "back on the 31st in March: %s", due[1].At)
}

func TestCCMMinutesAccumulatePerCalendarMonthAgainstTheTarget(t *testing.T) {
	c := newCaseEnvWith(t, "chronic-care", care.ModelClinical)
	c.env.SetStartTime(newYork(t, "2027-02-01 08:00:00"))
	c.toFollowUp(care.RiskLow)
	c.wait(9 * day)
	first := c.update(workflows.UpdateContact, "cm-ana", care.Contact{With: care.PartyClient, Minutes: 15})
	second := c.update(workflows.UpdateContact, "cm-ana", care.Contact{With: care.PartyFamily, Minutes: 10})
	c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	c.run()
	require.NoError(t, c.env.GetWorkflowError())

	require.Contains(t, c.lastSummary(first), "15 of 20 in 2027-02")
	require.Contains(t, c.lastSummary(second), "25 of 20 in 2027-02 (target met)")
	task := c.lastTaskOfKind(care.TaskCCMMinutes)
	require.Equal(t, care.TaskDone, task.Status)
	require.True(t, *task.Met)
	require.True(t, newYork(t, "2027-02-28 23:59:59").Equal(task.Due), "the month ends in the program's time zone")
}

func TestCCMUnderTargetIsFlaggedInTheMonthsLastDaysAndTheNextMonthStarts(t *testing.T) {
	c := newCaseEnvWith(t, "chronic-care", care.ModelClinical)
	c.env.SetStartTime(newYork(t, "2027-02-01 08:00:00"))
	c.toFollowUp(care.RiskLow)
	c.wait(9 * day)
	c.update(workflows.UpdateContact, "cm-ana", care.Contact{With: care.PartyClient, Minutes: 5})
	c.wait(25 * day)
	c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	c.run()
	require.NoError(t, c.env.GetWorkflowError())

	flag := c.alertsOf("ccm-under-target")
	require.Len(t, flag, 1)
	require.True(t, newYork(t, "2027-02-23 23:59:59").Equal(flag[0].At), "5 days before the month ends: %s", flag[0].At)
	var feb, mar *care.Task
	for _, st := range c.steps {
		for i, tk := range st.Tasks {
			if tk.Kind == care.TaskCCMMinutes && tk.Due.Month() == time.February {
				feb = &st.Tasks[i]
			}
			if tk.Kind == care.TaskCCMMinutes && tk.Due.Month() == time.March {
				mar = &st.Tasks[i]
			}
		}
	}
	require.NotNil(t, feb)
	require.Equal(t, care.TaskMissed, feb.Status, "under target at the month's end")
	require.NotNil(t, mar, "March starts its own accumulator")
	require.True(t, slices.ContainsFunc(c.alertsOf("clock-missed"), func(a care.Alert) bool { return a.TaskID == feb.ID }))
}

func TestEvaluationAgainstIntakeAfterAReassessment(t *testing.T) {
	c := newCaseEnv(t)
	c.toFollowUp(care.RiskHigh)
	c.update(workflows.UpdateContact, "cm-ana", care.Contact{With: care.PartyClient, BackTo: care.PhaseAssessment})
	re := riverAssessment()
	re.Baseline = care.OutcomeScores{PhysicalFunction: 4, ClinicalResults: 4, Financial: 4, Satisfaction: 4, Knowledge: 4, Psychosocial: 4}
	c.update(workflows.UpdateAssess, "cm-ana", re)
	c.update(workflows.UpdateStratify, "cm-ana", care.Stratification{Risk: care.RiskHigh, OverrideReason: "test", Category: care.CategoryAcute})
	c.update(workflows.UpdatePlan, "cm-ana", riverPlan())
	noReason := c.update(workflows.UpdateEvaluate, "cm-ana", finalScores())
	e := finalScores()
	e.WithoutTransition, e.Reason = true, "recovered at home"
	ev := c.update(workflows.UpdateEvaluate, "cm-ana", e)
	c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureGoalsMet})
	c.run()
	require.NoError(t, c.env.GetWorkflowError())

	require.True(t, noReason.rejected, "from follow-up without a transition only explicitly")
	require.ErrorContains(t, noReason.err, "--without-transition")
	summary := c.lastSummary(ev)
	require.Contains(t, summary, "6 domains improved, 0 worse than the intake baseline")
	require.Contains(t, summary, "since the latest re-assessment 2 improved, 1 worse")
	var out *care.Outcomes
	for _, st := range c.steps {
		if st.Outcomes != nil {
			out = st.Outcomes
		}
	}
	require.Equal(t, riverAssessment().Baseline, out.Baseline, "against the intake baseline")
	require.Equal(t, re.Baseline, *out.Reassessed)
}

func TestGoalsMetClosingNeedsAnEvaluationOtherReasonsCloseFromAnyPhase(t *testing.T) {
	c := newCaseEnv(t)
	c.toFollowUp(care.RiskHigh)
	goals := c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureGoalsMet})
	other := c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureLostToContact})
	c.run()
	require.NoError(t, c.env.GetWorkflowError())
	require.True(t, goals.rejected)
	require.ErrorContains(t, goals.err, "needs an evaluation")
	require.NoError(t, other.err)
	require.Equal(t, care.PhaseClosed, other.status.Phase)
}

func TestRiskRulesArePinnedByTheCaseLikeThePolicy(t *testing.T) {
	c := newCaseEnv(t)
	c.policy.RiskRules.Version = "risk-v2-pinned"
	c.policy.RiskRules.Points["financial_hardship"] = 5
	c.update(workflows.UpdateScreen, "cm-ana", care.Screening{Eligible: true})
	r := c.update(workflows.UpdateAssess, "cm-ana", riverAssessment())
	c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	c.run()
	require.NoError(t, c.env.GetWorkflowError())
	require.Equal(t, "risk-v2-pinned", r.status.Proposal.Rules)
	require.Contains(t, r.status.Proposal.Factors, "financial hardship")
	require.Equal(t, care.RiskHigh, r.status.Proposal.Level, "the case's own rules: financial hardship weighs 5 here")
}

func TestAlertIDsAreTheirBusinessIdentityNotTheAuditSeq(t *testing.T) {
	c := dischargeCase(t, newYork(t, "2026-12-02 09:00:00"), care.RiskHigh, "2026-12-02")
	c.wait(10 * day)
	c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	c.run()
	require.NoError(t, c.env.GetWorkflowError())
	var ids []string
	for _, a := range c.alertsOf("clock-missed") {
		ids = append(ids, a.ID)
	}
	require.Equal(t, []string{"c-river/tcm-contact-1/clock-missed/1", "c-river/tcm-visit-2/clock-missed/1",
		"c-river/med-reconciliation-3/clock-missed/1"}, ids)
}
