package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/caseflow/caseflow/care"
)

// Application error types of the coordination activities, for workflows to
// tell failures apart (temporal.ApplicationError.Type()). The non-retryable
// ones need a person: the workflow turns them into staff work items.
const (
	// ErrTypePayerUnavailable (retryable): the payer did not answer, timed
	// out or answered 5xx. Never a denial.
	ErrTypePayerUnavailable = "PayerUnavailable"
	// ErrTypePayerRejected (non-retryable): the payer refused the request
	// (4xx), with its message.
	ErrTypePayerRejected = "PayerRejected"
	// ErrTypePayerProtocol (non-retryable): the payer answered outside the
	// protocol, e.g. a denial without a reason. Not a decision.
	ErrTypePayerProtocol = "PayerProtocolError"
	// ErrTypeNoSlot (non-retryable): no free slot for the service in the
	// window.
	ErrTypeNoSlot = "NoSlot"
	// ErrTypeOccurrenceBooked (non-retryable): another attempt of the
	// occurrence is booked or attended.
	ErrTypeOccurrenceBooked = "OccurrenceBooked"
	// ErrTypeStatusConflict (non-retryable): the appointment cannot move to
	// the status asked for, or a key was reused for another service.
	ErrTypeStatusConflict = "AppointmentStatusConflict"
	// ErrTypeNotFound (non-retryable): the appointment or reminder does not
	// exist.
	ErrTypeNotFound = "NotFound"
	// ErrTypeInvalid (non-retryable): the input is invalid; the message
	// names the field.
	ErrTypeInvalid = "InvalidRequest"
	// ErrTypeBadPolicy (non-retryable): the program policy cannot be
	// applied (e.g. an unknown time zone).
	ErrTypeBadPolicy = "BadPolicy"
	// ErrTypeBadInput (non-retryable): a discharge date that is not
	// YYYY-MM-DD reached PlanDischargeClocks.
	ErrTypeBadInput = "BadInput"
	// ErrTypeNotifyUnavailable (retryable): the notification gateway did not
	// answer or answered 5xx.
	ErrTypeNotifyUnavailable = "NotifyUnavailable"
	// ErrTypeNotifyRejected (non-retryable): the gateway refused the
	// message (4xx). The reminder stays pending, with the error recorded.
	ErrTypeNotifyRejected = "NotifyRejected"
	// ErrTypeMisconfigured (non-retryable): the worker was started without
	// a dependency the activity needs (Activities.Payer or
	// Activities.Notifier).
	ErrTypeMisconfigured = "Misconfigured"
)

// reminderLease is how long a SendReminder attempt holds a reminder. It is
// longer than the activity's 30 s start-to-close timeout (itself longer than
// the webhook's 15 s timeout), so a lease only expires for a sender that
// died or that Temporal has already given up on.
const reminderLease = 45 * time.Second

func (a *Activities) payer() (Payer, error) {
	if a.Payer == nil {
		return nil, temporal.NewNonRetryableApplicationError(
			"the worker has no payer client: set Activities.Payer (caseflow-worker uses CASEFLOW_PAYER_URL)", ErrTypeMisconfigured, nil)
	}
	return a.Payer, nil
}

func (a *Activities) notifier() (Notifier, error) {
	if a.Notifier == nil {
		return nil, temporal.NewNonRetryableApplicationError(
			"the worker has no reminder channel: set Activities.Notifier (caseflow-worker uses CASEFLOW_NOTIFY_WEBHOOK_URL, or logs reminders)", ErrTypeMisconfigured, nil)
	}
	return a.Notifier, nil
}

// temporary reports whether a payer or notifier error is an outage (retry)
// rather than a refusal: only an error that says so through a Temporary
// method is a refusal; an unknown failure is never one.
func temporary(err error) bool {
	var t interface{ Temporary() bool }
	if errors.As(err, &t) {
		return t.Temporary()
	}
	return true
}

// SubmitAuthorization submits a prior-authorization request to the payer and
// returns its decision: approved, denied (a decision, not an error) or
// pended (inquire later with the request id). Idempotent on r.RequestKey,
// which the payer deduplicates. A payer outage is a retryable
// ErrTypePayerUnavailable error, never a denial; a request the payer refuses
// is a non-retryable ErrTypePayerRejected error.
func (a *Activities) SubmitAuthorization(ctx context.Context, r care.AuthorizationRequest) (care.AuthorizationDecision, error) {
	p, err := a.payer()
	if err != nil {
		return care.AuthorizationDecision{}, err
	}
	d, err := p.Submit(ctx, r)
	if err != nil {
		return care.AuthorizationDecision{}, payerError(err)
	}
	return d, nil
}

