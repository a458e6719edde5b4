-- The web messenger's visitors (issue 14): one row per credential a browser holds for a user of a
-- web integration. The secret itself is never stored, only its SHA-256, so that a copy of the
-- database does not let anyone speak as the visitors. Deleting the user, the integration or the app
-- ends the sessions.
CREATE TABLE visitor_sessions (
    id             TEXT PRIMARY KEY,
    app_id         TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    integration_id TEXT NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    secret_sha256  TEXT NOT NULL,
    created_at     INTEGER NOT NULL
);
CREATE INDEX visitor_sessions_by_user ON visitor_sessions (user_id);
