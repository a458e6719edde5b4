package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/sunlamp/sunlamp"
)

// Emit writes ev to the outbox (and its deliveries) in a transaction of its own. Store methods
// emit the events of their changes in the change's transaction; Emit is for events that accompany
// no change of the store: tools, tests and benchmarks.
func (s *Store) Emit(ctx context.Context, ev sunlamp.Event) error {
	return s.inTx(ctx, func(t tx) error { return t.emit(ctx, ev) })
}

// ClaimDeliveries leases the deliveries that are due and first in line for their webhook and
// conversation. On PostgreSQL, FOR UPDATE SKIP LOCKED lets several processes claim at once without
// waiting on each other or taking the same rows; the ordering condition stays safe under it, since
// a delivery only ever leaves the pending state, which can only unblock its followers.
func (s *Store) ClaimDeliveries(ctx context.Context, worker string, now time.Time, lease time.Duration, limit int) ([]sunlamp.Delivery, error) {
	nowMs := now.UnixMilli()
	// The dispatcher claims after every write: look on the read pool first, so that a claim with
	// nothing due never takes SQLite's single writer (or a PostgreSQL transaction).
	var one int
	err := s.queryRow(ctx, "SELECT 1 FROM deliveries WHERE status = 'pending' AND next_attempt_at <= ? AND lease_until <= ? LIMIT 1", nowMs, nowMs).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	var out []sunlamp.Delivery
	err = s.inTx(ctx, func(t tx) error {
		// First in line: no pending delivery of its queue before it. (On PostgreSQL through the
		// seek of migration 0010, whose plan cannot degrade into a scan of the table.)
		// First in line: no pending delivery of its queue before it.
		q := `SELECT d.seq FROM deliveries d
			WHERE d.status = 'pending' AND d.next_attempt_at <= ? AND d.lease_until <= ?
			AND (d.order_key IS NULL OR ` + s.d.queueHead + `)
			ORDER BY d.next_attempt_at, d.seq LIMIT ?` + s.d.lock("UPDATE OF d SKIP LOCKED") // the due index's order: a walk that stops at the limit
		rows, err := t.query(ctx, q, nowMs, nowMs, limit)
		if err != nil {
			return err
		}
		var seqs []any
		for rows.Next() {
			var seq int64
			if err := rows.Scan(&seq); err != nil {
				rows.Close()
				return err
			}
			seqs = append(seqs, seq)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(seqs) == 0 {
			return nil
		}
		in := inList(len(seqs))
		args := append([]any{now.Add(lease).UnixMilli(), worker, nowMs}, seqs...)
		if _, err := t.exec(ctx, "UPDATE deliveries SET attempts = attempts + 1, lease_until = ?, claimed_by = ?, first_attempt_at = COALESCE(first_attempt_at, ?) WHERE seq IN "+in, args...); err != nil {
			return err
		}
		rows, err = t.query(ctx, `SELECT d.seq, d.attempts, d.first_attempt_at,
				e.id, e.app_id, e.type, e.conversation_id, e.user_id, e.integration_id, e.data, e.created_at,
				w.id, w.app_id, w.integration_id, w.version, w.target, w.triggers, w.secret, w.include_full_user, w.include_full_source, w.created_at
			FROM deliveries d JOIN events e ON e.id = d.event_id JOIN webhooks w ON w.id = d.webhook_id
			WHERE d.seq IN `+in+` ORDER BY d.seq`, seqs...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			d := sunlamp.Delivery{ClaimedBy: worker}
			var first, evCreated, wCreated int64
			var conv, user, integ sql.NullString
			var data, triggers string
			var fullUser, fullSource int
			w := &d.Webhook
			if err := rows.Scan(&d.ID, &d.Attempt, &first,
				&d.Event.ID, &d.Event.AppID, &d.Event.Type, &conv, &user, &integ, &data, &evCreated,
				&w.ID, &w.AppID, &w.IntegrationID, &w.Version, &w.Target, &triggers, &w.Secret, &fullUser, &fullSource, &wCreated); err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(triggers), &w.Triggers); err != nil {
				return fmt.Errorf("decode triggers: %w", err)
			}
			w.IncludeFullUser, w.IncludeFullSource = fullUser != 0, fullSource != 0
			w.CreatedAt = sunlamp.FromMillis(wCreated)
			d.FirstAttemptAt = sunlamp.FromMillis(first)
			d.Event.ConversationID, d.Event.UserID, d.Event.IntegrationID = conv.String, user.String, integ.String
			if d.Event.Data, err = decodeEventData(data); err != nil {
				return fmt.Errorf("event %s: %w", d.Event.ID, err)
			}
			d.Event.CreatedAt = sunlamp.FromMillis(evCreated)
			out = append(out, d)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	return out, nil
}

// FinishDeliveries records the results of attempts, each a transaction of its own where transactions
// run concurrently (the executor's each), so that finishing never holds one queue's delivery while
// waiting for another's, which a concurrent insert behind both may hold (see migration 0010). A
// finish lost in a crash only means one more attempt, which at-least-once delivery allows.
//
// A delivery that leaves its queue (delivered, given up) makes the next one of its queue due
// (trigger deliveries_promote_finished); one attempted again later keeps the ones behind it waiting.
func (s *Store) FinishDeliveries(ctx context.Context, now time.Time, results []sunlamp.DeliveryResult) error {
	if len(results) == 0 {
		return nil
	}
	nowMs := now.UnixMilli()
	stmts := make([]stmt, len(results))
	for i, r := range results {
		stmts[i] = finishStmt(nowMs, r)
	}
	// A finish can lose a deadlock against a writer removing deliveries (a purge, a deletion):
	// running the statements again is harmless, since each applies only while the delivery is still
	// the attempt's, so the ones that committed the first time change nothing.
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if err = s.d.exec.each(ctx, s, stmts); sunlamp.KindOf(err) != sunlamp.KindRateLimited {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("finish deliveries: %w", err)
	}
	if err := s.forgetEndedRemovals(ctx, results); err != nil {
		return fmt.Errorf("finish deliveries: %w", err)
	}
	return nil
}

// forgetEndedRemovals forgets the externalId of the user:remove events whose last delivery ended
// among results (forgetRemovedUser), at once rather than when the outbox's retention (24 hours)
// prunes the event. A result whose recorded attempt names another type of event is not looked up.
//
// With several processes finishing the deliveries of one event at once, each looks after its own
// commit: the last one to commit sees no pending delivery left (the others' commits came before its
// look), so the externalId is always forgotten.
func (s *Store) forgetEndedRemovals(ctx context.Context, results []sunlamp.DeliveryResult) error {
	var seqs []any
	for _, r := range results {
		if r.Outcome != sunlamp.Delivered && r.Outcome != sunlamp.GiveUp {
			continue
		}
		if r.Record != nil && r.Record.EventType != removedUserEvent {
			continue
		}
		seqs = append(seqs, r.ID)
	}
	if len(seqs) == 0 {
		return nil
	}
	return s.forgetRemovals(s.query(ctx, `SELECT e.id, e.data FROM events e
		WHERE e.id IN (SELECT d.event_id FROM deliveries d WHERE d.seq IN `+inList(len(seqs))+`) AND e.type = ?
		AND NOT EXISTS (SELECT 1 FROM deliveries p WHERE p.event_id = e.id AND p.status = 'pending')`, append(seqs, removedUserEvent)...))
}

// forgetOrphanedRemovals forgets the externalId of the app's user:remove events that no delivery is
// pending for any more because their webhook or integration was deleted (its deliveries went by
// cascade, which forgetEndedRemovals does not see). It reads the app's user:remove events, which
// the outbox keeps 24 hours: few.
func (s *Store) forgetOrphanedRemovals(ctx context.Context, appID string) error {
	return s.forgetRemovals(s.query(ctx, `SELECT e.id, e.data FROM events e WHERE e.app_id = ? AND e.type = ?
		AND NOT EXISTS (SELECT 1 FROM deliveries p WHERE p.event_id = e.id AND p.status = 'pending')`, appID, removedUserEvent))
}

// forgetRemovals rewrites the user:remove events of rows (id, data) without the deleted user's
// externalId (forgetRemovedUser), those that still have it.
func (s *Store) forgetRemovals(rows *sql.Rows, err error) error {
	ctx := context.Background() // the rows' query is done; the rewrite must not stop half-way
	found, err := storedEvents(rows, err)
	if err != nil {
		return err
	}
	var evs []storedEvent
	for _, e := range found {
		forgotten, changed, err := forgetRemovedUser(e.data)
		if err != nil {
			return fmt.Errorf("event %s: %w", e.id, err)
		}
		if changed {
			evs = append(evs, storedEvent{e.id, forgotten})
		}
	}
	if len(evs) == 0 {
		return nil
	}
	err = s.inTxRetried(ctx, func(t tx) error {
		for _, e := range evs {
			if _, err := t.exec(ctx, "UPDATE events SET data = ? WHERE id = ?", e.data, e.id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("forget the externalId of user:remove: %w", err)
	}
	s.eraseLogs(ctx) // the old data is in SQLite's write-ahead log (PostgreSQL: a dead tuple)
	return nil
}

// finishStmt is the statement that records the result of one attempt, if the delivery is still the
// attempt's.
func finishStmt(nowMs int64, r sunlamp.DeliveryResult) stmt {
	var status any
	if r.Status != 0 {
		status = r.Status
	}
	const claim = " WHERE seq = ? AND claimed_by = ? AND attempts = ? AND status = 'pending'"
	switch r.Outcome {
	case sunlamp.Delivered:
		return stmt{"UPDATE deliveries SET status = 'done', lease_until = 0, claimed_by = NULL, last_status = ?, last_error = NULL, finished_at = ?" + claim,
			[]any{status, nowMs, r.ID, r.ClaimedBy, r.Attempt}}
	case sunlamp.GiveUp:
		return stmt{"UPDATE deliveries SET status = 'failed', lease_until = 0, claimed_by = NULL, last_status = ?, last_error = ?, finished_at = ?" + claim,
			[]any{status, nullStr(r.Error), nowMs, r.ID, r.ClaimedBy, r.Attempt}}
	}
	return stmt{"UPDATE deliveries SET next_attempt_at = ?, lease_until = 0, claimed_by = NULL, last_status = ?, last_error = ?" + claim,
		[]any{r.NextAttemptAt.UnixMilli(), status, nullStr(r.Error), r.ID, r.ClaimedBy, r.Attempt}}
}

// ReleaseDeliveryClaims ends the leases of worker, or every lease when worker is "".
func (s *Store) ReleaseDeliveryClaims(ctx context.Context, worker string) error {
	q, args := "UPDATE deliveries SET lease_until = 0, claimed_by = NULL WHERE status = 'pending' AND claimed_by IS NOT NULL", []any{}
	if worker != "" {
		q += " AND claimed_by = ?"
		args = append(args, worker)
	}
	err := s.inTx(ctx, func(t tx) error {
		_, err := t.exec(ctx, q, args...)
		return err
	})
	if err != nil {
		return fmt.Errorf("release delivery claims: %w", err)
	}
	return nil
}

// pruneBatch bounds the rows one pruning transaction deletes, so that pruning a busy day never
// holds SQLite's writer for long.
const pruneBatch = 1000

// PruneDeliveries removes finished deliveries, events that no delivery needs, and the flight
// recorder's attempts, older than before, a batch per transaction.
func (s *Store) PruneDeliveries(ctx context.Context, before time.Time) error {
	ms := before.UnixMilli()
	for _, q := range []string{
		"DELETE FROM deliveries WHERE seq IN (SELECT seq FROM deliveries WHERE status <> 'pending' AND finished_at < ? LIMIT ?)",
		"DELETE FROM events WHERE seq IN (SELECT e.seq FROM events e WHERE e.created_at < ? AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id) LIMIT ?)",
		// The webhook flight recorder's attempts, and its marks of erased users (emulator_recorder.go).
		"DELETE FROM delivery_attempts WHERE id IN (SELECT id FROM delivery_attempts WHERE created_at < ? LIMIT ?)",
		"DELETE FROM recorder_erasures WHERE user_id IN (SELECT user_id FROM recorder_erasures WHERE erased_at < ? LIMIT ?)",
	} {
		for {
			var n int64
			err := s.inTx(ctx, func(t tx) error {
				res, err := t.exec(ctx, q, ms, pruneBatch)
				if err == nil {
					n, _ = res.RowsAffected()
				}
				return err
			})
			if err != nil {
				return fmt.Errorf("prune deliveries: %w", err)
			}
			if n < pruneBatch {
				break
			}
		}
	}
	return nil
}

// PendingDeliveries returns the number of deliveries not yet finished (for tests and tools).
func (s *Store) PendingDeliveries(ctx context.Context) (int, error) {
	var n int
	if err := s.queryRow(ctx, "SELECT COUNT(*) FROM deliveries WHERE status = 'pending'").Scan(&n); err != nil {
		return 0, fmt.Errorf("count pending deliveries: %w", err)
	}
	return n, nil
}