// InquireAuthorization asks the payer for the current decision on a request
// submitted earlier (pended until decided). It only reads, so it is
// idempotent. Errors are classified as in SubmitAuthorization.
func (a *Activities) InquireAuthorization(ctx context.Context, requestID string) (care.AuthorizationDecision, error) {
	p, err := a.payer()
	if err != nil {
		return care.AuthorizationDecision{}, err
	}
	d, err := p.Inquire(ctx, requestID)
	if err != nil {
		return care.AuthorizationDecision{}, payerError(err)
	}
	return d, nil
}

// payerError classifies a payer failure for the workflow. The payer's own
// diagnostics travel only as failure details, which the codec encrypts; the
// message, which worker logs show, is caseflow's.
func payerError(err error) error {
	var diagnostics string
	var d interface{ RemoteDiagnostics() string }
	if errors.As(err, &d) {
		diagnostics = d.RemoteDiagnostics()
	}
	var pe interface{ ProtocolViolation() bool }
	if errors.As(err, &pe) && pe.ProtocolViolation() {
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypePayerProtocol, nil, diagnostics)
	}
	if temporary(err) {
		return temporal.NewApplicationError(err.Error(), ErrTypePayerUnavailable, diagnostics)
	}
	return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypePayerRejected, nil, diagnostics)
}

// BookAppointment books the earliest free slot of the service in the
// request's window and returns the appointment. Idempotent on the booking
// key (case, service, occurrence, attempt): a retry returns the appointment
// already booked, even if the window has since passed, and takes no second
// slot. No free slot is a non-retryable "NoSlot" error, so the workflow can
// give staff a work item. With r.SlotID it books that slot, chosen by
// staff, instead of the earliest free one.
func (a *Activities) BookAppointment(ctx context.Context, r care.BookingRequest) (care.Appointment, error) {
	if ap, err := a.Store.AppointmentByKey(ctx, r.Key); err == nil {
		if ap.ServiceCode != r.ServiceCode {
			return care.Appointment{}, storeError(fmt.Errorf("booking %s was made for service %s, not %s: %w", r.Key, ap.ServiceCode, r.ServiceCode, care.ErrAppointmentStatusConflict))
		}
		return ap, nil
	} else if !errors.Is(err, care.ErrNotFound) {
		return care.Appointment{}, err
	}
	if r.SlotID != "" {
		ap, err := a.Store.BookSlot(ctx, r.Key, r.ServiceCode, r.SlotID)
		if err != nil {
			return care.Appointment{}, storeError(err)
		}
		return ap, nil
	}
	from := r.From
	if now := time.Now(); from.Before(now) {
		from = now
	}
	if !r.To.After(from) {
		return care.Appointment{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("book %s for %s: the booking window ended at %s", r.ServiceCode, r.Key, r.To.UTC().Format(time.RFC3339)),
			ErrTypeNoSlot, care.ErrNoSlot)
	}
	ap, err := a.Store.BookEarliest(ctx, r.Key, r.ServiceCode, from, r.To)
	if err != nil {
		return care.Appointment{}, storeError(err)
	}
	return ap, nil
}

// AppointmentByKey returns the appointment booked under the booking key,
// whatever its status; none is a non-retryable "NotFound" error. Read
// only. A coordination cancelled before its BookAppointment answered (an
// attempt may have committed, its answer lost) finds with it what to
// cancel.
func (a *Activities) AppointmentByKey(ctx context.Context, key care.BookingKey) (care.Appointment, error) {
	ap, err := a.Store.AppointmentByKey(ctx, key)
	if err != nil {
		return care.Appointment{}, storeError(err)
	}
	return ap, nil
}

// CancelAppointment cancels an appointment, frees its slot and cancels its
// pending reminders, in one transaction. Idempotent: cancelling a cancelled
// appointment returns it unchanged. An attended or missed appointment cannot
// be cancelled (non-retryable "AppointmentStatusConflict").
func (a *Activities) CancelAppointment(ctx context.Context, appointmentID string) (care.Appointment, error) {
	ap, err := a.Store.SetAppointmentStatus(ctx, appointmentID, care.AppointmentCancelled)
	if err != nil {
		return care.Appointment{}, storeError(err)
	}
	return ap, nil
}

