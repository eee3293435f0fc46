-- +goose Up
-- Plan versions: a service re-planned under a new care plan books under new
-- keys, so it never finds (or collides with) the appointments of the plan it
-- replaced. plan_version is the plan whose approval started the service's
-- coordination; 0 for bookings made before plans were versioned.
ALTER TABLE appointments ADD COLUMN plan_version integer NOT NULL DEFAULT 0 CHECK (plan_version >= 0);
ALTER TABLE appointments DROP CONSTRAINT appointments_key;
ALTER TABLE appointments ADD CONSTRAINT appointments_key UNIQUE (case_id, plan_version, service_id, occurrence, attempt);
DROP INDEX appointments_occurrence_live;
CREATE UNIQUE INDEX appointments_occurrence_live ON appointments (case_id, plan_version, service_id, occurrence)
    WHERE status IN ('booked', 'attended');

-- The plan changes of a case: one row per service per approved plan, saying
-- what the approval did to it (unchanged, amended, replaced, removed, added).
CREATE TABLE plan_changes (
    case_id      text NOT NULL REFERENCES cases (case_id),
    plan_version integer NOT NULL CHECK (plan_version >= 1),
    service_id   text NOT NULL,
    change       text NOT NULL CHECK (change IN ('unchanged', 'amended', 'replaced', 'removed', 'added')),
    detail       text NOT NULL DEFAULT '',
    changed_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (case_id, plan_version, service_id)
);

-- Patient demographics changed on purpose (case open --update-patient) are
-- audited: who, when, which fields (never the values, which are PHI).
CREATE TABLE patient_updates (
    patient_id text NOT NULL,
    actor      text NOT NULL,
    fields     text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE patient_updates;
DROP TABLE plan_changes;
DELETE FROM appointments WHERE plan_version > 0;
DROP INDEX appointments_occurrence_live;
CREATE UNIQUE INDEX appointments_occurrence_live ON appointments (case_id, service_id, occurrence)
    WHERE status IN ('booked', 'attended');
ALTER TABLE appointments DROP CONSTRAINT appointments_key;
ALTER TABLE appointments ADD CONSTRAINT appointments_key UNIQUE (case_id, service_id, occurrence, attempt);
ALTER TABLE appointments DROP COLUMN plan_version;
