package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/sunlamp/sunlamp"
)

const clientColumns = "id, app_id, user_id, type, status, integration_id, external_id, last_seen, linked_at, display_name, avatar_url, info, raw, is_primary, target_conversation_id"

func scanClient(r scanner) (sunlamp.Client, error) {
	var c sunlamp.Client
	var integ, ext, display, avatar, info, raw, target sql.NullString
	var lastSeen, linkedAt sql.NullInt64
	var primary int64
	if err := r.Scan(&c.ID, &c.AppID, &c.UserID, &c.Type, &c.Status, &integ, &ext, &lastSeen, &linkedAt, &display, &avatar, &info, &raw, &primary, &target); err != nil {
		return c, err
	}
	c.IntegrationID, c.ExternalID, c.DisplayName, c.AvatarURL, c.TargetConversationID = integ.String, ext.String, display.String, avatar.String, target.String
	if lastSeen.Valid {
		c.LastSeen = sunlamp.FromMillis(lastSeen.Int64)
	}
	if linkedAt.Valid {
		c.LinkedAt = sunlamp.FromMillis(linkedAt.Int64)
	}
	c.Primary = primary != 0
	if err := fromJSON(info, &c.Info); err != nil {
		return c, err
	}
	if err := fromJSON(raw, &c.Raw); err != nil {
		return c, err
	}
	return c, nil
}

func (t tx) insertClient(ctx context.Context, c sunlamp.Client) error {
	info, err := toJSON(c.Info)
	if err != nil {
		return err
	}
	raw, err := toJSON(c.Raw)
	if err != nil {
		return err
	}
	// ON CONFLICT DO NOTHING: a taken channel id must not raise a unique violation, which PostgreSQL
	// would write to its log with the id (personal data: a phone number, an email).
	res, err := t.exec(ctx, "INSERT INTO clients ("+clientColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
		c.ID, c.AppID, c.UserID, c.Type, c.Status, nullStr(c.IntegrationID), nullStr(c.ExternalID),
		millisOrNil(c.LastSeen), millisOrNil(c.LinkedAt), nullStr(c.DisplayName), nullStr(c.AvatarURL), info, raw,
		boolInt(c.Primary), nullStr(c.TargetConversationID))
	if err != nil {
		return err
	}
	if inserted, err := res.RowsAffected(); err != nil || inserted == 0 {
		if err != nil {
			return err
		}
		return errClientTaken
	}
	return nil
}

// errClientTaken is a client's channel id that belongs to another user of the app.
var errClientTaken = sunlamp.Errorf(sunlamp.KindConflict, "conflict", "The client's externalId belongs to another user")

func (t tx) updateClient(ctx context.Context, c sunlamp.Client) error {
	info, err := toJSON(c.Info)
	if err != nil {
		return err
	}
	raw, err := toJSON(c.Raw)
	if err != nil {
		return err
	}
	_, err = t.exec(ctx, "UPDATE clients SET status = ?, integration_id = ?, last_seen = ?, linked_at = ?, display_name = ?, avatar_url = ?, info = ?, raw = ? WHERE id = ?",
		c.Status, nullStr(c.IntegrationID), millisOrNil(c.LastSeen), millisOrNil(c.LinkedAt), nullStr(c.DisplayName),
		nullStr(c.AvatarURL), info, raw, c.ID)
	return err
}

// emitClientEvent writes a client:* event about c of u with reason.
func (t tx) emitClientEvent(ctx context.Context, typ string, u sunlamp.User, c sunlamp.Client, reason string) error {
	return t.emit(ctx, sunlamp.Event{Type: typ, AppID: u.AppID, UserID: u.ID, IntegrationID: c.IntegrationID,
		Data: sunlamp.EventData{User: &u, Client: &c, Reason: reason}})
}

// CreateClient stores a pending client of the user and emits client:add (reason channelLinking).
func (s *Store) CreateClient(ctx context.Context, appID, idOrExternalID string, c sunlamp.Client) (sunlamp.Client, error) {
	if c.ID == "" {
		c.ID = sunlamp.NewID()
	}
	if c.Status == "" {
		c.Status = sunlamp.ClientPending
	}
	err := s.inTx(ctx, func(t tx) error {
		u, err := t.userLocked(ctx, appID, idOrExternalID, lockShare) // copied into client:add
		if err != nil {
			return err
		}
		c.AppID, c.UserID = appID, u.ID
		if err := t.insertClient(ctx, c); err != nil {
			return err
		}
		d := sunlamp.EventData{User: &u, Client: &c, Reason: "channelLinking"}
		ev := sunlamp.Event{Type: "client:add", AppID: appID, UserID: u.ID, IntegrationID: c.IntegrationID}
		if c.TargetConversationID != "" {
			conv, err := scanConversation(t.queryRow(ctx, "SELECT "+conversationColumns+" FROM conversations WHERE id = ? AND app_id = ?", c.TargetConversationID, appID))
			if err != nil {
				return notFound(err, sunlamp.ErrConversationNotFound, "get conversation")
			}
			d.Conversation, ev.ConversationID = &conv, conv.ID
		}
		ev.Data = d
		return t.emit(ctx, ev)
	})
	if err != nil {
		return c, fmt.Errorf("create client: %w", err)
	}
	return c, nil
}