// RecordAttendance records whether the patient came: status is "attended" or
// "no-show". Pending reminders are cancelled. Idempotent: recording the same
// status again changes nothing; attended and no-show may correct each other
// unless the occurrence has been rebooked meanwhile.
func (a *Activities) RecordAttendance(ctx context.Context, appointmentID string, status care.AppointmentStatus) (care.Appointment, error) {
	if status != care.AppointmentAttended && status != care.AppointmentNoShow {
		return care.Appointment{}, storeError(care.Invalidf("status", "attendance is attended or no-show, not %q", status))
	}
	ap, err := a.Store.SetAppointmentStatus(ctx, appointmentID, status)
	if err != nil {
		return care.Appointment{}, storeError(err)
	}
	return ap, nil
}

// ScheduleReminders writes the appointment's reminders into the outbox, one
// per offset, and returns all of them (pending ones are for the workflow to
// send at their due time). Idempotent on (appointment, offset). Reminders
// whose time has already passed are written as skipped and never sent.
func (a *Activities) ScheduleReminders(ctx context.Context, r care.ReminderRequest) ([]care.Reminder, error) {
	ch, err := a.notifier()
	if err != nil {
		return nil, err
	}
	rs, err := a.Store.ScheduleReminders(ctx, r.AppointmentID, r.Offsets, ch.Name(), time.Now())
	if err != nil {
		return nil, storeError(err)
	}
	return rs, nil
}

// SendReminder delivers one reminder, at most once per outbox row, and
// returns what happened to it: sent, skipped (its appointment has started,
// or the case is paused) or cancelled (the appointment is no longer
// booked), with the reason. It claims the row, sends the message with the
// reminder id as its idempotency key, and marks the row sent. If a worker
// dies between sending and marking, the retry sends the same reminder id
// again once the claim's lease has expired, and the gateway deduplicates
// it; a retry after the row was marked returns sent. A gateway outage is
// retryable; a refusal (4xx) is a non-retryable "NotifyRejected" error and
// the row stays pending.
func (a *Activities) SendReminder(ctx context.Context, reminderID string) (care.ReminderOutcome, error) {
	ch, err := a.notifier()
	if err != nil {
		return care.ReminderOutcome{}, err
	}
	c, ok, err := a.Store.ClaimReminder(ctx, reminderID, time.Now(), reminderLease)
	if err != nil {
		return care.ReminderOutcome{}, storeError(err)
	}
	r := c.Reminder
	if !ok {
		return care.ReminderOutcome{ReminderID: r.ID, Status: r.Status, Reason: r.Reason}, nil
	}
	msg := care.Notification{ReminderID: r.ID, AppointmentID: r.AppointmentID, CaseID: c.CaseID,
		PatientID: c.PatientID, Kind: care.NotificationAppointmentReminder, DueAt: r.DueAt, StartsAt: c.StartsAt}
	if err := ch.Send(ctx, msg); err != nil {
		// Let the next attempt go at once; it keeps the error for staff.
		// (If the release fails too, the lease expires by itself.)
		_ = a.Store.ReleaseReminder(context.WithoutCancel(ctx), reminderID, err.Error(), mayHaveDelivered(err))
		if temporary(err) {
			return care.ReminderOutcome{}, temporal.NewApplicationErrorWithCause(err.Error(), ErrTypeNotifyUnavailable, err)
		}
		return care.ReminderOutcome{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeNotifyRejected, err)
	}
	if err := a.Store.MarkSent(ctx, reminderID, ch.Name(), time.Now()); err != nil {
		return care.ReminderOutcome{}, err
	}
	return care.ReminderOutcome{ReminderID: r.ID, Status: care.ReminderSent}, nil
}

// mayHaveDelivered reports whether a failed send may still have been
// delivered: the channel's error says its request may have reached the
// gateway with no answer back (a timeout, a connection lost mid-request;
// the webhook's errors have MayHaveReached). A refused connection, an
// answer with a status, or a request never sent did not.
func mayHaveDelivered(err error) bool {
	var e interface{ MayHaveReached() bool }
	return errors.As(err, &e) && e.MayHaveReached()
}

// storeError makes store errors that retrying cannot fix non-retryable, with
// a type the workflow can act on. Other errors (the database is down) stay
// retryable.
func storeError(err error) error {
	var v *care.ValidationError
	typ := ""
	switch {
	case errors.As(err, &v):
		typ = ErrTypeInvalid
	case errors.Is(err, care.ErrNoSlot):
		typ = ErrTypeNoSlot
	case errors.Is(err, care.ErrOccurrenceBooked):
		typ = ErrTypeOccurrenceBooked
	case errors.Is(err, care.ErrAppointmentStatusConflict):
		typ = ErrTypeStatusConflict
	case errors.Is(err, care.ErrNotFound):
		typ = ErrTypeNotFound
	default:
		return err
	}
	return temporal.NewNonRetryableApplicationError(err.Error(), typ, err)
}
