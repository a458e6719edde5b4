package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"

	sqlite "modernc.org/sqlite"
)

// sqliteStmtCacheSize bounds the prepared statements a connection keeps. The store's statements are
// a bounded set (lists come in a few padded sizes), well below it.
const sqliteStmtCacheSize = 256

// sqliteCachingDriver is modernc.org/sqlite's driver with a cache of prepared statements on each
// connection: a query or exec by text reuses the statement that the same text prepared before on
// that connection instead of compiling its SQL again. SQLite's parser and code generator were half
// of the database's share of a GetConversation (CPU profile, HTTP benchmark), all of it spent again
// on every request for the same few statements. (mattn/go-sqlite3 has such a cache,
// _stmt_cache_size; modernc's driver does not.) Statements prepared explicitly (db.Prepare) are
// not cached: their owner closes them.
type sqliteCachingDriver struct{ base *sqlite.Driver }

func init() { sql.Register(sqliteDriver, sqliteCachingDriver{base: &sqlite.Driver{}}) }

func (d sqliteCachingDriver) Open(name string) (driver.Conn, error) {
	c, err := d.base.Open(name)
	if err != nil {
		return nil, err
	}
	base, ok := c.(sqliteConn)
	if !ok {
		c.Close()
		return nil, errors.New("open sqlite: the driver's connection lacks the context methods")
	}
	return &cachingConn{sqliteConn: base, stmts: map[string]*cachedStmt{}}, nil
}

// sqliteConn is what modernc's connection implements and the cache forwards.
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// cachingConn is one connection with its statements. database/sql uses a connection from one
// goroutine at a time, so the cache needs no lock.
type cachingConn struct {
	sqliteConn
	stmts map[string]*cachedStmt
}

// cachedStmt is a prepared statement; busy while rows of it are open (a second query of the same
// text meanwhile, on the same connection, goes uncached).
type cachedStmt struct {
	st interface {
		driver.Stmt
		driver.StmtExecContext
		driver.StmtQueryContext
	}
	busy bool
}

// stmt returns the cached statement of query, preparing it on first use; nil when it is busy or
// cannot be cached.
func (c *cachingConn) stmt(ctx context.Context, query string) (*cachedStmt, error) {
	if s, ok := c.stmts[query]; ok {
		if s.busy {
			return nil, nil
		}
		return s, nil
	}
	st, err := c.sqliteConn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	typed, ok := st.(interface {
		driver.Stmt
		driver.StmtExecContext
		driver.StmtQueryContext
	})
	if !ok {
		st.Close()
		return nil, nil
	}
	if len(c.stmts) >= sqliteStmtCacheSize {
		for q, old := range c.stmts { // evict one that is not in use
			if !old.busy {
				old.st.Close()
				delete(c.stmts, q)
				break
			}
		}
	}
	s := &cachedStmt{st: typed}
	c.stmts[query] = s
	return s, nil
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	s, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return c.sqliteConn.ExecContext(ctx, query, args)
	}
	return s.st.ExecContext(ctx, args) // resets the statement when done
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	s, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return c.sqliteConn.QueryContext(ctx, query, args)
	}
	rows, err := s.st.QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	s.busy = true
	return &cachedRows{Rows: rows, s: s}, nil
}

// Close finalizes the cached statements and closes the connection.
func (c *cachingConn) Close() error {
	for q, s := range c.stmts {
		s.st.Close()
		delete(c.stmts, q)
	}
	return c.sqliteConn.Close()
}

// cachedRows releases its statement when closed (modernc resets a prepared statement's VM when its
// rows close, for reuse).
type cachedRows struct {
	driver.Rows
	s *cachedStmt
}

func (r *cachedRows) Close() error {
	err := r.Rows.Close()
	r.s.busy = false
	return err
}
