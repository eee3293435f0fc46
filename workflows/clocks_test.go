package workflows_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/internal/tzdb"
	"github.com/caseflow/caseflow/workflows"
)

const day = 24 * time.Hour

// wait moves the time of the next staff action d later.
func (c *caseEnv) wait(d time.Duration) { c.at += d - time.Hour }

// toFollowUp drives the case to follow-up at the given risk; coordination
// starts follow-up four hours after the start.
func (c *caseEnv) toFollowUp(risk care.RiskLevel) {
	c.update(workflows.UpdateScreen, "cm-ana", care.Screening{Eligible: true})
	c.update(workflows.UpdateAssess, "cm-ana", riverAssessment()) // rules propose moderate
	s := care.Stratification{Category: care.CategoryAcute}
	if risk != care.RiskModerate {
		s.Risk, s.OverrideReason = risk, "test"
	}
	c.update(workflows.UpdateStratify, "cm-ana", s)
	c.update(workflows.UpdatePlan, "cm-ana", riverPlan())
}

// alertsOf returns the alerts of a kind, in order.
func (c *caseEnv) alertsOf(kind string) []care.Alert {
	var out []care.Alert
	for _, st := range c.steps {
		for _, a := range st.Alerts {
			if a.Kind == kind {
				out = append(out, a)
			}
		}
	}
	return out
}

// lastTaskOfKind returns the last written state of the last written task
// of a kind (a zero task when none was written).
func (c *caseEnv) lastTaskOfKind(kind care.TaskKind) care.Task {
	var task care.Task
	for _, st := range c.steps {
		for _, tk := range st.Tasks {
			if tk.Kind == kind {
				task = tk
			}
		}
	}
	return task
}

// lastTask returns the last written state of a task.
func (c *caseEnv) lastTask(id string) care.Task {
	c.t.Helper()
	var found *care.Task
	for _, st := range c.steps {
		for i := range st.Tasks {
			if st.Tasks[i].ID == id {
				found = &st.Tasks[i]
			}
		}
	}
	require.NotNil(c.t, found, "task %s never written", id)
	return *found
}

func (c *caseEnv) start() time.Time { return c.steps[0].Event.At }

func TestFollowUpCallsFallDueByCadenceAndEscalate(t *testing.T) {
	c := newCaseEnv(t)
	c.toFollowUp(care.RiskHigh) // complex-case, clinical, high: weekly calls
	c.wait(20 * day)
	c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	c.run()
	require.NoError(t, c.env.GetWorkflowError())

	followUp := c.start().Add(4 * time.Hour)
	due := c.alertsOf("call-due")
	require.Len(t, due, 2)
	require.Equal(t, followUp.Add(7*day), due[0].At)
	require.Equal(t, followUp.Add(14*day), due[1].At)
	require.Equal(t, "cm-ana", due[0].Recipient)
	// Nobody recorded call-1: after its 2-day window and 1 day more it goes to the supervisor.
	over := c.alertsOf("call-overdue")
	require.Len(t, over, 2)
	require.Equal(t, followUp.Add(10*day), over[0].At)
	require.Equal(t, "sup-care-team", over[0].Recipient)
	require.Equal(t, "call-1", over[0].TaskID)
	call1 := c.lastTask("call-1")
	require.Equal(t, care.TaskMissed, call1.Status, "closed as missed when call-2 fell due")
	require.False(t, *call1.Met)
	require.Equal(t, care.TaskCancelled, c.lastTask("call-2").Status, "cancelled when the case closed")
	require.Empty(t, c.alertsOf("automated-call"), "complex-case places no automated calls")
}

