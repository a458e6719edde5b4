package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/sunlamp/sunlamp"
)

const conversationColumns = "id, app_id, type, default_user_id, display_name, description, icon_url, metadata, business_last_read, last_updated_at, created_at, message_count"

func scanConversation(r scanner) (sunlamp.Conversation, error) {
	var c sunlamp.Conversation
	var defaultUser, name, desc, icon, metadata sql.NullString
	var lastRead sql.NullInt64
	var updated, created int64
	if err := r.Scan(&c.ID, &c.AppID, &c.Type, &defaultUser, &name, &desc, &icon, &metadata, &lastRead, &updated, &created, &c.MessageCount); err != nil {
		return c, err
	}
	c.IsDefault = defaultUser.Valid
	c.DisplayName, c.Description, c.IconURL = name.String, desc.String, icon.String
	if lastRead.Valid {
		c.BusinessLastRead = sunlamp.FromMillis(lastRead.Int64)
	}
	c.LastUpdatedAt = sunlamp.FromMillis(updated)
	c.CreatedAt = sunlamp.FromMillis(created)
	return c, fromJSON(metadata, &c.Metadata)
}

// conversation returns a conversation of app, or ErrConversationNotFound.
func (t tx) conversation(ctx context.Context, appID, id string) (sunlamp.Conversation, error) {
	c, err := scanConversation(t.queryRow(ctx, "SELECT "+conversationColumns+" FROM conversations WHERE id = ? AND app_id = ?", id, appID))
	if err != nil {
		return c, notFound(err, sunlamp.ErrConversationNotFound, "get conversation")
	}
	return c, nil
}

// conversationLocked returns a conversation of app as tx.conversation does, after taking its row
// lock on PostgreSQL (SQLite has one writer). Every writer that emits an event of an existing
// conversation takes it, as the messages do, so that the conversation's events commit in the order
// of their sequence numbers and carry the conversation as it was then. It is taken after the user's
// lock, never before (see lockShare): Inbound can only find the conversation through the user.
func (t tx) conversationLocked(ctx context.Context, appID, id string) (sunlamp.Conversation, error) {
	c, err := scanConversation(t.queryRow(ctx, "SELECT "+conversationColumns+" FROM conversations WHERE id = ? AND app_id = ?"+t.forLock(lockUpdate), id, appID))
	if err != nil {
		return c, notFound(err, sunlamp.ErrConversationNotFound, "get conversation")
	}
	return c, nil
}

// memberUser returns the live user that ref names by UserID or UserExternalID, taking the row lock
// mode (lockShare when the caller copies it into an event); ErrUserNotFound if none, or if the user
// is deleted. Unlike tx.user it does not fall back from id to externalId: the body said which one
// it gives.
func (t tx) memberUser(ctx context.Context, appID string, ref sunlamp.ParticipantRef, mode string) (sunlamp.User, error) {
	var u sunlamp.User
	var err error
	switch {
	case ref.UserID != "":
		u, err = scanUser(t.queryRow(ctx, "SELECT "+userColumns+" FROM users WHERE app_id = ? AND id = ? AND "+liveUser+t.forLock(mode), appID, ref.UserID))
	case ref.UserExternalID != "":
		u, err = scanUser(t.queryRow(ctx, "SELECT "+userColumns+" FROM users WHERE app_id = ? AND external_id = ? AND "+liveUser+t.forLock(mode), appID, ref.UserExternalID))
	default:
		return u, sunlamp.ErrUserNotFound
	}
	if err != nil {
		return u, notFound(err, sunlamp.ErrUserNotFound, "get user")
	}
	return u, nil
}

