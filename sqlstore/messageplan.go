package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/sunlamp/sunlamp"
)

// messagePlan is the one way messages are written: PostMessage's batches (groupcommit.go) and the
// message of an inbound delivery (a batch of one, in the delivery's transaction) alike. It is planned
// once as statements in two phases, and the dialect's executor runs them in one transaction, in as
// few round trips as it can (executor.batch):
//
//  1. the locking reads, whose results decide which messages are accepted: the user authors still
//     live (FOR SHARE where writers are concurrent, users before conversations, the lock order of
//     every writer: see forLock), the conversations (FOR UPDATE, in id order) and whether their
//     messages need events, and the attachments that image and file messages point at;
//  2. the writes that follow: the messages (image and file messages with their attachment's
//     mediaType and mediaSize), the attachments' claims, the conversation:message events of the
//     conversations that need them, and the counts.
type messagePlan struct {
	s    *Store
	live []*postRequest
	// waitTurn is called before the reads, locked once they hold their locks (or failed); both may
	// be nil. The batcher orders its batches with them.
	waitTurn, locked func()

	// What the reads found.
	users  map[string]bool
	convs  map[string]*sunlamp.Conversation
	outbox map[string]bool
	media  map[string]sunlamp.Attachment

	// What the writes took: the accepted requests, and whether any event was written.
	accepted    []*postRequest
	wroteEvents bool
}

// planRead is a read of the plan: its statement, and what to do with each row.
type planRead struct {
	stmt
	scan func(scanner) error
}

func newMessagePlan(s *Store, live []*postRequest) *messagePlan {
	return &messagePlan{
		s: s, live: live,
		users:  make(map[string]bool),
		convs:  make(map[string]*sunlamp.Conversation),
		outbox: make(map[string]bool),
		media:  make(map[string]sunlamp.Attachment),
	}
}

func (p *messagePlan) turn() {
	if p.waitTurn != nil {
		p.waitTurn()
	}
}

func (p *messagePlan) lockedNow() {
	if p.locked != nil {
		p.locked()
	}
}

// reads returns the plan's first phase.
func (p *messagePlan) reads() []planRead {
	var out []planRead
	if ids := authorIDs(p.live); len(ids) > 0 {
		out = append(out, planRead{p.s.liveAuthorsStmt(ids), func(r scanner) error {
			var id string
			if err := r.Scan(&id); err != nil {
				return err
			}
			p.users[id] = true
			return nil
		}})
	}
	out = append(out, planRead{p.s.lockConversationsStmt(p.live), func(r scanner) error {
		return scanLockedConversation(r, p.convs, p.outbox)
	}})
	if ids := mediaIDs(p.live); len(ids) > 0 {
		ids = padded(ids)
		q := "SELECT " + attachmentColumns + " FROM attachments WHERE id IN (" + placeholders(len(ids)) + ")"
		out = append(out, planRead{stmt{q, ids}, func(r scanner) error {
			a, err := scanAttachment(r)
			if err != nil {
				return err
			}
			p.media[a.ID] = a
			return nil
		}})
	}
	return out
}

// writes returns the plan's second phase, from what the reads found. It sets each refused request's
// error (unknown conversation, deleted author, the conversation's message limit).
func (p *messagePlan) writes() ([]stmt, error) {
	p.accepted = acceptMessages(p.live, p.users, p.convs, nil)
	if len(p.accepted) == 0 {
		return nil, nil
	}
	for _, r := range p.accepted {
		if err := p.fillMedia(r); err != nil {
			return nil, err
		}
	}
	if err := p.s.msgBatch.ensureEvents(p.accepted, p.outbox); err != nil {
		return nil, err
	}
	evented := withOutbox(p.accepted, p.outbox)
	p.wroteEvents = len(evented) > 0
	convJSON, err := conversationsJSON(evented, p.convs)
	if err != nil {
		return nil, err
	}
	var out []stmt
	start := 0
	for _, size := range chunkSizes(len(p.accepted)) {
		out = append(out, insertMessagesStmt(p.accepted[start:start+size]))
		start += size
	}
	for _, r := range p.accepted {
		if id := messageAttachmentID(r.m); id != "" {
			out = append(out, claimMediaStmt(r.m, id))
		}
	}
	start = 0
	for _, size := range chunkSizes(len(evented)) {
		out = append(out, insertEventsStmt(evented[start:start+size], convJSON))
		start += size
	}
	return append(out, bumpConversationsStmts(p.accepted, p.convs)...), nil
}

