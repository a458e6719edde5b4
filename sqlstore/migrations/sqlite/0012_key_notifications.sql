-- PostgreSQL announces key changes to the other server processes sharing the database here. One
-- process owns a SQLite database and forgets what it changes itself: nothing to announce.
SELECT 1;
