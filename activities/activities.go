// Package activities holds every side effect of a case: writing the audit
// trail and snapshot, scoring risk, coordinating planned services. Each
// activity is idempotent on a business key, so Temporal may retry it after a
// crash without doubling anything.
package activities

import (
	"context"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/notify"
	"github.com/caseflow/caseflow/payer"
	"github.com/caseflow/caseflow/postgres"
)

// Activities holds the dependencies of caseflow's activities. Register a
// value of it with the worker; workflows refer to its methods.
type Activities struct {
	Store *postgres.Store
	// Dispatcher delivers alerts to staff and automated calls to clients;
	// nil logs them (the log channel).
	Dispatcher Dispatcher
	// Payer is the insurer's prior-authorization API; nil uses the HTTP
	// client for CASEFLOW_PAYER_URL (default: the simulator on loopback).
	Payer payer.Client
	// Notifier delivers patient reminders; nil uses the webhook at
	// CASEFLOW_NOTIFY_WEBHOOK_URL, or the log channel when it is unset.
	Notifier notify.Channel
}

// RecordStep writes one step of a case (audit event, snapshot, tasks,
// alerts, outcomes, pause) in one transaction, then delivers the case's
// alerts that have not gone out yet. Idempotent on (case, seq) and on each
// task and alert id: a retry writes nothing twice, and an alert whose
// delivery failed goes out on the retry.
func (a *Activities) RecordStep(ctx context.Context, st care.Step) error {
	if err := a.Store.RecordStep(ctx, st); err != nil {
		return err
	}
	if len(st.Alerts) == 0 {
		return nil
	}
	return a.deliverAlerts(ctx, st.Event.CaseID)
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