// CreateConversation stores a conversation with its participants and emits conversation:create.
func (s *Store) CreateConversation(ctx context.Context, c sunlamp.Conversation, refs []sunlamp.ParticipantRef) (sunlamp.Conversation, error) {
	c.ID = sunlamp.NewID()
	c.CreatedAt = s.now()
	c.LastUpdatedAt = c.CreatedAt
	err := s.inTx(ctx, func(t tx) error {
		if _, err := t.app(ctx, c.AppID); err != nil {
			return err
		}
		users := make([]sunlamp.User, 0, len(refs))
		subscribe := map[string]bool{}
		seen := map[string]bool{}
		for _, ref := range refs {
			u, err := t.memberUser(ctx, c.AppID, ref, lockShare) // copied into conversation:create and client:add
			if err != nil {
				return err
			}
			if !seen[u.ID] {
				seen[u.ID] = true
				users = append(users, u)
			}
			subscribe[u.ID] = subscribe[u.ID] || ref.SubscribeSDKClient
		}
		var err error
		if c, err = t.insertConversation(ctx, c, users, "none"); err != nil {
			return err
		}
		for _, u := range users {
			if !subscribe[u.ID] {
				continue
			}
			p, err := t.participantOf(ctx, c.ID, u.ID)
			if err != nil {
				return err
			}
			if err := t.subscribeSDK(ctx, &p, u); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return c, fmt.Errorf("create conversation: %w", err)
	}
	return c, nil
}

// insertConversation stores c (its ID, AppID, Type, CreatedAt and LastUpdatedAt set) with users as
// participants, and emits conversation:create with creationReason. A personal conversation becomes
// its user's default when the user has none. The inbound channel simulator calls it in its own
// transaction to open a user's conversation.
func (t tx) insertConversation(ctx context.Context, c sunlamp.Conversation, users []sunlamp.User, creationReason string) (sunlamp.Conversation, error) {
	var defaultUser any
	c.IsDefault = false
	if c.Type == sunlamp.ConversationPersonal && len(users) == 1 {
		var one int
		err := t.queryRow(ctx, "SELECT 1 FROM conversations WHERE default_user_id = ?", users[0].ID).Scan(&one)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			defaultUser, c.IsDefault = users[0].ID, true
		case err != nil:
			return c, fmt.Errorf("find default conversation: %w", err)
		}
	}
	metadata, err := toJSON(c.Metadata)
	if err != nil {
		return c, err
	}
	_, err = t.exec(ctx, "INSERT INTO conversations ("+conversationColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
		c.ID, c.AppID, c.Type, defaultUser, nullStr(c.DisplayName), nullStr(c.Description), nullStr(c.IconURL), metadata,
		nil, c.LastUpdatedAt.UnixMilli(), c.CreatedAt.UnixMilli())
	if errors.Is(err, errUnique) { // another request made this user's default conversation meanwhile
		return c, sunlamp.ErrBusy
	}
	if err != nil {
		return c, err
	}
	for _, u := range users {
		if _, err := t.insertParticipant(ctx, c, u); err != nil {
			return c, err
		}
	}
	if err := t.assignDefaultSwitchboard(ctx, c.AppID, c.ID); err != nil { // switchboards.go
		return c, err
	}
	data := sunlamp.EventData{Conversation: &c, CreationReason: creationReason}
	ev := sunlamp.Event{Type: "conversation:create", AppID: c.AppID, ConversationID: c.ID}
	if c.Type == sunlamp.ConversationPersonal && len(users) == 1 {
		data.User = &users[0]
		ev.UserID = users[0].ID
	}
	ev.Data = data
	return c, t.emit(ctx, ev)
}

// Conversation returns a conversation of app.
func (s *Store) Conversation(ctx context.Context, appID, id string) (sunlamp.Conversation, error) {
	c, err := scanConversation(s.queryRow(ctx, "SELECT "+conversationColumns+" FROM conversations WHERE id = ? AND app_id = ?", id, appID))
	if err != nil {
		return c, notFound(err, sunlamp.ErrConversationNotFound, "get conversation")
	}
	return c, nil
}

// Conversations lists the conversations a user takes part in.
func (s *Store) Conversations(ctx context.Context, appID string, ref sunlamp.ParticipantRef, p sunlamp.Page) ([]sunlamp.Conversation, sunlamp.Cursor, error) {
	var list []sunlamp.Conversation
	var cur sunlamp.Cursor
	err := s.readTx(ctx, func(t tx) error {
		u, err := t.memberUser(ctx, appID, ref, lockNone)
		if err != nil {
			return err
		}
		list, cur, err = pageOf(ctx, t, p, pageQuery{
			columns: "c.id, c.app_id, c.type, c.default_user_id, c.display_name, c.description, c.icon_url, c.metadata, c.business_last_read, c.last_updated_at, c.created_at, c.message_count",
			from:    "participants p JOIN conversations c ON c.id = p.conversation_id",
			where:   "p.user_id = ? AND p.app_id = ?", args: []any{u.ID, appID},
			idCol: "p.conversation_id",
		}, scanConversation, func(c sunlamp.Conversation) string { return c.ID })
		return err
	})
	if err != nil {
		return nil, cur, fmt.Errorf("list conversations: %w", err)
	}
	return list, cur, nil
}

// UpdateConversation applies u to a conversation.
func (s *Store) UpdateConversation(ctx context.Context, appID, id string, u sunlamp.ConversationUpdate) (sunlamp.Conversation, error) {
	var c sunlamp.Conversation
	err := s.inTx(ctx, func(t tx) error {
		var err error
		if c, err = t.conversation(ctx, appID, id); err != nil {
			return err
		}
		if u.DisplayName != nil {
			c.DisplayName = *u.DisplayName
		}
		if u.Description != nil {
			c.Description = *u.Description
		}
		if u.IconURL != nil {
			c.IconURL = *u.IconURL
		}
		if u.Metadata != nil {
			c.Metadata = *u.Metadata
		}
		metadata, err := toJSON(c.Metadata)
		if err != nil {
			return err
		}
		_, err = t.exec(ctx, "UPDATE conversations SET display_name = ?, description = ?, icon_url = ?, metadata = ? WHERE id = ?",
			nullStr(c.DisplayName), nullStr(c.Description), nullStr(c.IconURL), metadata, id)
		return err
	})
	if err != nil {
		return c, fmt.Errorf("update conversation: %w", err)
	}
	return c, nil
}

// DeleteConversation removes a conversation that is not a default one.
func (s *Store) DeleteConversation(ctx context.Context, appID, id string) error {
	err := s.inTxRetried(ctx, func(t tx) error {
		c, err := t.conversationLocked(ctx, appID, id) // no message commits into it meanwhile
		if err != nil {
			return err
		}
		if c.IsDefault {
			return sunlamp.ErrDefaultConversation(c.ID)
		}
		return t.deleteConversation(ctx, c)
	})
	if err != nil {
		return fmt.Errorf("delete conversation: %w", err)
	}
	return nil
}

// deleteConversation removes c (locked by the caller) with its participants, its messages and their
// conversation:message events in the outbox, and emits conversation:remove. (DeleteUser's purge
// removes a deleted user's conversations in batches of its own, purgeStep.)
func (t tx) deleteConversation(ctx context.Context, c sunlamp.Conversation) error {
	// Messages first, explicitly: the cascade would do it, but this keeps the plan obvious.
	if _, err := t.exec(ctx, "DELETE FROM messages WHERE conversation_id = ?", c.ID); err != nil {
		return err
	}
	if err := t.deleteMessageEvents(ctx, c.ID); err != nil { // messages.go
		return err
	}
	if _, err := t.exec(ctx, "DELETE FROM conversations WHERE id = ? AND app_id = ?", c.ID, c.AppID); err != nil {
		return err
	}
	return t.emit(ctx, sunlamp.Event{Type: "conversation:remove", AppID: c.AppID, ConversationID: c.ID,
		Data: sunlamp.EventData{Conversation: &c}})
}

// ---- Participants ----

const participantColumns = "p.id, p.app_id, p.conversation_id, p.user_id, u.external_id, p.unread_count, p.last_read, p.client_associations, p.created_at"

const participantFrom = "participants p JOIN users u ON u.id = p.user_id"

func scanParticipant(r scanner) (sunlamp.Participant, error) {
	var p sunlamp.Participant
	var ext, assoc sql.NullString
	var lastRead sql.NullInt64
	var created int64
	if err := r.Scan(&p.ID, &p.AppID, &p.ConversationID, &p.UserID, &ext, &p.UnreadCount, &lastRead, &assoc, &created); err != nil {
		return p, err
	}
	p.UserExternalID = ext.String
	if lastRead.Valid {
		p.LastRead = sunlamp.FromMillis(lastRead.Int64)
	}
	p.CreatedAt = sunlamp.FromMillis(created)
	return p, fromJSON(assoc, &p.ClientAssociations)
}

// insertParticipant adds u to c.
func (t tx) insertParticipant(ctx context.Context, c sunlamp.Conversation, u sunlamp.User) (sunlamp.Participant, error) {
	p := sunlamp.Participant{ID: sunlamp.NewID(), AppID: c.AppID, ConversationID: c.ID, UserID: u.ID, UserExternalID: u.ExternalID, CreatedAt: t.s.now()}
	_, err := t.exec(ctx, "INSERT INTO participants (id, app_id, conversation_id, user_id, unread_count, created_at) VALUES (?, ?, ?, ?, 0, ?)",
		p.ID, p.AppID, p.ConversationID, p.UserID, p.CreatedAt.UnixMilli())
	if errors.Is(err, errForeignKey) {
		return p, sunlamp.ErrUserNotFound
	}
	return p, err
}

func (t tx) participantOf(ctx context.Context, conversationID, userID string) (sunlamp.Participant, error) {
	p, err := scanParticipant(t.queryRow(ctx, "SELECT "+participantColumns+" FROM "+participantFrom+" WHERE p.conversation_id = ? AND p.user_id = ?", conversationID, userID))
	if err != nil {
		return p, notFound(err, sunlamp.ErrNotAParticipant, "get participant")
	}
	return p, nil
}

// JoinConversation adds a user to an sdkGroup conversation.
func (s *Store) JoinConversation(ctx context.Context, appID, conversationID string, ref sunlamp.ParticipantRef) (sunlamp.Participant, error) {
	var p sunlamp.Participant
	err := s.inTx(ctx, func(t tx) error {
		// The user's lock first, then the conversation's (see lockShare); the conversation's lock
		// also makes concurrent joins count participants one at a time. An unknown conversation
		// is reported before an unknown user.
		u, userErr := t.memberUser(ctx, appID, ref, lockShare)
		c, err := t.conversationLocked(ctx, appID, conversationID)
		if err != nil {
			return err
		}
		if userErr != nil {
			return userErr
		}
		if c.Type != sunlamp.ConversationSDKGroup {
			return sunlamp.Invalid("Only sdkGroup conversations can be joined")
		}
		if p, err = t.participantOf(ctx, c.ID, u.ID); err == nil {
			if ref.SubscribeSDKClient { // a member already: joining again only subscribes
				return t.subscribeSDK(ctx, &p, u)
			}
			return nil
		} else if !errors.Is(err, sunlamp.ErrNotAParticipant) {
			return err
		}
		var n int
		if err := t.queryRow(ctx, "SELECT COUNT(*) FROM participants WHERE conversation_id = ?", c.ID).Scan(&n); err != nil {
			return fmt.Errorf("count participants: %w", err)
		}
		if n >= sunlamp.MaxParticipants {
			return sunlamp.ErrTooManyParticipants
		}
		if p, err = t.insertParticipant(ctx, c, u); err != nil {
			return err
		}
		if ref.SubscribeSDKClient {
			if err := t.subscribeSDK(ctx, &p, u); err != nil {
				return err
			}
		}
		return t.emit(ctx, sunlamp.Event{Type: "conversation:join", AppID: appID, ConversationID: c.ID, UserID: u.ID,
			Data: sunlamp.EventData{Conversation: &c, User: &u}})
	})
	if err != nil {
		return p, fmt.Errorf("join conversation: %w", err)
	}
	return p, nil
}

// Participants lists the participants of a conversation.
func (s *Store) Participants(ctx context.Context, appID, conversationID string, pg sunlamp.Page) ([]sunlamp.Participant, sunlamp.Cursor, error) {
	var list []sunlamp.Participant
	var cur sunlamp.Cursor
	err := s.readTx(ctx, func(t tx) error {
		if _, err := t.conversation(ctx, appID, conversationID); err != nil {
			return err
		}
		var err error
		list, cur, err = pageOf(ctx, t, pg, pageQuery{
			columns: participantColumns, from: participantFrom,
			where: "p.conversation_id = ?", args: []any{conversationID}, idCol: "p.id",
		}, scanParticipant, func(p sunlamp.Participant) string { return p.ID })
		return err
	})
	if err != nil {
		return nil, cur, fmt.Errorf("list participants: %w", err)
	}
	return list, cur, nil
}

// LeaveConversation removes a participant.
func (s *Store) LeaveConversation(ctx context.Context, appID, conversationID string, ref sunlamp.ParticipantRef) error {
	err := s.inTx(ctx, func(t tx) error {
		// Found without locks, then locked in order, the user's (for the event) before the
		// conversation's (see lockShare).
		c, err := t.conversation(ctx, appID, conversationID)
		if err != nil {
			return err
		}
		var p sunlamp.Participant
		var u sunlamp.User
		if ref.ID != "" {
			p, err = scanParticipant(t.queryRow(ctx, "SELECT "+participantColumns+" FROM "+participantFrom+" WHERE p.conversation_id = ? AND p.id = ?", c.ID, ref.ID))
			if err != nil {
				return notFound(err, sunlamp.ErrNotAParticipant, "get participant")
			}
			if c.Type == sunlamp.ConversationSDKGroup {
				if u, err = t.memberUser(ctx, appID, sunlamp.ParticipantRef{UserID: p.UserID}, lockShare); err != nil {
					return err
				}
			}
		} else {
			if u, err = t.memberUser(ctx, appID, ref, lockShare); err != nil {
				return err
			}
			if p, err = t.participantOf(ctx, c.ID, u.ID); err != nil {
				return err
			}
		}
		if c, err = t.conversationLocked(ctx, appID, c.ID); err != nil {
			return err
		}
		// ErrNotAParticipant when it left meanwhile.
		if err := t.deleteOne(ctx, sunlamp.ErrNotAParticipant, "DELETE FROM participants WHERE id = ?", p.ID); err != nil {
			return err
		}
		if c.Type != sunlamp.ConversationSDKGroup { // the spec: conversation:leave fires for sdkGroup only
			return nil
		}
		return t.emit(ctx, sunlamp.Event{Type: "conversation:leave", AppID: appID, ConversationID: c.ID, UserID: u.ID,
			Data: sunlamp.EventData{Conversation: &c, User: &u}})
	})
	if err != nil {
		return fmt.Errorf("leave conversation: %w", err)
	}
	return nil
}

// ---- Activities ----

// PostActivity records a read or typing activity and emits its event.
func (s *Store) PostActivity(ctx context.Context, appID, conversationID string, a sunlamp.Activity) error {
	now := s.now()
	err := s.inTx(ctx, func(t tx) error {
		// The user's lock first, then the conversation's (see lockShare). An unknown conversation
		// is reported before an unknown user.
		var u sunlamp.User
		var userErr error
		if a.Author.Type == sunlamp.AuthorUser {
			u, userErr = t.memberUser(ctx, appID, sunlamp.ParticipantRef{UserID: a.Author.UserID}, lockShare)
		}
		c, err := t.conversationLocked(ctx, appID, conversationID)
		if err != nil {
			return err
		}
		ev := sunlamp.Event{AppID: appID, ConversationID: c.ID, Type: "conversation:typing"}
		data := sunlamp.EventData{Conversation: &c}
		if a.Author.Type == sunlamp.AuthorUser {
			if userErr != nil {
				return userErr
			}
			if _, err := t.participantOf(ctx, c.ID, u.ID); err != nil {
				return err
			}
			ev.UserID, data.User = u.ID, &u
		}
		if a.Type == sunlamp.ActivityRead {
			ev.Type = "conversation:read"
			if a.Author.Type == sunlamp.AuthorUser {
				_, err = t.exec(ctx, "UPDATE participants SET last_read = ?, unread_count = 0 WHERE conversation_id = ? AND user_id = ?", now.UnixMilli(), c.ID, a.Author.UserID)
			} else {
				_, err = t.exec(ctx, "UPDATE conversations SET business_last_read = ? WHERE id = ?", now.UnixMilli(), c.ID)
				c.BusinessLastRead = now
			}
			if err != nil {
				return err
			}
		}
		data.Activity = &a
		ev.Data = data
		ev.CreatedAt = now
		return t.emit(ctx, ev)
	})
	if err != nil {
		return fmt.Errorf("post activity: %w", err)
	}
	return nil
}

// millisOrNil returns t as milliseconds, or NULL for the zero time.
func millisOrNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}
