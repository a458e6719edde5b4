-- A message's app is its conversation's (the store writes them together), and deleting an app
-- removes its conversations, whose deletion removes their messages: the foreign key from messages to
-- apps added nothing but a check per inserted row, which PostgreSQL runs as a trigger taking a KEY
-- SHARE lock on the app's row, shared by every writer of the app. Measured on a 16-message
-- PostMessage batch: 290-325 -> 240-250 us of PostgreSQL CPU for its INSERT. (SQLite keeps its
-- foreign key: its check is one index lookup, and dropping it would mean rebuilding the table.)
ALTER TABLE messages DROP CONSTRAINT messages_app_id_fkey;
