package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"github.com/sunlamp/sunlamp"
)

func init() {
	dialects["postgres"] = postgresDialect
	dialects["postgresql"] = postgresDialect
}

// postgresDialect is PostgreSQL's: several server processes share the database, so transactions
// write concurrently (row locks), processes announce key changes to each other, the bytes of
// attachments are in the database, and statements are pipelined to save round trips.
func postgresDialect() dialect {
	return dialect{
		name:          "postgres",
		open:          openPostgres,
		ready:         func(*Store) error { return nil },
		classify:      classifyPostgres,
		numbered:      true,
		readOnlyViews: true,
		lock:          func(mode string) string { return " FOR " + mode },
		migrations:    "migrations/postgres",
		// Several processes may start at once: one migrates, the others wait.
		migrateLock:   "SELECT pg_advisory_lock(7355608)",
		migrateUnlock: "SELECT pg_advisory_unlock(7355608)",
		// Two keys' space: 7355609 and the name's hash (a collision only makes two names wait for
		// each other).
		nameLock: "SELECT pg_advisory_xact_lock(7355609, hashtext(?))",
		// A superuser's role (or one granted SET on the parameter) may turn the triggers off.
		uncheckedReset: &uncheckedReset{off: "SET LOCAL session_replication_role = replica", steps: postgresResetSteps},
		listen:         listenKeys,
		// A second batch runs its statements while the first waits for its WAL flush; a third did
		// not help. A pipelined batch costs about the same whatever it holds, so a writer waits
		// longer for the callers it released to come back after their HTTP round trip.
		messageWriters: 2,
		gatherWait:     5 * time.Millisecond,
		// Through the seek of migration 0010, whose plan cannot degrade into a scan of the table.
		queueHead: "d.seq = delivery_queue_head(d.webhook_id, d.order_key)",
		exec:      pipelinedExecutor{},
		blobs:     newChunksBackend,
		// PostgreSQL's own log cannot be scrubbed, but the dead row versions that erasures leave
		// in the tables can be vacuumed (postgres_vacuum.go).
		logs: newPostgresVacuum(),
	}
}

// openPostgres opens the pool of a postgres:// URL.
func openPostgres(s *Store, dsn string) error {
	if _, err := url.Parse(dsn); err != nil {
		return fmt.Errorf("open store: bad PostgreSQL URL: %w", err)
	}
	s.dsn = dsn
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return fmt.Errorf("open postgres: %w", err)
	}
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	s.write, s.read = db, db
	return nil
}

// classifyPostgres maps PostgreSQL error codes to the store's error kinds.
func classifyPostgres(err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return nil
	}
	switch pe.Code {
	case "23505":
		return errUnique
	case "23503":
		return errForeignKey
	case "40001", "40P01", "55P03": // serialization failure, deadlock, lock not available
		return sunlamp.ErrBusy
	}
	return nil
}

// listenKeys holds a connection listening on channel sunlamp_keys (migration 0012) until ctx ends,
// reconnecting after a failure. Whenever it (re)connects, changes may have been missed, so every
// listener forgets all.
func listenKeys(ctx context.Context, s *Store, notify func(string)) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := func() error {
			conn, err := pgx.Connect(ctx, s.dsn)
			if err != nil {
				return err
			}
			defer conn.Close(context.WithoutCancel(ctx))
			if _, err := conn.Exec(ctx, "LISTEN sunlamp_keys"); err != nil {
				return err
			}
			notify("*")
			backoff = 100 * time.Millisecond
			for {
				nt, err := conn.WaitForNotification(ctx)
				if err != nil {
					return err
				}
				notify(nt.Payload)
			}
		}()
		if ctx.Err() != nil {
			return
		}
		_ = err // the TTL bounds how long a change goes unnoticed meanwhile
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// postgresResetSteps empty an app with the foreign keys' triggers off (see uncheckedReset): every
// table of an app's data, parents before children, each child through its parents' returned ids
// (a text[]: "= ANY" is an index probe per id), and last the promotion that the deliveries'
// delete trigger would have made (deliveries_promote_deleted, migration 0010): a delivery that a
// writer queued meanwhile behind one deleted here becomes due.
var postgresResetSteps = []resetStep{
	{sql: "DELETE FROM events WHERE app_id = ? RETURNING id", name: "events"},
	{sql: "DELETE FROM deliveries WHERE event_id = ANY(?::text[])", from: "events"},
	{sql: "DELETE FROM delivery_attempts WHERE app_id = ?"},
	{sql: "DELETE FROM user_purges WHERE app_id = ?"},
	{sql: "DELETE FROM deletions WHERE app_id = ?"},
	{sql: "DELETE FROM audit_entries WHERE app_id = ?"},
	{sql: "DELETE FROM conversations WHERE app_id = ? RETURNING id", name: "conversations"},
	{sql: "DELETE FROM users WHERE app_id = ? RETURNING id", name: "users"},
	{sql: "DELETE FROM messages WHERE conversation_id = ANY(?::text[])", from: "conversations"},
	{sql: "DELETE FROM participants WHERE user_id = ANY(?::text[])", from: "users"}, // every participant is a user
	{sql: "DELETE FROM conversation_switchboards WHERE conversation_id = ANY(?::text[])", from: "conversations"},
	{sql: "DELETE FROM conversion_events WHERE conversation_id = ANY(?::text[])", from: "conversations"},
	{sql: "DELETE FROM attachments WHERE app_id = ? RETURNING id", name: "attachments"},
	{sql: "DELETE FROM attachment_chunks WHERE attachment_id = ANY(?::text[])", from: "attachments"},
	{sql: "DELETE FROM clients WHERE user_id = ANY(?::text[])", from: "users"},
	{sql: "DELETE FROM devices WHERE app_id = ?"}, // devices_by_guid starts with app_id
	{sql: "DELETE FROM visitor_sessions WHERE user_id = ANY(?::text[])", from: "users"},
	{sql: "DELETE FROM interactive_data_refs WHERE user_id = ANY(?::text[])", from: "users"},
	{sql: "UPDATE deliveries d SET next_attempt_at = d.created_at WHERE d.status = 'pending' AND d.next_attempt_at = 253402300799999" +
		" AND d.app_id = ? AND d.seq = delivery_queue_head(d.webhook_id, d.order_key)"},
}
