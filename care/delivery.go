package care

// ReminderOutcome is what SendReminder did with a reminder: sent, skipped
// (with why), cancelled (with the appointment's status) or unknown (an
// earlier attempt never reported back, with the reason it would have been
// skipped or cancelled with). Only a sent reminder counts as sent.
type ReminderOutcome struct {
	ReminderID string         `json:"reminder_id"`
	Status     ReminderStatus `json:"status"`
	// Reason is empty for a sent reminder; otherwise one of the Reason
	// constants, or "appointment-<status>" for a cancelled one.
	Reason string `json:"reason,omitempty"`
}

// Sent reports whether the reminder went out.
func (o ReminderOutcome) Sent() bool { return o.Status == ReminderSent }

// Why a reminder was skipped.
const (
	// ReasonTooLate: its due time had passed when it was scheduled (the
	// appointment was booked less than the offset before it starts).
	ReasonTooLate = "too-late"
	// ReasonAppointmentStarted: the appointment had started when the
	// reminder fell due.
	ReasonAppointmentStarted = "appointment-started"
	// ReasonPaused: the case's outreach was paused when the reminder fell
	// due.
	ReasonPaused = "paused"
)

// CancelReason is the reason recorded on the reminders of an appointment
// that left "booked" for status: "appointment-cancelled", ...
func CancelReason(status AppointmentStatus) string { return "appointment-" + string(status) }
