package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/internal/testdb"
	"github.com/caseflow/caseflow/postgres"
	"github.com/caseflow/caseflow/providers"
)

// coordBase is the start of the first slot in the scheduling tests.
var coordBase = time.Date(2030, 1, 7, 9, 0, 0, 0, time.UTC)

// coordStore opens a store on a fresh, migrated database of its own.
func coordStore(t *testing.T) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), testdb.New(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// coordCase registers a patient and an open case for it, written directly so
// these tests do not depend on how the workflow records its steps.
func coordCase(t *testing.T, s *postgres.Store, ref string) (caseID, patientID string) {
	t.Helper()
	ctx := context.Background()
	pid, err := s.UpsertPatient(ctx, ref, "", nil)
	require.NoError(t, err)
	cid := care.CaseID(pid, "coordination")
	_, err = s.DB().ExecContext(ctx, `
		INSERT INTO cases (case_id, patient_id, program, model, manager, source, phase, opened_at)
		VALUES ($1, $2, 'coordination', 'clinical', 'cm-ana', 'referral', 'implementation', $3)`, cid, pid, coordBase.AddDate(0, 0, -7))
	require.NoError(t, err)
	return cid, pid
}

// loadJSON loads a providers file written as JSON.
func loadJSON(t *testing.T, s *postgres.Store, doc string, now time.Time) postgres.LoadResult {
	t.Helper()
	var f providers.File
	require.NoError(t, json.Unmarshal([]byte(doc), &f))
	ps, slots, err := f.Expand(now)
	require.NoError(t, err)
	res, err := s.LoadProviders(context.Background(), ps, slots)
	require.NoError(t, err)
	return res
}

// slotAt returns a fixed-time slot spec as JSON.
func slotAt(service string, hours float64) string {
	return fmt.Sprintf(`{"service": %q, "starts_at": %q, "duration": "45m"}`, service,
		coordBase.Add(time.Duration(hours*float64(time.Hour))).Format(time.RFC3339))
}

func rows(t *testing.T, s *postgres.Store, query string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, s.DB().GetContext(context.Background(), &n, query, args...))
	return n
}

func TestLoadProviders(t *testing.T) {
	t.Parallel()
	s := coordStore(t)
	ctx := context.Background()
	now := time.Date(2030, 1, 1, 10, 17, 0, 0, time.UTC)
	doc := `{"providers": [
		{"id": "prv-north", "name": "North Physiotherapy", "services": ["physiotherapy"],
		 "slots": [{"start_offset": "1h", "every": "24h", "count": 3, "duration": "45m"}]},
		{"id": "prv-mind", "name": "Mind Clinic", "services": ["neuropsychology", "occupational-therapy"],
		 "slots": [{"service": "neuropsychology", "starts_at": "2030-01-02T14:00:00+01:00", "duration": "1h"},
		           {"service": "occupational-therapy", "starts_at": "2030-01-03T09:00:00Z", "every": "1h", "count": 2, "duration": "30m"}]}]}`
	res := loadJSON(t, s, doc, now)
	require.Equal(t, postgres.LoadResult{Providers: 2, Services: 3, SlotsAdded: 6}, res)

	sl, err := s.Slots(ctx, postgres.SlotQuery{ServiceCode: "physiotherapy", From: now, To: now.AddDate(0, 1, 0)})
	require.NoError(t, err)
	require.Len(t, sl, 3)
	// A relative series lies on its period's grid (daily: UTC midnights),
	// its offset past the first grid point at or after the load hour.
	require.Equal(t, time.Date(2030, 1, 2, 1, 0, 0, 0, time.UTC), sl[0].StartsAt)
	require.Equal(t, time.Date(2030, 1, 3, 1, 0, 0, 0, time.UTC), sl[1].StartsAt)
	require.Equal(t, 45*time.Minute, sl[0].EndsAt.Sub(sl[0].StartsAt))
	require.Equal(t, "North Physiotherapy", sl[0].ProviderName)
	require.True(t, sl[0].Free)
	require.Equal(t, providers.SlotID("prv-north", "physiotherapy", sl[0].StartsAt), sl[0].ID)

	np, err := s.Slots(ctx, postgres.SlotQuery{ServiceCode: "neuropsychology", From: now, To: now.AddDate(0, 1, 0)})
	require.NoError(t, err)
	require.Len(t, np, 1)
	require.Equal(t, time.Date(2030, 1, 2, 13, 0, 0, 0, time.UTC), np[0].StartsAt, "times are stored as instants")

	// Loading again within the hour adds nothing; a renamed provider is renamed.
	res = loadJSON(t, s, doc, now.Add(30*time.Minute))
	require.Equal(t, postgres.LoadResult{Providers: 2, Services: 3, SlotsExisting: 6}, res)
	res = loadJSON(t, s, `{"providers": [{"id": "prv-north", "name": "North Physio Ltd", "services": ["physiotherapy"]}]}`, now)
	require.Equal(t, postgres.LoadResult{Providers: 1, Services: 1}, res)
	require.Equal(t, 6, rows(t, s, `SELECT count(*) FROM slots`))

	ps, err := s.Providers(ctx)
	require.NoError(t, err)
	require.Len(t, ps, 2)
	require.Equal(t, postgres.ProviderSummary{ID: "prv-mind", Name: "Mind Clinic",
		Services: []string{"neuropsychology", "occupational-therapy"}, FreeSlots: 3}, ps[0])
	require.Equal(t, "North Physio Ltd", ps[1].Name)
}

