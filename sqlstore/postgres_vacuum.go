package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"strings"
	"sync"
	"time"

	"github.com/sunlamp/sunlamp"
)

// personalTables are the tables that hold personal data, or copies of it, and so the dead row
// versions of what erasure, deletion, purges and retention remove or overwrite (as the migrations
// define them): users (profile, metadata, identities, externalId), clients (names, avatars, channel
// info and raw payloads), devices (info, push token), conversations (names, descriptions, icons and
// metadata of personal conversations), participants (client associations), messages (content,
// metadata), attachments (file names) and attachment_chunks (the files themselves), events (the
// outbox snapshots sent in webhooks), deliveries, delivery_attempts (the flight recorder's request
// and response bodies), user_purges (the user:remove kept until a purge ends), conversion_events
// (payloads), interactive_data_refs (contents, URLs), visitor_sessions and zendesk_users (names,
// emails). The README's list is this one.
var personalTables = []string{
	"users", "clients", "devices", "conversations", "participants", "messages", "attachments", "attachment_chunks",
	"events", "deliveries", "delivery_attempts", "user_purges", "conversion_events", "interactive_data_refs",
	"visitor_sessions", "zendesk_users",
}

// vacuumSQL is the VACUUM of tables (names of personalTables, not input). With indexes, INDEX_CLEANUP
// ON removes the index entries of dead rows even when there are few of them (PostgreSQL 14 and later
// skip that below 2% of the pages by default, and one erasure is far below): an erasure's values are
// in indexes (externalIds, emails); a retention sweep's are not (message and event indexes hold ids
// and times), so it leaves that to the default and does not read every index of its tables.
// SKIP_LOCKED passes over a table that another VACUUM (autovacuum, or another server process's) is
// working on instead of waiting for it.
func vacuumSQL(tables []string, indexes bool) string {
	opts := "SKIP_LOCKED"
	if indexes {
		opts += ", INDEX_CLEANUP ON"
	}
	return "VACUUM (" + opts + ") " + strings.Join(tables, ", ")
}

// postgresVacuumDelay is how long after an erasure the vacuum starts, so that a burst of erasures
// (a privacy tool erasing a list of users, a purge of many deleted users) is vacuumed once;
// postgresVacuumEvery is the shortest time between two vacuums of one server process. An erased
// value is then reclaimed within postgresVacuumEvery+postgresVacuumDelay, plus the vacuum's own
// duration (README, Personal data on disk).
const (
	postgresVacuumDelay = time.Second
	postgresVacuumEvery = 30 * time.Second
)

// postgresVacuum is PostgreSQL's log scrubber (see dialect.logs): PostgreSQL keeps the old
// versions of updated and deleted rows (dead tuples) in the table and index files until VACUUM
// removes them, and autovacuum starts only past a share of the table changed (20% of the rows by
// default), which erasures, a few rows at a time, never reach. So every erasure, deletion purge and
// retention sweep asks for a VACUUM of the personal tables it touched (all of personalTables for an
// erasure, with their index entries; a retention sweep names its own); one runs postgresVacuumDelay
// later, at most once every postgresVacuumEvery, in a goroutine of its own that Close stops (a
// VACUUM running then is cancelled on the server). A plain VACUUM takes no lock that blocks reads or
// writes. It cannot remove a dead tuple that a transaction open since before the erasure may still
// see (a long backup, a forgotten psql session): that one goes at the next vacuum after it ends.
//
// What VACUUM does not do, the README says: it does not zero the space it frees (the bytes stay in
// the page until new rows overwrite them; VACUUM FULL rewrites the table instead, under a lock that
// blocks it, and leaves the old file's blocks to the file system), and the WAL and its archives
// keep their copies.
type postgresVacuum struct {
	delay, every time.Duration
	// vacuumed is called after each vacuum, with its duration and error (tests).
	vacuumed func(time.Duration, error)

	mu      sync.Mutex
	pending map[string]bool // the tables asked for since the last vacuum started
	indexes bool            // an erasure asked: clean the index entries of dead rows too
	running bool            // the goroutine is alive
	closed  bool
	last    time.Time // when the last vacuum started
	ctx     context.Context
	cancel  context.CancelFunc
	done    chan struct{} // closed when the goroutine ends
}

func newPostgresVacuum() *postgresVacuum {
	ctx, cancel := context.WithCancel(context.Background())
	return &postgresVacuum{delay: postgresVacuumDelay, every: postgresVacuumEvery, ctx: ctx, cancel: cancel}
}

