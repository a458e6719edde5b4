-- PostgreSQL drops the foreign key from messages to apps here (its check took a lock on the app's row
-- for every inserted message). SQLite keeps it: its check is one index lookup, and dropping it would
-- mean rebuilding the table. Nothing to do.
SELECT 1;