func TestBookEarliestPicksTheEarliestFreeSlotInTheWindow(t *testing.T) {
	t.Parallel()
	s := coordStore(t)
	ctx := context.Background()
	cid, _ := coordCase(t, s, "mrn-earliest")
	loadJSON(t, s, `{"providers": [
		{"id": "prv-a", "name": "A", "services": ["physiotherapy", "neuropsychology"], "slots": [
			`+slotAt("physiotherapy", 0)+`, `+slotAt("physiotherapy", 3)+`, `+slotAt("physiotherapy", 10)+`,
			`+slotAt("neuropsychology", 1)+`]},
		{"id": "prv-b", "name": "B", "services": ["physiotherapy"], "slots": [`+slotAt("physiotherapy", 2)+`]}]}`, coordBase)
	from, to := coordBase.Add(30*time.Minute), coordBase.Add(10*time.Hour) // excludes the 0h and 10h slots

	key := care.BookingKey{CaseID: cid, ServiceID: "pt", Occurrence: 1, Attempt: 1}
	ap, err := s.BookEarliest(ctx, key, "physiotherapy", from, to)
	require.NoError(t, err)
	require.Equal(t, coordBase.Add(2*time.Hour), ap.StartsAt, "the earliest in the window, whichever provider")
	require.Equal(t, "prv-b", ap.ProviderID)
	require.Equal(t, "B", ap.ProviderName)
	require.Equal(t, care.AppointmentBooked, ap.Status)
	require.Equal(t, cid, ap.CaseID)
	require.Equal(t, "physiotherapy", ap.ServiceCode)
	require.Regexp(t, `^ap-[0-9a-f]{16}$`, ap.ID)

	ap2, err := s.BookEarliest(ctx, care.BookingKey{CaseID: cid, ServiceID: "pt", Occurrence: 2, Attempt: 1}, "physiotherapy", from, to)
	require.NoError(t, err)
	require.Equal(t, coordBase.Add(3*time.Hour), ap2.StartsAt, "the next free one")

	_, err = s.BookEarliest(ctx, care.BookingKey{CaseID: cid, ServiceID: "pt", Occurrence: 3, Attempt: 1}, "physiotherapy", from, to)
	require.ErrorIs(t, err, care.ErrNoSlot, "the 10h slot is outside the window: it ends before 10h")
	require.ErrorContains(t, err, "no free slot for physiotherapy from 2030-01-07T09:30:00Z to 2030-01-07T19:00:00Z")

	got, err := s.Appointment(ctx, ap.ID)
	require.NoError(t, err)
	require.Equal(t, ap, got)
	all, err := s.AppointmentsForCase(ctx, cid)
	require.NoError(t, err)
	require.Equal(t, []care.Appointment{ap, ap2}, all)

	free, err := s.Slots(ctx, postgres.SlotQuery{ServiceCode: "physiotherapy", From: coordBase.Add(-time.Hour), To: coordBase.Add(24 * time.Hour)})
	require.NoError(t, err)
	require.Len(t, free, 2, "the 0h and 10h slots are free")
	withBooked, err := s.Slots(ctx, postgres.SlotQuery{ServiceCode: "physiotherapy", From: coordBase.Add(-time.Hour), To: coordBase.Add(24 * time.Hour), IncludeBooked: true})
	require.NoError(t, err)
	require.Len(t, withBooked, 4)
	require.False(t, withBooked[1].Free)

	_, err = s.Appointment(ctx, "ap-missing")
	require.ErrorIs(t, err, care.ErrNotFound)
}

