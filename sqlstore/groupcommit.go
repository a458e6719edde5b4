package sqlstore

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sunlamp/sunlamp"
)

// messageBatcher is the group commit of PostMessage. A durable commit costs an fsync, so one commit
// per message caps a server at a few thousand messages a second. Instead, concurrent PostMessage calls queue their message and one goroutine
// commits everything queued in a single transaction; while it commits, the next batch gathers.
// Each caller waits until the transaction holding its message has committed (fsync'd: SQLite runs
// with synchronous=FULL, PostgreSQL with its default synchronous_commit=on) and gets its own result:
// a message refused by a check of the batch (unknown conversation, the 30,000 limit) fails alone;
// only a failing transaction fails the whole batch. A batch is written by a messagePlan.
//
// The goroutines exist only while there is work: a caller starts one when fewer than
// messageWriters run, and each ends when it finds the queue empty, so a Store needs no extra
// shutdown step.
type messageBatcher struct {
	mu      sync.Mutex
	queue   []*postRequest
	running int // committing goroutines
	// locked closes when the last batch taken has locked its conversations. Each batch waits for
	// its predecessor's before locking its own, so that batches lock in the order they were taken:
	// two batches in flight that share a conversation then commit in id order, and a reader paging
	// with page[after] never sees a message before one with a smaller id of the same conversation.
	locked chan struct{}
	// more receives a signal when a request joins the queue, for a writer gathering a batch.
	more chan struct{}
	// quiet holds the apps whose last batch needed no message events (no webhook for them, no
	// switchboard): their callers skip encoding the event's snapshot of the message. A hint only:
	// the writer encodes any snapshot that turns out to be needed (see ensureEvents).
	quiet sync.Map // app id -> struct{}
}

// messageWriters returns how many batches may commit at once (the dialect's: one writer connection
// on SQLite; on PostgreSQL a second batch runs its statements while the first waits for its WAL
// flush). Conversations are locked in id order, so concurrent batches touching one conversation
// take turns, never deadlock.
func (s *Store) messageWriters() int { return s.d.messageWriters }

// maxMessageBatch bounds a batch: 256 messages of 17 columns stay far below both databases' limits
// on bound parameters, and a batch commits in a few milliseconds at most.
const maxMessageBatch = 256

type postRequest struct {
	ctx context.Context
	m   sunlamp.Message
	err error

	// Prepared by the caller's goroutine, off the writer's serial path: the row's values and the
	// JSON of the message's event snapshot. ready closes when they are.
	args    []any
	event   []byte
	prepErr error
	ready   chan struct{}

	done chan struct{}
}

// prepare encodes the message's row and, unless its app's messages needed no event lately, the
// event's snapshot of the message.
func (r *postRequest) prepare(b *messageBatcher) {
	r.args, r.prepErr = messageArgs(r.m)
	if _, quiet := b.quiet.Load(r.m.AppID); r.prepErr == nil && !quiet {
		r.event, r.prepErr = json.Marshal(snapshotMessage(r.m))
	}
}

// ensureEvents encodes the snapshots that the callers skipped but the batch needs, and records
// which apps of the batch needed events.
func (b *messageBatcher) ensureEvents(accepted []*postRequest, outbox map[string]bool) error {
	for _, r := range accepted {
		if outbox[r.m.ConversationID] {
			b.quiet.Delete(r.m.AppID)
			if r.event == nil {
				var err error
				if r.event, err = json.Marshal(snapshotMessage(r.m)); err != nil {
					return err
				}
			}
		} else {
			b.quiet.Store(r.m.AppID, struct{}{})
		}
	}
	return nil
}

// post queues m and waits for the commit that holds it. It does not give up when ctx ends while
// the message is being committed: the caller must learn whether it was stored.
//
// The message gets its id and received time as it joins the queue, under the queue's lock, so that
// ids follow the queue's order and therefore the commit order: a reader paging with page[after]
// never skips a message committed later with a smaller id.
func (b *messageBatcher) post(s *Store, ctx context.Context, m sunlamp.Message) (sunlamp.Message, error) {
	r := &postRequest{ctx: ctx, m: m, ready: make(chan struct{}), done: make(chan struct{})}
	b.mu.Lock()
	r.m.ID, r.m.Received = sunlamp.NewID(), s.now()
	b.queue = append(b.queue, r)
	if b.more == nil {
		b.more = make(chan struct{}, 1)
	}
	select { // wake a writer gathering its batch
	case b.more <- struct{}{}:
	default:
	}
	if b.running < s.messageWriters() {
		b.running++
		go b.run(s)
	}
	b.mu.Unlock()
	r.prepare(b)
	close(r.ready)
	<-r.done
	return r.m, r.err
}

