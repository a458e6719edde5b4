package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/sunlamp/sunlamp"
)

// This file records what channels report besides messages (issue 14): delivery receipts, and the
// customers' postbacks, activities, referrals and passthrough data.

// MessageDelivery records a channel's receipt for a message and emits its event.
func (s *Store) MessageDelivery(ctx context.Context, appID, conversationID string, d sunlamp.DeliveryReceipt) (sunlamp.DeliveryReceipt, error) {
	err := s.inTx(ctx, func(t tx) error {
		// The user first, then the conversation (the lock order of every writer).
		var userID string
		err := t.queryRow(ctx, "SELECT user_id FROM participants WHERE conversation_id = ? AND app_id = ? ORDER BY id LIMIT 1", conversationID, appID).Scan(&userID)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var u *sunlamp.User
		if userID != "" {
			user, err := t.userLocked(ctx, appID, userID, lockShare)
			if err != nil && !errors.Is(err, sunlamp.ErrUserNotFound) {
				return err
			}
			if err == nil {
				u = &user
			}
		}
		c, err := t.conversationLocked(ctx, appID, conversationID)
		if err != nil {
			return err
		}
		var one int
		if err := t.queryRow(ctx, "SELECT 1 FROM messages WHERE conversation_id = ? AND id = ? AND app_id = ?", c.ID, d.MessageID, appID).Scan(&one); err != nil {
			return notFound(err, sunlamp.ErrMessageNotFound, "get message")
		}
		if d.DestinationType == "" && u != nil {
			if d.DestinationType, d.DestinationIntegrationID, err = t.latestDestination(ctx, c.ID, u.ID, false); err != nil {
				return err
			}
		}
		if d.DestinationType == "" {
			d.DestinationType = sunlamp.ClientTypeSDK
		}
		return t.emitDelivery(ctx, c, u, d)
	})
	if err != nil {
		return d, fmt.Errorf("message delivery: %w", err)
	}
	return d, nil
}

// emitDelivery writes a conversation:message:delivery:* event.
func (t tx) emitDelivery(ctx context.Context, c sunlamp.Conversation, u *sunlamp.User, d sunlamp.DeliveryReceipt) error {
	ev := sunlamp.Event{Type: "conversation:message:delivery:" + d.Status, AppID: c.AppID, ConversationID: c.ID, IntegrationID: d.DestinationIntegrationID,
		Data: sunlamp.EventData{Conversation: &c, User: u, Delivery: &d}}
	if u != nil {
		ev.UserID = u.ID
	}
	return t.emit(ctx, ev)
}

// latestDestination returns the type and integration of the user's most recently used client of a
// conversation (its first client association), of a channel other than sdk when channelsOnly, and
// active. An sdk client's destination is the type of the integration of its latest device (web,
// ios, android). "" when there is none.
func (t tx) latestDestination(ctx context.Context, conversationID, userID string, channelsOnly bool) (string, string, error) {
	var assoc sql.NullString
	err := t.queryRow(ctx, "SELECT client_associations FROM participants WHERE conversation_id = ? AND user_id = ?", conversationID, userID).Scan(&assoc)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", nil
	}
	if err != nil {
		return "", "", err
	}
	var list []sunlamp.ClientAssociation
	if err := fromJSON(assoc, &list); err != nil {
		return "", "", err
	}
	for _, a := range list {
		if channelsOnly && a.Type == sunlamp.ClientTypeSDK {
			continue
		}
		c, err := scanClient(t.queryRow(ctx, "SELECT "+clientColumns+" FROM clients WHERE id = ?", a.ClientID))
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return "", "", err
		}
		if c.Status != sunlamp.ClientActive {
			continue
		}
		if c.Type != sunlamp.ClientTypeSDK {
			return c.Type, c.IntegrationID, nil
		}
		var typ, integ sql.NullString
		err = t.queryRow(ctx, "SELECT i.type, i.id FROM devices d JOIN integrations i ON i.id = d.integration_id WHERE d.client_id = ? ORDER BY d.last_seen DESC, d.id DESC LIMIT 1", c.ID).Scan(&typ, &integ)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return "", "", err
		}
		if typ.Valid {
			return typ.String, integ.String, nil
		}
		return sunlamp.ClientTypeSDK, "", nil
	}
	return "", "", nil
}

