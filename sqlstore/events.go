package sqlstore

import (
	"context"
	"encoding/json"
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
	if err != nil || ev.Type != removedUserEvent {
		return err
	}
	// A user:remove that no webhook gets (the trigger fanned out no delivery) has nobody to carry
	// the externalId to: it is forgotten at once (see forgetRemovedUser).
	forgotten, changed, err := forgetRemovedUser(string(data))
	if err != nil || !changed {
		return err
	}
	_, err = t.exec(ctx, "UPDATE events SET data = ? WHERE id = ? AND NOT EXISTS (SELECT 1 FROM deliveries WHERE event_id = ?)", forgotten, ev.ID, ev.ID)
	return err
}

// removedUserEvent is the type of the event that says a user was deleted.
const removedUserEvent = "user:remove"

// forgetRemovedUser returns the stored data of a user:remove event without the deleted user's
// externalId (and zendeskId), and whether it had one. A user:remove carries them because the spec's
// payload does (the subscriber needs them to find the person in its own systems); once every
// delivery of the event has ended (delivered, or given up), nothing needs them any more, and the
// event itself stays until the outbox's retention ends (24 hours), holding only ids.
func forgetRemovedUser(data string) (string, bool, error) {
	s, err := decodeSnapshot(data)
	if err != nil {
		return "", false, err
	}
	if s.User == nil || s.User.ExternalID == "" && s.User.ZendeskID == "" {
		return data, false, nil
	}
	s.User.ExternalID, s.User.ZendeskID = "", ""
	b, err := json.Marshal(s)
	if err != nil {
		return "", false, err
	}
	return string(b), true, nil
}
