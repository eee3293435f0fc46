-- +goose Up
-- The compliance reports (caseflow report, report/queries.go) read clocks by
-- kind and start, the authorization steps of the audit trail, and the minutes
-- of contacts and calls by case and time.
CREATE INDEX tasks_by_kind_start ON tasks (kind, started_at);
CREATE INDEX case_events_service ON case_events (case_id, pos) WHERE action = 'service';
CREATE INDEX case_events_minutes ON case_events (case_id, at) WHERE action IN ('contact', 'call');

-- +goose Down
DROP INDEX case_events_minutes;
DROP INDEX case_events_service;
DROP INDEX tasks_by_kind_start;
