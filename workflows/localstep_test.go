package workflows_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/workflows"
)

// Change record-step-local: every step of a case is written by RecordStep
// as a local activity, and the activities that only compute on a staff
// action's path (here the risk rules) run locally too: none goes through
// the task queue.
func TestRecordStepRunsAsALocalActivity(t *testing.T) {
	c := newCaseEnv(t)
	var local, queued []string
	c.env.SetOnLocalActivityStartedListener(func(info *activity.Info, _ context.Context, _ []any) {
		local = append(local, info.ActivityType.Name)
	})
	c.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		queued = append(queued, info.ActivityType.Name)
	})
	c.update(workflows.UpdateScreen, "cm-ana", care.Screening{Eligible: true})
	assess := c.update(workflows.UpdateAssess, "cm-ana", riverAssessment())
	c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	c.run()
	require.NoError(t, c.env.GetWorkflowError())
	require.NoError(t, assess.err)
	require.Equal(t, care.RiskModerate, assess.status.Proposal.Level, "the local risk rules ran for real")
	require.Equal(t, []string{"opened:screening", "screen:assessment", "assess:risk-stratification", "close:closed"}, actions(c.events))
	require.Equal(t, []string{"LoadPolicy", "RecordStep", "RecordStep", "ProposeRiskWith", "RecordStep", "RecordStep"}, local)
	require.Empty(t, queued, "nothing goes through the task queue")
}

// A database outage delays a staff action; it never fails it. The local
// RecordStep retries past its StartToCloseTimeout (its ScheduleToClose
// would otherwise default to it) and past the workflow task timeout (the
// SDK then backs off with a timer), and the action answers only once the
// step is committed.
func TestALocalRecordStepRetriesADatabaseOutage(t *testing.T) {
	c := newCaseEnv(t)
	const failures = 8 // backoffs 1+2+4+8+16+32+64+128 s: over four minutes
	attempts := 0
	c.recordErr = func(ctx context.Context, st care.Step) error {
		if st.Event.Action != "screen" {
			return nil
		}
		attempts++
		if got := activity.GetInfo(ctx).Attempt; got != int32(attempts) {
			return fmt.Errorf("attempt %d reported as %d", attempts, got)
		}
		if attempts <= failures {
			return errors.New("connection refused")
		}
		return nil
	}
	screen := c.update(workflows.UpdateScreen, "cm-ana", care.Screening{Eligible: true})
	c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	c.run()
	require.NoError(t, c.env.GetWorkflowError())
	require.True(t, screen.done)
	require.NoError(t, screen.err)
	require.Equal(t, care.PhaseAssessment, screen.status.Phase)
	require.Equal(t, failures+1, attempts)
	require.Equal(t, []string{"opened:screening", "screen:assessment", "close:closed"}, actions(c.events))
}
