package workflows_test

// Change discharge-any-phase: the discharge of a client readmitted while
// the case was sent back to assessment or planning starts the TCM clocks
// and the readmission watch, and the case stays in its phase.

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/workflow"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/workflows"
)

// readmittedToPlanning is a case discharged on 2 December, readmitted on
// 5 December and sent back to planning from the transition phase; its
// next action comes three days later (8 December, New York).
func readmittedToPlanning(t *testing.T) *caseEnv {
	c := dischargeCase(t, newYork(t, "2026-12-02 09:00:00"), care.RiskHigh, "2026-12-02")
	c.wait(3 * day)
	c.update(workflows.UpdateTransition, "cm-ana", readmission("2026-12-05"))
	c.update(workflows.UpdateContact, "cm-ana", care.Contact{With: care.PartyFamily, BackTo: care.PhasePlanning})
	c.wait(3 * day)
	return c
}

// The review's sequence (review pass 3): the feed's discharge after a
// readmission, while the case is re-planned, is applied, not ignored.
func TestADischargeAfterAReadmissionIsAppliedWhileTheCaseIsReplanned(t *testing.T) {
	c := readmittedToPlanning(t)
	c.at += time.Hour
	c.env.RegisterDelayedCallback(func() {
		c.env.SignalWorkflow(workflows.SignalTransition, discharge("2026-12-08"))
	}, c.at)
	c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	c.run()
	require.NoError(t, c.env.GetWorkflowError())

	require.NotContains(t, actions(c.events), "transition-ignored:planning", "the discharge happened: %v", actions(c.events))
	require.Equal(t, "transition:planning", actions(c.events)[len(c.events)-2], "applied, and the case stays in planning")
	watch := c.lastTaskOfKind(care.TaskReadmissionWatch)
	require.NotEqual(t, "readmission-watch-4", watch.ID, "a watch of its own")
	require.True(t, newYork(t, "2027-01-07 23:59:59").Equal(watch.Due), "30 days from the discharge: %s", watch.Due)
	require.True(t, newYork(t, "2026-12-10 23:59:59").Equal(c.lastTaskOfKind(care.TaskTCMContact).Due),
		"Tuesday + 2 business days")
}

// Staff's discharge on the same path: accepted, the case stays in planning
// with the TCM clocks running; a clock missed there fires as anywhere, and
// planning goes on to follow-up.
func TestAStaffDischargeAfterAReadmissionStartsTheClocksAndKeepsPlanning(t *testing.T) {
	c := readmittedToPlanning(t)
	r := c.update(workflows.UpdateTransition, "cm-ana", discharge("2026-12-08"))
	c.wait(3 * day) // past the contact clock (Thursday 10 December)
	plan := c.update(workflows.UpdatePlan, "cm-ana", riverPlan())
	c.closeAndRun()

	require.NoError(t, r.err)
	require.Equal(t, care.PhasePlanning, r.status.Phase)
	require.Contains(t, c.lastSummary(r), "discharged from city hospital to home on 2026-12-08")
	var open []care.TaskKind
	for _, st := range c.steps {
		if st.Event.Action == workflows.UpdateTransition && st.Event.PhaseAfter == care.PhasePlanning {
			for _, tk := range st.Tasks {
				if tk.Status == care.TaskOpen {
					open = append(open, tk.Kind)
				}
			}
		}
	}
	require.Subset(t, open, []care.TaskKind{care.TaskTCMContact, care.TaskTCMVisit, care.TaskMedRec, care.TaskReadmissionWatch})
	require.Equal(t, care.TaskMissed, c.lastTaskOfKind(care.TaskTCMContact).Status, "the clock ran in planning")
	require.NotEmpty(t, c.alertsOf("clock-missed"))
	require.NoError(t, plan.err)
	require.Contains(t, actions(c.events), "coordinated:follow-up")
}

// A discharge in planning with no readmission on record is refused (staff)
// and ignored (the feed): the client is not in hospital as far as the case
// knows. Also when the last transition is a discharge.
func TestADischargeInPlanningWithoutAReadmissionIsStillRefused(t *testing.T) {
	for _, discharged := range []bool{false, true} {
		c := newCaseEnvWith(t, "transitional-care", care.ModelClinical)
		c.env.SetStartTime(newYork(t, "2026-12-02 09:00:00"))
		c.toFollowUp(care.RiskHigh)
		if discharged {
			c.update(workflows.UpdateTransition, "cm-ana", discharge("2026-12-02"))
		}
		c.update(workflows.UpdateContact, "cm-ana", care.Contact{With: care.PartyClient, BackTo: care.PhasePlanning})
		r := c.update(workflows.UpdateTransition, "cm-ana", discharge("2026-12-02"))
		c.signal(discharge("2026-12-02"))
		c.closeAndRun()

		require.True(t, r.rejected, "discharged before: %v", discharged)
		require.Equal(t, string(care.KindNotAllowed), appErrType(r.err), "%v", r.err)
		require.ErrorContains(t, r.err, "only after a readmission")
		require.Contains(t, actions(c.events), "transition-ignored:planning")
	}
}

// A history from before the change takes the old path: the feed's
// discharge is ignored, and the staff action, past its validator, is
// refused by the handler as the phase refused it.
func TestADischargeAfterAReadmissionBeforeDischargeAnyPhaseIsIgnored(t *testing.T) {
	for _, staff := range []bool{false, true} {
		c := readmittedToPlanning(t)
		c.env.OnGetVersion("discharge-any-phase", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
		var r *result
		if staff {
			r = c.update(workflows.UpdateTransition, "cm-ana", discharge("2026-12-08"))
		} else {
			c.signal(discharge("2026-12-08"))
		}
		c.closeAndRun()

		require.NotContains(t, actions(c.events), "transition:planning")
		require.Equal(t, "readmission-watch-4", c.lastTaskOfKind(care.TaskReadmissionWatch).ID, "only the first discharge's clocks")
		if staff {
			require.False(t, r.rejected, "the validator applies the new rule")
			require.Error(t, r.err)
			require.ErrorContains(t, r.err, "transition is not allowed while the case is in planning")
			continue
		}
		require.Contains(t, actions(c.events), "transition-ignored:planning")
	}
}
