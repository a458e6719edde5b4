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

// This file keeps the web messenger's store side (issue 14): its integration by id, the visitors'
// sessions (migration 0014) and the membership checks of its endpoints.

// WebIntegration returns the integration with id, of whatever app.
func (s *Store) WebIntegration(ctx context.Context, id string) (sunlamp.Integration, error) {
	var appID string
	err := s.queryRow(ctx, "SELECT app_id FROM integrations WHERE id = ?", id).Scan(&appID)
	if err != nil {
		return sunlamp.Integration{}, notFound(err, sunlamp.ErrIntegrationNotFound, "web integration")
	}
	return s.Integration(ctx, appID, id)
}

// CreateVisitorSession stores a visitor's session.
func (s *Store) CreateVisitorSession(ctx context.Context, v sunlamp.VisitorSession) error {
	err := s.inTx(ctx, func(t tx) error {
		_, err := t.exec(ctx, "INSERT INTO visitor_sessions (id, app_id, integration_id, user_id, secret_sha256, created_at) VALUES (?, ?, ?, ?, ?, ?)",
			v.ID, v.AppID, v.IntegrationID, v.UserID, v.SecretSHA256, v.CreatedAt.UnixMilli())
		return err
	})
	if err != nil {
		return fmt.Errorf("create visitor session: %w", err)
	}
	return nil
}

// VisitorSession returns a session whose user is live.
func (s *Store) VisitorSession(ctx context.Context, id string) (sunlamp.VisitorSession, error) {
	var v sunlamp.VisitorSession
	var created int64
	err := s.queryRow(ctx, "SELECT v.id, v.app_id, v.integration_id, v.user_id, v.secret_sha256, v.created_at FROM visitor_sessions v JOIN users u ON u.id = v.user_id WHERE v.id = ? AND u.deleted_at IS NULL", id).
		Scan(&v.ID, &v.AppID, &v.IntegrationID, &v.UserID, &v.SecretSHA256, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return v, sunlamp.ErrVisitorSessionNotFound
	}
	if err != nil {
		return v, fmt.Errorf("visitor session: %w", err)
	}
	v.CreatedAt = sunlamp.FromMillis(created)
	return v, nil
}

// DeleteVisitorSession removes a session.
func (s *Store) DeleteVisitorSession(ctx context.Context, id string) error {
	err := s.inTx(ctx, func(t tx) error {
		_, err := t.exec(ctx, "DELETE FROM visitor_sessions WHERE id = ?", id)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete visitor session: %w", err)
	}
	return nil
}

// Participates reports whether the user takes part in the conversation.
func (s *Store) Participates(ctx context.Context, appID, conversationID, userID string) (bool, error) {
	var one int
	err := s.queryRow(ctx, "SELECT 1 FROM participants WHERE conversation_id = ? AND user_id = ? AND app_id = ?", conversationID, userID, appID).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("participates: %w", err)
	}
	return true, nil
}

// GuidOwner returns the live user whose device has guid.
func (s *Store) GuidOwner(ctx context.Context, appID, guid string) (string, error) {
	var id string
	err := s.queryRow(ctx, "SELECT d.user_id FROM devices d JOIN users u ON u.id = d.user_id WHERE d.app_id = ? AND d.guid = ? AND u.deleted_at IS NULL", appID, guid).Scan(&id)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("guid owner: %w", err)
	}
	return id, nil
}

// Message returns one message of a conversation of the app, with its user author's current name.
func (s *Store) Message(ctx context.Context, appID, conversationID, id string) (sunlamp.Message, error) {
	m, err := scanMessage(s.queryRow(ctx, messageSelect+" WHERE m.conversation_id = ? AND m.id = ? AND m.app_id = ?", conversationID, id, appID))
	if err != nil {
		return m, notFound(err, sunlamp.ErrMessageNotFound, "get message")
	}
	return m, nil
}

