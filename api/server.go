// Package api is Sunlamp's HTTP transport: the Sunshine Conversations v2 routes, authentication,
// the JSON wire format and the error envelope. It holds no state of its own beyond caches; the
// store passed to NewServer keeps everything.
package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/sunlamp/sunlamp"
	"github.com/sunlamp/sunlamp/metrics"
)

// GCPercent is the garbage collector's setting that `sunlamp serve` runs the server with when GOGC
// is not set (Go's default is 100). A request allocates a few kilobytes and keeps nothing, while the
// live heap is a few megabytes (caches, connection buffers), so at GOGC=100 the collector ran dozens
// of times a second under load and took ~10% of the server's CPU. At 400 the heap may grow to five
// times the live heap (tens of megabytes) before a collection (README, Speed).
const GCPercent = 400

// Config is everything a Server depends on.
type Config struct {
	Store   sunlamp.Store
	BaseURL string        // public URL of the server, used in links and media URLs, without a trailing slash
	Logger  *slog.Logger  // nil discards logs
	Clock   sunlamp.Clock // nil is the system clock
	// Emulator, when set, turns the emulator controls on (`sunlamp serve --emulator`): reset,
	// snapshot loading, the clock and faults. nil leaves them answering 404 (see emulator.go).
	Emulator *Emulator
	// Webhooks sends redeliveries (the webhook dispatcher); nil leaves RedeliverEvent answering 404.
	Webhooks Redeliverer
	// RateLimit, when above 0, limits each key to that many requests a second (with a burst of as
	// many), answering 429 with Retry-After beyond it, as the service throttles.
	RateLimit int
	// KeyCacheTTL bounds how long a key looked up for authentication is trusted without asking the
	// store again. Keys deleted through this server are forgotten at once, and on PostgreSQL those
	// deleted through another server process sharing the database as soon as its notification
	// arrives; the TTL bounds it when notifications are lost. 0 means 5s.
	KeyCacheTTL time.Duration
	// Metrics, when set, records each request by operationId and status (`serve --metrics-addr`);
	// nil measures nothing.
	Metrics *metrics.Metrics
}

// Server serves the API.
type Server struct {
	// metrics, when set, and each route pattern's metrics, resolved at start (metrics.go).
	metrics      *metrics.Metrics
	routeMetrics map[string]*metrics.Route

	store   sunlamp.Store
	baseURL string
	log     *slog.Logger
	clock   sunlamp.Clock
	auth    *authenticator
	// mux holds the routes; top holds them too, and a catch-all for what none takes, so that a
	// request is routed once (see unrouted).
	mux, top *http.ServeMux
	// emu is the emulator's state, nil unless Config.Emulator; limiter nil without a rate limit.
	// intercept, nil when both are, may answer an authorized request before its handler (emulator.go).
	emu           *emulator
	webhooks      Redeliverer
	limiter       *rateLimiter
	intercept     func(w http.ResponseWriter, r *http.Request, op string) bool
	appOperations map[string]bool // the operationIds of the app routes, which faults may name
	// webMessenger is the customer side's state (webmessenger.go).
	webMessenger *webMessenger
	// streamsEnd is closed by EndStreams: the Server-Sent Event streams end when it is.
	streamsEnd chan struct{}
	endStreams sync.Once
}

// EndStreams ends the Server-Sent Event streams (the web messenger's and the console's) open now or
// opened later: they last up to minutes, so a graceful shutdown, which waits for requests to
// finish, calls it first (http.Server.RegisterOnShutdown). The pages open their next stream on
// another server process, or when this one is back, and read what they missed.
func (s *Server) EndStreams() { s.endStreams.Do(func() { close(s.streamsEnd) }) }

// NewServer returns the API as an http.Handler.
func NewServer(cfg Config) *Server {
	s := &Server{
		store:   cfg.Store,
		baseURL: strings.TrimRight(cfg.BaseURL, "/"),
		log:     cfg.Logger,
		clock:   cfg.Clock,
		metrics: cfg.Metrics,
		mux:     http.NewServeMux(),
		top:     http.NewServeMux(),

		streamsEnd: make(chan struct{}),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.clock == nil {
		s.clock = sunlamp.SystemClock{}
	}
	ttl := cfg.KeyCacheTTL
	if ttl == 0 {
		ttl = 5 * time.Second
	}
	s.auth = newAuthenticator(cfg.Store, ttl, s.clock)
	// Several processes on one PostgreSQL: keys changed through another are forgotten at once, not
	// after the TTL (which still bounds it while the notifications' connection is down).
	if n, ok := cfg.Store.(interface{ OnKeyChange(func(string)) }); ok {
		n.OnKeyChange(s.auth.noticed)
	}
	s.setUpEmulator(cfg)
	s.webMessenger = newWebMessenger(cfg.Store)
	s.routes()
	s.top.HandleFunc("/", s.unrouted)
	return s
}

// route registers a handler of a route.
func (s *Server) route(pattern string, h http.HandlerFunc) {
	s.measureRoute(pattern, h)
	s.mux.HandleFunc(pattern, h)
	s.top.HandleFunc(pattern, h)
}

// requestState is what the middleware learns about a request: its id, and once authorized, its key.
// One value in the request's context, filled in place, so that authorizing does not copy the
// request again.
type requestState struct {
	id  string
	key sunlamp.Key
}

type requestStateKey struct{}

func stateOf(ctx context.Context) *requestState {
	st, _ := ctx.Value(requestStateKey{}).(*requestState)
	if st == nil {
		return &requestState{}
	}
	return st
}

func requestID(ctx context.Context) string { return stateOf(ctx).id }

// ServeHTTP serves one request through the middleware: request id, recovery, access log, and the
// JSON 404/405 for requests no route takes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := r.Header.Get("X-Request-Id")
	if !plainRequestID(id) { // a client's id is echoed and logged: only short printable ASCII is taken
		var b [8]byte
		_, _ = rand.Read(b[:])
		id = hex.EncodeToString(b[:])
	}
	w.Header().Set("X-Request-Id", id)
	r = r.WithContext(context.WithValue(r.Context(), requestStateKey{}, &requestState{id: id}))
	sw := &statusWriter{ResponseWriter: w}
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("panic", "request_id", id, "panic", v, "stack", string(debug.Stack()))
			if !sw.wrote {
				s.writeError(sw, r, sunlamp.Internal(nil))
			}
		}
		// The access log names the route pattern, never the raw path: paths carry externalIds,
		// which may be personal data.
		if s.log.Enabled(r.Context(), slog.LevelInfo) {
			s.log.Info("request", "request_id", id, "method", r.Method, "route", r.Pattern, "status", sw.status, "ms", time.Since(start).Milliseconds())
		}
		s.measure(r, sw.status, start)
	}()
	if headersTooLarge(r) {
		writeJSON(sw, http.StatusRequestHeaderFieldsTooLarge, errorBody{Errors: []errorEntry{{"request_header_fields_too_large", "Request headers are too large"}}})
		return
	}
	// A path that ServeMux would clean (".", "..", an empty segment, raw or percent-encoded) is
	// answered 404 here, before routing: the mux would answer it with a redirect to the cleaned path,
	// which keeps the method, and clients that follow it resend the credentials, so that
	// DELETE .../users/.. became DeleteApp. No such resource can exist.
	if !routablePath(r.URL) {
		r.Pattern = ""
		writeJSON(sw, http.StatusNotFound, errorBody{Errors: []errorEntry{{"not_found", "Resource not found"}}})
		return
	}
	s.top.ServeHTTP(sw, r)
}

