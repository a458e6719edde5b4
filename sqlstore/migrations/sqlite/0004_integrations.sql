-- Integrations, their webhooks, and the delivery state of outbox events per webhook.
CREATE TABLE integrations (
    id                   TEXT PRIMARY KEY,
    app_id               TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    type                 TEXT NOT NULL,
    status               TEXT NOT NULL,
    display_name         TEXT,
    config               TEXT NOT NULL DEFAULT '{}',
    credentials          TEXT NOT NULL DEFAULT '{}',
    default_responder_id TEXT,
    created_at           INTEGER NOT NULL
);
CREATE INDEX integrations_by_app ON integrations (app_id, id);

CREATE TABLE webhooks (
    id                  TEXT PRIMARY KEY,
    app_id              TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    integration_id      TEXT NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    version             TEXT NOT NULL,
    target              TEXT NOT NULL,
    triggers            TEXT NOT NULL,
    secret              TEXT NOT NULL,
    include_full_user   INTEGER NOT NULL DEFAULT 0,
    include_full_source INTEGER NOT NULL DEFAULT 0,
    created_at          INTEGER NOT NULL
);
CREATE INDEX webhooks_by_app ON webhooks (app_id, id);
CREATE INDEX webhooks_by_integration ON webhooks (integration_id, id);

-- One row per event and webhook, written with the event. Payloads are not stored: they are rendered
-- from events.data at each attempt, so erasing a user's data in events reaches every delivery.
CREATE TABLE deliveries (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id           TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    event_id         TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    webhook_id       TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    order_key        TEXT,
    status           TEXT NOT NULL DEFAULT 'pending',
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    first_attempt_at INTEGER,
    lease_until      INTEGER NOT NULL DEFAULT 0,
    claimed_by       TEXT,
    last_status      INTEGER,
    last_error       TEXT,
    finished_at      INTEGER,
    created_at       INTEGER NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, seq) WHERE status = 'pending';
CREATE INDEX deliveries_in_order ON deliveries (webhook_id, order_key, seq) WHERE status = 'pending';
CREATE INDEX deliveries_by_event ON deliveries (event_id);
CREATE INDEX deliveries_finished ON deliveries (finished_at) WHERE status <> 'pending';
-- Pruning finds old outbox events by time.
CREATE INDEX events_by_created_at ON events (created_at);

-- Fan-out: every event written to the outbox, by whatever statement, gets one delivery per webhook
-- of its app subscribed to its type, in the same transaction. The set of webhooks is the one at
-- commit time. instr() matches the quoted name exactly ("conversation:message" does not match
-- "conversation:message:delivery:user").
CREATE TRIGGER events_fan_out AFTER INSERT ON events
BEGIN
    INSERT INTO deliveries (app_id, event_id, webhook_id, order_key, next_attempt_at, created_at)
    SELECT NEW.app_id, NEW.id, w.id, COALESCE(NEW.conversation_id, NEW.user_id), NEW.created_at, NEW.created_at
    FROM webhooks w
    WHERE w.app_id = NEW.app_id AND instr(w.triggers, '"' || NEW.type || '"') > 0
    ORDER BY w.id;
END;

-- A delivery queued behind a pending one of its conversation is not due before it: next_attempt_at
-- never decreases along a conversation's queue, so that claims, which walk the due index, do not scan
-- the deliveries held back behind a failing one. (A trigger of its own, whatever writes deliveries.)
CREATE TRIGGER deliveries_queue AFTER INSERT ON deliveries
WHEN NEW.order_key IS NOT NULL
BEGIN
    UPDATE deliveries SET next_attempt_at = (SELECT p.next_attempt_at FROM deliveries p
            WHERE p.webhook_id = NEW.webhook_id AND p.order_key = NEW.order_key AND p.status = 'pending' AND p.seq < NEW.seq
            ORDER BY p.seq DESC LIMIT 1)
    WHERE seq = NEW.seq AND next_attempt_at < (SELECT p.next_attempt_at FROM deliveries p
            WHERE p.webhook_id = NEW.webhook_id AND p.order_key = NEW.order_key AND p.status = 'pending' AND p.seq < NEW.seq
            ORDER BY p.seq DESC LIMIT 1);
END;
