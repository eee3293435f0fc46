package workflows

// Reliability of the services' reports to their case: a report that fails
// is retried while the case runs, each ServiceWorkflow answers a query with
// its state, and a case re-reads its services when a new run starts.

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/caseflow/caseflow/activities"
	"github.com/caseflow/caseflow/care"
)

// QueryServiceState returns a ServiceWorkflow's care.ServiceState.
const QueryServiceState = "service-state"

// Change ids of the reliability changes (see docs/workflow-changes.md).
const (
	// versionReminderOutcomes: SendReminder returns what happened; only a
	// sent reminder is counted and recorded as sent, a skipped or cancelled
	// one is recorded with its reason.
	versionReminderOutcomes = "reminder-outcomes"
	// versionReportRetry: a service's report that fails is retried with
	// backoff while its case runs.
	versionReportRetry = "report-retry"
	// versionReconcileServices: a case re-reads its services' state from
	// their workflows when a new run starts, and records what changed.
	versionReconcileServices = "reconcile-services"
	// versionReminderUnknown: a reminder whose delivery is unknown (an
	// earlier attempt never reported back) is recorded so, not as "not
	// sent". Asked only when SendReminder answers unknown.
	versionReminderUnknown = "reminder-unknown"
	// versionBookedBefore: a booking whose key already holds an appointment
	// that is no longer booked (a reset of the service re-ran the booking)
	// takes that appointment's outcome instead of reporting it booked and
	// waiting for its attendance. Asked only in that branch.
	versionBookedBefore = "booked-before"
	// versionRequestKeyPeriod: an authorization request's idempotency key
	// names its period's start (care.AuthorizationRequestKeyAt).
	versionRequestKeyPeriod = "request-key-period"
	// versionInquiryRefused: an inquiry about a pended authorization that
	// the payer refuses or answers outside the protocol makes the
	// authorization rejected and a staff item, as a submission's does,
	// instead of failing the coordination. Asked only in that branch.
	versionInquiryRefused = "inquiry-refused"
	// versionCancelBookingInFlight: a coordination cancelled while a
	// booking it scheduled has not answered (being retried, or running)
	// looks the booking up by its key and cancels what it finds. Asked
	// only when cancelling after such a booking.
	versionCancelBookingInFlight = "cancel-booking-in-flight"
	// versionBookingInPeriod: a service that needs authorization books
	// only within its approval's period (ValidFrom to ValidTo), and an
	// approval whose period has no bookable time left becomes a staff
	// item. Asked only when the period cuts the booking window.
	versionBookingInPeriod = "booking-in-period"
	// versionReconcileKeepsService: the re-read of a versioned service
	// keeps the case's service definition (an amendment the coordination
	// has not taken yet), as a report does. Asked only when the two
	// definitions differ.
	versionReconcileKeepsService = "reconcile-keeps-service"
)

// reportRetryMax is the longest wait between attempts to deliver a report.
const reportRetryMax = 10 * time.Minute

// registerQuery answers QueryServiceState. A query handler adds nothing to
// history, so it needs no version gate.
func (s *serviceRun) registerQuery(ctx workflow.Context) error {
	return workflow.SetQueryHandlerWithOptions(ctx, QueryServiceState, func() (care.ServiceState, error) {
		return s.progress.State, nil
	}, workflow.QueryHandlerOptions{Description: "Where the service's coordination stands: status, authorization, appointment, attendance, reminders sent"})
}

// deliver signals u to the case until it lands, or until the case is no
// longer running (a closed case no longer listens), waiting longer after
// each failure.
func (s *serviceRun) deliver(ctx workflow.Context, u care.ServiceUpdate) {
	wait := time.Second
	for attempt := 1; ; attempt++ {
		err := workflow.SignalExternalWorkflow(ctx, s.in.CaseWorkflowID, "", SignalServiceUpdate, u).Get(ctx, nil)
		if err == nil {
			return
		}
		var running bool
		if err := s.execute(ctx, "is case "+s.in.CaseID+" running", a.CaseRunning, &running, s.in.CaseWorkflowID); err != nil || !running {
			workflow.GetLogger(ctx).Warn("case no longer running: service update not delivered", "case_id", s.in.CaseID,
				"service_id", s.in.Service.ID, "attempts", attempt)
			return
		}
		workflow.GetLogger(ctx).Warn("case did not take the service update; retrying", "case_id", s.in.CaseID,
			"service_id", s.in.Service.ID, "attempt", attempt, "error", err)
		if err := workflow.NewTimerWithOptions(ctx, wait, workflow.TimerOptions{Summary: "report to case " + s.in.CaseID + " again"}).Get(ctx, nil); err != nil {
			return
		}
		wait = min(wait*2, reportRetryMax)
	}
}