// unrouted answers a request that no route takes (top's catch-all) with the status the routes' mux
// gives it (404, or 405 with Allow) in the JSON envelope instead of the mux's plain text.
func (s *Server) unrouted(w http.ResponseWriter, r *http.Request) {
	r.Pattern = "" // the access log shows no route
	h, _ := s.mux.Handler(r)
	rec := &headerRecorder{header: http.Header{}}
	h.ServeHTTP(rec, r)
	if rec.status == http.StatusMethodNotAllowed {
		if allow := rec.header.Get("Allow"); allow != "" {
			w.Header().Set("Allow", allow)
		}
		writeJSON(w, http.StatusMethodNotAllowed, errorBody{Errors: []errorEntry{{"method_not_allowed", "Method not allowed"}}})
		return
	}
	// Never a redirect: ServeHTTP answers every path the mux would clean before routing, and the
	// routes have no trailing-slash patterns; whatever else the mux would redirect is not found.
	writeJSON(w, http.StatusNotFound, errorBody{Errors: []errorEntry{{"not_found", "Resource not found"}}})
}

type headerRecorder struct {
	header http.Header
	status int
}

func (h *headerRecorder) Header() http.Header         { return h.header }
func (h *headerRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (h *headerRecorder) WriteHeader(code int)        { h.status = code }

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.status, w.wrote = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer (flushing, deadlines).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// handle registers an operation: its method and path pattern, who may call it, and the handler.
// JSON bodies are limited to 100 kb.
func (s *Server) handle(pattern string, p policy, h func(http.ResponseWriter, *http.Request) error) {
	s.handleLimited(pattern, p, maxJSONBody, h)
}

// handleLimited is handle with another body limit (uploads).
func (s *Server) handleLimited(pattern string, p policy, limit int64, h func(http.ResponseWriter, *http.Request) error) {
	op := operationOf(h)
	s.registerOperation(pattern, op)
	s.route(pattern, func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > limit {
			s.writeError(w, r, sunlamp.ErrRequestTooLarge)
			return
		}
		if r.Body != http.NoBody { // a request without a body (GET, most DELETEs) has nothing to limit
			r.Body = http.MaxBytesReader(w, r.Body, limit)
			// A client trickling its body must not hold a connection forever: JSON bodies get 30 s,
			// uploads 10 minutes (50 MB at 85 kB/s). Errors mean the connection cannot take deadlines.
			_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(readTimeout(limit)))
		}
		// A client that never reads its response must not hold the connection and its buffers
		// forever (errors mean the connection cannot take deadlines).
		_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(writeTimeout(limit)))
		if err := checkQuery(r); err != nil {
			s.writeError(w, r, err)
			return
		}
		r, err := s.authorize(r, p)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if s.intercept != nil && s.intercept(w, r, op) { // rate limit, faults (emulator.go)
			return
		}
		if err := h(w, r); err != nil {
			s.measureError(r, err)
			s.writeError(w, r, err)
		}
	})
	s.measureRoute(pattern, h) // by the handler's name (route saw the wrapper above)
}

// handleHealthz answers 200 only when the store answers.
func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		s.log.Error("health check failed", "error", err.Error())
		writeJSON(w, http.StatusServiceUnavailable, errorBody{Errors: []errorEntry{{"unavailable", "The store does not answer"}}})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// writeTimeout is how long a response of a route with body limit may take, from the start of its
// handling to its last byte: JSON answers 1 minute, upload answers 10 minutes (as their bodies).
// Media downloads have their own (mediaWriteTimeout).
func writeTimeout(limit int64) time.Duration {
	if limit > maxJSONBody {
		return 10 * time.Minute
	}
	return time.Minute
}

// readTimeout is how long a request of a route with body limit may take to send its body.
func readTimeout(limit int64) time.Duration {
	if limit > maxJSONBody {
		return 10 * time.Minute
	}
	return 30 * time.Second
}
