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
	Data           []byte // JSON of EventData: a snapshot taken when the change committed
	CreatedAt      time.Time
}

// EventData is the snapshot an event carries: the domain values its webhook payload is rendered
// from at delivery time (with or without the full user and source, per webhook). Fields that do not
// apply to an event type stay nil. It is stored as JSON; it never leaves the server as is.
type EventData struct {
	User         *User
	Conversation *Conversation
	Message      *Message
	Client       *Client
	Device       *Device
	Integration  *Integration
	// Extra holds type-specific values (an activity, a reason, switchboard action metadata...).
	Extra map[string]any
}
