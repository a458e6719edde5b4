package sunlamp

import (
	"context"
	"time"
)

// VisitorSession is the credential of a web messenger visitor: what lets a browser speak as one
// user through one web integration of one app, and nothing else. The browser holds its id and a
// secret; the store keeps only the secret's SHA-256.
type VisitorSession struct {
	ID            string
	AppID         string
	IntegrationID string
	UserID        string
	SecretSHA256  string // hex
	CreatedAt     time.Time
}

// ErrVisitorSessionNotFound is a visitor credential that names no live session (a made-up one, or
// one whose user, integration or app was deleted).
var ErrVisitorSessionNotFound = &Error{Kind: KindUnauthorized, Code: "unauthorized", Title: "Authorization is required"}

// ErrMessageNotFound is a message that a conversation does not hold.
var ErrMessageNotFound = &Error{Kind: KindNotFound, Code: "message_not_found", Title: "Message not found"}

// VisitorStore keeps what the web messenger needs beyond the v2 API: its integration looked up by
// id alone (the page's URL has no app id), the visitors' sessions, and membership checks.
type VisitorStore interface {
	// WebIntegration returns the integration with id, of whatever app, with its Config;
	// ErrIntegrationNotFound if none.
	WebIntegration(ctx context.Context, id string) (Integration, error)
	// CreateVisitorSession stores s (every field set by the caller).
	CreateVisitorSession(ctx context.Context, s VisitorSession) error
	// VisitorSession returns the session with id while its user, integration and app exist;
	// ErrVisitorSessionNotFound otherwise.
	VisitorSession(ctx context.Context, id string) (VisitorSession, error)
	// DeleteVisitorSession removes a session; removing one that is gone is not an error.
	DeleteVisitorSession(ctx context.Context, id string) error
	// Participates reports whether the user takes part in a conversation of the app.
	Participates(ctx context.Context, appID, conversationID, userID string) (bool, error)
	// Message returns one message of a conversation of the app, its user author's name and avatar
	// the user's current ones; ErrMessageNotFound if there is none.
	Message(ctx context.Context, appID, conversationID, id string) (Message, error)
	// LoginVisitor makes a web messenger visitor the user with in.ExternalID, as the Web SDK's
	// login does: that user (created when there is none, or the visitor's anonymous user itself,
	// given the externalId), into which the visitor's anonymous user is merged when both exist
	// (its clients, devices, conversations and messages move over; user:merge). It emits user:update
	// (reason authentication) for the user.
	LoginVisitor(ctx context.Context, in VisitorLogin) (VisitorLoginResult, error)
	// DetectLocale gives the user the locale its browser reports when it has none yet, and emits
	// user:update (reason localeDetection). It returns the user.
	DetectLocale(ctx context.Context, appID, userID, locale string) (User, error)
	// GuidOwner returns the id of the live user whose device has guid in app, "" when none.
	GuidOwner(ctx context.Context, appID, guid string) (string, error)
}

// VisitorLogin is a web messenger login: a user JWT's externalId, and the visitor's anonymous
// user if the browser had one.
type VisitorLogin struct {
	AppID           string
	IntegrationID   string
	ExternalID      string
	AnonymousUserID string // "" when the visitor had no user yet
}

// VisitorLoginResult is the user a login leads to, and the merge it made, if any.
type VisitorLoginResult struct {
	User   User
	Merged *UserMerge
}

// UserMerge is two users made one: what survived and what was discarded (for user:merge).
type UserMerge struct {
	Surviving, Discarded User
	// The conversations and clients merged, when there were two of a kind (nil otherwise).
	SurvivingConversation, DiscardedConversation *Conversation
	SurvivingClient, DiscardedClient             *Client
	// DiscardedMetadata holds the discarded user's metadata keys that did not fit.
	DiscardedMetadata Metadata
	Reason            string // "sdkLogin"
}