// A writer that has just committed waits up to its dialect's gatherWait for the callers it released
// to come back before it takes the next batch. Without it, under steady load the callers split into
// two groups that take turns (one waits for its commit while the other posts), and each commit
// carries half of them; every commit costs an fsync whatever it holds, so fuller batches are more
// messages a second. The writer waits only after releasing several callers, and only while fewer
// requests are queued than it released: a lone caller never waits, a busy queue not at all. The cost:
// a request that arrives while a writer waits for callers that do not come back (the load stopped)
// waits up to gatherWait more. (Figures: the README's Speed section.)

// gather waits until at least want requests are queued, at most the dialect's gatherWait. Called
// without b.mu.
func (b *messageBatcher) gather(s *Store, want int) {
	deadline := time.Now().Add(s.d.gatherWait)
	var timer *time.Timer
	for {
		b.mu.Lock()
		n := len(b.queue)
		b.mu.Unlock()
		left := time.Until(deadline)
		if n >= want || left <= 0 {
			break
		}
		if timer == nil {
			timer = time.NewTimer(left)
		} else {
			timer.Reset(left)
		}
		select {
		case <-b.more:
		case <-timer.C:
		}
	}
	if timer != nil {
		timer.Stop()
	}
}

func (b *messageBatcher) run(s *Store) {
	released := 0
	for {
		if released > 1 {
			b.gather(s, released)
		}
		b.mu.Lock()
		if len(b.queue) == 0 {
			b.running--
			b.queue = nil
			b.mu.Unlock()
			return
		}
		n := min(len(b.queue), maxMessageBatch)
		batch := slices.Clone(b.queue[:n])
		b.queue = b.queue[n:]
		prev, mine := b.locked, make(chan struct{})
		b.locked = mine
		b.mu.Unlock()
		s.commitMessages(batch, prev, mine)
		for _, r := range batch {
			close(r.done)
		}
		released = len(batch)
	}
}

