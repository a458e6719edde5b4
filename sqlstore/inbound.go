package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/sunlamp/sunlamp"
)

// This file is the inbound channel simulator's store side: what a channel delivers when a customer
// writes in (the user, the client, the device, the message), in one transaction.

// Inbound records what a channel delivers when a customer writes in, in one transaction: it finds
// the user (given, or the owner of the client's channel id, or of the device) or creates one, creates
// or refreshes the client (active, lastSeen now), records the device, and, when there is content,
// appends a user-authored message to the user's default conversation, creating it if needed.
//
// Events: client:add (reason sdkLogin) for a new sdk client, conversation:create for a new
// conversation and conversation:message for the message (both written by the conversation helpers).
// A new non-sdk client emits nothing of its own: on the real service a customer writing in on a
// channel shows up as a new conversation and its message.
func (s *Store) Inbound(ctx context.Context, in sunlamp.Inbound) (sunlamp.InboundResult, error) {
	// Two deliveries from one new customer at once (PostgreSQL, several processes) both find no
	// client and both insert one: the loser's unique violation means the winner made the client, so
	// it runs again and finds it. The same goes for the user's default conversation (ErrBusy).
	for attempt := 0; ; attempt++ {
		res, err := s.inbound(ctx, in)
		if attempt == 0 && (errors.Is(err, errInboundRace) || errors.Is(err, sunlamp.ErrBusy)) {
			continue
		}
		if errors.Is(err, errInboundRace) {
			err = fmt.Errorf("%w: %w", sunlamp.ErrBusy, err)
		}
		return res, err
	}
}

// errInboundRace is a client or device that another transaction created meanwhile.
var errInboundRace = errors.New("inbound: created concurrently")

