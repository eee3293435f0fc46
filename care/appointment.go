package care

import (
	"fmt"
	"strings"
	"time"
)

// AppointmentStatus is where an appointment stands (FHIR Appointment.status:
// booked, fulfilled, noshow, cancelled).
type AppointmentStatus string

// Appointment statuses.
const (
	AppointmentBooked    AppointmentStatus = "booked"
	AppointmentAttended  AppointmentStatus = "attended"
	AppointmentNoShow    AppointmentStatus = "no-show"
	AppointmentCancelled AppointmentStatus = "cancelled"
)

// AttendanceStatuses lists what staff may record about an appointment.
var AttendanceStatuses = []AppointmentStatus{AppointmentAttended, AppointmentNoShow, AppointmentCancelled}

// Scheduling errors. The store wraps them (errors.Is finds them) and the
// activities turn them into application errors the workflow acts on. Each
// carries its ErrorKind, so KindOf knows them too.
var (
	// ErrNotFound: the record (patient, case, policy, appointment,
	// reminder) does not exist.
	ErrNotFound error = &Error{Kind: KindNotFound, Message: "not found"}
	// ErrNoSlot: no free slot for the service in the window asked for.
	ErrNoSlot error = &Error{Kind: KindConflict, Message: "no free slot"}
	// ErrOccurrenceBooked: another attempt of the same occurrence is booked
	// or attended; cancel it or mark it a no-show before rebooking.
	ErrOccurrenceBooked error = &Error{Kind: KindConflict, Message: "the occurrence already has a live appointment"}
	// ErrAppointmentStatusConflict: the appointment cannot move to the
	// status asked for (e.g. a cancelled appointment cannot become
	// attended), or a booking key was reused for another service.
	ErrAppointmentStatusConflict error = &Error{Kind: KindConflict, Message: "appointment status conflict"}
)

// BookingKey is the business key of a booking. Occurrence counts the
// sessions of a recurring service (1, 2, ...); Attempt counts the bookings
// of one occurrence (a rebooking after a no-show or a cancellation is the
// next attempt). A retried booking uses the same key and gets the same
// appointment.
//
// PlanVersion is the plan whose approval started the service's
// coordination (zero for bookings made before plans were versioned): a
// re-planned service books under new keys and never finds the replaced
// plan's appointments.
type BookingKey struct {
	CaseID      string `json:"case_id"`
	PlanVersion int    `json:"plan_version,omitempty"`
	ServiceID   string `json:"service_id"`
	Occurrence  int    `json:"occurrence"`
	Attempt     int    `json:"attempt"`
}

// Validate checks the key; errors name the field.
func (k BookingKey) Validate() error {
	if err := ValidateOpaqueID("case_id", k.CaseID); err != nil {
		return err
	}
	if strings.TrimSpace(k.ServiceID) == "" {
		return Invalidf("service_id", "is required: the id of the service in the care plan")
	}
	if k.Occurrence < 1 {
		return Invalidf("occurrence", "must be 1 or more, got %d", k.Occurrence)
	}
	if k.Attempt < 1 {
		return Invalidf("attempt", "must be 1 or more, got %d", k.Attempt)
	}
	return nil
}

func (k BookingKey) String() string {
	if k.PlanVersion > 0 {
		return fmt.Sprintf("%s/p%d/%s#%d.%d", k.CaseID, k.PlanVersion, k.ServiceID, k.Occurrence, k.Attempt)
	}
	return fmt.Sprintf("%s/%s#%d.%d", k.CaseID, k.ServiceID, k.Occurrence, k.Attempt)
}

// BookingRequest asks for the earliest free slot of a service in a window.
// Key is the business key: a retry with the same key returns the same
// appointment; a rebooking uses the next Attempt.
type BookingRequest struct {
	Key         BookingKey `json:"key"`
	ServiceCode string     `json:"service_code"`
	// The slot must start in [From, To). A From in the past counts from now.
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// SlotID, when set, books that slot (chosen by staff) instead of the
	// earliest free one; it must be a free slot of the service code.
	SlotID string `json:"slot_id,omitempty"`
}

// Provider is a clinic or practitioner and the service codes it offers.
type Provider struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Services []string `json:"services"`
}