func TestNoAnswersEscalateAndDeteriorationReturnsToAssessment(t *testing.T) {
	c := newCaseEnv(t)
	c.toFollowUp(care.RiskHigh)
	c.wait(7 * day) // call-1 falls due at follow-up + 7 days, 3 hours after the plan
	c.wait(4 * time.Hour)
	c.update(workflows.UpdateCall, "cm-ana", care.CallResult{TaskID: "call-1", Outcome: care.CallNoAnswer})
	c.wait(7 * day)
	c.update(workflows.UpdateCall, "cm-ana", care.CallResult{TaskID: "call-2", Outcome: care.CallNoAnswer})
	c.wait(7 * day)
	third := c.update(workflows.UpdateCall, "cm-ana", care.CallResult{TaskID: "call-3", Outcome: care.CallNoAnswer})
	c.wait(7 * day)
	wrong := c.update(workflows.UpdateCall, "cm-ana", care.CallResult{TaskID: "call-99", Outcome: care.CallReached})
	notCall := c.update(workflows.UpdateComplete, "cm-ana", care.TaskCompletion{TaskID: "call-5"})
	worse := c.update(workflows.UpdateCall, "cm-ana", care.CallResult{TaskID: "call-5", Outcome: care.CallReached, Deteriorated: true})
	c.wait(30 * day)
	c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	c.run()
	require.NoError(t, c.env.GetWorkflowError())

	require.NoError(t, third.err)
	require.Contains(t, third.status.Timeline[len(third.status.Timeline)-1].Summary, "3 unanswered in a row, escalated to sup-care-team")
	na := c.alertsOf("no-answer")
	require.Len(t, na, 1)
	require.Equal(t, "sup-care-team", na[0].Recipient)
	require.Contains(t, itemKinds(third.status), "lost-to-contact", "a decision task for the supervisor")
	require.Equal(t, "sup-care-team", c.lastTask("lost-to-contact-4").Owner)
	require.True(t, wrong.rejected)
	require.ErrorContains(t, wrong.err, `"call-99" is not an open task of this case; open tasks: lost-to-contact-4, call-5`)
	require.ErrorContains(t, notCall.err, "call-5 is a call; record its outcome")
	require.Equal(t, care.PhaseAssessment, worse.status.Phase)
	require.True(t, worse.status.NextCallAt.IsZero(), "no calls outside follow-up")
	require.Len(t, c.alertsOf("call-due"), 4, "call-1, -2, -3, -5; none after the case went back to assessment")
	require.Equal(t, care.TaskDone, c.lastTask("call-5").Status)
	require.True(t, *c.lastTask("call-1").Met, "recorded within the window")
}

// dischargeCase drives a transitional-care case to follow-up at risk and
// discharges it on date, with the case started at start (program time).
func dischargeCase(t *testing.T, start time.Time, risk care.RiskLevel, date string) *caseEnv {
	c := newCaseEnvWith(t, "transitional-care", care.ModelClinical)
	c.env.SetStartTime(start)
	c.toFollowUp(risk)
	c.update(workflows.UpdateTransition, "cm-ana", care.Transition{Kind: care.TransitionDischarge, From: "city hospital", To: "home", Date: date})
	return c
}

func newYork(t *testing.T, s string) time.Time {
	loc, err := tzdb.Load("America/New_York")
	require.NoError(t, err)
	v, err := time.ParseInLocation("2006-01-02 15:04:05", s, loc)
	require.NoError(t, err)
	return v
}

func TestFridayDischargeBeforeAHolidayIsDueWednesday(t *testing.T) {
	// Friday 15 January 2027; Monday 18th is Martin Luther King Day.
	c := dischargeCase(t, newYork(t, "2027-01-15 08:00:00"), care.RiskModerate, "2027-01-15")
	c.wait(40 * day)
	c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	c.run()
	require.NoError(t, c.env.GetWorkflowError())

	contact := c.lastTask("tcm-contact-1")
	require.Equal(t, newYork(t, "2027-01-20 23:59:59"), contact.Due.In(contact.Due.Location()).Truncate(time.Second).In(newYork(t, "2027-01-01 00:00:00").Location()))
	visit := c.lastTask("tcm-visit-2")
	require.True(t, newYork(t, "2027-01-29 23:59:59").Equal(visit.Due), "moderate complexity: 14 days, got %s", visit.Due)
	require.Contains(t, visit.Description, "within 14 days")
	require.True(t, visit.Due.Equal(c.lastTask("med-reconciliation-3").Due), "med reconciliation due by the visit")
	watch := c.lastTask("readmission-watch-4")
	require.True(t, newYork(t, "2027-02-14 23:59:59").Equal(watch.Due))
	// Nobody did anything: the contact, visit and reconciliation clocks are missed, each alerting the supervisor;
	// the readmission watch ends met.
	require.Equal(t, care.TaskMissed, contact.Status)
	require.True(t, newYork(t, "2027-01-20 23:59:59").Equal(contact.CompletedAt), "missed exactly at its due time")
	require.Equal(t, care.TaskMissed, visit.Status)
	require.Len(t, c.alertsOf("clock-missed"), 3)
	require.Equal(t, care.TaskDone, watch.Status)
	require.True(t, *watch.Met)
}