// sendReminder sends a due reminder and records what happened: only a sent
// reminder counts as sent; a skipped or cancelled one is reported with its
// reason.
func (s *serviceRun) sendReminder(ctx workflow.Context, appt care.Appointment, due care.Reminder) error {
	p, svc := &s.progress, s.in.Service
	offset := care.FormatDuration(time.Duration(due.OffsetMinutes) * time.Minute)
	var out care.ReminderOutcome
	err := s.execute(ctx, "send "+offset+" reminder", a.SendReminder, &out, due.ID)
	switch {
	case err == nil && out.Sent():
		p.State.RemindersSent++
		s.report(ctx, fmt.Sprintf("%s: %s reminder sent for %s", svc.ID, offset, appt.ID), "", "")
	case err == nil && out.Status == care.ReminderUnknown &&
		workflow.GetVersion(ctx, versionReminderUnknown, workflow.DefaultVersion, 1) == 1:
		s.report(ctx, fmt.Sprintf("%s: %s reminder for %s: delivery unknown, an earlier attempt never reported back (%s)", svc.ID, offset, appt.ID, out.Reason), "", "")
	case err == nil:
		s.report(ctx, fmt.Sprintf("%s: %s reminder for %s not sent: %s (%s)", svc.ID, offset, appt.ID, out.Status, out.Reason), "", "")
	case isApplicationError(err, activities.ErrTypeNotifyRejected):
		s.report(ctx, fmt.Sprintf("%s: the notification gateway refused the %s reminder for %s", svc.ID, offset, appt.ID), "", "")
	default:
		return err
	}
	return nil
}

// reconcileServices re-reads the state of the current plan's services from
// their workflows and takes what is newer than the case's view, so that
// the case converges with its services (and PostgreSQL) whatever reports
// were lost. It records a "reconcile" step when anything changed.
func (w *caseWorkflow) reconcileServices(ctx workflow.Context) error {
	s := &w.state
	if !s.ServicesStarted || s.Phase == care.PhaseClosed || len(s.Services) == 0 {
		return nil
	}
	if workflow.GetVersion(ctx, versionReconcileServices, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return nil
	}
	ids := make([]string, len(s.Services))
	for i, sv := range s.Services {
		ids[i] = w.serviceWorkflowID(sv) // the plan version that started it
	}
	var reported []activities.ReportedService
	if err := w.execute(ctx, "re-read the services of case "+s.Case.ID, a.ServiceStates, &reported, ids); err != nil {
		return err
	}
	var changed []string
	for i, r := range reported {
		if i >= len(s.Services) || !r.Found || r.State.ID != s.Services[i].ID || isFinal(s.Services[i].Status) || !newer(r.State, s.Services[i]) {
			continue
		}
		own := r.State
		if s.Services[i].PlanVersion > 0 && own.Service != s.Services[i].Service &&
			workflow.GetVersion(ctx, versionReconcileKeepsService, workflow.DefaultVersion, 1) == 1 {
			// The case owns the plan: an amendment the coordination has not
			// taken yet (it takes none while it looks for a free slot) is
			// not undone by its state, as onServiceUpdate keeps it from a
			// report.
			own.Service = s.Services[i].Service
		}
		s.Services[i] = own
		w.services = append(w.services, own)
		changed = append(changed, fmt.Sprintf("%s %s", own.ID, own.Status))
	}
	if len(changed) == 0 {
		return nil
	}
	return w.record(ctx, care.ActorSystem, "reconcile", s.Phase, "services re-read from their coordination: "+strings.Join(changed, ", "), nil)
}

// newer reports whether a service's own state is ahead of the case's view
// of it: the coordination only moves forward, so any difference is news.
func newer(own, seen care.ServiceState) bool {
	if own.Status != seen.Status || own.Attended != seen.Attended || own.RemindersSent != seen.RemindersSent {
		return true
	}
	oa, sa := own.Appointment, seen.Appointment
	switch {
	case oa == nil || sa == nil:
		return (oa == nil) != (sa == nil)
	default:
		return oa.ID != sa.ID || oa.Status != sa.Status
	}
}