// Slot is a bookable slot (FHIR Slot) of a provider for one service code.
type Slot struct {
	ID          string    `db:"slot_id" json:"slot_id"`
	ProviderID  string    `db:"provider_id" json:"provider_id"`
	ServiceCode string    `db:"service_code" json:"service_code"`
	StartsAt    time.Time `db:"starts_at" json:"starts_at"`
	EndsAt      time.Time `db:"ends_at" json:"ends_at"`
}

// Appointment is a booked slot for one occurrence of a planned service, as
// the store keeps it and the coordination activities return it.
type Appointment struct {
	ID           string            `db:"appointment_id" json:"appointment_id"`
	CaseID       string            `db:"case_id" json:"case_id"`
	ServiceID    string            `db:"service_id" json:"service_id"`
	Occurrence   int               `db:"occurrence" json:"occurrence"`
	Attempt      int               `db:"attempt" json:"attempt"`
	ServiceCode  string            `db:"service_code" json:"service_code"`
	SlotID       string            `db:"slot_id" json:"slot_id"`
	ProviderID   string            `db:"provider_id" json:"provider_id"`
	ProviderName string            `db:"provider_name" json:"provider_name"`
	StartsAt     time.Time         `db:"starts_at" json:"starts_at"`
	EndsAt       time.Time         `db:"ends_at" json:"ends_at"`
	Status       AppointmentStatus `db:"status" json:"status"`
	PlanVersion  int               `db:"plan_version" json:"plan_version,omitempty"`
	BookedAt     time.Time         `db:"booked_at" json:"booked_at"`
	StatusAt     time.Time         `db:"status_at" json:"status_at"`
}

// ReminderRequest asks for reminders at Offsets before an appointment's
// start (whole minutes; e.g. 48h and 2h).
type ReminderRequest struct {
	AppointmentID string          `json:"appointment_id"`
	Offsets       []time.Duration `json:"offsets"`
}

// ReminderStatus is where a reminder stands in the outbox.
type ReminderStatus string

// Reminder statuses.
const (
	ReminderPending   ReminderStatus = "pending"   // to be sent at due_at
	ReminderSent      ReminderStatus = "sent"      // a channel took it
	ReminderCancelled ReminderStatus = "cancelled" // the appointment was cancelled, attended or missed first
	ReminderSkipped   ReminderStatus = "skipped"   // its time, or the appointment's, had passed: never sent late
	// ReminderUnknown: a sender claimed the reminder and never reported
	// back (it may have handed it to its channel and crashed), and then it
	// would have been cancelled or skipped. It may have been sent; the
	// reason is the one it would have been cancelled or skipped with.
	ReminderUnknown ReminderStatus = "unknown"
)

// Reminder is one row of the reminder outbox.
type Reminder struct {
	ID            string         `db:"reminder_id" json:"reminder_id"`
	AppointmentID string         `db:"appointment_id" json:"appointment_id"`
	OffsetMinutes int            `db:"offset_minutes" json:"offset_minutes"`
	DueAt         time.Time      `db:"due_at" json:"due_at"`
	Channel       string         `db:"channel" json:"channel"`
	Status        ReminderStatus `db:"status" json:"status"`
	Attempts      int            `db:"attempts" json:"attempts"`
	SentAt        *time.Time     `db:"sent_at" json:"sent_at,omitempty"`
	LastError     string         `db:"last_error" json:"last_error,omitempty"`
	// Reason says why a skipped or cancelled reminder was not sent (see
	// ReminderOutcome).
	Reason string `db:"reason" json:"reason,omitempty"`
}

// ReminderClaim is a reminder claimed for sending, with what its message
// needs.
type ReminderClaim struct {
	Reminder  Reminder
	CaseID    string
	PatientID string // opaque
	StartsAt  time.Time
}

// NotificationKind is what a notification to a patient is about.
type NotificationKind string

// Notification kinds.
const (
	NotificationAppointmentReminder NotificationKind = "appointment-reminder"
)

// Notification is one message to a patient. It carries opaque ids and times
// only, never personal data: the gateway resolves the patient id to contact
// details on its side. ReminderID is its idempotency key.
type Notification struct {
	ReminderID    string           `json:"reminder_id"`
	AppointmentID string           `json:"appointment_id"`
	CaseID        string           `json:"case_id"`
	PatientID     string           `json:"patient_id"` // opaque
	Kind          NotificationKind `json:"kind"`
	DueAt         time.Time        `json:"due_at"`
	StartsAt      time.Time        `json:"starts_at"`
}
