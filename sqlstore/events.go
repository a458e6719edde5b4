package sqlstore

import (
	"context"

	"github.com/sunlamp/sunlamp"
)

// emit writes ev to the outbox in the caller's transaction, so that the event exists if and only if
// the change that caused it commits. ID and CreatedAt are filled in when empty.
//
// It also writes one delivery per webhook of the app whose triggers include ev.Type (the fan-out
// happens here, not in the dispatcher, so that the set of webhooks an event goes to is the one at
// commit time, and no event can be skipped by a reader that sees sequence numbers out of commit
// order).
func (t tx) emit(ctx context.Context, ev sunlamp.Event) error {
	if ev.ID == "" {
		ev.ID = sunlamp.NewID()
	}
	if ev.CreatedAt.IsZero() {
		ev.CreatedAt = t.s.now()
	}
	_, err := t.exec(ctx, "INSERT INTO events (id, app_id, type, conversation_id, user_id, integration_id, data, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		ev.ID, ev.AppID, ev.Type, nullStr(ev.ConversationID), nullStr(ev.UserID), nullStr(ev.IntegrationID), string(ev.Data), ev.CreatedAt.UnixMilli())
	if err != nil {
		return err
	}
	return t.fanOut(ctx, ev)
}

// orderKey is what a webhook receives events in order of: the conversation, or without one the user.
func orderKey(ev sunlamp.Event) string {
	if ev.ConversationID != "" {
		return ev.ConversationID
	}
	return ev.UserID
}

// fanOut writes the deliveries of ev: one per webhook of its app subscribed to its type.
func (t tx) fanOut(ctx context.Context, ev sunlamp.Event) error {
	key := orderKey(ev)
	if key != "" && t.s.dialect == Postgres {
		// Deliveries of one conversation must get their sequence numbers in commit order, which
		// PostgreSQL does not promise for concurrent transactions: this lock, held until commit,
		// serialises the writers of one conversation from here on. (SQLite has one writer.)
		if _, err := t.exec(ctx, "SELECT pg_advisory_xact_lock(7355609, hashtext(CAST(? AS TEXT)))", key); err != nil {
			return err
		}
	}
	// Trigger names contain no LIKE wildcards, and the quotes make the match exact
	// ("conversation:message" does not match "conversation:message:delivery:user").
	_, err := t.exec(ctx, `INSERT INTO deliveries (app_id, event_id, webhook_id, order_key, next_attempt_at, created_at)
		SELECT app_id, CAST(? AS TEXT), id, CAST(? AS TEXT), CAST(? AS BIGINT), CAST(? AS BIGINT) FROM webhooks WHERE app_id = ? AND triggers LIKE ?`,
		ev.ID, nullStr(key), ev.CreatedAt.UnixMilli(), ev.CreatedAt.UnixMilli(), ev.AppID, `%"`+ev.Type+`"%`)
	return err
}
