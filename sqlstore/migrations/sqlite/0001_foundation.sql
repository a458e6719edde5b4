-- Apps, API keys and the event outbox. Times are integer Unix milliseconds; JSON is text.
CREATE TABLE apps (
    id           TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL,
    display_name TEXT NOT NULL,
    settings     TEXT NOT NULL DEFAULT '{}',
    metadata     TEXT,
    created_at   INTEGER NOT NULL
);
CREATE INDEX apps_by_account ON apps (account_id, id);

CREATE TABLE api_keys (
    id             TEXT PRIMARY KEY,
    scope          TEXT NOT NULL,
    account_id     TEXT NOT NULL,
    app_id         TEXT REFERENCES apps (id) ON DELETE CASCADE,
    integration_id TEXT,
    display_name   TEXT NOT NULL DEFAULT '',
    secret         TEXT NOT NULL,
    created_at     INTEGER NOT NULL
);
CREATE INDEX api_keys_by_app ON api_keys (app_id, id);

-- The durable outbox: an event is written in the same transaction as the change that causes it.
CREATE TABLE events (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT NOT NULL UNIQUE,
    app_id          TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    type            TEXT NOT NULL,
    conversation_id TEXT,
    user_id         TEXT,
    integration_id  TEXT,
    data            TEXT NOT NULL,
    created_at      INTEGER NOT NULL
);
CREATE INDEX events_by_app ON events (app_id, seq);
CREATE INDEX events_by_user ON events (user_id) WHERE user_id IS NOT NULL;
