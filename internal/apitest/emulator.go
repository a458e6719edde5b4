package apitest

import (
	"context"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/sunlamp/sunlamp"
	"github.com/sunlamp/sunlamp/api"
	"github.com/sunlamp/sunlamp/client"
	"github.com/sunlamp/sunlamp/sqlstore"
	"github.com/sunlamp/sunlamp/webhook"
)

// EmulatorEnv is an Env whose server runs as `sunlamp serve --emulator` does: one virtual clock for
// the store, the API and a running webhook dispatcher (which records its attempts), and the
// emulator controls on.
type EmulatorEnv struct {
	*Env
	VClock     *sunlamp.VirtualClock
	Dispatcher *webhook.Dispatcher
	stop       func(testing.TB)
}

// Stop shuts the server down cleanly, as `sunlamp serve` does on SIGTERM: the HTTP server, then the
// dispatcher, then the store (on SQLite, a checkpoint). Cleanup calls it too.
func (e *EmulatorEnv) Stop(tb testing.TB) { e.stop(tb) }

// ForEachStoreEmulated is ForEachStore with an EmulatorEnv.
func ForEachStoreEmulated(t *testing.T, fn func(t *testing.T, e *EmulatorEnv)) {
	t.Helper()
	for _, name := range Stores() {
		t.Run(name, func(t *testing.T) { fn(t, NewEmulatorEnv(t, name)) })
	}
}

// NewEmulatorEnv starts an emulator on the named store, cleaned up when t ends. mods change the
// API's configuration before the server starts.
func NewEmulatorEnv(t testing.TB, name string, mods ...func(*api.Config)) *EmulatorEnv {
	t.Helper()
	return NewEmulatorEnvDSN(t, name, NewDSN(t, name), mods...)
}

// NewEmulatorEnvDSN is NewEmulatorEnv on a database of the caller's (several servers on one
// PostgreSQL database, or a restart).
func NewEmulatorEnvDSN(t testing.TB, name, dsn string, mods ...func(*api.Config)) *EmulatorEnv {
	t.Helper()
	ctx := context.Background()
	clock := &sunlamp.VirtualClock{}
	st, err := sqlstore.Open(ctx, dsn, sqlstore.WithClock(clock))
	if err != nil {
		t.Fatalf("open %s store: %v", name, err)
	}
	e := &EmulatorEnv{Env: &Env{Name: name, Store: st, DSN: dsn}, VClock: clock}
	e.Dispatcher = webhook.New(webhook.Config{Store: st, Render: api.EventRenderer(st), Clock: clock, Recorder: st,
		Timeout: 5 * time.Second, ReleaseAllClaims: st.OwnsDatabase()})
	ts := httptest.NewUnstartedServer(nil)
	e.URL = "http://" + ts.Listener.Addr().String()
	cfg := api.Config{Store: st, BaseURL: e.URL, Clock: clock, Webhooks: e.Dispatcher,
		Emulator: &api.Emulator{Clock: clock, ClockMoved: e.Dispatcher.ClockMoved}}
	for _, m := range mods {
		m(&cfg)
	}
	e.Handler = api.NewServer(cfg)
	ts.Config.Handler = e.Handler
	ts.Start()
	e.Server = ts
	if err := sqlstore.StartEmulatorClock(ctx, st, clock, e.Dispatcher.ClockMoved); err != nil {
		t.Fatalf("emulator clock: %v", err)
	}
	dctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	st.OnOutbox(e.Dispatcher.Wake)
	go func() { done <- e.Dispatcher.Run(dctx) }()
	var once sync.Once
	e.stop = func(tb testing.TB) {
		once.Do(func() {
			ts.Close()
			stop()
			if err := <-done; err != nil {
				tb.Errorf("stop dispatcher: %v", err)
			}
			if err := st.Close(); err != nil {
				tb.Errorf("close store: %v", err)
			}
		})
	}
	t.Cleanup(func() { e.stop(t) })
	e.AccountKey, err = st.CreateKey(ctx, sunlamp.Key{
		ID: sunlamp.NewKeyID(sunlamp.PrefixAccountKey), Scope: sunlamp.ScopeAccount,
		AccountID: sunlamp.DefaultAccountID, DisplayName: "test", Secret: sunlamp.NewSecret(),
	})
	if err != nil {
		t.Fatalf("create account key: %v", err)
	}
	return e
}

// AccountClient returns a Go client of the server with the account key.
func (e *EmulatorEnv) AccountClient(tb testing.TB) *client.Client {
	tb.Helper()
	c, err := client.New(e.URL, client.Basic(e.AccountKey.ID, e.AccountKey.Secret))
	if err != nil {
		tb.Fatalf("client: %v", err)
	}
	return c
}
