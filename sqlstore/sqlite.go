package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/sunlamp/sunlamp"
)

// sqlitePragmas apply to every connection: WAL so readers never block the writer, a busy timeout
// instead of immediate SQLITE_BUSY, foreign keys for ON DELETE CASCADE, FULL sync so that an
// acknowledged write survives power loss, secure_delete so that deleted or overwritten content is
// zeroed in the database file instead of left in free pages, and temp_store = MEMORY, which keeps
// SQLite's temporary files in memory, above all the statement journal that a multi-row write inside a
// transaction keeps (to undo that statement alone): a PostMessage batch's multi-row INSERT spilled it
// into a temporary file, a quarter of the writer's pwrite calls. In memory it costs no I/O, and no
// temporary file can hold a copy of personal data. checkSQLitePragmas reads every one of them back.
//
// The driver is modernc.org/sqlite, SQLite compiled to Go: no C compiler is needed to build, install
// or cross-compile Sunlamp. With the statement cache of sqlite_stmtcache.go it measured within 15%
// of the cgo driver at the HTTP level, faster on GetConversation (README, Speed). It runs these DSN
// parameters on every new connection.
var sqlitePragmas = [][2]string{
	{"_journal_mode", "WAL"},
	{"_busy_timeout", strconv.Itoa(sqliteBusyTimeoutMS)},
	{"_foreign_keys", "1"},
	{"_synchronous", "FULL"},
	{"_pragma", "secure_delete(on)"},
	{"_pragma", "temp_store(MEMORY)"},
}

// sqliteBusyTimeoutMS is how long a connection waits for a lock before SQLITE_BUSY.
const sqliteBusyTimeoutMS = 10000

// sqliteDriver is modernc.org/sqlite's driver with a statement cache (sqlite_stmtcache.go).
const sqliteDriver = "sunlamp-sqlite"

func sqliteDSN(path string, write bool) string {
	v := url.Values{}
	for _, p := range sqlitePragmas {
		v.Add(p[0], p[1])
	}
	if write {
		v.Set("_txlock", "immediate") // take the write lock at BEGIN, never upgrade mid-transaction
		v.Add("_pragma", "wal_autocheckpoint("+strconv.Itoa(sqliteWriterCheckpointPages)+")")
	} else {
		v.Set("_query_only", "1")
	}
	return "file:" + sqliteURIPath(path) + "?" + v.Encode()
}

// sqliteURIPath escapes what a file: URI would read as its query or fragment ('?', '#') or as an
// escape ('%'), so that any file name opens the file it names.
func sqliteURIPath(path string) string {
	return strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(filepath.ToSlash(path))
}

func init() { dialects["sqlite"] = sqliteDialect }

// sqliteDialect is SQLite's: one file, one writer connection, the bytes of attachments in files.
func sqliteDialect() dialect {
	return dialect{
		name:           "sqlite",
		open:           openSQLite,
		ready:          checkSQLitePragmas,
		background:     startSQLiteCheckpointer,
		classify:       classifySQLite,
		lock:           func(string) string { return "" },
		oneWriter:      true,
		ownsDatabase:   true,
		logs:           newSQLiteLogScrubber(),
		migrations:     "migrations/sqlite",
		messageWriters: 1, // one writer connection
		// The writer itself is the bottleneck: waiting longer for callers only idles it.
		gatherWait: 250 * time.Microsecond,
		queueHead: `NOT EXISTS (SELECT 1 FROM deliveries p
				WHERE p.webhook_id = d.webhook_id AND p.order_key = d.order_key AND p.status = 'pending' AND p.seq < d.seq)`,
		exec:           plainExecutor{},
		blobs:          newFilesBackend,
		uncheckedReset: &uncheckedReset{off: "PRAGMA foreign_keys = OFF", on: "PRAGMA foreign_keys = ON", steps: sqliteResetSteps},
	}
}