// LoginVisitor makes the visitor the user with in.ExternalID (see sunlamp.VisitorStore).
func (s *Store) LoginVisitor(ctx context.Context, in sunlamp.VisitorLogin) (sunlamp.VisitorLoginResult, error) {
	var res sunlamp.VisitorLoginResult
	err := s.inTx(ctx, func(t tx) error {
		res = sunlamp.VisitorLoginResult{}
		if _, err := t.app(ctx, in.AppID); err != nil {
			return err
		}
		// Tabs that log in as one new externalId at once (PostgreSQL's writers run together) would
		// all find no user and race to create or claim it, the losers failing on the unique index:
		// they take turns, and each after the first finds the user the first made.
		if err := t.lockName(ctx, "login "+in.AppID+" "+in.ExternalID); err != nil {
			return err
		}
		now := s.now()
		known, err := scanUser(t.queryRow(ctx, "SELECT "+userColumns+" FROM users WHERE app_id = ? AND external_id = ? AND "+liveUser+t.forLock(lockUpdate), in.AppID, in.ExternalID))
		hasKnown := err == nil
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var anon *sunlamp.User
		if in.AnonymousUserID != "" && (!hasKnown || known.ID != in.AnonymousUserID) {
			a, err := scanUser(t.queryRow(ctx, "SELECT "+userColumns+" FROM users WHERE id = ? AND app_id = ? AND "+liveUser+t.forLock(lockUpdate), in.AnonymousUserID, in.AppID))
			switch {
			case err == nil && a.ExternalID == "":
				anon = &a // another known user's session logs in as this one: nothing to merge
			case err != nil && !errors.Is(err, sql.ErrNoRows):
				return err
			}
		}
		switch {
		case hasKnown && anon != nil:
			m, err := t.mergeUsers(ctx, known, *anon, now)
			if err != nil {
				return err
			}
			res.Merged = &m
			res.User = m.Surviving
			if err := t.emitUserEvent(ctx, "user:merge", m.Surviving, sunlamp.EventData{User: &m.Surviving, Reason: m.Reason, Merge: &m}); err != nil {
				return err
			}
		case hasKnown:
			res.User = known
		case anon != nil:
			// The anonymous visitor becomes the known user.
			if _, err := t.exec(ctx, "UPDATE users SET external_id = ? WHERE id = ?", in.ExternalID, anon.ID); err != nil {
				return err
			}
			res.User = *anon
			res.User.ExternalID = in.ExternalID
		default:
			u := sunlamp.User{ID: sunlamp.NewID(), AppID: in.AppID, ExternalID: in.ExternalID, SignedUpAt: now}
			if err := t.insertUser(ctx, u); err != nil {
				return err
			}
			res.User = u
		}
		// The user is authenticated from now on (webhooks' userTruncated.authenticated).
		if _, err := t.exec(ctx, "UPDATE users SET authenticated = 1 WHERE id = ?", res.User.ID); err != nil {
			return err
		}
		res.User.Authenticated = true
		return t.emitUserEvent(ctx, "user:update", res.User, sunlamp.EventData{User: &res.User, Reason: "authentication"})
	})
	if err != nil {
		return res, fmt.Errorf("login visitor: %w", err)
	}
	return res, nil
}

// emitUserEvent writes a user:* event about u.
func (t tx) emitUserEvent(ctx context.Context, typ string, u sunlamp.User, data sunlamp.EventData) error {
	return t.emit(ctx, sunlamp.Event{Type: typ, AppID: u.AppID, UserID: u.ID, Data: data})
}

