package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sunlamp/sunlamp"
)

// messageBatcher is the group commit of PostMessage. A durable commit costs an fsync (~0.17 ms on
// SQLite here, more on PostgreSQL), so one commit per message caps a server at a few thousand
// messages a second. Instead, concurrent PostMessage calls queue their message and one goroutine
// commits everything queued in a single transaction; while it commits, the next batch gathers.
// Each caller waits until the transaction holding its message has committed (fsync'd: SQLite runs
// with synchronous=FULL, PostgreSQL with its default synchronous_commit=on) and gets its own result:
// a message refused by a check of the batch (unknown conversation, the 30,000 limit) fails alone;
// only a failing transaction fails the whole batch.
//
// The goroutine exists only while there is work: the first caller to find the queue idle starts
// it, and it ends when the queue is empty, so a Store needs no extra shutdown step.
type messageBatcher struct {
	mu      sync.Mutex
	queue   []*postRequest
	running bool
}

// maxMessageBatch bounds a batch: 256 messages of 17 columns stay far below both databases' limits
// on bound parameters, and a batch commits in a few milliseconds at most.
const maxMessageBatch = 256

type postRequest struct {
	ctx  context.Context
	m    sunlamp.Message
	conv sunlamp.Conversation // the conversation as the message left it, for the event
	err  error
	done chan struct{}
}

// post queues m and waits for the commit that holds it. It does not give up when ctx ends while
// the message is being committed: the caller must learn whether it was stored.
func (b *messageBatcher) post(s *Store, ctx context.Context, m sunlamp.Message) (sunlamp.Message, error) {
	r := &postRequest{ctx: ctx, m: m, done: make(chan struct{})}
	b.mu.Lock()
	b.queue = append(b.queue, r)
	if !b.running {
		b.running = true
		go b.run(s)
	}
	b.mu.Unlock()
	<-r.done
	return r.m, r.err
}

func (b *messageBatcher) run(s *Store) {
	for {
		b.mu.Lock()
		if len(b.queue) == 0 {
			b.running = false
			b.queue = nil
			b.mu.Unlock()
			return
		}
		n := min(len(b.queue), maxMessageBatch)
		batch := slices.Clone(b.queue[:n])
		b.queue = b.queue[n:]
		b.mu.Unlock()
		s.commitMessages(batch)
		for _, r := range batch {
			close(r.done)
		}
	}
}

