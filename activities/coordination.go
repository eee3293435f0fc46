package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/notify"
	"github.com/caseflow/caseflow/payer"
	"github.com/caseflow/caseflow/postgres"
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
	// ErrTypeNotifyUnavailable (retryable): the notification gateway did not
	// answer or answered 5xx.
	ErrTypeNotifyUnavailable = "NotifyUnavailable"
	// ErrTypeNotifyRejected (non-retryable): the gateway refused the
	// message (4xx). The reminder stays pending, with the error recorded.
	ErrTypeNotifyRejected = "NotifyRejected"
)

// reminderLease is how long a SendReminder attempt holds a reminder. It is
// longer than the activity's 30 s start-to-close timeout (itself longer than
// the webhook's 15 s timeout), so a lease only expires for a sender that
// died or that Temporal has already given up on.
const reminderLease = 45 * time.Second

// Appointment is a booked appointment, as the coordination activities return
// it.
type Appointment = postgres.Appointment

// Reminder is a row of the reminder outbox.
type Reminder = postgres.Reminder

// BookingRequest asks for the earliest free slot of a service in a window.
// Key is the business key: a retry with the same key returns the same
// appointment; a rebooking uses the next Attempt.
type BookingRequest struct {
	Key         postgres.BookingKey `json:"key"`
	ServiceCode string              `json:"service_code"`
	// The slot must start in [From, To). A From in the past counts from now.
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// ReminderRequest asks for reminders at Offsets before an appointment's
// start (whole minutes; e.g. 48h and 2h).
type ReminderRequest struct {
	AppointmentID string          `json:"appointment_id"`
	Offsets       []time.Duration `json:"offsets"`
}

func (a *Activities) payerClient() payer.Client {
	if a.Payer != nil {
		return a.Payer
	}
	return payer.FromEnv()
}

func (a *Activities) notifier() (notify.Channel, error) {
	if a.Notifier != nil {
		return a.Notifier, nil
	}
	return notify.FromEnv(slog.Default())
}

// SubmitAuthorization submits a prior-authorization request to the payer and
// returns its decision: approved, denied (a decision, not an error) or
// pended (inquire later with the request id). Idempotent on r.RequestKey,
// which the payer deduplicates. A payer outage is a retryable
// "PayerUnavailable" error, never a denial; a request the payer refuses is a
// non-retryable "PayerRejected" error.
func (a *Activities) SubmitAuthorization(ctx context.Context, r payer.Request) (payer.Decision, error) {
	d, err := a.payerClient().Submit(ctx, r)
	if err != nil {
		return payer.Decision{}, payerError(err)
	}
	return d, nil
}

// InquireAuthorization asks the payer for the current decision on a request
// submitted earlier (pended until decided). It only reads, so it is
// idempotent. Errors are classified as in SubmitAuthorization.
func (a *Activities) InquireAuthorization(ctx context.Context, requestID string) (payer.Decision, error) {
	d, err := a.payerClient().Inquire(ctx, requestID)
	if err != nil {
		return payer.Decision{}, payerError(err)
	}
	return d, nil
}

// payerError classifies a payer failure for the workflow. The payer's own
// diagnostics travel only as failure details, which the codec encrypts; the
// message, which worker logs show, is caseflow's.
func payerError(err error) error {
	var diagnostics string
	var pe *payer.Error
	if errors.As(err, &pe) {
		diagnostics = pe.Diagnostics
	}
	if payer.IsRetryable(err) {
		return temporal.NewApplicationError(err.Error(), ErrTypePayerUnavailable, diagnostics)
	}
	return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypePayerRejected, nil, diagnostics)
}

// BookAppointment books the earliest free slot of the service in the
// request's window and returns the appointment. Idempotent on the booking
// key (case, service, occurrence, attempt): a retry returns the appointment
// already booked, even if the window has since passed, and takes no second
// slot. No free slot is a non-retryable "NoSlot" error, so the workflow can
// give staff a work item.
func (a *Activities) BookAppointment(ctx context.Context, r BookingRequest) (Appointment, error) {
	if ap, err := a.Store.AppointmentByKey(ctx, r.Key); err == nil {
		if ap.ServiceCode != r.ServiceCode {
			return Appointment{}, storeError(fmt.Errorf("booking %s was made for service %s, not %s: %w", r.Key, ap.ServiceCode, r.ServiceCode, postgres.ErrStatusConflict))
		}
		return ap, nil
	} else if !errors.Is(err, postgres.ErrNotFound) {
		return Appointment{}, err
	}
	from := r.From
	if now := time.Now(); from.Before(now) {
		from = now
	}
	if !r.To.After(from) {
		return Appointment{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("book %s for %s: the booking window ended at %s", r.ServiceCode, r.Key, r.To.UTC().Format(time.RFC3339)),
			ErrTypeNoSlot, postgres.ErrNoSlot)
	}
	ap, err := a.Store.BookEarliest(ctx, r.Key, r.ServiceCode, from, r.To)
	if err != nil {
		return Appointment{}, storeError(err)
	}
	return ap, nil
}

