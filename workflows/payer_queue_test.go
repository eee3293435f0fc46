package workflows_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/workflows"
)

// runPayerQueues runs a pended-then-approved physiotherapy at version of the
// payer-task-queue gate and returns the task queue each activity type was
// scheduled on, and the workflow's own (where it books).
func runPayerQueues(t *testing.T, version workflow.Version) (queues map[string]string, workflowQueue string) {
	s := newServiceEnv(t, physio, false)
	s.submit = func(int, care.AuthorizationRequest) (care.AuthorizationDecision, error) {
		return care.AuthorizationDecision{Status: care.AuthorizationPended, RequestID: "r1"}, nil
	}
	s.inquire = func(int, time.Time) (care.AuthorizationDecision, error) {
		return care.AuthorizationDecision{Status: care.AuthorizationApproved, RequestID: "r1", AuthorizationNumber: "AUTH-9", ValidTo: serviceStart.Add(90 * day)}, nil
	}
	if version == workflow.DefaultVersion {
		s.env.OnGetVersion("payer-task-queue", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	}
	var mu sync.Mutex
	queues = map[string]string{}
	s.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		mu.Lock()
		defer mu.Unlock()
		queues[info.ActivityType.Name] = info.TaskQueue
	})
	s.attend(10*day, "ap-pt-1-1", "attended")
	s.run()
	require.NoError(t, s.env.GetWorkflowError())
	require.Equal(t, care.ServiceCompleted, s.last().State.Status)
	return queues, queues["BookAppointment"]
}

func TestPayerActivitiesRunOnThePayerTaskQueue(t *testing.T) {
	queues, wq := runPayerQueues(t, 1)
	require.NotEmpty(t, wq)
	require.Equal(t, workflows.PayerTaskQueue(wq), queues["SubmitAuthorization"])
	require.Equal(t, workflows.PayerTaskQueue(wq), queues["InquireAuthorization"])
	require.Equal(t, wq, queues["ScheduleReminders"], "only the payer's activities move")
	require.Equal(t, wq+"-payer", workflows.PayerTaskQueue(wq))
}

func TestPayerActivitiesOfAnOldHistoryStayOnTheCaseTaskQueue(t *testing.T) {
	queues, wq := runPayerQueues(t, workflow.DefaultVersion)
	require.Equal(t, wq, queues["SubmitAuthorization"])
	require.Equal(t, wq, queues["InquireAuthorization"])
}
