-- +goose Up
-- digest: a SHA-256 of an ADT message's segments as sameMessage compares
-- them (line endings and MSH-7 aside), kept when the text is purged
-- (caseflow adt inbox --purge-before), so that a late resend of a purged
-- message is still recognised as a resend instead of being refused as a
-- reused control id. Empty for messages stored before it was kept.
ALTER TABLE adt_inbox ADD COLUMN digest text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE adt_inbox DROP COLUMN digest;
