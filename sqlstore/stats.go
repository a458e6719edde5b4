package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"
)

// Stats is what the store can tell about its backlogs, for metrics.
type Stats struct {
	PendingDeliveries  int64         // webhook deliveries not yet delivered or given up
	OldestPending      time.Duration // how long the oldest of them has waited; 0 without any
	PurgeBacklog       int64         // deleted users whose history is still being removed
	OldestPurgePending time.Duration // how long the oldest of them has waited; 0 without any
}

// Stats counts the store's backlogs: two aggregate queries on the read pool. The pending
// deliveries are counted through the partial index of pending deliveries (deliveries_due), so the
// cost grows with the backlog, not with the deliveries kept.
func (s *Store) Stats(ctx context.Context) (Stats, error) {
	var st Stats
	now := s.now()
	var oldest sql.NullInt64
	if err := s.queryRow(ctx, "SELECT COUNT(*), MIN(created_at) FROM deliveries WHERE status = 'pending'").Scan(&st.PendingDeliveries, &oldest); err != nil {
		return st, fmt.Errorf("store stats: deliveries: %w", err)
	}
	st.OldestPending = age(now, oldest)
	oldest = sql.NullInt64{}
	if err := s.queryRow(ctx, "SELECT COUNT(*), MIN(created_at) FROM user_purges").Scan(&st.PurgeBacklog, &oldest); err != nil {
		return st, fmt.Errorf("store stats: purges: %w", err)
	}
	st.OldestPurgePending = age(now, oldest)
	return st, nil
}

// age is how long before now the Unix-millisecond time ms was; 0 when there is none.
func age(now time.Time, ms sql.NullInt64) time.Duration {
	if !ms.Valid {
		return 0
	}
	return max(0, now.Sub(time.UnixMilli(ms.Int64)))
}

// Observer is told what the store does out of sight of the caller, for metrics: the size of each
// group commit of PostMessage, and the end of each deleted user's background removal. It must not
// block.
type Observer interface {
	MessageBatch(n int)
	UserPurged()
}

// observers holds the Observer of each store that has one (SetObserver). A store that never had
// one costs a failed lookup where it reports.
var observers sync.Map // *Store -> Observer

// SetObserver makes the store report to o (nil: to nobody). Call it once, before serving.
func (s *Store) SetObserver(o Observer) {
	if o == nil {
		observers.Delete(s)
		return
	}
	observers.Store(s, o)
}

func (s *Store) observer() Observer {
	if o, ok := observers.Load(s); ok {
		return o.(Observer)
	}
	return nil
}

// observeBatch reports a group commit of n messages (called by commitMessages).
func (s *Store) observeBatch(n int) {
	if o := s.observer(); o != nil {
		o.MessageBatch(n)
	}
}

// observePurged reports the end of a deleted user's background removal (called by
// PurgeDeletedUsers).
func (s *Store) observePurged() {
	if o := s.observer(); o != nil {
		o.UserPurged()
	}
}