// CancelAppointment cancels an appointment, frees its slot and cancels its
// pending reminders, in one transaction. Idempotent: cancelling a cancelled
// appointment returns it unchanged. An attended or missed appointment cannot
// be cancelled (non-retryable "AppointmentStatusConflict").
func (a *Activities) CancelAppointment(ctx context.Context, appointmentID string) (Appointment, error) {
	ap, err := a.Store.SetAppointmentStatus(ctx, appointmentID, postgres.AppointmentCancelled)
	if err != nil {
		return Appointment{}, storeError(err)
	}
	return ap, nil
}

// RecordAttendance records whether the patient came: status is "attended" or
// "no-show". Pending reminders are cancelled. Idempotent: recording the same
// status again changes nothing; attended and no-show may correct each other
// unless the occurrence has been rebooked meanwhile.
func (a *Activities) RecordAttendance(ctx context.Context, appointmentID string, status postgres.AppointmentStatus) (Appointment, error) {
	if status != postgres.AppointmentAttended && status != postgres.AppointmentNoShow {
		return Appointment{}, storeError(care.Invalidf("status", "attendance is attended or no-show, not %q", status))
	}
	ap, err := a.Store.SetAppointmentStatus(ctx, appointmentID, status)
	if err != nil {
		return Appointment{}, storeError(err)
	}
	return ap, nil
}

// ScheduleReminders writes the appointment's reminders into the outbox, one
// per offset, and returns all of them (pending ones are for the workflow to
// send at their due time). Idempotent on (appointment, offset). Reminders
// whose time has already passed are written as skipped and never sent.
func (a *Activities) ScheduleReminders(ctx context.Context, r ReminderRequest) ([]Reminder, error) {
	ch, err := a.notifier()
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeInvalid, err)
	}
	rs, err := a.Store.ScheduleReminders(ctx, r.AppointmentID, r.Offsets, notify.ChannelName(ch), time.Now())
	if err != nil {
		return nil, storeError(err)
	}
	return rs, nil
}

// SendReminder delivers one reminder, at most once per outbox row: it claims
// the row (nothing to do if it is already sent, cancelled or skipped, or if
// the appointment is no longer booked or has started), sends the message
// with the reminder id as its idempotency key, and marks the row sent. If a
// worker dies between sending and marking, the retry sends the same
// reminder id again once the claim's lease has expired, and the gateway
// deduplicates it. A gateway outage is retryable; a refusal (4xx) is a
// non-retryable "NotifyRejected" error and the row stays pending.
func (a *Activities) SendReminder(ctx context.Context, reminderID string) error {
	ch, err := a.notifier()
	if err != nil {
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeInvalid, err)
	}
	c, ok, err := a.Store.ClaimReminder(ctx, reminderID, time.Now(), reminderLease)
	if err != nil {
		return storeError(err)
	}
	if !ok {
		return nil
	}
	r := c.Reminder
	msg := notify.Message{ReminderID: r.ID, AppointmentID: r.AppointmentID, CaseID: c.CaseID,
		PatientID: c.PatientID, Kind: notify.KindAppointmentReminder, DueAt: r.DueAt, StartsAt: c.StartsAt}
	if err := ch.Send(ctx, msg); err != nil {
		// Let the next attempt go at once; it keeps the error for staff.
		// (If the release fails too, the lease expires by itself.)
		_ = a.Store.ReleaseReminder(context.WithoutCancel(ctx), reminderID, err.Error())
		if notify.IsRetryable(err) {
			return temporal.NewApplicationErrorWithCause(err.Error(), ErrTypeNotifyUnavailable, err)
		}
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeNotifyRejected, err)
	}
	return a.Store.MarkSent(ctx, reminderID, notify.ChannelName(ch), time.Now())
}

// CancelReminders cancels an appointment's pending reminders and returns how
// many it cancelled. Idempotent: a second run cancels none.
func (a *Activities) CancelReminders(ctx context.Context, appointmentID string) (int, error) {
	n, err := a.Store.CancelReminders(ctx, appointmentID)
	if err != nil {
		return 0, storeError(err)
	}
	return n, nil
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
	case errors.Is(err, postgres.ErrNoSlot):
		typ = ErrTypeNoSlot
	case errors.Is(err, postgres.ErrOccurrenceBooked):
		typ = ErrTypeOccurrenceBooked
	case errors.Is(err, postgres.ErrStatusConflict):
		typ = ErrTypeStatusConflict
	case errors.Is(err, postgres.ErrNotFound):
		typ = ErrTypeNotFound
	default:
		return err
	}
	return temporal.NewNonRetryableApplicationError(err.Error(), typ, err)
}
