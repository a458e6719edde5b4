-- conversations_expiring (0020) indexed last_updated_at, which every message changes: PostgreSQL
-- could then no longer update a conversation's row in place (a HOT update, possible only when no
-- indexed column changes), and PostMessage lost ~10% of its messages a second for every app, with
-- or without a retention. The retention sweep only needs conversations by hour of last activity: a
-- generated column that changes once an hour per conversation (and is NULL while the conversation
-- holds no message, so that emptied conversations leave the index), so that the other updates of
-- the hour stay in place. The sweep checks last_updated_at itself within the cutoff's hour.
DROP INDEX conversations_expiring;
ALTER TABLE conversations ADD COLUMN activity_hour BIGINT
    GENERATED ALWAYS AS (CASE WHEN message_count > 0 THEN last_updated_at / 3600000 END) STORED;
CREATE INDEX conversations_expiring ON conversations (app_id, activity_hour) WHERE activity_hour IS NOT NULL;
