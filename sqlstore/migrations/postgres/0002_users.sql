-- Users. Profile fields are NULL when not set; metadata and identities are JSON text.
CREATE TABLE users (
    id           TEXT PRIMARY KEY,
    app_id       TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    external_id  TEXT,
    signed_up_at BIGINT NOT NULL,
    given_name   TEXT,
    surname      TEXT,
    email        TEXT,
    avatar_url   TEXT,
    locale       TEXT,
    metadata     TEXT,
    identities   TEXT
);
CREATE UNIQUE INDEX users_by_external_id ON users (app_id, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX users_by_app ON users (app_id, id);
