-- +goose Up
-- A reminder whose delivery is unknown: a sender claimed it and never
-- reported back (it crashed after handing the reminder to its channel, or
-- before), and then the appointment left "booked" or started, or the case
-- was paused. It may have been sent; recording it cancelled or skipped would
-- say it was not. The reason is the one it would have been cancelled or
-- skipped with. A late report of the sender turns it into "sent".
ALTER TABLE reminders DROP CONSTRAINT reminders_status_check;
ALTER TABLE reminders ADD CONSTRAINT reminders_status_check
    CHECK (status IN ('pending', 'sent', 'cancelled', 'skipped', 'unknown'));
ALTER TABLE reminders DROP CONSTRAINT reminders_reason;
ALTER TABLE reminders ADD CONSTRAINT reminders_reason
    CHECK (status NOT IN ('skipped', 'cancelled', 'unknown') OR reason IS NOT NULL) NOT VALID;
-- maybe_sent: an attempt claimed the reminder and never reported back (a
-- later claim found its lease expired): whatever happens next, it may have
-- been sent.
ALTER TABLE reminders ADD COLUMN maybe_sent boolean NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE reminders DROP COLUMN maybe_sent;
UPDATE reminders SET status = 'cancelled' WHERE status = 'unknown';
ALTER TABLE reminders DROP CONSTRAINT reminders_reason;
ALTER TABLE reminders ADD CONSTRAINT reminders_reason
    CHECK (status NOT IN ('skipped', 'cancelled') OR reason IS NOT NULL) NOT VALID;
ALTER TABLE reminders DROP CONSTRAINT reminders_status_check;
ALTER TABLE reminders ADD CONSTRAINT reminders_status_check
    CHECK (status IN ('pending', 'sent', 'cancelled', 'skipped'));
