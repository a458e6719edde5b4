package api

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strings"
	"sync"
)

// The web messenger's live updates (issue 14): what a visitor's page shows as soon as it happens —
// a message in its conversation, the business typing, the business reading — is published to the
// pages that have the conversation's event stream open (Server-Sent Events, webmessenger.go). In
// one process that is a call; processes sharing a PostgreSQL database hear each other's notices
// through the store (LISTEN/NOTIFY on sunlamp_live), so a business message posted through any
// process reaches a page whose stream another process serves.

// liveNote is one notice: something happened in a conversation. It carries no message content:
// the page reads new messages through its own endpoint, with its own credential.
type liveNote struct {
	Origin         string `json:"o"` // the process that published it
	ConversationID string `json:"c"`
	// Kind is "message" (new or deleted messages: read them again), "typing:start",
	// "typing:stop" or "conversation:read".
	Kind string `json:"k"`
	// Author of a typing or read notice: "business" or "user", and for the business its name and
	// avatar as the activity gave them, for a user its id.
	Role   string `json:"r,omitempty"`
	Name   string `json:"n,omitempty"`
	Avatar string `json:"a,omitempty"`
	UserID string `json:"u,omitempty"`
	At     int64  `json:"t,omitempty"` // Unix milliseconds of a read
}

// announcer is what the store offers to carry notices between processes (sqlstore.Store).
type announcer interface {
	Announce(payload string)
	OnAnnounce(f func(string))
}

// liveHub delivers notices to the streams open in this process, and to the other processes.
type liveHub struct {
	origin string
	store  announcer // nil where there are no other processes to tell

	mu   sync.Mutex
	subs map[string]map[chan liveNote]struct{} // by conversation id
}

func newLiveHub(store any) *liveHub {
	var b [8]byte
	_, _ = rand.Read(b[:])
	h := &liveHub{origin: hex.EncodeToString(b[:]), subs: map[string]map[chan liveNote]struct{}{}}
	if o, ok := store.(interface{ OwnsDatabase() bool }); ok && o.OwnsDatabase() {
		return h // one process: nobody else to tell
	}
	if a, ok := store.(announcer); ok {
		h.store = a
		a.OnAnnounce(h.heard)
	}
	return h
}

// subscribe returns a channel of the conversation's notices and its cancel function. A stream
// that does not keep up loses notices (it is told to read again when it catches up).
func (h *liveHub) subscribe(conversationID string) (<-chan liveNote, func()) {
	ch := make(chan liveNote, 32)
	h.mu.Lock()
	m := h.subs[conversationID]
	if m == nil {
		m = map[chan liveNote]struct{}{}
		h.subs[conversationID] = m
	}
	m[ch] = struct{}{}
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		delete(h.subs[conversationID], ch)
		if len(h.subs[conversationID]) == 0 {
			delete(h.subs, conversationID)
		}
		h.mu.Unlock()
	}
}

// watched reports whether a stream of this process has the conversation open.
func (h *liveHub) watched(conversationID string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs[conversationID]) > 0
}

// publish delivers n here, and, when announce, to the other processes.
func (h *liveHub) publish(n liveNote, announce bool) {
	h.deliver(n)
	if announce && h.store != nil {
		n.Origin = h.origin
		if b, err := json.Marshal(n); err == nil {
			h.store.Announce(string(b))
		}
	}
}

func (h *liveHub) deliver(n liveNote) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs[n.ConversationID] {
		select {
		case ch <- n:
		default: // a stream behind: it reads the messages again on its next notice
		}
	}
}

// heard takes a notice another process announced.
func (h *liveHub) heard(payload string) {
	if !strings.HasPrefix(payload, "{") {
		return
	}
	var n liveNote
	if err := json.Unmarshal([]byte(payload), &n); err != nil || n.Origin == h.origin {
		return
	}
	h.deliver(n)
}
