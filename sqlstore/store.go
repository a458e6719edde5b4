// Package sqlstore implements sunlamp.Store once for two databases: SQLite (embedded, the default)
// and PostgreSQL (for several server processes sharing one database). Every query is written once with
// `?` placeholders (q rebinds them for PostgreSQL). What differs between the databases is data, a
// dialect set once when the store opens (dialect.go); only the files named sqlite*.go and
// postgres*.go, and the migrations, know which database they are on.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sunlamp/sunlamp"
)

// Store is the SQL implementation of sunlamp.Store.
type Store struct {
	d     dialect
	write *sql.DB // SQLite: one connection, so writers queue in Go instead of failing busy
	read  *sql.DB // SQLite: several read-only connections; PostgreSQL: the same pool as write
	path  string  // SQLite: the database file
	clock sunlamp.Clock
	// PostgreSQL: queries rebound to $n placeholders, by their `?` text (see q), and how many.
	rebound   sync.Map
	nRebound  atomic.Int64
	purge     purgeState     // background removal of deleted users' history (purge.go)
	media     mediaState     // where attachments' bytes live, and their background removal (attachments.go)
	audit     auditState     // the audit trail's log, retention and janitor (audit.go)
	retention retentionState // background sweep of conversations past their app's retention (retention.go)

	msgBatch messageBatcher // group commit of PostMessage (groupcommit.go)
	onOutbox atomic.Pointer[func()]
	// PostgreSQL: the DSN, for the connection that listens to key changes (notify.go).
	dsn        string
	keyNotices keyNotices
	live       liveNotices // the web messenger's notices between processes (live.go)
	// uniqueViolations counts the unique violations the database raised: an expected conflict on a
	// value that carries personal data must be found without one (PostgreSQL logs the key's values).
	uniqueViolations atomic.Int64
	stopBackground   func() // the dialect's background work (dialect.background)
	// resetProbe finds out once whether resets may run without the foreign keys' triggers
	// (ResetsUnchecked).
	resetProbe       sync.Once
	resetUncheckedOK bool
}

// OnOutbox makes the store call f after each commit that wrote outbox events (which may have
// deliveries due at once), from the committing goroutine; f must not block. The webhook dispatcher's
// Wake is meant: it then looks for due deliveries only when there may be some, instead of after
// every write (a claim is a query, and under thousands of writes a second it was ~6% of a server's
// CPU and more of PostgreSQL's), and events written outside any request (the end of a user's purge)
// are sent at once too.
func (s *Store) OnOutbox(f func()) { s.onOutbox.Store(&f) }

// outboxWritten calls the OnOutbox function, if any.
func (s *Store) outboxWritten() {
	if f := s.onOutbox.Load(); f != nil && *f != nil {
		(*f)()
	}
}

var _ sunlamp.Store = (*Store)(nil)

// Option configures a Store.
type Option func(*Store)

// WithClock makes the store read the time from c instead of the system clock.
func WithClock(c sunlamp.Clock) Option { return func(s *Store) { s.clock = c } }

// Open opens the database that dsn names and applies its migrations. The DSN's scheme picks the
// database: `sqlite:PATH` (PATH a file; `sqlite::memory:` is not supported, since readers and the
// writer need to share the file) or `postgres://...` / `postgresql://...`.
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	s := &Store{clock: sunlamp.SystemClock{}}
	for _, o := range opts {
		o(s)
	}
	scheme, _, _ := strings.Cut(dsn, ":")
	mk, ok := dialects[scheme]
	if !ok {
		return nil, fmt.Errorf("open store: unknown database %q: want sqlite:PATH or postgres://...", redactDSN(dsn))
	}
	s.d = mk()
	if err := s.d.open(s, dsn); err != nil {
		return nil, err
	}
	if err := s.ping(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open store: %w", err)
	}
	if err := s.d.ready(s); err != nil {
		s.Close()
		return nil, fmt.Errorf("open store: %w", err)
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open store: migrate: %w", err)
	}
	s.media.blobs = s.d.blobs(s)
	if s.media.dir != "" && s.media.blobs.dir() == "" {
		s.Close()
		return nil, fmt.Errorf("open store: %w", ErrNoMediaDir)
	}
	if s.d.background != nil {
		stop, err := s.d.background(s)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("open store: %w", err)
		}
		s.stopBackground = stop
	}
	s.startPurger()
	s.startMediaJanitor()
	s.startAuditJanitor()
	s.startRetention()
	return s, nil
}

