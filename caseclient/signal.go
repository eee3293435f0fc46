package caseclient

import (
	"context"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/workflows"
)

// SignalTransition sends a transition reported by an external system (the
// ADT feed) to a case as the workflows.SignalTransition signal. Signals
// cannot be refused: the case applies it, or records it as ignored when its
// phase does not allow it. The error is ErrNotFound or ErrClosed for a case
// that does not run, KindUnavailable when Temporal did not answer.
func (c *Client) SignalTransition(ctx context.Context, caseID string, t care.Transition) error {
	if err := c.tc.SignalWorkflow(ctx, care.WorkflowID(caseID), "", workflows.SignalTransition, t); err != nil {
		return c.caseError(ctx, caseID, err)
	}
	return nil
}