// commitMessages stores a batch in one transaction, setting each request's result.
// prev closes when the previous batch has locked its conversations; commitMessages closes locked
// once this batch has (or has given up).
func (s *Store) commitMessages(batch []*postRequest, prev <-chan struct{}, locked chan struct{}) {
	s.observeBatch(len(batch))
	lockedOnce := sync.OnceFunc(func() { // never before the previous batch has locked
		if prev != nil {
			<-prev
		}
		close(locked)
	})
	defer lockedOnce()
	live := batch[:0:0]
	for _, r := range batch {
		<-r.ready
		if r.prepErr != nil {
			r.err = r.prepErr
			continue
		}
		if err := r.ctx.Err(); err != nil {
			r.err = err // the caller gave up before its message was written: it was not stored
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	p := newMessagePlan(s, live)
	p.waitTurn = func() { // never lock before the previous batch has
		if prev != nil {
			<-prev
		}
	}
	p.locked = lockedOnce
	err := s.d.exec.batch(context.Background(), s, p)
	finishBatch(batch, live, p.accepted, err)
}

// finishBatch sets the results of a batch whose transaction ended with err.
func finishBatch(batch, live, accepted []*postRequest, err error) {
	if err != nil { // nothing of the batch was stored: every message not refused on its own fails
		for _, r := range live {
			if r.err == nil {
				r.err = err
			}
		}
	}
	for _, r := range batch {
		if r.err != nil {
			r.m.ID, r.m.Received = "", time.Time{}
		}
	}
}

// acceptMessages sets the result of each request of a batch refused on its own (unknown
// conversation, deleted author, the conversation's message limit), counts the others in their
// conversation, and appends them to accepted.
func acceptMessages(live []*postRequest, users map[string]bool, convs map[string]*sunlamp.Conversation, accepted []*postRequest) []*postRequest {
	for _, r := range live {
		r.err = nil
		c := convs[r.m.ConversationID]
		switch {
		case c == nil || c.AppID != r.m.AppID:
			r.err = sunlamp.ErrConversationNotFound
			continue
		case r.m.Author.UserID != "" && !users[r.m.Author.UserID]:
			r.err = sunlamp.ErrUserNotFound
			continue
		case c.MessageCount >= sunlamp.MaxMessagesPerConversation:
			r.err = sunlamp.ErrMessageLimit
			continue
		}
		c.MessageCount++
		if r.m.Received.After(c.LastUpdatedAt) {
			c.LastUpdatedAt = r.m.Received
		}
		accepted = append(accepted, r)
	}
	return accepted
}

// conversationsJSON encodes the snapshots of the conversations of the evented messages as the batch
// leaves them: the events carry them, encoded once per conversation.
func conversationsJSON(evented []*postRequest, convs map[string]*sunlamp.Conversation) (map[string][]byte, error) {
	convJSON := make(map[string][]byte, len(convs))
	for _, r := range evented {
		if convJSON[r.m.ConversationID] == nil {
			b, err := json.Marshal(evConversationOf(convs[r.m.ConversationID]))
			if err != nil {
				return nil, err
			}
			convJSON[r.m.ConversationID] = b
		}
	}
	return convJSON, nil
}

// scanLockedConversation scans a row of lockConversationsStmt into convs and outbox.
func scanLockedConversation(r scanner, convs map[string]*sunlamp.Conversation, outbox map[string]bool) error {
	var needed bool
	c, err := scanConversation(scanFunc(func(dest ...any) error { return r.Scan(append(dest, &needed)...) }))
	if err != nil {
		return err
	}
	convs[c.ID], outbox[c.ID] = &c, needed
	return nil
}

// outboxColumn says whether a conversation's messages need their conversation:message event in the
// outbox: only for an app with a webhook subscribed to that trigger (the event's deliveries) or with
// a switchboard (the fan-out trigger also moves a conversation's switchboard state when a user
// writes). Otherwise the event would reach no one and only wait to be pruned, and writing it and its
// five index entries was a third of the work of a batch (HTTP, 32 clients, 3 runs: 8.5-9.3k -> 11.1-13.0k
// msg/s on SQLite, 7.1-7.9k -> 9.3-10.6k on PostgreSQL). It is read in the batch's transaction, with
// the conversation: on SQLite no webhook can appear meanwhile (one writer); on PostgreSQL a webhook
// committed while the batch runs serves the messages that follow, as if created just after them.
// The test for the trigger is the fan-out's own (a quoted name in the JSON array of triggers).
const outboxColumn = `(EXISTS (SELECT 1 FROM webhooks w WHERE w.app_id = conversations.app_id AND w.triggers LIKE '%"conversation:message"%')
	OR EXISTS (SELECT 1 FROM switchboards sb WHERE sb.app_id = conversations.app_id))`

// lockConversationsStmt reads the conversations of a batch and whether their messages need events,
// locking them (where writers are concurrent) in id order, so that server processes sharing the
// database count messages correctly and never deadlock.
func (s *Store) lockConversationsStmt(batch []*postRequest) stmt {
	var ids []any
	seen := map[string]bool{}
	for _, r := range batch {
		if !seen[r.m.ConversationID] {
			seen[r.m.ConversationID] = true
			ids = append(ids, r.m.ConversationID)
		}
	}
	ids = padded(ids)
	q := "SELECT " + conversationColumns + ", " + outboxColumn + " FROM conversations WHERE id IN (" + placeholders(len(ids)) + ") ORDER BY id" + s.d.lock("UPDATE OF conversations")
	return stmt{q, ids}
}

// withOutbox returns the accepted requests whose conversation needs the outbox, in batch order.
func withOutbox(accepted []*postRequest, outbox map[string]bool) []*postRequest {
	var out []*postRequest
	for _, r := range accepted {
		if outbox[r.m.ConversationID] {
			out = append(out, r)
		}
	}
	return out
}

// insertMessagesStmt is the multi-row INSERT of part's messages.
func insertMessagesStmt(part []*postRequest) stmt {
	var q strings.Builder
	q.WriteString("INSERT INTO messages (" + messageColumns + ") VALUES ")
	args := make([]any, 0, len(part)*messageColumnCount)
	row := "(" + placeholders(messageColumnCount) + ")"
	for i, r := range part {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString(row)
		args = append(args, r.args...)
	}
	return stmt{q.String(), args}
}

// insertEventsStmt is the multi-row INSERT of the conversation:message events of part's messages.
func insertEventsStmt(part []*postRequest, convJSON map[string][]byte) stmt {
	var q strings.Builder
	q.WriteString("INSERT INTO events (id, app_id, type, conversation_id, user_id, integration_id, data, created_at) VALUES ")
	args := make([]any, 0, len(part)*8)
	for i, r := range part {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?)")
		m := r.m
		// The snapshot of sunlamp.EventData{Conversation, Message}, put together from its parts.
		data := make([]byte, 0, len(messageEventHead)+len(convJSON[m.ConversationID])+len(messageEventMid)+len(r.event)+1)
		data = append(data, messageEventHead...)
		data = append(data, convJSON[m.ConversationID]...)
		data = append(data, messageEventMid...)
		data = append(data, r.event...)
		data = append(data, '}')
		args = append(args, sunlamp.NewID(), m.AppID, "conversation:message", m.ConversationID, nullStr(m.Author.UserID),
			nullStr(m.Source.IntegrationID), string(data), m.Received.UnixMilli())
	}
	return stmt{q.String(), args}
}

// bumpConversationsStmts set the message count and lastUpdatedAt of each conversation of the batch,
// and add the batch's messages to the unread counts of the participants who did not write them:
// three set-based statements whatever the batch holds, since each statement is a round trip on
// PostgreSQL.
func bumpConversationsStmts(batch []*postRequest, convs map[string]*sunlamp.Conversation) []stmt {
	type own struct{ conv, user string }
	added := map[string]int{}
	byUser := map[own]int{}
	var order []string
	var owners []own
	for _, r := range batch {
		id := r.m.ConversationID
		if added[id] == 0 {
			order = append(order, id)
		}
		added[id]++
		if r.m.Author.UserID != "" {
			k := own{id, r.m.Author.UserID}
			if byUser[k] == 0 {
				owners = append(owners, k)
			}
			byUser[k]++
		}
	}
	type convRow struct {
		id       string
		count, t int64
		added    int
	}
	var rows []convRow
	for _, id := range order {
		c := convs[id]
		rows = append(rows, convRow{id, int64(c.MessageCount), c.LastUpdatedAt.UnixMilli(), added[id]})
	}
	rows = padded(rows)
	args := make([]any, 0, len(rows)*3)
	for _, r := range rows {
		args = append(args, r.id, r.count, r.t)
	}
	table := valuesTable([][2]string{{"cid", "TEXT"}, {"n", "BIGINT"}, {"t", "BIGINT"}}, len(rows))
	out := []stmt{{"UPDATE conversations SET message_count = v.n, last_updated_at = v.t FROM " + table + " AS v WHERE conversations.id = v.cid", args}}
	args = make([]any, 0, len(rows)*2)
	for _, r := range rows {
		args = append(args, r.id, r.added)
	}
	table = valuesTable([][2]string{{"cid", "TEXT"}, {"n", "BIGINT"}}, len(rows))
	out = append(out, stmt{"UPDATE participants SET unread_count = unread_count + v.n FROM " + table + " AS v WHERE participants.conversation_id = v.cid", args})
	if len(owners) == 0 {
		return out
	}
	// A user's own messages are not unread for them.
	owners = padded(owners)
	args = make([]any, 0, len(owners)*3)
	for _, k := range owners {
		args = append(args, k.conv, k.user, byUser[k])
	}
	table = valuesTable([][2]string{{"cid", "TEXT"}, {"uid", "TEXT"}, {"n", "BIGINT"}}, len(owners))
	return append(out, stmt{"UPDATE participants SET unread_count = unread_count - v.n FROM " + table + " AS v WHERE participants.conversation_id = v.cid AND participants.user_id = v.uid", args})
}

// authorIDs returns the distinct user authors of a batch.
func authorIDs(batch []*postRequest) []any {
	var ids []any
	seen := map[string]bool{}
	for _, r := range batch {
		if id := r.m.Author.UserID; id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids
}
