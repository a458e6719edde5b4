package api

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sunlamp/sunlamp"
)

// The marketplace OAuth flow (issue 18), as the service's OAuth bridge runs it:
//
//  1. A partner sends the app owner's browser to GET /oauth/authorize?response_type=code&client_id=…
//     [&redirect_uri=…][&state=…], which answers 302 to the consent page (the spec documents a 302).
//  2. The consent page (GET /oauth/consent) has the owner sign in with an account key or an app key,
//     as the console does, then pick the app and Allow or Deny (POST /oauth/consent, twice). The
//     page sends the browser back to the partner's redirect URI, one of those its client registered
//     (never anywhere else), with code and state, or error=access_denied.
//  3. The partner's server exchanges the code (POST /oauth/token, with its client secret) for an
//     access token of integration scope. The first authorization of a client in an app creates
//     the app's integration of that client (its type is the client id); the token is a JWT signed
//     with a key of that integration, so that it is a Bearer credential wherever the spec lets
//     integration scope in, and nowhere else.
//  4. GET /v2/tokenInfo tells the token's app; DELETE /oauth/authorization (RevokeAccess) removes
//     the integration with its webhooks and tokens, and calls the client's removeUrl.
//
// The pages are plain HTML and CSS embedded in the binary, with no script at all.

//go:embed oauthpage
var oauthFiles embed.FS

var (
	oauthAssets, _ = fs.Sub(oauthFiles, "oauthpage")
	consentPage    = template.Must(template.ParseFS(oauthAssets, "consent.html"))
)

// oauthTicketTTL is how long the owner may take to decide once signed in.
const oauthTicketTTL = 10 * time.Minute

// consentView is what the consent page shows: an error, the sign-in form, or the app picker.
type consentView struct {
	Error        string
	SignInError  string
	Client       sunlamp.OAuthClient
	RedirectURI  string
	RedirectHost string
	State        string
	KeyID        string
	KeyKind      string
	Ticket       string
	Apps         []consentApp
}

type consentApp struct{ ID, Name string }

// writeConsentPage renders v with status. Its Content-Security-Policy allows the page's own
// stylesheet and nothing else (no script at all), no framing, and forms posted to Sunlamp, or
// redirected by it to the client's redirect URI (Chromium checks form-action on the redirect too).
func (s *Server) writeConsentPage(w http.ResponseWriter, status int, v consentView) {
	var buf bytes.Buffer
	if err := consentPage.Execute(&buf, v); err != nil {
		s.log.Error("render consent page", "error", err.Error())
		http.Error(w, "Internal error", http.StatusInternalServerError)
		return
	}
	formAction := "'self'"
	if u, err := url.Parse(v.RedirectURI); err == nil && v.RedirectURI != "" {
		formAction += " " + u.Scheme + "://" + u.Host
	}
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; form-action "+formAction+"; frame-ancestors 'none'; base-uri 'none'")
	setPageHeaders(h)
	h.Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// setPageHeaders sets what every page of the flow sends: never cached (it holds a ticket), never
// framed, no referrer (the partner's page would learn Sunlamp's URLs).
func setPageHeaders(h http.Header) {
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
}

// handleOAuthAsset serves the consent page's stylesheet.
func (s *Server) handleOAuthAsset(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("asset")
	if name != "consent.css" {
		writeJSON(w, http.StatusNotFound, errorBody{Errors: []errorEntry{{"not_found", "Resource not found"}}})
		return
	}
	b, _ := fs.ReadFile(oauthAssets, name)
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(b)
}

// flowClient checks a flow's client_id and redirect_uri: a registered client (the built-in ones
// are not authorized through the flow) and one of its redirect URIs, the first when none is given.
// Its error is for the page: the browser must not be sent anywhere then (RFC 6749 §4.1.2.1).
func (s *Server) flowClient(ctx context.Context, clientID, redirectURI string) (sunlamp.OAuthClient, string, string) {
	if clientID == "" {
		return sunlamp.OAuthClient{}, "", "The request names no client (client_id)."
	}
	c, err := s.store.OAuthClient(ctx, clientID)
	if err != nil {
		if sunlamp.KindOf(err) != sunlamp.KindNotFound {
			s.log.Error("oauth client lookup failed", "error", err.Error())
			return c, "", "Something went wrong. Try again."
		}
		return c, "", "No OAuth client has that client_id."
	}
	uri, ok := c.RedirectURI(redirectURI)
	if c.BuiltIn || !ok {
		return c, "", "The redirect_uri is not one of the client's redirect URIs."
	}
	return c, uri, ""
}

// handleAuthorize begins the flow: it checks the client and the redirect URI and sends the browser
// to the consent page with a 302, as the spec documents (the service sends it to its sign-in).
func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	if err := checkQuery(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	c, uri, problem := s.flowClient(r.Context(), q.Get("client_id"), q.Get("redirect_uri"))
	if problem != "" {
		// A browser gets a page; a program (the official client sends no Accept) the envelope.
		if strings.Contains(r.Header.Get("Accept"), "text/html") {
			s.writeConsentPage(w, http.StatusBadRequest, consentView{Error: problem})
		} else {
			s.writeError(w, r, sunlamp.Invalid("%s", problem))
		}
		return
	}
	if q.Get("response_type") != "code" {
		oauthRedirect(w, r, uri, url.Values{"error": {"unsupported_response_type"}}, q.Get("state"))
		return
	}
	next := url.Values{"client_id": {c.ID}, "redirect_uri": {uri}}
	if st := q.Get("state"); st != "" {
		next.Set("state", st)
	}
	found(w, s.baseURL+"/oauth/consent?"+next.Encode())
}

// found answers 302 to target with the text/plain body the spec's example shows.
func found(w http.ResponseWriter, target string) {
	h := w.Header()
	h.Set("Location", target)
	h.Set("Content-Type", "text/plain; charset=utf-8")
	setPageHeaders(h)
	w.WriteHeader(http.StatusFound)
	_, _ = w.Write([]byte("Found. Redirecting to " + target))
}

// oauthRedirect sends the browser back to the client's redirect URI (already checked against the
// client's list) with params and state added to its query.
func oauthRedirect(w http.ResponseWriter, r *http.Request, redirectURI string, params url.Values, state string) {
	u, err := url.Parse(redirectURI)
	if err != nil { // registered URIs are checked when registered
		http.Error(w, "Bad redirect URI", http.StatusInternalServerError)
		return
	}
	q := u.Query()
	for k, v := range params {
		q[k] = v
	}
	if state != "" {
		q.Set("state", state)
	}
	u.RawQuery = q.Encode()
	found(w, u.String())
}

// handleConsentPage shows the sign-in form of the consent page.
func (s *Server) handleConsentPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	c, uri, problem := s.flowClient(r.Context(), q.Get("client_id"), q.Get("redirect_uri"))
	if problem != "" {
		s.writeConsentPage(w, http.StatusBadRequest, consentView{Error: problem})
		return
	}
	s.writeConsentPage(w, http.StatusOK, consentView{Client: c, RedirectURI: uri, State: q.Get("state")})
}

