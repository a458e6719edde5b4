package sqlstore

import (
	"context"
	"fmt"

	"github.com/sunlamp/sunlamp"
)

// outboxChanged records that the transaction wrote or removed outbox events, so that the webhook
// dispatcher is woken when it commits (see Store.OnOutbox).
func (t tx) outboxChanged() {
	if t.st != nil {
		t.st.outbox = true
	}
}

// emit writes ev to the outbox in the caller's transaction, so that the event exists if and only if
// the change that caused it commits. ID and CreatedAt are filled in when empty.
//
// The deliveries of the event (one per webhook of the app subscribed to its type) are written by
// the events_fan_out trigger of migration 0004, in the same transaction, so that events inserted
// by other statements (the PostMessage group commit) are delivered too.
func (t tx) emit(ctx context.Context, ev sunlamp.Event) error {
	if ev.ID == "" {
		ev.ID = sunlamp.NewID()
	}
	if ev.CreatedAt.IsZero() {
		ev.CreatedAt = t.s.now()
	}
	data, err := encodeEventData(ev.Data)
	if err != nil {
		return fmt.Errorf("encode %s event: %w", ev.Type, err)
	}
	t.outboxChanged()
	_, err = t.exec(ctx, "INSERT INTO events (id, app_id, type, conversation_id, user_id, integration_id, data, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		ev.ID, ev.AppID, ev.Type, nullStr(ev.ConversationID), nullStr(ev.UserID), nullStr(ev.IntegrationID), string(data), ev.CreatedAt.UnixMilli())
	return err
}
