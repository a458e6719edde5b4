-- Attachments (issue 8). A for=message attachment names the conversation, message and user it
-- belongs to; the foreign keys delete it with any of them (and with its app). Its bytes are rows of
-- attachment_chunks (1 MiB each), so that every server process sharing the database can serve them,
-- and so that they are deleted in the same transaction as their attachment, cascades included.
CREATE TABLE attachments (
    id              TEXT PRIMARY KEY,
    app_id          TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    filename        TEXT NOT NULL,
    media_type      TEXT NOT NULL,
    size            BIGINT NOT NULL,
    for_message     INTEGER NOT NULL DEFAULT 0,
    conversation_id TEXT REFERENCES conversations (id) ON DELETE CASCADE,
    message_id      TEXT,
    user_id         TEXT REFERENCES users (id) ON DELETE CASCADE,
    created_at      BIGINT NOT NULL,
    FOREIGN KEY (conversation_id, message_id) REFERENCES messages (conversation_id, id) ON DELETE CASCADE
);
CREATE INDEX attachments_by_app ON attachments (app_id, id);
CREATE INDEX attachments_by_message ON attachments (conversation_id, message_id);
CREATE INDEX attachments_by_user ON attachments (user_id);

CREATE TABLE attachment_chunks (
    attachment_id TEXT NOT NULL REFERENCES attachments (id) ON DELETE CASCADE,
    seq           INTEGER NOT NULL,
    data          BYTEA NOT NULL,
    PRIMARY KEY (attachment_id, seq)
);
-- Media are mostly compressed already: store chunks out of line without trying to compress them.
ALTER TABLE attachment_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
