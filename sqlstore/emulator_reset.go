package sqlstore

import (
	"context"
	"fmt"

	"github.com/sunlamp/sunlamp"
)

// The emulator's resets (issue 15). Each is one transaction of a few set-based DELETEs, children
// before their parents, each through an index of the app (or of the rows the statement before it
// deleted), so that the foreign keys' cascades find nothing left to do and no statement scans
// another app's rows.

// appResets empties an app but its configuration, in order: the outbox and the recorder, then
// attachments, conversations (their messages, participants and switchboard states cascade through
// the conversation's key), and the users with their devices and clients.
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
	err := s.inTx(ctx, func(t tx) error {
		// On PostgreSQL the app's row is locked against a concurrent DeleteApp (and a concurrent
		// reset); writers of the app's data take no lock on it, and what they commit meanwhile is
		// either removed here or written after.
		if err := t.lockForCount(ctx, "apps", "id = ?", sunlamp.ErrAppNotFound, appID); err != nil {
			return err
		}
		for _, q := range appResets {
			if _, err := t.exec(ctx, q, appID); err != nil {
				return err
			}
		}
		t.outboxChanged()
		return nil
	})
	if err != nil {
		return fmt.Errorf("reset app: %w", err)
	}
	return s.purgeMedia(ctx)
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
