package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/postgres"
)

// bookedAt books an appointment for a new case at coordBase+hours and
// returns it with the case's patient id.
func bookedAt(t *testing.T, s *postgres.Store, ref string, hours float64) (care.Appointment, string) {
	t.Helper()
	cid, pid := coordCase(t, s, ref)
	loadJSON(t, s, `{"providers": [{"id": "prv-rem", "name": "R", "services": ["physiotherapy"], "slots": [`+slotAt("physiotherapy", hours)+`]}]}`, coordBase)
	ap, err := s.BookEarliest(context.Background(), care.BookingKey{CaseID: cid, ServiceID: "pt", Occurrence: 1, Attempt: 1},
		"physiotherapy", coordBase.Add(time.Duration(hours*float64(time.Hour))), coordBase.AddDate(0, 0, 30))
	require.NoError(t, err)
	return ap, pid
}

func TestScheduleRemindersOnePerOffsetAndNeverLate(t *testing.T) {
	t.Parallel()
	s := coordStore(t)
	ctx := context.Background()
	ap, _ := bookedAt(t, s, "mrn-rem-schedule", 0)
	now := ap.StartsAt.Add(-3 * time.Hour) // the 48 h reminder's time has passed
	offsets := []time.Duration{48 * time.Hour, 2 * time.Hour, 120 * time.Minute, 30 * time.Minute}

	var first []care.Reminder
	for i := range 3 {
		got, err := s.ScheduleReminders(ctx, ap.ID, offsets, "log", now.Add(time.Duration(i)*time.Minute))
		require.NoError(t, err)
		if i == 0 {
			first = got
		}
		require.Equal(t, first, got, "scheduling again changes nothing")
	}
	require.Len(t, first, 3, "one row per distinct offset")
	require.Equal(t, 3, rows(t, s, `SELECT count(*) FROM reminders WHERE appointment_id = $1`, ap.ID))

	byOffset := map[int]care.Reminder{}
	for _, r := range first {
		byOffset[r.OffsetMinutes] = r
	}
	require.Equal(t, care.ReminderSkipped, byOffset[48*60].Status, "never sent for a time already past")
	require.Equal(t, care.ReminderPending, byOffset[120].Status)
	require.Equal(t, care.ReminderPending, byOffset[30].Status)
	require.Equal(t, ap.StartsAt.Add(-2*time.Hour), byOffset[120].DueAt)
	require.Equal(t, postgres.ReminderID(ap.ID, 120), byOffset[120].ID)
	require.Equal(t, "log", byOffset[120].Channel)
	require.Equal(t, first[0].OffsetMinutes, 48*60, "earliest due first")

	_, err := s.ScheduleReminders(ctx, ap.ID, []time.Duration{90 * time.Second}, "log", now)
	var v *care.ValidationError
	require.ErrorAs(t, err, &v)
	require.Equal(t, "offsets[0]", v.Field)
	_, err = s.ScheduleReminders(ctx, ap.ID, []time.Duration{-time.Hour}, "log", now)
	require.ErrorAs(t, err, &v)
	_, err = s.ScheduleReminders(ctx, "ap-missing", offsets, "log", now)
	require.ErrorIs(t, err, care.ErrNotFound)

	forCase, err := s.RemindersForCase(ctx, ap.CaseID)
	require.NoError(t, err)
	require.Equal(t, first, forCase)
}

func TestClaimAndMarkSentSendOnce(t *testing.T) {
	t.Parallel()
	s := coordStore(t)
	ctx := context.Background()
	ap, pid := bookedAt(t, s, "mrn-rem-claim", 1)
	now := ap.StartsAt.Add(-3 * time.Hour)
	rs, err := s.ScheduleReminders(ctx, ap.ID, []time.Duration{2 * time.Hour}, "log", now)
	require.NoError(t, err)
	id := rs[0].ID
	lease := time.Minute

	c, ok, err := s.ClaimReminder(ctx, id, now.Add(time.Hour), lease)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, ap.CaseID, c.CaseID)
	require.Equal(t, pid, c.PatientID)
	require.Equal(t, ap.StartsAt, c.StartsAt)
	require.Equal(t, 1, c.Reminder.Attempts)

	// A second sender while the lease runs is told to wait.
	_, _, err = s.ClaimReminder(ctx, id, now.Add(time.Hour+30*time.Second), lease)
	require.ErrorIs(t, err, postgres.ErrReminderBusy)

	// The first sender crashed before recording the send: once the lease has
	// expired a retry claims it again (and sends with the same id, the
	// channel's idempotency key).
	c, ok, err = s.ClaimReminder(ctx, id, now.Add(time.Hour+2*time.Minute), lease)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, 2, c.Reminder.Attempts)

	sentAt := now.Add(time.Hour + 2*time.Minute)
	require.NoError(t, s.MarkSent(ctx, id, "webhook", sentAt))
	require.NoError(t, s.MarkSent(ctx, id, "log", sentAt.Add(time.Minute)), "marking twice is harmless")
	r, err := s.Reminder(ctx, id)
	require.NoError(t, err)
	require.Equal(t, care.ReminderSent, r.Status)
	require.Equal(t, sentAt, *r.SentAt, "the first record stays")
	require.Equal(t, "webhook", r.Channel)

	// A retried send finds it sent and does nothing.
	_, ok, err = s.ClaimReminder(ctx, id, now.Add(time.Hour+3*time.Minute), lease)
	require.NoError(t, err)
	require.False(t, ok)

	require.ErrorIs(t, s.MarkSent(ctx, "ap-missing.5m", "log", sentAt), care.ErrNotFound)
	_, _, err = s.ClaimReminder(ctx, "ap-missing.5m", now, lease)
	require.ErrorIs(t, err, care.ErrNotFound)
}