func (s *Store) inbound(ctx context.Context, in sunlamp.Inbound) (sunlamp.InboundResult, error) {
	var res sunlamp.InboundResult
	err := s.inTx(ctx, func(t tx) error {
		if _, err := t.app(ctx, in.AppID); err != nil {
			return err
		}
		if in.IntegrationID != "" {
			if err := t.checkInboundIntegration(ctx, in.AppID, in.IntegrationID, in.Channel); err != nil {
				return err
			}
		}
		now := s.now()
		u, client, err := t.inboundUser(ctx, in, now)
		if err != nil {
			return err
		}
		res.User = u
		// The client.
		c := in.Client
		if client == nil {
			c.ID, c.AppID, c.UserID, c.Type = sunlamp.NewID(), in.AppID, u.ID, in.Channel
			c.Status, c.LinkedAt, c.LastSeen, c.Primary = sunlamp.ClientActive, now, now, true
			if in.Channel != sunlamp.ClientTypeSDK {
				c.IntegrationID = in.IntegrationID
			} else {
				c.ExternalID = ""
			}
			if err := t.insertClient(ctx, c); err != nil {
				if errors.Is(err, errClientTaken) {
					return errInboundRace
				}
				return err
			}
			if c.Type == sunlamp.ClientTypeSDK {
				if err := t.emitClientEvent(ctx, "client:add", u, c, "sdkLogin"); err != nil {
					return err
				}
			}
		} else {
			prev := *client
			c = prev
			c.Status, c.LastSeen = sunlamp.ClientActive, now
			if c.LinkedAt.IsZero() {
				c.LinkedAt = now
			}
			if in.IntegrationID != "" && c.Type != sunlamp.ClientTypeSDK {
				c.IntegrationID = in.IntegrationID
			}
			// What the channel sends now replaces what it sent before.
			if in.Client.DisplayName != "" {
				c.DisplayName = in.Client.DisplayName
			}
			if in.Client.AvatarURL != "" {
				c.AvatarURL = in.Client.AvatarURL
			}
			if in.Client.Info != nil {
				c.Info = in.Client.Info
			}
			if in.Client.Raw != nil {
				c.Raw = in.Client.Raw
			}
			if err := t.updateClient(ctx, c); err != nil {
				return err
			}
			if prev.Status == sunlamp.ClientPending {
				if err := t.emitClientEvent(ctx, "client:update", u, c, "confirmed"); err != nil {
					return err
				}
			}
		}
		res.Client = c
		// The device.
		if in.Device != nil {
			d, err := t.upsertDevice(ctx, u, c, *in.Device, in.IntegrationID, now)
			if err != nil {
				return err
			}
			res.Device = &d
		}
		if in.Content == nil {
			return nil
		}
		conv, err := t.defaultConversationFor(ctx, u, now, cmp.Or(in.CreationReason, "message"))
		if err != nil {
			return err
		}
		m := sunlamp.Message{
			ID: sunlamp.NewID(), AppID: in.AppID, ConversationID: conv.ID, Received: now,
			Author:  sunlamp.Author{Type: sunlamp.AuthorUser, UserID: u.ID},
			Content: *in.Content,
			Source:  sunlamp.Source{Type: cmp.Or(in.SourceType, in.Channel), IntegrationID: in.IntegrationID},
		}
		if m, err = t.insertMessage(ctx, m); err != nil {
			return err
		}
		if err := t.associateClient(ctx, conv.ID, u.ID, c); err != nil {
			return err
		}
		conv.MessageCount++
		conv.LastUpdatedAt = now
		res.Conversation = &conv
		res.Messages = []sunlamp.Message{m}
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("inbound: %w", err)
	}
	return res, nil
}

// sdkIntegrationTypes are the integration types whose users have an sdk client.
var sdkIntegrationTypes = map[string]bool{"web": true, "ios": true, "android": true, "unity": true}

// checkInboundIntegration checks that the app has the integration and that its type is the
// channel's (ios, android, web or unity for sdk).
func (t tx) checkInboundIntegration(ctx context.Context, appID, integrationID, channel string) error {
	var typ string
	err := t.queryRow(ctx, "SELECT type FROM integrations WHERE id = ? AND app_id = ?", integrationID, appID).Scan(&typ)
	if errors.Is(err, sql.ErrNoRows) {
		return sunlamp.ErrIntegrationNotFound
	}
	if err != nil {
		return err
	}
	if typ == channel || channel == sunlamp.ClientTypeSDK && sdkIntegrationTypes[typ] {
		return nil
	}
	return sunlamp.Invalid("integrationId should be an integration of type %s, not %s", channel, typ)
}

// inboundUser finds or creates the user of an inbound delivery, and returns the client it already
// has on the channel, if any.
func (t tx) inboundUser(ctx context.Context, in sunlamp.Inbound, now time.Time) (sunlamp.User, *sunlamp.Client, error) {
	var owner *sunlamp.Client
	// The channel id names the client, whoever the request says the user is.
	if in.Channel != sunlamp.ClientTypeSDK && in.Client.ExternalID != "" {
		c, err := scanClient(t.queryRow(ctx, "SELECT "+clientColumns+" FROM clients WHERE app_id = ? AND type = ? AND external_id = ?", in.AppID, in.Channel, in.Client.ExternalID))
		switch {
		case err == nil:
			owner = &c
		case !errors.Is(err, sql.ErrNoRows):
			return sunlamp.User{}, nil, err
		}
	}
	var deviceUser string
	if in.Channel == sunlamp.ClientTypeSDK && in.Device != nil && in.Device.GUID != "" {
		err := t.queryRow(ctx, "SELECT user_id FROM devices WHERE app_id = ? AND guid = ?", in.AppID, in.Device.GUID).Scan(&deviceUser)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return sunlamp.User{}, nil, err
		}
	}
	var u sunlamp.User
	var err error
	switch {
	case in.UserID != "" || in.UserExternalID != "":
		ref := in.UserID
		if ref == "" {
			ref = in.UserExternalID
		}
		if in.UserID != "" {
			u, err = scanUser(t.queryRow(ctx, "SELECT "+userColumns+" FROM users WHERE id = ? AND app_id = ? AND "+liveUser+t.forLock(lockShare), in.UserID, in.AppID))
		} else {
			u, err = scanUser(t.queryRow(ctx, "SELECT "+userColumns+" FROM users WHERE external_id = ? AND app_id = ? AND "+liveUser+t.forLock(lockShare), in.UserExternalID, in.AppID))
		}
		if err != nil {
			return u, nil, notFound(err, sunlamp.ErrUserNotFound, "get user")
		}
		if owner != nil && owner.UserID != u.ID {
			return u, nil, errClientTaken
		}
	case owner != nil:
		u, err = t.userLocked(ctx, in.AppID, owner.UserID, lockShare)
		if err != nil {
			return u, nil, err
		}
	case deviceUser != "":
		u, err = t.userLocked(ctx, in.AppID, deviceUser, lockShare)
		if err != nil {
			return u, nil, err
		}
	default:
		u = sunlamp.User{ID: sunlamp.NewID(), AppID: in.AppID, SignedUpAt: now, Identities: in.UserIdentities, Profile: in.Profile}
		if in.AnimalNames && in.Client.DisplayName == "" && in.Profile.GivenName == "" && in.Profile.Surname == "" {
			u.Profile.GivenName, u.Profile.Surname = sunlamp.AnimalName(u.ID)
		}
		if err := t.insertUser(ctx, u); err != nil {
			return u, nil, err
		}
		return u, nil, nil
	}
	if owner != nil && !t.s.d.oneWriter {
		// Read again under the user's lock (lockShare): the first read, made to find the user,
		// may predate an erasure of the client's channel data, which updateClient would then write
		// back. A client removed meanwhile (DeleteUser) is made again.
		c, err := scanClient(t.queryRow(ctx, "SELECT "+clientColumns+" FROM clients WHERE id = ?", owner.ID))
		switch {
		case err == nil:
			owner = &c
		case errors.Is(err, sql.ErrNoRows):
			owner = nil
		default:
			return u, nil, err
		}
	}
	if in.Channel == sunlamp.ClientTypeSDK {
		c, err := scanClient(t.queryRow(ctx, "SELECT "+clientColumns+" FROM clients WHERE user_id = ? AND app_id = ? AND type = ? ORDER BY id LIMIT 1", u.ID, in.AppID, sunlamp.ClientTypeSDK))
		switch {
		case err == nil:
			owner = &c
		case !errors.Is(err, sql.ErrNoRows):
			return u, nil, err
		}
	}
	return u, owner, nil
}

