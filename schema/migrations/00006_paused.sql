-- +goose Up
-- Whether a case's outreach is paused (its regulatory deadlines keep
-- running): the worklist shows it next to the case's tasks.
ALTER TABLE cases ADD COLUMN paused boolean NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE cases DROP COLUMN paused;
