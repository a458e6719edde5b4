package sqlstore

import (
	"context"
	"database/sql"
	"io"
	"time"

	"github.com/sunlamp/sunlamp"
)

// dialect is everything that differs between SQLite and PostgreSQL, set once when the store opens
// (sqliteDialect in sqlite.go, postgresDialect in postgres.go) and read as data by the rest of the
// package, in the way of kine's generic driver: SQL text and lock clauses, the executor of batches,
// the blob backend, the notification listener. Only the files named sqlite*.go and postgres*.go know
// which database they are on (TestDialectsAreData holds the rest of the package to that).
type dialect struct {
	// name is the database's name for people ("sqlite", "postgres").
	name string
	// open opens the store's pools for the DSN; ready checks what every connection must have, once
	// they answer.
	open  func(s *Store, dsn string) error
	ready func(s *Store) error
	// background starts the dialect's own work once the store is open, and returns what stops it,
	// which Close calls before the database handles close; nil for none.
	background func(s *Store) (stop func(), err error)
	// classify turns the driver's unique, foreign-key and busy errors into errUnique,
	// errForeignKey and sunlamp.ErrBusy; nil for anything else.
	classify func(error) error
	// numbered says that placeholders are $1, $2, ...: q rebinds the shared `?` text.
	numbered bool
	// readOnlyViews makes read views read-only transactions (SQLite's read pool is query_only).
	readOnlyViews bool
	// lock returns the clause that takes a row lock of mode ("SHARE", "NO KEY UPDATE", "UPDATE OF d
	// SKIP LOCKED"...): " FOR " + mode where transactions write concurrently (PostgreSQL), "" where
	// there is one writer at a time (SQLite), whose transactions never interleave.
	lock func(mode string) string
	// oneWriter says that write transactions never run concurrently (SQLite's single writer
	// connection): a value read earlier in a transaction needs no second read under a lock.
	oneWriter bool
	// ownsDatabase says that one process uses the database: what a killed predecessor had claimed
	// (webhook deliveries) can be taken back at start.
	ownsDatabase bool
	// logs takes the old copies of erased values out of the database's files after an erasure,
	// without waiting: SQLite truncates its write-ahead log (retried in the background while a
	// reader holds an old snapshot, sqlite.go); PostgreSQL, whose WAL the store cannot scrub,
	// vacuums the tables holding personal data a little later (postgres_vacuum.go). nil for none.
	logs logScrubber
	// migrations is the folder of the dialect's migrations in the embedded tree; migrateLock and
	// migrateUnlock serialize processes migrating at once ("" when one process owns the database).
	migrations, migrateLock, migrateUnlock string
	// nameLock takes a lock on a name (its one argument) until the transaction ends, for writers
	// that would otherwise race to create the same row; "" where writers take turns anyway.
	nameLock string
	// uncheckedReset empties an app without the foreign keys' triggers where the database can turn
	// them off (see uncheckedReset); nil: resets run them.
	uncheckedReset *uncheckedReset
	// listen holds a connection that hears the key changes other processes commit, calling notify
	// with each (and "*" after it (re)connects) until ctx ends; nil where one process owns the
	// database.
	listen func(ctx context.Context, s *Store, notify func(string))
	// messageWriters is how many message batches may commit at once; gatherWait how long a writer
	// that has just committed waits for the callers it released before it takes the next batch
	// (see messageBatcher).
	messageWriters int
	gatherWait     time.Duration
	// queueHead is the SQL condition that delivery d is the first pending one of its queue.
	queueHead string
	// exec runs planned statements (see executor).
	exec executor
	// blobs makes the backend that keeps the bytes of attachments.
	blobs func(s *Store) blobBackend
}

// logScrubber is a dialect's way to take erased values out of the database's own files (see
// dialect.logs). scrub is called after each erasure, purge or sweep has committed, with the tables
// it touched (nil: every table holding personal data, as after an erasure); it never waits. close,
// called by Close before the database handles close, does what is left and stops the background
// work.
type logScrubber interface {
	scrub(ctx context.Context, db *sql.DB, tables []string) error
	close(ctx context.Context, db *sql.DB) error
}

// What stays per-database SQL, in the migrations only: the webhook fan-out (one delivery per
// subscribed webhook, standby switchboard integrations left out) and the switchboard state an event
// carries are triggers on events, and the delivery queues' promotion triggers on deliveries. They
// stay in SQL, not in Go in the writing transaction, because every statement that inserts events must
// fan out atomically with it, the group commit's multi-row INSERTs included, and in SQL that costs no
// statement of its own: in Go each emit and each message batch would need a read of the app's
// webhooks and switchboard state and an INSERT of deliveries, round trips that PostgreSQL's pipelined
// batch and the single-statement emits do not pay today. The cost is one trigger body per database.

// dialects holds the dialect of each DSN scheme; the per-dialect files add theirs.
var dialects = map[string]func() dialect{}

// executor runs statements the way the database does them best: in a database/sql transaction one
// round trip at a time (SQLite, in process), or pipelined, many statements to a round trip
// (PostgreSQL, over the network).
type executor interface {
	// batch runs a planned message batch in one transaction (see messagePlan).
	batch(ctx context.Context, s *Store, p *messagePlan) error
	// each runs the statements as transactions of their own, the ones that fail alone: several
	// pipelined, without waiting for the WAL flush (their loss in a crash must be harmless), or, on
	// a database with one writer, all in one transaction (one fsync, not n).
	each(ctx context.Context, s *Store, stmts []stmt) error
}

// blobBackend keeps the bytes of attachments: files in a media directory (filesBackend), or chunks
// in the database (chunksBackend).
type blobBackend interface {
	// create stores content for a and inserts a's row, its size set (insert, in the transaction
	// that makes the bytes visible); it returns a with its size.
	create(ctx context.Context, a sunlamp.Attachment, content io.Reader, insert func(tx, sunlamp.Attachment) error) (sunlamp.Attachment, error)
	// open returns a reader of a's bytes, or sunlamp.ErrAttachmentNotFound when they are gone.
	open(ctx context.Context, a sunlamp.Attachment) (io.ReadSeekCloser, error)
	// purge removes the bytes of deleted attachments and returns how many it removed; sweep
	// removes what a crash may leave behind. Both do nothing where the bytes go with their rows.
	purge(ctx context.Context) (int, error)
	sweep(ctx context.Context) (int, error)
	// dir is the media directory, "" when the bytes are in the database.
	dir() string
	// needsJanitor says that purge and sweep have work to do in the background.
	needsJanitor() bool
}

// plainExecutor runs statements in database/sql transactions, one round trip each: what an
// in-process database with one writer does best.
type plainExecutor struct{}

// each runs stmts in one transaction: with one writer they cannot hold each other up, and one
// commit costs one fsync instead of one a statement.
func (plainExecutor) each(ctx context.Context, s *Store, stmts []stmt) error {
	return s.inTx(ctx, func(t tx) error {
		for _, st := range stmts {
			if _, err := t.exec(ctx, st.q, st.args...); err != nil {
				return err
			}
		}
		return nil
	})
}
