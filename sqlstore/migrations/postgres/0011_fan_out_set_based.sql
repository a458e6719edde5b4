-- The fan-out of migration 0008 in one INSERT for the events of apps without a switchboard: for them
-- the per-event function of 0005 only inserts one delivery per subscribed webhook (its switchboard
-- steps find nothing), but as four plpgsql statements per event, ~135 us each with a webhook
-- subscribed to conversation:message. The deliveries are the same rows in the same order (by event
-- sequence, then webhook id); apps with a switchboard keep the per-event function, unchanged.
-- Deliveries only need ordering within a queue, which belongs to one app, so that the two kinds of
-- apps are handled one after the other changes nothing.
CREATE OR REPLACE FUNCTION events_fan_out_statement() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ev events;
BEGIN
    INSERT INTO deliveries (app_id, event_id, webhook_id, order_key, next_attempt_at, created_at)
    SELECT n.app_id, n.id, w.id, COALESCE(n.conversation_id, n.user_id), n.created_at, n.created_at
    FROM new_events n JOIN webhooks w ON w.app_id = n.app_id AND strpos(w.triggers, '"' || n.type || '"') > 0
    WHERE NOT EXISTS (SELECT 1 FROM switchboards sb WHERE sb.app_id = n.app_id)
    ORDER BY n.seq, w.id;
    FOR ev IN
        SELECT n.* FROM new_events n
        WHERE EXISTS (SELECT 1 FROM switchboards sb WHERE sb.app_id = n.app_id)
        ORDER BY n.seq
    LOOP
        PERFORM events_fan_out_one(ev);
    END LOOP;
    RETURN NULL;
END
$$;
