-- +goose Up
-- Call handling: opening hours, announcements (audio in the database),
-- queues, agents and their memberships, call flows and the inbound numbers
-- that lead to them, per-organisation settings, and the call-event log.
CREATE TABLE install_settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE org_settings (
    org_id INTEGER NOT NULL REFERENCES organisations(id),
    name   TEXT NOT NULL,
    value  TEXT NOT NULL,
    PRIMARY KEY (org_id, name)
);

CREATE TABLE schedules (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id     INTEGER NOT NULL REFERENCES organisations(id),
    name       TEXT NOT NULL,
    definition TEXT NOT NULL,
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL,
    UNIQUE (org_id, name)
);

CREATE TABLE announcements (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id            INTEGER NOT NULL REFERENCES organisations(id),
    name              TEXT NOT NULL,
    description       TEXT NOT NULL DEFAULT '',
    audio             BLOB NOT NULL,
    sha256            TEXT NOT NULL,
    duration_ms       INTEGER NOT NULL,
    original_filename TEXT NOT NULL DEFAULT '',
    created_at        DATETIME NOT NULL,
    updated_at        DATETIME NOT NULL,
    UNIQUE (org_id, name)
);

CREATE TABLE queues (
    id                          INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id                      INTEGER NOT NULL REFERENCES organisations(id),
    name                        TEXT NOT NULL,
    display_name                TEXT NOT NULL DEFAULT '',
    strategy                    TEXT NOT NULL,
    weight                      INTEGER NOT NULL,
    max_len                     INTEGER NOT NULL,
    max_wait_seconds            INTEGER NOT NULL,
    empty_policy                TEXT NOT NULL CHECK (empty_policy IN ('join', 'refuse', 'leave')),
    ring_timeout_seconds        INTEGER NOT NULL,
    retry_delay_seconds         INTEGER NOT NULL,
    max_parallel_offers         INTEGER NOT NULL,
    wrap_up_seconds             INTEGER NOT NULL,
    auto_pause_after            INTEGER NOT NULL,
    ring_in_use                 BOOLEAN NOT NULL,
    skills                      TEXT NOT NULL,
    escalation                  TEXT NOT NULL,
    announce_on_join            BOOLEAN NOT NULL,
    announce_every_seconds      INTEGER NOT NULL,
    announce_only_if_better     BOOLEAN NOT NULL,
    announce_granularity_seconds INTEGER NOT NULL,
    custom_announcements        TEXT NOT NULL,
    callback_enabled            BOOLEAN NOT NULL,
    callback_attempts           INTEGER NOT NULL,
    callback_retry_delay_seconds INTEGER NOT NULL,
    service_level_seconds       INTEGER NOT NULL,
    handle_time_seconds         INTEGER NOT NULL,
    music                       TEXT NOT NULL DEFAULT '',
    created_at                  DATETIME NOT NULL,
    updated_at                  DATETIME NOT NULL,
    UNIQUE (org_id, name)
);

CREATE TABLE agents (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id          INTEGER NOT NULL REFERENCES organisations(id),
    name            TEXT NOT NULL,
    user_id         INTEGER UNIQUE REFERENCES users(id) ON DELETE SET NULL,
    skills          TEXT NOT NULL,
    wrap_up_seconds INTEGER,
    device_kind     TEXT NOT NULL CHECK (device_kind IN ('webrtc', 'endpoint')),
    dial_string     TEXT NOT NULL DEFAULT '',
    active          BOOLEAN NOT NULL,
    created_at      DATETIME NOT NULL,
    updated_at      DATETIME NOT NULL
);
CREATE INDEX agents_org ON agents(org_id);

CREATE TABLE memberships (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id     INTEGER NOT NULL REFERENCES organisations(id),
    agent_id   INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    queue_id   INTEGER NOT NULL REFERENCES queues(id) ON DELETE CASCADE,
    tier       INTEGER NOT NULL,
    sort_order INTEGER NOT NULL,
    weight     INTEGER NOT NULL,
    UNIQUE (agent_id, queue_id)
);
CREATE INDEX memberships_queue ON memberships(queue_id);

CREATE TABLE flows (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id     INTEGER NOT NULL REFERENCES organisations(id),
    name       TEXT NOT NULL,
    definition TEXT NOT NULL,
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL,
    UNIQUE (org_id, name)
);

-- Asterisk routes by the number alone, so it is unique per installation.
CREATE TABLE numbers (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id      INTEGER NOT NULL REFERENCES organisations(id),
    number      TEXT NOT NULL UNIQUE,
    flow_id     INTEGER NOT NULL REFERENCES flows(id),
    description TEXT NOT NULL DEFAULT '',
    created_at  DATETIME NOT NULL,
    updated_at  DATETIME NOT NULL
);
CREATE INDEX numbers_flow ON numbers(flow_id);

-- The call-event log: append-only; caller is personal data (retention:
-- DeleteCallEventsBefore).
CREATE TABLE call_events (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id  INTEGER NOT NULL REFERENCES organisations(id),
    at      DATETIME NOT NULL,
    call_id TEXT NOT NULL,
    kind    TEXT NOT NULL,
    queue   TEXT NOT NULL DEFAULT '',
    agent   TEXT NOT NULL DEFAULT '',
    caller  TEXT NOT NULL DEFAULT '',
    wait_ms INTEGER NOT NULL DEFAULT 0,
    data    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX call_events_at ON call_events(at);
CREATE INDEX call_events_call ON call_events(call_id);

-- +goose Down
DROP TABLE call_events;
DROP TABLE numbers;
DROP TABLE flows;
DROP TABLE memberships;
DROP TABLE agents;
DROP TABLE queues;
DROP TABLE announcements;
DROP TABLE schedules;
DROP TABLE org_settings;
DROP TABLE install_settings;
