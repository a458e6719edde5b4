package sunlamp

import (
	"context"
	"encoding/json"
)

// What customers do on channels besides writing messages, which the channel simulator
// (POST /_sunlamp/v1/apps/{appId}/inbound) and the web messenger report, and the delivery
// receipts channels send back (issue 14).

// Postback is a customer's tap on a postback button.
type Postback struct {
	Payload  string
	Metadata Metadata // the action's metadata
	// MessageID is the message whose button was tapped; Text the button's text ("" when unknown).
	MessageID string
	Text      string
}

// Referral is how a customer came to a conversation: a Messenger code, an ad, a link.
type Referral struct {
	Code    string
	Details map[string]any // source, type, adId... as the channel gives them
}

// Delivery statuses of the conversation:message:delivery:* events.
const (
	DeliveryChannel = "channel"
	DeliveryUser    = "user"
	DeliveryFailure = "failure"
)

// DeliveryReceipt is a channel's receipt for a business message: delivered to the channel, delivered to
// the user, or failed.
type DeliveryReceipt struct {
	MessageID string
	Status    string // DeliveryChannel, DeliveryUser or DeliveryFailure
	// The channel the message went to.
	DestinationType          string
	DestinationIntegrationID string
	// ExternalMessages are the channel's ids of the message ("" none).
	ExternalMessages []string
	// IsFinal says that no other event follows for this message and destination type.
	IsFinal bool
	Error   *EventError // failure only
}

// CustomerAction is what a channel reports a customer did, other than write: exactly one of
// Postback, Activity, Referral or Passthrough.
type CustomerAction struct {
	Postback    *Postback
	Activity    string // typing:start, typing:stop or conversation:read
	Referral    *Referral
	Passthrough map[string]any
	// Echo adds the postback's button text to the conversation as the user's message (the app's
	// echoPostback).
	Echo bool
}

// ErrNoConversation is an action of a user that has no conversation to act in yet.
var ErrNoConversation = &Error{Kind: KindNotFound, Code: "conversation_not_found", Title: "The user has no conversation yet"}

// ChannelEventStore records what channels report besides messages.
type ChannelEventStore interface {
	// MessageDelivery records a channel's receipt for a message of a conversation and emits
	// conversation:message:delivery:{d.Status}. The destination defaults to the user's most
	// recently used client of the conversation. It returns ErrConversationNotFound or
	// ErrMessageNotFound.
	MessageDelivery(ctx context.Context, appID, conversationID string, d DeliveryReceipt) (DeliveryReceipt, error)
	// AutoChannelDelivery emits conversation:message:delivery:channel for a business message of a
	// personal conversation whose user has an active client other than sdk, as the service does
	// once it hands the message to that channel; it does nothing otherwise.
	AutoChannelDelivery(ctx context.Context, m Message) error
	// CustomerAction records what the user did in a conversation they take part in (the default
	// conversation when conversationID is "") through source, and emits its event:
	// conversation:postback (with Echo, after a user message with the button's text),
	// conversation:typing or conversation:read, conversation:referral, passthrough:messaging. It
	// returns the echoed message, if any; ErrNoConversation when the user has none.
	CustomerAction(ctx context.Context, appID, userID, conversationID string, source Source, a CustomerAction) (*Message, error)
	// AppTriggers returns the triggers the app's webhooks are subscribed to, each once.
	AppTriggers(ctx context.Context, appID string) ([]string, error)
}

// FindPostback returns the text and metadata of the postback button with payload in a message's
// content: among its actions, and its carousel or list items' actions. ok is false when it has none.
func FindPostback(c Content, payload string) (text string, metadata Metadata, ok bool) {
	type action struct {
		Type     string   `json:"type"`
		Text     string   `json:"text"`
		Payload  string   `json:"payload"`
		Metadata Metadata `json:"metadata"`
	}
	var doc struct {
		Actions []action `json:"actions"`
		Items   []struct {
			Actions []action `json:"actions"`
		} `json:"items"`
	}
	if json.Unmarshal(c.Doc, &doc) != nil {
		return "", nil, false
	}
	all := doc.Actions
	for _, it := range doc.Items {
		all = append(all, it.Actions...)
	}
	for _, a := range all {
		if a.Type == "postback" && a.Payload == payload {
			return a.Text, a.Metadata, true
		}
	}
	return "", nil, false
}