// sqliteResetSteps empty an app with the foreign keys off (see uncheckedReset): every table of an
// app's data, each through an index of the app or of its parents, children first (the writer is
// alone), so that each IN finds its parents still there. Triggers still run: a deleted attachment's
// file goes to the trash (attachments_trash), a deleted pending delivery promotes the next of its
// queue (deliveries_promote_deleted).
var sqliteResetSteps = []resetStep{
	{sql: "DELETE FROM deliveries WHERE event_id IN (SELECT id FROM events WHERE app_id = ?)"},
	{sql: "DELETE FROM events WHERE app_id = ?"},
	{sql: "DELETE FROM delivery_attempts WHERE app_id = ?"},
	{sql: "DELETE FROM user_purges WHERE app_id = ?"},
	{sql: "DELETE FROM deletions WHERE app_id = ?"},
	{sql: "DELETE FROM audit_entries WHERE app_id = ?"},
	{sql: "DELETE FROM attachments WHERE app_id = ?"},
	{sql: "DELETE FROM conversion_events WHERE app_id = ?"},
	{sql: "DELETE FROM interactive_data_refs WHERE app_id = ?"},
	{sql: "DELETE FROM conversation_switchboards WHERE conversation_id IN (SELECT id FROM conversations WHERE app_id = ?)"},
	{sql: "DELETE FROM participants WHERE conversation_id IN (SELECT id FROM conversations WHERE app_id = ?)"},
	{sql: "DELETE FROM messages WHERE conversation_id IN (SELECT id FROM conversations WHERE app_id = ?)"},
	{sql: "DELETE FROM conversations WHERE app_id = ?"},
	{sql: "DELETE FROM visitor_sessions WHERE user_id IN (SELECT id FROM users WHERE app_id = ?)"},
	{sql: "DELETE FROM devices WHERE app_id = ?"},
	{sql: "DELETE FROM clients WHERE user_id IN (SELECT id FROM users WHERE app_id = ?)"},
	{sql: "DELETE FROM users WHERE app_id = ?"},
}

// The write-ahead log is copied into the database file (a checkpoint) in the background, every
// sqliteCheckpointPeriod, on a connection of its own: a PASSIVE checkpoint, which waits for no
// reader and no writer. SQLite's default, a checkpoint by the writer itself in the commit that
// takes the log past 1,000 pages, put that copy and its fsync into whichever write came then: a
// reset of 1,000 users took 13 ms after a checkpoint and 17-24 ms when its commit made one
// (BenchmarkResetApp). The writer keeps its own checkpoint, at sqliteWriterCheckpointPages, as the
// bound of the log when writes never pause (a checkpoint that runs beside a writer cannot finish
// the log, which starts again from its beginning only once a checkpoint has copied all of it);
// the pages the background has copied, it does not copy again.
const (
	sqliteCheckpointPeriod      = 50 * time.Millisecond
	sqliteWriterCheckpointPages = 4000
)