// fillMedia gives an image or file message whose mediaUrl is one of its app's attachments the
// attachment's mediaType and mediaSize, and encodes its row (and its event's snapshot, if one was
// made) again.
func (p *messagePlan) fillMedia(r *postRequest) error {
	id := messageAttachmentID(r.m)
	if id == "" {
		return nil
	}
	a, ok := p.media[id]
	if !ok || a.AppID != r.m.AppID { // a deleted attachment, or a look-alike URL: the URL as given
		return nil
	}
	filled, err := fillMessageMedia(&r.m, a)
	if err != nil || !filled {
		return err
	}
	if r.args, err = messageArgs(r.m); err != nil {
		return err
	}
	if r.event != nil {
		r.event, err = messageEventJSON(r.m)
	}
	return err
}

// mediaIDs returns the distinct attachment ids that the batch's image and file messages point at.
func mediaIDs(batch []*postRequest) []any {
	var ids []any
	seen := map[string]bool{}
	for _, r := range batch {
		if id := messageAttachmentID(r.m); id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids
}

// run runs the plan in transaction t, one statement at a time (plainExecutor, and an inbound
// delivery's own transaction).
func (t tx) runPlan(ctx context.Context, p *messagePlan) error {
	p.turn()
	err := func() error {
		for _, rd := range p.reads() {
			if err := t.scanAll(ctx, rd); err != nil {
				return err
			}
		}
		return nil
	}()
	p.lockedNow()
	if err != nil {
		return err
	}
	stmts, err := p.writes()
	if err != nil {
		return err
	}
	for _, st := range stmts {
		if _, err := t.exec(ctx, st.q, st.args...); err != nil {
			return fmt.Errorf("store messages: %w", err)
		}
	}
	if p.wroteEvents {
		t.outboxChanged()
	}
	return nil
}

// scanAll runs a plan's read and scans its rows.
func (t tx) scanAll(ctx context.Context, rd planRead) error {
	rows, err := t.query(ctx, rd.q, rd.args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := rd.scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// batch runs the plan in a transaction of its own.
func (plainExecutor) batch(ctx context.Context, s *Store, p *messagePlan) error {
	return s.inTx(ctx, func(t tx) error { return t.runPlan(ctx, p) })
}

// insertMessage appends m (ID and Received set by the caller) to its conversation in the caller's
// transaction, as a batch of one: the inbound channel simulator's user messages. It returns m as
// stored (an image or file message gets its attachment's details), or the error that refused it.
func (t tx) insertMessage(ctx context.Context, m sunlamp.Message) (sunlamp.Message, error) {
	r := &postRequest{ctx: ctx, m: m}
	var err error
	if r.args, err = messageArgs(m); err != nil {
		return m, err
	}
	if err := t.runPlan(ctx, newMessagePlan(t.s, []*postRequest{r})); err != nil {
		return m, err
	}
	return r.m, r.err
}

// liveAuthorsStmt is the read of the batch's user authors that exist and are not deleted, holding
// them (FOR SHARE where writers are concurrent) until the batch commits, so that DeleteUser waits
// for the batch (whose messages its purge then removes) or the batch sees the user deleted.
func (s *Store) liveAuthorsStmt(ids []any) stmt {
	return stmt{"SELECT id FROM users WHERE id IN (" + placeholders(len(ids)) + ") AND " + liveUser + " ORDER BY id" + s.d.lock(lockShare), ids}
}

// messageEventJSON encodes the conversation:message event's snapshot of m.
func messageEventJSON(m sunlamp.Message) ([]byte, error) { return json.Marshal(snapshotMessage(m)) }
