package sunlamp

import (
	"context"
	"time"
)

// Browsing an app's conversations (issue 16): the v2 API lists conversations only by user
// (ListConversations requires filter[userId] or filter[userExternalId]); a console, an agent view or
// a support tool needs every conversation of an app, the most recently active first, filtered and
// searched, a page at a time. GET /_sunlamp/v1/apps/{appId}/conversations serves it (README,
// "Console").

// ConversationFilter selects conversations of an app; empty fields select all.
type ConversationFilter struct {
	Type string // ConversationPersonal or ConversationSDKGroup
	// Query matches a conversation by its id or a participant's user id or externalId (exactly), or
	// by a part of its displayName or of a participant's name or email (case-insensitively).
	Query string
	// UserID keeps the conversations the user takes part in.
	UserID string
}

// ConversationSummary is a conversation as a list shows it: the conversation, a few of its
// participants and its last message.
type ConversationSummary struct {
	Conversation     Conversation
	Participants     []ParticipantSummary // the first MaxSummaryParticipants, in joining order
	ParticipantCount int
	LastMessage      *MessagePreview // nil when the conversation has no message
}

// MaxSummaryParticipants is how many participants a ConversationSummary names.
const MaxSummaryParticipants = 3

// ParticipantSummary names a participant's user. The names and email are personal data (the
// user's profile, read when the list is read, so an erased profile shows as erased).
type ParticipantSummary struct {
	UserID     string
	ExternalID string
	GivenName  string
	Surname    string
	Email      string
}

// MessagePreview is the gist of a message for a list: who wrote it, its type and the start of its
// text (at most MaxPreviewRunes characters; "" for content without text).
type MessagePreview struct {
	ID          string
	AuthorType  string
	AuthorName  string // a business author's displayName; "" for users (read from the user)
	ContentType string
	Text        string
	Received    time.Time
}

// MaxPreviewRunes bounds a MessagePreview's text.
const MaxPreviewRunes = 140

// ConversationBrowser lists an app's conversations, the most recently active first (by
// LastUpdatedAt, then id). A Page's After and Before are the opaque cursors that an earlier Cursor
// returned: After continues the list past the page it ended, Before returns the page before the one
// it started. It returns a 400 error for a cursor it did not make; an app without conversations
// (or that does not exist) has an empty list.
type ConversationBrowser interface {
	BrowseConversations(ctx context.Context, appID string, f ConversationFilter, p Page) ([]ConversationSummary, Cursor, error)
}
