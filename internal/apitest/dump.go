package apitest

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"
)

// MustDumpState returns everything the env's store holds: every row of every table of its database
// (the test's own SQLite file, or the test's own PostgreSQL schema), each row one text of its columns
// in order, rows sorted, keyed by table name; and on SQLite the media folder's files with their sizes
// under the key "media files". Nothing is left out, so that comparing two dumps with cmp.Diff shows
// any change a request made. Tests take one before and one after requests that must change nothing.
func (e *Env) MustDumpState(tb testing.TB) map[string][]string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var db *sql.DB
	var err error
	var tablesQuery string
	switch e.Name {
	case "postgres":
		// e.DSN sets search_path to the test's schema, so current_schema() is that schema.
		db, err = sql.Open("pgx", e.DSN)
		tablesQuery = `SELECT table_name FROM information_schema.tables
			WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`
	case "sqlite":
		// Read-only, through a connection of its own: the store's pools are left alone. sqlite_sequence
		// (AUTOINCREMENT counters) is a table like any other here.
		db, err = sql.Open("sqlite", "file:"+e.Store.Path()+"?mode=ro")
		tablesQuery = `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`
	default:
		tb.Fatalf("dump state: unknown store %q", e.Name)
	}
	if err != nil {
		tb.Fatalf("dump state: open %s: %v", e.Name, err)
	}
	defer db.Close()

	var tables []string
	rows, err := db.QueryContext(ctx, tablesQuery)
	if err != nil {
		tb.Fatalf("dump state: list tables: %v", err)
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			tb.Fatalf("dump state: list tables: %v", err)
		}
		tables = append(tables, name)
	}
	if err := rows.Err(); err != nil {
		tb.Fatalf("dump state: list tables: %v", err)
	}
	rows.Close()
	if len(tables) == 0 {
		tb.Fatalf("dump state: no tables in the %s database: the dump would prove nothing", e.Name)
	}

	out := map[string][]string{}
	for _, table := range tables {
		out[table] = dumpTable(tb, ctx, db, table)
	}
	if e.Name == "sqlite" {
		out["media files"] = dumpFiles(tb, e.Store.MediaDir())
	}
	return out
}

// dumpTable returns every row of table as "col=value|col=value...", sorted.
func dumpTable(tb testing.TB, ctx context.Context, db *sql.DB, table string) []string {
	tb.Helper()
	rows, err := db.QueryContext(ctx, `SELECT * FROM "`+strings.ReplaceAll(table, `"`, `""`)+`"`)
	if err != nil {
		tb.Fatalf("dump state: read %s: %v", table, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		tb.Fatalf("dump state: columns of %s: %v", table, err)
	}
	lines := []string{}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			tb.Fatalf("dump state: read %s: %v", table, err)
		}
		var b strings.Builder
		for i, v := range vals {
			if i > 0 {
				b.WriteByte('|')
			}
			b.WriteString(cols[i])
			b.WriteByte('=')
			b.WriteString(dumpValue(v))
		}
		lines = append(lines, b.String())
	}
	if err := rows.Err(); err != nil {
		tb.Fatalf("dump state: read %s: %v", table, err)
	}
	sort.Strings(lines)
	return lines
}

// dumpValue formats one column value so that different values never print alike (NULL, "" and
// bytes are told apart).
func dumpValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case []byte:
		return fmt.Sprintf("bytes%q", x)
	case string:
		return fmt.Sprintf("%q", x)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	}
	return fmt.Sprintf("%T(%v)", v, v)
}

// dumpFiles lists the regular files under dir (relative path and size), sorted; none when dir is ""
// or absent.
func dumpFiles(tb testing.TB, dir string) []string {
	tb.Helper()
	files := []string{}
	if dir == "" {
		return files
	}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		files = append(files, fmt.Sprintf("%s (%d bytes)", filepath.ToSlash(rel), info.Size()))
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		tb.Fatalf("dump state: walk media folder: %v", err)
	}
	sort.Strings(files)
	return files
}
