-- +goose Up
-- Program policies: versioned, with an effective date. A case pins the
-- version it opened with (it travels in the workflow input); these rows are
-- where new cases find it.
CREATE TABLE policies (
    program        text NOT NULL,
    version        integer NOT NULL,
    effective_from date NOT NULL,
    body           jsonb NOT NULL,
    loaded_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (program, version)
);

-- Work items and audited clocks of a case (FHIR Task): follow-up calls,
-- post-discharge contact and visit, medication reconciliation, re-assessment,
-- the readmission watch. task_id is deterministic (case/kind-n), so a
-- retried activity updates the same row.
CREATE TABLE tasks (
    case_id      text NOT NULL REFERENCES cases (case_id),
    task_id      text NOT NULL,
    kind         text NOT NULL,
    description  text NOT NULL,
    owner        text NOT NULL,
    started_at   timestamptz NOT NULL,
    due_at       timestamptz NOT NULL,
    status       text NOT NULL,
    outcome      text NOT NULL DEFAULT '',
    completed_at timestamptz,
    escalated_at timestamptz,
    clock        boolean NOT NULL DEFAULT false,
    met          boolean,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (case_id, task_id)
);
CREATE INDEX tasks_open_by_owner ON tasks (owner, due_at) WHERE status = 'open';

-- Alerts to staff (call due, overdue call, missed clock, repeated no-answer)
-- and automated calls to clients: an outbox, one row per alert key however
-- often the activity runs; delivered_at is set once a channel took it.
CREATE TABLE alerts (
    alert_id   text PRIMARY KEY,
    case_id    text NOT NULL REFERENCES cases (case_id),
    task_id    text NOT NULL DEFAULT '',
    kind       text NOT NULL,
    recipient  text NOT NULL,
    message    text NOT NULL,
    at           timestamptz NOT NULL,
    delivered_at timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX alerts_case ON alerts (case_id, at);

-- Outcome domains: the assessment baseline and the evaluation, side by side.
CREATE TABLE case_outcomes (
    case_id      text PRIMARY KEY REFERENCES cases (case_id),
    baseline     jsonb NOT NULL,
    evaluation   jsonb NOT NULL,
    evaluated_at timestamptz NOT NULL
);

-- Pauses of a case's outreach clocks (e.g. the patient is re-admitted).
CREATE TABLE case_pauses (
    case_id    text NOT NULL REFERENCES cases (case_id),
    paused_at  timestamptz NOT NULL,
    resumed_at timestamptz,
    reason     text NOT NULL,
    PRIMARY KEY (case_id, paused_at)
);

-- +goose Down
DROP TABLE case_pauses;
DROP TABLE case_outcomes;
DROP TABLE alerts;
DROP TABLE tasks;
DROP TABLE policies;
