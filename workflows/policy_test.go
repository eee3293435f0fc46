package workflows_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/workflows"
)

// A case opened under change policy-by-reference reads its policy once per
// run and shows it in its status as if it carried it; a staff action's
// answer leaves it out.
func TestACaseReadsThePolicyItsInputNames(t *testing.T) {
	c := newCaseEnv(t)
	screen := c.update(workflows.UpdateScreen, "cm-ana", care.Screening{Eligible: true})
	queried := c.queryStatus()
	c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	c.run()
	require.NoError(t, c.env.GetWorkflowError())
	require.NoError(t, screen.err)
	require.Equal(t, 1, c.policyReads)
	require.Equal(t, c.policy, queried.Policy, "the status query shows the policy")
	require.Zero(t, screen.status.Policy, "a staff action's answer leaves the policy out")
}

// An input that names no policy fails the case at once with a message that
// says what is missing; nothing is recorded.
func TestAnInputWithoutAPolicyFailsClearly(t *testing.T) {
	c := newCaseEnv(t)
	c.env.ExecuteWorkflow(workflows.CaseWorkflow, &workflows.CaseInput{Case: riverCase()})
	err := c.env.GetWorkflowError()
	require.ErrorContains(t, err, "names no policy version of program complex-case")
	require.Empty(t, c.events)
	require.Zero(t, c.policyReads)
}

// A staff action that arrives with the first workflow task, while the run
// is still reading its policy, is checked once the policy is in: a wrong
// one is refused with its reason and writes nothing.
func TestAWrongActionInTheFirstTaskIsRefusedOnceThePolicyIsIn(t *testing.T) {
	c := newCaseEnv(t)
	c.at = -time.Hour // the first update goes at time zero
	wrong := c.update(workflows.UpdateEvaluate, "cm-ana", finalScores())
	c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	c.run()
	require.NoError(t, c.env.GetWorkflowError())
	require.True(t, wrong.done)
	require.Error(t, wrong.err)
	require.Equal(t, string(care.KindNotAllowed), appErrType(wrong.err), "%v", wrong.err)
	require.Equal(t, []string{"opened:screening", "close:closed"}, actions(c.events))
}
