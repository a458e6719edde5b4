-- Only the first pending delivery of a webhook's conversation (or user) queue is due; the ones behind
-- it wait with next_attempt_at at a far-future mark (253402300799999, the last millisecond of 9999)
-- until it leaves the queue (delivered, given up, or deleted with its event or webhook), when the
-- next one becomes due at its own creation time. Before, every pending delivery stayed due and a
-- claim walked the due index past all those queued behind deliveries in flight, testing each: a
-- claim cost grew with the backlog, and under a steady stream of messages with a webhook the
-- dispatcher fell behind for good. Claims still check that a delivery is first in its queue.
--
-- Concurrency: a new delivery holds FOR SHARE the last pending one of its queue before it, the one
-- whose end it waits for. If that one is being finished (or deleted), the insert waits for it: then it is no longer
-- pending and the new delivery is due at once. If the insert locks it first, the finish waits for the
-- insert to commit, and its promotion then sees the new delivery. Either way no delivery is left
-- waiting behind nothing. (FinishDeliveries finishes one delivery per transaction on PostgreSQL, so
-- that it never holds one queue's lock while waiting for another's.)
-- The first pending delivery of a queue, and the last one before a given sequence number, by seek on
-- deliveries_in_order: a row comparison on the index's columns, ordered as the index is, with
-- sequential scans and sorts ruled out, so that the plan is that index's whatever the statistics say.
-- (Written as "webhook_id = $1 AND order_key = $2 ORDER BY seq LIMIT 1", the planner may take the
-- primary key, ordered by seq too, and filter its way through the whole table: plans made while the
-- table was small did, and under a backlog each finish then cost milliseconds.) plpgsql keeps the
-- plans; a SQL function would plan its query at every call.
CREATE FUNCTION delivery_queue_head(w TEXT, k TEXT) RETURNS BIGINT LANGUAGE plpgsql STABLE
SET enable_seqscan = off SET enable_sort = off AS $$
BEGIN
    RETURN (SELECT f.seq FROM (SELECT p.seq, p.webhook_id, p.order_key FROM deliveries p
        WHERE p.status = 'pending' AND (p.webhook_id, p.order_key, p.seq) > (w, k, -1)
        ORDER BY p.webhook_id, p.order_key, p.seq LIMIT 1) f
    WHERE f.webhook_id = w AND f.order_key = k);
END
$$;
CREATE FUNCTION delivery_queue_before(w TEXT, k TEXT, s BIGINT) RETURNS BIGINT LANGUAGE plpgsql STABLE
SET enable_seqscan = off SET enable_sort = off AS $$
BEGIN
    RETURN (SELECT f.seq FROM (SELECT p.seq, p.webhook_id, p.order_key FROM deliveries p
        WHERE p.status = 'pending' AND (p.webhook_id, p.order_key, p.seq) < (w, k, s)
        ORDER BY p.webhook_id DESC, p.order_key DESC, p.seq DESC LIMIT 1) f
    WHERE f.webhook_id = w AND f.order_key = k);
END
$$;

CREATE OR REPLACE FUNCTION deliveries_queue() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    prev BIGINT;
BEGIN
    IF NEW.order_key IS NOT NULL THEN
        prev := delivery_queue_before(NEW.webhook_id, NEW.order_key, NEW.seq);
        IF prev IS NOT NULL THEN
            -- Locked, and checked again once locked: if it was being finished, it is gone now.
            PERFORM 1 FROM deliveries p WHERE p.seq = prev AND p.status = 'pending' FOR SHARE;
            IF FOUND THEN
                NEW.next_attempt_at := 253402300799999;
            END IF;
        END IF;
    END IF;
    RETURN NEW;
END
$$;

-- A delivery that leaves the pending state makes the first pending one of its queue due.
CREATE FUNCTION deliveries_promote() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE deliveries SET next_attempt_at = created_at
    WHERE seq = delivery_queue_head(OLD.webhook_id, OLD.order_key) AND next_attempt_at = 253402300799999;
    RETURN NULL;
END
$$;
CREATE TRIGGER deliveries_promote_finished AFTER UPDATE OF status ON deliveries FOR EACH ROW
    WHEN (OLD.status = 'pending' AND NEW.status <> 'pending' AND OLD.order_key IS NOT NULL) EXECUTE FUNCTION deliveries_promote();

-- Deletions promote once per statement and queue: a row trigger would run at the end of the statement,
-- when each lookup of a queue's first pending delivery walks past the index entries of every row the
-- statement deleted (invisible, but not removable before commit), n^2 for a webhook deleted with a
-- backlog of n.
CREATE FUNCTION deliveries_promote_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE deliveries d SET next_attempt_at = d.created_at
    FROM (SELECT DISTINCT g.webhook_id, g.order_key FROM gone g
          WHERE g.status = 'pending' AND g.order_key IS NOT NULL
            AND EXISTS (SELECT 1 FROM webhooks w WHERE w.id = g.webhook_id)) q
    WHERE d.seq = delivery_queue_head(q.webhook_id, q.order_key) AND d.next_attempt_at = 253402300799999;
    RETURN NULL;
END
$$;
CREATE TRIGGER deliveries_promote_deleted AFTER DELETE ON deliveries REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION deliveries_promote_deleted();

UPDATE deliveries d SET next_attempt_at = 253402300799999
WHERE d.status = 'pending' AND d.order_key IS NOT NULL AND EXISTS (SELECT 1 FROM deliveries p
    WHERE p.webhook_id = d.webhook_id AND p.order_key = d.order_key AND p.status = 'pending' AND p.seq < d.seq);
