-- +goose Up
-- A queue's service goal for staffing (docs/reports.md, "Staffing"):
--   service_level_percent   share of calls to answer within service_level_seconds
--   max_occupancy_percent   the most of their time agents should spend on calls
-- and indexes for reading one queue's or one agent's events over weeks.
ALTER TABLE queues ADD COLUMN service_level_percent INTEGER NOT NULL DEFAULT 80;
ALTER TABLE queues ADD COLUMN max_occupancy_percent INTEGER NOT NULL DEFAULT 85;
CREATE INDEX call_events_org_queue_at ON call_events(org_id, queue, at);
CREATE INDEX call_events_org_agent_at ON call_events(org_id, agent, at);

-- +goose Down
DROP INDEX call_events_org_agent_at;
DROP INDEX call_events_org_queue_at;
ALTER TABLE queues DROP COLUMN max_occupancy_percent;
ALTER TABLE queues DROP COLUMN service_level_percent;
