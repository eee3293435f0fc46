package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/caseflow/caseflow/care"
)

// ErrSlotsBusy is returned by BookEarliest when every candidate slot stayed
// locked by concurrent bookings; try again.
var ErrSlotsBusy = errors.New("slots are being booked concurrently; try again")

// LoadResult says what LoadProviders wrote.
type LoadResult struct {
	Providers     int `json:"providers"`
	Services      int `json:"services"`
	SlotsAdded    int `json:"slots_added"`
	SlotsExisting int `json:"slots_existing"`
}

// LoadProviders writes providers, their services and slots (as
// providers.File.Expand returns them) in one transaction. It adds and
// renames; it never removes a provider, service or slot. A slot that exists
// (same id: same provider, service and start) is left as it is.
func (s *Store) LoadProviders(ctx context.Context, ps []care.Provider, slots []care.Slot) (LoadResult, error) {
	var res LoadResult
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return res, err
	}
	defer tx.Rollback()
	for _, p := range ps {
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO providers (provider_id, name) VALUES ($1, $2)
			ON CONFLICT (provider_id) DO UPDATE SET name = EXCLUDED.name, updated_at = now()
			WHERE providers.name <> EXCLUDED.name`, p.ID, p.Name); err != nil {
			return res, fmt.Errorf("save provider %s: %w", p.ID, err)
		}
		res.Providers++
		for _, code := range p.Services {
			if _, err := tx.ExecContext(ctx, `
				INSERT INTO provider_services (provider_id, service_code) VALUES ($1, $2)
				ON CONFLICT DO NOTHING`, p.ID, code); err != nil {
				return res, fmt.Errorf("save service %s of provider %s: %w", code, p.ID, err)
			}
			res.Services++
		}
	}
	unique := map[string]bool{}
	var ids, providers, codes, starts, ends []string
	for _, sl := range slots {
		if unique[sl.ID] {
			continue
		}
		unique[sl.ID] = true
		ids = append(ids, sl.ID)
		providers = append(providers, sl.ProviderID)
		codes = append(codes, sl.ServiceCode)
		starts = append(starts, sl.StartsAt.Format(time.RFC3339Nano))
		ends = append(ends, sl.EndsAt.Format(time.RFC3339Nano))
	}
	if len(ids) > 0 {
		r, err := tx.ExecContext(ctx, `
			INSERT INTO slots (slot_id, provider_id, service_code, starts_at, ends_at)
			SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[])
			ON CONFLICT DO NOTHING`,
			pq.Array(ids), pq.Array(providers), pq.Array(codes), pq.Array(starts), pq.Array(ends))
		if err != nil {
			return res, fmt.Errorf("save slots: %w", err)
		}
		n, err := r.RowsAffected()
		if err != nil {
			return res, err
		}
		res.SlotsAdded = int(n)
		res.SlotsExisting = len(ids) - int(n)
	}
	return res, tx.Commit()
}

// ProviderSummary is a provider with its services and the number of its
// slots that start in the future and are free.
type ProviderSummary struct {
	ID        string   `json:"provider_id"`
	Name      string   `json:"name"`
	Services  []string `json:"services"`
	FreeSlots int      `json:"free_slots"`
}

// Providers lists the providers, by id.
func (s *Store) Providers(ctx context.Context) ([]ProviderSummary, error) {
	rows, err := s.db.QueryxContext(ctx, `
		SELECT p.provider_id, p.name,
			COALESCE((SELECT array_agg(ps.service_code ORDER BY ps.service_code) FROM provider_services ps WHERE ps.provider_id = p.provider_id), '{}'),
			(SELECT count(*) FROM slots sl WHERE sl.provider_id = p.provider_id AND sl.starts_at > now()
				AND NOT EXISTS (SELECT 1 FROM appointments a WHERE a.slot_id = sl.slot_id AND a.status <> 'cancelled'))
		FROM providers p ORDER BY p.provider_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ProviderSummary
	for rows.Next() {
		var p ProviderSummary
		if err := rows.Scan(&p.ID, &p.Name, pq.Array(&p.Services), &p.FreeSlots); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// SlotQuery selects slots for a listing.
type SlotQuery struct {
	ServiceCode string
	From, To    time.Time // starts in [From, To)
	// IncludeBooked lists taken slots too; otherwise only free ones.
	IncludeBooked bool
	// Limit caps the rows; 0 means 100.
	Limit int
}

// SlotListing is a slot with its provider's name and whether it is free.
type SlotListing struct {
	care.Slot
	ProviderName string `db:"provider_name" json:"provider_name"`
	Free         bool   `db:"free" json:"free"`
}

// Slots lists the slots of a service, earliest first.
func (s *Store) Slots(ctx context.Context, q SlotQuery) ([]SlotListing, error) {
	if q.Limit <= 0 {
		q.Limit = 100
	}
	var out []SlotListing
	err := s.db.SelectContext(ctx, &out, `
		SELECT * FROM (
			SELECT sl.slot_id, sl.provider_id, sl.service_code, sl.starts_at, sl.ends_at, p.name AS provider_name,
				NOT EXISTS (SELECT 1 FROM appointments a WHERE a.slot_id = sl.slot_id AND a.status <> 'cancelled') AS free
			FROM slots sl JOIN providers p USING (provider_id)
			WHERE sl.service_code = $1 AND sl.starts_at >= $2 AND sl.starts_at < $3
		) x
		WHERE $4 OR free
		ORDER BY starts_at, slot_id
		LIMIT $5`, q.ServiceCode, q.From, q.To, q.IncludeBooked, q.Limit)
	for i := range out {
		out[i].StartsAt, out[i].EndsAt = out[i].StartsAt.UTC(), out[i].EndsAt.UTC()
	}
	return out, err
}

func utcAppointment(a *care.Appointment) {
	a.StartsAt, a.EndsAt, a.BookedAt, a.StatusAt = a.StartsAt.UTC(), a.EndsAt.UTC(), a.BookedAt.UTC(), a.StatusAt.UTC()
}

const appointmentColumns = `
	a.appointment_id, a.case_id, a.service_id, a.occurrence, a.attempt, sl.service_code, a.slot_id,
	sl.provider_id, p.name AS provider_name, sl.starts_at, sl.ends_at, a.status, a.plan_version, a.booked_at, a.status_at
	FROM appointments a JOIN slots sl USING (slot_id) JOIN providers p ON p.provider_id = sl.provider_id`

// BookEarliest books the earliest free slot of serviceCode starting in
// [from, to) for key, or returns the appointment already booked under key
// (a retry books nothing more). It returns an error wrapping care.ErrNoSlot when
// no slot is free in the window.
//
// Concurrent bookings are safe: each locks its candidate slot (FOR UPDATE
// SKIP LOCKED, so bookers spread over the free slots instead of queueing on
// the earliest), and the partial unique index appointments_slot_taken makes
// a double booking impossible even if two transactions pick the same slot;
// the loser retries with a fresh view.
func (s *Store) BookEarliest(ctx context.Context, key care.BookingKey, serviceCode string, from, to time.Time) (care.Appointment, error) {
	if err := key.Validate(); err != nil {
		return care.Appointment{}, err
	}
	if err := care.ValidateOpaqueID("service_code", serviceCode); err != nil {
		return care.Appointment{}, err
	}
	if !to.After(from) {
		return care.Appointment{}, care.Invalidf("window", "the booking window must end after it starts (%s to %s)", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	return s.book(ctx, key, serviceCode, from, to, "")
}

// BookSlot books slotID, a slot staff chose, for key, or returns the
// appointment already booked under key. The slot must be of serviceCode,
// start in the future and be free; otherwise the error wraps care.ErrNoSlot
// (care.ErrNotFound when there is no such slot).
func (s *Store) BookSlot(ctx context.Context, key care.BookingKey, serviceCode, slotID string) (care.Appointment, error) {
	if err := key.Validate(); err != nil {
		return care.Appointment{}, err
	}
	var sl care.Slot
	err := s.db.GetContext(ctx, &sl, `SELECT slot_id, provider_id, service_code, starts_at, ends_at FROM slots WHERE slot_id = $1`, slotID)
	if errors.Is(err, sql.ErrNoRows) {
		return care.Appointment{}, fmt.Errorf("slot %s: %w", slotID, care.ErrNotFound)
	}
	if err != nil {
		return care.Appointment{}, err
	}
	if sl.ServiceCode != serviceCode {
		return care.Appointment{}, care.Invalidf("slot", "%s is a %s slot, not %s", slotID, sl.ServiceCode, serviceCode)
	}
	return s.book(ctx, key, serviceCode, time.Now(), sl.StartsAt.Add(time.Second), slotID)
}

func (s *Store) book(ctx context.Context, key care.BookingKey, serviceCode string, from, to time.Time, slotID string) (care.Appointment, error) {
	backoff := 5 * time.Millisecond
	for range 12 {
		ap, retry, err := s.bookOnce(ctx, key, serviceCode, from, to, slotID)
		if !retry {
			return ap, err
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return care.Appointment{}, ctx.Err()
		case <-t.C:
		}
		backoff = min(2*backoff, 200*time.Millisecond)
	}
	return care.Appointment{}, fmt.Errorf("book %s for %s: %w", serviceCode, key, ErrSlotsBusy)
}

// bookOnce makes one booking attempt in its own transaction. retry is true
// when a concurrent booking got in the way and a fresh attempt may succeed.
func (s *Store) bookOnce(ctx context.Context, key care.BookingKey, serviceCode string, from, to time.Time, chosen string) (ap care.Appointment, retry bool, err error) {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return ap, false, err
	}
	defer tx.Rollback()
	ap, err = appointmentByKey(ctx, tx, key)
	switch {
	case err == nil:
		if ap.ServiceCode != serviceCode {
			return care.Appointment{}, false, fmt.Errorf("booking %s was made for service %s, not %s: %w", key, ap.ServiceCode, serviceCode, care.ErrAppointmentStatusConflict)
		}
		return ap, false, nil
	case !errors.Is(err, care.ErrNotFound):
		return ap, false, err
	}
	var slotID string
	err = tx.GetContext(ctx, &slotID, `
		SELECT sl.slot_id FROM slots sl
		WHERE sl.service_code = $1 AND sl.starts_at >= $2 AND sl.starts_at < $3 AND ($4 = '' OR sl.slot_id = $4)
			AND NOT EXISTS (SELECT 1 FROM appointments a WHERE a.slot_id = sl.slot_id AND a.status <> 'cancelled')
		ORDER BY sl.starts_at, sl.slot_id
		LIMIT 1
		FOR UPDATE OF sl SKIP LOCKED`, serviceCode, from, to, chosen)
	if errors.Is(err, sql.ErrNoRows) {
		// Every free slot may be locked by a booking still in flight that
		// could yet roll back: report "no slot" only when none is free even
		// counting those.
		var inFlight bool
		if err := tx.GetContext(ctx, &inFlight, `
			SELECT EXISTS (SELECT 1 FROM slots sl
				WHERE sl.service_code = $1 AND sl.starts_at >= $2 AND sl.starts_at < $3 AND ($4 = '' OR sl.slot_id = $4)
				AND NOT EXISTS (SELECT 1 FROM appointments a WHERE a.slot_id = sl.slot_id AND a.status <> 'cancelled'))`,
			serviceCode, from, to, chosen); err != nil {
			return ap, false, err
		}
		if inFlight {
			return ap, true, nil
		}
		// The last slot may have gone to a concurrent retry of this very
		// booking, committed after our first look: that is a success.
		if ap, err := appointmentByKey(ctx, tx, key); err == nil {
			return ap, false, nil
		} else if !errors.Is(err, care.ErrNotFound) {
			return ap, false, err
		}
		if chosen != "" {
			return ap, false, fmt.Errorf("%w: slot %s is taken or has started", care.ErrNoSlot, chosen)
		}
		return ap, false, fmt.Errorf("%w for %s from %s to %s", care.ErrNoSlot, serviceCode, from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339))
	}
	if err != nil {
		return ap, false, err
	}
	id, err := newID("ap-")
	if err != nil {
		return ap, false, err
	}
	_, err = tx.ExecContext(ctx, `
		INSERT INTO appointments (appointment_id, case_id, plan_version, service_id, occurrence, attempt, slot_id, status)
		VALUES ($1, $2, $3, $4, $5, $6, $7, 'booked')`, id, key.CaseID, key.PlanVersion, key.ServiceID, key.Occurrence, key.Attempt, slotID)
	if err != nil {
		var pqErr *pq.Error
		if errors.As(err, &pqErr) && pqErr.Code == "23505" {
			switch pqErr.Constraint {
			case "appointments_slot_taken", "appointments_key":
				// Someone took the slot, or made this very booking,
				// after our snapshot: look again.
				return ap, true, nil
			case "appointments_occurrence_live":
				return ap, false, fmt.Errorf("book %s: %w (cancel it or record a no-show first)", key, care.ErrOccurrenceBooked)
			}
		}
		return ap, false, fmt.Errorf("book %s: %w", key, err)
	}
	ap, err = appointment(ctx, tx, id)
	if err != nil {
		return ap, false, err
	}
	return ap, false, tx.Commit()
}

// AppointmentByKey returns the appointment booked under key, or care.ErrNotFound.
func (s *Store) AppointmentByKey(ctx context.Context, key care.BookingKey) (care.Appointment, error) {
	return appointmentByKey(ctx, s.db, key)
}

func appointmentByKey(ctx context.Context, q sqlx.QueryerContext, key care.BookingKey) (care.Appointment, error) {
	var ap care.Appointment
	err := sqlx.GetContext(ctx, q, &ap, `SELECT `+appointmentColumns+`
		WHERE a.case_id = $1 AND a.service_id = $2 AND a.occurrence = $3 AND a.attempt = $4 AND a.plan_version = $5`,
		key.CaseID, key.ServiceID, key.Occurrence, key.Attempt, key.PlanVersion)
	if errors.Is(err, sql.ErrNoRows) {
		return ap, care.ErrNotFound
	}
	utcAppointment(&ap)
	return ap, err
}

func appointment(ctx context.Context, q sqlx.QueryerContext, id string) (care.Appointment, error) {
	var ap care.Appointment
	err := sqlx.GetContext(ctx, q, &ap, `SELECT `+appointmentColumns+` WHERE a.appointment_id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return ap, fmt.Errorf("appointment %s: %w", id, care.ErrNotFound)
	}
	utcAppointment(&ap)
	return ap, err
}

// Appointment returns the appointment with id.
func (s *Store) Appointment(ctx context.Context, id string) (care.Appointment, error) {
	return appointment(ctx, s.db, id)
}

// AppointmentsForCase returns the appointments of a case by service,
// occurrence and attempt.
func (s *Store) AppointmentsForCase(ctx context.Context, caseID string) ([]care.Appointment, error) {
	var out []care.Appointment
	err := s.db.SelectContext(ctx, &out, `SELECT `+appointmentColumns+`
		WHERE a.case_id = $1 ORDER BY a.plan_version, a.service_id, a.occurrence, a.attempt`, caseID)
	for i := range out {
		utcAppointment(&out[i])
	}
	return out, err
}

// allowedStatus lists the moves an appointment may make. Attended and no-show
// may be corrected into each other; cancelled is final.
var allowedStatus = map[care.AppointmentStatus][]care.AppointmentStatus{
	care.AppointmentBooked:   {care.AppointmentAttended, care.AppointmentNoShow, care.AppointmentCancelled},
	care.AppointmentAttended: {care.AppointmentNoShow},
	care.AppointmentNoShow:   {care.AppointmentAttended},
}

// SetAppointmentStatus moves an appointment to status and returns it. Setting
// the status it already has changes nothing (a retry is harmless). Leaving
// "booked" cancels the appointment's pending reminders in the same
// transaction; one a sender claimed and never reported back on becomes
// unknown instead (it may have been sent). Cancelling frees the slot for other bookings.
func (s *Store) SetAppointmentStatus(ctx context.Context, id string, status care.AppointmentStatus) (care.Appointment, error) {
	if _, ok := allowedStatus[status]; !ok && status != care.AppointmentCancelled {
		return care.Appointment{}, care.Invalidf("status", "unknown appointment status %q; use booked, attended, no-show or cancelled", status)
	}
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return care.Appointment{}, err
	}
	defer tx.Rollback()
	var cur care.AppointmentStatus
	err = tx.GetContext(ctx, &cur, `SELECT status FROM appointments WHERE appointment_id = $1 FOR NO KEY UPDATE`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return care.Appointment{}, fmt.Errorf("appointment %s: %w", id, care.ErrNotFound)
	}
	if err != nil {
		return care.Appointment{}, err
	}
	if cur == status {
		return appointment(ctx, tx, id)
	}
	ok := false
	for _, next := range allowedStatus[cur] {
		ok = ok || next == status
	}
	if !ok {
		return care.Appointment{}, fmt.Errorf("%w: appointment %s is %s and cannot become %s", care.ErrAppointmentStatusConflict, id, cur, status)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE appointments SET status = $2, status_at = now() WHERE appointment_id = $1`, id, status); err != nil {
		if IsUniqueViolation(err) {
			return care.Appointment{}, fmt.Errorf("appointment %s cannot become %s: %w", id, status, care.ErrOccurrenceBooked)
		}
		return care.Appointment{}, err
	}
	if _, err := tx.ExecContext(ctx, `
		UPDATE reminders SET status = CASE WHEN claimed_until IS NULL AND NOT maybe_sent THEN 'cancelled' ELSE 'unknown' END,
			reason = $2, claimed_until = NULL, updated_at = now()
		WHERE appointment_id = $1 AND status = 'pending'`, id, care.CancelReason(status)); err != nil {
		return care.Appointment{}, err
	}
	ap, err := appointment(ctx, tx, id)
	if err != nil {
		return ap, err
	}
	return ap, tx.Commit()
}
