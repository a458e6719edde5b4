// Package sunlamptest runs a complete Sunlamp inside a Go test: the v2 API and the simulator on a
// loopback port, SQLite in the test's temporary directory, webhooks delivered and recorded, the
// emulator controls on (reset, snapshots, a virtual clock, faults: see the client's ResetApp,
// LoadSnapshot, AdvanceClock, CreateFault, ListDeliveries), closed when the test ends. A bot's
// tests then talk to it over real HTTP, as they would to the service:
//
//	func TestBotAnswers(t *testing.T) {
//		srv := sunlamptest.New(t)
//		app := srv.App(t)
//		user, err := app.Client.CreateUser(ctx, app.ID, client.UserCreate{ExternalID: "customer-1"})
//		...
//	}
//
// Each server is independent: tests may run in parallel, each with its own.
package sunlamptest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sunlamp/sunlamp"
	"github.com/sunlamp/sunlamp/api"
	"github.com/sunlamp/sunlamp/client"
	"github.com/sunlamp/sunlamp/sqlstore"
	"github.com/sunlamp/sunlamp/webhook"
)

// Server is a running Sunlamp.
type Server struct {
	// URL is the base URL of the API, e.g. http://127.0.0.1:41234: what a bot under test is given
	// instead of https://api.smooch.io.
	URL string
	// AccountKey is an account key (id and secret) of the server: it reaches every app.
	AccountKey Key
	// Client calls the API with the account key; the emulator controls take it.
	Client *client.Client
	// Clock is the server's virtual clock (Advance moves it).
	Clock *sunlamp.VirtualClock

	apps atomic.Int64
}

// Key is an API key's id and secret.
type Key struct {
	ID, Secret string
}

// App is an app of a Server with an app key.
type App struct {
	ID  string
	Key Key
	// Client calls the API with the app key.
	Client *client.Client
}

// New starts a Sunlamp for tb on a loopback port and stops it when tb ends. It fails tb if the
// server cannot start.
func New(tb testing.TB) *Server {
	tb.Helper()
	ctx := context.Background()
	clock := &sunlamp.VirtualClock{} // one clock for the store, the API and the dispatcher
	store, err := sqlstore.Open(ctx, "sqlite:"+filepath.Join(tb.TempDir(), "sunlamp.db"), sqlstore.WithClock(clock))
	if err != nil {
		tb.Fatalf("sunlamptest: open store: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		store.Close()
		tb.Fatalf("sunlamptest: listen: %v", err)
	}
	base := "http://" + ln.Addr().String()
	key, err := store.CreateKey(ctx, sunlamp.Key{
		ID: sunlamp.NewKeyID(sunlamp.PrefixAccountKey), Scope: sunlamp.ScopeAccount,
		AccountID: sunlamp.DefaultAccountID, DisplayName: "sunlamptest", Secret: sunlamp.NewSecret(),
	})
	if err != nil {
		ln.Close()
		store.Close()
		tb.Fatalf("sunlamptest: create account key: %v", err)
	}
	// Webhooks are delivered as by `sunlamp serve --emulator`, woken by each commit that writes
	// events, and recorded.
	dispatcher := webhook.New(webhook.Config{Store: store, Render: api.EventRenderer(store), ReleaseAllClaims: true, UserAgent: "Sunlamp/sunlamptest",
		Clock: clock, Recorder: store})
	srv := &http.Server{
		Handler: api.NewServer(api.Config{Store: store, BaseURL: base, Clock: clock, Webhooks: dispatcher,
			Emulator: &api.Emulator{Clock: clock, ClockMoved: dispatcher.ClockMoved}}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	dctx, stopDispatcher := context.WithCancel(ctx)
	dispatched := make(chan error, 1)
	store.OnOutbox(dispatcher.Wake)
	go func() { dispatched <- dispatcher.Run(dctx) }()
	tb.Cleanup(func() {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			tb.Errorf("sunlamptest: shut down: %v", err)
		}
		<-served
		stopDispatcher()
		<-dispatched
		if err := store.Close(); err != nil {
			tb.Errorf("sunlamptest: close store: %v", err)
		}
	})
	c, err := client.New(base, client.Basic(key.ID, key.Secret))
	if err != nil {
		tb.Fatalf("sunlamptest: client: %v", err)
	}
	return &Server{URL: base, AccountKey: Key{key.ID, key.Secret}, Client: c, Clock: clock}
}

// Advance moves the server's clock forward by d: timestamps, webhook retries (made at once when
// due), JWT expiry and retention follow. It fails tb if the clock cannot move.
func (s *Server) Advance(tb testing.TB, d time.Duration) {
	tb.Helper()
	if _, err := s.Client.AdvanceClock(context.Background(), d); err != nil {
		tb.Fatalf("sunlamptest: advance the clock: %v", err)
	}
}

// Reset empties the app but its settings, keys, integrations, webhooks and switchboard (and
// removes its faults): what a test that shares an app with others calls first. It fails tb if the
// reset fails.
func (s *Server) Reset(tb testing.TB, app App) {
	tb.Helper()
	if err := s.Client.ResetApp(context.Background(), app.ID); err != nil {
		tb.Fatalf("sunlamptest: reset app: %v", err)
	}
}

// App creates an app and an app key for it. It fails tb if either cannot be made.
func (s *Server) App(tb testing.TB) App {
	tb.Helper()
	ctx := context.Background()
	n := s.apps.Add(1)
	app, err := s.Client.CreateApp(ctx, client.AppCreate{DisplayName: fmt.Sprintf("Test app %d", n)})
	if err != nil {
		tb.Fatalf("sunlamptest: create app: %v", err)
	}
	k, err := s.Client.CreateAppKey(ctx, app.ID, "sunlamptest")
	if err != nil {
		tb.Fatalf("sunlamptest: create app key: %v", err)
	}
	c, err := client.New(s.URL, client.Basic(k.ID, k.Secret))
	if err != nil {
		tb.Fatalf("sunlamptest: client: %v", err)
	}
	return App{ID: app.ID, Key: Key{k.ID, k.Secret}, Client: c}
}