func TestBookEarliestRetryReturnsTheSameAppointment(t *testing.T) {
	t.Parallel()
	s := coordStore(t)
	ctx := context.Background()
	cid, _ := coordCase(t, s, "mrn-retry")
	loadJSON(t, s, `{"providers": [{"id": "prv-a", "name": "A", "services": ["physiotherapy"], "slots": [
		`+slotAt("physiotherapy", 1)+`, `+slotAt("physiotherapy", 2)+`]}]}`, coordBase)
	key := care.BookingKey{CaseID: cid, ServiceID: "pt", Occurrence: 1, Attempt: 1}
	first, err := s.BookEarliest(ctx, key, "physiotherapy", coordBase, coordBase.Add(24*time.Hour))
	require.NoError(t, err)
	// A retry, even with another window, returns the booking already made.
	again, err := s.BookEarliest(ctx, key, "physiotherapy", coordBase.Add(90*time.Minute), coordBase.Add(24*time.Hour))
	require.NoError(t, err)
	require.Equal(t, first, again)
	require.Equal(t, 1, rows(t, s, `SELECT count(*) FROM appointments`))
	free, err := s.Slots(ctx, postgres.SlotQuery{ServiceCode: "physiotherapy", From: coordBase, To: coordBase.Add(24 * time.Hour)})
	require.NoError(t, err)
	require.Len(t, free, 1, "the retry took no second slot")

	// Concurrent retries of the same key make one booking.
	key2 := care.BookingKey{CaseID: cid, ServiceID: "pt", Occurrence: 2, Attempt: 1}
	ids := make([]string, 8)
	errs := make([]error, 8)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range ids {
		wg.Go(func() {
			<-start
			ap, err := s.BookEarliest(ctx, key2, "physiotherapy", coordBase, coordBase.Add(24*time.Hour))
			ids[i], errs[i] = ap.ID, err
		})
	}
	close(start)
	wg.Wait()
	for i := range ids {
		require.NoError(t, errs[i])
		require.Equal(t, ids[0], ids[i])
	}
	require.Equal(t, 2, rows(t, s, `SELECT count(*) FROM appointments`))

	// The same key for another service is a conflict, not a silent success.
	_, err = s.BookEarliest(ctx, key, "neuropsychology", coordBase, coordBase.Add(24*time.Hour))
	require.ErrorIs(t, err, care.ErrAppointmentStatusConflict)
}