// ErrNoMediaDir is Open's error for WithMediaDir on a database that keeps the bytes of attachments
// itself (PostgreSQL, so that every server process sharing it serves them).
var ErrNoMediaDir = errors.New("a media directory applies only to SQLite: PostgreSQL keeps attachments in the database")

// redactDSN hides a password in a DSN so that it can be logged.
func redactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	return u.Redacted()
}

// Name returns the database's name for people: "sqlite PATH" or "postgres".
func (s *Store) Name() string {
	if s.path != "" {
		return s.d.name + " " + s.path
	}
	return s.d.name
}

// OwnsDatabase reports whether this process is the database's only user (SQLite), so that what a
// killed predecessor had claimed may be taken back at start.
func (s *Store) OwnsDatabase() bool { return s.d.ownsDatabase }

func (s *Store) ping(ctx context.Context) error {
	if err := s.write.PingContext(ctx); err != nil {
		return err
	}
	return s.read.PingContext(ctx)
}

// Ping answers nil when the database answers a query.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.read.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("ping store: %w", err)
	}
	return nil
}

// Close stops the store's jobs and closes the database. It first takes old page images out of the
// database's log (SQLite: the write-ahead log is checkpointed and truncated), so that no erased value
// remains there after a clean stop.
func (s *Store) Close() error {
	s.keyNotices.stop()
	s.live.stop()
	s.stopPurger()
	s.stopMediaJanitor()
	s.stopAuditJanitor()
	s.stopRetention()
	if s.stopBackground != nil {
		s.stopBackground()
	}
	var errs []error
	if s.d.logs != nil && s.write != nil {
		if err := s.d.logs.close(context.Background(), s.write); err != nil {
			errs = append(errs, fmt.Errorf("checkpoint: %w", err))
		}
	}
	if s.read != nil && s.read != s.write {
		errs = append(errs, s.read.Close())
	}
	if s.write != nil {
		errs = append(errs, s.write.Close())
	}
	return errors.Join(errs...)
}

// now returns the store's current time, truncated to the millisecond like everything stored.
func (s *Store) now() time.Time { return s.clock.Now().UTC().Truncate(time.Millisecond) }

// q returns query with its `?` placeholders in the dialect's form. Never write `$1` in shared SQL:
// SQLite binds `$N` by first appearance.
func (s *Store) q(query string) string {
	if !s.d.numbered {
		return query
	}
	if r, ok := s.rebound.Load(query); ok {
		return r.(string)
	}
	r := rebind(query)
	// The texts are the store's own, a bounded set (lists come in a few padded sizes), but the
	// cache stops growing past a generous bound all the same.
	if s.nRebound.Load() < 20_000 {
		if _, loaded := s.rebound.LoadOrStore(query, r); !loaded {
			s.nRebound.Add(1)
		}
	}
	return r
}

func rebind(query string) string {
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	inQuote := false
	for i := 0; i < len(query); i++ {
		c := query[i]
		if c == '\'' {
			inQuote = !inQuote
		}
		if c == '?' && !inQuote {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// queryer is what *sql.DB and *sql.Tx share, so that private helpers run in or out of a transaction.
type queryer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// tx is a transaction with the store's dialect at hand.
type tx struct {
	*sql.Tx
	s  *Store
	st *txState // nil in read-only views
}

// txState is what a write transaction learns about itself while it runs.
type txState struct {
	// outbox: it wrote outbox events, or removed some (the deliveries queued behind a removed one
	// may now be due): the webhook dispatcher is woken once it commits.
	outbox bool
	// audits: the audit entries it recorded, logged once it commits (audit.go).
	audits []sunlamp.AuditEntry
}

func (t tx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := t.ExecContext(ctx, t.s.q(query), args...)
	return res, t.s.classify(err)
}

func (t tx) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return t.QueryRowContext(ctx, t.s.q(query), args...)
}

// deleteOne runs a DELETE and returns notFoundErr when it removed no row.
func (t tx) deleteOne(ctx context.Context, notFoundErr error, query string, args ...any) error {
	res, err := t.exec(ctx, query, args...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFoundErr
	}
	return nil
}

func (t tx) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	rows, err := t.QueryContext(ctx, t.s.q(query), args...)
	return rows, t.s.classify(err)
}

// inTx runs fn in a write transaction and commits it when fn returns nil; it rolls back otherwise.
// Several changes (a message and its outbox event) therefore commit together or not at all.
func (s *Store) inTx(ctx context.Context, fn func(tx) error) error { return s.inTxOn(ctx, s.write, fn) }

// txBeginner is where a write transaction begins: the writer pool, or one connection of it.
type txBeginner interface {
	BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error)
}

