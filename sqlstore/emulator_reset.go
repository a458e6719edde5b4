package sqlstore

import (
	"context"
	"database/sql/driver"
	"fmt"

	"github.com/sunlamp/sunlamp"
)

// The emulator's resets (issue 15). Each is one transaction of a few set-based DELETEs, children
// before their parents, each through an index of the app (or of the rows the statement before it
// deleted), so that no statement scans another app's rows. An app's reset runs with the foreign
// keys off where it can (uncheckedReset, below: always on SQLite, on PostgreSQL for a role that may);
// appResets is the reset with them on.

// appResets empties an app but its configuration, in order, with the foreign keys on: the outbox
// and the recorder, then attachments, conversations (their messages, participants and switchboard
// states cascade through the conversation's key), and the users with their devices and clients.
var appResets = []string{
	"DELETE FROM events WHERE app_id = ?", // their deliveries cascade (deliveries_by_event)
	"DELETE FROM delivery_attempts WHERE app_id = ?",
	"DELETE FROM user_purges WHERE app_id = ?",
	"DELETE FROM deletions WHERE app_id = ?",
	"DELETE FROM audit_entries WHERE app_id = ?", // a reset app starts with an empty audit trail too
	"DELETE FROM attachments WHERE app_id = ?",
	"DELETE FROM messages WHERE conversation_id IN (SELECT id FROM conversations WHERE app_id = ?)",
	"DELETE FROM conversations WHERE app_id = ?",
	"DELETE FROM devices WHERE app_id = ?", // devices_by_guid starts with app_id
	"DELETE FROM clients WHERE user_id IN (SELECT id FROM users WHERE app_id = ?)",
	"DELETE FROM users WHERE app_id = ?",
}

