-- Emulator controls and the webhook flight recorder (issue 15).
--
-- The emulator's virtual clock: how far it runs ahead of the system clock, in one row, so that
-- every server process sharing the database reads one clock; the trigger at the end tells them
-- when it moves.
CREATE TABLE emulator_clock (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    offset_ms BIGINT NOT NULL
);
INSERT INTO emulator_clock (id, offset_ms) VALUES (1, 0);

-- The webhook flight recorder: one row per delivery attempt (redeliveries included), kept 24 hours
-- of clock time. request_body is the payload as sent and holds personal data (the user's profile
-- with includeFullUser); response_body is what the target answered (its first 64 KB, any bytes).
-- user_id is the event's user: erasure and deletion scrub that user's rows through it.
CREATE TABLE delivery_attempts (
    id               TEXT PRIMARY KEY,
    app_id           TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    event_id         TEXT NOT NULL,
    event_type       TEXT NOT NULL,
    user_id          TEXT,
    webhook_id       TEXT NOT NULL,
    target           TEXT NOT NULL,
    attempt          INTEGER NOT NULL,
    redeliver        INTEGER NOT NULL DEFAULT 0,
    request_headers  TEXT NOT NULL,
    request_body     TEXT NOT NULL,
    response_status  INTEGER,
    response_headers TEXT,
    response_body    BYTEA,
    duration_ms      BIGINT NOT NULL,
    error            TEXT,
    outcome          TEXT NOT NULL,
    next_attempt_at  BIGINT,
    created_at       BIGINT NOT NULL
);
CREATE INDEX delivery_attempts_by_app ON delivery_attempts (app_id, id);
CREATE INDEX delivery_attempts_by_user ON delivery_attempts (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX delivery_attempts_by_created_at ON delivery_attempts (created_at);

-- Users whose personal data was erased (or who were deleted) in the last day: an attempt rendered
-- before the erasure and recorded after it is recorded scrubbed. Kept as long as the recorder keeps
-- attempts.
CREATE TABLE recorder_erasures (
    user_id   TEXT PRIMARY KEY,
    erased_at BIGINT NOT NULL
);

-- Deleting a client (RemoveClient, a reset, a deleted user) cascades to its devices: without an
-- index on the reference, each deleted client read the whole devices table.
CREATE INDEX devices_by_client ON devices (client_id);

-- A move of the clock is announced on the channel of key changes (0012), which every process
-- already listens to: payload "clock", upon which each reads the offset again.
CREATE FUNCTION emulator_clock_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('sunlamp_keys', 'clock');
    RETURN NULL;
END
$$;
CREATE TRIGGER emulator_clock_notify AFTER UPDATE ON emulator_clock FOR EACH ROW EXECUTE FUNCTION emulator_clock_notify();
