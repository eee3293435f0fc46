-- +goose Up
-- Staff: the opaque ids of case managers, supervisors and other staff who
-- act on cases. Managers, actors and policy supervisors must be registered
-- here (caseflow staff add), so that a patient's name typed by mistake never
-- becomes a search attribute or an audit actor. No personal data: ids only.
CREATE TABLE staff (
    staff_id   text PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now()
);
-- The staff ids already in use are registered.
INSERT INTO staff (staff_id)
    SELECT manager FROM cases
    UNION SELECT body->>'supervisor' FROM policies WHERE COALESCE(body->>'supervisor', '') <> ''
    ON CONFLICT DO NOTHING;

-- Why a reminder was not sent: "too-late", "appointment-started", "paused",
-- or the appointment's status for a cancelled one.
ALTER TABLE reminders ADD COLUMN reason text;
ALTER TABLE reminders ADD CONSTRAINT reminders_reason
    CHECK (status NOT IN ('skipped', 'cancelled') OR reason IS NOT NULL) NOT VALID;

-- The delivery outcome of alerts and automated calls: attempts and the last
-- channel error (delivered_at is set once a channel took it).
ALTER TABLE alerts ADD COLUMN delivery_attempts integer NOT NULL DEFAULT 0;
ALTER TABLE alerts ADD COLUMN last_error text;

-- Resets: a case workflow reset with "temporal workflow reset" re-runs its
-- steps under a new run id with sequence numbers the trail already has. The
-- audit row is keyed on (case, run, seq, action), pos orders the trail as it
-- was written, and a "reset" row marks where a new run took over.
ALTER TABLE case_events ADD COLUMN run_id text NOT NULL DEFAULT '';
ALTER TABLE case_events ADD COLUMN pos bigserial;
ALTER TABLE case_events DROP CONSTRAINT case_events_pkey;
ALTER TABLE case_events ADD CONSTRAINT case_events_once UNIQUE (case_id, run_id, seq, action);
CREATE INDEX case_events_trail ON case_events (case_id, pos);
CREATE INDEX case_events_seq ON case_events (case_id, seq);

-- The run that last wrote the snapshot.
ALTER TABLE cases ADD COLUMN run_id text NOT NULL DEFAULT '';

-- Runs of a case replaced by a reset: their late writes still reach the
-- trail but never the snapshot.
CREATE TABLE superseded_runs (
    case_id   text NOT NULL REFERENCES cases (case_id),
    run_id    text NOT NULL,
    by_run_id text NOT NULL,
    from_seq  integer NOT NULL,
    at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (case_id, run_id)
);

-- +goose Down
DROP TABLE superseded_runs;
ALTER TABLE cases DROP COLUMN run_id;
DROP INDEX case_events_seq;
DROP INDEX case_events_trail;
ALTER TABLE case_events DROP CONSTRAINT case_events_once;
DELETE FROM case_events WHERE action = 'reset';
DELETE FROM case_events e USING case_events f
    WHERE e.case_id = f.case_id AND e.seq = f.seq AND e.pos < f.pos;
ALTER TABLE case_events ADD PRIMARY KEY (case_id, seq);
ALTER TABLE case_events DROP COLUMN pos;
ALTER TABLE case_events DROP COLUMN run_id;
ALTER TABLE alerts DROP COLUMN last_error;
ALTER TABLE alerts DROP COLUMN delivery_attempts;
ALTER TABLE reminders DROP CONSTRAINT reminders_reason;
ALTER TABLE reminders DROP COLUMN reason;
DROP TABLE staff;