// inTxOn is inTx on db.
func (s *Store) inTxOn(ctx context.Context, db txBeginner, fn func(tx) error) error {
	t, err := db.BeginTx(ctx, nil)
	if err != nil {
		return s.classify(fmt.Errorf("begin: %w", err))
	}
	st := &txState{}
	if err := fn(tx{t, s, st}); err != nil {
		_ = t.Rollback()
		return err
	}
	if err := t.Commit(); err != nil {
		return s.classify(fmt.Errorf("commit: %w", err))
	}
	if st.outbox {
		s.outboxWritten()
	}
	s.logAudits(st.audits)
	return nil
}

// inTxRetried is inTx for the deletions that cascade into the outbox while the store's background
// work removes rows there too (a purge or retention sweep deleting a conversation's events, whose
// deliveries a deleted webhook's cascade deletes as well, in another order): on PostgreSQL one of
// two such transactions can be aborted as a deadlock. It runs fn again, three times in all, when the
// database aborted it that way (sunlamp.KindRateLimited: a deadlock, a serialization failure, a busy
// lock), rather than answer the caller 429 for work it did not cause. fn must set, not accumulate,
// what it hands out: it may run more than once.
func (s *Store) inTxRetried(ctx context.Context, fn func(tx) error) error {
	var err error
	for attempt := 1; ; attempt++ {
		err = s.inTx(ctx, fn)
		if attempt == 3 || sunlamp.KindOf(err) != sunlamp.KindRateLimited || ctx.Err() != nil {
			return err
		}
		select { // a few milliseconds, different each time, for the other transaction to finish
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt)*5*time.Millisecond + time.Duration(rand.IntN(5000))*time.Microsecond):
		}
	}
}

// readTx runs fn in a read-only view (a transaction on the read pool), so that several queries see one
// snapshot.
func (s *Store) readTx(ctx context.Context, fn func(tx) error) error {
	t, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: s.d.readOnlyViews})
	if err != nil {
		return s.classify(fmt.Errorf("begin read: %w", err))
	}
	defer t.Rollback()
	return fn(tx{t, s, nil})
}

// queryRow runs a single-row read on the read pool.
func (s *Store) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return s.read.QueryRowContext(ctx, s.q(query), args...)
}

// query runs a read on the read pool.
func (s *Store) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	rows, err := s.read.QueryContext(ctx, s.q(query), args...)
	return rows, s.classify(err)
}

// errUnique marks a unique-constraint violation; errForeignKey a foreign-key violation. Store
// methods turn them into the domain error of the operation.
var (
	errUnique     = errors.New("unique constraint violated")
	errForeignKey = errors.New("foreign key constraint violated")
)

// classify turns driver errors into errUnique, errForeignKey or sunlamp.ErrBusy (wrapping the
// original), and passes anything else through.
func (s *Store) classify(err error) error {
	if err == nil {
		return nil
	}
	var se *sunlamp.Error
	if errors.As(err, &se) {
		return err
	}
	kind := s.d.classify(err)
	if kind == nil {
		return err
	}
	if kind == errUnique {
		s.uniqueViolations.Add(1)
	}
	if kind == sunlamp.ErrBusy {
		return &sunlamp.Error{Kind: sunlamp.KindRateLimited, Code: sunlamp.ErrBusy.Code, Title: sunlamp.ErrBusy.Title, Cause: err}
	}
	return fmt.Errorf("%w: %w", kind, err)
}

// lockName takes the dialect's lock on name until the transaction ends (see dialect.nameLock).
func (t tx) lockName(ctx context.Context, name string) error {
	if t.s.d.nameLock == "" {
		return nil
	}
	_, err := t.exec(ctx, t.s.d.nameLock, name)
	return err
}

// lockForCount serializes, on PostgreSQL, the transactions that count the children of one row
// (an app's keys or webhooks, an integration's keys, a switchboard's integrations) before adding
// one, so that two concurrent creations cannot both see room for one more. FOR NO KEY UPDATE does
// not block the foreign-key checks of inserts that reference the row. It returns notFoundErr when
// the row does not exist. With one writer at a time (SQLite) it only checks existence.
func (t tx) lockForCount(ctx context.Context, table, where string, notFoundErr error, args ...any) error {
	q := "SELECT 1 FROM " + table + " WHERE " + where + t.s.d.lock("NO KEY UPDATE")
	var one int
	if err := t.queryRow(ctx, q, args...).Scan(&one); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return notFoundErr
		}
		return err
	}
	return nil
}
