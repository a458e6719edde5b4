package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/sunlamp/sunlamp"
)

const conversionEventColumns = "id, app_id, conversation_id, channel, integration_id, dataset_id, payload, events_received, created_at"

func scanConversionEvent(r scanner) (sunlamp.ConversionEvent, error) {
	var e sunlamp.ConversionEvent
	var payload string
	var created int64
	if err := r.Scan(&e.ID, &e.AppID, &e.ConversationID, &e.Channel, &e.IntegrationID, &e.DatasetID, &payload, &e.EventsReceived, &created); err != nil {
		return e, err
	}
	e.Payload, e.CreatedAt = []byte(payload), sunlamp.FromMillis(created)
	return e, nil
}

// RecordConversionEvent stores a PostConversionEvents call; see sunlamp.ConversionEventStore.
func (s *Store) RecordConversionEvent(ctx context.Context, e sunlamp.ConversionEvent) (sunlamp.ConversionEvent, error) {
	e.ID, e.CreatedAt = sunlamp.NewID(), s.now()
	err := s.inTx(ctx, func(t tx) error {
		if _, err := t.conversation(ctx, e.AppID, e.ConversationID); err != nil {
			return err
		}
		// The conversation's client on the channel: a participant's, the most recently seen.
		err := t.queryRow(ctx, `SELECT c.integration_id FROM participants p JOIN clients c ON c.user_id = p.user_id
			WHERE p.conversation_id = ? AND c.type = ? AND c.status = 'active' AND c.integration_id IS NOT NULL
			ORDER BY COALESCE(c.last_seen, 0) DESC, c.id DESC LIMIT 1`, e.ConversationID, e.Channel).Scan(&e.IntegrationID)
		if errors.Is(err, sql.ErrNoRows) {
			return sunlamp.ErrNoConversionClient(e.Channel)
		}
		if err != nil {
			return err
		}
		e.DatasetID = sunlamp.ConversionDatasetID(e.IntegrationID)
		_, err = t.exec(ctx, "INSERT INTO conversion_events ("+conversionEventColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
			e.ID, e.AppID, e.ConversationID, e.Channel, e.IntegrationID, e.DatasetID, string(e.Payload), e.EventsReceived, e.CreatedAt.UnixMilli())
		return err
	})
	if err != nil {
		return e, fmt.Errorf("record conversion event: %w", err)
	}
	return e, nil
}

// ConversionEvents lists recorded conversion events; see sunlamp.ConversionEventStore.
func (s *Store) ConversionEvents(ctx context.Context, appID, conversationID string, p sunlamp.Page) ([]sunlamp.ConversionEvent, sunlamp.Cursor, error) {
	var out []sunlamp.ConversionEvent
	var cur sunlamp.Cursor
	err := s.readTx(ctx, func(t tx) error {
		q := pageQuery{columns: conversionEventColumns, from: "conversion_events", where: "app_id = ?", args: []any{appID}}
		if conversationID != "" {
			if _, err := t.conversation(ctx, appID, conversationID); err != nil {
				return err
			}
			q.where, q.args = "conversation_id = ?", []any{conversationID}
		}
		var err error
		out, cur, err = pageOf(ctx, t, p, q, scanConversionEvent, func(e sunlamp.ConversionEvent) string { return e.ID })
		return err
	})
	if err != nil {
		return nil, cur, fmt.Errorf("list conversion events: %w", err)
	}
	return out, cur, nil
}