// mergeUsers moves everything of the discarded user d into the surviving user k and deletes d:
// its clients (its sdk client's devices go to k's sdk client when k has one), its conversations
// (its default conversation's messages go to k's default conversation when k has one), the
// messages it wrote, its uploads and its outbox events (so that erasing k reaches them), the
// profile fields and metadata keys k lacks (as much metadata as fits in 4 kB).
func (t tx) mergeUsers(ctx context.Context, k, d sunlamp.User, now time.Time) (sunlamp.UserMerge, error) {
	m := sunlamp.UserMerge{Discarded: d, Reason: "sdkLogin"}
	// Clients: two sdk clients become k's.
	ks, kerr := scanClient(t.queryRow(ctx, "SELECT "+clientColumns+" FROM clients WHERE user_id = ? AND type = ? ORDER BY id LIMIT 1", k.ID, sunlamp.ClientTypeSDK))
	if kerr != nil && !errors.Is(kerr, sql.ErrNoRows) {
		return m, kerr
	}
	ds, derr := scanClient(t.queryRow(ctx, "SELECT "+clientColumns+" FROM clients WHERE user_id = ? AND type = ? ORDER BY id LIMIT 1", d.ID, sunlamp.ClientTypeSDK))
	if derr != nil && !errors.Is(derr, sql.ErrNoRows) {
		return m, derr
	}
	replaced := map[string]sunlamp.Client{} // discarded client id -> the client that replaces it
	if kerr == nil && derr == nil {
		if _, err := t.exec(ctx, "UPDATE devices SET client_id = ?, user_id = ? WHERE client_id = ?", ks.ID, k.ID, ds.ID); err != nil {
			return m, err
		}
		if _, err := t.exec(ctx, "DELETE FROM clients WHERE id = ?", ds.ID); err != nil {
			return m, err
		}
		ks.LastSeen = now
		m.SurvivingClient, m.DiscardedClient = &ks, &ds
		replaced[ds.ID] = ks
	}
	if _, err := t.exec(ctx, "UPDATE clients SET user_id = ? WHERE user_id = ?", k.ID, d.ID); err != nil {
		return m, err
	}
	if _, err := t.exec(ctx, "UPDATE devices SET user_id = ? WHERE user_id = ?", k.ID, d.ID); err != nil {
		return m, err
	}
	// The default conversations: d's messages join k's.
	kc, kcerr := scanConversation(t.queryRow(ctx, "SELECT "+conversationColumns+" FROM conversations WHERE default_user_id = ? AND app_id = ?"+t.forLock(lockUpdate), k.ID, k.AppID))
	if kcerr != nil && !errors.Is(kcerr, sql.ErrNoRows) {
		return m, kcerr
	}
	dc, dcerr := scanConversation(t.queryRow(ctx, "SELECT "+conversationColumns+" FROM conversations WHERE default_user_id = ? AND app_id = ?"+t.forLock(lockUpdate), d.ID, d.AppID))
	if dcerr != nil && !errors.Is(dcerr, sql.ErrNoRows) {
		return m, dcerr
	}
	switch {
	case kcerr == nil && dcerr == nil:
		if err := t.moveMessages(ctx, dc, kc); err != nil {
			return m, err
		}
		kc.MessageCount += dc.MessageCount
		if dc.LastUpdatedAt.After(kc.LastUpdatedAt) {
			kc.LastUpdatedAt = dc.LastUpdatedAt
		}
		if _, err := t.exec(ctx, "UPDATE conversations SET message_count = ?, last_updated_at = ? WHERE id = ?", kc.MessageCount, kc.LastUpdatedAt.UnixMilli(), kc.ID); err != nil {
			return m, err
		}
		if _, err := t.exec(ctx, "DELETE FROM conversations WHERE id = ?", dc.ID); err != nil {
			return m, err
		}
		m.SurvivingConversation, m.DiscardedConversation = &kc, &dc
	case dcerr == nil:
		if _, err := t.exec(ctx, "UPDATE conversations SET default_user_id = ? WHERE id = ?", k.ID, dc.ID); err != nil {
			return m, err
		}
	}
	// d's other participations become k's (k's own where k takes part already).
	if _, err := t.exec(ctx, "DELETE FROM participants WHERE user_id = ? AND conversation_id IN (SELECT conversation_id FROM participants WHERE user_id = ?)", d.ID, k.ID); err != nil {
		return m, err
	}
	if _, err := t.exec(ctx, "UPDATE participants SET user_id = ? WHERE user_id = ?", k.ID, d.ID); err != nil {
		return m, err
	}
	for old, c := range replaced {
		if err := t.replaceAssociations(ctx, k.ID, old, c); err != nil {
			return m, err
		}
	}
	for _, q := range []string{
		"UPDATE messages SET author_user_id = ? WHERE author_user_id = ?",
		"UPDATE attachments SET user_id = ? WHERE user_id = ?",
		"UPDATE events SET user_id = ? WHERE user_id = ?",
	} {
		if _, err := t.exec(ctx, q, k.ID, d.ID); err != nil {
			return m, err
		}
	}
	// The moved events' snapshots name k where they named d, so that erasing k reaches them.
	if err := t.reownEvents(ctx, d.ID, k.ID); err != nil {
		return m, err
	}
	if m.DiscardedClient != nil {
		// The discarded client's data is the surviving user's now: erasing it reaches the copy.
		dc := *m.DiscardedClient
		dc.UserID = k.ID
		m.DiscardedClient = &dc
	}
	// The profile fields and metadata k lacks.
	p := &k.Profile
	for _, f := range []struct {
		dst *string
		src string
	}{{&p.GivenName, d.Profile.GivenName}, {&p.Surname, d.Profile.Surname},
		{&p.Email, d.Profile.Email}, {&p.AvatarURL, d.Profile.AvatarURL}, {&p.Locale, d.Profile.Locale}} {
		if *f.dst == "" {
			*f.dst = f.src
		}
	}
	meta := sunlamp.Metadata{}
	for key, v := range k.Metadata {
		meta[key] = v
	}
	for key, v := range d.Metadata {
		if _, ok := meta[key]; ok {
			continue
		}
		meta[key] = v
		if b, _ := json.Marshal(meta); len(b) > sunlamp.MaxMetadataBytes {
			delete(meta, key)
			if m.DiscardedMetadata == nil {
				m.DiscardedMetadata = sunlamp.Metadata{}
			}
			m.DiscardedMetadata[key] = v
		}
	}
	k.Metadata = meta
	metaJSON, err := toJSON(meta)
	if err != nil {
		return m, err
	}
	if _, err := t.exec(ctx, "UPDATE users SET given_name = ?, surname = ?, email = ?, avatar_url = ?, locale = ?, metadata = ? WHERE id = ?",
		nullStr(p.GivenName), nullStr(p.Surname), nullStr(p.Email), nullStr(p.AvatarURL), nullStr(p.Locale), metaJSON, k.ID); err != nil {
		return m, err
	}
	if _, err := t.exec(ctx, "DELETE FROM users WHERE id = ?", d.ID); err != nil {
		return m, err
	}
	t.outboxChanged()
	m.Surviving = k
	return m, nil
}