func TestBookEarliestValidates(t *testing.T) {
	t.Parallel()
	s := coordStore(t)
	ctx := context.Background()
	good := care.BookingKey{CaseID: "c-1", ServiceID: "pt", Occurrence: 1, Attempt: 1}
	for name, tc := range map[string]struct {
		key      care.BookingKey
		code     string
		from, to time.Time
		want     string
	}{
		"no case":        {care.BookingKey{ServiceID: "pt", Occurrence: 1, Attempt: 1}, "physiotherapy", coordBase, coordBase.Add(time.Hour), "case_id"},
		"no service":     {care.BookingKey{CaseID: "c-1", Occurrence: 1, Attempt: 1}, "physiotherapy", coordBase, coordBase.Add(time.Hour), "service_id"},
		"occurrence 0":   {care.BookingKey{CaseID: "c-1", ServiceID: "pt", Attempt: 1}, "physiotherapy", coordBase, coordBase.Add(time.Hour), "occurrence"},
		"attempt 0":      {care.BookingKey{CaseID: "c-1", ServiceID: "pt", Occurrence: 1}, "physiotherapy", coordBase, coordBase.Add(time.Hour), "attempt"},
		"no code":        {good, "", coordBase, coordBase.Add(time.Hour), "service_code"},
		"empty window":   {good, "physiotherapy", coordBase, coordBase, "window"},
		"window reverse": {good, "physiotherapy", coordBase, coordBase.Add(-time.Hour), "window"},
	} {
		_, err := s.BookEarliest(ctx, tc.key, tc.code, tc.from, tc.to)
		var v *care.ValidationError
		require.ErrorAs(t, err, &v, name)
		require.Equal(t, tc.want, v.Field, name)
	}
}

// TestConcurrentBookingsOfTheOnlySlot runs two bookings with different keys
// for the same, only slot at the same moment, 20 times: each time exactly
// one wins and the other gets ErrNoSlot.
func TestConcurrentBookingsOfTheOnlySlot(t *testing.T) {
	t.Parallel()
	s := coordStore(t)
	ctx := context.Background()
	cidA, _ := coordCase(t, s, "mrn-race-a")
	cidB, _ := coordCase(t, s, "mrn-race-b")
	for round := range 20 {
		code := fmt.Sprintf("svc-%02d", round)
		loadJSON(t, s, fmt.Sprintf(`{"providers": [{"id": "prv-%02d", "name": "P", "services": [%q], "slots": [%s]}]}`,
			round, code, slotAt(code, float64(round))), coordBase)
		keys := []care.BookingKey{
			{CaseID: cidA, ServiceID: code, Occurrence: 1, Attempt: 1},
			{CaseID: cidB, ServiceID: code, Occurrence: 1, Attempt: 1},
		}
		results := make([]care.Appointment, 2)
		errs := make([]error, 2)
		var ready, wg sync.WaitGroup
		ready.Add(2)
		start := make(chan struct{})
		for i := range keys {
			wg.Go(func() {
				ready.Done()
				<-start // the barrier: both go at once
				results[i], errs[i] = s.BookEarliest(ctx, keys[i], code, coordBase.Add(-time.Hour), coordBase.AddDate(0, 0, 2))
			})
		}
		ready.Wait()
		close(start)
		wg.Wait()

		won, noSlot := 0, 0
		for i := range keys {
			switch {
			case errs[i] == nil:
				won++
				require.Equal(t, keys[i].CaseID, results[i].CaseID)
			case errors.Is(errs[i], care.ErrNoSlot):
				noSlot++
			default:
				t.Fatalf("round %d: unexpected error: %v", round, errs[i])
			}
		}
		require.Equal(t, 1, won, "round %d: exactly one booking wins", round)
		require.Equal(t, 1, noSlot, "round %d: the other finds no slot", round)
		require.Equal(t, 1, rows(t, s, `SELECT count(*) FROM appointments a JOIN slots sl USING (slot_id) WHERE sl.service_code = $1`, code))
	}
}