// AutoChannelDelivery emits conversation:message:delivery:channel for a business message to a
// personal conversation whose user has an active channel client (not sdk).
func (s *Store) AutoChannelDelivery(ctx context.Context, m sunlamp.Message) error {
	if m.Author.Type != sunlamp.AuthorBusiness {
		return nil
	}
	err := s.inTx(ctx, func(t tx) error {
		var userID string
		err := t.queryRow(ctx, "SELECT p.user_id FROM participants p JOIN conversations c ON c.id = p.conversation_id WHERE p.conversation_id = ? AND c.app_id = ? AND c.type = ? ORDER BY p.id LIMIT 1",
			m.ConversationID, m.AppID, sunlamp.ConversationPersonal).Scan(&userID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		typ, integ, err := t.latestDestination(ctx, m.ConversationID, userID, true)
		if err != nil || typ == "" {
			return err
		}
		u, err := t.userLocked(ctx, m.AppID, userID, lockShare)
		if err != nil {
			if errors.Is(err, sunlamp.ErrUserNotFound) {
				return nil
			}
			return err
		}
		c, err := t.conversationLocked(ctx, m.AppID, m.ConversationID)
		if err != nil {
			return err
		}
		// Not final: a channel that reports reading or delivery to the phone sends a user receipt
		// after it (the simulator's delivery endpoint, status user).
		return t.emitDelivery(ctx, c, &u, sunlamp.DeliveryReceipt{MessageID: m.ID, Status: sunlamp.DeliveryChannel,
			DestinationType: typ, DestinationIntegrationID: integ})
	})
	if err != nil {
		return fmt.Errorf("auto channel delivery: %w", err)
	}
	return nil
}

// CustomerAction records what the user did in a conversation and emits its event.
func (s *Store) CustomerAction(ctx context.Context, appID, userID, conversationID string, source sunlamp.Source, a sunlamp.CustomerAction) (*sunlamp.Message, error) {
	var echo *sunlamp.Message
	err := s.inTx(ctx, func(t tx) error {
		echo = nil
		now := s.now()
		u, err := t.userLocked(ctx, appID, userID, lockShare)
		if err != nil {
			return err
		}
		var c sunlamp.Conversation
		switch {
		case conversationID != "":
			if c, err = t.conversationLocked(ctx, appID, conversationID); err != nil {
				return err
			}
			if _, err := t.participantOf(ctx, c.ID, u.ID); err != nil {
				return err
			}
		case a.Referral != nil:
			// A referral may open the conversation (a Messenger link or ad the customer follows).
			if c, err = t.defaultConversation(ctx, u, now); err != nil {
				return err
			}
		default:
			var id string
			err := t.queryRow(ctx, "SELECT id FROM conversations WHERE default_user_id = ? AND app_id = ?", u.ID, appID).Scan(&id)
			if errors.Is(err, sql.ErrNoRows) {
				return sunlamp.ErrNoConversation
			}
			if err != nil {
				return err
			}
			if c, err = t.conversationLocked(ctx, appID, id); err != nil {
				return err
			}
		}
		ev := sunlamp.Event{AppID: appID, ConversationID: c.ID, UserID: u.ID, IntegrationID: source.IntegrationID, CreatedAt: now,
			Data: sunlamp.EventData{User: &u, Conversation: &c, Source: &source}}
		switch {
		case a.Postback != nil:
			if a.Echo && a.Postback.Text != "" {
				m := sunlamp.Message{ID: sunlamp.NewID(), AppID: appID, ConversationID: c.ID, Received: now,
					Author:  sunlamp.Author{Type: sunlamp.AuthorUser, UserID: u.ID},
					Content: sunlamp.TextContent(a.Postback.Text), Source: source}
				if m, err = t.insertMessage(ctx, m); err != nil {
					return err
				}
				echo = &m
			}
			ev.Type, ev.Data.Postback = "conversation:postback", a.Postback
		case a.Activity != "":
			act := sunlamp.Activity{Type: a.Activity, Author: sunlamp.Author{Type: sunlamp.AuthorUser, UserID: u.ID}}
			ev.Type, ev.Data.Activity = "conversation:typing", &act
			if a.Activity == sunlamp.ActivityRead {
				ev.Type = "conversation:read"
				if _, err := t.exec(ctx, "UPDATE participants SET last_read = ?, unread_count = 0 WHERE conversation_id = ? AND user_id = ?", now.UnixMilli(), c.ID, u.ID); err != nil {
					return err
				}
			}
		case a.Referral != nil:
			ev.Type, ev.Data.Referral = "conversation:referral", a.Referral
		case a.Passthrough != nil:
			ev.Type, ev.Data.Passthrough = "passthrough:messaging", a.Passthrough
		default:
			return sunlamp.Invalid("no customer action")
		}
		return t.emit(ctx, ev)
	})
	if err != nil {
		return nil, fmt.Errorf("customer action: %w", err)
	}
	return echo, nil
}

// AppTriggers returns the triggers the app's webhooks are subscribed to.
func (s *Store) AppTriggers(ctx context.Context, appID string) ([]string, error) {
	rows, err := s.query(ctx, "SELECT triggers FROM webhooks WHERE app_id = ?", appID)
	if err != nil {
		return nil, fmt.Errorf("app triggers: %w", err)
	}
	defer rows.Close()
	seen := map[string]bool{}
	var out []string
	for rows.Next() {
		var raw string
		if err := rows.Scan(&raw); err != nil {
			return nil, fmt.Errorf("app triggers: %w", err)
		}
		var list []string
		if err := json.Unmarshal([]byte(raw), &list); err != nil {
			return nil, fmt.Errorf("app triggers: %w", err)
		}
		for _, t := range list {
			if !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
		}
	}
	return out, rows.Err()
}
