package sqlstore

import (
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"runtime"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/sunlamp/sunlamp"
)

// sqlitePragmas apply to every connection: WAL so readers never block the writer, a busy timeout
// instead of immediate SQLITE_BUSY, foreign keys for ON DELETE CASCADE, FULL sync so that an
// acknowledged write survives power loss, and secure_delete so that deleted or overwritten content is
// zeroed in the database file instead of left in free pages.
var sqlitePragmas = []string{
	"journal_mode(WAL)",
	"busy_timeout(10000)",
	"foreign_keys(1)",
	"synchronous(FULL)",
	"secure_delete(1)",
}

func sqliteDSN(path string, write bool) string {
	v := url.Values{}
	for _, p := range sqlitePragmas {
		v.Add("_pragma", p)
	}
	if write {
		v.Set("_txlock", "immediate") // take the write lock at BEGIN, never upgrade mid-transaction
	} else {
		v.Add("_pragma", "query_only(1)")
	}
	return "file:" + path + "?" + v.Encode()
}

func (s *Store) openSQLite() error {
	path, err := filepath.Abs(s.path)
	if err != nil {
		return fmt.Errorf("open sqlite: %w", err)
	}
	s.path = path
	// One writer connection: SQLite has one writer at a time, and queueing in Go is cheaper and
	// fairer than retrying on SQLITE_BUSY.
	w, err := sql.Open("sqlite", sqliteDSN(path, true))
	if err != nil {
		return fmt.Errorf("open sqlite: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	r, err := sql.Open("sqlite", sqliteDSN(path, false))
	if err != nil {
		w.Close()
		return fmt.Errorf("open sqlite: %w", err)
	}
	n := max(4, runtime.GOMAXPROCS(0)*2)
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	r.SetConnMaxLifetime(0)
	s.write, s.read = w, r
	return nil
}

// Path returns the SQLite database file ("" on PostgreSQL).
func (s *Store) Path() string { return s.path }

// classifySQLite maps SQLite result codes to the store's error kinds.
func classifySQLite(err error) error {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return nil
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return errUnique
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return errForeignKey
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return sunlamp.ErrBusy
	}
	return nil
}
