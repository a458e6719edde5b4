-- As on PostgreSQL (see its 0023): the retention sweep finds conversations by hour of last activity,
-- a generated column that changes once an hour per conversation, rather than by last_updated_at,
-- which every message changes. (SQLite updates rows in place either way; the index entry is
-- rewritten only when the hour changes.)
DROP INDEX conversations_expiring;
ALTER TABLE conversations ADD COLUMN activity_hour INTEGER
    GENERATED ALWAYS AS (CASE WHEN message_count > 0 THEN last_updated_at / 3600000 END) VIRTUAL;
CREATE INDEX conversations_expiring ON conversations (app_id, activity_hour) WHERE activity_hour IS NOT NULL;
