package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/sunlamp/sunlamp"
)

// purgeBatch is how many messages one background transaction removes: small enough that other
// writers wait a few milliseconds at most between two batches.
const purgeBatch = 500

// purgeState is the background remover of deleted users' history.
type purgeState struct {
	disabled bool // WithoutBackgroundPurge
	job      *job
}

// WithoutBackgroundPurge keeps the store from removing deleted users' history in the background
// (tests use it to show that the removal resumes after a restart; PurgeDeletedUsers still works).
func WithoutBackgroundPurge() Option { return func(s *Store) { s.purge.disabled = true } }

// startPurger starts the background remover and has it look for work left by an earlier process.
func (s *Store) startPurger() {
	if s.purge.disabled {
		return
	}
	s.purge.job = startJob(everyOrWoken(0, func(ctx context.Context) {
		// On failure, try again a little later: the work is in user_purges and nothing is lost.
		for s.PurgeDeletedUsers(ctx) != nil && ctx.Err() == nil {
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}))
	s.wakePurger()
}

// stopPurger stops the background remover and waits for it; unfinished work stays in user_purges.
func (s *Store) stopPurger() { s.purge.job.stop() }

// wakePurger asks the remover to look for work now.
func (s *Store) wakePurger() { s.purge.job.wake() }

// PurgeDeletedUsers removes the conversation history of every user deleted by DeleteUser whose
// removal has not finished, one small transaction at a time, and returns when none is left. The
// background remover calls it; tests call it to wait for the removal.
func (s *Store) PurgeDeletedUsers(ctx context.Context) error {
	for {
		var appID, userID string
		err := s.queryRow(ctx, "SELECT app_id, user_id FROM user_purges ORDER BY created_at, user_id LIMIT 1").Scan(&appID, &userID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("purge deleted users: %w", err)
		}
		for {
			done, err := s.purgeStep(ctx, appID, userID)
			if err != nil {
				return fmt.Errorf("purge deleted user: %w", err)
			}
			if done {
				break
			}
		}
		s.observePurged()
		s.wakeMediaJanitor() // the files of the user's attachments, which the cascades put in the trash
		s.eraseLogs(ctx)
	}
}

// purgeStep does one bounded piece of the removal of a deleted user's history, and reports whether
// the removal is complete: first the messages of the user's personal conversations, then those
// conversations, then the messages it wrote in group conversations, and last the user row itself
// (participants, clients and devices cascade) and its purge row.
func (s *Store) purgeStep(ctx context.Context, appID, userID string) (done bool, err error) {
	err = s.inTx(ctx, func(t tx) error {
		// Its personal conversations: the default one, and any other it takes part in.
		var convID string
		err := t.queryRow(ctx, "SELECT id FROM conversations WHERE default_user_id = ? AND app_id = ?", userID, appID).Scan(&convID)
		if errors.Is(err, sql.ErrNoRows) {
			err = t.queryRow(ctx, "SELECT c.id FROM participants p JOIN conversations c ON c.id = p.conversation_id WHERE p.user_id = ? AND c.app_id = ? AND c.type = ? ORDER BY c.id LIMIT 1",
				userID, appID, sunlamp.ConversationPersonal).Scan(&convID)
		}
		switch {
		case err == nil:
			// The attachments of the batch go with it (cascade); the receipt counts them as the
			// conversation's attachments before and after, an index probe when it has none.
			var filesBefore, filesAfter int64
			if err := t.queryRow(ctx, "SELECT COUNT(*) FROM attachments WHERE conversation_id = ?", convID).Scan(&filesBefore); err != nil {
				return err
			}
			res, err := t.exec(ctx, "DELETE FROM messages WHERE conversation_id = ? AND id IN (SELECT id FROM messages WHERE conversation_id = ? ORDER BY id LIMIT ?)", convID, convID, purgeBatch)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n > 0 {
				if filesBefore > 0 {
					if err := t.queryRow(ctx, "SELECT COUNT(*) FROM attachments WHERE conversation_id = ?", convID).Scan(&filesAfter); err != nil {
						return err
					}
				}
				return t.countDeletion(ctx, userID, n, 0, filesBefore-filesAfter)
			}
			files := filesBefore // what is left goes with the conversation below
			// Its outbox events (one per message) go in batches too, through events_by_conversation,
			// with what the webhook flight recorder kept of them: the business's messages in the
			// conversation carry no user id, so the user's own removal below would not find them.
			t.outboxChanged() // the deliveries queued behind a removed one may now be due
			events, err := t.ids(ctx, "SELECT id FROM events WHERE conversation_id = ? LIMIT ?", convID, purgeBatch)
			if err != nil {
				return err
			}
			if len(events) > 0 {
				in := placeholders(len(events))
				if _, err := t.exec(ctx, "DELETE FROM delivery_attempts WHERE event_id IN ("+in+")", events...); err != nil {
					return err
				}
				_, err := t.exec(ctx, "DELETE FROM events WHERE id IN ("+in+")", events...)
				return err
			}
			res, err = t.exec(ctx, "DELETE FROM conversations WHERE id = ?", convID)
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			return t.countDeletion(ctx, userID, 0, n, files)
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		rows, err := t.query(ctx, "SELECT conversation_id, id FROM messages WHERE author_user_id = ? AND app_id = ? LIMIT ?", userID, appID, purgeBatch)
		if err != nil {
			return err
		}
		byConv := map[string][]any{}
		for rows.Next() {
			var c, id string
			if err := rows.Scan(&c, &id); err != nil {
				rows.Close()
				return err
			}
			byConv[c] = append(byConv[c], id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(byConv) > 0 {
			var messages, files int64
			for c, ids := range byConv {
				args := append([]any{c}, ids...)
				var n int64
				if err := t.queryRow(ctx, "SELECT COUNT(*) FROM attachments WHERE conversation_id = ? AND message_id IN ("+placeholders(len(ids))+")", args...).Scan(&n); err != nil {
					return err
				}
				files += n
				res, err := t.exec(ctx, "DELETE FROM messages WHERE conversation_id = ? AND id IN ("+placeholders(len(ids))+")", args...)
				if err != nil {
					return err
				}
				n, _ = res.RowsAffected()
				messages += n
				if _, err := t.exec(ctx, "UPDATE conversations SET message_count = message_count - ? WHERE id = ?", len(ids), c); err != nil {
					return err
				}
			}
			return t.countDeletion(ctx, userID, messages, 0, files)
		}
		// user:remove is spared: another purger of the same user may have emitted it already.
		t.outboxChanged() // the deliveries queued behind a removed one may now be due
		res, err := t.exec(ctx, "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE user_id = ? AND type <> ? LIMIT ?)", userID, "user:remove", purgeBatch)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n > 0 {
			return nil
		}
		// The user's own uploads not attached to a removed message go with the user row (cascade).
		var files int64
		if err := t.queryRow(ctx, "SELECT COUNT(*) FROM attachments WHERE user_id = ?", userID).Scan(&files); err != nil {
			return err
		}
		if _, err := t.exec(ctx, "DELETE FROM users WHERE id = ? AND app_id = ?", userID, appID); err != nil {
			return err
		}
		// What the webhook flight recorder sent of the user's events goes with them.
		if _, err := t.exec(ctx, "DELETE FROM delivery_attempts WHERE user_id = ?", userID); err != nil {
			return err
		}
		// Another purger (a second process, or PurgeDeletedUsers beside the background one) may
		// have finished first: then there is no purge row left and nothing to emit.
		var removed sql.NullString
		err = t.queryRow(ctx, "DELETE FROM user_purges WHERE user_id = ? RETURNING removed_event", userID).Scan(&removed)
		done = true
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err == nil && !removed.Valid {
			return t.completePurge(ctx, appID, userID, files)
		}
		if err != nil {
			return err
		}
		if err := t.completePurge(ctx, appID, userID, files); err != nil {
			return err
		}
		data, err := decodeEventData(removed.String)
		if err != nil {
			return fmt.Errorf("user:remove of %s: %w", userID, err)
		}
		return t.emit(ctx, sunlamp.Event{Type: "user:remove", AppID: appID, UserID: userID, Data: data})
	})
	return done, err
}

// completePurge completes the deletion receipt of userID with the last files removed, and records
// the audit entry of the completed deletion with what the whole purge removed. The work is the
// store's own: its key is the system's, whoever asked for the deletion (that is the deleteUser entry).
func (t tx) completePurge(ctx context.Context, appID, userID string, files int64) error {
	if err := t.countDeletion(ctx, userID, 0, 0, files); err != nil {
		return err
	}
	d, ok, err := t.completeDeletion(ctx, userID, t.s.now().UnixMilli())
	if err != nil {
		return err
	}
	e := sunlamp.AuditEntry{AppID: appID, Operation: sunlamp.AuditDeleteUserCompleted, UserID: userID, KeyID: sunlamp.AuditSystemActor}
	if ok {
		e.Counts = map[string]int64{sunlamp.CountMessagesRemoved: d.MessagesRemoved, sunlamp.CountConversationsRemoved: d.ConversationsRemoved, sunlamp.CountFilesRemoved: d.FilesRemoved}
	}
	return t.recordAudit(ctx, e)
}
