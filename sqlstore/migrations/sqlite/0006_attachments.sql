-- Attachments (issue 8). A for=message attachment names the conversation, message and user it
-- belongs to; the foreign keys delete it with any of them (and with its app). Its bytes are a file in
-- the media directory: every deleted row, however it was deleted (cascades included), leaves its id in
-- attachment_trash, and the store removes the file and the trash row once the deletion has committed.
CREATE TABLE attachments (
    id              TEXT PRIMARY KEY,
    app_id          TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    filename        TEXT NOT NULL,
    media_type      TEXT NOT NULL,
    size            INTEGER NOT NULL,
    for_message     INTEGER NOT NULL DEFAULT 0,
    conversation_id TEXT REFERENCES conversations (id) ON DELETE CASCADE,
    message_id      TEXT,
    user_id         TEXT REFERENCES users (id) ON DELETE CASCADE,
    created_at      INTEGER NOT NULL,
    FOREIGN KEY (conversation_id, message_id) REFERENCES messages (conversation_id, id) ON DELETE CASCADE
);
CREATE INDEX attachments_by_app ON attachments (app_id, id);
CREATE INDEX attachments_by_message ON attachments (conversation_id, message_id);
CREATE INDEX attachments_by_user ON attachments (user_id);

CREATE TABLE attachment_trash (
    id         TEXT PRIMARY KEY
);

CREATE TRIGGER attachments_trash AFTER DELETE ON attachments
BEGIN
    INSERT OR IGNORE INTO attachment_trash (id) VALUES (OLD.id);
END;
