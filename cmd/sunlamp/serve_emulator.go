package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/sunlamp/sunlamp"
	"github.com/sunlamp/sunlamp/api"
	"github.com/sunlamp/sunlamp/sqlstore"
	"github.com/sunlamp/sunlamp/webhook"
)

// envInt returns the integer in the environment variable name, 0 when it is unset or not a number
// (parseServe reports the latter).
func envInt(getenv func(string) string, name string) int {
	n, _ := strconv.Atoi(strings.TrimSpace(getenv(name)))
	return n
}

// envBool reports whether the environment variable name says true (true, 1, yes).
func envBool(getenv func(string) string, name string) bool {
	switch strings.ToLower(strings.TrimSpace(getenv(name))) {
	case "true", "1", "yes":
		return true
	}
	return false
}

// emulation is what `serve --emulator` adds to a server: a virtual clock that the store, the API
// and the webhook dispatcher share. Its zero value (no --emulator) adds nothing.
type emulation struct {
	clock *sunlamp.VirtualClock
}

func newEmulation(c serveConfig) emulation {
	if !c.emulator {
		return emulation{}
	}
	return emulation{clock: &sunlamp.VirtualClock{}}
}

// storeOptions gives the store the virtual clock.
func (e emulation) storeOptions() []sqlstore.Option {
	if e.clock == nil {
		return nil
	}
	return []sqlstore.Option{sqlstore.WithClock(e.clock)}
}

// clockOrNil is the virtual clock, or nil (the system clock) without --emulator. (A nil
// *VirtualClock in the interface would not be nil.)
func (e emulation) clockOrNil() sunlamp.Clock {
	if e.clock == nil {
		return nil
	}
	return e.clock
}

// start sets the clock to the offset the database keeps and follows the moves other processes make.
func (e emulation) start(ctx context.Context, store *sqlstore.Store, d *webhook.Dispatcher) error {
	if e.clock == nil {
		return nil
	}
	return sqlstore.StartEmulatorClock(ctx, store, e.clock, clockMoved(store, d))
}

// clockMoved is what runs once the virtual clock moved forward: the dispatcher sends what became due,
// and the store's audit janitor removes what the move put past the audit retention.
func clockMoved(store *sqlstore.Store, d *webhook.Dispatcher) func() {
	return func() {
		d.ClockMoved()
		store.WakeAuditJanitor()
	}
}

// api returns the API's emulator configuration: nil without --emulator.
func (e emulation) api(d *webhook.Dispatcher, store *sqlstore.Store) *api.Emulator {
	if e.clock == nil {
		return nil
	}
	return &api.Emulator{Clock: e.clock, ClockMoved: clockMoved(store, d)}
}

// loadSnapshotFile loads the snapshot file of --load into the default account, unless its app
// exists already (a restart on the same database keeps what the app became).
func loadSnapshotFile(ctx context.Context, store *sqlstore.Store, c serveConfig, log *slog.Logger) error {
	if c.load == "" {
		return nil
	}
	data, err := os.ReadFile(c.load)
	if err != nil {
		return fmt.Errorf("--load: %w", err)
	}
	var head struct {
		App struct {
			ID string `json:"id"`
		} `json:"app"`
	}
	if json.Unmarshal(data, &head) == nil && head.App.ID != "" {
		if _, err := store.App(ctx, head.App.ID); err == nil {
			log.Info("--load: the snapshot's app exists already; it is not loaded again", "file", c.load, "app_id", head.App.ID)
			return nil
		}
	}
	appID, err := store.LoadSnapshot(ctx, sunlamp.DefaultAccountID, c.baseURL, data)
	if err != nil {
		return fmt.Errorf("--load %s: %w", c.load, err)
	}
	log.Info("loaded the snapshot", "file", c.load, "app_id", appID)
	return nil
}
