package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/caseflow/caseflow/care"
)

// ErrReminderBusy is returned by ClaimReminder while another sender holds the
// reminder's lease; try again once it has expired.
var ErrReminderBusy = errors.New("the reminder is being sent by another worker")

func utcReminder(r *care.Reminder) {
	r.DueAt = r.DueAt.UTC()
	if r.SentAt != nil {
		t := r.SentAt.UTC()
		r.SentAt = &t
	}
}

const reminderColumns = `r.reminder_id, r.appointment_id, r.offset_minutes, r.due_at, r.channel, r.status,
	r.attempts, r.sent_at, COALESCE(r.last_error, '') AS last_error, COALESCE(r.reason, '') AS reason`

// ReminderID derives the id of the reminder offsetMinutes before an
// appointment, e.g. ap-0123456789abcdef.120m. It is the idempotency key the
// channel receives.
func ReminderID(appointmentID string, offsetMinutes int) string {
	return appointmentID + "." + strconv.Itoa(offsetMinutes) + "m"
}

// ScheduleReminders writes one outbox row per offset before the
// appointment's start and returns all the appointment's reminders, earliest
// due first. It is idempotent on (appointment, offset): a row that exists is
// left as it is. A reminder whose due time is not after now is written as
// skipped, never sent late; if the appointment is no longer booked, the rows
// are written as cancelled. Offsets must be whole minutes. The start time is
// the appointment's own, so it cannot disagree with the booking.
func (s *Store) ScheduleReminders(ctx context.Context, appointmentID string, offsets []time.Duration, channel string, now time.Time) ([]care.Reminder, error) {
	minutes, err := sortedOffsets(offsets)
	if err != nil {
		return nil, err
	}
	if channel == "" {
		return nil, care.Invalidf("channel", "is required: the name of the channel that delivers the reminders (log, webhook)")
	}
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	// FOR SHARE waits for a status change in flight, so a cancellation
	// either comes first (rows written cancelled) or finds the rows pending.
	var ap struct {
		Status   care.AppointmentStatus `db:"status"`
		StartsAt time.Time              `db:"starts_at"`
	}
	err = tx.GetContext(ctx, &ap, `
		SELECT a.status, sl.starts_at FROM appointments a JOIN slots sl USING (slot_id)
		WHERE a.appointment_id = $1 FOR SHARE OF a`, appointmentID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("appointment %s: %w", appointmentID, care.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	for _, m := range minutes {
		due := ap.StartsAt.Add(-time.Duration(m) * time.Minute)
		status, reason := care.ReminderPending, ""
		switch {
		case ap.Status != care.AppointmentBooked:
			status, reason = care.ReminderCancelled, care.CancelReason(ap.Status)
		case !due.After(now):
			status, reason = care.ReminderSkipped, care.ReasonTooLate
		}
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO reminders (reminder_id, appointment_id, offset_minutes, due_at, channel, status, reason)
			VALUES ($1, $2, $3, $4, $5, $6, NULLIF($7, ''))
			ON CONFLICT (appointment_id, offset_minutes) DO NOTHING`,
			ReminderID(appointmentID, m), appointmentID, m, due, channel, status, reason); err != nil {
			return nil, fmt.Errorf("schedule reminder %dm before appointment %s: %w", m, appointmentID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	return s.Reminders(ctx, appointmentID)
}

// Reminder returns the reminder with id.
func (s *Store) Reminder(ctx context.Context, id string) (care.Reminder, error) {
	var r care.Reminder
	err := s.db.GetContext(ctx, &r, `SELECT `+reminderColumns+` FROM reminders r WHERE r.reminder_id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("reminder %s: %w", id, care.ErrNotFound)
	}
	utcReminder(&r)
	return r, err
}

// Reminders returns the reminders of an appointment, earliest due first.
func (s *Store) Reminders(ctx context.Context, appointmentID string) ([]care.Reminder, error) {
	var out []care.Reminder
	err := s.db.SelectContext(ctx, &out, `SELECT `+reminderColumns+` FROM reminders r
		WHERE r.appointment_id = $1 ORDER BY r.due_at, r.reminder_id`, appointmentID)
	for i := range out {
		utcReminder(&out[i])
	}
	return out, err
}

// RemindersForCase returns the reminders of every appointment of a case,
// earliest due first.
func (s *Store) RemindersForCase(ctx context.Context, caseID string) ([]care.Reminder, error) {
	var out []care.Reminder
	err := s.db.SelectContext(ctx, &out, `SELECT `+reminderColumns+` FROM reminders r
		JOIN appointments a USING (appointment_id)
		WHERE a.case_id = $1 ORDER BY r.due_at, r.reminder_id`, caseID)
	for i := range out {
		utcReminder(&out[i])
	}
	return out, err
}

// ClaimReminder takes the reminder for sending until now+lease. It reports
// false, with no error, when there is nothing to send: the reminder is
// already sent, cancelled, skipped or unknown, its appointment is no longer
// booked (it becomes cancelled), has started or its case is paused (it
// becomes skipped, with the reason in the claim's Reminder). A reminder an
// earlier attempt claimed and never released (its sender may have handed it
// to the channel and crashed) becomes unknown instead of cancelled or
// skipped. It returns
// ErrReminderBusy while another sender's lease runs, and care.ErrNotFound for an
// unknown id. Each claim counts an attempt.
func (s *Store) ClaimReminder(ctx context.Context, id string, now time.Time, lease time.Duration) (care.ReminderClaim, bool, error) {
	var c care.ReminderClaim
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return c, false, err
	}
	defer tx.Rollback()
	// Lock the appointment, then the reminder: the order
	// SetAppointmentStatus takes them in.
	var ap struct {
		AppointmentID string                 `db:"appointment_id"`
		Status        care.AppointmentStatus `db:"status"`
		CaseID        string                 `db:"case_id"`
		PatientID     string                 `db:"patient_id"`
		StartsAt      time.Time              `db:"starts_at"`
		Paused        bool                   `db:"paused"`
	}
	err = tx.GetContext(ctx, &ap, `
		SELECT a.appointment_id, a.status, a.case_id, c.patient_id, sl.starts_at,
			EXISTS (SELECT 1 FROM case_pauses p WHERE p.case_id = a.case_id AND p.resumed_at IS NULL) AS paused
		FROM reminders r JOIN appointments a USING (appointment_id) JOIN slots sl USING (slot_id)
			JOIN cases c ON c.case_id = a.case_id
		WHERE r.reminder_id = $1 FOR SHARE OF a`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return c, false, fmt.Errorf("reminder %s: %w", id, care.ErrNotFound)
	}
	if err != nil {
		return c, false, err
	}
	var r care.Reminder
	var claimedUntil sql.NullTime
	var maybeSent bool
	row := tx.QueryRowxContext(ctx, `SELECT `+reminderColumns+`, r.claimed_until, r.maybe_sent FROM reminders r WHERE r.reminder_id = $1 FOR UPDATE`, id)
	if err := row.Scan(&r.ID, &r.AppointmentID, &r.OffsetMinutes, &r.DueAt, &r.Channel, &r.Status,
		&r.Attempts, &r.SentAt, &r.LastError, &r.Reason, &claimedUntil, &maybeSent); err != nil {
		return c, false, err
	}
	utcReminder(&r)
	c = care.ReminderClaim{Reminder: r, CaseID: ap.CaseID, PatientID: ap.PatientID, StartsAt: ap.StartsAt.UTC()}
	if r.Status != care.ReminderPending {
		return c, false, nil
	}
	settle := func(st care.ReminderStatus, reason string) (care.ReminderClaim, bool, error) {
		if claimedUntil.Valid || maybeSent {
			// An earlier attempt claimed it and never reported back: it
			// may have been sent.
			st = care.ReminderUnknown
		}
		if _, err := tx.ExecContext(ctx, `UPDATE reminders SET status = $2, reason = $3, claimed_until = NULL, updated_at = now()
			WHERE reminder_id = $1`, id, st, reason); err != nil {
			return c, false, err
		}
		c.Reminder.Status, c.Reminder.Reason = st, reason
		return c, false, tx.Commit()
	}
	switch {
	case ap.Status != care.AppointmentBooked:
		return settle(care.ReminderCancelled, care.CancelReason(ap.Status))
	case !ap.StartsAt.After(now):
		return settle(care.ReminderSkipped, care.ReasonAppointmentStarted)
	case ap.Paused:
		return settle(care.ReminderSkipped, care.ReasonPaused)
	case claimedUntil.Valid && claimedUntil.Time.After(now):
		return c, false, fmt.Errorf("reminder %s until %s: %w", id, claimedUntil.Time.UTC().Format(time.RFC3339), ErrReminderBusy)
	}
	// A claim that takes over an expired lease follows an attempt that
	// never reported back: the reminder may have been sent, whatever this
	// attempt does.
	if _, err := tx.ExecContext(ctx, `UPDATE reminders SET attempts = attempts + 1, claimed_until = $2, updated_at = now(),
			maybe_sent = maybe_sent OR $3
		WHERE reminder_id = $1`, id, now.Add(lease), claimedUntil.Valid); err != nil {
		return c, false, err
	}
	c.Reminder.Attempts++
	return c, true, tx.Commit()
}

// ReleaseReminder gives up a claim after a failed delivery, recording why, so
// that the next attempt need not wait for the lease to expire. A reminder
// that became unknown while this attempt ran (its appointment left
// "booked", started, or the case paused) was not sent by this attempt: it
// becomes skipped or cancelled, as its reason says, unless an earlier
// attempt, which never reported back (maybe_sent), may have sent it.
// maybeSent says this attempt may have delivered it (the gateway took the
// request and gave no answer, e.g. a timeout): it is kept as maybe_sent,
// so a cancellation later records it unknown, never "not sent".
func (s *Store) ReleaseReminder(ctx context.Context, id, reason string, maybeSent bool) error {
	if len(reason) > 500 {
		reason = reason[:500]
	}
	_, err := s.db.ExecContext(ctx, `UPDATE reminders SET claimed_until = NULL, last_error = $2, updated_at = now(),
			maybe_sent = maybe_sent OR $5,
			status = CASE WHEN status = 'pending' OR maybe_sent OR $5 THEN status WHEN reason IN ($3, $4) THEN 'skipped' ELSE 'cancelled' END
		WHERE reminder_id = $1 AND status IN ('pending', 'unknown')`, id, reason, care.ReasonAppointmentStarted, care.ReasonPaused, maybeSent)
	return err
}

// MarkSent records that channel delivered the reminder at `at`. It is
// idempotent: a reminder already sent keeps its first record. A reminder
// cancelled (or unknown) while it was being delivered is recorded as sent,
// because it was.
func (s *Store) MarkSent(ctx context.Context, id, channel string, at time.Time) error {
	res, err := s.db.ExecContext(ctx, `
		UPDATE reminders SET status = 'sent', sent_at = $3, channel = $2, claimed_until = NULL, last_error = NULL, reason = NULL, updated_at = now()
		WHERE reminder_id = $1 AND status IN ('pending', 'cancelled', 'unknown')`, id, channel, at)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	_, err = s.Reminder(ctx, id)
	return err
}

// sortedOffsets turns reminder offsets into unique whole minutes, largest
// first.
func sortedOffsets(offsets []time.Duration) ([]int, error) {
	seen := map[int]bool{}
	var out []int
	for i, o := range offsets {
		if o < 0 || o%time.Minute != 0 {
			return nil, care.Invalidf(fmt.Sprintf("offsets[%d]", i), "must be a whole number of minutes before the appointment, got %s", o)
		}
		m := int(o / time.Minute)
		if !seen[m] {
			seen[m] = true
			out = append(out, m)
		}
	}
	sort.Sort(sort.Reverse(sort.IntSlice(out)))
	return out, nil
}