// upsertDevice records a device of the user's sdk client: a new one, or the one with its guid seen
// again (its info, token and app version replaced by what the SDK sends now).
func (t tx) upsertDevice(ctx context.Context, u sunlamp.User, c sunlamp.Client, d sunlamp.Device, integrationID string, now time.Time) (sunlamp.Device, error) {
	old, err := scanDevice(t.queryRow(ctx, "SELECT "+deviceColumns+" FROM devices WHERE app_id = ? AND guid = ?", u.AppID, d.GUID))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		d.ID, d.AppID, d.UserID, d.ClientID, d.Status, d.LastSeen = sunlamp.NewID(), u.AppID, u.ID, c.ID, "active", now
		d.IntegrationID = integrationID
		info, err := toJSON(d.Info)
		if err != nil {
			return d, err
		}
		// ON CONFLICT DO NOTHING: a guid taken meanwhile must not put it in PostgreSQL's log.
		res, err := t.exec(ctx, "INSERT INTO devices ("+deviceColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
			d.ID, d.AppID, d.UserID, d.ClientID, d.Type, d.GUID, d.Status, nullStr(d.IntegrationID), now.UnixMilli(),
			nullStr(d.PushNotificationToken), info, nullStr(d.AppVersion))
		if err != nil {
			return d, err
		}
		if inserted, err := res.RowsAffected(); err != nil || inserted == 0 {
			if err != nil {
				return d, err
			}
			return d, errInboundRace
		}
		return d, nil
	case err != nil:
		return d, err
	}
	if old.UserID != u.ID {
		return d, sunlamp.Errorf(sunlamp.KindConflict, "conflict", "The device belongs to another user")
	}
	old.LastSeen, old.Status, old.ClientID = now, "active", c.ID
	if d.Type != "" {
		old.Type = d.Type
	}
	if integrationID != "" {
		old.IntegrationID = integrationID
	}
	if d.Info != nil {
		old.Info = d.Info
	}
	if d.PushNotificationToken != "" {
		old.PushNotificationToken = d.PushNotificationToken
	}
	if d.AppVersion != "" {
		old.AppVersion = d.AppVersion
	}
	info, err := toJSON(old.Info)
	if err != nil {
		return old, err
	}
	_, err = t.exec(ctx, "UPDATE devices SET client_id = ?, type = ?, status = ?, integration_id = ?, last_seen = ?, push_notification_token = ?, info = ?, app_version = ? WHERE id = ?",
		old.ClientID, old.Type, old.Status, nullStr(old.IntegrationID), now.UnixMilli(), nullStr(old.PushNotificationToken), info, nullStr(old.AppVersion), old.ID)
	return old, err
}

