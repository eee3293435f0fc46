package workflows_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/workflow"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/workflows"
)

// The tests of change event-times start the workflow's clock in UTC, as
// the server's is: a clock started in New York time hides a date taken in
// the wrong zone.

// visitCase discharges a high-risk case (visit due by the end of day 7) on
// Wednesday 2 December 2026, and reports the booked visit attended at
// startsAt, reportedAfter the discharge.
func visitCase(t *testing.T, startsAt time.Time, reportedAfter time.Duration, version workflow.Version) *caseEnv {
	c := newCaseEnvWith(t, "transitional-care", care.ModelClinical)
	c.env.SetStartTime(newYork(t, "2026-12-02 09:00:00").UTC())
	if version == workflow.DefaultVersion {
		c.env.OnGetVersion("event-times", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	}
	var visit workflows.ServiceInput
	c.onService = func(in workflows.ServiceInput) {
		if in.Service.Code == "primary-care" {
			visit = in
		}
	}
	c.toFollowUp(care.RiskHigh)
	c.update(workflows.UpdateTransition, "cm-ana", discharge("2026-12-02"))
	c.wait(reportedAfter)
	c.env.RegisterDelayedCallback(func() {
		c.env.SignalWorkflow(workflows.SignalServiceUpdate, care.ServiceUpdate{PlanVersion: 1, Summary: "visit attended",
			State: care.ServiceState{Service: visit.Service, Status: care.ServiceCompleted,
				Appointment: &care.AppointmentRef{ID: "ap-visit", Status: care.AppointmentAttended, StartsAt: startsAt}}})
	}, c.at)
	c.wait(2 * time.Hour)
	c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	c.run()
	require.NoError(t, c.env.GetWorkflowError())
	return c
}

// A visit on its clock's last day, reported the next morning (staff have a
// day to record attendance), meets the clock that had fired missed in the
// night.
func TestAVisitOnItsLastDayReportedTheNextMorningMeetsItsClock(t *testing.T) {
	visitAt := newYork(t, "2026-12-09 15:00:00")
	c := visitCase(t, visitAt, 8*day, 1) // reported 10 December, 10:00
	v := c.lastTask("tcm-visit-2")
	require.Equal(t, care.TaskDone, v.Status)
	require.True(t, *v.Met, "the visit happened by the end of day 7")
	require.True(t, visitAt.Equal(v.CompletedAt), "done when it happened: %s", v.CompletedAt)
	require.Contains(t, v.Outcome, "visit attended (ap-visit) at 2026-12-09T20:00:00Z, reported after its clock fired")
	medRec := c.lastTask("med-reconciliation-3")
	require.True(t, newYork(t, "2026-12-09 23:59:59").Equal(medRec.Due), "due by the visit's date: %s", medRec.Due)
	require.Equal(t, care.TaskMissed, medRec.Status, "not done by the visit's date")
}

// Before the change the same visit stays missed: it counted when reported.
func TestAVisitReportedLateBeforeEventTimesStaysMissed(t *testing.T) {
	c := visitCase(t, newYork(t, "2026-12-09 15:00:00"), 8*day, workflow.DefaultVersion)
	v := c.lastTask("tcm-visit-2")
	require.Equal(t, care.TaskMissed, v.Status)
	require.False(t, *v.Met)
}

// A visit after its clock's due time, reported later still, is done late.
func TestAVisitAfterItsDueTimeIsDoneLate(t *testing.T) {
	visitAt := newYork(t, "2026-12-10 09:00:00")
	c := visitCase(t, visitAt, 9*day, 1)
	v := c.lastTask("tcm-visit-2")
	require.Equal(t, care.TaskDone, v.Status)
	require.False(t, *v.Met)
	require.True(t, visitAt.Equal(v.CompletedAt))
	require.Contains(t, v.Outcome, "visit attended (ap-visit) late (missed at 2026-12-10T04:59:59Z)")
}

// The medication reconciliation falls due by the end of the visit's own
// date, not the date its attendance was reported.
func TestMedicationReconciliationIsDueByTheVisitsDate(t *testing.T) {
	visitAt := newYork(t, "2026-12-04 15:00:00")
	c := visitCase(t, visitAt, 2*day+20*time.Hour, 1) // reported 5 December, 06:00
	v := c.lastTask("tcm-visit-2")
	require.True(t, *v.Met)
	require.True(t, visitAt.Equal(v.CompletedAt))
	medRec := c.lastTask("med-reconciliation-3")
	require.True(t, newYork(t, "2026-12-04 23:59:59").Equal(medRec.Due), "got %s", medRec.Due)
	require.Contains(t, medRec.Description, "(2026-12-04)")
}

// A readmission on day 30 entered in the evening is day 30, inside the
// watch, whatever the hour in UTC.
func TestAReadmissionOnDay30EnteredInTheEveningIsDay30(t *testing.T) {
	c := dischargeCase(t, newYork(t, "2026-12-02 09:00:00").UTC(), care.RiskHigh, "2026-12-02")
	// Discharged at 14:00; entered 1 January 2027 at 21:00 New York time,
	// 02:00 on the 2nd in UTC.
	c.wait(30*day + 8*time.Hour)
	back := c.update(workflows.UpdateTransition, "cm-ana", readmission("2027-01-01"))
	c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	c.run()
	require.NoError(t, c.env.GetWorkflowError())
	require.Contains(t, c.lastSummary(back), "on day 30 of the readmission watch")
	watch := c.lastTask("readmission-watch-4")
	require.False(t, *watch.Met)
	require.Equal(t, "readmitted on day 30 after discharge", watch.Outcome)
}