func TestReleaseReminderLetsTheRetryGoAtOnce(t *testing.T) {
	t.Parallel()
	s := coordStore(t)
	ctx := context.Background()
	ap, _ := bookedAt(t, s, "mrn-rem-release", 1)
	now := ap.StartsAt.Add(-3 * time.Hour)
	rs, err := s.ScheduleReminders(ctx, ap.ID, []time.Duration{2 * time.Hour}, "log", now)
	require.NoError(t, err)
	_, ok, err := s.ClaimReminder(ctx, rs[0].ID, now, time.Hour)
	require.NoError(t, err)
	require.True(t, ok)
	require.NoError(t, s.ReleaseReminder(ctx, rs[0].ID, "notify: HTTP 503: gateway down", false))
	c, ok, err := s.ClaimReminder(ctx, rs[0].ID, now, time.Hour)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "notify: HTTP 503: gateway down", c.Reminder.LastError)
}

func TestRemindersOfCancelledOrStartedAppointmentsAreNotSent(t *testing.T) {
	t.Parallel()
	s := coordStore(t)
	ctx := context.Background()
	ap, _ := bookedAt(t, s, "mrn-rem-cancel", 1)
	now := ap.StartsAt.Add(-72 * time.Hour)
	offsets := []time.Duration{48 * time.Hour, 2 * time.Hour}

	// Started: a reminder claimed after the appointment began is skipped.
	rs, err := s.ScheduleReminders(ctx, ap.ID, offsets, "log", now)
	require.NoError(t, err)
	c, ok, err := s.ClaimReminder(ctx, rs[1].ID, ap.StartsAt, time.Minute)
	require.NoError(t, err)
	require.False(t, ok)
	require.Equal(t, care.ReminderSkipped, c.Reminder.Status)

	// Recording the attendance cancels what is pending.
	_, err = s.SetAppointmentStatus(ctx, ap.ID, care.AppointmentAttended)
	require.NoError(t, err)
	r, err := s.Reminder(ctx, rs[0].ID)
	require.NoError(t, err)
	require.Equal(t, care.ReminderCancelled, r.Status)
	_, ok, err = s.ClaimReminder(ctx, rs[0].ID, now, time.Minute)
	require.NoError(t, err)
	require.False(t, ok, "a cancelled reminder is not sent")

	// Cancelling the appointment cancels its pending reminders in the same
	// transaction, and reminders scheduled afterwards are born cancelled.
	ap2, _ := bookedAt(t, s, "mrn-rem-cancel-2", 2)
	rs2, err := s.ScheduleReminders(ctx, ap2.ID, offsets, "log", now)
	require.NoError(t, err)
	require.Equal(t, care.ReminderPending, rs2[0].Status)
	_, err = s.SetAppointmentStatus(ctx, ap2.ID, care.AppointmentCancelled)
	require.NoError(t, err)
	rs2, err = s.ScheduleReminders(ctx, ap2.ID, append(offsets, time.Hour), "log", now)
	require.NoError(t, err)
	require.Len(t, rs2, 3)
	for _, r := range rs2 {
		require.Equal(t, care.ReminderCancelled, r.Status, r.ID)
	}
}

