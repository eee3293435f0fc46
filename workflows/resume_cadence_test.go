package workflows_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/workflow"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/workflows"
)

// pausedAcrossADischarge pauses a high-risk case when the client goes back
// to hospital (Dec 5), records the readmission, the discharge on Dec 10
// that restarts the weekly calls while the case is still paused
// (post-transition, "start calls if none are running"), and resumes on
// Dec 11. It returns the discharge's and the resume's answers.
func pausedAcrossADischarge(t *testing.T, oldPath bool) (paused, again, resumed *result) {
	c := dischargeCase(t, newYork(t, "2026-12-02 09:00:00"), care.RiskHigh, "2026-12-02") // discharged Dec 2 14:00
	if oldPath {
		c.env.OnGetVersion("resume-from-cadence", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	}
	c.wait(3 * day)
	paused = c.update(workflows.UpdatePause, "cm-ana", care.Pause{Reason: "re-admitted to hospital"}) // Dec 5 14:00
	c.update(workflows.UpdateTransition, "cm-ana", readmission("2026-12-05"))                         // Dec 5 15:00
	c.wait(5 * day)
	again = c.update(workflows.UpdateTransition, "cm-ana", discharge("2026-12-10")) // Dec 10 15:00: calls start
	c.wait(day)
	resumed = c.update(workflows.UpdateResume, "cm-ana", care.Pause{Reason: "back home"}) // Dec 11 15:00
	c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	c.run()
	require.NoError(t, c.env.GetWorkflowError())
	require.NoError(t, again.err)
	require.NoError(t, resumed.err)
	require.True(t, again.status.Paused)
	require.True(t, newYork(t, "2026-12-17 15:00:00").Equal(again.status.NextCallAt), "weekly from the discharge: %s", again.status.NextCallAt)
	return paused, again, resumed
}

// Resume moves a cadence restarted during the pause only by the time it ran
// paused (change resume-from-cadence): the discharge on Dec 10 put the next
// call on Dec 17, a day of it ran paused, so the call is due on Dec 18,
// 7 days after resume (before: Dec 23 an hour later, moved by the whole pause of 6 days and an hour).
// Adapted from review pass 3's
// TestReviewResumeDoesNotMoveACadenceStartedDuringThePauseByTheWholePause.
func TestResumeMovesACadenceRestartedDuringThePauseOnlyByTheTimeItRanPaused(t *testing.T) {
	paused, again, resumed := pausedAcrossADischarge(t, false)
	started := again.status.NextCallAt
	resumeAt := resumed.status.Timeline[len(resumed.status.Timeline)-1].At
	ranPaused := resumeAt.Sub(again.status.Timeline[len(again.status.Timeline)-1].At)
	require.Equal(t, day, ranPaused)
	require.True(t, started.Add(ranPaused).Equal(resumed.status.NextCallAt),
		"next call %s: moved by the whole pause (%s), not the %s the cadence ran paused",
		resumed.status.NextCallAt.UTC(), resumeAt.Sub(paused.status.PausedAt), ranPaused)
	require.True(t, newYork(t, "2026-12-18 15:00:00").Equal(resumed.status.NextCallAt))
	require.True(t, resumed.status.Clocks.CadenceSince.IsZero(), "cleared at resume")
	require.Contains(t, resumed.status.Timeline[len(resumed.status.Timeline)-1].Summary, "restarted during the pause moved by the 1d")
}

// Before change resume-from-cadence, resume moved the restarted cadence by
// the whole pause, as recorded histories replay it.
func TestResumeBeforeResumeFromCadenceMovesARestartedCadenceByTheWholePause(t *testing.T) {
	paused, again, resumed := pausedAcrossADischarge(t, true)
	resumeAt := resumed.status.Timeline[len(resumed.status.Timeline)-1].At
	require.True(t, again.status.NextCallAt.Add(resumeAt.Sub(paused.status.PausedAt)).Equal(resumed.status.NextCallAt),
		"next call %s", resumed.status.NextCallAt.UTC())
	require.True(t, newYork(t, "2026-12-23 16:00:00").Equal(resumed.status.NextCallAt))
}

// A resume whose cadence ran through the whole pause (a discharge from
// follow-up keeps the calls running) moves it by the whole pause, as
// before, and asks no version: its history gets no marker.
func TestResumeOfACadenceRunningThroughThePauseAsksNoVersion(t *testing.T) {
	c := newCaseEnvWith(t, "transitional-care", care.ModelClinical)
	c.env.SetStartTime(newYork(t, "2026-12-02 09:00:00").UTC())
	asked := 0
	c.env.OnGetVersion("resume-from-cadence", workflow.DefaultVersion, 1).Run(func(mock.Arguments) { asked++ }).Return(workflow.Version(1))
	c.toFollowUp(care.RiskHigh)
	c.wait(day)
	paused := c.update(workflows.UpdatePause, "cm-ana", care.Pause{Reason: "in hospital"})
	discharged := c.update(workflows.UpdateTransition, "cm-ana", discharge("2026-12-03")) // calls keep running
	c.wait(2 * day)
	resumed := c.update(workflows.UpdateResume, "cm-ana", care.Pause{Reason: "back home"})
	c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	c.run()
	require.NoError(t, c.env.GetWorkflowError())
	require.NoError(t, resumed.err)
	before := discharged.status.NextCallAt
	require.True(t, c.start().Add(4*time.Hour+7*day).Equal(before), "weekly from follow-up: %s", before.UTC())
	resumeAt := resumed.status.Timeline[len(resumed.status.Timeline)-1].At
	require.True(t, before.Add(resumeAt.Sub(paused.status.PausedAt)).Equal(resumed.status.NextCallAt), "next call %s", resumed.status.NextCallAt.UTC())
	require.Zero(t, asked)
}
