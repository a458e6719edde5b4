package sqlstore

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sunlamp/sunlamp"
)

// TestResetAllCoversEveryTable: every table of the schema is emptied by ResetAll or kept on
// purpose, so that a table a migration adds is not left out of "everything but the account keys".
func TestResetAllCoversEveryTable(t *testing.T) {
	s, err := Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var reset []string
	for _, q := range allResets {
		table, _, _ := strings.Cut(strings.TrimPrefix(q, "DELETE FROM "), " ")
		reset = append(reset, table)
	}
	rows, err := s.read.Query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var table string
		if err := rows.Scan(&table); err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(reset, table) && !slices.Contains(resetKeeps, table) {
			t.Errorf("table %s is neither emptied by ResetAll (allResets) nor kept on purpose (resetKeeps)", table)
		}
	}
}

// TestResetRestoresForeignKeys: SQLite's resets turn the writer connection's foreign keys off
// (uncheckedReset); every write after one, whether the reset succeeded or failed, has them on
// again: deleting a user still takes its clients with it.
func TestResetRestoresForeignKeys(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !s.ResetsUnchecked(ctx) {
		t.Fatal("SQLite's resets run with the foreign keys on: this test would prove nothing")
	}
	app, err := s.CreateApp(ctx, sunlamp.App{DisplayName: "x"})
	if err != nil {
		t.Fatal(err)
	}
	foreignKeys := func(when string) {
		t.Helper()
		var on int
		if err := s.write.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&on); err != nil {
			t.Fatal(err)
		}
		if on != 1 {
			t.Fatalf("%s: the writer's foreign_keys is %d, want 1", when, on)
		}
	}
	if err := s.ResetApp(ctx, app.ID); err != nil {
		t.Fatal(err)
	}
	foreignKeys("after a reset")
	if err := s.ResetApp(ctx, "5e4af71a81966cfff3ef6550"); !errors.Is(err, sunlamp.ErrAppNotFound) {
		t.Fatalf("reset of a missing app: got %v, want app_not_found", err)
	}
	foreignKeys("after a failed reset")
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_ = s.ResetApp(cancelled, app.ID)
	foreignKeys("after a cancelled reset")
	u, err := s.CreateUser(ctx, sunlamp.User{AppID: app.ID, ExternalID: "u"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateClient(ctx, app.ID, u.ID, sunlamp.Client{Type: "telegram", ExternalID: "t"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.write.ExecContext(ctx, "DELETE FROM users WHERE id = ?", u.ID); err != nil {
		t.Fatal(err)
	}
	var clients int
	if err := s.write.QueryRowContext(ctx, "SELECT COUNT(*) FROM clients WHERE user_id = ?", u.ID).Scan(&clients); err != nil {
		t.Fatal(err)
	}
	if clients != 0 {
		t.Fatalf("got %d clients of a deleted user after resets, want 0 (the cascade)", clients)
	}
}
