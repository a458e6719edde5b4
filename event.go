package sunlamp

import "time"

// Event is something that happened in an app that webhooks may be told about: one row of the durable
// outbox, written in the same transaction as the change that caused it.
type Event struct {
	ID             string
	AppID          string
	Type           string    // the webhook trigger, e.g. "conversation:message"
	ConversationID string    // the conversation it concerns, if any: events of one conversation are delivered in order
	UserID         string    // the user whose data it may carry, if any: erasure rewrites these events
	IntegrationID  string    // the integration that caused it, if any
	Data           EventData // a snapshot taken when the change committed
	CreatedAt      time.Time
}

// EventData is the snapshot an event carries: the domain values its webhook payload is rendered
// from at delivery time (with or without the full user and source, per webhook). Fields that do not
// apply to an event type stay zero. The store keeps it in a schema of its own (sqlstore's
// snapshot.go); it never leaves the server as is.
type EventData struct {
	User         *User
	Conversation *Conversation
	Message      *Message
	Client       *Client
	Device       *Device
	// Reason says why a client event happened: channelLinking, sdkLogin, matched, confirmed, api...
	Reason string
	// CreationReason says why conversation:create happened: "none" for the API, "message" for a
	// channel's first message.
	CreationReason string
	// Activity is the read or typing activity of conversation:read and conversation:typing. A user
	// author's name and avatar are not kept in it: they are rendered from User.
	Activity *Activity
	// Switchboard is the switchboard state of Conversation that the event shows: for a
	// conversation event when it was written, for a switchboard event after the action. Its
	// switchboard integrations carry ID, Name, IntegrationID and IntegrationType.
	Switchboard SwitchboardState
	// ActionMetadata is the metadata given to the switchboard action of a switchboard event.
	ActionMetadata Metadata
	// ActionError is the error of a switchboard:*:failure event.
	ActionError *EventError
	// Source is where a customer's action came from (its channel and integration): the source of
	// conversation:postback, conversation:referral, passthrough:messaging and user:update, and of
	// the read and typing activities a channel reports (nil for PostActivity's: api:conversations).
	Source *Source
	// Postback is the button of conversation:postback.
	Postback *Postback
	// Referral is the referral of conversation:referral.
	Referral *Referral
	// Delivery is what a conversation:message:delivery:* event reports.
	Delivery *DeliveryReceipt
	// Merge is what user:merge reports.
	Merge *UserMerge
	// Passthrough is the channel data a passthrough:messaging event forwards as it came.
	Passthrough map[string]any
}

// EventError is the error a :failure event reports.
type EventError struct {
	Code    string
	Message string
}
