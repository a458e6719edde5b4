package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	sqlite3 "github.com/mattn/go-sqlite3"

	"github.com/sunlamp/sunlamp"
)

// sqlitePragmas apply to every connection: WAL so readers never block the writer, a busy timeout
// instead of immediate SQLITE_BUSY, foreign keys for ON DELETE CASCADE, FULL sync so that an
// acknowledged write survives power loss, and secure_delete so that deleted or overwritten content is
// zeroed in the database file instead of left in free pages.
//
// The driver is github.com/mattn/go-sqlite3 (cgo), chosen over modernc.org/sqlite for its read and
// batch-commit speed (README, Speed). It runs these DSN parameters on every new connection.
var sqlitePragmas = [][2]string{
	{"_journal_mode", "WAL"},
	{"_busy_timeout", "10000"},
	{"_foreign_keys", "1"},
	{"_synchronous", "FULL"},
	{"_secure_delete", "on"},
	{"_stmt_cache_size", "128"}, // reuse prepared statements (the PostMessage batches use a few fixed shapes)
}

// sqliteDriver is mattn's driver with the pragmas its DSN cannot name. temp_store = MEMORY keeps
// SQLite's temporary files in memory, above all the statement journal that a multi-row write inside a
// transaction keeps (to undo that statement alone): a PostMessage batch's multi-row INSERT spilled it
// into a temporary file, a quarter of the writer's pwrite calls. In memory it costs no I/O, and no
// temporary file can hold a copy of personal data.
const sqliteDriver = "sunlamp-sqlite3"

func init() {
	sql.Register(sqliteDriver, &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
		_, err := c.Exec("PRAGMA temp_store = MEMORY", nil)
		return err
	}})
}

func sqliteDSN(path string, write bool) string {
	v := url.Values{}
	for _, p := range sqlitePragmas {
		v.Set(p[0], p[1])
	}
	if write {
		v.Set("_txlock", "immediate") // take the write lock at BEGIN, never upgrade mid-transaction
	} else {
		v.Set("_query_only", "1")
	}
	return "file:" + path + "?" + v.Encode()
}

func init() { dialects["sqlite"] = sqliteDialect }

// sqliteDialect is SQLite's: one file, one writer connection, the bytes of attachments in files.
func sqliteDialect() dialect {
	return dialect{
		name:           "sqlite",
		open:           openSQLite,
		ready:          checkSQLitePragmas,
		classify:       classifySQLite,
		lock:           func(string) string { return "" },
		oneWriter:      true,
		ownsDatabase:   true,
		scrubLog:       checkpointSQLite,
		migrations:     "migrations/sqlite",
		messageWriters: 1, // one writer connection
		// The writer itself is the bottleneck: waiting longer for callers only idles it.
		gatherWait: 250 * time.Microsecond,
		queueHead: `NOT EXISTS (SELECT 1 FROM deliveries p
				WHERE p.webhook_id = d.webhook_id AND p.order_key = d.order_key AND p.status = 'pending' AND p.seq < d.seq)`,
		exec:  plainExecutor{},
		blobs: newFilesBackend,
	}
}

// checkpointSQLite copies the write-ahead log into the database file and truncates it, so that the
// old page images it holds (erased values among them) are gone. A reader holding an old snapshot
// keeps the log from being truncated; the checkpoint then does what it can, and the next one (or
// Close) finishes.
func checkpointSQLite(ctx context.Context, db *sql.DB) error {
	_, err := db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
	return err
}

// openSQLite opens the file of "sqlite:PATH" ("sqlite://PATH" too).
func openSQLite(s *Store, dsn string) error {
	s.path = strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite:"), "//")
	if s.path == "" {
		return errors.New("open store: sqlite DSN needs a file path, as in sqlite:sunlamp.db")
	}
	path, err := filepath.Abs(s.path)
	if err != nil {
		return fmt.Errorf("open sqlite: %w", err)
	}
	s.path = path
	if err := privateFiles(path); err != nil {
		return fmt.Errorf("open sqlite: %w", err)
	}
	// One writer connection: SQLite has one writer at a time, and queueing in Go is cheaper and
	// fairer than retrying on SQLITE_BUSY.
	w, err := sql.Open(sqliteDriver, sqliteDSN(path, true))
	if err != nil {
		return fmt.Errorf("open sqlite: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	r, err := sql.Open(sqliteDriver, sqliteDSN(path, false))
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

// privateFiles makes the database file, and its -wal and -shm if they exist, readable and writable by
// this user alone (0600), whatever the umask: they hold personal data. The file is created here so
// that SQLite, which gives its -wal and -shm the database file's mode, creates those 0600 too.
func privateFiles(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

// Path returns the SQLite database file ("" on PostgreSQL).
func (s *Store) Path() string { return s.path }

// classifySQLite maps SQLite result codes to the store's error kinds.
func classifySQLite(err error) error {
	var se sqlite3.Error
	if !errors.As(err, &se) {
		return nil
	}
	switch se.ExtendedCode {
	case sqlite3.ErrConstraintUnique, sqlite3.ErrConstraintPrimaryKey:
		return errUnique
	case sqlite3.ErrConstraintForeignKey:
		return errForeignKey
	}
	switch se.Code {
	case sqlite3.ErrBusy, sqlite3.ErrLocked:
		return sunlamp.ErrBusy
	}
	return nil
}

// checkSQLitePragmas reads back the pragmas that durability and cascades depend on, since a driver
// silently ignores DSN parameters it does not know.
func checkSQLitePragmas(s *Store) error {
	for _, db := range []*sql.DB{s.write, s.read} {
		var mode string
		var fk, secure, temp int
		if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
			return err
		}
		if err := db.QueryRow("PRAGMA foreign_keys").Scan(&fk); err != nil {
			return err
		}
		if err := db.QueryRow("PRAGMA secure_delete").Scan(&secure); err != nil {
			return err
		}
		if err := db.QueryRow("PRAGMA temp_store").Scan(&temp); err != nil {
			return err
		}
		if mode != "wal" || fk != 1 || secure != 1 || temp != 2 {
			return fmt.Errorf("sqlite pragmas did not apply: journal_mode=%s foreign_keys=%d secure_delete=%d temp_store=%d", mode, fk, secure, temp)
		}
	}
	return nil
}