// Clients lists the user's clients in id order.
func (s *Store) Clients(ctx context.Context, appID, idOrExternalID string, p sunlamp.Page) ([]sunlamp.Client, sunlamp.Cursor, error) {
	var list []sunlamp.Client
	var cur sunlamp.Cursor
	err := s.readTx(ctx, func(t tx) error {
		userID, err := t.userID(ctx, appID, idOrExternalID)
		if err != nil {
			return err
		}
		list, cur, err = pageOf(ctx, t, p, pageQuery{
			columns: clientColumns, from: "clients", where: "user_id = ? AND app_id = ?", args: []any{userID, appID},
		}, scanClient, func(c sunlamp.Client) string { return c.ID })
		return err
	})
	if err != nil {
		return nil, cur, fmt.Errorf("list clients: %w", err)
	}
	return list, cur, nil
}

// RemoveClient removes a non-sdk client of the user with its devices and emits client:remove
// (reason api).
func (s *Store) RemoveClient(ctx context.Context, appID, idOrExternalID, clientID string) error {
	err := s.inTx(ctx, func(t tx) error {
		u, err := t.userLocked(ctx, appID, idOrExternalID, lockShare) // copied into client:remove, with the client read after it
		if err != nil {
			return err
		}
		c, err := scanClient(t.queryRow(ctx, "SELECT "+clientColumns+" FROM clients WHERE id = ? AND user_id = ? AND app_id = ?", clientID, u.ID, appID))
		if err != nil {
			return notFound(err, sunlamp.ErrClientNotFound, "get client")
		}
		if c.Type == sunlamp.ClientTypeSDK {
			return sunlamp.ErrSDKClientRemoval
		}
		if _, err := t.exec(ctx, "DELETE FROM clients WHERE id = ?", c.ID); err != nil {
			return err
		}
		if err := t.dissociateClient(ctx, u.ID, c.ID); err != nil {
			return err
		}
		return t.emitClientEvent(ctx, "client:remove", u, c, "api")
	})
	if err != nil {
		return fmt.Errorf("remove client: %w", err)
	}
	return nil
}

const deviceColumns = "id, app_id, user_id, client_id, type, guid, status, integration_id, last_seen, push_notification_token, info, app_version"

func scanDevice(r scanner) (sunlamp.Device, error) {
	var d sunlamp.Device
	var integ, token, info, version sql.NullString
	var lastSeen int64
	if err := r.Scan(&d.ID, &d.AppID, &d.UserID, &d.ClientID, &d.Type, &d.GUID, &d.Status, &integ, &lastSeen, &token, &info, &version); err != nil {
		return d, err
	}
	d.IntegrationID, d.PushNotificationToken, d.AppVersion = integ.String, token.String, version.String
	d.LastSeen = sunlamp.FromMillis(lastSeen)
	if err := fromJSON(info, &d.Info); err != nil {
		return d, err
	}
	return d, nil
}

