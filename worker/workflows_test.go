package worker_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/mocks"

	"github.com/caseflow/caseflow/activities"
	"github.com/caseflow/caseflow/worker"
	"github.com/caseflow/caseflow/workflows"
)

var _ activities.Workflows = worker.Workflows{}

func describe(status enumspb.WorkflowExecutionStatus) *workflowservice.DescribeWorkflowExecutionResponse {
	return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{Status: status}}
}

func TestWorkflowsRunning(t *testing.T) {
	ctx := context.Background()
	c := &mocks.Client{}
	c.On("DescribeWorkflowExecution", mock.Anything, "case-open", "").Return(describe(enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING), nil)
	c.On("DescribeWorkflowExecution", mock.Anything, "case-closed", "").Return(describe(enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED), nil)
	c.On("DescribeWorkflowExecution", mock.Anything, "case-gone", "").Return(nil, serviceerror.NewNotFound("no such workflow"))
	c.On("DescribeWorkflowExecution", mock.Anything, "case-unreachable", "").Return(nil, serviceerror.NewUnavailable("down"))
	w := worker.Workflows{Client: c}
	for id, want := range map[string]bool{"case-open": true, "case-closed": false, "case-gone": false} {
		got, err := w.Running(ctx, id)
		require.NoError(t, err, id)
		require.Equal(t, want, got, id)
	}
	_, err := w.Running(ctx, "case-unreachable")
	require.Error(t, err, "Temporal not answering is an error, retried, never a closed case")
}

func TestWorkflowsServiceStateOfAnUnknownOrOldWorkflow(t *testing.T) {
	ctx := context.Background()
	c := &mocks.Client{}
	c.On("QueryWorkflow", mock.Anything, "svc-gone", "", workflows.QueryServiceState).Return(nil, serviceerror.NewNotFound("no such workflow"))
	c.On("QueryWorkflow", mock.Anything, "svc-old", "", workflows.QueryServiceState).Return(nil, serviceerror.NewQueryFailed("unknown queryType service-state"))
	w := worker.Workflows{Client: c}
	for _, id := range []string{"svc-gone", "svc-old"} {
		_, ok, err := w.ServiceState(ctx, id)
		require.NoError(t, err, id)
		require.False(t, ok, id)
	}
}
