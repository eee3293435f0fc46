package workflows_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/workflow"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/workflows"
)

func TestASkippedReminderIsRecordedNotCounted(t *testing.T) {
	s := newServiceEnv(t, physio, true)
	s.notSent["ap-pt-1-1.120m"] = care.ReminderOutcome{ReminderID: "ap-pt-1-1.120m", Status: care.ReminderSkipped, Reason: care.ReasonPaused}
	s.attend(4*day, "ap-pt-1-1", "attended")
	s.run()
	require.NoError(t, s.env.GetWorkflowError())
	require.Equal(t, 1, s.last().State.RemindersSent, "only the reminder that went out counts")
	require.Contains(t, s.summaries(), "pt: 2d reminder sent for ap-pt-1-1")
	require.Contains(t, s.summaries(), "pt: 2h reminder for ap-pt-1-1 not sent: skipped (paused)")
	require.NotContains(t, s.summaries(), "pt: 2h reminder sent for ap-pt-1-1")
}

func TestAReminderOfUnknownDeliveryIsRecordedSoNotCounted(t *testing.T) {
	outcome := care.ReminderOutcome{ReminderID: "ap-pt-1-1.120m", Status: care.ReminderUnknown, Reason: care.CancelReason(care.AppointmentCancelled)}
	s := newServiceEnv(t, physio, true)
	s.notSent["ap-pt-1-1.120m"] = outcome
	s.attend(4*day, "ap-pt-1-1", "attended")
	s.run()
	require.NoError(t, s.env.GetWorkflowError())
	require.Equal(t, 1, s.last().State.RemindersSent, "a reminder that may not have gone out is not counted")
	require.Contains(t, s.summaries(), "pt: 2h reminder for ap-pt-1-1: delivery unknown, an earlier attempt never reported back (appointment-cancelled)")

	// Before change reminder-unknown it read "not sent".
	s = newServiceEnv(t, physio, true)
	s.notSent["ap-pt-1-1.120m"] = outcome
	s.env.OnGetVersion("reminder-unknown", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	s.attend(4*day, "ap-pt-1-1", "attended")
	s.run()
	require.NoError(t, s.env.GetWorkflowError())
	require.Contains(t, s.summaries(), "pt: 2h reminder for ap-pt-1-1 not sent: unknown (appointment-cancelled)")
}

// A reset of a service replays its occurrence and attempt counters, so a
// booking runs again under a key whose appointment has since ended: the
// service takes that outcome (a cancelled one is rebooked, an attended one
// counts) instead of reporting it booked and waiting for its attendance.
func TestABookingARunMadeBeforeKeepsItsOutcome(t *testing.T) {
	twice := physio
	twice.Occurrences = 2
	twice.Frequency = "weekly"
	s := newServiceEnv(t, twice, true)
	s.prior = map[string]care.AppointmentStatus{"ap-pt-1-1": care.AppointmentCancelled, "ap-pt-1-2": care.AppointmentAttended}
	s.attend(20*day, "ap-pt-2-1", "attended")
	s.run()
	require.NoError(t, s.env.GetWorkflowError())
	var keys []string
	for _, b := range s.bookings {
		keys = append(keys, b.Key.String())
	}
	require.Len(t, keys, 3, "occurrence 1 twice (its first booking was cancelled), then occurrence 2: %v", keys)
	require.Contains(t, s.summaries(), "pt: occurrence 1 was booked before (ap-pt-1-1, cancelled): a reset re-ran its booking, which keeps that outcome; rebooking")
	require.Contains(t, s.summaries(), "pt: occurrence 1, rebooking 1 was booked before (ap-pt-1-2, attended): a reset re-ran its booking, which keeps that outcome")
	require.Equal(t, care.ServiceCompleted, s.last().State.Status)
	require.Equal(t, 2, s.last().State.Attended)
	require.Equal(t, []string{"ap-pt-2-1:attended"}, s.attendances, "no attendance recorded again for what was booked before")
	for _, sum := range s.summaries() {
		require.NotContains(t, sum, "booked with prov-1 for "+serviceStart.Add(-day).Format(time.RFC3339)[:10], "an ended appointment is not reported booked")
	}

	// Before change booked-before, the cancelled appointment was reported
	// booked and waited for.
	s = newServiceEnv(t, physio, true)
	s.prior = map[string]care.AppointmentStatus{"ap-pt-1-1": care.AppointmentCancelled}
	s.env.OnGetVersion("booked-before", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	s.attend(4*day, "ap-pt-1-1", "attended")
	s.run()
	require.NoError(t, s.env.GetWorkflowError())
	require.Len(t, s.bookings, 1)
	require.Contains(t, s.summaries()[1], "occurrence 1 booked with prov-1")
}

func TestAFailedReportIsRetriedWhileTheCaseRuns(t *testing.T) {
	s := newServiceEnv(t, physio, true)
	s.signalFails = 3
	checks := 0
	s.env.OnActivity(acts.CaseRunning, mock.Anything, "case-c-river").Return(
		func(context.Context, string) (bool, error) { checks++; return true, nil })
	s.attend(4*day, "ap-pt-1-1", "attended")
	s.run()
	require.NoError(t, s.env.GetWorkflowError())
	require.Equal(t, 3, checks)
	require.Contains(t, s.summaries()[0], "authorized (AUTH-1", "the first report landed on its fourth attempt")
	require.Greater(t, s.updateAt[0].Sub(serviceStart), 6*time.Second, "after waiting 1+2+4 s")
	require.Equal(t, care.ServiceCompleted, s.last().State.Status)
}

func TestAReportToAClosedCaseIsDropped(t *testing.T) {
	s := newServiceEnv(t, physio, true)
	s.signalFails = 1
	s.env.OnActivity(acts.CaseRunning, mock.Anything, "case-c-river").Return(
		func(context.Context, string) (bool, error) { return false, nil })
	s.attend(4*day, "ap-pt-1-1", "attended")
	s.run()
	require.NoError(t, s.env.GetWorkflowError())
	require.NotContains(t, s.summaries()[0], "authorized", "the first report was dropped: its case was closed")
	require.Equal(t, care.ServiceCompleted, s.last().State.Status)
}

func TestServiceStateQuery(t *testing.T) {
	s := newServiceEnv(t, physio, true)
	var seen care.ServiceState
	s.env.RegisterDelayedCallback(func() {
		v, err := s.env.QueryWorkflow(workflows.QueryServiceState)
		require.NoError(t, err)
		require.NoError(t, v.Get(&seen))
	}, 3*day+time.Hour)
	s.attend(4*day, "ap-pt-1-1", "attended")
	s.run()
	require.NoError(t, s.env.GetWorkflowError())
	require.Equal(t, care.ServiceBooked, seen.Status)
	require.Equal(t, "ap-pt-1-1", seen.Appointment.ID)
	require.Equal(t, 2, seen.RemindersSent)
}

// A new run re-reads its services: a report that never landed (here the
// appointment attended) is taken from the service's own state, and the
// case records it.
func TestANewRunReconcilesItsServices(t *testing.T) {
	c := newCaseEnv(t)
	svc := care.Service{ID: "np", Code: "neuropsychology", Name: "Neuropsychology"}
	booked := &care.AppointmentRef{ID: "ap-1", Occurrence: 1, Attempt: 1, ProviderID: "prov-1", StartsAt: serviceStart, Status: care.AppointmentBooked}
	state := workflows.CaseState{Case: riverCase(), Policy: c.policy, Phase: care.PhaseImplementation, PhaseSince: serviceStart,
		PlanVersion: 1, ServicesStarted: true, Seq: 10,
		Services: []care.ServiceState{{Service: svc, Status: care.ServiceBooked, Appointment: booked}}}
	attended := *booked
	attended.Status = care.AppointmentAttended
	c.reported = map[string]care.ServiceState{
		workflows.ServiceWorkflowID("c-river", "np", 1): {Service: svc, Status: care.ServiceCompleted, Attended: 1, RemindersSent: 2, Appointment: &attended},
	}
	c.env.SetStartTime(serviceStart)
	c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	c.env.ExecuteWorkflow(workflows.CaseWorkflow, &workflows.CaseInput{Case: state.Case, Policy: state.Policy, State: &state})
	require.NoError(t, c.env.GetWorkflowError())
	require.Equal(t, 1, c.rereads)
	require.Equal(t, "reconcile", c.events[0].Action)
	require.Equal(t, 11, c.events[0].Seq)
	require.Contains(t, c.events[0].Summary, "np completed")
	require.Len(t, c.steps[0].Services, 1)
	require.Equal(t, care.ServiceCompleted, c.steps[0].Services[0].Status, "PostgreSQL gets the service's state")
}

// A service kept unchanged by a re-plan runs under the plan version that
// started it: a new run re-reads that workflow, not one of the current
// plan version's name, which does not exist.
func TestANewRunReconcilesAServiceKeptByAReplan(t *testing.T) {
	c := newCaseEnv(t)
	svc := care.Service{ID: "np", Code: "neuropsychology", Name: "Neuropsychology"}
	booked := &care.AppointmentRef{ID: "ap-1", Occurrence: 1, Attempt: 1, ProviderID: "prov-1", StartsAt: serviceStart, Status: care.AppointmentBooked}
	state := workflows.CaseState{Case: riverCase(), Policy: c.policy, Phase: care.PhaseImplementation, PhaseSince: serviceStart,
		PlanVersion: 2, ServicesStarted: true, Seq: 10,
		Services: []care.ServiceState{{Service: svc, PlanVersion: 1, Status: care.ServiceBooked, Appointment: booked}}}
	attended := *booked
	attended.Status = care.AppointmentAttended
	c.reported = map[string]care.ServiceState{
		workflows.ServiceWorkflowID("c-river", "np", 1): {Service: svc, PlanVersion: 1, Status: care.ServiceCompleted, Attended: 1, Appointment: &attended},
	}
	c.env.SetStartTime(serviceStart)
	c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	c.env.ExecuteWorkflow(workflows.CaseWorkflow, &workflows.CaseInput{Case: state.Case, Policy: state.Policy, State: &state})
	require.NoError(t, c.env.GetWorkflowError())
	require.Equal(t, "reconcile", c.events[0].Action, "the kept service's lost report is caught up")
	require.Contains(t, c.events[0].Summary, "np completed")
}
