-- The fan-out of migrations 0004 and 0005, once per statement instead of once per row. A row trigger
-- cost ~41 us of each ~75 us event insert (its plpgsql queries run for every row, even for an app with
-- no webhook and no switchboard, where they find nothing), and PostMessage writes its events in
-- multi-row INSERTs. The statement trigger reads the inserted rows from a transition table, skips at
-- once the events of apps without webhooks and switchboards, and runs the per-row logic of 0005,
-- unchanged, for the others, in sequence order. Nothing else changes: PostgreSQL fires AFTER ROW
-- triggers at the end of the statement in insertion order too, and the deliveries are still written
-- in the transaction of their event.
CREATE FUNCTION events_fan_out_one(ev events) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    k TEXT := COALESCE(ev.conversation_id, ev.user_id);
    act TEXT;
    pend TEXT;
    extra JSONB;
BEGIN
    IF ev.type = 'conversation:message' AND ev.user_id IS NOT NULL THEN
        UPDATE conversation_switchboards
        SET active_id = (SELECT sb.default_id FROM switchboards sb WHERE sb.id = conversation_switchboards.switchboard_id),
            updated_at = ev.created_at
        WHERE conversation_id = ev.conversation_id AND active_id IS NULL
          AND EXISTS (SELECT 1 FROM switchboards sb WHERE sb.id = conversation_switchboards.switchboard_id AND sb.enabled = 1 AND sb.default_id IS NOT NULL);
    END IF;
    IF ev.conversation_id IS NOT NULL AND ev.type LIKE 'conversation:%' THEN
        SELECT CASE WHEN cs.conversation_id IS NOT NULL THEN cs.active_id ELSE sb.default_id END, cs.pending_id INTO act, pend
        FROM switchboards sb LEFT JOIN conversation_switchboards cs ON cs.conversation_id = ev.conversation_id AND cs.switchboard_id = sb.id
        WHERE sb.app_id = ev.app_id AND (cs.conversation_id IS NOT NULL OR sb.enabled = 1);
        IF act IS NOT NULL OR pend IS NOT NULL THEN
            extra := COALESCE(NULLIF(ev.data::jsonb -> 'Extra', 'null'::jsonb), '{}'::jsonb);
            IF act IS NOT NULL THEN
                extra := extra || (SELECT jsonb_build_object('activeSwitchboardIntegration', jsonb_build_object('id', si.id, 'name', si.name,
                    'integrationId', si.integration_id, 'integrationType', si.integration_type)) FROM switchboard_integrations si WHERE si.id = act);
            END IF;
            IF pend IS NOT NULL THEN
                extra := extra || (SELECT jsonb_build_object('pendingSwitchboardIntegration', jsonb_build_object('id', si.id, 'name', si.name,
                    'integrationId', si.integration_id, 'integrationType', si.integration_type)) FROM switchboard_integrations si WHERE si.id = pend);
            END IF;
            UPDATE events SET data = jsonb_set(ev.data::jsonb, '{Extra}', extra)::text WHERE id = ev.id;
        END IF;
    END IF;
    INSERT INTO deliveries (app_id, event_id, webhook_id, order_key, next_attempt_at, created_at)
    SELECT ev.app_id, ev.id, w.id, k, ev.created_at, ev.created_at
    FROM webhooks w
    WHERE w.app_id = ev.app_id AND strpos(w.triggers, '"' || ev.type || '"') > 0
      AND NOT (ev.conversation_id IS NOT NULL AND ev.type LIKE 'conversation:%' AND EXISTS (
          SELECT 1 FROM switchboards sb JOIN switchboard_integrations si ON si.switchboard_id = sb.id
          WHERE sb.app_id = ev.app_id AND sb.enabled = 1
            AND si.integration_id = w.integration_id AND si.deliver_standby_events = 0
            AND si.id IS DISTINCT FROM (CASE
                WHEN EXISTS (SELECT 1 FROM conversation_switchboards cs WHERE cs.conversation_id = ev.conversation_id)
                THEN (SELECT cs.active_id FROM conversation_switchboards cs WHERE cs.conversation_id = ev.conversation_id)
                ELSE sb.default_id END)))
    ORDER BY w.id;
END
$$;

CREATE FUNCTION events_fan_out_statement() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ev events;
BEGIN
    FOR ev IN
        SELECT n.* FROM new_events n
        WHERE n.app_id IN (SELECT a.app_id FROM (SELECT DISTINCT app_id FROM new_events) a
                           WHERE EXISTS (SELECT 1 FROM webhooks w WHERE w.app_id = a.app_id)
                              OR EXISTS (SELECT 1 FROM switchboards sb WHERE sb.app_id = a.app_id))
        ORDER BY n.seq
    LOOP
        PERFORM events_fan_out_one(ev);
    END LOOP;
    RETURN NULL;
END
$$;

DROP TRIGGER events_fan_out ON events;
DROP FUNCTION events_fan_out();
CREATE TRIGGER events_fan_out AFTER INSERT ON events REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION events_fan_out_statement();
