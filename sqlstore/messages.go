package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/sunlamp/sunlamp"
)

// messageColumns are the columns of the messages table, in insert order.
const messageColumns = "conversation_id, id, app_id, received, author_type, author_subtypes, author_user_id, author_display_name, author_avatar_url, content_type, content, source_type, source_integration_id, source_original_id, source_original_ts, metadata, refs"

const messageColumnCount = 17

// messageSelect reads a message with its user author's current profile: one join, no query per row.
const messageSelect = "SELECT m.conversation_id, m.id, m.app_id, m.received, m.author_type, m.author_subtypes, m.author_user_id, m.author_display_name, m.author_avatar_url, m.content_type, m.content, m.source_type, m.source_integration_id, m.source_original_id, m.source_original_ts, m.metadata, m.refs, u.given_name, u.surname, u.avatar_url FROM messages m LEFT JOIN users u ON u.id = m.author_user_id"

func scanMessage(r scanner) (sunlamp.Message, error) {
	var m sunlamp.Message
	var received int64
	var subtypes, userID, name, avatar, srcInt, srcOrig, metadata, refs, given, surname, userAvatar sql.NullString
	var srcTS sql.NullInt64
	var content string
	if err := r.Scan(&m.ConversationID, &m.ID, &m.AppID, &received, &m.Author.Type, &subtypes, &userID, &name, &avatar,
		&m.Content.Type, &content, &m.Source.Type, &srcInt, &srcOrig, &srcTS, &metadata, &refs, &given, &surname, &userAvatar); err != nil {
		return m, err
	}
	m.Received = sunlamp.FromMillis(received)
	m.Content.Doc = []byte(content)
	m.Author.UserID = userID.String
	if m.Author.Type == sunlamp.AuthorUser {
		m.Author.DisplayName = strings.TrimSpace(given.String + " " + surname.String)
		m.Author.AvatarURL = userAvatar.String
	} else {
		m.Author.DisplayName, m.Author.AvatarURL = name.String, avatar.String
	}
	if subtypes.Valid {
		m.Author.Subtypes = strings.Split(subtypes.String, ",")
	}
	m.Source.IntegrationID, m.Source.OriginalMessageID = srcInt.String, srcOrig.String
	if srcTS.Valid {
		m.Source.OriginalMessageTimestamp = sunlamp.FromMillis(srcTS.Int64)
	}
	if refs.Valid {
		m.References = []byte(refs.String)
	}
	return m, fromJSON(metadata, &m.Metadata)
}

// messageArgs returns the values of m for messageColumns.
func messageArgs(m sunlamp.Message) ([]any, error) {
	metadata, err := toJSON(m.Metadata)
	if err != nil {
		return nil, err
	}
	var subtypes, name, avatar, refs any
	if len(m.Author.Subtypes) > 0 {
		subtypes = strings.Join(m.Author.Subtypes, ",")
	}
	if m.Author.Type != sunlamp.AuthorUser { // a user author's name and avatar are read from the user
		name, avatar = nullStr(m.Author.DisplayName), nullStr(m.Author.AvatarURL)
	}
	if len(m.References) > 0 {
		refs = string(m.References)
	}
	return []any{m.ConversationID, m.ID, m.AppID, m.Received.UnixMilli(), m.Author.Type, subtypes, nullStr(m.Author.UserID),
		name, avatar, m.Content.Type, string(m.Content.Doc), m.Source.Type, nullStr(m.Source.IntegrationID),
		nullStr(m.Source.OriginalMessageID), millisOrNil(m.Source.OriginalMessageTimestamp), metadata, refs}, nil
}

// PostMessage stores a message through the group committer: concurrent calls share one durable
// commit. See messageBatcher.
func (s *Store) PostMessage(ctx context.Context, m sunlamp.Message) (sunlamp.Message, error) {
	m, err := s.msgBatch.post(s, ctx, m)
	if err != nil {
		return m, fmt.Errorf("post message: %w", err)
	}
	return m, nil
}

// Messages returns one page of a conversation's messages. Ids are time-ordered, so the newest page is
// the highest ids: a descending index range scan on (conversation_id, id), reversed. The page is one
// query outside a transaction (one round trip on PostgreSQL); only an empty page asks whether the
// conversation exists.
func (s *Store) Messages(ctx context.Context, appID, conversationID string, p sunlamp.Page) ([]sunlamp.Message, sunlamp.Cursor, error) {
	var cur sunlamp.Cursor
	size := p.Size
	if size <= 0 || size > sunlamp.MaxPageSize {
		size = sunlamp.MaxPageSize
	}
	// The page is a range of the primary key (conversation_id, id), written as row-value bounds
	// rather than conversation_id = ? AND id < ?: PostgreSQL cannot turn row comparisons into a
	// bitmap scan, so it walks the index in order and stops at the LIMIT even when its statistics
	// think the conversation small (stale after a burst of messages); with the plain form it read
	// and sorted the whole conversation (README, Speed). Ids are
	// lowercase hex, so every id sorts between "" and "g". m.app_id scopes the page to the app:
	// another app's conversation reads as empty, then as unknown.
	lo, hi := "", "g"
	forward := p.After != ""
	order := " ORDER BY m.conversation_id DESC, m.id DESC LIMIT ?"
	switch {
	case forward:
		lo, order = p.After, " ORDER BY m.conversation_id ASC, m.id ASC LIMIT ?"
	case p.Before != "":
		hi = p.Before
	}
	q := messageSelect + " WHERE (m.conversation_id, m.id) > (?, ?) AND (m.conversation_id, m.id) < (?, ?) AND m.app_id = ?" + order
	args := []any{conversationID, lo, conversationID, hi, appID, size + 1}
	list, err := s.scanMessages(ctx, q, args, size+1)
	if err != nil {
		return nil, cur, fmt.Errorf("list messages: %w", err)
	}
	if len(list) == 0 {
		var one int
		if err := s.queryRow(ctx, "SELECT 1 FROM conversations WHERE id = ? AND app_id = ?", conversationID, appID).Scan(&one); err != nil {
			return nil, cur, notFound(err, sunlamp.ErrConversationNotFound, "list messages")
		}
		return list, cur, nil
	}
	if len(list) > size {
		cur.HasMore = true
		list = list[:size]
	}
	if !forward {
		slices.Reverse(list)
	}
	first, last := list[0].ID, list[len(list)-1].ID
	switch {
	case forward: // newer pages follow while HasMore; the page before starts at first
		cur.Before = first
		if cur.HasMore {
			cur.After = last
		}
	case p.Before != "": // older pages precede while HasMore; newer ones follow
		cur.After = last
		if cur.HasMore {
			cur.Before = first
		}
	default: // the newest page: only older pages
		if cur.HasMore {
			cur.Before = first
		}
	}
	return list, cur, nil
}

