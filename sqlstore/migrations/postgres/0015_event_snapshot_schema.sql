-- Event snapshots have a schema of their own (sqlstore/snapshot.go, version 1) instead of the JSON of
-- Go structs: the fan-out writes the switchboard state of a conversation event at the top level of
-- the snapshot, as activeSwitchboardIntegration and pendingSwitchboardIntegration ({id, name,
-- integrationId, integrationType}), instead of under Extra. The rest of 0008's function is unchanged
-- (0011's statement function still calls it for the apps with a switchboard).
CREATE OR REPLACE FUNCTION events_fan_out_one(ev events) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    k TEXT := COALESCE(ev.conversation_id, ev.user_id);
    act TEXT;
    pend TEXT;
    doc JSONB;
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
            doc := ev.data::jsonb;
            IF act IS NOT NULL THEN
                doc := doc || (SELECT jsonb_build_object('activeSwitchboardIntegration', jsonb_build_object('id', si.id, 'name', si.name,
                    'integrationId', si.integration_id, 'integrationType', si.integration_type)) FROM switchboard_integrations si WHERE si.id = act);
            END IF;
            IF pend IS NOT NULL THEN
                doc := doc || (SELECT jsonb_build_object('pendingSwitchboardIntegration', jsonb_build_object('id', si.id, 'name', si.name,
                    'integrationId', si.integration_id, 'integrationType', si.integration_type)) FROM switchboard_integrations si WHERE si.id = pend);
            END IF;
            UPDATE events SET data = doc::text WHERE id = ev.id;
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