// scrub asks for a vacuum of tables (nil: every personal table, with their index entries, as after
// an erasure), and starts the goroutine that runs it if none is alive. It never blocks and returns
// nil: the erasure has committed, and the vacuum follows.
func (v *postgresVacuum) scrub(_ context.Context, db *sql.DB, tables []string) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return nil
	}
	if v.pending == nil {
		v.pending = map[string]bool{}
	}
	if tables == nil {
		tables, v.indexes = personalTables, true
	}
	for _, t := range tables {
		v.pending[t] = true
	}
	if !v.running {
		v.running = true
		v.done = make(chan struct{})
		go v.run(db, v.done)
	}
	return nil
}

// close stops the goroutine, cancelling a VACUUM in progress, and waits for it; what was asked for
// is left to autovacuum or the next start's erasures.
func (v *postgresVacuum) close(context.Context, *sql.DB) error {
	v.mu.Lock()
	v.closed = true
	v.cancel()
	done := v.done
	v.mu.Unlock()
	if done != nil {
		<-done
	}
	return nil
}

// run vacuums while there are requests, spaced as the constants say, and ends when none is left, a
// vacuum fails (the database is unreachable: the next request starts it again) or close is called.
func (v *postgresVacuum) run(db *sql.DB, done chan struct{}) {
	defer close(done)
	stop := func() {
		v.mu.Lock()
		v.running = false
		v.mu.Unlock()
	}
	for {
		v.mu.Lock()
		if len(v.pending) == 0 {
			v.running = false
			v.mu.Unlock()
			return
		}
		wait := max(v.delay, time.Until(v.last.Add(v.every)))
		v.mu.Unlock()
		select {
		case <-v.ctx.Done():
			stop()
			return
		case <-time.After(wait):
		}
		v.mu.Lock()
		var tables []string
		for _, t := range personalTables { // in a fixed order
			if v.pending[t] {
				tables = append(tables, t)
			}
		}
		indexes := v.indexes
		v.pending, v.indexes = nil, false // requests from now on need a vacuum after this one
		v.last = time.Now()
		v.mu.Unlock()
		err := vacuumPersonalTables(v.ctx, db, tables, indexes)
		if v.vacuumed != nil {
			v.vacuumed(time.Since(v.last), err)
		}
		if err != nil {
			stop()
			return
		}
	}
}

// postgresVacuumFullMax is the size (with indexes and TOAST) up to which a personal table is
// rewritten (VACUUM FULL) after the plain VACUUM; postgresVacuumFullLockWait how long the rewrite
// waits for its lock before it gives up until the next vacuum.
const (
	postgresVacuumFullMax      = 1 << 20
	postgresVacuumFullLockWait = "50ms"
)

// vacuumPersonalTables runs the VACUUM of tables (of personalTables), then rewrites the small ones.
//
// A plain VACUUM removes the dead row versions and their index entries, but it does not zero the
// space it frees in a page: it moves the page's live rows together, and what they do not cover of an
// old row's bytes stays until a new row lands there. In a full page the rows that move cover it; in a
// sparsely filled one (a small table, where every user's rows are few) the erased values stay
// readable in the table file (TestVacuumAfterErasure). VACUUM FULL writes the table anew, without
// them, but holds a lock that blocks every read and write of the table while it runs: so only tables
// up to postgresVacuumFullMax are rewritten (a few milliseconds each), and only when the lock comes
// within postgresVacuumFullLockWait (a rewrite waiting behind a long transaction would make every
// query of the table queue behind it). An empty table (none of its rows left, and the VACUUM
// truncated its file) has nothing to rewrite. Larger tables keep what the plain VACUUM leaves; the
// README says what an operator can do about it.
func vacuumPersonalTables(ctx context.Context, db *sql.DB, tables []string, indexes bool) error {
	if len(tables) == 0 {
		return nil
	}
	if _, err := db.ExecContext(ctx, vacuumSQL(tables, indexes)); err != nil {
		return err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	rows, err := conn.QueryContext(ctx, `SELECT t FROM unnest($1::text[]) t
		WHERE to_regclass(t) IS NOT NULL AND pg_relation_size(to_regclass(t)) > 0 AND pg_total_relation_size(to_regclass(t)) <= $2`, tables, postgresVacuumFullMax)
	if err != nil {
		return err
	}
	var small []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return err
		}
		small = append(small, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(small) == 0 {
		return err
	}
	if _, err := conn.ExecContext(ctx, "SET lock_timeout = '"+postgresVacuumFullLockWait+"'"); err != nil {
		return err
	}
	defer func() {
		if _, err := conn.ExecContext(context.WithoutCancel(ctx), "RESET lock_timeout"); err != nil {
			// A pooled connection that keeps a 50 ms lock timeout would fail the app's statements
			// as busy: drop it (the pool opens a new one).
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	for _, t := range small {
		// The names are personalTables', not input.
		if _, err := conn.ExecContext(ctx, "VACUUM FULL "+t); err != nil && classifyPostgres(err) != sunlamp.ErrBusy {
			return err
		}
	}
	return nil
}
