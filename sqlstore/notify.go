package sqlstore

import (
	"context"
	"sync"
)

// keyNotices delivers the key changes that other server processes sharing the database commit, so
// that each process's authentication cache forgets a deleted or changed key at once instead of
// after its TTL. Where one process owns the database (SQLite) there is nothing to listen to.
type keyNotices struct {
	mu       sync.Mutex
	fns      []func(string)
	listener *job
}

// OnKeyChange makes the store call f with the id of each key changed or deleted by any process
// sharing the database, "app:"+id for a deleted app, and "*" when changes may have been missed (the
// listening connection was lost: forget everything). f is called from the listening goroutine and
// must not block. Where one process owns the database (SQLite) f is never called: that process
// forgets what it changes itself. The listener starts with the first f and stops at Close.
func (s *Store) OnKeyChange(f func(string)) {
	if s.d.listen == nil {
		return
	}
	n := &s.keyNotices
	n.mu.Lock()
	defer n.mu.Unlock()
	n.fns = append(n.fns, f)
	if n.listener == nil {
		n.listener = startJob(func(ctx context.Context, _ <-chan struct{}) { s.d.listen(ctx, s, n.notify) })
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
	l := n.listener
	n.mu.Unlock()
	l.stop()
}
