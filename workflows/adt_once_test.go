package workflows_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/workflow"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/workflows"
)

// signal sends the ADT feed's transition signal an hour after the last
// action.
func (c *caseEnv) signal(t care.Transition) {
	c.at += time.Hour
	c.env.RegisterDelayedCallback(func() { c.env.SignalWorkflow(workflows.SignalTransition, t) }, c.at)
}

func (c *caseEnv) countEvents(action string) int {
	n := 0
	for _, st := range c.steps {
		if st.Event.Action == action {
			n++
		}
	}
	return n
}

// A transfer the feed delivers twice (it could not record that it applied
// it) moves the case once; another message with the same content is another
// transfer. Before change adt-message-once the repeat was applied again.
func TestAnADTMessageDeliveredTwiceChangesTheCaseOnce(t *testing.T) {
	for _, version := range []workflow.Version{1, workflow.DefaultVersion} {
		c := newCaseEnvWith(t, "transitional-care", care.ModelClinical)
		c.env.SetStartTime(newYork(t, "2026-12-02 09:00:00").UTC())
		if version == workflow.DefaultVersion {
			c.env.OnGetVersion("adt-message-once", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
		}
		c.toFollowUp(care.RiskHigh)
		tr := transfer("2026-12-02")
		tr.Message = "CITYHOSP/MSG-1"
		c.signal(tr)
		c.signal(tr)
		again := tr
		again.Message = "CITYHOSP/MSG-2"
		c.signal(again)
		c.closeAndRun()
		want := 2
		if version == workflow.DefaultVersion {
			want = 3
		}
		require.Equal(t, want, c.countEvents(workflows.UpdateTransition), "version %d", version)
	}
}

// Only the latest MessagesKept keys are kept.
func TestACaseKeepsTheLatestMessageKeys(t *testing.T) {
	c := newCaseEnvWith(t, "transitional-care", care.ModelClinical)
	c.env.SetStartTime(newYork(t, "2026-12-02 09:00:00").UTC())
	c.toFollowUp(care.RiskHigh)
	for i := range workflows.MessagesKept + 2 {
		tr := transfer("2026-12-02")
		tr.Message = "CITYHOSP/MSG-" + string(rune('a'+i))
		c.signal(tr)
	}
	closed := c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	c.run()
	require.NoError(t, c.env.GetWorkflowError())
	require.Equal(t, workflows.MessagesKept+2, c.countEvents(workflows.UpdateTransition))
	require.NoError(t, closed.err)
	kept := closed.status.Messages
	require.Len(t, kept, workflows.MessagesKept)
	require.Equal(t, "CITYHOSP/MSG-c", kept[0], "the two oldest dropped")
}
