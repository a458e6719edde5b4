package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sunlamp/sunlamp"
)

// policy says who may call an operation.
type policy struct {
	scopes []sunlamp.Scope // the scopes the spec lists for the operation
	app    bool            // the path has {appId}: app and integration keys must belong to it
}

// The policies of the spec's operations.
var (
	// accountOnly: Account Provisioning without an app (CreateApp, ListApps).
	accountOnly = policy{scopes: []sunlamp.Scope{sunlamp.ScopeAccount}}
	// accountApp: Account Provisioning of one app (DeleteApp, app keys).
	accountApp = policy{scopes: []sunlamp.Scope{sunlamp.ScopeAccount}, app: true}
	// appAccess: account or the app's own key (GetApp, UpdateApp, integrations, switchboards).
	appAccess = policy{scopes: []sunlamp.Scope{sunlamp.ScopeAccount, sunlamp.ScopeApp}, app: true}
	// appOrIntegration: also the app's custom integrations (users, conversations, messages, ...).
	appOrIntegration = policy{scopes: []sunlamp.Scope{sunlamp.ScopeAccount, sunlamp.ScopeApp, sunlamp.ScopeIntegration}, app: true}
	// appOrOwnIntegration: the app's key or its custom integrations, not the account, as the spec's
	// Webhooks operations list them (the handler keeps an integration to its own webhooks).
	appOrOwnIntegration = policy{scopes: []sunlamp.Scope{sunlamp.ScopeApp, sunlamp.ScopeIntegration}, app: true}
)

// principal returns the key that authenticated the request.
func principal(ctx context.Context) sunlamp.Key { return stateOf(ctx).key }

// authorize authenticates r and checks p: 401 for missing or bad credentials, 403 for good
// credentials without access. A key never learns whether another app's resources exist: an app or
// integration key naming another app gets 403 whether that app exists or not.
func (s *Server) authorize(r *http.Request, p policy) (*http.Request, error) {
	key, err := s.auth.authenticate(r)
	if err != nil {
		return r, err
	}
	allowed := false
	for _, sc := range p.scopes {
		if sc == key.Scope {
			allowed = true
		}
	}
	if !allowed {
		return r, sunlamp.ErrForbidden
	}
	if p.app {
		appID := r.PathValue("appId")
		switch key.Scope {
		case sunlamp.ScopeAccount:
			acct, err := s.auth.appAccount(r.Context(), appID)
			if err != nil {
				return r, err
			}
			if acct != key.AccountID {
				return r, sunlamp.ErrAppNotFound
			}
		default:
			if key.AppID != appID {
				return r, sunlamp.ErrForbidden
			}
		}
	}
	st, ok := r.Context().Value(requestStateKey{}).(*requestState)
	if !ok { // a request that did not come through ServeHTTP
		st = &requestState{}
		r = r.WithContext(context.WithValue(r.Context(), requestStateKey{}, st))
	}
	st.key = key
	// The store records the acting key in the audit trail (issue 17).
	return r.WithContext(sunlamp.WithActor(r.Context(), key.ID)), nil
}

// authenticator checks credentials against keys, caching lookups so that a request does not pay a
// database round trip for authentication.
type authenticator struct {
	store  sunlamp.Store
	ttl    time.Duration
	clock  sunlamp.Clock
	parser *jwt.Parser // checks exp and nbf against clock (the emulator's virtual clock moves them)

	mu   sync.RWMutex
	keys map[string]cachedKey
	apps map[string]cachedApp
	// gen counts forgets: a lookup that read the store before a key or app was deleted must not
	// put what it read into the cache after the forget, or the deleted key would keep working.
	gen uint64
}

type cachedKey struct {
	key     sunlamp.Key
	fetched time.Time
}

type cachedApp struct {
	accountID string
	fetched   time.Time
}

func newAuthenticator(store sunlamp.Store, ttl time.Duration, clock sunlamp.Clock) *authenticator {
	return &authenticator{store: store, ttl: ttl, clock: clock, keys: map[string]cachedKey{}, apps: map[string]cachedApp{},
		parser: jwt.NewParser(jwt.WithValidMethods([]string{"HS256"}), jwt.WithTimeFunc(clock.Now))}
}

// lookup returns the key with id, from the cache while it is fresh.
func (a *authenticator) lookup(ctx context.Context, id string) (sunlamp.Key, error) {
	now := time.Now()
	a.mu.RLock()
	c, ok := a.keys[id]
	gen := a.gen
	a.mu.RUnlock()
	if ok && now.Sub(c.fetched) < a.ttl {
		return c.key, nil
	}
	k, err := a.store.Key(ctx, id)
	if err != nil {
		return k, err
	}
	a.mu.Lock()
	if len(a.keys) > 100_000 { // bound the cache; it refills on demand
		clear(a.keys)
	}
	if a.gen == gen {
		a.keys[id] = cachedKey{key: k, fetched: now}
	}
	a.mu.Unlock()
	return k, nil
}

