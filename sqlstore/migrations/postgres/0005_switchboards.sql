-- Switchboards, their integrations, and the switchboard state of conversations.
CREATE TABLE switchboards (
    id                 TEXT PRIMARY KEY,
    app_id             TEXT NOT NULL UNIQUE REFERENCES apps (id) ON DELETE CASCADE, -- one per app
    enabled            INTEGER NOT NULL DEFAULT 0,
    default_id         TEXT, -- references switchboard_integrations, added below
    created_at         BIGINT NOT NULL
);

CREATE TABLE switchboard_integrations (
    id                     TEXT PRIMARY KEY,
    app_id                 TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    switchboard_id         TEXT NOT NULL REFERENCES switchboards (id) ON DELETE CASCADE,
    name                   TEXT NOT NULL,
    integration_id         TEXT NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    integration_type       TEXT NOT NULL,
    deliver_standby_events INTEGER NOT NULL,
    next_id                TEXT REFERENCES switchboard_integrations (id) ON DELETE SET NULL,
    message_history_count  INTEGER,
    created_at             BIGINT NOT NULL
);
CREATE UNIQUE INDEX switchboard_integrations_by_name ON switchboard_integrations (switchboard_id, name);
CREATE UNIQUE INDEX switchboard_integrations_by_integration ON switchboard_integrations (integration_id, switchboard_id);
CREATE INDEX switchboard_integrations_by_next ON switchboard_integrations (next_id);
ALTER TABLE switchboards ADD CONSTRAINT switchboards_default_fk
    FOREIGN KEY (default_id) REFERENCES switchboard_integrations (id) ON DELETE SET NULL;

-- A row exists once a conversation's state was set (at creation under an enabled switchboard, or by
-- an action). No row means the switchboard's default is in control; a row with active_id NULL means
-- control was released.
CREATE TABLE conversation_switchboards (
    conversation_id TEXT PRIMARY KEY REFERENCES conversations (id) ON DELETE CASCADE,
    app_id          TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    switchboard_id  TEXT NOT NULL REFERENCES switchboards (id) ON DELETE CASCADE,
    active_id       TEXT REFERENCES switchboard_integrations (id) ON DELETE SET NULL,
    pending_id      TEXT REFERENCES switchboard_integrations (id) ON DELETE SET NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX conversation_switchboards_by_active ON conversation_switchboards (active_id);
CREATE INDEX conversation_switchboards_by_pending ON conversation_switchboards (pending_id);
CREATE INDEX conversation_switchboards_by_switchboard ON conversation_switchboards (switchboard_id);

-- The fan-out of migration 0004, with the switchboard's part, in three steps:
-- 1. Default integration assignment: a user's message in a conversation whose control was released
--    (a row with active_id NULL) gives control to the default again, so that the default receives that
--    message. (events.user_id of conversation:message is the author's, set for users only.)
-- 2. The snapshot of a conversation event gets the conversation's switchboard state
--    (Extra.activeSwitchboardIntegration, Extra.pendingSwitchboardIntegration), which api renders into
--    its payload's conversation as the spec's examples show it.
-- 3. Routing: while the app's switchboard is enabled, a conversation event (conversation:*) reaches the
--    webhooks of an integration linked to it only when that switchboard integration is in control of
--    the conversation (the row's active one, or the default when the conversation has no row) or
--    delivers standby events. Integrations not linked to the switchboard, and every event of a
--    disabled switchboard, are not filtered.
CREATE OR REPLACE FUNCTION events_fan_out() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    k TEXT := COALESCE(NEW.conversation_id, NEW.user_id);
    act TEXT;
    pend TEXT;
    extra JSONB;
BEGIN
    IF NEW.type = 'conversation:message' AND NEW.user_id IS NOT NULL THEN
        UPDATE conversation_switchboards
        SET active_id = (SELECT sb.default_id FROM switchboards sb WHERE sb.id = conversation_switchboards.switchboard_id),
            updated_at = NEW.created_at
        WHERE conversation_id = NEW.conversation_id AND active_id IS NULL
          AND EXISTS (SELECT 1 FROM switchboards sb WHERE sb.id = conversation_switchboards.switchboard_id AND sb.enabled = 1 AND sb.default_id IS NOT NULL);
    END IF;
    IF NEW.conversation_id IS NOT NULL AND NEW.type LIKE 'conversation:%' THEN
        SELECT CASE WHEN cs.conversation_id IS NOT NULL THEN cs.active_id ELSE sb.default_id END, cs.pending_id INTO act, pend
        FROM switchboards sb LEFT JOIN conversation_switchboards cs ON cs.conversation_id = NEW.conversation_id AND cs.switchboard_id = sb.id
        WHERE sb.app_id = NEW.app_id AND (cs.conversation_id IS NOT NULL OR sb.enabled = 1);
        IF act IS NOT NULL OR pend IS NOT NULL THEN
            extra := COALESCE(NULLIF(NEW.data::jsonb -> 'Extra', 'null'::jsonb), '{}'::jsonb);
            IF act IS NOT NULL THEN
                extra := extra || (SELECT jsonb_build_object('activeSwitchboardIntegration', jsonb_build_object('id', si.id, 'name', si.name,
                    'integrationId', si.integration_id, 'integrationType', si.integration_type)) FROM switchboard_integrations si WHERE si.id = act);
            END IF;
            IF pend IS NOT NULL THEN
                extra := extra || (SELECT jsonb_build_object('pendingSwitchboardIntegration', jsonb_build_object('id', si.id, 'name', si.name,
                    'integrationId', si.integration_id, 'integrationType', si.integration_type)) FROM switchboard_integrations si WHERE si.id = pend);
            END IF;
            UPDATE events SET data = jsonb_set(NEW.data::jsonb, '{Extra}', extra)::text WHERE id = NEW.id;
        END IF;
    END IF;
    -- No advisory lock on k here (issue 5, 0004): it could deadlock a read activity against a message.
    INSERT INTO deliveries (app_id, event_id, webhook_id, order_key, next_attempt_at, created_at)
    SELECT NEW.app_id, NEW.id, w.id, k, NEW.created_at, NEW.created_at
    FROM webhooks w
    WHERE w.app_id = NEW.app_id AND strpos(w.triggers, '"' || NEW.type || '"') > 0
      AND NOT (NEW.conversation_id IS NOT NULL AND NEW.type LIKE 'conversation:%' AND EXISTS (
          SELECT 1 FROM switchboards sb JOIN switchboard_integrations si ON si.switchboard_id = sb.id
          WHERE sb.app_id = NEW.app_id AND sb.enabled = 1
            AND si.integration_id = w.integration_id AND si.deliver_standby_events = 0
            AND si.id IS DISTINCT FROM (CASE
                WHEN EXISTS (SELECT 1 FROM conversation_switchboards cs WHERE cs.conversation_id = NEW.conversation_id)
                THEN (SELECT cs.active_id FROM conversation_switchboards cs WHERE cs.conversation_id = NEW.conversation_id)
                ELSE sb.default_id END)))
    ORDER BY w.id;
    RETURN NULL;
END
$$;
