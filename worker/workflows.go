package worker

import (
	"context"
	"errors"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/workflows"
)

// Workflows reads caseflow's workflows through a Temporal client: it is the
// activities' Workflows.
type Workflows struct{ Client client.Client }

// Running reports whether the workflow with id has a running execution.
func (w Workflows) Running(ctx context.Context, workflowID string) (bool, error) {
	d, err := w.Client.DescribeWorkflowExecution(ctx, workflowID, "")
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return d.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, nil
}

// ServiceState queries the ServiceWorkflow with id for its service's state.
func (w Workflows) ServiceState(ctx context.Context, workflowID string) (care.ServiceState, bool, error) {
	v, err := w.Client.QueryWorkflow(ctx, workflowID, "", workflows.QueryServiceState)
	var nf *serviceerror.NotFound
	var qf *serviceerror.QueryFailed
	if errors.As(err, &nf) || errors.As(err, &qf) {
		// No such workflow, or one from before the query existed.
		return care.ServiceState{}, false, nil
	}
	if err != nil {
		return care.ServiceState{}, false, err
	}
	var st care.ServiceState
	if err := v.Get(&st); err != nil {
		return care.ServiceState{}, false, err
	}
	return st, true, nil
}
