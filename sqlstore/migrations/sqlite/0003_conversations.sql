-- Conversations, participants and messages. Times are integer Unix milliseconds; JSON is text.
CREATE TABLE conversations (
    id                 TEXT PRIMARY KEY,
    app_id             TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    type               TEXT NOT NULL,
    default_user_id    TEXT, -- the user whose default conversation this is
    display_name       TEXT,
    description        TEXT,
    icon_url           TEXT,
    metadata           TEXT,
    business_last_read INTEGER,
    last_updated_at    INTEGER NOT NULL,
    created_at         INTEGER NOT NULL,
    message_count      INTEGER NOT NULL DEFAULT 0 -- kept so that the 30,000 limit costs no COUNT(*)
);
CREATE INDEX conversations_by_app ON conversations (app_id, id);
CREATE UNIQUE INDEX conversations_default ON conversations (default_user_id) WHERE default_user_id IS NOT NULL;

CREATE TABLE participants (
    id                  TEXT PRIMARY KEY,
    app_id              TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    conversation_id     TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id             TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    unread_count        INTEGER NOT NULL DEFAULT 0,
    last_read           INTEGER,
    client_associations TEXT,
    created_at          INTEGER NOT NULL
);
CREATE UNIQUE INDEX participants_by_member ON participants (conversation_id, user_id);
CREATE INDEX participants_by_conversation ON participants (conversation_id, id);
CREATE INDEX participants_by_user ON participants (user_id, conversation_id);

-- Messages are keyed by (conversation_id, id): a page of a conversation is one index range scan.
CREATE TABLE messages (
    conversation_id     TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    id                  TEXT NOT NULL,
    app_id              TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    received            INTEGER NOT NULL,
    author_type         TEXT NOT NULL,
    author_subtypes     TEXT,
    author_user_id      TEXT, -- user authors: displayName and avatarUrl are read from the user
    author_display_name TEXT, -- business authors only
    author_avatar_url   TEXT,
    content_type        TEXT NOT NULL,
    content             TEXT NOT NULL,
    source_type         TEXT NOT NULL,
    source_integration_id TEXT,
    source_original_id  TEXT,
    source_original_ts  INTEGER,
    metadata            TEXT,
    refs                TEXT,
    PRIMARY KEY (conversation_id, id)
);
CREATE INDEX messages_by_author ON messages (author_user_id) WHERE author_user_id IS NOT NULL;