// TestConcurrentBookingsSpreadOverTheSlots has 12 bookers race for 5 slots:
// 5 get distinct slots, 7 get ErrNoSlot.
func TestConcurrentBookingsSpreadOverTheSlots(t *testing.T) {
	t.Parallel()
	s := coordStore(t)
	ctx := context.Background()
	cid, _ := coordCase(t, s, "mrn-spread")
	loadJSON(t, s, `{"providers": [{"id": "prv-a", "name": "A", "services": ["physiotherapy"],
		"slots": [{"starts_at": "`+coordBase.Format(time.RFC3339)+`", "every": "1h", "count": 5, "duration": "45m"}]}]}`, coordBase)
	const n = 12
	results := make([]care.Appointment, n)
	errs := make([]error, n)
	var ready, wg sync.WaitGroup
	ready.Add(n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			ready.Done()
			<-start
			results[i], errs[i] = s.BookEarliest(ctx, care.BookingKey{CaseID: cid, ServiceID: "pt", Occurrence: i + 1, Attempt: 1},
				"physiotherapy", coordBase, coordBase.AddDate(0, 0, 1))
		})
	}
	ready.Wait()
	close(start)
	wg.Wait()
	slots := map[string]bool{}
	noSlot := 0
	for i := range n {
		if errors.Is(errs[i], care.ErrNoSlot) {
			noSlot++
			continue
		}
		require.NoError(t, errs[i])
		require.False(t, slots[results[i].SlotID], "slot %s booked twice", results[i].SlotID)
		slots[results[i].SlotID] = true
	}
	require.Len(t, slots, 5)
	require.Equal(t, n-5, noSlot)
}

// TestDoubleBookingIsImpossibleInTheDatabase bypasses the store: the schema
// itself refuses a second live appointment on a slot.
func TestDoubleBookingIsImpossibleInTheDatabase(t *testing.T) {
	t.Parallel()
	s := coordStore(t)
	ctx := context.Background()
	cid, _ := coordCase(t, s, "mrn-constraint")
	loadJSON(t, s, `{"providers": [{"id": "prv-a", "name": "A", "services": ["physiotherapy"], "slots": [`+slotAt("physiotherapy", 1)+`]}]}`, coordBase)
	slot := providers.SlotID("prv-a", "physiotherapy", coordBase.Add(time.Hour))
	insert := func(id, service, status string) error {
		_, err := s.DB().ExecContext(ctx, `INSERT INTO appointments (appointment_id, case_id, service_id, occurrence, attempt, slot_id, status)
			VALUES ($1, $2, $3, 1, 1, $4, $5)`, id, cid, service, slot, status)
		return err
	}
	require.NoError(t, insert("ap-1", "s1", "booked"))
	for _, st := range []string{"booked", "attended", "no-show"} {
		err := insert("ap-2", "s2", st)
		require.True(t, postgres.IsUniqueViolation(err), "a %s appointment on a taken slot: %v", st, err)
		require.ErrorContains(t, err, "appointments_slot_taken")
	}
	require.NoError(t, insert("ap-3", "s3", "cancelled"), "cancelled appointments do not hold the slot")
	_, err := s.DB().ExecContext(ctx, `UPDATE appointments SET status = 'booked' WHERE appointment_id = 'ap-3'`)
	require.ErrorContains(t, err, "appointments_slot_taken", "nor can a cancelled one be revived onto a taken slot")
	_, err = s.DB().ExecContext(ctx, `UPDATE appointments SET status = 'maybe' WHERE appointment_id = 'ap-1'`)
	require.ErrorContains(t, err, "check constraint")
}

func TestCancellationFreesTheSlot(t *testing.T) {
	t.Parallel()
	s := coordStore(t)
	ctx := context.Background()
	cidA, _ := coordCase(t, s, "mrn-cancel-a")
	cidB, _ := coordCase(t, s, "mrn-cancel-b")
	loadJSON(t, s, `{"providers": [{"id": "prv-a", "name": "A", "services": ["physiotherapy"], "slots": [`+slotAt("physiotherapy", 1)+`]}]}`, coordBase)
	window := func() (time.Time, time.Time) { return coordBase, coordBase.Add(24 * time.Hour) }

	from, to := window()
	a, err := s.BookEarliest(ctx, care.BookingKey{CaseID: cidA, ServiceID: "pt", Occurrence: 1, Attempt: 1}, "physiotherapy", from, to)
	require.NoError(t, err)
	_, err = s.BookEarliest(ctx, care.BookingKey{CaseID: cidB, ServiceID: "pt", Occurrence: 1, Attempt: 1}, "physiotherapy", from, to)
	require.ErrorIs(t, err, care.ErrNoSlot)

	cancelled, err := s.SetAppointmentStatus(ctx, a.ID, care.AppointmentCancelled)
	require.NoError(t, err)
	require.Equal(t, care.AppointmentCancelled, cancelled.Status)
	require.False(t, cancelled.StatusAt.Before(cancelled.BookedAt))
	again, err := s.SetAppointmentStatus(ctx, a.ID, care.AppointmentCancelled)
	require.NoError(t, err, "cancelling twice is harmless")
	require.Equal(t, cancelled, again)

	b, err := s.BookEarliest(ctx, care.BookingKey{CaseID: cidB, ServiceID: "pt", Occurrence: 1, Attempt: 2}, "physiotherapy", from, to)
	require.NoError(t, err, "the slot is free again")
	require.Equal(t, a.SlotID, b.SlotID)

	_, err = s.SetAppointmentStatus(ctx, a.ID, care.AppointmentAttended)
	require.ErrorIs(t, err, care.ErrAppointmentStatusConflict, "cancelled is final")
	_, err = s.SetAppointmentStatus(ctx, a.ID, "maybe")
	require.ErrorContains(t, err, "unknown appointment status")
	_, err = s.SetAppointmentStatus(ctx, "ap-missing", care.AppointmentAttended)
	require.ErrorIs(t, err, care.ErrNotFound)
}

