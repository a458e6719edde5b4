package sqlstore

import (
	"context"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
)

// generatedColumns are computed by the database from other columns (a load recomputes them): a
// snapshot carries none.
var generatedColumns = map[string]bool{"conversations.activity_hour": true}

// TestSnapshotCoversEveryColumn holds the snapshot's record types to the tables they are read
// from: every column of each table has its field (a migration that adds one fails here until the
// snapshot carries it, so that a snapshot keeps restoring its rows exactly), and every field its
// column.
func TestSnapshotCoversEveryColumn(t *testing.T) {
	s, err := Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	doc := snapshotDoc{}
	types := map[string]reflect.Type{"apps": reflect.TypeFor[snapApp]()}
	for _, tb := range snapshotTables[1:] {
		types[tb.table] = reflect.TypeOf(tb.rows(&doc)).Elem().Elem()
	}
	for table, rt := range types {
		rows, err := s.read.Query("SELECT * FROM " + table + " LIMIT 0")
		if err != nil {
			t.Fatal(err)
		}
		cols, err := rows.Columns()
		rows.Close()
		if err != nil {
			t.Fatal(err)
		}
		fields := recordColumns(rt)
		for _, c := range cols {
			if generatedColumns[table+"."+c] {
				continue
			}
			if !slices.Contains(fields, c) {
				t.Errorf("%s.%s has no field in %s: snapshots would lose it", table, c, rt.Name())
			}
		}
		for _, f := range fields {
			if !slices.Contains(cols, f) {
				t.Errorf("%s names column %s, which %s does not have", rt.Name(), f, table)
			}
		}
	}
}
