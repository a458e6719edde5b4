-- Conversation retention (issue 17): the retention sweep finds an app's conversations inactive for
-- longer than its conversationRetentionSeconds by this index, oldest activity first, instead of
-- reading every conversation of the app. Only conversations that hold messages are in it: one
-- emptied by the sweep (or by Delete All Messages) leaves it, so that each sweep reads only what it
-- will delete, and a conversation enters it with its first message.
CREATE INDEX conversations_expiring ON conversations (app_id, last_updated_at) WHERE message_count > 0;

-- The sweep removes what the webhook flight recorder kept of the conversation:message events it
-- removes (the payloads as sent hold the messages' text), by event id.
CREATE INDEX delivery_attempts_by_event ON delivery_attempts (event_id);
