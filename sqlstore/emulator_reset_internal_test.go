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

// TestUncheckedResetCoversEveryChildTable: with the foreign keys off, a reset's cascades are its own
// steps (uncheckedReset), so every table with a foreign key to a table the steps delete from must
// be deleted from too, or a new migration's table would keep rows whose parent is gone. Each
// dialect's steps are held to its own schema.
func TestUncheckedResetCoversEveryChildTable(t *testing.T) {
	check := func(t *testing.T, s *Store, fks map[[2]string]bool) {
		deleted := map[string]bool{}
		for _, st := range s.d.uncheckedReset.steps {
			if table, ok := strings.CutPrefix(st.sql, "DELETE FROM "); ok {
				table, _, _ = strings.Cut(table, " ")
				deleted[table] = true
			}
		}
		if len(fks) == 0 || len(deleted) == 0 {
			t.Fatalf("found %d foreign keys and %d deleted tables: the test would prove nothing", len(fks), len(deleted))
		}
		for fk := range fks {
			child, parent := fk[0], fk[1]
			if deleted[parent] && !deleted[child] && child != parent {
				t.Errorf("table %s refers to %s, which the unchecked reset deletes from, but is not deleted from itself", child, parent)
			}
		}
	}
	t.Run("sqlite", func(t *testing.T) {
		s, err := Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "s.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		tables, err := s.read.Query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for tables.Next() {
			var name string
			if err := tables.Scan(&name); err != nil {
				t.Fatal(err)
			}
			names = append(names, name)
		}
		tables.Close()
		fks := map[[2]string]bool{}
		for _, child := range names {
			rows, err := s.read.Query("SELECT \"table\" FROM pragma_foreign_key_list(?)", child)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var parent string
				if err := rows.Scan(&parent); err != nil {
					t.Fatal(err)
				}
				fks[[2]string{child, parent}] = true
			}
			rows.Close()
		}
		check(t, s, fks)
	})
	t.Run("postgres", func(t *testing.T) {
		s := openVacuumStore(t)
		rows, err := s.read.Query("SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint WHERE contype = 'f' AND connamespace = current_schema()::regnamespace")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		fks := map[[2]string]bool{}
		for rows.Next() {
			var child, parent string
			if err := rows.Scan(&child, &parent); err != nil {
				t.Fatal(err)
			}
			fks[[2]string{child, parent}] = true
		}
		check(t, s, fks)
	})
}
