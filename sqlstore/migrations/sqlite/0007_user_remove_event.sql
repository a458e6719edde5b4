-- user:remove is emitted when a deleted user's history is gone, not when the deletion is accepted:
-- the purge row keeps the event's snapshot (the truncated user) until then.
ALTER TABLE user_purges ADD COLUMN removed_event TEXT;
