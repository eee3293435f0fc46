-- +goose Up
-- The inbox of the HL7 v2 ADT feed (caseflow adt listen). Each message is
-- stored here before it is acknowledged, keyed by its sender and control id
-- (MSH-4, MSH-10), so a message resent after a lost ACK is stored once and
-- applied once. The raw message is PHI: it lives here and nowhere else (not
-- in logs, not in Temporal). status and reason are the audit of what was done
-- with it.
CREATE TABLE adt_inbox (
    seq              bigserial UNIQUE,
    sending_facility text NOT NULL,
    control_id       text NOT NULL,
    event            text NOT NULL,
    raw              text NOT NULL,
    received_at      timestamptz NOT NULL DEFAULT now(),
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'applied', 'ignored', 'rejected', 'failed')),
    reason           text NOT NULL DEFAULT '',
    case_ids         text[] NOT NULL DEFAULT '{}',
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    done_at          timestamptz,
    PRIMARY KEY (sending_facility, control_id)
);
CREATE INDEX adt_inbox_pending ON adt_inbox (seq) WHERE status = 'pending';

-- +goose Down
DROP TABLE adt_inbox;
