package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

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
