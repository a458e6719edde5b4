package sunlamp

import (
	"context"
	"strconv"
	"time"
)

// ConversionEvent is one PostConversionEvents call: Meta Conversions API events that a business
// reported for a conversation on a Meta channel, as they were sent, with what the service answered.
// Sunlamp records them (there is no Meta to forward them to) so that tests can see what was sent.
type ConversionEvent struct {
	ID             string
	AppID          string
	ConversationID string
	// Channel is the body's key: "messenger", "instagram" or "whatsapp".
	Channel string
	// IntegrationID is the channel integration the events are attributed to: that of the
	// conversation's client on Channel.
	IntegrationID string
	// DatasetID is the Meta dataset the events went to (see ConversionDatasetID).
	DatasetID string
	// Payload is the body's payload as sent (a JSON object with a data array).
	Payload []byte
	// EventsReceived is the length of the payload's data array.
	EventsReceived int
	CreatedAt      time.Time
}

// ConversionChannels are the channels PostConversionEvents takes, in the spec's order.
var ConversionChannels = []string{"messenger", "instagram", "whatsapp"}

// ConversionDatasetID returns the Meta dataset id that Sunlamp reports for a channel integration: a
// decimal number of 16 digits (like Meta's ids; the spec's example has one) that the integration's id
// determines, so that one integration always reports one dataset. The service has the business
// connect a dataset to the channel in Meta's tools; Sunlamp has nothing to connect.
func ConversionDatasetID(integrationID string) string {
	var h uint64 = 14695981039346656037 // FNV-1a
	for i := 0; i < len(integrationID); i++ {
		h ^= uint64(integrationID[i])
		h *= 1099511628211
	}
	return strconv.FormatUint(1_000_000_000_000_000+h%9_000_000_000_000_000, 10)
}

// ErrNoConversionClient is PostConversionEvents' answer for a conversation with no client on the
// channel: the service supplies the Meta user data (the page-scoped user id) from that client, so
// events of a conversation that is not on the channel cannot be attributed to anyone. The spec
// documents no errors for the operation; this one is Sunlamp's choice.
func ErrNoConversionClient(channel string) *Error {
	return Invalid("The conversation has no %s client to attribute the conversion events to", channel)
}

// ConversionEventStore keeps the conversion events of conversations.
type ConversionEventStore interface {
	// RecordConversionEvent stores e (its ID, IntegrationID, DatasetID and CreatedAt are set by the
	// store) after finding the conversation's client on e.Channel: the most recently seen active
	// client of that type of a participant. It returns ErrConversationNotFound when the app has no
	// such conversation and ErrNoConversionClient when no participant has a client on the channel.
	RecordConversionEvent(ctx context.Context, e ConversionEvent) (ConversionEvent, error)
	// ConversionEvents lists an app's recorded conversion events in id order, one page at a time,
	// only those of conversationID when it is not "". It returns ErrConversationNotFound for a
	// conversationID the app does not have.
	ConversionEvents(ctx context.Context, appID, conversationID string, page Page) ([]ConversionEvent, Cursor, error)
}