// handleConsent takes the consent page's forms: the sign-in (client_id, redirect_uri, state,
// key_id, key_secret), answered with the app picker, and the decision (ticket, app_id, decision),
// answered with the redirect to the client.
func (s *Server) handleConsent(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.writeConsentPage(w, http.StatusBadRequest, consentView{Error: "The form could not be read."})
		return
	}
	f := r.PostForm
	if t := f.Get("ticket"); t != "" {
		s.consentDecision(w, r, t, f.Get("app_id"), f.Get("decision"))
		return
	}
	c, uri, problem := s.flowClient(r.Context(), f.Get("client_id"), f.Get("redirect_uri"))
	if problem != "" {
		s.writeConsentPage(w, http.StatusBadRequest, consentView{Error: problem})
		return
	}
	v := consentView{Client: c, RedirectURI: uri, State: f.Get("state"), KeyID: f.Get("key_id")}
	key, err := s.signIn(r.Context(), f.Get("key_id"), f.Get("key_secret"))
	if err != nil {
		v.SignInError = err.Error()
		if !cleanText(v.KeyID) || len(v.KeyID) > 100 {
			v.KeyID = ""
		}
		s.writeConsentPage(w, http.StatusUnauthorized, v)
		return
	}
	apps, err := s.consentApps(r.Context(), key)
	if err != nil {
		s.log.Error("list apps for consent", "error", err.Error())
		s.writeConsentPage(w, http.StatusInternalServerError, consentView{Error: "Something went wrong. Try again."})
		return
	}
	if len(apps) == 0 {
		s.writeConsentPage(w, http.StatusOK, consentView{Error: "The account has no app to authorize " + c.Name + " on: create one first."})
		return
	}
	v.Apps, v.KeyKind = apps, "the account key"
	if key.Scope == sunlamp.ScopeApp {
		v.KeyKind = "an app key"
	}
	if u, err := url.Parse(uri); err == nil {
		v.RedirectHost = u.Host
	}
	v.Ticket = newConsentTicket(key, consentTicket{KeyID: key.ID, ClientID: c.ID, RedirectURI: uri, State: v.State,
		Expires: s.clock.Now().Add(oauthTicketTTL).UnixMilli()})
	s.writeConsentPage(w, http.StatusOK, v)
}

