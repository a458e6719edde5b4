package sqlstore

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/sunlamp/sunlamp"
)

// pipelineMessages is commitMessages' transaction on PostgreSQL, for batches without attachments:
// the same statements, sent in two pipelined round trips instead of one round trip each (nine or more
// a batch): BEGIN and the locking reads (their results decide which
// messages are accepted), then the inserts, the updates and COMMIT. database/sql cannot pipeline, so
// this runs on the pgx connection under the pool's. It sets each request's result as
// commitMessages does and returns the accepted requests; an error fails the whole batch, nothing of
// it stored. lockedOnce is called once the batch holds its conversations' locks (or gave up).
func (s *Store) pipelineMessages(live []*postRequest, prev <-chan struct{}, lockedOnce func()) (accepted []*postRequest, err error) {
	ctx := context.Background()
	conn, err := s.write.Conn(ctx)
	if err != nil {
		return nil, s.classify(fmt.Errorf("begin: %w", err))
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		var err error
		accepted, err = s.pipelineMessagesOn(ctx, pc, live, prev, lockedOnce)
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
	return accepted, err
}

func (s *Store) pipelineMessagesOn(ctx context.Context, pc *pgx.Conn, live []*postRequest, prev <-chan struct{}, lockedOnce func()) ([]*postRequest, error) {
	if prev != nil {
		<-prev
	}
	// Round trip 1: BEGIN, the authors (FOR SHARE, users before conversations as every writer),
	// the conversations (FOR UPDATE, in id order).
	t := tx{nil, s, nil}
	var b pgx.Batch
	b.Queue("BEGIN")
	ids := authorIDs(live)
	if len(ids) > 0 {
		st := t.liveAuthorsStmt(ids)
		b.Queue(s.q(st.q), st.args...)
	}
	lock := s.lockConversationsStmt(live)
	b.Queue(s.q(lock.q), lock.args...)
	users := make(map[string]bool, len(ids))
	convs := make(map[string]*sunlamp.Conversation, len(lock.args))
	outbox := make(map[string]bool, len(lock.args))
	err := func() error {
		br := pc.SendBatch(ctx, &b)
		defer br.Close()
		if _, err := br.Exec(); err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		if len(ids) > 0 {
			rows, err := br.Query()
			if err != nil {
				return fmt.Errorf("lock authors: %w", err)
			}
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					rows.Close()
					return err
				}
				users[id] = true
			}
			if rows.Close(); rows.Err() != nil {
				return fmt.Errorf("lock authors: %w", rows.Err())
			}
		}
		rows, err := br.Query()
		if err != nil {
			return fmt.Errorf("lock conversations: %w", err)
		}
		for rows.Next() {
			if err := scanLockedConversation(rows, convs, outbox); err != nil {
				rows.Close()
				return err
			}
		}
		if rows.Close(); rows.Err() != nil {
			return fmt.Errorf("lock conversations: %w", rows.Err())
		}
		return br.Close()
	}()
	lockedOnce()
	if err != nil {
		return nil, s.classify(err)
	}

	// Round trip 2: the writes and COMMIT.
	accepted := acceptMessages(live, users, convs, nil)
	b = pgx.Batch{}
	wroteEvents := false
	if len(accepted) > 0 {
		if err := s.msgBatch.ensureEvents(accepted, outbox); err != nil {
			return nil, err
		}
		evented := withOutbox(accepted, outbox)
		wroteEvents = len(evented) > 0
		convJSON, err := conversationsJSON(evented, convs)
		if err != nil {
			return nil, err
		}
		start := 0
		for _, size := range chunkSizes(len(accepted)) {
			part := accepted[start : start+size]
			start += size
			st := insertMessagesStmt(part)
			b.Queue(s.q(st.q), st.args...)
		}
		start = 0
		for _, size := range chunkSizes(len(evented)) {
			part := evented[start : start+size]
			start += size
			st := insertEventsStmt(part, convJSON)
			b.Queue(s.q(st.q), st.args...)
		}
		for _, st := range bumpConversationsStmts(accepted, convs) {
			b.Queue(s.q(st.q), st.args...)
		}
	}
	b.Queue("COMMIT")
	br := pc.SendBatch(ctx, &b)
	for i := 0; i < b.Len(); i++ {
		tag, err := br.Exec()
		if err != nil {
			br.Close()
			if i == b.Len()-1 {
				return nil, s.classify(fmt.Errorf("commit: %w", err))
			}
			return nil, s.classify(fmt.Errorf("store messages: %w", err))
		}
		if i == b.Len()-1 && tag.String() != "COMMIT" { // COMMIT of an aborted transaction answers ROLLBACK
			br.Close()
			return nil, fmt.Errorf("commit: transaction rolled back")
		}
	}
	if err := br.Close(); err != nil {
		return nil, s.classify(fmt.Errorf("commit: %w", err))
	}
	if wroteEvents {
		s.outboxWritten()
	}
	return accepted, nil
}

// pipelinedExecutor runs statements on PostgreSQL's pgx connection, several to a round trip.
type pipelinedExecutor struct{}

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