func TestSevenDayVisitClockForHighComplexity(t *testing.T) {
	c := dischargeCase(t, newYork(t, "2026-12-02 09:00:00"), care.RiskHigh, "2026-12-02")
	c.wait(day)
	c.update(workflows.UpdateContact, "cm-ana", care.Contact{With: care.PartyClient}) // day 1: meets the 2-business-day contact
	c.wait(5 * day)
	c.update(workflows.UpdateContact, "cm-ana", care.Contact{With: care.PartyClient, FaceToFace: true}) // day 6: visit in time
	c.wait(3 * day)
	late := c.update(workflows.UpdateComplete, "cm-ana", care.TaskCompletion{TaskID: "med-reconciliation-3"})
	c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	c.run()
	require.NoError(t, c.env.GetWorkflowError())

	require.True(t, newYork(t, "2026-12-04 23:59:59").Equal(c.lastTask("tcm-contact-1").Due), "Wednesday + 2 business days")
	require.True(t, *c.lastTask("tcm-contact-1").Met)
	visit := c.lastTask("tcm-visit-2")
	require.True(t, newYork(t, "2026-12-09 23:59:59").Equal(visit.Due), "high complexity: 7 days")
	require.Contains(t, visit.Description, "within 7 days")
	require.True(t, *visit.Met)
	// The reconciliation was due with the visit (day 7): by day 9 the clock had been missed.
	require.NoError(t, late.err, "a missed clock can still be done late")
	medRec := c.lastTask("med-reconciliation-3")
	require.Equal(t, care.TaskDone, medRec.Status, "recorded done late")
	require.False(t, *medRec.Met, "its clock stays missed")
	require.Contains(t, medRec.Outcome, "done late")
	missed := c.alertsOf("clock-missed")
	require.Len(t, missed, 1)
	require.Equal(t, "med-reconciliation-3", missed[0].TaskID)
	require.Equal(t, "sup-care-team", missed[0].Recipient)
}

func TestReadmissionOnDay12(t *testing.T) {
	c := dischargeCase(t, newYork(t, "2026-12-02 09:00:00"), care.RiskHigh, "2026-12-02")
	c.wait(12 * day)
	back := c.update(workflows.UpdateTransition, "cm-ana", care.Transition{Kind: care.TransitionReadmission, From: "home", To: "city hospital", Date: "2026-12-14"})
	c.wait(day)
	again := c.update(workflows.UpdateTransition, "cm-ana", care.Transition{Kind: care.TransitionDischarge, From: "city hospital", To: "home", Date: "2026-12-15"})
	c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	c.run()
	require.NoError(t, c.env.GetWorkflowError())

	require.NoError(t, back.err)
	require.Equal(t, care.PhaseTransition, back.status.Phase, "back to transition handling")
	require.True(t, back.status.NextCallAt.IsZero(), "no follow-up calls while in hospital")
	watch := c.lastTask("readmission-watch-4")
	require.Equal(t, care.TaskDone, watch.Status)
	require.False(t, *watch.Met)
	require.Equal(t, "readmitted on day 12 after discharge", watch.Outcome)
	require.Len(t, c.alertsOf("readmission"), 1)
	require.Equal(t, care.TaskMissed, c.lastTask("med-reconciliation-3").Status, "due with the 7-day visit: missed before the readmission")
	require.Contains(t, back.status.Timeline[len(back.status.Timeline)-1].Summary, "day 12 of the readmission watch")
	// The next discharge starts new clocks.
	require.Equal(t, care.PhasePostTransition, again.status.Phase)
	require.Equal(t, []string{"tcm-contact", "tcm-visit", "med-reconciliation", "next-call"}, itemKinds(again.status))
	require.NotEqual(t, "tcm-contact-1", again.status.OpenItems[0].TaskID, "a new contact clock, not the old one")
	require.True(t, strings.HasPrefix(again.status.OpenItems[0].TaskID, "tcm-contact-"))
}