// Devices lists the user's devices, the most recently seen first (the spec says "sorted by last
// seen" without a direction; the device just used first is what a support tool wants).
func (s *Store) Devices(ctx context.Context, appID, idOrExternalID string) ([]sunlamp.Device, error) {
	devices := []sunlamp.Device{}
	err := s.readTx(ctx, func(t tx) error {
		userID, err := t.userID(ctx, appID, idOrExternalID)
		if err != nil {
			return err
		}
		rows, err := t.query(ctx, "SELECT "+deviceColumns+" FROM devices WHERE user_id = ? AND app_id = ? ORDER BY last_seen DESC, id DESC", userID, appID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			d, err := scanDevice(rows)
			if err != nil {
				return err
			}
			devices = append(devices, d)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("list devices: %w", err)
	}
	return devices, nil
}

// Device returns a device of the user.
func (s *Store) Device(ctx context.Context, appID, idOrExternalID, deviceID string) (sunlamp.Device, error) {
	var d sunlamp.Device
	err := s.readTx(ctx, func(t tx) error {
		userID, err := t.userID(ctx, appID, idOrExternalID)
		if err != nil {
			return err
		}
		d, err = scanDevice(t.queryRow(ctx, "SELECT "+deviceColumns+" FROM devices WHERE id = ? AND user_id = ? AND app_id = ?", deviceID, userID, appID))
		if err != nil {
			return notFound(err, sunlamp.ErrDeviceNotFound, "get device")
		}
		return nil
	})
	if err != nil {
		return d, fmt.Errorf("get device: %w", err)
	}
	return d, nil
}

// MessageSource returns the client, and its latest device, that a user's channel message came
// through: the most recently seen client of the user on the integration, or else of the type.
func (s *Store) MessageSource(ctx context.Context, appID, userID, sourceType, integrationID string) (sunlamp.Client, *sunlamp.Device, error) {
	var c sunlamp.Client
	var dev *sunlamp.Device
	err := s.readTx(ctx, func(t tx) error {
		var err error
		c, err = scanClient(t.queryRow(ctx, "SELECT "+clientColumns+" FROM clients WHERE app_id = ? AND user_id = ? AND (integration_id = ? OR type = ?) ORDER BY CASE WHEN integration_id = ? THEN 0 ELSE 1 END, last_seen DESC, id DESC LIMIT 1",
			appID, userID, integrationID, sourceType, integrationID))
		if err != nil {
			return notFound(err, sunlamp.ErrClientNotFound, "get message source")
		}
		d, err := scanDevice(t.queryRow(ctx, "SELECT "+deviceColumns+" FROM devices WHERE client_id = ? AND app_id = ? ORDER BY last_seen DESC, id DESC LIMIT 1", c.ID, appID))
		switch {
		case err == nil:
			dev = &d
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		return nil
	})
	if err != nil {
		return c, nil, fmt.Errorf("message source: %w", err)
	}
	return c, dev, nil
}

// associateClient makes c the most recently used client of the user's participation in a
// conversation (participants.clientAssociations lists them most recent first).
func (t tx) associateClient(ctx context.Context, conversationID, userID string, c sunlamp.Client) error {
	var id string
	var assoc sql.NullString
	err := t.queryRow(ctx, "SELECT id, client_associations FROM participants WHERE conversation_id = ? AND user_id = ?", conversationID, userID).Scan(&id, &assoc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	var list []sunlamp.ClientAssociation
	if err := fromJSON(assoc, &list); err != nil {
		return err
	}
	if len(list) > 0 && list[0].ClientID == c.ID {
		return nil
	}
	out := []sunlamp.ClientAssociation{{Type: c.Type, ClientID: c.ID}}
	for _, a := range list {
		if a.ClientID != c.ID {
			out = append(out, a)
		}
	}
	data, err := toJSON(out)
	if err != nil {
		return err
	}
	_, err = t.exec(ctx, "UPDATE participants SET client_associations = ? WHERE id = ?", data, id)
	return err
}

// dissociateClient removes a removed client from every participation of its user: RemoveClient
// "unsubscribes it from all connected conversations".
func (t tx) dissociateClient(ctx context.Context, userID, clientID string) error {
	return t.editAssociations(ctx, userID, func(list []sunlamp.ClientAssociation) ([]sunlamp.ClientAssociation, bool) {
		kept := []sunlamp.ClientAssociation{}
		for _, a := range list {
			if a.ClientID != clientID {
				kept = append(kept, a)
			}
		}
		return kept, len(kept) != len(list)
	})
}

// editAssociations rewrites the client associations of the user's participations through edit,
// which returns a participation's new list and whether it changed; unchanged ones are not written.
func (t tx) editAssociations(ctx context.Context, userID string, edit func([]sunlamp.ClientAssociation) ([]sunlamp.ClientAssociation, bool)) error {
	rows, err := t.query(ctx, "SELECT id, client_associations FROM participants WHERE user_id = ? AND client_associations IS NOT NULL", userID)
	if err != nil {
		return err
	}
	changed := map[string][]sunlamp.ClientAssociation{}
	for rows.Next() {
		var id string
		var assoc sql.NullString
		if err := rows.Scan(&id, &assoc); err != nil {
			rows.Close()
			return err
		}
		var list []sunlamp.ClientAssociation
		if err := fromJSON(assoc, &list); err != nil {
			rows.Close()
			return err
		}
		if out, ok := edit(list); ok {
			changed[id] = out
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for id, list := range changed {
		data, err := toJSON(list)
		if err != nil {
			return err
		}
		if _, err := t.exec(ctx, "UPDATE participants SET client_associations = ? WHERE id = ?", data, id); err != nil {
			return err
		}
	}
	return nil
}
