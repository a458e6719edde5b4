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
    created_at           BIGINT NOT NULL
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
    created_at          BIGINT NOT NULL
);
CREATE INDEX webhooks_by_app ON webhooks (app_id, id);
CREATE INDEX webhooks_by_integration ON webhooks (integration_id, id);

-- One row per event and webhook, written with the event. Payloads are not stored: they are rendered
-- from events.data at each attempt, so erasing a user's data in events reaches every delivery.
CREATE TABLE deliveries (
    seq              BIGSERIAL PRIMARY KEY,
    app_id           TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    event_id         TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    webhook_id       TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    order_key        TEXT,
    status           TEXT NOT NULL DEFAULT 'pending',
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT NOT NULL,
    first_attempt_at BIGINT,
    lease_until      BIGINT NOT NULL DEFAULT 0,
    claimed_by       TEXT,
    last_status      INTEGER,
    last_error       TEXT,
    finished_at      BIGINT,
    created_at       BIGINT NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, seq) WHERE status = 'pending';
CREATE INDEX deliveries_in_order ON deliveries (webhook_id, order_key, seq) WHERE status = 'pending';
CREATE INDEX deliveries_by_event ON deliveries (event_id);
CREATE INDEX deliveries_finished ON deliveries (finished_at) WHERE status <> 'pending';
-- Pruning finds old outbox events by time.
CREATE INDEX events_by_created_at ON events (created_at);

-- Fan-out: every event written to the outbox, by whatever statement, gets one delivery per webhook
-- of its app subscribed to its type, in the same transaction. The set of webhooks is the one at
-- commit time. strpos() matches the quoted name exactly ("conversation:message" does not match
-- "conversation:message:delivery:user").
--
-- Order: a webhook gets the deliveries of one conversation (or user) in sequence order. Writes that
-- one caller makes one after the other commit in that order, and so do concurrent writes that lock
-- their conversation row (PostMessage); two concurrent writes that do not are not ordered by anyone,
-- and may be delivered either way. (A lock here would make such writes deadlock against each other.)
CREATE FUNCTION events_fan_out() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO deliveries (app_id, event_id, webhook_id, order_key, next_attempt_at, created_at)
    SELECT NEW.app_id, NEW.id, w.id, COALESCE(NEW.conversation_id, NEW.user_id), NEW.created_at, NEW.created_at
    FROM webhooks w
    WHERE w.app_id = NEW.app_id AND strpos(w.triggers, '"' || NEW.type || '"') > 0
    ORDER BY w.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER events_fan_out AFTER INSERT ON events FOR EACH ROW EXECUTE FUNCTION events_fan_out();

-- A delivery queued behind a pending one of its conversation is not due before it: next_attempt_at
-- never decreases along a conversation's queue, so that claims, which walk the due index, do not scan
-- the deliveries held back behind a failing one. (A trigger of its own, whatever writes deliveries.)
CREATE FUNCTION deliveries_queue() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    prev BIGINT;
BEGIN
    IF NEW.order_key IS NOT NULL THEN
        SELECT p.next_attempt_at INTO prev FROM deliveries p
        WHERE p.webhook_id = NEW.webhook_id AND p.order_key = NEW.order_key AND p.status = 'pending'
        ORDER BY p.seq DESC LIMIT 1;
        IF prev IS NOT NULL AND prev > NEW.next_attempt_at THEN
            NEW.next_attempt_at := prev;
        END IF;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER deliveries_queue BEFORE INSERT ON deliveries FOR EACH ROW EXECUTE FUNCTION deliveries_queue();