func (s *Store) scanMessages(ctx context.Context, q string, args []any, capacity int) ([]sunlamp.Message, error) {
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	list := make([]sunlamp.Message, 0, capacity)
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, err
		}
		list = append(list, m)
	}
	return list, rows.Err()
}

// DeleteMessage removes one message of a conversation, and its conversation:message event from
// the outbox: the event holds the message's text, and a delivery still pending (a webhook target
// that is down is retried for 15 minutes) would otherwise send the deleted text; its deliveries
// go with it (ON DELETE CASCADE).
func (s *Store) DeleteMessage(ctx context.Context, appID, conversationID, messageID string) error {
	err := s.inTx(ctx, func(t tx) error {
		// The conversation's lock first, as insertMessage and the batches take it, so that the
		// message count and lastUpdatedAt below see every message committed before.
		if _, err := t.conversationLocked(ctx, appID, conversationID); err != nil {
			return err
		}
		var received int64
		err := t.queryRow(ctx, "DELETE FROM messages WHERE conversation_id = ? AND id = ? AND app_id = ? RETURNING received", conversationID, messageID, appID).Scan(&received)
		if err != nil {
			return notFound(err, sunlamp.ErrConversationNotFound, "delete message")
		}
		// The event has no column for its message: it is found among the events of the message's
		// millisecond (created_at is the message's received time, through events_by_created_at, a
		// handful of rows) by its conversation, type and the message id in its snapshot. Ids are
		// 24 hex characters, unique, so the quoted id matches no other message's event. (Only the
		// quoted id is matched: PostgreSQL's switchboard trigger rewrites some events' data through
		// jsonb, which spaces and reorders the keys.)
		t.outboxChanged() // the deliveries queued behind a removed one may now be due
		if _, err := t.exec(ctx, "DELETE FROM events WHERE created_at = ? AND conversation_id = ? AND type = 'conversation:message' AND data LIKE ?",
			received, conversationID, `%"`+messageID+`"%`); err != nil {
			return err
		}
		_, err = t.exec(ctx, `UPDATE conversations SET message_count = message_count - 1,
			last_updated_at = COALESCE((SELECT received FROM messages WHERE conversation_id = ? ORDER BY id DESC LIMIT 1), created_at)
			WHERE id = ?`, conversationID, conversationID)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete message: %w", err)
	}
	return nil
}

// DeleteAllMessages removes every message of a conversation, which makes room under the limit
// again, and their conversation:message events from the outbox (as DeleteMessage does).
func (s *Store) DeleteAllMessages(ctx context.Context, appID, conversationID string) error {
	err := s.inTx(ctx, func(t tx) error {
		// Under the conversation's lock no message commits between the DELETE and the count of
		// 0 below (PostgreSQL; a batch committing meanwhile would be missed and miscounted).
		if _, err := t.conversationLocked(ctx, appID, conversationID); err != nil {
			return err
		}
		if _, err := t.exec(ctx, "DELETE FROM messages WHERE conversation_id = ?", conversationID); err != nil {
			return err
		}
		if err := t.deleteMessageEvents(ctx, conversationID); err != nil {
			return err
		}
		if _, err := t.exec(ctx, "UPDATE participants SET unread_count = 0 WHERE conversation_id = ?", conversationID); err != nil {
			return err
		}
		_, err := t.exec(ctx, "UPDATE conversations SET message_count = 0, last_updated_at = created_at WHERE id = ?", conversationID)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete all messages: %w", err)
	}
	return nil
}

// deleteMessageEvents removes the conversation:message events of a conversation from the outbox,
// with their deliveries (ON DELETE CASCADE), through events_by_conversation: they hold the text of
// messages being deleted. The other events of the conversation (create, join, leave, activities)
// hold no message and stay.
func (t tx) deleteMessageEvents(ctx context.Context, conversationID string) error {
	t.outboxChanged() // the deliveries queued behind a removed one may now be due
	_, err := t.exec(ctx, "DELETE FROM events WHERE conversation_id = ? AND type = 'conversation:message'", conversationID)
	return err
}