// startSQLiteCheckpointer starts the background checkpoint (the dialect's background).
func startSQLiteCheckpointer(s *Store) (func(), error) {
	db, err := sql.Open(sqliteDriver, sqliteDSN(s.path, true))
	if err != nil {
		return nil, fmt.Errorf("open sqlite checkpointer: %w", err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	j := startJob(everyOrWoken(sqliteCheckpointPeriod, func(ctx context.Context) {
		// An error (the scrubber's TRUNCATE checkpoint holding the lock, a disk error) leaves the
		// pages to the next round, or to the writer's own checkpoint.
		var busy, logFrames, checkpointed int
		_ = db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logFrames, &checkpointed)
	}))
	return func() {
		j.stop()
		db.Close()
	}, nil
}

// sqliteLogScrubber takes erased values out of SQLite's write-ahead log (the dialect's logs).
// A checkpoint in TRUNCATE mode copies the log into the database file and truncates it to zero
// bytes, so that the old page images it holds (erased values among them) are gone. It cannot finish
// while a reader holds a snapshot older than the log's end (a backup tool, an sqlite3 shell inside a
// transaction, a long read of the store's own): waiting for that reader, as a checkpoint with the
// busy timeout does, held the single writer connection, and so every write, for 10 seconds, and
// then gave up with the erased value still in the log.
//
// So a checkpoint here never waits: it runs on the writer connection (where no other writer can be
// mid-transaction) with the busy timeout set to 0 for its duration, and fails at once when a reader
// is in the way. The erasure then answers at once, and a background retrier tries again, briefly
// taking the writer connection for each attempt (a few microseconds while the reader stays), at
// sqliteScrubRetryMin doubling up to sqliteScrubRetryMax, until one attempt truncates the log: within
// sqliteScrubRetryMax of the reader's end. An attempt that fails (another process checkpointing, a
// disk error) is retried the same way. Close makes a last attempt and stops the retrier; SQLite's
// checkpoint when the last connection to the file closes finishes the job when no reader is left.
type sqliteLogScrubber struct {
	mu      sync.Mutex
	pending bool // a retrier is running
	done    chan struct{}
	ctx     context.Context
	cancel  context.CancelFunc
}

func newSQLiteLogScrubber() *sqliteLogScrubber {
	ctx, cancel := context.WithCancel(context.Background())
	return &sqliteLogScrubber{ctx: ctx, cancel: cancel}
}

// sqliteScrubRetryMin and sqliteScrubRetryMax bound the wait between two attempts of the retrier.
const (
	sqliteScrubRetryMin = 10 * time.Millisecond
	sqliteScrubRetryMax = 200 * time.Millisecond
)

// scrub makes one attempt and, when it does not truncate the log, leaves the rest to the retrier.
// It returns the attempt's error, if any; the retrier goes on either way.
func (l *sqliteLogScrubber) scrub(ctx context.Context, db *sql.DB, _ []string) error {
	done, err := checkpointSQLite(ctx, db)
	if done {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.pending && l.ctx.Err() == nil {
		l.pending = true
		l.done = make(chan struct{})
		go l.retry(db, l.done)
	}
	return err
}

// retry attempts the checkpoint until one truncates the log, or close stops it.
func (l *sqliteLogScrubber) retry(db *sql.DB, done chan struct{}) {
	defer close(done)
	wait := sqliteScrubRetryMin
	for {
		select {
		case <-l.ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, sqliteScrubRetryMax)
		if ok, _ := checkpointSQLite(l.ctx, db); ok {
			l.mu.Lock()
			l.pending = false
			l.mu.Unlock()
			return
		}
	}
}

// close stops the retrier and makes a last attempt (a clean stop leaves no log to scrub).
func (l *sqliteLogScrubber) close(ctx context.Context, db *sql.DB) error {
	l.mu.Lock()
	l.cancel()
	done := l.done
	l.mu.Unlock()
	if done != nil {
		<-done
	}
	_, err := checkpointSQLite(ctx, db)
	return err
}

// checkpointSQLite makes one attempt at a TRUNCATE checkpoint on the writer connection without
// waiting for readers, and reports whether it completed (the log is empty).
func checkpointSQLite(ctx context.Context, db *sql.DB) (done bool, err error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "PRAGMA busy_timeout = 0"); err != nil {
		return false, err
	}
	var busy, logFrames, checkpointed int
	err = conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logFrames, &checkpointed)
	if _, rerr := conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA busy_timeout = "+strconv.Itoa(sqliteBusyTimeoutMS)); rerr != nil {
		// A writer connection without its busy timeout must not serve again: drop it (the pool
		// opens a new one, with every pragma of the DSN).
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		return false, errors.Join(err, rerr)
	}
	if err != nil {
		return false, err
	}
	// busy is 1 when a reader kept the checkpoint from finishing (SQLITE_BUSY): the log is then not
	// truncated.
	return busy == 0, nil
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
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return nil
	}
	switch se.Code() { // the extended code: the driver turns extended result codes on
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

// checkSQLitePragmas reads back the pragmas that durability, privacy and cascades depend on, on
// each pool, since a driver silently ignores DSN parameters it does not know.
func checkSQLitePragmas(s *Store) error {
	for _, db := range []*sql.DB{s.write, s.read} {
		var mode string
		var fk, secure, temp, sync, busy int
		for _, p := range []struct {
			pragma string
			dst    any
		}{
			{"journal_mode", &mode}, {"foreign_keys", &fk}, {"secure_delete", &secure},
			{"temp_store", &temp}, {"synchronous", &sync}, {"busy_timeout", &busy},
		} {
			if err := db.QueryRow("PRAGMA " + p.pragma).Scan(p.dst); err != nil {
				return fmt.Errorf("read pragma %s: %w", p.pragma, err)
			}
		}
		// temp_store 2 is MEMORY, synchronous 2 is FULL.
		if mode != "wal" || fk != 1 || secure != 1 || temp != 2 || sync != 2 || busy != sqliteBusyTimeoutMS {
			return fmt.Errorf("sqlite pragmas did not apply: journal_mode=%s foreign_keys=%d secure_delete=%d temp_store=%d synchronous=%d busy_timeout=%d",
				mode, fk, secure, temp, sync, busy)
		}
	}
	return nil
}
