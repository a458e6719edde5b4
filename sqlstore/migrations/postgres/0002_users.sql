-- Users, their clients and devices. Profile fields are NULL when not set; metadata, identities, info
-- and raw are JSON text; times are integer Unix milliseconds.
--
-- Personal data lives in exactly these columns and nowhere else: users.given_name, surname, email,
-- avatar_url, locale, metadata; clients.display_name, avatar_url, info, raw. Messages do not copy the
-- author's name or avatar (they are read from here), so erasing these columns erases them everywhere.
CREATE TABLE users (
    id             TEXT PRIMARY KEY,
    app_id         TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    external_id    TEXT,
    brand_id       TEXT,
    signed_up_at   BIGINT NOT NULL,
    to_be_retained INTEGER NOT NULL DEFAULT 0,
    given_name     TEXT,
    surname        TEXT,
    email          TEXT,
    avatar_url     TEXT,
    locale         TEXT,
    metadata       TEXT,
    identities     TEXT,
    -- Set by DeleteUser: the user is gone for the API at once (every lookup skips it, its personal
    -- data and externalId are cleared) while its history is removed in the background.
    deleted_at     BIGINT
);
CREATE UNIQUE INDEX users_by_external_id ON users (app_id, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX users_by_app ON users (app_id, id);

CREATE TABLE clients (
    id                     TEXT PRIMARY KEY,
    app_id                 TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    user_id                TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    type                   TEXT NOT NULL,
    status                 TEXT NOT NULL,
    integration_id         TEXT,
    external_id            TEXT,
    last_seen              BIGINT,
    linked_at              BIGINT,
    display_name           TEXT,
    avatar_url             TEXT,
    info                   TEXT,
    raw                    TEXT,
    is_primary             INTEGER NOT NULL DEFAULT 1,
    target_conversation_id TEXT
);
CREATE INDEX clients_by_user ON clients (user_id, id);
-- A customer's id on a channel (a phone number on WhatsApp) belongs to one user of the app.
CREATE UNIQUE INDEX clients_by_channel ON clients (app_id, type, external_id) WHERE external_id IS NOT NULL;

CREATE TABLE devices (
    id                      TEXT PRIMARY KEY,
    app_id                  TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    user_id                 TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id               TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    type                    TEXT NOT NULL,
    guid                    TEXT NOT NULL,
    status                  TEXT NOT NULL,
    integration_id          TEXT,
    last_seen               BIGINT NOT NULL,
    push_notification_token TEXT,
    info                    TEXT,
    app_version             TEXT
);
-- The SDK makes a device's guid; it names one device of the app.
CREATE UNIQUE INDEX devices_by_guid ON devices (app_id, guid);
CREATE INDEX devices_by_user ON devices (user_id, last_seen);

-- Users deleted by DeleteUser whose conversation history is still being removed in the background.
-- A row survives a restart, so the removal resumes and finishes.
CREATE TABLE user_purges (
    user_id    TEXT PRIMARY KEY,
    app_id     TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL
);

-- The outbox events that may carry a snapshot of a user's personal data (every type but
-- conversation:message, whose snapshots hold no author name or avatar): the ones erasure rewrites.
CREATE INDEX events_with_snapshots ON events (user_id) WHERE user_id IS NOT NULL AND type <> 'conversation:message';
-- The events of a conversation, which deleting a user's conversations removes in batches.
CREATE INDEX events_by_conversation ON events (conversation_id) WHERE conversation_id IS NOT NULL;
