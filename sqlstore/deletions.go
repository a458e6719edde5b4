package sqlstore

import (
	"context"
	"database/sql"

	"github.com/sunlamp/sunlamp"
)

// The receipts of Delete User (issue 17): DeleteUser writes a pending row in its transaction, each
// purge step adds what it removed to it in the step's own transaction (so the counts survive a
// restart), and the last step completes it.

// insertDeletion writes the pending receipt of the deletion of userID.
func (t tx) insertDeletion(ctx context.Context, appID, userID string, requestedAt int64) error {
	_, err := t.exec(ctx, "INSERT INTO deletions (user_id, app_id, requested_at) VALUES (?, ?, ?)", userID, appID, requestedAt)
	return err
}

// countDeletion adds what a purge step removed to the receipt of userID (none for a user deleted
// before receipts existed: then nothing changes).
func (t tx) countDeletion(ctx context.Context, userID string, messages, conversations, files int64) error {
	if messages == 0 && conversations == 0 && files == 0 {
		return nil
	}
	_, err := t.exec(ctx, "UPDATE deletions SET messages_removed = messages_removed + ?, conversations_removed = conversations_removed + ?, files_removed = files_removed + ? WHERE user_id = ?",
		messages, conversations, files, userID)
	return err
}

// completeDeletion marks the receipt of userID complete and returns it (ok false when there is none).
func (t tx) completeDeletion(ctx context.Context, userID string, at int64) (d sunlamp.Deletion, ok bool, err error) {
	if _, err := t.exec(ctx, "UPDATE deletions SET completed_at = ? WHERE user_id = ? AND completed_at IS NULL", at, userID); err != nil {
		return d, false, err
	}
	d, err = scanDeletion(t.queryRow(ctx, "SELECT "+deletionColumns+" FROM deletions WHERE user_id = ?", userID))
	if err == sql.ErrNoRows {
		return d, false, nil
	}
	return d, err == nil, err
}

const deletionColumns = "user_id, app_id, requested_at, completed_at, messages_removed, conversations_removed, files_removed"

func scanDeletion(sc scanner) (sunlamp.Deletion, error) {
	var d sunlamp.Deletion
	var requested int64
	var completed sql.NullInt64
	if err := sc.Scan(&d.UserID, &d.AppID, &requested, &completed, &d.MessagesRemoved, &d.ConversationsRemoved, &d.FilesRemoved); err != nil {
		return d, err
	}
	d.RequestedAt = sunlamp.FromMillis(requested)
	d.Status = sunlamp.DeletionPending
	if completed.Valid {
		d.Status = sunlamp.DeletionComplete
		d.CompletedAt = sunlamp.FromMillis(completed.Int64)
	}
	return d, nil
}

// Deletion returns the receipt of a Delete User; see sunlamp.AuditStore.
func (s *Store) Deletion(ctx context.Context, appID, userID string) (sunlamp.Deletion, error) {
	d, err := scanDeletion(s.queryRow(ctx, "SELECT "+deletionColumns+" FROM deletions WHERE app_id = ? AND user_id = ?", appID, userID))
	if err != nil {
		return d, notFound(err, sunlamp.ErrDeletionNotFound, "get deletion")
	}
	return d, nil
}
