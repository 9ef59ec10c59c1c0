-- +goose Up
-- Data protection (docs/data-protection.md): each organisation's retention
-- of citizens' numbers in the call-event log.
--   retention_pseudonymise_days  after this many days a caller's number in
--                                an event is replaced by its pseudonym
--   retention_delete_months      after this many months events are deleted
ALTER TABLE organisations ADD COLUMN retention_pseudonymise_days INTEGER NOT NULL DEFAULT 30;
ALTER TABLE organisations ADD COLUMN retention_delete_months INTEGER NOT NULL DEFAULT 13;

-- pseudonymised marks an event the retention worker has done, so that it
-- never reads it again; the partial index holds only the events still to
-- do, so each batch finds them without walking the done ones.
ALTER TABLE call_events ADD COLUMN pseudonymised BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX call_events_to_pseudonymise ON call_events(org_id, at) WHERE pseudonymised = FALSE;
-- Deletion and a data subject's export go by organisation and time.
CREATE INDEX call_events_org_at ON call_events(org_id, at);

-- +goose Down
DROP INDEX call_events_org_at;
DROP INDEX call_events_to_pseudonymise;
ALTER TABLE call_events DROP COLUMN pseudonymised;
ALTER TABLE organisations DROP COLUMN retention_delete_months;
ALTER TABLE organisations DROP COLUMN retention_pseudonymise_days;