// commitMessages stores a batch in one transaction, setting each request's result.
func (s *Store) commitMessages(batch []*postRequest) {
	live := batch[:0:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.err = err // the caller gave up before its message was written: it was not stored
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	var accepted []*postRequest
	err := s.inTx(context.Background(), func(t tx) error {
		accepted = accepted[:0]
		ctx := context.Background()
		convs, err := t.lockConversations(ctx, live)
		if err != nil {
			return err
		}
		now := s.now()
		for _, r := range live {
			r.err = nil
			c := convs[r.m.ConversationID]
			switch {
			case c == nil || c.AppID != r.m.AppID:
				r.err = sunlamp.ErrConversationNotFound
				continue
			case c.MessageCount >= sunlamp.MaxMessagesPerConversation:
				r.err = sunlamp.ErrMessageLimit
				continue
			}
			r.m.ID = sunlamp.NewID()
			r.m.Received = now
			c.MessageCount++
			c.LastUpdatedAt = now
			r.conv = *c
			accepted = append(accepted, r)
		}
		if len(accepted) == 0 {
			return nil
		}
		if err := t.insertMessages(ctx, accepted); err != nil {
			return err
		}
		return t.bumpConversations(ctx, accepted, convs)
	})
	if err != nil {
		for _, r := range accepted {
			r.err = err
			r.m.ID, r.m.Received = "", time.Time{}
		}
	}
}

// lockConversations reads the conversations of a batch; on PostgreSQL it locks them in id order, so
// that server processes sharing the database count messages correctly and never deadlock. (SQLite
// has one writer at a time.)
func (t tx) lockConversations(ctx context.Context, batch []*postRequest) (map[string]*sunlamp.Conversation, error) {
	var ids []any
	seen := map[string]bool{}
	for _, r := range batch {
		if !seen[r.m.ConversationID] {
			seen[r.m.ConversationID] = true
			ids = append(ids, r.m.ConversationID)
		}
	}
	q := "SELECT " + conversationColumns + " FROM conversations WHERE id IN (" + placeholders(len(ids)) + ") ORDER BY id"
	if t.s.dialect == Postgres {
		q += " FOR UPDATE"
	}
	rows, err := t.query(ctx, q, ids...)
	if err != nil {
		return nil, fmt.Errorf("lock conversations: %w", err)
	}
	defer rows.Close()
	convs := make(map[string]*sunlamp.Conversation, len(ids))
	for rows.Next() {
		c, err := scanConversation(rows)
		if err != nil {
			return nil, err
		}
		convs[c.ID] = &c
	}
	return convs, rows.Err()
}

// insertMessages writes the messages of a batch and their conversation:message events with
// multi-row INSERTs.
func (t tx) insertMessages(ctx context.Context, batch []*postRequest) error {
	const chunk = 128
	for start := 0; start < len(batch); start += chunk {
		part := batch[start:min(start+chunk, len(batch))]
		var q strings.Builder
		q.WriteString("INSERT INTO messages (" + messageColumns + ") VALUES ")
		args := make([]any, 0, len(part)*messageColumnCount)
		row := "(" + placeholders(messageColumnCount) + ")"
		for i, r := range part {
			if err := t.fillMessageMedia(ctx, &r.m); err != nil { // attachments.go
				return err
			}
			a, err := messageArgs(r.m)
			if err != nil {
				return err
			}
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString(row)
			args = append(args, a...)
		}
		if _, err := t.exec(ctx, q.String(), args...); err != nil {
			return fmt.Errorf("insert messages: %w", err)
		}
		for _, r := range part {
			if err := t.claimMessageMedia(ctx, r.m); err != nil { // attachments.go
				return err
			}
		}

		q.Reset()
		q.WriteString("INSERT INTO events (id, app_id, type, conversation_id, user_id, integration_id, data, created_at) VALUES ")
		args = args[:0]
		for i, r := range part {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?)")
			m, c := r.m, r.conv
			data := eventJSON(sunlamp.EventData{Conversation: &c, Message: &m})
			args = append(args, sunlamp.NewID(), m.AppID, "conversation:message", m.ConversationID, nullStr(m.Author.UserID),
				nullStr(m.Source.IntegrationID), string(data), m.Received.UnixMilli())
		}
		if _, err := t.exec(ctx, q.String(), args...); err != nil {
			return fmt.Errorf("insert message events: %w", err)
		}
	}
	return nil
}

// bumpConversations sets the message count and lastUpdatedAt of each conversation of the batch,
// and adds the batch's messages to the unread counts of the participants who did not write them.
func (t tx) bumpConversations(ctx context.Context, batch []*postRequest, convs map[string]*sunlamp.Conversation) error {
	type key struct{ conv, author string }
	unread := map[key]int{}
	var order []key
	for _, r := range batch {
		k := key{r.m.ConversationID, r.m.Author.UserID}
		if unread[k] == 0 {
			order = append(order, k)
		}
		unread[k]++
	}
	done := map[string]bool{}
	for _, r := range batch {
		id := r.m.ConversationID
		if done[id] {
			continue
		}
		done[id] = true
		c := convs[id]
		if _, err := t.exec(ctx, "UPDATE conversations SET message_count = ?, last_updated_at = ? WHERE id = ?", c.MessageCount, c.LastUpdatedAt.UnixMilli(), id); err != nil {
			return fmt.Errorf("update conversation: %w", err)
		}
	}
	for _, k := range order {
		if _, err := t.exec(ctx, "UPDATE participants SET unread_count = unread_count + ? WHERE conversation_id = ? AND user_id <> ?", unread[k], k.conv, k.author); err != nil {
			return fmt.Errorf("update unread counts: %w", err)
		}
	}
	return nil
}