// signInError is what the sign-in form says when a sign-in fails (a wrong id and a wrong secret
// get the same words).
type signInError string

func (e signInError) Error() string { return string(e) }

// signIn checks a key id and secret as Basic authentication does; only account and app keys may
// authorize an integration.
func (s *Server) signIn(ctx context.Context, id, secret string) (sunlamp.Key, error) {
	scope, known := sunlamp.ScopeOfKeyID(id)
	if !known || !cleanText(id) || (scope != sunlamp.ScopeAccount && scope != sunlamp.ScopeApp) {
		return sunlamp.Key{}, signInError("Sign in with an account key (act_…) or an app key (app_…).")
	}
	k, err := s.auth.lookup(ctx, id)
	if err != nil || !k.SecretMatches(secret) {
		return sunlamp.Key{}, signInError("That key id and secret do not match a key.")
	}
	return k, nil
}

// consentApps returns the apps a key may authorize an integration on: an app key's app, or the
// account's apps (the first 100).
func (s *Server) consentApps(ctx context.Context, k sunlamp.Key) ([]consentApp, error) {
	var apps []sunlamp.App
	if k.Scope == sunlamp.ScopeApp {
		a, err := s.store.App(ctx, k.AppID)
		if err != nil {
			return nil, err
		}
		apps = []sunlamp.App{a}
	} else {
		list, _, err := s.store.Apps(ctx, k.AccountID, sunlamp.Page{Size: sunlamp.MaxPageSize})
		if err != nil {
			return nil, err
		}
		apps = list
	}
	out := make([]consentApp, 0, len(apps))
	for _, a := range apps {
		name := a.DisplayName
		if name == "" {
			name = "(no name)"
		}
		out = append(out, consentApp{ID: a.ID, Name: name})
	}
	return out, nil
}

// consentTicket is what the app picker's form carries from the sign-in to the decision: who signed
// in, for which client, redirect URI and state, until when. It is signed with the secret of the key
// that signed in, so that it needs no server-side state (several processes may share a PostgreSQL
// database) and dies with the key; it is no credential of the API.
type consentTicket struct {
	KeyID       string `json:"k"`
	ClientID    string `json:"c"`
	RedirectURI string `json:"r"`
	State       string `json:"s,omitempty"`
	Expires     int64  `json:"e"`
}

func ticketMAC(secret string, payload []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("sunlamp oauth consent\n"))
	m.Write(payload)
	return m.Sum(nil)
}

func newConsentTicket(k sunlamp.Key, t consentTicket) string {
	payload, _ := json.Marshal(t)
	return base64.RawURLEncoding.EncodeToString(payload) + "." + base64.RawURLEncoding.EncodeToString(ticketMAC(k.Secret, payload))
}

// readConsentTicket checks a ticket's signature against its key (still existing) and its expiry.
func (s *Server) readConsentTicket(ctx context.Context, raw string) (consentTicket, sunlamp.Key, bool) {
	var t consentTicket
	p, m, ok := strings.Cut(raw, ".")
	payload, err1 := base64.RawURLEncoding.DecodeString(p)
	mac, err2 := base64.RawURLEncoding.DecodeString(m)
	if !ok || err1 != nil || err2 != nil || json.Unmarshal(payload, &t) != nil {
		return t, sunlamp.Key{}, false
	}
	if _, known := sunlamp.ScopeOfKeyID(t.KeyID); !known || !cleanText(t.KeyID) {
		return t, sunlamp.Key{}, false
	}
	k, err := s.auth.lookup(ctx, t.KeyID)
	if err != nil || !hmac.Equal(mac, ticketMAC(k.Secret, payload)) || s.clock.Now().UnixMilli() >= t.Expires {
		return t, sunlamp.Key{}, false
	}
	return t, k, true
}

