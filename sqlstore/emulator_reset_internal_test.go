package sqlstore

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
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
