package sunlamp

import (
	"context"
	"crypto/subtle"
	"strings"
	"time"
)

// Scope is what a credential may reach: the JWT `scope` claim and the kind of key.
type Scope string

// The scopes of the spec that Sunlamp serves. The `user` scope (Messaging SDKs) is refused by every
// v2 operation.
const (
	ScopeAccount     Scope = "account"
	ScopeApp         Scope = "app"
	ScopeIntegration Scope = "integration"
)

// Key is an API key: an account key (act_), an app key (app_) or a custom integration key (int_).
type Key struct {
	ID            string
	Scope         Scope
	AccountID     string // every key belongs to one account
	AppID         string // app and integration keys: the app they reach
	IntegrationID string // integration keys: the custom integration that owns it
	DisplayName   string
	Secret        string
	CreatedAt     time.Time
}

// ScopeOfKeyID returns the scope a key id's prefix gives, and false for an unknown prefix.
func ScopeOfKeyID(id string) (Scope, bool) {
	switch {
	case strings.HasPrefix(id, PrefixAccountKey):
		return ScopeAccount, true
	case strings.HasPrefix(id, PrefixAppKey):
		return ScopeApp, true
	case strings.HasPrefix(id, PrefixIntegrationKey):
		return ScopeIntegration, true
	}
	return "", false
}

// SecretMatches compares secret with the key's secret in constant time.
func (k Key) SecretMatches(secret string) bool {
	return subtle.ConstantTimeCompare([]byte(k.Secret), []byte(secret)) == 1
}

// MaxAppKeys is the spec's limit of API keys per app (and per custom integration).
const MaxAppKeys = 10

// DefaultAccountID is the account of a Sunlamp server: one server serves one account, whose account
// keys reach every app.
const DefaultAccountID = "default"

// KeyStore keeps API keys.
type KeyStore interface {
	// CreateKey stores k (its ID, Secret and CreatedAt are set by the caller) and returns it. For an
	// app key it returns ErrTooManyAppKeys when the app has MaxAppKeys already, and app_not_found
	// when the app does not exist.
	CreateKey(ctx context.Context, k Key) (Key, error)
	// EnsureKey stores k if no key with its id exists, and returns the stored key unchanged otherwise
	// (with its secret updated to k.Secret). Used at start-up for the configured account key.
	EnsureKey(ctx context.Context, k Key) (Key, error)
	// Key returns the key with id, or ErrNotFound.
	Key(ctx context.Context, id string) (Key, error)
	// AppKeys returns the app keys of an app in creation order.
	AppKeys(ctx context.Context, appID string) ([]Key, error)
	// DeleteKey removes the key with id; ErrNotFound if there is none.
	DeleteKey(ctx context.Context, id string) error
	// CountKeys returns the number of keys of scope.
	CountKeys(ctx context.Context, scope Scope) (int, error)
}