// consentDecision issues the code (Allow) or the refusal (Deny) and sends the browser back.
func (s *Server) consentDecision(w http.ResponseWriter, r *http.Request, raw, appID, decision string) {
	ctx := r.Context()
	t, k, ok := s.readConsentTicket(ctx, raw)
	if !ok {
		s.writeConsentPage(w, http.StatusBadRequest, consentView{Error: "This authorization has expired or is not valid: start again from the integration's page."})
		return
	}
	// The client may have changed since: its redirect URIs are checked again.
	c, uri, problem := s.flowClient(ctx, t.ClientID, t.RedirectURI)
	if problem != "" || uri != t.RedirectURI {
		s.writeConsentPage(w, http.StatusBadRequest, consentView{Error: "The client's redirect URIs changed: start again from the integration's page."})
		return
	}
	switch decision {
	case "deny":
		oauthRedirect(w, r, uri, url.Values{"error": {"access_denied"}}, t.State)
		return
	case "allow":
	default:
		s.writeConsentPage(w, http.StatusBadRequest, consentView{Error: "Choose Allow or Deny."})
		return
	}
	allowed := false
	switch k.Scope {
	case sunlamp.ScopeApp:
		allowed = k.AppID == appID
	case sunlamp.ScopeAccount:
		acct, err := s.auth.appAccount(ctx, appID)
		allowed = err == nil && acct == k.AccountID
	}
	if !allowed {
		s.writeConsentPage(w, http.StatusBadRequest, consentView{Error: "The key that signed in cannot reach that app."})
		return
	}
	code := sunlamp.NewOAuthCode()
	err := s.store.CreateOAuthCode(ctx, sunlamp.OAuthCode{CodeSHA256: sunlamp.HashOAuthSecret(code), ClientID: c.ID, AppID: appID,
		RedirectURI: uri, ExpiresAt: s.clock.Now().Add(sunlamp.OAuthCodeTTL)})
	if err != nil {
		s.log.Error("create oauth code", "error", err.Error())
		s.writeConsentPage(w, http.StatusInternalServerError, consentView{Error: "Something went wrong. Try again."})
		return
	}
	oauthRedirect(w, r, uri, url.Values{"code": {code}}, t.State)
}

// tokenRequest is GetToken's body (JSON as the spec has it, or a form as RFC 6749 has it), with
// the redirect_uri RFC 6749 §4.1.3 adds: when given, it must be the code's.
type tokenRequest struct {
	Code         Nullable[string] `json:"code"`
	GrantType    Nullable[string] `json:"grant_type"`
	ClientID     Nullable[string] `json:"client_id"`
	ClientSecret Nullable[string] `json:"client_secret"`
	RedirectURI  Nullable[string] `json:"redirect_uri"`
}

func (b *tokenRequest) read(r *http.Request) error {
	if ct := r.Header.Get("Content-Type"); strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		if err := r.ParseForm(); err != nil {
			return sunlamp.Invalid("Could not read the request body")
		}
		for _, f := range []struct {
			name string
			dst  *Nullable[string]
		}{{"code", &b.Code}, {"grant_type", &b.GrantType}, {"client_id", &b.ClientID}, {"client_secret", &b.ClientSecret}, {"redirect_uri", &b.RedirectURI}} {
			if v, ok := r.PostForm[f.name]; ok && len(v) > 0 {
				*f.dst = Nullable[string]{Set: true, Value: v[0]}
			}
		}
		return nil
	}
	return decodeJSON(r, b)
}

// handleGetToken exchanges an authorization code for an access token (server to server).
func (s *Server) handleGetToken(w http.ResponseWriter, r *http.Request) {
	s.public(w, r, s.getToken)
}

func (s *Server) getToken(w http.ResponseWriter, r *http.Request) error {
	var b tokenRequest
	if err := b.read(r); err != nil {
		return err
	}
	// The client authenticates with client_id and client_secret in the body, as the spec has it,
	// or with HTTP Basic, as RFC 6749 §2.3.1 also allows (OAuth libraries try it first); then the
	// body's client_id, when given, must be the same.
	clientID, clientSecret, basic, err := tokenClientAuth(r)
	if err != nil {
		return err
	}
	fields := []struct {
		name string
		v    Nullable[string]
	}{{"code", b.Code}, {"grant_type", b.GrantType}, {"client_id", b.ClientID}, {"client_secret", b.ClientSecret}}
	for i, f := range fields {
		switch {
		case i >= 2 && basic && !f.v.Set:
		case !f.v.Set:
			return required(f.name)
		case f.v.Null:
			return sunlamp.Invalid("%s should be string", f.name)
		}
	}
	if b.GrantType.Value != "authorization_code" {
		return sunlamp.Invalid("grant_type should be equal to authorization_code")
	}
	if !basic {
		clientID, clientSecret = b.ClientID.Value, b.ClientSecret.Value
	} else if (b.ClientID.Set && b.ClientID.Value != clientID) || (b.ClientSecret.Set && b.ClientSecret.Value != clientSecret) {
		return sunlamp.ErrOAuthInvalidClient
	}
	b.ClientID.Value, b.ClientSecret.Value = clientID, clientSecret
	c, err := s.store.OAuthClient(r.Context(), b.ClientID.Value)
	if sunlamp.KindOf(err) == sunlamp.KindNotFound {
		// Compare anyway, so that an unknown client takes as long as a wrong secret.
		(sunlamp.OAuthClient{SecretSHA256: sunlamp.HashOAuthSecret("")}).SecretMatches(b.ClientSecret.Value)
		return sunlamp.ErrOAuthInvalidClient
	}
	if err != nil {
		return err
	}
	if !c.SecretMatches(b.ClientSecret.Value) {
		return sunlamp.ErrOAuthInvalidClient
	}
	now := s.clock.Now()
	_, k, err := s.store.RedeemOAuthCode(r.Context(), sunlamp.OAuthRedemption{
		CodeSHA256: sunlamp.HashOAuthSecret(b.Code.Value), ClientID: c.ID, RedirectURI: b.RedirectURI.Value, Now: now,
		Integration: sunlamp.Integration{ID: sunlamp.NewID(), Status: "active", DisplayName: c.Name},
		Key: sunlamp.Key{ID: sunlamp.NewKeyID(sunlamp.PrefixIntegrationKey), Scope: sunlamp.ScopeIntegration,
			DisplayName: "OAuth access token", Secret: sunlamp.NewSecret()},
	})
	if err != nil {
		return err
	}
	token, err := oauthAccessToken(k, c.ID, now)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, map[string]string{"access_token": token, "token_type": "Bearer"})
	return nil
}

