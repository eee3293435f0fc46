// Package worker builds the Temporal worker that runs caseflow's case
// workflow and activities.
package worker

import (
	"time"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/caseflow/caseflow/activities"
	"github.com/caseflow/caseflow/workflows"
)

// StopTimeout is how long a stopping worker lets in-flight activities finish
// before it abandons them; Temporal then retries them on another worker.
const StopTimeout = 20 * time.Second

// New returns a worker for taskQueue with caseflow's workflow and activities
// registered.
func New(c client.Client, taskQueue string, acts *activities.Activities) sdkworker.Worker {
	w := sdkworker.New(c, taskQueue, sdkworker.Options{
		WorkerStopTimeout: StopTimeout,
	})
	RegisterWorkflows(w)
	w.RegisterActivity(acts)
	return w
}

// RegisterWorkflows registers caseflow's workflows on a worker or a replayer,
// under the names running histories know them by.
func RegisterWorkflows(r interface {
	RegisterWorkflowWithOptions(any, workflow.RegisterOptions)
}) {
	r.RegisterWorkflowWithOptions(workflows.CaseWorkflow, workflow.RegisterOptions{Name: "CaseWorkflow"})
	r.RegisterWorkflowWithOptions(workflows.ServiceWorkflow, workflow.RegisterOptions{Name: "ServiceWorkflow"})
}