// A sender that claimed a reminder and never reported back may have handed
// it to its channel: when its appointment is then cancelled, or has started
// by the retry, the reminder is recorded unknown, never cancelled or
// skipped; a late report still makes it sent, and a failed attempt's
// release makes it what it would have been.
func TestAReminderAnAttemptNeverReportedOnIsUnknownNotCancelled(t *testing.T) {
	t.Parallel()
	s := coordStore(t)
	ctx := context.Background()
	status := func(id string) (care.ReminderStatus, string) {
		t.Helper()
		r, err := s.Reminder(ctx, id)
		require.NoError(t, err)
		return r.Status, r.Reason
	}
	claim := func(id string, at time.Time) care.ReminderClaim {
		t.Helper()
		c, ok, err := s.ClaimReminder(ctx, id, at, time.Minute)
		require.NoError(t, err)
		require.True(t, ok)
		return c
	}

	// The sender crashed after the send; then staff cancelled the
	// appointment; the retry finds it unknown and sends nothing.
	ap, _ := bookedAt(t, s, "mrn-rem-unknown-1", 1)
	now := ap.StartsAt.Add(-3 * time.Hour)
	rs, err := s.ScheduleReminders(ctx, ap.ID, []time.Duration{2 * time.Hour, 30 * time.Minute}, "log", now)
	require.NoError(t, err)
	claim(rs[0].ID, now.Add(time.Hour))
	_, err = s.SetAppointmentStatus(ctx, ap.ID, care.AppointmentCancelled)
	require.NoError(t, err)
	st, why := status(rs[0].ID)
	require.Equal(t, care.ReminderUnknown, st, "it may have been sent")
	require.Equal(t, care.CancelReason(care.AppointmentCancelled), why)
	st, _ = status(rs[1].ID)
	require.Equal(t, care.ReminderCancelled, st, "the reminder nobody claimed was not sent")
	c, ok, err := s.ClaimReminder(ctx, rs[0].ID, now.Add(time.Hour+2*time.Minute), time.Minute)
	require.NoError(t, err)
	require.False(t, ok)
	require.Equal(t, care.ReminderUnknown, c.Reminder.Status)
	// The sender was only slow: its report makes it sent.
	require.NoError(t, s.MarkSent(ctx, rs[0].ID, "log", now.Add(time.Hour)))
	st, _ = status(rs[0].ID)
	require.Equal(t, care.ReminderSent, st)

	// oneReminder books an appointment for a new case and schedules its
	// 2 h reminder, returning the appointment and the reminder's id.
	oneReminder := func(ref string, hours float64) (care.Appointment, string) {
		t.Helper()
		ap, _ := bookedAt(t, s, ref, hours)
		rs, err := s.ScheduleReminders(ctx, ap.ID, []time.Duration{2 * time.Hour}, "log", now)
		require.NoError(t, err)
		return ap, rs[0].ID
	}
	cancel := func(ap care.Appointment) {
		t.Helper()
		_, err := s.SetAppointmentStatus(ctx, ap.ID, care.AppointmentCancelled)
		require.NoError(t, err)
	}

	// The sender crashed; the retry comes after the appointment started.
	ap2, id2 := oneReminder("mrn-rem-unknown-2", 2)
	claim(id2, ap2.StartsAt.Add(-2*time.Hour))
	c, ok, err = s.ClaimReminder(ctx, id2, ap2.StartsAt.Add(time.Minute), time.Minute)
	require.NoError(t, err)
	require.False(t, ok)
	require.Equal(t, care.ReminderUnknown, c.Reminder.Status)
	require.Equal(t, care.ReasonAppointmentStarted, c.Reminder.Reason)
	st, why = status(id2)
	require.Equal(t, care.ReminderUnknown, st)
	require.Equal(t, care.ReasonAppointmentStarted, why)

	// The only attempt failed (the channel refused it) while staff
	// cancelled: its release records it cancelled, because it was not sent.
	ap3, id3 := oneReminder("mrn-rem-unknown-3", 3)
	claim(id3, now.Add(time.Hour))
	cancel(ap3)
	require.NoError(t, s.ReleaseReminder(ctx, id3, "notify: HTTP 503", false))
	st, why = status(id3)
	require.Equal(t, care.ReminderCancelled, st)
	require.Equal(t, care.CancelReason(care.AppointmentCancelled), why)

	// Two attempts, the first never reported back: the second's failure
	// does not make it cancelled, the first may have sent it.
	ap4, id4 := oneReminder("mrn-rem-unknown-4", 4)
	claim(id4, now.Add(time.Hour))
	claim(id4, now.Add(time.Hour+2*time.Minute))
	cancel(ap4)
	require.NoError(t, s.ReleaseReminder(ctx, id4, "notify: HTTP 503", false))
	st, _ = status(id4)
	require.Equal(t, care.ReminderUnknown, st)

	// The first attempt never reported back, the second failed and
	// released: cancelling then still cannot say it was not sent.
	ap5, id5 := oneReminder("mrn-rem-unknown-5", 5)
	claim(id5, now.Add(time.Hour))
	claim(id5, now.Add(time.Hour+2*time.Minute))
	require.NoError(t, s.ReleaseReminder(ctx, id5, "notify: HTTP 503", false))
	cancel(ap5)
	st, _ = status(id5)
	require.Equal(t, care.ReminderUnknown, st)

	// Both attempts failed and released (it was never sent), the second
	// while staff cancelled: cancelled, not unknown.
	ap6, id6 := oneReminder("mrn-rem-unknown-6", 6)
	claim(id6, now.Add(time.Hour))
	require.NoError(t, s.ReleaseReminder(ctx, id6, "notify: HTTP 503", false))
	claim(id6, now.Add(time.Hour+time.Minute))
	cancel(ap6)
	require.NoError(t, s.ReleaseReminder(ctx, id6, "notify: HTTP 503", false))
	st, _ = status(id6)
	require.Equal(t, care.ReminderCancelled, st)
}
