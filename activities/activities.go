// Package activities holds every side effect of a case: writing the audit
// trail and snapshot, scoring risk, coordinating planned services. Each
// activity is idempotent on a business key, so Temporal may retry it after a
// crash without doubling anything.
package activities

import (
	"context"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/postgres"
)

// Activities holds the dependencies of caseflow's activities. Register a
// value of it with the worker; workflows refer to its methods.
type Activities struct {
	Store *postgres.Store
}

// RecordEvent appends a phase change or staff action to the audit trail and
// updates the case snapshot. Idempotent on (case, seq).
func (a *Activities) RecordEvent(ctx context.Context, ev care.Event, snap care.Snapshot) error {
	return a.Store.RecordEvent(ctx, ev, snap)
}

// ProposeRisk scores an assessment with the current risk rules. The rules run
// here, not in the workflow, so they can change without breaking replay; the
// proposal names the rules version that made it.
func (a *Activities) ProposeRisk(_ context.Context, assessment care.Assessment) (care.RiskProposal, error) {
	return care.ProposeRisk(assessment), nil
}

// CoordinateServices puts the services of an approved care plan in motion and
// returns their coordination status: services that need insurer
// authorization wait for it, the others are ready to book. Idempotent on
// (case, service).
func (a *Activities) CoordinateServices(ctx context.Context, caseID string, services []care.Service) ([]care.ServiceState, error) {
	out := make([]care.ServiceState, len(services))
	for i, s := range services {
		status := care.ServiceReadyToBook
		if s.RequiresAuthorization {
			status = care.ServicePendingAuthorization
		}
		out[i] = care.ServiceState{Service: s, Status: status}
	}
	if err := a.Store.SaveServices(ctx, caseID, out); err != nil {
		return nil, err
	}
	return out, nil
}
