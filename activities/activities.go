// Package activities holds every side effect of a case: writing the audit
// trail and snapshot, scoring risk, coordinating planned services. Each
// activity is idempotent on a business key, so Temporal may retry it after a
// crash without doubling anything.
package activities

import (
	"context"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/caseflow/caseflow/care"
)

// Activities holds the dependencies of caseflow's activities. Register a
// value of it with the worker; workflows refer to its methods. The worker
// wires the real implementations (postgres.Store, payer.HTTPClient, a
// notify channel); the activities know them only by the interfaces below,
// so that the workflow package, which names the activities, links no
// database driver or HTTP client.
type Activities struct {
	// Store is caseflow's database (postgres.Store).
	Store Store
	// Dispatcher delivers alerts to staff and automated calls to clients;
	// nil logs them (the log channel).
	Dispatcher Dispatcher
	// Payer is the insurer's prior-authorization API (payer.HTTPClient). The
	// coordination activities fail with a configuration error without it.
	Payer Payer
	// Notifier delivers patient reminders (a notify channel). The reminder
	// activities fail with a configuration error without it.
	Notifier Notifier
	// Workflows reads caseflow's workflows from Temporal (worker.Workflows).
	// CaseRunning and ServiceStates fail with a configuration error without
	// it.
	Workflows Workflows

	// policies caches the policy versions LoadPolicy has read: a loaded
	// version never changes, so a worker reads each one once.
	policies sync.Map // policyKey → care.Policy
}

type policyKey struct {
	program string
	version int
}

// Store is what the activities read and write. Records that do not exist
// are errors wrapping care.ErrNotFound; the scheduling calls fail with
// errors wrapping care.ErrNoSlot, care.ErrOccurrenceBooked or
// care.ErrAppointmentStatusConflict, and with a *care.ValidationError for
// bad input. Every write is idempotent on its business key.
type Store interface {
	// RecordStep writes one step of a case, taken by workflow run runID,
	// in one transaction.
	RecordStep(ctx context.Context, st care.Step, runID string) error
	// UndeliveredAlerts returns the case's alerts not delivered yet.
	UndeliveredAlerts(ctx context.Context, caseID string) ([]care.Alert, error)
	// MarkAlertDelivered records that an alert went out.
	MarkAlertDelivered(ctx context.Context, alertID string) error
	// AlertNotDelivered records a failed delivery attempt of an alert and
	// why.
	AlertNotDelivered(ctx context.Context, alertID, reason string) error
	// Policy returns a loaded version of a program's policy (a loaded
	// version never changes).
	Policy(ctx context.Context, program string, version int) (care.Policy, error)
	// SaveServices writes the coordination status of a case's services.
	SaveServices(ctx context.Context, caseID string, services []care.ServiceState) error

	// AppointmentByKey returns the appointment booked under key.
	AppointmentByKey(ctx context.Context, key care.BookingKey) (care.Appointment, error)
	// BookEarliest books the earliest free slot of serviceCode starting in
	// [from, to) for key, or returns the appointment already booked under
	// key.
	BookEarliest(ctx context.Context, key care.BookingKey, serviceCode string, from, to time.Time) (care.Appointment, error)
	// BookSlot books the slot staff chose for key, or returns the
	// appointment already booked under key.
	BookSlot(ctx context.Context, key care.BookingKey, serviceCode, slotID string) (care.Appointment, error)
	// SetAppointmentStatus moves an appointment to status, cancelling its
	// pending reminders when it leaves booked.
	SetAppointmentStatus(ctx context.Context, id string, status care.AppointmentStatus) (care.Appointment, error)

	// ScheduleReminders writes one reminder per offset before the
	// appointment's start and returns all its reminders.
	ScheduleReminders(ctx context.Context, appointmentID string, offsets []time.Duration, channel string, now time.Time) ([]care.Reminder, error)
	// ClaimReminder takes the reminder for sending until now+lease; false
	// when there is nothing to send.
	ClaimReminder(ctx context.Context, id string, now time.Time, lease time.Duration) (care.ReminderClaim, bool, error)
	// ReleaseReminder gives up a claim after a failed delivery.
	ReleaseReminder(ctx context.Context, id, reason string, maybeSent bool) error
	// MarkSent records that channel delivered the reminder at `at`.
	MarkSent(ctx context.Context, id, channel string, at time.Time) error
}

