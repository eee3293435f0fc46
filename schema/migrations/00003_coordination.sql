-- +goose Up
-- Care coordination: providers, their bookable slots, appointments booked on
-- them, and the reminder outbox.

-- Providers (FHIR Organization/Practitioner) and the service codes they offer.
-- Names are of organisations and clinics, never of patients.
CREATE TABLE providers (
    provider_id text PRIMARY KEY,
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE provider_services (
    provider_id  text NOT NULL REFERENCES providers (provider_id),
    service_code text NOT NULL,
    PRIMARY KEY (provider_id, service_code)
);

-- Bookable slots (FHIR Slot). A slot is for one service of one provider;
-- slot_id is derived from (provider, service, start), so loading the same
-- schedule twice adds nothing.
CREATE TABLE slots (
    slot_id      text PRIMARY KEY,
    provider_id  text NOT NULL,
    service_code text NOT NULL,
    starts_at    timestamptz NOT NULL,
    ends_at      timestamptz NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT slots_offered FOREIGN KEY (provider_id, service_code) REFERENCES provider_services (provider_id, service_code),
    CONSTRAINT slots_start_unique UNIQUE (provider_id, service_code, starts_at),
    CONSTRAINT slots_positive_length CHECK (ends_at > starts_at)
);
CREATE INDEX slots_by_service_start ON slots (service_code, starts_at);

-- Appointments (FHIR Appointment: booked, fulfilled = attended, noshow,
-- cancelled). The business key is (case, service, occurrence, attempt): a
-- retried booking finds its own row; a rebooking after a no-show or a
-- cancellation is a new attempt, so a new row.
CREATE TABLE appointments (
    appointment_id text PRIMARY KEY,
    case_id        text NOT NULL REFERENCES cases (case_id),
    service_id     text NOT NULL,
    occurrence     integer NOT NULL CHECK (occurrence >= 1),
    attempt        integer NOT NULL CHECK (attempt >= 1),
    slot_id        text NOT NULL REFERENCES slots (slot_id),
    status         text NOT NULL DEFAULT 'booked' CHECK (status IN ('booked', 'attended', 'no-show', 'cancelled')),
    booked_at      timestamptz NOT NULL DEFAULT now(),
    status_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT appointments_key UNIQUE (case_id, service_id, occurrence, attempt)
);
-- No slot is ever booked twice: at most one appointment per slot that is not
-- cancelled. A cancellation frees the slot; a no-show keeps it (the time was
-- used).
CREATE UNIQUE INDEX appointments_slot_taken ON appointments (slot_id) WHERE status <> 'cancelled';
-- At most one live attempt per occurrence: an occurrence is booked or
-- attended once; no-shows and cancellations leave room for the next attempt.
CREATE UNIQUE INDEX appointments_occurrence_live ON appointments (case_id, service_id, occurrence)
    WHERE status IN ('booked', 'attended');

-- The reminder outbox: one row per (appointment, offset before its start),
-- written before anything is sent, so a reminder is sent at most once per
-- row whatever crashes or retries happen. claimed_until is the lease of the
-- sender that is delivering the row.
CREATE TABLE reminders (
    reminder_id    text PRIMARY KEY,
    appointment_id text NOT NULL REFERENCES appointments (appointment_id),
    offset_minutes integer NOT NULL CHECK (offset_minutes >= 0),
    due_at         timestamptz NOT NULL,
    channel        text NOT NULL,
    status         text NOT NULL CHECK (status IN ('pending', 'sent', 'cancelled', 'skipped')),
    attempts       integer NOT NULL DEFAULT 0,
    claimed_until  timestamptz,
    last_error     text,
    sent_at        timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT reminders_once UNIQUE (appointment_id, offset_minutes),
    CONSTRAINT reminders_sent_at CHECK ((status = 'sent') = (sent_at IS NOT NULL))
);
CREATE INDEX reminders_pending_due ON reminders (due_at) WHERE status = 'pending';

-- +goose Down
DROP TABLE reminders;
DROP TABLE appointments;
DROP TABLE slots;
DROP TABLE provider_services;
DROP TABLE providers;
