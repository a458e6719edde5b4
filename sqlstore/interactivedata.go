package sqlstore

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"

	"github.com/sunlamp/sunlamp"
)

// RecordInteractiveData stores interactive data for a user of an apple integration; see
// sunlamp.InteractiveDataStore.
func (s *Store) RecordInteractiveData(ctx context.Context, d sunlamp.InteractiveData) (sunlamp.InteractiveData, error) {
	r, err := s.recordInteractiveData(ctx, d)
	if errors.Is(err, errInboundRace) { // the default conversation was opened concurrently: once more finds it
		r, err = s.recordInteractiveData(ctx, d)
	}
	if errors.Is(err, errInboundRace) {
		err = fmt.Errorf("%w: %w", sunlamp.ErrBusy, err)
	}
	if err != nil {
		return r, fmt.Errorf("record interactive data: %w", err)
	}
	return r, nil
}

func (s *Store) recordInteractiveData(ctx context.Context, d sunlamp.InteractiveData) (sunlamp.InteractiveData, error) {
	if d.CreatedAt.IsZero() {
		d.CreatedAt = s.now()
	}
	err := s.inTx(ctx, func(t tx) error {
		in, err := t.integration(ctx, d.AppID, d.IntegrationID)
		if err != nil {
			return err
		}
		if in.Type != "apple" {
			return sunlamp.ErrNotAppleIntegration
		}
		// A share lock: a concurrent DeleteUser commits first (and the user is gone) or after.
		u, err := t.userLocked(ctx, d.AppID, d.UserID, lockShare)
		if err != nil {
			return err
		}
		d.UserID = u.ID
		var one int
		err = t.queryRow(ctx, "SELECT 1 FROM clients WHERE user_id = ? AND integration_id = ? LIMIT 1", u.ID, in.ID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return sunlamp.ErrNoAppleClient
		}
		if err != nil {
			return err
		}
		_, err = t.exec(ctx, `INSERT INTO interactive_data_refs (id, app_id, integration_id, user_id, url, bid, ref_key, signature, owner, content, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, d.ID, d.AppID, d.IntegrationID, d.UserID, d.Ref.URL, d.Ref.Bid, d.Ref.Key, d.Ref.Signature,
			d.Ref.Owner, string(d.Content), d.CreatedAt.UnixMilli())
		if err != nil {
			return err
		}
		// The service tells the business of interactive data by passthrough:messaging, whose
		// apple.interactiveDataRef is what DownloadMessageRef takes; it happens in the customer's
		// conversation, opened by what they sent if they had none.
		c, err := t.defaultConversation(ctx, u, d.CreatedAt)
		if err != nil {
			return err
		}
		d.ConversationID = c.ID
		src := sunlamp.Source{Type: "apple", IntegrationID: in.ID}
		ref := map[string]any{"url": d.Ref.URL, "bid": d.Ref.Bid, "key": d.Ref.Key, "signature": d.Ref.Signature, "owner": d.Ref.Owner}
		return t.emit(ctx, sunlamp.Event{Type: "passthrough:messaging", AppID: d.AppID, ConversationID: c.ID, UserID: u.ID,
			IntegrationID: in.ID, CreatedAt: d.CreatedAt, Data: sunlamp.EventData{User: &u, Conversation: &c, Source: &src,
				Passthrough: map[string]any{"apple": map[string]any{"interactiveDataRef": ref}}}})
	})
	return d, err
}

// InteractiveData returns what a recorded reference points at; see sunlamp.InteractiveDataStore.
func (s *Store) InteractiveData(ctx context.Context, appID, conversationID, userID string, ref sunlamp.InteractiveDataRef) (sunlamp.InteractiveData, error) {
	var d sunlamp.InteractiveData
	err := s.readTx(ctx, func(t tx) error {
		// The user before the conversation: a deleted user's personal conversation goes in the
		// background after it, and the answer must not depend on how far that has come.
		uid, err := t.userID(ctx, appID, userID)
		if err != nil {
			return err
		}
		if _, err := t.conversation(ctx, appID, conversationID); err != nil {
			return err
		}
		var content string
		var created int64
		err = t.queryRow(ctx, `SELECT id, app_id, integration_id, user_id, url, bid, ref_key, signature, owner, content, created_at
			FROM interactive_data_refs WHERE app_id = ? AND url = ? AND user_id = ?`, appID, ref.URL, uid).
			Scan(&d.ID, &d.AppID, &d.IntegrationID, &d.UserID, &d.Ref.URL, &d.Ref.Bid, &d.Ref.Key, &d.Ref.Signature, &d.Ref.Owner, &content, &created)
		if err != nil {
			return notFound(err, sunlamp.ErrInteractiveDataNotFound, "get interactive data")
		}
		// The key decrypts the data on Apple's side: every field must be the one recorded (in
		// constant time, as a secret is compared).
		same := 1
		for _, p := range [][2]string{{ref.Bid, d.Ref.Bid}, {ref.Key, d.Ref.Key}, {ref.Signature, d.Ref.Signature}, {ref.Owner, d.Ref.Owner}} {
			same &= subtle.ConstantTimeCompare([]byte(p[0]), []byte(p[1]))
		}
		if same != 1 {
			return sunlamp.ErrInteractiveDataNotFound
		}
		d.Content, d.CreatedAt = []byte(content), sunlamp.FromMillis(created)
		return nil
	})
	if err != nil {
		return d, fmt.Errorf("get interactive data: %w", err)
	}
	return d, nil
}
