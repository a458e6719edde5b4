package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"mime"
	"net"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sunlamp/sunlamp"
)

// The web messenger (issue 14): the customer's side of a `web` integration, served by Sunlamp at
// BASE/web/{integrationId} from files embedded in the binary (plain HTML, CSS and JavaScript
// modules: no CDN, no build step). The page talks to Sunlamp through endpoints of its own under
// /_sunlamp/v1/web/{integrationId}/ (routes.go, "Customer side"), never through /v2: it holds no
// app key, only a visitor credential that speaks as one user of one integration of one app.
//
// Visitor credentials: "svt_" + session id + "." + 64 random bytes (base64url), issued when the
// visitor's user is created (their first message, as the Web SDK does since 5.x) or when they log
// in with a user JWT. The browser keeps it in localStorage and sends it as
// "Authorization: Bearer svt_..."; the store keeps only the secret's SHA-256, compared in constant
// time. /v2 never accepts it (it is neither a key nor a JWT), it is never in a URL (the event
// stream is read with fetch, which sends headers, rather than EventSource, which cannot), never in
// a cookie and never logged.

//go:embed web
var webFiles embed.FS

// webAssets is the folder of the page's files.
var webAssets, _ = fs.Sub(webFiles, "web")

var webPage = template.Must(template.ParseFS(webFiles, "web/index.html"))

// Limits of the visitor endpoints: a visitor's requests (by session), and the anonymous ones that
// create users (by client address).
const (
	visitorRate        = 20 // requests a second, per session
	visitorBurst       = 60
	anonymousRate      = 1.0 // new visitors a second, per client address
	anonymousBurst     = 30
	maxVisitorUpload   = 25 << 20 // the Web SDK's attachment limit is 25 MB
	visitorTokenPrefix = "svt_"
)

// webMessenger is the state of the customer side: rate limits and the live hub.
type webMessenger struct {
	live      *liveHub
	sessions  *visitorLimiter
	anonymous *visitorLimiter
	// webApps caches which apps have a web integration: only their business messages are
	// announced to the other processes (others have no page to tell).
	mu      sync.Mutex
	webApps map[string]webAppEntry
	// hooks caches the triggers each app's webhooks are subscribed to: a business message is
	// followed by conversation:message:delivery:channel only where one is.
	hooks map[string]hooksEntry
}

type webAppEntry struct {
	has     bool
	fetched time.Time
}

type hooksEntry struct {
	triggers map[string]bool
	fetched  time.Time
}

func newWebMessenger(store sunlamp.Store) *webMessenger {
	return &webMessenger{
		live:      newLiveHub(store),
		sessions:  newVisitorLimiter(visitorRate, visitorBurst),
		anonymous: newVisitorLimiter(anonymousRate, anonymousBurst),
		webApps:   map[string]webAppEntry{},
		hooks:     map[string]hooksEntry{},
	}
}

// webRequestKey is the context key of what the visitor routes learn about a request.
type webRequestKey struct{}

// webRequest is the integration a visitor request names and, once authenticated, the session.
type webRequest struct {
	integration sunlamp.Integration
	session     sunlamp.VisitorSession
}

func webOf(r *http.Request) *webRequest {
	w, _ := r.Context().Value(webRequestKey{}).(*webRequest)
	if w == nil {
		return &webRequest{}
	}
	return w
}

// webAccess says who may call a visitor route.
type webAccess int

const (
	webPublic  webAccess = iota // anyone (rate limited by address): the page, its configuration
	webVisitor                  // a visitor credential of the integration
)