func TestRebookAfterNoShowIsANewAttempt(t *testing.T) {
	t.Parallel()
	s := coordStore(t)
	ctx := context.Background()
	cid, _ := coordCase(t, s, "mrn-noshow")
	loadJSON(t, s, `{"providers": [{"id": "prv-a", "name": "A", "services": ["physiotherapy"],
		"slots": [{"starts_at": "`+coordBase.Format(time.RFC3339)+`", "every": "24h", "count": 3, "duration": "45m"}]}]}`, coordBase)
	from, to := coordBase, coordBase.AddDate(0, 0, 7)
	first, err := s.BookEarliest(ctx, care.BookingKey{CaseID: cid, ServiceID: "pt", Occurrence: 1, Attempt: 1}, "physiotherapy", from, to)
	require.NoError(t, err)

	// While attempt 1 is booked, the occurrence cannot be booked again.
	_, err = s.BookEarliest(ctx, care.BookingKey{CaseID: cid, ServiceID: "pt", Occurrence: 1, Attempt: 2}, "physiotherapy", from, to)
	require.ErrorIs(t, err, care.ErrOccurrenceBooked)

	missed, err := s.SetAppointmentStatus(ctx, first.ID, care.AppointmentNoShow)
	require.NoError(t, err)
	require.Equal(t, care.AppointmentNoShow, missed.Status)
	second, err := s.BookEarliest(ctx, care.BookingKey{CaseID: cid, ServiceID: "pt", Occurrence: 1, Attempt: 2}, "physiotherapy", from, to)
	require.NoError(t, err)
	require.NotEqual(t, first.ID, second.ID, "a rebooking is a new row")
	require.NotEqual(t, first.SlotID, second.SlotID, "a no-show keeps its slot")
	require.Equal(t, 2, second.Attempt)

	// Correcting the no-show to attended would make two live attempts.
	_, err = s.SetAppointmentStatus(ctx, first.ID, care.AppointmentAttended)
	require.ErrorIs(t, err, care.ErrOccurrenceBooked)

	attended, err := s.SetAppointmentStatus(ctx, second.ID, care.AppointmentAttended)
	require.NoError(t, err)
	require.Equal(t, care.AppointmentAttended, attended.Status)
	_, err = s.SetAppointmentStatus(ctx, second.ID, care.AppointmentCancelled)
	require.ErrorIs(t, err, care.ErrAppointmentStatusConflict, "an attended appointment cannot be cancelled")
	_, err = s.SetAppointmentStatus(ctx, second.ID, care.AppointmentBooked)
	require.ErrorIs(t, err, care.ErrAppointmentStatusConflict)

	all, err := s.AppointmentsForCase(ctx, cid)
	require.NoError(t, err)
	require.Len(t, all, 2)
	require.Equal(t, []int{1, 2}, []int{all[0].Attempt, all[1].Attempt})
}
