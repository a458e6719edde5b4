package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
)

// TestSQLiteStmtCache: statements are reused by text on a connection, a second query of the same
// text while the first's rows are open runs uncached beside it, more texts than the cache holds
// evict older ones, and a failing statement leaves nothing behind.
func TestSQLiteStmtCache(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open(sqliteDriver, "file:"+sqliteURIPath(filepath.Join(t.TempDir(), "c.db")))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx) // one connection, so that every statement meets the same cache
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "CREATE TABLE t (x INTEGER)"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		if _, err := conn.ExecContext(ctx, "INSERT INTO t (x) VALUES (?)", i); err != nil {
			t.Fatal(err)
		}
	}
	var cache map[string]*cachedStmt
	if err := conn.Raw(func(c any) error { cache = c.(*cachingConn).stmts; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, ok := cache["INSERT INTO t (x) VALUES (?)"]; !ok || len(cache) != 2 {
		t.Errorf("got %d cached statements, want 2 (the CREATE and the INSERT, once)", len(cache))
	}

	const q = "SELECT x FROM t WHERE x >= ? ORDER BY x"
	outer, err := conn.QueryContext(ctx, q, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for outer.Next() {
		var x int
		outer.Scan(&x)
		// The same text while outer's rows are open: uncached, and both read what they should.
		var inner []int
		rows, err := conn.QueryContext(ctx, q, x)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var y int
			rows.Scan(&y)
			inner = append(inner, y)
		}
		rows.Close()
		if len(inner) != 10-x {
			t.Errorf("got %d rows from x >= %d, want %d", len(inner), x, 10-x)
		}
		got = append(got, x)
	}
	outer.Close()
	if len(got) != 10 {
		t.Errorf("got %v, want 0..9", got)
	}
	// Released when its rows closed: reused, and reads from the start.
	var n int
	if err := conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM ("+q+")", 5).Scan(&n); err != nil || n != 5 {
		t.Errorf("got %d (%v), want 5", n, err)
	}
	for i := 0; i < 3; i++ {
		var first int
		if err := conn.QueryRowContext(ctx, q, 3).Scan(&first); err != nil || first != 3 {
			t.Errorf("got %d (%v) from the cached statement, want 3", first, err)
		}
	}

	for i := 0; i < 2*sqliteStmtCacheSize; i++ {
		var v int
		if err := conn.QueryRowContext(ctx, fmt.Sprintf("SELECT %d + ?", i), 1).Scan(&v); err != nil || v != i+1 {
			t.Fatalf("got %d (%v), want %d", v, err, i+1)
		}
	}
	if len(cache) > sqliteStmtCacheSize {
		t.Errorf("got %d cached statements, want at most %d", len(cache), sqliteStmtCacheSize)
	}
	if _, err := conn.ExecContext(ctx, "INSERT INTO nowhere VALUES (1)"); err == nil {
		t.Error("got no error from a statement on a missing table")
	}
	if _, ok := cache["INSERT INTO nowhere VALUES (1)"]; ok {
		t.Error("a statement that failed to prepare was cached")
	}
}
