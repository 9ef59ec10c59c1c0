-- +goose Up
-- What a restarted omstil needs that has no channel in Asterisk to live on:
-- callback requests whose caller was released, and the agents' chosen
-- availability (ready or paused, and to which queues).
CREATE TABLE pending_callbacks (
    call_id      TEXT PRIMARY KEY,
    queue        TEXT NOT NULL,
    number       TEXT NOT NULL,
    dialled      TEXT NOT NULL DEFAULT '',
    priority     INTEGER NOT NULL DEFAULT 0,
    joined_at    DATETIME NOT NULL,
    requested_at DATETIME NOT NULL
);

CREATE TABLE agent_states (
    agent      TEXT PRIMARY KEY,
    state      TEXT NOT NULL CHECK (state IN ('ready', 'paused')),
    reason     TEXT NOT NULL DEFAULT '',
    queues     TEXT,
    updated_at DATETIME NOT NULL
);

-- +goose Down
DROP TABLE agent_states;
DROP TABLE pending_callbacks;
