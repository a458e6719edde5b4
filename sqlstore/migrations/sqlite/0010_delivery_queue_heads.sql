-- Only the first pending delivery of a webhook's conversation (or user) queue is due; the ones behind
-- it wait with next_attempt_at at a far-future mark (253402300799999, the last millisecond of 9999)
-- until it leaves the queue (delivered, given up, or deleted with its event or webhook), when the
-- next one becomes due at its own creation time. Before, every pending delivery stayed due and a
-- claim walked the due index past all those queued behind deliveries in flight, testing each: a
-- claim cost grew with the backlog, and under a steady stream of messages with a webhook the
-- dispatcher fell behind for good. Claims still check that a delivery is first in its queue.
-- (Numbered 0009 before the two folders were aligned: written so that a database that ran it under
-- that number runs it again unharmed.)
DROP TRIGGER IF EXISTS deliveries_queue;
DROP TRIGGER IF EXISTS deliveries_promote_finished;
DROP TRIGGER IF EXISTS deliveries_promote_deleted;
CREATE TRIGGER deliveries_queue AFTER INSERT ON deliveries
WHEN NEW.order_key IS NOT NULL AND EXISTS (SELECT 1 FROM deliveries p
    WHERE p.webhook_id = NEW.webhook_id AND p.order_key = NEW.order_key AND p.status = 'pending' AND p.seq < NEW.seq)
BEGIN
    UPDATE deliveries SET next_attempt_at = 253402300799999 WHERE seq = NEW.seq;
END;

CREATE TRIGGER deliveries_promote_finished AFTER UPDATE OF status ON deliveries
WHEN OLD.status = 'pending' AND NEW.status <> 'pending' AND OLD.order_key IS NOT NULL
BEGIN
    UPDATE deliveries SET next_attempt_at = created_at
    WHERE seq = (SELECT p.seq FROM deliveries p WHERE p.webhook_id = OLD.webhook_id AND p.order_key = OLD.order_key AND p.status = 'pending' ORDER BY p.seq LIMIT 1)
      AND next_attempt_at = 253402300799999;
END;

CREATE TRIGGER deliveries_promote_deleted AFTER DELETE ON deliveries
WHEN OLD.status = 'pending' AND OLD.order_key IS NOT NULL
BEGIN
    UPDATE deliveries SET next_attempt_at = created_at
    WHERE seq = (SELECT p.seq FROM deliveries p WHERE p.webhook_id = OLD.webhook_id AND p.order_key = OLD.order_key AND p.status = 'pending' ORDER BY p.seq LIMIT 1)
      AND next_attempt_at = 253402300799999;
END;

UPDATE deliveries SET next_attempt_at = 253402300799999
WHERE status = 'pending' AND order_key IS NOT NULL AND EXISTS (SELECT 1 FROM deliveries p
    WHERE p.webhook_id = deliveries.webhook_id AND p.order_key = deliveries.order_key AND p.status = 'pending' AND p.seq < deliveries.seq);
