package sqlstore

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// pipelinedExecutor runs statements on PostgreSQL's pgx connection, several to a round trip:
// database/sql cannot pipeline, so it runs on the pgx connection under the pool's.
type pipelinedExecutor struct{}

// batch runs a message plan in two pipelined round trips instead of one round trip per statement
// (nine or more a batch): BEGIN and the locking reads (their results decide which messages are
// accepted), then the writes and COMMIT. An error fails the whole plan, nothing of it stored.
func (pipelinedExecutor) batch(ctx context.Context, s *Store, p *messagePlan) error {
	conn, err := s.write.Conn(ctx)
	if err != nil {
		p.turn()
		p.lockedNow()
		return s.classify(fmt.Errorf("begin: %w", err))
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		err := runPipelined(ctx, s, pc, p)
		if err != nil {
			// The transaction may be open (a statement failed) or over (COMMIT failed): ROLLBACK
			// ends the first and only warns on the second. A connection that cannot even do that
			// is discarded.
			if _, rerr := pc.Exec(ctx, "ROLLBACK"); rerr != nil {
				return errors.Join(err, driver.ErrBadConn)
			}
		}
		return err
	})
}

func runPipelined(ctx context.Context, s *Store, pc *pgx.Conn, p *messagePlan) error {
	p.turn()
	// Round trip 1: BEGIN and the reads.
	reads := p.reads()
	var b pgx.Batch
	b.Queue("BEGIN")
	for _, rd := range reads {
		b.Queue(s.q(rd.q), rd.args...)
	}
	err := func() error {
		br := pc.SendBatch(ctx, &b)
		defer br.Close()
		if _, err := br.Exec(); err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		for _, rd := range reads {
			rows, err := br.Query()
			if err != nil {
				return fmt.Errorf("read batch: %w", err)
			}
			for rows.Next() {
				if err := rd.scan(rows); err != nil {
					rows.Close()
					return err
				}
			}
			if rows.Close(); rows.Err() != nil {
				return fmt.Errorf("read batch: %w", rows.Err())
			}
		}
		return br.Close()
	}()
	p.lockedNow()
	if err != nil {
		return s.classify(err)
	}

	// Round trip 2: the writes and COMMIT.
	stmts, err := p.writes()
	if err != nil {
		return err
	}
	b = pgx.Batch{}
	for _, st := range stmts {
		b.Queue(s.q(st.q), st.args...)
	}
	b.Queue("COMMIT")
	br := pc.SendBatch(ctx, &b)
	for i := 0; i < b.Len(); i++ {
		tag, err := br.Exec()
		if err != nil {
			br.Close()
			if i == b.Len()-1 {
				return s.classify(fmt.Errorf("commit: %w", err))
			}
			return s.classify(fmt.Errorf("store messages: %w", err))
		}
		if i == b.Len()-1 && tag.String() != "COMMIT" { // COMMIT of an aborted transaction answers ROLLBACK
			br.Close()
			return fmt.Errorf("commit: transaction rolled back")
		}
	}
	if err := br.Close(); err != nil {
		return s.classify(fmt.Errorf("commit: %w", err))
	}
	if p.wroteEvents {
		s.outboxWritten()
	}
	return nil
}

// each runs every statement in a transaction of its own, all sent in one round trip, without waiting
// for the WAL flush (synchronous_commit off): the statements' loss in a crash must be harmless.
func (pipelinedExecutor) each(ctx context.Context, s *Store, stmts []stmt) error {
	conn, err := s.write.Conn(ctx)
	if err != nil {
		return s.classify(err)
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		var b pgx.Batch
		for _, st := range stmts {
			b.Queue("BEGIN")
			b.Queue("SET LOCAL synchronous_commit = off")
			b.Queue(s.q(st.q), st.args...)
			b.Queue("COMMIT")
		}
		if err := pc.SendBatch(ctx, &b).Close(); err != nil {
			// The failed transaction is open and aborted: end it (the ones before it committed,
			// the ones after it were not run).
			if _, rerr := pc.Exec(ctx, "ROLLBACK"); rerr != nil {
				return errors.Join(err, driver.ErrBadConn)
			}
			return s.classify(err)
		}
		return nil
	})
}
