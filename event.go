package sunlamp

import "time"

// Event is something that happened in an app that webhooks may be told about: one row of the durable
// outbox, written in the same transaction as the change that caused it.
type Event struct {
	ID             string
	AppID          string
	Type           string // the webhook trigger, e.g. "conversation:message"
	ConversationID string // the conversation it concerns, if any: events of one conversation are delivered in order
	UserID         string // the user whose data it may carry, if any: erasure rewrites these events
	IntegrationID  string // the integration that caused it, if any
	Data           []byte // JSON of EventData, a snapshot taken when the change committed
	CreatedAt      time.Time
}
