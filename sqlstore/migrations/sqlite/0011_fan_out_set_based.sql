-- PostgreSQL makes its statement-level fan-out set-based here. SQLite has no statement-level
-- triggers: the per-row fan-out of 0008 stays. Nothing to do.
SELECT 1;
