package sqlstore

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// keyNotices delivers the key changes that any server process sharing a PostgreSQL database
// commits (migration 0012), so that each process's authentication cache forgets a deleted or
// changed key at once instead of after its TTL. SQLite has one process: nothing to listen to.
type keyNotices struct {
	mu     sync.Mutex
	fns    []func(string)
	cancel context.CancelFunc
	done   chan struct{}
}

// OnKeyChange makes the store call f with the id of each key changed or deleted by any process
// sharing the database, "app:"+id for a deleted app, and "*" when changes may have been missed (the
// listening connection was lost: forget everything). f is called from the listening goroutine and
// must not block. On SQLite f is never called: only this process writes, and it forgets what it
// changes itself.
func (s *Store) OnKeyChange(f func(string)) {
	if s.dialect != Postgres {
		return
	}
	n := &s.keyNotices
	n.mu.Lock()
	defer n.mu.Unlock()
	n.fns = append(n.fns, f)
	if n.cancel == nil {
		ctx, cancel := context.WithCancel(context.Background())
		n.cancel, n.done = cancel, make(chan struct{})
		go s.listenKeys(ctx, n.done)
	}
}

func (n *keyNotices) notify(id string) {
	n.mu.Lock()
	fns := n.fns
	n.mu.Unlock()
	for _, f := range fns {
		f(id)
	}
}

// stop ends the listener, if any, and waits for it.
func (n *keyNotices) stop() {
	n.mu.Lock()
	cancel, done := n.cancel, n.done
	n.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// listenKeys holds a connection listening on sunlamp_keys until ctx ends, reconnecting after a
// failure. Whenever it (re)connects, changes may have been missed, so every listener forgets all.
func (s *Store) listenKeys(ctx context.Context, done chan struct{}) {
	defer close(done)
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
			s.keyNotices.notify("*")
			backoff = 100 * time.Millisecond
			for {
				nt, err := conn.WaitForNotification(ctx)
				if err != nil {
					return err
				}
				s.keyNotices.notify(nt.Payload)
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