// appAccount returns the account that owns appID, or app_not_found.
func (a *authenticator) appAccount(ctx context.Context, appID string) (string, error) {
	now := time.Now()
	a.mu.RLock()
	c, ok := a.apps[appID]
	gen := a.gen
	a.mu.RUnlock()
	if ok && now.Sub(c.fetched) < a.ttl {
		return c.accountID, nil
	}
	app, err := a.store.App(ctx, appID)
	if err != nil {
		return "", err
	}
	a.mu.Lock()
	if len(a.apps) > 100_000 {
		clear(a.apps)
	}
	if a.gen == gen {
		a.apps[appID] = cachedApp{accountID: app.AccountID, fetched: now}
	}
	a.mu.Unlock()
	return app.AccountID, nil
}

// forgetKey drops a key from the cache: a deleted key stops working at once.
func (a *authenticator) forgetKey(id string) {
	a.mu.Lock()
	a.gen++
	delete(a.keys, id)
	a.mu.Unlock()
}

// forgetApp drops an app and every key of it from the cache.
func (a *authenticator) forgetApp(appID string) {
	a.mu.Lock()
	a.gen++
	delete(a.apps, appID)
	for id, c := range a.keys {
		if c.key.AppID == appID {
			delete(a.keys, id)
		}
	}
	a.mu.Unlock()
}

// forgetIntegration drops every key of an integration from the cache.
func (a *authenticator) forgetIntegration(integrationID string) {
	a.mu.Lock()
	a.gen++
	for id, c := range a.keys {
		if c.key.IntegrationID == integrationID {
			delete(a.keys, id)
		}
	}
	a.mu.Unlock()
}

// noticed forgets what another server process sharing the database changed (sqlstore's
// OnKeyChange): a key id, "app:" and a deleted app's id, or "*" for everything.
func (a *authenticator) noticed(id string) {
	switch {
	case id == "*":
		a.mu.Lock()
		a.gen++
		clear(a.keys)
		clear(a.apps)
		a.mu.Unlock()
	case strings.HasPrefix(id, "app:"):
		a.forgetApp(strings.TrimPrefix(id, "app:"))
	default:
		a.forgetKey(id)
	}
}

var errBadCredentials = sunlamp.ErrUnauthorized

// authenticate returns the key that r's Authorization header proves: Basic with a key id and secret,
// or a Bearer JWT signed HS256 with the secret of the key its `kid` header names, whose `scope`
// claim matches the key.
func (a *authenticator) authenticate(r *http.Request) (sunlamp.Key, error) {
	h := r.Header.Get("Authorization")
	switch {
	case h == "":
		return sunlamp.Key{}, sunlamp.ErrUnauthorized
	case len(h) > 7 && strings.EqualFold(h[:7], "bearer "):
		return a.bearer(r.Context(), strings.TrimSpace(h[7:]))
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		return sunlamp.Key{}, errBadCredentials
	}
	if _, known := sunlamp.ScopeOfKeyID(id); !known || !cleanText(id) {
		return sunlamp.Key{}, errBadCredentials
	}
	k, err := a.lookup(r.Context(), id)
	if err != nil {
		if sunlamp.KindOf(err) == sunlamp.KindNotFound {
			return k, errBadCredentials
		}
		return k, err
	}
	if !k.SecretMatches(secret) {
		return sunlamp.Key{}, errBadCredentials
	}
	return k, nil
}

func (a *authenticator) bearer(ctx context.Context, raw string) (sunlamp.Key, error) {
	var key sunlamp.Key
	var lookupErr error
	claims := jwt.MapClaims{}
	_, err := a.parser.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if _, known := sunlamp.ScopeOfKeyID(kid); !known || !cleanText(kid) {
			return nil, errors.New("unknown kid")
		}
		k, err := a.lookup(ctx, kid)
		if err != nil {
			lookupErr = err
			return nil, err
		}
		key = k
		return []byte(k.Secret), nil
	})
	if lookupErr != nil && sunlamp.KindOf(lookupErr) != sunlamp.KindNotFound {
		return sunlamp.Key{}, lookupErr // the store failed: not the caller's fault
	}
	if err != nil {
		return sunlamp.Key{}, errBadCredentials
	}
	scope, _ := claims["scope"].(string)
	if sunlamp.Scope(scope) != key.Scope {
		return sunlamp.Key{}, errBadCredentials
	}
	return key, nil
}
