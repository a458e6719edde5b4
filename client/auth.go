package client

import (
	"encoding/base64"
	"errors"
	"net/http"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Auth puts credentials on a request.
type Auth interface {
	// Apply sets the request's Authorization header.
	Apply(r *http.Request) error
}

// Scope is the scope claim of a JWT: who the token speaks for.
type Scope string

// The scopes of the v2 API.
const (
	ScopeAccount     Scope = "account"
	ScopeApp         Scope = "app"
	ScopeIntegration Scope = "integration"
)

type basicAuth struct{ header string }

// Apply sets the Basic Authorization header.
func (b basicAuth) Apply(r *http.Request) error {
	r.Header.Set("Authorization", b.header)
	return nil
}

// Basic authenticates every request with HTTP Basic and an API key's id and secret.
func Basic(keyID, secret string) Auth {
	return basicAuth{"Basic " + base64.StdEncoding.EncodeToString([]byte(keyID+":"+secret))}
}

type bearerAuth struct{ header string }

// Apply sets the Bearer Authorization header.
func (b bearerAuth) Apply(r *http.Request) error {
	r.Header.Set("Authorization", b.header)
	return nil
}

// Bearer authenticates every request with a ready-made token (an OAuth access token, or a JWT minted
// elsewhere).
func Bearer(token string) Auth { return bearerAuth{"Bearer " + token} }

// JWT authenticates every request with a token signed HS256 by the key's secret, its kid header the
// key id and its scope claim scope; appID is put in an appId claim for the integration scope (leave
// it "" otherwise). The token carries iat and no expiry, as the service's own examples do, and is
// minted once.
func JWT(keyID, secret string, scope Scope, appID string) (Auth, error) {
	tok, err := MintJWT(keyID, secret, scope, appID, time.Now())
	if err != nil {
		return nil, err
	}
	return Bearer(tok), nil
}

// MintJWT returns a token as JWT describes, issued at now.
func MintJWT(keyID, secret string, scope Scope, appID string, now time.Time) (string, error) {
	if keyID == "" || secret == "" {
		return "", errors.New("client: a JWT needs a key id and a secret")
	}
	switch scope {
	case ScopeAccount, ScopeApp:
	case ScopeIntegration:
		if appID == "" {
			return "", errors.New("client: an integration-scope JWT needs the app id")
		}
	default:
		return "", errors.New("client: JWT scope must be account, app or integration")
	}
	claims := jwt.MapClaims{"scope": string(scope), "iat": now.Unix()}
	if scope == ScopeIntegration {
		claims["appId"] = appID
	}
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	t.Header["kid"] = keyID
	return t.SignedString([]byte(secret))
}

// ScopeOfKeyID returns the scope a key id's prefix implies: act_ account, app_ app, int_ integration.
func ScopeOfKeyID(keyID string) (Scope, bool) {
	switch {
	case len(keyID) > 4 && keyID[:4] == "act_":
		return ScopeAccount, true
	case len(keyID) > 4 && keyID[:4] == "app_":
		return ScopeApp, true
	case len(keyID) > 4 && keyID[:4] == "int_":
		return ScopeIntegration, true
	}
	return "", false
}
