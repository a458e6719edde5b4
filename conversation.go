package sunlamp

import (
	"context"
	"time"
)

// Conversation types of the spec.
const (
	ConversationPersonal = "personal"
	ConversationSDKGroup = "sdkGroup"
)

// Conversation is a conversation of an app: a personal conversation between one user and the
// business, or an sdkGroup conversation of up to MaxParticipants users.
type Conversation struct {
	ID               string
	AppID            string
	Type             string // ConversationPersonal or ConversationSDKGroup
	IsDefault        bool   // the first personal conversation of its user; it cannot be deleted
	DisplayName      string // "" when not set
	Description      string
	IconURL          string
	Metadata         Metadata
	BusinessLastRead time.Time // zero when the business never marked it read
	LastUpdatedAt    time.Time // time of the last message, or CreatedAt when there is none
	CreatedAt        time.Time
	MessageCount     int // messages it holds; PostMessage is refused at MaxMessagesPerConversation
}

// ConversationUpdate says what UpdateConversation changes: a nil field is left as it is, a pointer to
// "" (or to a nil map) unsets the field.
type ConversationUpdate struct {
	DisplayName *string
	Description *string
	IconURL     *string
	Metadata    *Metadata
}

// Participant is a user's membership of a conversation.
type Participant struct {
	ID                 string
	AppID              string
	ConversationID     string
	UserID             string
	UserExternalID     string // read from the user, "" when none
	UnreadCount        int    // messages of others posted since LastRead
	LastRead           time.Time
	ClientAssociations []ClientAssociation // most recently used first
	CreatedAt          time.Time
}

// ClientAssociation is a client of a participant that takes part in a conversation.
type ClientAssociation struct {
	Type     string // a client type: sdk, messenger, whatsapp...
	ClientID string
}

// Limits of conversations.
const (
	// MaxParticipants is the spec's limit of participants of an sdkGroup conversation.
	MaxParticipants = 10
	// MaxMessagesPerConversation is the spec's limit of messages a conversation holds; the next
	// PostMessage is answered 423 until messages are deleted.
	MaxMessagesPerConversation = 30000
)

// Conversation errors with the spec's codes and titles.
var (
	ErrConversationNotFound = &Error{Kind: KindNotFound, Code: "conversation_not_found", Title: "Conversation not found"}
	ErrNotAParticipant      = &Error{Kind: KindNotFound, Code: "not_found", Title: "User is not a member of the conversation"}
	ErrTooManyParticipants  = &Error{Kind: KindInvalid, Code: "bad_request", Title: "Too many participants"}
	ErrMessageLimit         = &Error{Kind: KindLocked, Code: "locked", Title: "Message limit of 30000 per conversation reached."}
)

// ErrDefaultConversation returns the spec's 400 for deleting a user's default conversation.
func ErrDefaultConversation(id string) *Error {
	return Invalid("Conversation %s cannot be deleted because it is the default.", id)
}

// ParticipantRef names a user taking part in a conversation: by user id (UserID), by the user's
// externalId (UserExternalID) or by participant id (ID). Exactly one is set.
type ParticipantRef struct {
	ID             string
	UserID         string
	UserExternalID string
	// SubscribeSDKClient associates the user's SDK client (created when the user has none) with the
	// conversation, when the user joins it.
	SubscribeSDKClient bool
}

// Activity is a PostActivity: conversation:read, typing:start or typing:stop by an author.
type Activity struct {
	Type   string // ActivityRead, ActivityTypingStart or ActivityTypingStop
	Author Author // Author.UserID set for a user author
}

// Activity types of the spec.
const (
	ActivityRead        = "conversation:read"
	ActivityTypingStart = "typing:start"
	ActivityTypingStop  = "typing:stop"
)

// ConversationStore keeps conversations, participants, messages and activities. Every method is
// scoped by app: another app's conversation is reported as not found.
type ConversationStore interface {
	// CreateConversation stores c (ID, CreatedAt set by the store) with the users that participants
	// name (by UserID or UserExternalID) and emits conversation:create. A personal conversation
	// becomes its user's default when the user has none. It returns ErrUserNotFound for an unknown
	// user and app_not_found for an unknown app.
	CreateConversation(ctx context.Context, c Conversation, participants []ParticipantRef) (Conversation, error)
	// Conversation returns a conversation of app; ErrConversationNotFound if there is none.
	Conversation(ctx context.Context, appID, id string) (Conversation, error)
	// Conversations lists the conversations that the user (by UserID or UserExternalID) takes part
	// in, in id order; ErrUserNotFound when there is no such user.
	Conversations(ctx context.Context, appID string, user ParticipantRef, page Page) ([]Conversation, Cursor, error)
	// UpdateConversation applies u; ErrConversationNotFound if there is no such conversation.
	UpdateConversation(ctx context.Context, appID, id string, u ConversationUpdate) (Conversation, error)
	// DeleteConversation removes a conversation with its participants and messages and emits
	// conversation:remove. It returns ErrConversationNotFound, or ErrDefaultConversation for a
	// user's default conversation.
	DeleteConversation(ctx context.Context, appID, id string) error

	// JoinConversation adds the user to an sdkGroup conversation and emits conversation:join. It
	// returns ErrConversationNotFound, ErrTooManyParticipants (a full conversation, or a personal
	// one), ErrUserNotFound, and the existing participant when the user takes part already.
	JoinConversation(ctx context.Context, appID, conversationID string, user ParticipantRef) (Participant, error)
	// Participants lists the participants of a conversation in id order; ErrConversationNotFound.
	Participants(ctx context.Context, appID, conversationID string, page Page) ([]Participant, Cursor, error)
	// LeaveConversation removes a participant and emits conversation:leave. It returns
	// ErrConversationNotFound, ErrUserNotFound or ErrNotAParticipant.
	LeaveConversation(ctx context.Context, appID, conversationID string, ref ParticipantRef) error

	// PostMessage stores m (its ID and Received set by the store) in its conversation, updates the
	// conversation's lastUpdatedAt and the participants' unread counts, and emits
	// conversation:message, all durably before it returns. Concurrent calls share commits. It
	// returns ErrConversationNotFound, or ErrMessageLimit when the conversation holds
	// MaxMessagesPerConversation messages.
	PostMessage(ctx context.Context, m Message) (Message, error)
	// Messages returns one page of a conversation's messages, oldest first within the page. With no
	// cursor it is the most recent page; Before pages back in time, After forward. User authors carry
	// the user's current displayName and avatarUrl. ErrConversationNotFound if there is none.
	Messages(ctx context.Context, appID, conversationID string, page Page) ([]Message, Cursor, error)
	// DeleteMessage removes one message; ErrConversationNotFound when the conversation or the
	// message does not exist.
	DeleteMessage(ctx context.Context, appID, conversationID, messageID string) error
	// DeleteAllMessages removes every message of a conversation; ErrConversationNotFound.
	DeleteAllMessages(ctx context.Context, appID, conversationID string) error

	// PostActivity records an activity: conversation:read by a user sets the participant's lastRead
	// and zeroes its unread count (by the business it sets businessLastRead); every activity emits
	// conversation:read or conversation:typing. It returns ErrConversationNotFound, or
	// ErrNotAParticipant when a user author does not take part.
	PostActivity(ctx context.Context, appID, conversationID string, a Activity) error
}