// Payer is the insurer's prior-authorization API. A denial is a decision,
// never an error. An error means no decision was obtained: it is a refusal
// (the request is wrong; retrying will not fix it) when it has a Temporary
// method that reports false, and an outage otherwise; a RemoteDiagnostics
// method gives the payer's own explanation, which may quote patient data.
type Payer interface {
	// Submit sends a request; it is idempotent on its request key.
	Submit(ctx context.Context, r care.AuthorizationRequest) (care.AuthorizationDecision, error)
	// Inquire returns the current decision on a request submitted earlier.
	Inquire(ctx context.Context, requestID string) (care.AuthorizationDecision, error)
}

// Notifier delivers notifications to patients. A failed delivery is a
// refusal when its error has a Temporary method that reports false, and
// temporary otherwise.
type Notifier interface {
	// Send delivers n; n.ReminderID is its idempotency key.
	Send(ctx context.Context, n care.Notification) error
	// Name is the channel's name as the reminder outbox records it ("log",
	// "webhook").
	Name() string
}

// RecordStep writes one step of a case (audit event, snapshot, tasks,
// alerts, outcomes, pause) in one transaction, then delivers the case's
// alerts that have not gone out yet. Idempotent on (case, run, seq) and on
// each task and alert id: a retry writes nothing twice, and an alert whose
// delivery failed goes out on the retry (the outbox row records each failed
// attempt). The run id lets the store tell a reset's re-run steps from
// retries.
func (a *Activities) RecordStep(ctx context.Context, st care.Step) error {
	runID := ""
	if activity.IsActivity(ctx) {
		runID = activity.GetInfo(ctx).WorkflowExecution.RunID
	}
	if err := a.Store.RecordStep(ctx, st, runID); err != nil {
		return err
	}
	if len(st.Alerts) == 0 {
		return nil
	}
	return a.deliverAlerts(ctx, st.Event.CaseID)
}

// LoadPolicy returns version of program's policy, the one a case pinned
// when it opened (change policy-by-reference: the case's input names the
// version; each run reads it with this local activity). The worker keeps
// every version it has read, since a loaded version never changes. A
// version that is not in PostgreSQL is retried like an outage: the case
// waits until it is loaded. The SDK does not log a local activity's failed
// attempts, so each attempt that finds no such version logs a warning
// (program, version and the case's workflow id: no PHI).
func (a *Activities) LoadPolicy(ctx context.Context, program string, version int) (care.Policy, error) {
	k := policyKey{program, version}
	if p, ok := a.policies.Load(k); ok {
		return p.(care.Policy), nil
	}
	p, err := a.Store.Policy(ctx, program, version)
	if err != nil {
		if care.KindOf(err) == care.KindNotFound && activity.IsActivity(ctx) {
			activity.GetLogger(ctx).Warn("the case's policy version is not loaded: the case waits until it is (caseflow policy load)",
				"program", program, "version", version, "attempt", activity.GetInfo(ctx).Attempt)
		}
		return care.Policy{}, err
	}
	a.policies.Store(k, p)
	return p, nil
}

// ProposeRisk scores an assessment with the current risk rules. The rules run
// here, not in the workflow, so they can change without breaking replay; the
// proposal names the rules version that made it.
func (a *Activities) ProposeRisk(_ context.Context, assessment care.Assessment) (care.RiskProposal, error) {
	return care.ProposeRisk(assessment), nil
}

// ProposeRiskWith scores an assessment with the rule set the case's policy
// pinned (change risk-rules-data).
func (a *Activities) ProposeRiskWith(_ context.Context, rules care.RiskRuleSet, assessment care.Assessment) (care.RiskProposal, error) {
	return rules.Propose(assessment), nil
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
