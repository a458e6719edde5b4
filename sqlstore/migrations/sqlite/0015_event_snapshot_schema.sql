-- Event snapshots have a schema of their own (sqlstore/snapshot.go, version 1) instead of the JSON of
-- Go structs: the fan-out writes the switchboard state of a conversation event at the top level of
-- the snapshot, as activeSwitchboardIntegration and pendingSwitchboardIntegration ({id, name,
-- integrationId, integrationType}), instead of under Extra. The rest of 0008's body is unchanged.
DROP TRIGGER events_fan_out;
CREATE TRIGGER events_fan_out AFTER INSERT ON events
WHEN EXISTS (SELECT 1 FROM webhooks w WHERE w.app_id = NEW.app_id) OR EXISTS (SELECT 1 FROM switchboards sb WHERE sb.app_id = NEW.app_id)
BEGIN
    UPDATE conversation_switchboards
    SET active_id = (SELECT sb.default_id FROM switchboards sb WHERE sb.id = conversation_switchboards.switchboard_id),
        updated_at = NEW.created_at
    WHERE NEW.type = 'conversation:message' AND NEW.user_id IS NOT NULL
      AND conversation_id = NEW.conversation_id AND active_id IS NULL
      AND EXISTS (SELECT 1 FROM switchboards sb WHERE sb.id = conversation_switchboards.switchboard_id AND sb.enabled = 1 AND sb.default_id IS NOT NULL);
    UPDATE events SET data = (
        SELECT json_set(events.data, '$.activeSwitchboardIntegration',
            json_object('id', si.id, 'name', si.name, 'integrationId', si.integration_id, 'integrationType', si.integration_type))
        FROM switchboard_integrations si WHERE si.id = (SELECT CASE WHEN cs.conversation_id IS NOT NULL THEN cs.active_id ELSE sb.default_id END
            FROM switchboards sb LEFT JOIN conversation_switchboards cs ON cs.conversation_id = NEW.conversation_id AND cs.switchboard_id = sb.id
            WHERE sb.app_id = NEW.app_id AND (cs.conversation_id IS NOT NULL OR sb.enabled = 1)))
    WHERE id = NEW.id AND NEW.conversation_id IS NOT NULL AND NEW.type LIKE 'conversation:%'
      AND (SELECT CASE WHEN cs.conversation_id IS NOT NULL THEN cs.active_id ELSE sb.default_id END
            FROM switchboards sb LEFT JOIN conversation_switchboards cs ON cs.conversation_id = NEW.conversation_id AND cs.switchboard_id = sb.id
            WHERE sb.app_id = NEW.app_id AND (cs.conversation_id IS NOT NULL OR sb.enabled = 1)) IS NOT NULL;
    UPDATE events SET data = (
        SELECT json_set(events.data, '$.pendingSwitchboardIntegration',
            json_object('id', si.id, 'name', si.name, 'integrationId', si.integration_id, 'integrationType', si.integration_type))
        FROM switchboard_integrations si WHERE si.id = (SELECT cs.pending_id FROM conversation_switchboards cs WHERE cs.conversation_id = NEW.conversation_id))
    WHERE id = NEW.id AND NEW.conversation_id IS NOT NULL AND NEW.type LIKE 'conversation:%'
      AND (SELECT cs.pending_id FROM conversation_switchboards cs WHERE cs.conversation_id = NEW.conversation_id) IS NOT NULL;
    INSERT INTO deliveries (app_id, event_id, webhook_id, order_key, next_attempt_at, created_at)
    SELECT NEW.app_id, NEW.id, w.id, COALESCE(NEW.conversation_id, NEW.user_id), NEW.created_at, NEW.created_at
    FROM webhooks w
    WHERE w.app_id = NEW.app_id AND instr(w.triggers, '"' || NEW.type || '"') > 0
      AND NOT (NEW.conversation_id IS NOT NULL AND NEW.type LIKE 'conversation:%' AND EXISTS (
          SELECT 1 FROM switchboards sb JOIN switchboard_integrations si ON si.switchboard_id = sb.id
          WHERE sb.app_id = NEW.app_id AND sb.enabled = 1
            AND si.integration_id = w.integration_id AND si.deliver_standby_events = 0
            AND si.id IS NOT (CASE
                WHEN EXISTS (SELECT 1 FROM conversation_switchboards cs WHERE cs.conversation_id = NEW.conversation_id)
                THEN (SELECT cs.active_id FROM conversation_switchboards cs WHERE cs.conversation_id = NEW.conversation_id)
                ELSE sb.default_id END)))
    ORDER BY w.id;
END;