func TestPauseAndResumeShiftTheClocks(t *testing.T) {
	c := newCaseEnv(t)
	c.toFollowUp(care.RiskHigh) // call-1 due at follow-up + 7 days
	c.wait(day)
	paused := c.update(workflows.UpdatePause, "cm-ana", care.Pause{Reason: "re-admitted"})
	again := c.update(workflows.UpdatePause, "cm-ana", care.Pause{Reason: "twice"})
	c.wait(3 * day)
	resumed := c.update(workflows.UpdateResume, "cm-ana", care.Pause{Reason: "discharged"})
	noPause := c.update(workflows.UpdateResume, "cm-ana", care.Pause{Reason: "again"})
	c.wait(10 * day)
	c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	c.run()
	require.NoError(t, c.env.GetWorkflowError())

	require.NoError(t, paused.err)
	require.True(t, paused.status.Paused)
	require.ErrorContains(t, again.err, "already paused")
	require.ErrorContains(t, noPause.err, "not paused")
	followUp := c.start().Add(4 * time.Hour)
	pausedFor := resumed.status.Timeline[len(resumed.status.Timeline)-1].At.Sub(paused.status.PausedAt)
	require.Equal(t, 3*day+time.Hour, pausedFor)
	require.Equal(t, followUp.Add(7*day+pausedFor), resumed.status.NextCallAt)
	due := c.alertsOf("call-due")
	require.Len(t, due, 1)
	require.Equal(t, followUp.Add(7*day+pausedFor), due[0].At, "the call fell due as late as the case was paused")
	var pauses []care.PauseRecord
	for _, st := range c.steps {
		if st.Pause != nil {
			pauses = append(pauses, *st.Pause)
		}
	}
	require.Len(t, pauses, 2)
	require.Equal(t, pauses[0].PausedAt, pauses[1].PausedAt)
	require.Equal(t, pausedFor, pauses[1].ResumedAt.Sub(pauses[1].PausedAt), "the paused time is recorded")
}

func TestAPolicyIsPinnedWhenTheCaseOpens(t *testing.T) {
	// Two cases of the same program under two policy versions: each follows
	// its own, whatever was loaded since.
	for _, cadence := range []time.Duration{7 * day, 3 * day} {
		c := newCaseEnv(t)
		c.policy.Version = 2
		c.policy.FollowUp.Cadence.High = care.Duration(cadence)
		c.toFollowUp(care.RiskHigh)
		c.wait(8 * day)
		c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
		c.run()
		require.NoError(t, c.env.GetWorkflowError())
		require.Equal(t, c.start().Add(4*time.Hour+cadence), c.alertsOf("call-due")[0].At)
	}
}

// TestTwelveMonthsOfIntensiveCallsAcrossRuns runs a high-risk, intensive
// case for a year of calls every 3.5 days, answering each an hour after it
// falls due. The workflow continues as new again and again; every run stays
// far below 4,096 history events, and not one call is lost or repeated.
func TestTwelveMonthsOfIntensiveCallsAcrossRuns(t *testing.T) {
	c := newCaseEnvWith(t, "complex-case", care.ModelIntensive)
	in := workflows.CaseInput{Case: riverCase(), PolicyVersion: c.policy.Version}
	in.Case.Model = care.ModelIntensive
	c.toFollowUp(care.RiskHigh)
	interval := 84 * time.Hour
	var start, followUp, end time.Time
	var runs, calls int
	for runs = 1; ; runs++ {
		require.Less(t, runs, 20, "too many runs")
		stepsBefore, updates := len(c.steps), 0
		if runs > 1 {
			c.env = c.newEnv()
			c.env.SetStartTime(start)
		}
		// Answer every call that falls due during this run.
		for k := 1; k <= 104; k++ {
			answerAt := followUp.Add(time.Duration(k)*interval + time.Hour)
			if runs == 1 || answerAt.After(start) {
				delay := time.Duration(k)*interval + time.Hour + 4*time.Hour
				if runs > 1 {
					delay = answerAt.Sub(start)
				}
				updates++
				c.env.RegisterDelayedCallback(func() {
					v, err := c.env.QueryWorkflow(workflows.QueryStatus)
					require.NoError(t, err)
					var st workflows.Status
					require.NoError(t, v.Get(&st))
					for _, it := range st.OpenItems {
						if it.Kind == string(care.TaskCall) {
							c.env.UpdateWorkflow(workflows.UpdateCall, "", &testUpdate{t: t}, "cm-ana", care.CallResult{TaskID: it.TaskID, Outcome: care.CallReached})
						}
					}
				}, delay)
			}
		}
		if runs == 1 {
			c.env.ExecuteWorkflow(workflows.CaseWorkflow, &in)
			start = c.start()
			followUp = start.Add(4 * time.Hour)
			end = followUp.Add(365 * day)
		} else {
			closeIn := end.Sub(start)
			c.env.RegisterDelayedCallback(func() {
				c.env.UpdateWorkflow(workflows.UpdateClose, "", &testUpdate{t: t}, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
			}, closeIn)
			c.env.ExecuteWorkflow(workflows.CaseWorkflow, &in)
		}
		// The run's history: each activity ~7 events with its workflow task
		// and search-attribute upsert, each timer ~5, each update ~5.
		activities := len(c.steps) - stepsBefore
		estimate := activities*7 + workflows.DefaultMaxStepsPerRun*5 + updates*5 + 10
		require.Less(t, estimate, 4096, "run %d", runs)
		err := c.env.GetWorkflowError()
		var can *workflow.ContinueAsNewError
		if !errors.As(err, &can) {
			require.NoError(t, err)
			break
		}
		in = workflows.CaseInput{}
		require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &in))
		require.NotNil(t, in.State)
		require.Equal(t, runs, in.State.Runs)
		// The next run names its policy and reads it again; the input
		// carries neither the policy nor a second copy of the case
		// (change policy-by-reference).
		require.Equal(t, c.policy.Version, in.PolicyVersion)
		require.Zero(t, in.Policy.Version)
		require.Zero(t, in.State.Policy.Version)
		require.Empty(t, in.Case.ID)
		require.Equal(t, "c-river", in.State.Case.ID)
		start = c.steps[len(c.steps)-1].Event.At
		if runs == 1 {
			// Close the case a year after follow-up started, in whichever run that is.
			require.True(t, start.Before(end))
		}
	}
	require.Greater(t, runs, 2, "a year of calls spans several runs")
	require.Equal(t, runs, c.policyReads, "each run reads its policy once")
	due := c.alertsOf("call-due")
	calls = len(due)
	require.Equal(t, 104, calls, "a call every 3.5 days for a year")
	for k, a := range due {
		require.Equal(t, followUp.Add(time.Duration(k+1)*interval), a.At, "call %d on time", k+1)
		require.Equal(t, "call", strings.Split(a.TaskID, "-")[0])
	}
	seen := map[string]bool{}
	for _, a := range due {
		require.False(t, seen[a.TaskID], "call %s repeated", a.TaskID)
		seen[a.TaskID] = true
		task := c.lastTask(a.TaskID)
		require.Equal(t, care.TaskDone, task.Status, a.TaskID)
		require.True(t, *task.Met, "%s answered within its window", a.TaskID)
	}
	require.Empty(t, c.alertsOf("call-overdue"))
	require.Equal(t, care.PhaseClosed, c.events[len(c.events)-1].PhaseAfter)
}

