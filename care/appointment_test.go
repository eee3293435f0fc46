package care_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/caseflow/caseflow/care"
)

// TestCoordinationJSONIsUnchanged pins the JSON of the coordination types:
// recorded histories and encrypted payloads hold it. Each document was
// written by the types these replaced (postgres.Appointment,
// payer.Decision, notify.Message, ...), so a renamed field or value fails
// here before it fails a replay.
func TestCoordinationJSONIsUnchanged(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	sent := at.Add(time.Hour)
	key := care.BookingKey{CaseID: "c-5c1d0e8f2a7b9c3d", ServiceID: "pt", Occurrence: 2, Attempt: 1}
	for _, tc := range []struct {
		v    any
		want string
	}{
		{care.BookingRequest{Key: key, ServiceCode: "physiotherapy", From: at, To: at.Add(48 * time.Hour)},
			`{"key":{"case_id":"c-5c1d0e8f2a7b9c3d","service_id":"pt","occurrence":2,"attempt":1},"service_code":"physiotherapy","from":"2026-12-01T09:00:00Z","to":"2026-12-03T09:00:00Z"}`},
		{care.ReminderRequest{AppointmentID: "ap-1", Offsets: []time.Duration{48 * time.Hour, 2 * time.Hour}},
			`{"appointment_id":"ap-1","offsets":[172800000000000,7200000000000]}`},
		{care.Appointment{ID: "ap-1", CaseID: key.CaseID, ServiceID: "pt", Occurrence: 2, Attempt: 1, ServiceCode: "physiotherapy",
			SlotID: "sl-1", ProviderID: "prv-1", ProviderName: "North", StartsAt: at, EndsAt: at.Add(45 * time.Minute), Status: care.AppointmentNoShow, BookedAt: at, StatusAt: at},
			`{"appointment_id":"ap-1","case_id":"c-5c1d0e8f2a7b9c3d","service_id":"pt","occurrence":2,"attempt":1,"service_code":"physiotherapy","slot_id":"sl-1","provider_id":"prv-1","provider_name":"North","starts_at":"2026-12-01T09:00:00Z","ends_at":"2026-12-01T09:45:00Z","status":"no-show","booked_at":"2026-12-01T09:00:00Z","status_at":"2026-12-01T09:00:00Z"}`},
		{care.Reminder{ID: "ap-1.120m", AppointmentID: "ap-1", OffsetMinutes: 120, DueAt: at, Channel: "log", Status: care.ReminderSent, Attempts: 1, SentAt: &sent, LastError: "x"},
			`{"reminder_id":"ap-1.120m","appointment_id":"ap-1","offset_minutes":120,"due_at":"2026-12-01T09:00:00Z","channel":"log","status":"sent","attempts":1,"sent_at":"2026-12-01T10:00:00Z","last_error":"x"}`},
		{care.AuthorizationRequest{RequestKey: "c-5c1d0e8f2a7b9c3d:pt:1", CaseID: key.CaseID, PatientID: "p-0a1b2c3d4e5f6a7b", ServiceCode: "physiotherapy",
			Urgency: care.UrgencyExpedited, PeriodStart: at, PeriodEnd: at.Add(time.Hour)},
			`{"request_key":"c-5c1d0e8f2a7b9c3d:pt:1","case_id":"c-5c1d0e8f2a7b9c3d","patient_id":"p-0a1b2c3d4e5f6a7b","service_code":"physiotherapy","urgency":"expedited","period_start":"2026-12-01T09:00:00Z","period_end":"2026-12-01T10:00:00Z"}`},
		{care.AuthorizationDecision{Status: care.AuthorizationApproved, RequestID: "r-1", AuthorizationNumber: "AUTH-1", ValidFrom: at, ValidTo: at.Add(time.Hour), DecidedAt: at},
			`{"status":"approved","request_id":"r-1","authorization_number":"AUTH-1","valid_from":"2026-12-01T09:00:00Z","valid_to":"2026-12-01T10:00:00Z","decided_at":"2026-12-01T09:00:00Z"}`},
		{care.AuthorizationDecision{Status: care.AuthorizationPended, RequestID: "r-1"},
			`{"status":"pended","request_id":"r-1"}`},
		{care.Notification{ReminderID: "ap-1.120m", AppointmentID: "ap-1", CaseID: key.CaseID, PatientID: "p-0a1b2c3d4e5f6a7b",
			Kind: care.NotificationAppointmentReminder, DueAt: at, StartsAt: at},
			`{"reminder_id":"ap-1.120m","appointment_id":"ap-1","case_id":"c-5c1d0e8f2a7b9c3d","patient_id":"p-0a1b2c3d4e5f6a7b","kind":"appointment-reminder","due_at":"2026-12-01T09:00:00Z","starts_at":"2026-12-01T09:00:00Z"}`},
		{care.ServiceState{Service: care.Service{ID: "pt", Code: "physiotherapy"}, Status: care.ServiceBooked,
			Authorization: &care.AuthorizationState{RequestID: "r-1", Status: care.AuthorizationDenied, Reason: "no", SubmittedAt: at, DeadlineAt: at},
			Appointment:   &care.AppointmentRef{ID: "ap-1", Occurrence: 1, Attempt: 2, ProviderID: "prv-1", StartsAt: at, Status: care.AppointmentBooked}},
			`{"id":"pt","code":"physiotherapy","name":"","status":"booked","authorization":{"request_id":"r-1","status":"denied","reason":"no","submitted_at":"2026-12-01T09:00:00Z","deadline_at":"2026-12-01T09:00:00Z"},"appointment":{"id":"ap-1","occurrence":1,"attempt":2,"provider_id":"prv-1","starts_at":"2026-12-01T09:00:00Z","status":"booked"}}`},
		{care.Attendance{AppointmentID: "ap-1", Status: care.AppointmentCancelled, Notes: "n"},
			`{"appointment_id":"ap-1","status":"cancelled","notes":"n"}`},
	} {
		name := reflect.TypeOf(tc.v).Name()
		got, err := json.Marshal(tc.v)
		require.NoError(t, err, name)
		require.JSONEq(t, tc.want, string(got), name)
		back := reflect.New(reflect.TypeOf(tc.v))
		require.NoError(t, json.Unmarshal([]byte(tc.want), back.Interface()), name)
		require.Equal(t, tc.v, back.Elem().Interface(), "%s decodes from the old JSON", name)
	}
}

func TestAttendanceStatuses(t *testing.T) {
	t.Parallel()
	for _, st := range care.AttendanceStatuses {
		require.NoError(t, care.Attendance{AppointmentID: "ap-1", Status: st}.Validate())
	}
	err := care.Attendance{AppointmentID: "ap-1", Status: care.AppointmentBooked}.Validate()
	require.Equal(t, care.KindInvalid, care.KindOf(err), "booked is not an attendance")
	require.Equal(t, care.KindInvalid, care.KindOf(care.Attendance{Status: care.AppointmentAttended}.Validate()))
}

func TestSchedulingErrorsHaveKinds(t *testing.T) {
	t.Parallel()
	require.Equal(t, care.KindNotFound, care.KindOf(care.ErrNotFound))
	for _, err := range []error{care.ErrNoSlot, care.ErrOccurrenceBooked, care.ErrAppointmentStatusConflict} {
		require.Equal(t, care.KindConflict, care.KindOf(err), err.Error())
	}
}