// defaultConversation returns the user's default conversation, creating it (personal, with the user
// as its participant, creationReason message) when the user has none.
func (t tx) defaultConversation(ctx context.Context, u sunlamp.User, now time.Time) (sunlamp.Conversation, error) {
	return t.defaultConversationFor(ctx, u, now, "message")
}

// defaultConversationFor is defaultConversation with the creationReason of a conversation it creates.
func (t tx) defaultConversationFor(ctx context.Context, u sunlamp.User, now time.Time, reason string) (sunlamp.Conversation, error) {
	c, err := scanConversation(t.queryRow(ctx, "SELECT "+conversationColumns+" FROM conversations WHERE default_user_id = ? AND app_id = ?", u.ID, u.AppID))
	if err == nil || !errors.Is(err, sql.ErrNoRows) {
		return c, err
	}
	c = sunlamp.Conversation{ID: sunlamp.NewID(), AppID: u.AppID, Type: sunlamp.ConversationPersonal, CreatedAt: now, LastUpdatedAt: now}
	c, err = t.insertConversation(ctx, c, []sunlamp.User{u}, reason)
	if err == nil && !c.IsDefault {
		// Another transaction made the default conversation since the SELECT above (PostgreSQL,
		// read committed): run again to use it rather than open a second conversation.
		return c, errInboundRace
	}
	return c, err
}

// ConfirmClient activates a pending client of the user: it becomes active, linked and seen now,
// the most recent client of its target conversation when the link named one, and client:update
// (reason confirmed) is emitted.
func (s *Store) ConfirmClient(ctx context.Context, appID, idOrExternalID, clientID string) (sunlamp.Client, error) {
	var c sunlamp.Client
	err := s.inTx(ctx, func(t tx) error {
		u, err := t.userLocked(ctx, appID, idOrExternalID, lockShare)
		if err != nil {
			return err
		}
		c, err = scanClient(t.queryRow(ctx, "SELECT "+clientColumns+" FROM clients WHERE id = ? AND user_id = ? AND app_id = ?"+t.forLock(lockUpdate), clientID, u.ID, appID))
		if err != nil {
			return notFound(err, sunlamp.ErrClientNotFound, "get client")
		}
		if c.Status != sunlamp.ClientPending {
			return sunlamp.ErrClientNotPending
		}
		now := s.now()
		c.Status, c.LinkedAt, c.LastSeen = sunlamp.ClientActive, now, now
		if err := t.updateClient(ctx, c); err != nil {
			return err
		}
		if c.TargetConversationID != "" {
			if err := t.associateClient(ctx, c.TargetConversationID, u.ID, c); err != nil {
				return err
			}
		}
		return t.emitClientEvent(ctx, "client:update", u, c, "confirmed")
	})
	if err != nil {
		return c, fmt.Errorf("confirm client: %w", err)
	}
	return c, nil
}
