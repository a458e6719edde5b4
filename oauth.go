package sunlamp

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"slices"
	"time"
)

// OAuthClient is a marketplace partner's OAuth client (Sunshine Conversations "Connect"): what an
// app owner authorizes, through the OAuth flow, to act on their app. Its ID is the client_id, and
// the type of the integration an authorization makes in the app (and what a switchboard
// integration's integrationType names). "Client" alone means a user's channel client in this
// package, hence the name.
type OAuthClient struct {
	ID   string
	Name string // shown on the consent page
	// SecretSHA256 is the hex SHA-256 of the client secret: the secret itself is shown once, when
	// the client is registered, and never stored. "" for the built-in clients, which have none.
	SecretSHA256 string
	// RedirectURIs are where the consent page may send the browser back; the first is the default.
	RedirectURIs []string
	// RemoveURL, when set, is called when an app loses the integration (RevokeAccess, or its owner
	// removing it).
	RemoveURL string
	// BuiltIn marks the service's own clients (BuiltInOAuthClients): part of the program, not
	// registered, not authorized through the flow.
	BuiltIn   bool
	CreatedAt time.Time
}

// BuiltInOAuthClients are the service's own OAuth integration types that the spec names (a
// switchboard integration's integrationType: zd:agentWorkspace). Every app may link them in its
// switchboard: Zendesk apps have the Agent Workspace installed, so Sunlamp installs it on first use.
var BuiltInOAuthClients = []OAuthClient{
	{ID: "zd:agentWorkspace", Name: "Zendesk Agent Workspace", BuiltIn: true},
}

// BuiltInOAuthClient returns the built-in client with id.
func BuiltInOAuthClient(id string) (OAuthClient, bool) {
	for _, c := range BuiltInOAuthClients {
		if c.ID == id {
			return c, true
		}
	}
	return OAuthClient{}, false
}

// IsOAuthIntegrationType reports whether an integration's type is an OAuth client's id (an
// integration made by the OAuth flow, or a built-in one) rather than a type CreateIntegration makes.
func IsOAuthIntegrationType(t string) bool {
	return t != "" && !slices.Contains(IntegrationTypes, t)
}

// HashOAuthSecret returns the hex SHA-256 that a client secret is kept as.
func HashOAuthSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// SecretMatches reports, in constant time, whether secret is the client's secret. A built-in client
// has none: nothing matches.
func (c OAuthClient) SecretMatches(secret string) bool {
	if c.SecretSHA256 == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(HashOAuthSecret(secret)), []byte(c.SecretSHA256)) == 1
}

// RedirectURI returns where the flow sends the browser back: uri when it is one of the client's
// redirect URIs exactly, the first of them when uri is "". ok is false otherwise (and for a client
// without redirect URIs): the browser must then not be sent anywhere.
func (c OAuthClient) RedirectURI(uri string) (string, bool) {
	if uri == "" {
		if len(c.RedirectURIs) == 0 {
			return "", false
		}
		return c.RedirectURIs[0], true
	}
	return uri, slices.Contains(c.RedirectURIs, uri)
}

// OAuthClientUpdate says what UpdateOAuthClient changes; nil fields are left as they are.
type OAuthClientUpdate struct {
	Name         *string
	RedirectURIs []string // nil: unchanged
	RemoveURL    *string  // "" removes it
}

// OAuthCode is an authorization code the consent page issued: single use, valid until ExpiresAt,
// bound to the client, the app the owner chose and the redirect URI the browser went back to. Only
// the code's SHA-256 is kept.
type OAuthCode struct {
	CodeSHA256  string
	ClientID    string
	AppID       string
	RedirectURI string
	ExpiresAt   time.Time
}

// OAuthCodeTTL is how long an authorization code may wait to be exchanged (RFC 6749 §4.1.2
// recommends at most 10 minutes).
const OAuthCodeTTL = 10 * time.Minute

