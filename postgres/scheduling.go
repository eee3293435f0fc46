package postgres

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/caseflow/caseflow/care"
)

// Scheduling errors.
var (
	// ErrNoSlot: no free slot for the service in the window asked for.
	ErrNoSlot = errors.New("no free slot")
	// ErrOccurrenceBooked: another attempt of the same occurrence is booked
	// or attended; cancel it or mark it a no-show before rebooking.
	ErrOccurrenceBooked = errors.New("the occurrence already has a live appointment")
	// ErrStatusConflict: the appointment cannot move to the status asked
	// for (e.g. a cancelled appointment cannot become attended).
	ErrStatusConflict = errors.New("appointment status conflict")
	// ErrSlotsBusy: every candidate slot stayed locked by concurrent
	// bookings; try again.
	ErrSlotsBusy = errors.New("slots are being booked concurrently; try again")
)

// Duration is a time.Duration written in JSON as a Go duration string
// ("45m", "24h").
type Duration time.Duration

// UnmarshalJSON reads a duration string such as "45m".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration must be a string such as \"45m\" or \"24h\", got %s", b)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration; write e.g. \"45m\", \"24h\" or \"168h\"", s)
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// ProviderFile is the providers file "caseflow providers load" reads
// (docs/coordination.md describes it; demo/providers.json is an example).
type ProviderFile struct {
	Providers []ProviderSpec `json:"providers"`
}

// ProviderSpec is one provider, the service codes it offers and its slots.
type ProviderSpec struct {
	ID       string     `json:"id"`
	Name     string     `json:"name"`
	Services []string   `json:"services"`
	Slots    []SlotSpec `json:"slots,omitempty"`
}

// SlotSpec describes Count slots of Duration, Every apart, from a first
// start that is either fixed (StartsAt) or relative to the load time
// (StartOffset after the load time truncated to the hour, so loading the
// same file twice within an hour adds nothing).
type SlotSpec struct {
	// Service is the service code; it may be left out when the provider
	// offers exactly one.
	Service     string     `json:"service,omitempty"`
	StartsAt    *time.Time `json:"starts_at,omitempty"`
	StartOffset *Duration  `json:"start_offset,omitempty"`
	Duration    Duration   `json:"duration"`
	Every       Duration   `json:"every,omitempty"`
	// Count defaults to 1.
	Count int `json:"count,omitempty"`
}

// maxSlotsPerSpec bounds a series, to catch a typo before it writes a
// million rows.
const maxSlotsPerSpec = 1000

// Slot is a bookable slot (FHIR Slot).
type Slot struct {
	ID          string    `db:"slot_id" json:"slot_id"`
	ProviderID  string    `db:"provider_id" json:"provider_id"`
	ServiceCode string    `db:"service_code" json:"service_code"`
	StartsAt    time.Time `db:"starts_at" json:"starts_at"`
	EndsAt      time.Time `db:"ends_at" json:"ends_at"`
}

// SlotID derives a slot's id from its provider, service and start.
func SlotID(providerID, serviceCode string, startsAt time.Time) string {
	sum := sha256.Sum256([]byte("caseflow/slot\x00" + providerID + "\x00" + serviceCode + "\x00" + strconv.FormatInt(startsAt.UTC().UnixMicro(), 10)))
	return "sl-" + hex.EncodeToString(sum[:8])
}