// web registers a route of the customer side. It checks the integration (a web integration),
// the Origin against the integration's originWhitelist, the rate limits and, for webVisitor, the
// credential; bodies are limited as everywhere (uploads to maxVisitorUpload).
func (s *Server) web(pattern string, access webAccess, h func(http.ResponseWriter, *http.Request) error) {
	limit := int64(maxJSONBody)
	if strings.HasSuffix(pattern, "/attachments") {
		limit = maxVisitorUpload + 1<<20
	}
	s.route(pattern, func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > limit {
			s.writeError(w, r, sunlamp.ErrRequestTooLarge)
			return
		}
		if r.Body != http.NoBody {
			r.Body = http.MaxBytesReader(w, r.Body, limit)
			_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(readTimeout(limit)))
		}
		_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(writeTimeout(limit)))
		h2 := w.Header()
		h2.Set("X-Content-Type-Options", "nosniff")
		h2.Set("Referrer-Policy", "no-referrer")
		h2.Set("Cache-Control", "no-store")
		if err := checkQuery(r); err != nil {
			s.writeError(w, r, err)
			return
		}
		wr, err := s.webAuthorize(w, r, access)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), webRequestKey{}, wr))
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// errOriginNotAllowed answers a request from an origin the integration's originWhitelist leaves out.
var errOriginNotAllowed = &sunlamp.Error{Kind: sunlamp.KindForbidden, Code: "forbidden", Title: "Origin not allowed"}

// webAuthorize checks a customer-side request and returns what it learned.
func (s *Server) webAuthorize(w http.ResponseWriter, r *http.Request, access webAccess) (*webRequest, error) {
	integ, err := s.store.WebIntegration(r.Context(), r.PathValue("integrationId"))
	if err != nil {
		return nil, err
	}
	if integ.Type != "web" {
		return nil, sunlamp.ErrIntegrationNotFound
	}
	if origin := r.Header.Get("Origin"); origin != "" {
		if !s.originAllowed(r, integ, origin) {
			return nil, errOriginNotAllowed
		}
		if origin != s.ownOrigin(r) {
			// A page of a whitelisted site calls the endpoints itself: CORS, with the credential in
			// a header (never a cookie, so there is nothing for another site to ride on).
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
		}
	}
	wr := &webRequest{integration: integ}
	if access == webPublic {
		// The calls that make users or sessions count (not the page, its files or preflights).
		if r.Method == http.MethodPost && !s.webMessenger.anonymous.allow(clientAddress(r)) {
			return nil, sunlamp.Errorf(sunlamp.KindRateLimited, "too_many_requests", "Too many requests")
		}
		return wr, nil
	}
	sess, err := s.visitorSession(r, integ)
	if err != nil {
		return nil, err
	}
	if !s.webMessenger.sessions.allow(sess.ID) {
		return nil, sunlamp.Errorf(sunlamp.KindRateLimited, "too_many_requests", "Too many requests")
	}
	wr.session = sess
	return wr, nil
}

// visitorSession returns the session of the request's visitor credential, which must belong to
// integ. Every failure is the same 401.
func (s *Server) visitorSession(r *http.Request, integ sunlamp.Integration) (sunlamp.VisitorSession, error) {
	h := r.Header.Get("Authorization")
	if len(h) < 7 || !strings.EqualFold(h[:7], "bearer ") {
		return sunlamp.VisitorSession{}, sunlamp.ErrVisitorSessionNotFound
	}
	id, secret, ok := parseVisitorToken(strings.TrimSpace(h[7:]))
	if !ok {
		return sunlamp.VisitorSession{}, sunlamp.ErrVisitorSessionNotFound
	}
	sess, err := s.store.VisitorSession(r.Context(), id)
	if err != nil {
		return sess, err
	}
	sum := sha256.Sum256([]byte(secret))
	want, err := hex.DecodeString(sess.SecretSHA256)
	if err != nil || subtle.ConstantTimeCompare(sum[:], want) != 1 || sess.IntegrationID != integ.ID || sess.AppID != integ.AppID {
		return sunlamp.VisitorSession{}, sunlamp.ErrVisitorSessionNotFound
	}
	return sess, nil
}

// newVisitorToken returns a new session for a user of integ and the token the browser keeps.
func (s *Server) newVisitorSession(ctx context.Context, integ sunlamp.Integration, userID string) (string, error) {
	secret := sunlamp.NewSecret()
	sum := sha256.Sum256([]byte(secret))
	sess := sunlamp.VisitorSession{ID: sunlamp.NewID(), AppID: integ.AppID, IntegrationID: integ.ID, UserID: userID,
		SecretSHA256: hex.EncodeToString(sum[:]), CreatedAt: s.clock.Now()}
	if err := s.store.CreateVisitorSession(ctx, sess); err != nil {
		return "", err
	}
	return visitorTokenPrefix + sess.ID + "." + secret, nil
}

