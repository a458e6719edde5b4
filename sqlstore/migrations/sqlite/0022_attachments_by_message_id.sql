-- The foreign key attachments.message_id -> messages(id) ON DELETE CASCADE is checked for every
-- message deleted (Delete Message, Delete All Messages, a deleted user's purge, retention, reset):
-- attachments_by_message starts with conversation_id, so without an index of message_id alone each
-- deleted message read the whole attachments table of every app.
CREATE INDEX attachments_by_message_id ON attachments (message_id);