// NewOAuthCode returns a new authorization code: 32 random bytes, base64url.
func NewOAuthCode() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("sunlamp: no randomness: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// OAuthRedemption is a token request: the code's hash, the client that presents it, the redirect
// URI it names ("" when the request names none), and the integration and key to create when the
// code is good. Integration is used only when the app has no integration of the client yet.
type OAuthRedemption struct {
	CodeSHA256  string
	ClientID    string
	RedirectURI string
	Now         time.Time
	Integration Integration
	Key         Key
}

// OAuthInstall is an app's integration of an OAuth client.
type OAuthInstall struct {
	Integration Integration
	ClientID    string
	CreatedAt   time.Time
}

// OAuth errors. The spec documents none for the OAuth endpoints; these follow RFC 6749's statuses
// (invalid_client 401, invalid_grant 400) in the Sunshine envelope.
var (
	ErrOAuthClientNotFound   = &Error{Kind: KindNotFound, Code: "not_found", Title: "OAuth client not found"}
	ErrOAuthClientExists     = &Error{Kind: KindConflict, Code: "conflict", Title: "An OAuth client with that id already exists"}
	ErrOAuthClientBuiltIn    = Invalid("Built-in OAuth clients cannot be changed or removed")
	ErrOAuthInvalidClient    = &Error{Kind: KindUnauthorized, Code: "unauthorized", Title: "Invalid client credentials"}
	ErrOAuthInvalidGrant     = Invalid("Invalid authorization code")
	ErrOAuthNotAnIntegration = &Error{Kind: KindForbidden, Code: "forbidden", Title: "Only an OAuth integration's token can do this"}
)

// OAuthStore keeps OAuth clients, authorization codes and the apps' OAuth integrations.
type OAuthStore interface {
	// CreateOAuthClient stores c (CreatedAt set by the store); ErrOAuthClientExists when its id is
	// taken (by a registered or a built-in client).
	CreateOAuthClient(ctx context.Context, c OAuthClient) (OAuthClient, error)
	// OAuthClient returns the client with id, built-in or registered; ErrOAuthClientNotFound.
	OAuthClient(ctx context.Context, id string) (OAuthClient, error)
	// OAuthClients returns the built-in clients, then the registered ones in id order.
	OAuthClients(ctx context.Context) ([]OAuthClient, error)
	// UpdateOAuthClient applies u; ErrOAuthClientNotFound, ErrOAuthClientBuiltIn.
	UpdateOAuthClient(ctx context.Context, id string, u OAuthClientUpdate) (OAuthClient, error)
	// DeleteOAuthClient removes a registered client, its codes, and its integration in every app
	// (with their keys and webhooks), and returns those integrations; ErrOAuthClientNotFound,
	// ErrOAuthClientBuiltIn.
	DeleteOAuthClient(ctx context.Context, id string) ([]Integration, error)

	// CreateOAuthCode stores an authorization code; app_not_found when the app is gone,
	// ErrOAuthClientNotFound when the client is.
	CreateOAuthCode(ctx context.Context, c OAuthCode) error
	// RedeemOAuthCode exchanges a code for a token key in one transaction: the code is deleted
	// whatever happens next (single use), then it must be r.ClientID's, unexpired at r.Now, and
	// r.RedirectURI must be its redirect URI when given, or ErrOAuthInvalidGrant. The app's
	// integration of the client is reused, or r.Integration is created; r.Key is stored for it (in the app's account).
	// It returns the integration and the key.
	RedeemOAuthCode(ctx context.Context, r OAuthRedemption) (Integration, Key, error)
	// OAuthInstalls returns the app's OAuth integrations, oldest first.
	OAuthInstalls(ctx context.Context, appID string) ([]OAuthInstall, error)
	// EnsureOAuthIntegration returns the app's integration of a built-in client, creating it (in as
	// the template) when the app has none; app_not_found, ErrOAuthClientNotFound for another id.
	EnsureOAuthIntegration(ctx context.Context, appID string, in Integration) (Integration, error)
}