// parseVisitorToken splits "svt_<id>.<secret>".
func parseVisitorToken(tok string) (id, secret string, ok bool) {
	rest, ok := strings.CutPrefix(tok, visitorTokenPrefix)
	if !ok {
		return "", "", false
	}
	id, secret, ok = strings.Cut(rest, ".")
	if !ok || len(id) != 24 || secret == "" || len(secret) > 128 || !cleanText(secret) {
		return "", "", false
	}
	for _, c := range id {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return "", "", false
		}
	}
	return id, secret, true
}

// ownOrigin is the origin the page is served from.
func (s *Server) ownOrigin(r *http.Request) string {
	if u, err := url.Parse(s.baseURL); err == nil && u.Host != "" {
		return u.Scheme + "://" + u.Host
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// originAllowed reports whether a page of origin may call the integration's endpoints: the page
// Sunlamp serves always, and others when the integration's originWhitelist names them (or has
// none: the service allows every origin then).
func (s *Server) originAllowed(r *http.Request, integ sunlamp.Integration, origin string) bool {
	if origin == s.ownOrigin(r) {
		return true
	}
	wl := originWhitelist(integ)
	return len(wl) == 0 || slices.Contains(wl, origin)
}

// originWhitelist returns the integration's originWhitelist.
func originWhitelist(integ sunlamp.Integration) []string {
	list, _ := integ.Config["originWhitelist"].([]any)
	var out []string
	for _, v := range list {
		if s, ok := v.(string); ok {
			out = append(out, strings.TrimRight(s, "/"))
		}
	}
	return out
}

// clientAddress is the address a request came from, for rate limits (never logged).
func clientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// handleWebMessengerPage serves the chat page of a web integration.
func (s *Server) handleWebMessengerPage(w http.ResponseWriter, r *http.Request) error {
	integ := webOf(r).integration
	h := w.Header()
	h.Set("Content-Security-Policy", webPageCSP(integ))
	h.Set("Content-Type", "text/html; charset=utf-8")
	var buf bytes.Buffer
	if err := webPage.Execute(&buf, struct{ IntegrationID, Title string }{integ.ID, webTitle(integ)}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
	return nil
}

// webPageCSP is the page's Content-Security-Policy: its own scripts and styles only (no inline
// code), images from anywhere (the business's messages point at them), API calls to Sunlamp
// alone, and framing by the originWhitelist's sites (any when there is none).
func webPageCSP(integ sunlamp.Integration) string {
	ancestors := "*"
	if wl := originWhitelist(integ); len(wl) > 0 {
		ancestors = "'self' " + strings.Join(wl, " ")
	}
	return "default-src 'none'; script-src 'self'; style-src 'self'; img-src https: http: data: blob:; media-src https: http: blob:; " +
		"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors " + ancestors
}

func webTitle(integ sunlamp.Integration) string {
	if name, _ := integ.Config["businessName"].(string); name != "" {
		return name
	}
	if integ.DisplayName != "" {
		return integ.DisplayName
	}
	return "Chat"
}

// handleWebMessengerAsset serves the page's scripts and styles.
func (s *Server) handleWebMessengerAsset(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	b, err := fs.ReadFile(webAssets, name)
	if err != nil || name == "index.html" || strings.Contains(name, "/") {
		writeJSON(w, http.StatusNotFound, errorBody{Errors: []errorEntry{{"not_found", "Resource not found"}}})
		return
	}
	ct := mime.TypeByExtension(path.Ext(name))
	if path.Ext(name) == ".js" {
		ct = "text/javascript; charset=utf-8"
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// handleWebPreflight answers the CORS preflight of a whitelisted site's page.
func (s *Server) handleWebPreflight(w http.ResponseWriter, r *http.Request) error {
	h := w.Header()
	h.Set("Access-Control-Allow-Methods", "GET, POST, DELETE")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// visitorLimiter is a token bucket per key.
type visitorLimiter struct {
	rate, burst float64
	mu          sync.Mutex
	buckets     map[string]*visitorBucket
	pruned      time.Time
}

type visitorBucket struct {
	tokens float64
	at     time.Time
}

func newVisitorLimiter(rate, burst float64) *visitorLimiter {
	return &visitorLimiter{rate: rate, burst: burst, buckets: map[string]*visitorBucket{}}
}

// allow takes a token of key's bucket and reports whether there was one.
func (l *visitorLimiter) allow(key string) bool {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.pruned) > time.Minute {
		for k, b := range l.buckets {
			if now.Sub(b.at).Seconds()*l.rate >= l.burst {
				delete(l.buckets, k)
			}
		}
		l.pruned = now
	}
	b := l.buckets[key]
	if b == nil {
		b = &visitorBucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.at).Seconds()*l.rate)
	b.at = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// hasWebIntegration reports whether the app has a web integration (cached for 10 s).
func (s *Server) hasWebIntegration(ctx context.Context, appID string) bool {
	m := s.webMessenger
	m.mu.Lock()
	e, ok := m.webApps[appID]
	m.mu.Unlock()
	if ok && time.Since(e.fetched) < 10*time.Second {
		return e.has
	}
	list, _, err := s.store.Integrations(ctx, appID, []string{"web"}, sunlamp.Page{Size: 1})
	has := err == nil && len(list) > 0
	m.mu.Lock()
	if len(m.webApps) > 100_000 {
		clear(m.webApps)
	}
	m.webApps[appID] = webAppEntry{has: has, fetched: time.Now()}
	m.mu.Unlock()
	return has
}

// forgetWebApp drops an app from the caches of its integrations and webhooks: this process
// changed them. (Another process's changes are seen within the caches' 10 s.)
func (s *Server) forgetWebApp(appID string) {
	s.webMessenger.mu.Lock()
	delete(s.webMessenger.webApps, appID)
	delete(s.webMessenger.hooks, appID)
	s.webMessenger.mu.Unlock()
}

// subscribed reports whether a webhook of the app is subscribed to trigger (cached for 10 s).
func (s *Server) subscribed(ctx context.Context, appID, trigger string) bool {
	m := s.webMessenger
	m.mu.Lock()
	e, ok := m.hooks[appID]
	m.mu.Unlock()
	if ok && time.Since(e.fetched) < 10*time.Second {
		return e.triggers[trigger]
	}
	list, err := s.store.AppTriggers(ctx, appID)
	if err != nil {
		return false
	}
	e = hooksEntry{triggers: map[string]bool{}, fetched: time.Now()}
	for _, t := range list {
		e.triggers[t] = true
	}
	m.mu.Lock()
	if len(m.hooks) > 100_000 {
		clear(m.hooks)
	}
	m.hooks[appID] = e
	m.mu.Unlock()
	return e.triggers[trigger]
}

// afterPostMessage does what follows a business message on the customer side: the pages
// watching the conversation are told, and when the user has an active channel client (not sdk)
// conversation:message:delivery:channel is emitted, as the service does once it hands the message
// to the channel (only for apps with a webhook subscribed to it: others would not read it).
func (s *Server) afterPostMessage(ctx context.Context, m sunlamp.Message) {
	s.publishConversation(ctx, m.AppID, liveNote{ConversationID: m.ConversationID, Kind: "message"})
	if m.Author.Type != sunlamp.AuthorBusiness || !s.subscribed(ctx, m.AppID, "conversation:message:delivery:channel") {
		return
	}
	if err := s.store.AutoChannelDelivery(context.WithoutCancel(ctx), m); err != nil {
		s.log.ErrorContext(ctx, "channel delivery event", "request_id", requestID(ctx), "error", err.Error())
	}
}

// publishConversation tells the pages watching a conversation that its messages changed, or of an
// activity. Called after the change committed; it never blocks on the database.
func (s *Server) publishConversation(ctx context.Context, appID string, n liveNote) {
	if s.webMessenger == nil {
		return
	}
	announce := s.webMessenger.live.store != nil && s.hasWebIntegration(ctx, appID)
	s.webMessenger.live.publish(n, announce)
}
