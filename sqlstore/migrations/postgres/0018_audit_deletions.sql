-- The audit trail and the receipts of Delete User (issue 17). Neither holds personal data: user ids
-- are the internal ids, never externalIds, names or emails; counts are numbers. Both are kept for the
-- store's audit retention (removed in batches by at / requested_at) and removed with their app.
CREATE TABLE audit_entries (
    id        TEXT PRIMARY KEY,
    app_id    TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    at        BIGINT NOT NULL,
    operation TEXT NOT NULL,
    user_id   TEXT,
    key_id    TEXT NOT NULL,
    outcome   TEXT NOT NULL,
    counts    TEXT
);
CREATE INDEX audit_by_app ON audit_entries (app_id, id);
CREATE INDEX audit_by_user ON audit_entries (app_id, user_id, id) WHERE user_id IS NOT NULL;
CREATE INDEX audit_by_operation ON audit_entries (app_id, operation, id);
CREATE INDEX audit_by_time ON audit_entries (at);

-- One row per Delete User: pending until the background purge completes it with what it removed.
CREATE TABLE deletions (
    user_id               TEXT PRIMARY KEY,
    app_id                TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    requested_at          BIGINT NOT NULL,
    completed_at          BIGINT,
    messages_removed      BIGINT NOT NULL DEFAULT 0,
    conversations_removed BIGINT NOT NULL DEFAULT 0,
    files_removed         BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX deletions_by_app ON deletions (app_id);
CREATE INDEX deletions_by_time ON deletions (requested_at);
