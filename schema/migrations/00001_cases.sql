-- +goose Up
-- Patients hold protected health information. It lives here and nowhere in
-- Temporal: workflows carry only the opaque patient_id.
CREATE TABLE patients (
    patient_id   text PRIMARY KEY,
    external_ref text NOT NULL UNIQUE,
    name         text,
    birth_date   date,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- One row per case: the current snapshot, kept up to date by the workflow's
-- activities (FHIR EpisodeOfCare).
CREATE TABLE cases (
    case_id        text PRIMARY KEY,
    patient_id     text NOT NULL REFERENCES patients (patient_id),
    program        text NOT NULL,
    model          text NOT NULL,
    manager        text NOT NULL,
    source         text NOT NULL,
    phase          text NOT NULL,
    risk           text,
    risk_score     integer,
    care_category  text,
    closure_reason text,
    opened_at      timestamptz NOT NULL,
    closed_at      timestamptz,
    next_due_at    timestamptz,
    last_event_seq integer NOT NULL DEFAULT 0,
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cases_open_by_manager ON cases (manager, phase) WHERE closed_at IS NULL;
CREATE INDEX cases_patient ON cases (patient_id);

-- Append-only audit of every phase change and staff action. (case_id, seq) is
-- the business key: a retried activity inserts nothing new.
CREATE TABLE case_events (
    case_id      text NOT NULL REFERENCES cases (case_id),
    seq          integer NOT NULL,
    at           timestamptz NOT NULL,
    actor        text NOT NULL,
    action       text NOT NULL,
    phase_before text NOT NULL,
    phase_after  text NOT NULL,
    summary      text NOT NULL DEFAULT '',
    detail       jsonb NOT NULL DEFAULT '{}',
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (case_id, seq)
);

-- The services of the current care plan (FHIR ServiceRequest).
CREATE TABLE case_services (
    case_id                text NOT NULL REFERENCES cases (case_id),
    service_id             text NOT NULL,
    code                   text NOT NULL,
    name                   text NOT NULL DEFAULT '',
    frequency              text NOT NULL DEFAULT '',
    requires_authorization boolean NOT NULL DEFAULT false,
    status                 text NOT NULL,
    updated_at             timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (case_id, service_id)
);

-- +goose Down
DROP TABLE case_services;
DROP TABLE case_events;
DROP TABLE cases;
DROP TABLE patients;