// Expand validates the file and returns its slots, with relative starts
// resolved against now. Errors name the JSON field, e.g.
// providers[1].slots[0].duration.
func (f ProviderFile) Expand(now time.Time) ([]Slot, error) {
	if len(f.Providers) == 0 {
		return nil, care.Invalidf("providers", "the file lists no providers")
	}
	base := now.UTC().Truncate(time.Hour)
	seenProvider := map[string]bool{}
	var slots []Slot
	for i, p := range f.Providers {
		field := fmt.Sprintf("providers[%d]", i)
		if err := care.ValidateOpaqueID(field+".id", p.ID); err != nil {
			return nil, err
		}
		if seenProvider[p.ID] {
			return nil, care.Invalidf(field+".id", "provider %s is listed twice", p.ID)
		}
		seenProvider[p.ID] = true
		if strings.TrimSpace(p.Name) == "" {
			return nil, care.Invalidf(field+".name", "is required: the clinic's or practitioner's name")
		}
		if len(p.Services) == 0 {
			return nil, care.Invalidf(field+".services", "list at least one service code, e.g. [\"physiotherapy\"]")
		}
		offered := map[string]bool{}
		for j, code := range p.Services {
			if err := care.ValidateOpaqueID(fmt.Sprintf("%s.services[%d]", field, j), code); err != nil {
				return nil, err
			}
			offered[code] = true
		}
		for j, sp := range p.Slots {
			sf := fmt.Sprintf("%s.slots[%d]", field, j)
			code := sp.Service
			if code == "" {
				if len(p.Services) != 1 {
					return nil, care.Invalidf(sf+".service", "is required: the provider offers %d services", len(p.Services))
				}
				code = p.Services[0]
			}
			if !offered[code] {
				return nil, care.Invalidf(sf+".service", "%q is not among the provider's services (%s)", code, strings.Join(p.Services, ", "))
			}
			var first time.Time
			switch {
			case sp.StartsAt != nil && sp.StartOffset != nil:
				return nil, care.Invalidf(sf, "give either starts_at (a fixed time) or start_offset (relative to the load time), not both")
			case sp.StartsAt != nil:
				first = sp.StartsAt.UTC()
			case sp.StartOffset != nil:
				first = base.Add(time.Duration(*sp.StartOffset))
			default:
				return nil, care.Invalidf(sf, "needs starts_at (e.g. \"2026-12-01T09:00:00Z\") or start_offset (e.g. \"2h\")")
			}
			if sp.Duration <= 0 {
				return nil, care.Invalidf(sf+".duration", "is required: how long a slot lasts, e.g. \"45m\"")
			}
			count := sp.Count
			switch {
			case count == 0:
				count = 1
			case count < 0 || count > maxSlotsPerSpec:
				return nil, care.Invalidf(sf+".count", "must be from 1 to %d, got %d", maxSlotsPerSpec, count)
			}
			if count > 1 && sp.Every < sp.Duration {
				return nil, care.Invalidf(sf+".every", "is required with a count above 1: the time from one slot's start to the next, at least the slot duration (%s) so slots do not overlap", time.Duration(sp.Duration))
			}
			for k := range count {
				start := first.Add(time.Duration(k) * time.Duration(sp.Every))
				slots = append(slots, Slot{ID: SlotID(p.ID, code, start), ProviderID: p.ID, ServiceCode: code,
					StartsAt: start, EndsAt: start.Add(time.Duration(sp.Duration))})
			}
		}
	}
	return slots, nil
}

// LoadResult says what LoadProviders wrote.
type LoadResult struct {
	Providers     int `json:"providers"`
	Services      int `json:"services"`
	SlotsAdded    int `json:"slots_added"`
	SlotsExisting int `json:"slots_existing"`
}

// LoadProviders writes the providers of f, their services and their slots
// (relative starts resolved against now), in one transaction. It adds and
// renames; it never removes a provider, service or slot. A slot that
// exists (same provider, service and start) is left as it is.
func (s *Store) LoadProviders(ctx context.Context, f ProviderFile, now time.Time) (LoadResult, error) {
	var res LoadResult
	slots, err := f.Expand(now)
	if err != nil {
		return res, err
	}
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return res, err
	}
	defer tx.Rollback()
	for _, p := range f.Providers {
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
	Slot
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

// BookingKey is the business key of a booking. Occurrence counts the
// sessions of a recurring service (1, 2, ...); Attempt counts the bookings
// of one occurrence (a rebooking after a no-show or a cancellation is the
// next attempt). A retried booking uses the same key and gets the same
// appointment.
type BookingKey struct {
	CaseID     string `json:"case_id"`
	ServiceID  string `json:"service_id"`
	Occurrence int    `json:"occurrence"`
	Attempt    int    `json:"attempt"`
}

// Validate checks the key; errors name the field.
func (k BookingKey) Validate() error {
	if err := care.ValidateOpaqueID("case_id", k.CaseID); err != nil {
		return err
	}
	if strings.TrimSpace(k.ServiceID) == "" {
		return care.Invalidf("service_id", "is required: the id of the service in the care plan")
	}
	if k.Occurrence < 1 {
		return care.Invalidf("occurrence", "must be 1 or more, got %d", k.Occurrence)
	}
	if k.Attempt < 1 {
		return care.Invalidf("attempt", "must be 1 or more, got %d", k.Attempt)
	}
	return nil
}

func (k BookingKey) String() string {
	return fmt.Sprintf("%s/%s#%d.%d", k.CaseID, k.ServiceID, k.Occurrence, k.Attempt)
}

// Appointment is a booked slot for one occurrence of a planned service.
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
	BookedAt     time.Time         `db:"booked_at" json:"booked_at"`
	StatusAt     time.Time         `db:"status_at" json:"status_at"`
}

func (a *Appointment) utc() {
	a.StartsAt, a.EndsAt, a.BookedAt, a.StatusAt = a.StartsAt.UTC(), a.EndsAt.UTC(), a.BookedAt.UTC(), a.StatusAt.UTC()
}

