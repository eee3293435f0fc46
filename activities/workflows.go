package activities

import (
	"context"

	"go.temporal.io/sdk/temporal"

	"github.com/caseflow/caseflow/care"
)

// Workflows reads the state of caseflow's own workflows from Temporal (the
// worker wires worker.Workflows). It lets a service's coordination tell a
// closed case from a report that failed for a while, and lets a case
// re-read its services.
type Workflows interface {
	// Running reports whether the workflow with id has a running execution.
	Running(ctx context.Context, workflowID string) (bool, error)
	// ServiceState returns what the ServiceWorkflow with id says about its
	// service; false when there is no such workflow.
	ServiceState(ctx context.Context, workflowID string) (care.ServiceState, bool, error)
}

// ReportedService is one service's state as its own workflow reports it.
type ReportedService struct {
	WorkflowID string            `json:"workflow_id"`
	Found      bool              `json:"found"`
	State      care.ServiceState `json:"state"`
}

func (a *Activities) workflows() (Workflows, error) {
	if a.Workflows == nil {
		return nil, temporal.NewNonRetryableApplicationError(
			"the worker has no Temporal reader: set Activities.Workflows (caseflow-worker uses worker.Workflows)", ErrTypeMisconfigured, nil)
	}
	return a.Workflows, nil
}

// CaseRunning reports whether the case workflow with id is still running:
// a service whose report failed retries while it is, and stops once the
// case is closed. It only reads.
func (a *Activities) CaseRunning(ctx context.Context, workflowID string) (bool, error) {
	w, err := a.workflows()
	if err != nil {
		return false, err
	}
	return w.Running(ctx, workflowID)
}

// ServiceStates asks each ServiceWorkflow in workflowIDs where its service
// stands (its "service-state" query), for the case to reconcile its view.
// A workflow that does not exist is reported not found. It only reads.
func (a *Activities) ServiceStates(ctx context.Context, workflowIDs []string) ([]ReportedService, error) {
	w, err := a.workflows()
	if err != nil {
		return nil, err
	}
	out := make([]ReportedService, len(workflowIDs))
	for i, id := range workflowIDs {
		st, ok, err := w.ServiceState(ctx, id)
		if err != nil {
			return nil, err
		}
		out[i] = ReportedService{WorkflowID: id, Found: ok, State: st}
	}
	return out, nil
}
