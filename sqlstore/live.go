package sqlstore

import (
	"context"
	"sync"
	"time"
)

// This file carries the web messenger's live notices between server processes that share a
// database (issue 14): a process that writes something a visitor's page shows at once (a business
// message, a typing indicator) announces it, and every process with that page's event stream open
// hears it. Where one process owns the database (SQLite) there is nobody else to tell: Announce does
// nothing and OnAnnounce never calls back.

// liveChannel is how a database carries notices between processes: set by the per-dialect files
// (postgres_live.go) for the dialects that have several processes.
type liveChannel struct {
	// listen holds a connection that hears the notices, calling notify with each payload until ctx
	// ends, reconnecting after a failure.
	listen func(ctx context.Context, s *Store, notify func(string))
	// send announces payloads (each at most maxLivePayload bytes).
	send func(ctx context.Context, s *Store, payloads []string) error
}

// liveChannels holds the liveChannel of each dialect that has one, by dialect name.
var liveChannels = map[string]liveChannel{}

// maxLivePayload bounds one notice (PostgreSQL's limit is 8000 bytes).
const maxLivePayload = 4000

// liveNotices is the store's side of the notices: the listeners and the sender.
type liveNotices struct {
	mu       sync.Mutex
	fns      []func(string)
	listener *job
	sender   *job
	queue    []string
}

// OnAnnounce makes the store call f with each notice another process sharing the database
// announces (and those of this process too: the caller tells them apart). f is called from the
// listening goroutine and must not block. The listener starts with the first f and stops at Close.
func (s *Store) OnAnnounce(f func(string)) {
	ch, ok := liveChannels[s.d.name]
	if !ok {
		return
	}
	n := &s.live
	n.mu.Lock()
	defer n.mu.Unlock()
	n.fns = append(n.fns, f)
	if n.listener == nil {
		n.listener = startJob(func(ctx context.Context, _ <-chan struct{}) { ch.listen(ctx, s, n.notify) })
	}
}

func (n *liveNotices) notify(payload string) {
	n.mu.Lock()
	fns := n.fns
	n.mu.Unlock()
	for _, f := range fns {
		f(payload)
	}
}

// Announce queues payload for the other processes sharing the database, and returns at once: the
// notices are sent by a goroutine of the store's, a few at a time, so that the request that caused
// one does not wait for it. A payload over maxLivePayload bytes, or one that finds the queue full
// (the database is not keeping up), is dropped: the pages catch up when their stream reconnects.
func (s *Store) Announce(payload string) {
	ch, ok := liveChannels[s.d.name]
	if !ok || len(payload) > maxLivePayload {
		return
	}
	n := &s.live
	n.mu.Lock()
	if len(n.queue) < 10_000 {
		n.queue = append(n.queue, payload)
	}
	if n.sender == nil {
		n.sender = startJob(func(ctx context.Context, wake <-chan struct{}) {
			for {
				select {
				case <-ctx.Done():
					return
				case <-wake:
				}
				n.mu.Lock()
				batch := n.queue
				n.queue = nil
				n.mu.Unlock()
				if len(batch) == 0 {
					continue
				}
				sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				_ = ch.send(sctx, s, batch) // lost notices only delay pages until they reconnect
				cancel()
			}
		})
	}
	n.mu.Unlock()
	n.sender.wake()
}

// stop ends the listener and the sender, if any, and waits for them.
func (n *liveNotices) stop() {
	n.mu.Lock()
	l, snd := n.listener, n.sender
	n.mu.Unlock()
	l.stop()
	snd.stop()
}