// tokenClientAuth reads a token request's Authorization header: none, or the client's id and secret
// in Basic (each form-encoded, RFC 6749 §2.3.1). Any other credential is not a client's: 401.
func tokenClientAuth(r *http.Request) (id, secret string, basic bool, err error) {
	if r.Header.Get("Authorization") == "" {
		return "", "", false, nil
	}
	u, p, ok := r.BasicAuth()
	if !ok {
		return "", "", false, sunlamp.ErrOAuthInvalidClient
	}
	id, err1 := url.QueryUnescape(u)
	secret, err2 := url.QueryUnescape(p)
	if err1 != nil || err2 != nil {
		return "", "", false, sunlamp.ErrOAuthInvalidClient
	}
	return id, secret, true, nil
}

// oauthAccessToken returns the token of a token key, shaped like the service's (the spec's
// example): header {alg HS256, typ JWT, kid, azp: the client id}, claims {scope: integration, appId,
// iat}. It never expires; revoking the integration deletes its key.
func oauthAccessToken(k sunlamp.Key, clientID string, now time.Time) (string, error) {
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"scope": string(sunlamp.ScopeIntegration), "appId": k.AppID, "iat": now.Unix()})
	t.Header["kid"] = k.ID
	t.Header["azp"] = clientID
	return t.SignedString([]byte(k.Secret))
}

// public runs a handler of a route without API authentication (GetToken): body limit, query text,
// and errors in the envelope.
func (s *Server) public(w http.ResponseWriter, r *http.Request, h func(http.ResponseWriter, *http.Request) error) {
	if r.ContentLength > maxJSONBody {
		s.writeError(w, r, sunlamp.ErrRequestTooLarge)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxJSONBody)
	if err := checkQuery(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := h(w, r); err != nil {
		s.writeError(w, r, err)
	}
}

// oauthOnly lets in integration keys only; the handlers then keep to OAuth integrations' tokens.
var oauthOnly = policy{scopes: []sunlamp.Scope{sunlamp.ScopeIntegration}}

// oauthIntegration returns the OAuth integration whose token authenticated r; a custom
// integration's key gets ErrOAuthNotAnIntegration.
func (s *Server) oauthIntegration(r *http.Request) (sunlamp.Integration, error) {
	k := principal(r.Context())
	in, err := s.store.Integration(r.Context(), k.AppID, k.IntegrationID)
	if err != nil {
		return in, err
	}
	if !sunlamp.IsOAuthIntegrationType(in.Type) {
		return in, sunlamp.ErrOAuthNotAnIntegration
	}
	return in, nil
}

// handleGetTokenInfo answers the app of the token, with its subdomain (see appWithSubdomain).
func (s *Server) handleGetTokenInfo(w http.ResponseWriter, r *http.Request) error {
	in, err := s.oauthIntegration(r)
	if err != nil {
		return err
	}
	a, err := s.store.App(r.Context(), in.AppID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"app": appWithSubdomainOut(a)})
	return nil
}

// handleRevokeAccess removes the token's integration from its app, as its owner removing it does.
func (s *Server) handleRevokeAccess(w http.ResponseWriter, r *http.Request) error {
	in, err := s.oauthIntegration(r)
	if err != nil {
		return err
	}
	if err := s.removeOAuthIntegration(r.Context(), in); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct{}{})
	return nil
}