const appointmentColumns = `
	a.appointment_id, a.case_id, a.service_id, a.occurrence, a.attempt, sl.service_code, a.slot_id,
	sl.provider_id, p.name AS provider_name, sl.starts_at, sl.ends_at, a.status, a.booked_at, a.status_at
	FROM appointments a JOIN slots sl USING (slot_id) JOIN providers p ON p.provider_id = sl.provider_id`

// BookEarliest books the earliest free slot of serviceCode starting in
// [from, to) for key, or returns the appointment already booked under key
// (a retry books nothing more). It returns an error wrapping ErrNoSlot when
// no slot is free in the window.
//
// Concurrent bookings are safe: each locks its candidate slot (FOR UPDATE
// SKIP LOCKED, so bookers spread over the free slots instead of queueing on
// the earliest), and the partial unique index appointments_slot_taken makes
// a double booking impossible even if two transactions pick the same slot;
// the loser retries with a fresh view.
func (s *Store) BookEarliest(ctx context.Context, key BookingKey, serviceCode string, from, to time.Time) (Appointment, error) {
	if err := key.Validate(); err != nil {
		return Appointment{}, err
	}
	if err := care.ValidateOpaqueID("service_code", serviceCode); err != nil {
		return Appointment{}, err
	}
	if !to.After(from) {
		return Appointment{}, care.Invalidf("window", "the booking window must end after it starts (%s to %s)", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	backoff := 5 * time.Millisecond
	for range 12 {
		ap, retry, err := s.bookOnce(ctx, key, serviceCode, from, to)
		if !retry {
			return ap, err
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return Appointment{}, ctx.Err()
		case <-t.C:
		}
		backoff = min(2*backoff, 200*time.Millisecond)
	}
	return Appointment{}, fmt.Errorf("book %s for %s: %w", serviceCode, key, ErrSlotsBusy)
}

// bookOnce makes one booking attempt in its own transaction. retry is true
// when a concurrent booking got in the way and a fresh attempt may succeed.
func (s *Store) bookOnce(ctx context.Context, key BookingKey, serviceCode string, from, to time.Time) (ap Appointment, retry bool, err error) {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return ap, false, err
	}
	defer tx.Rollback()
	ap, err = appointmentByKey(ctx, tx, key)
	switch {
	case err == nil:
		if ap.ServiceCode != serviceCode {
			return Appointment{}, false, fmt.Errorf("booking %s was made for service %s, not %s: %w", key, ap.ServiceCode, serviceCode, ErrStatusConflict)
		}
		return ap, false, nil
	case !errors.Is(err, ErrNotFound):
		return ap, false, err
	}
	var slotID string
	err = tx.GetContext(ctx, &slotID, `
		SELECT sl.slot_id FROM slots sl
		WHERE sl.service_code = $1 AND sl.starts_at >= $2 AND sl.starts_at < $3
			AND NOT EXISTS (SELECT 1 FROM appointments a WHERE a.slot_id = sl.slot_id AND a.status <> 'cancelled')
		ORDER BY sl.starts_at, sl.slot_id
		LIMIT 1
		FOR UPDATE OF sl SKIP LOCKED`, serviceCode, from, to)
	if errors.Is(err, sql.ErrNoRows) {
		// Every free slot may be locked by a booking still in flight that
		// could yet roll back: report "no slot" only when none is free even
		// counting those.
		var inFlight bool
		if err := tx.GetContext(ctx, &inFlight, `
			SELECT EXISTS (SELECT 1 FROM slots sl
				WHERE sl.service_code = $1 AND sl.starts_at >= $2 AND sl.starts_at < $3
				AND NOT EXISTS (SELECT 1 FROM appointments a WHERE a.slot_id = sl.slot_id AND a.status <> 'cancelled'))`,
			serviceCode, from, to); err != nil {
			return ap, false, err
		}
		if inFlight {
			return ap, true, nil
		}
		// The last slot may have gone to a concurrent retry of this very
		// booking, committed after our first look: that is a success.
		if ap, err := appointmentByKey(ctx, tx, key); err == nil {
			return ap, false, nil
		} else if !errors.Is(err, ErrNotFound) {
			return ap, false, err
		}
		return ap, false, fmt.Errorf("%w for %s from %s to %s", ErrNoSlot, serviceCode, from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339))
	}
	if err != nil {
		return ap, false, err
	}
	id, err := newID("ap-")
	if err != nil {
		return ap, false, err
	}
	_, err = tx.ExecContext(ctx, `
		INSERT INTO appointments (appointment_id, case_id, service_id, occurrence, attempt, slot_id, status)
		VALUES ($1, $2, $3, $4, $5, $6, 'booked')`, id, key.CaseID, key.ServiceID, key.Occurrence, key.Attempt, slotID)
	if err != nil {
		var pqErr *pq.Error
		if errors.As(err, &pqErr) && pqErr.Code == "23505" {
			switch pqErr.Constraint {
			case "appointments_slot_taken", "appointments_key":
				// Someone took the slot, or made this very booking,
				// after our snapshot: look again.
				return ap, true, nil
			case "appointments_occurrence_live":
				return ap, false, fmt.Errorf("book %s: %w (cancel it or record a no-show first)", key, ErrOccurrenceBooked)
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

// AppointmentByKey returns the appointment booked under key, or ErrNotFound.
func (s *Store) AppointmentByKey(ctx context.Context, key BookingKey) (Appointment, error) {
	return appointmentByKey(ctx, s.db, key)
}

func appointmentByKey(ctx context.Context, q sqlx.QueryerContext, key BookingKey) (Appointment, error) {
	var ap Appointment
	err := sqlx.GetContext(ctx, q, &ap, `SELECT `+appointmentColumns+`
		WHERE a.case_id = $1 AND a.service_id = $2 AND a.occurrence = $3 AND a.attempt = $4`,
		key.CaseID, key.ServiceID, key.Occurrence, key.Attempt)
	if errors.Is(err, sql.ErrNoRows) {
		return ap, ErrNotFound
	}
	ap.utc()
	return ap, err
}

func appointment(ctx context.Context, q sqlx.QueryerContext, id string) (Appointment, error) {
	var ap Appointment
	err := sqlx.GetContext(ctx, q, &ap, `SELECT `+appointmentColumns+` WHERE a.appointment_id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return ap, fmt.Errorf("appointment %s: %w", id, ErrNotFound)
	}
	ap.utc()
	return ap, err
}

// Appointment returns the appointment with id.
func (s *Store) Appointment(ctx context.Context, id string) (Appointment, error) {
	return appointment(ctx, s.db, id)
}

// AppointmentsForCase returns the appointments of a case by service,
// occurrence and attempt.
func (s *Store) AppointmentsForCase(ctx context.Context, caseID string) ([]Appointment, error) {
	var out []Appointment
	err := s.db.SelectContext(ctx, &out, `SELECT `+appointmentColumns+`
		WHERE a.case_id = $1 ORDER BY a.service_id, a.occurrence, a.attempt`, caseID)
	for i := range out {
		out[i].utc()
	}
	return out, err
}

// allowedStatus lists the moves an appointment may make. Attended and no-show
// may be corrected into each other; cancelled is final.
var allowedStatus = map[AppointmentStatus][]AppointmentStatus{
	AppointmentBooked:   {AppointmentAttended, AppointmentNoShow, AppointmentCancelled},
	AppointmentAttended: {AppointmentNoShow},
	AppointmentNoShow:   {AppointmentAttended},
}

// SetAppointmentStatus moves an appointment to status and returns it. Setting
// the status it already has changes nothing (a retry is harmless). Leaving
// "booked" cancels the appointment's pending reminders in the same
// transaction. Cancelling frees the slot for other bookings.
func (s *Store) SetAppointmentStatus(ctx context.Context, id string, status AppointmentStatus) (Appointment, error) {
	if _, ok := allowedStatus[status]; !ok && status != AppointmentCancelled {
		return Appointment{}, care.Invalidf("status", "unknown appointment status %q; use booked, attended, no-show or cancelled", status)
	}
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return Appointment{}, err
	}
	defer tx.Rollback()
	var cur AppointmentStatus
	err = tx.GetContext(ctx, &cur, `SELECT status FROM appointments WHERE appointment_id = $1 FOR NO KEY UPDATE`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return Appointment{}, fmt.Errorf("appointment %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Appointment{}, err
	}
	if cur == status {
		return appointment(ctx, tx, id)
	}
	ok := false
	for _, next := range allowedStatus[cur] {
		ok = ok || next == status
	}
	if !ok {
		return Appointment{}, fmt.Errorf("%w: appointment %s is %s and cannot become %s", ErrStatusConflict, id, cur, status)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE appointments SET status = $2, status_at = now() WHERE appointment_id = $1`, id, status); err != nil {
		if IsUniqueViolation(err) {
			return Appointment{}, fmt.Errorf("appointment %s cannot become %s: %w", id, status, ErrOccurrenceBooked)
		}
		return Appointment{}, err
	}
	if _, err := tx.ExecContext(ctx, `
		UPDATE reminders SET status = 'cancelled', claimed_until = NULL, updated_at = now()
		WHERE appointment_id = $1 AND status = 'pending'`, id); err != nil {
		return Appointment{}, err
	}
	ap, err := appointment(ctx, tx, id)
	if err != nil {
		return ap, err
	}
	return ap, tx.Commit()
}