// ResetApp empties the app but its settings, keys, integrations, webhooks and switchboard; see
// sunlamp.ResetStore. The files of its attachments are removed before it returns.
func (s *Store) ResetApp(ctx context.Context, appID string) error {
	unchecked := s.ResetsUnchecked(ctx)
	err := s.inResetTx(ctx, unchecked, func(t tx) error {
		// On PostgreSQL the app's row is locked against a concurrent DeleteApp (and a concurrent
		// reset); writers of the app's data take no lock on it, and what they commit meanwhile is
		// either removed here or written after.
		if err := t.lockForCount(ctx, "apps", "id = ?", sunlamp.ErrAppNotFound, appID); err != nil {
			return err
		}
		t.outboxChanged()
		if unchecked {
			return t.resetUnchecked(ctx, appID)
		}
		for _, q := range appResets {
			if _, err := t.exec(ctx, q, appID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("reset app: %w", err)
	}
	return s.purgeMedia(ctx)
}

// uncheckedReset is a dialect's reset of an app with the foreign keys' actions and checks turned off
// for its transaction. They were most of a reset's time: every deleted user and conversation ran
// one lookup per referencing table (six for a user), each finding nothing left to do, since the
// reset deletes the children itself. Without them nothing else removes a row's children, so the
// steps name every table of an app's data (TestResetApp compares the whole database with the app's
// state before its data came in).
//
// PostgreSQL (session_replication_role, for its transaction) has writers running beside the
// reset, so the steps run parents first: each child is deleted after its parents, through the ids
// their deletions returned. A writer that adds a child meanwhile either committed before the
// child's step (which removes it) or waits on the parent's row lock and then fails its own
// foreign-key check, which still runs in its transaction: no child outlives its parent
// (TestResetUnderConcurrentWriters). SQLite (PRAGMA foreign_keys, on the writer connection outside
// any transaction) has one writer: no other write runs until the reset commits.
type uncheckedReset struct {
	// off turns the foreign keys off. With on, it is run on the writer connection before the
	// transaction begins, and on after it ends; without, inside the transaction, which ends its
	// effect, and it fails where the role may not.
	off, on string
	// steps run in order.
	steps []resetStep
}

// resetStep is one statement of an uncheckedReset. Its one placeholder is the app's id, or, with
// from, the ids that the step named from returned (an array). With name, it returns the ids of the
// rows it deleted, kept under that name.
type resetStep struct {
	sql, from, name string
}

// ResetsUnchecked reports whether ResetApp runs without the foreign keys' checks and actions (see
// uncheckedReset): always on SQLite; on PostgreSQL when the store's role may turn them off (a
// superuser, or a role granted SET on session_replication_role), which a first attempt (a
// transaction rolled back at once) finds out. The answer is kept for the store's life.
func (s *Store) ResetsUnchecked(ctx context.Context) bool {
	u := s.d.uncheckedReset
	if u == nil {
		return false
	}
	if u.on != "" {
		return true // a connection's own setting, which any role may change
	}
	s.resetProbe.Do(func() {
		ctx := context.WithoutCancel(ctx) // one caller's cancellation must not decide for the store's life
		t, err := s.write.BeginTx(ctx, nil)
		if err != nil {
			return
		}
		defer t.Rollback()
		if _, err := t.ExecContext(ctx, u.off); err != nil {
			return
		}
		s.resetUncheckedOK = true
	})
	return s.resetUncheckedOK
}

// inResetTx is inTx for ResetApp: unchecked, with the foreign keys turned off around or inside the
// transaction, as the dialect's uncheckedReset says.
func (s *Store) inResetTx(ctx context.Context, unchecked bool, fn func(tx) error) (err error) {
	u := s.d.uncheckedReset
	if !unchecked || u.on == "" {
		return s.inTx(ctx, fn)
	}
	conn, err := s.write.Conn(ctx)
	if err != nil {
		return s.classify(fmt.Errorf("writer connection: %w", err))
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, u.off); err != nil {
		return fmt.Errorf("foreign keys off: %w", err)
	}
	defer func() {
		if _, onErr := conn.ExecContext(context.WithoutCancel(ctx), u.on); onErr != nil {
			// A writer connection without its foreign keys must serve no other write: the pool
			// drops it, and opens the next one with every pragma of the DSN.
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
			if err == nil {
				err = fmt.Errorf("foreign keys on: %w", onErr)
			}
		}
	}()
	return s.inTxOn(ctx, conn, fn)
}

// resetUnchecked runs the dialect's uncheckedReset of appID in t.
func (t tx) resetUnchecked(ctx context.Context, appID string) error {
	u := t.s.d.uncheckedReset
	if u.on == "" {
		if _, err := t.exec(ctx, u.off); err != nil {
			return err
		}
	}
	returned := map[string][]string{}
	for _, st := range u.steps {
		var arg any = appID
		if st.from != "" {
			if len(returned[st.from]) == 0 {
				continue // no parent: nothing of theirs to delete
			}
			arg = returned[st.from]
		}
		if st.name == "" {
			if _, err := t.exec(ctx, st.sql, arg); err != nil {
				return fmt.Errorf("%s: %w", st.sql, err)
			}
			continue
		}
		rows, err := t.query(ctx, st.sql, arg)
		if err != nil {
			return fmt.Errorf("%s: %w", st.sql, err)
		}
		ids := []string{}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("%s: %w", st.sql, err)
		}
		returned[st.name] = ids
	}
	return nil
}

// allResets empties the store but its account keys, each table at once, children first, so that
// deleting the apps last cascades into empty tables.
// TestResetAllCoversEveryTable holds it to the schema: a new table must be listed here or kept on
// purpose (resetKeeps).
var allResets = []string{
	"DELETE FROM deliveries",
	"DELETE FROM events",
	"DELETE FROM delivery_attempts",
	"DELETE FROM recorder_erasures",
	"DELETE FROM user_purges",
	"DELETE FROM deletions",
	"DELETE FROM audit_entries",
	"DELETE FROM attachments",
	"DELETE FROM messages",
	"DELETE FROM participants",
	"DELETE FROM conversation_switchboards",
	"DELETE FROM conversion_events",
	"DELETE FROM conversations",
	"DELETE FROM devices",
	"DELETE FROM clients",
	"DELETE FROM visitor_sessions",
	"DELETE FROM interactive_data_refs",
	"DELETE FROM users",
	"DELETE FROM zendesk_users",
	"DELETE FROM switchboard_integrations",
	"DELETE FROM switchboards",
	"DELETE FROM webhooks",
	"DELETE FROM oauth_installs",
	"DELETE FROM oauth_codes",
	"DELETE FROM oauth_clients",
	"DELETE FROM integrations",
	"DELETE FROM api_keys WHERE scope <> 'account'",
	"DELETE FROM apps",
}

// resetKeeps are the tables ResetAll leaves: the migrations' record, the clock (it never goes
// back), and the trash of attachment files, which purgeMedia empties once the files are gone.
var resetKeeps = []string{"schema_migrations", "emulator_clock", "attachment_trash"}

// ResetAll removes every app and every key but the account keys; see sunlamp.ResetStore.
func (s *Store) ResetAll(ctx context.Context) error {
	err := s.inTx(ctx, func(t tx) error {
		for _, q := range allResets {
			if _, err := t.exec(ctx, q); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("reset: %w", err)
	}
	s.msgBatch.quiet.Clear() // the group commit's hints name apps that are gone (groupcommit.go)
	return s.purgeMedia(ctx)
}

// purgeMedia removes the bytes of deleted attachments now, where they are not removed with their
// rows (files), instead of leaving them to the media janitor.
func (s *Store) purgeMedia(ctx context.Context) error {
	if _, err := s.media.blobs.purge(ctx); err != nil {
		return fmt.Errorf("remove attachment files: %w", err)
	}
	return nil
}