// moveMessages moves every message of conversation from into conversation to. Attachments that
// point at a message follow it (their reference is let go and taken again, since the key they
// point at changes).
func (t tx) moveMessages(ctx context.Context, from, to sunlamp.Conversation) error {
	rows, err := t.query(ctx, "SELECT id, message_id FROM attachments WHERE conversation_id = ? AND message_id IS NOT NULL", from.ID)
	if err != nil {
		return err
	}
	claims := map[string]string{}
	for rows.Next() {
		var id, msg string
		if err := rows.Scan(&id, &msg); err != nil {
			rows.Close()
			return err
		}
		claims[id] = msg
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if _, err := t.exec(ctx, "UPDATE attachments SET conversation_id = ?, message_id = NULL WHERE conversation_id = ?", to.ID, from.ID); err != nil {
		return err
	}
	if _, err := t.exec(ctx, "UPDATE messages SET conversation_id = ? WHERE conversation_id = ?", to.ID, from.ID); err != nil {
		return err
	}
	for id, msg := range claims {
		if _, err := t.exec(ctx, "UPDATE attachments SET message_id = ? WHERE id = ?", msg, id); err != nil {
			return err
		}
	}
	return nil
}

// replaceAssociations makes client c take the place of client old in the user's participations.
func (t tx) replaceAssociations(ctx context.Context, userID, old string, c sunlamp.Client) error {
	return t.editAssociations(ctx, userID, func(list []sunlamp.ClientAssociation) ([]sunlamp.ClientAssociation, bool) {
		var out []sunlamp.ClientAssociation
		seen, touched := map[string]bool{}, false
		for _, a := range list {
			if a.ClientID == old {
				a, touched = sunlamp.ClientAssociation{Type: c.Type, ClientID: c.ID}, true
			}
			if !seen[a.ClientID] {
				seen[a.ClientID] = true
				out = append(out, a)
			}
		}
		return out, touched
	})
}

// DetectLocale sets the user's locale when it has none and emits user:update (localeDetection).
func (s *Store) DetectLocale(ctx context.Context, appID, userID, locale string) (sunlamp.User, error) {
	var u sunlamp.User
	err := s.inTx(ctx, func(t tx) error {
		var err error
		if u, err = t.userLocked(ctx, appID, userID, lockUpdate); err != nil {
			return err
		}
		if u.Profile.Locale != "" || u.ID != userID {
			return nil
		}
		u.Profile.Locale = locale
		if _, err := t.exec(ctx, "UPDATE users SET locale = ? WHERE id = ?", locale, u.ID); err != nil {
			return err
		}
		return t.emitUserEvent(ctx, "user:update", u, sunlamp.EventData{User: &u, Reason: "localeDetection"})
	})
	if err != nil {
		return u, fmt.Errorf("detect locale: %w", err)
	}
	return u, nil
}