// testUpdate fails the test if an update is rejected or fails.
type testUpdate struct{ t *testing.T }

func (u *testUpdate) Accept()        {}
func (u *testUpdate) Reject(e error) { u.t.Errorf("update rejected: %v", e) }
func (u *testUpdate) Complete(_ any, err error) {
	if err != nil {
		u.t.Errorf("update failed: %v", err)
	}
}

func TestTheDischargeVisitIsBookedAndAttendingItMeetsTheClock(t *testing.T) {
	c := newCaseEnvWith(t, "transitional-care", care.ModelClinical)
	c.env.SetStartTime(newYork(t, "2026-12-02 09:00:00"))
	var visit workflows.ServiceInput
	c.onService = func(in workflows.ServiceInput) {
		if in.Service.Code == "primary-care" {
			visit = in
		}
	}
	c.toFollowUp(care.RiskHigh)
	c.update(workflows.UpdateTransition, "cm-ana", care.Transition{Kind: care.TransitionDischarge, From: "city hospital", To: "home", Date: "2026-12-02"})
	// The visit's coordination reports the appointment attended on day 5.
	c.wait(5 * day)
	c.env.RegisterDelayedCallback(func() {
		c.env.SignalWorkflow(workflows.SignalServiceUpdate, care.ServiceUpdate{PlanVersion: 1, Summary: "visit attended",
			State: care.ServiceState{Service: visit.Service, Status: care.ServiceCompleted,
				Appointment: &care.AppointmentRef{ID: "ap-visit", Status: "attended"}}})
	}, c.at+time.Hour)
	c.wait(time.Hour)
	c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	c.run()
	require.NoError(t, c.env.GetWorkflowError())

	require.Equal(t, "tcm-visit-2", visit.Service.ID, "booked for the visit clock")
	due := c.lastTask("tcm-visit-2").Due
	dischargedAt := c.start().Add(5 * time.Hour)
	require.Equal(t, due.Sub(dischargedAt), visit.Policy.Appointments.BookingWindow.D(), "booked within the visit's due time")
	require.Equal(t, care.TaskDone, c.lastTask("tcm-visit-2").Status)
	require.True(t, *c.lastTask("tcm-visit-2").Met)
	require.Contains(t, c.lastTask("tcm-visit-2").Outcome, "visit attended (ap-visit)")
}
