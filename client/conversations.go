package client

import (
	"context"
	"iter"
	"net/url"
)

// Conversation is a conversation between users and the business.
type Conversation struct {
	ID                            string                  `json:"id"`
	Type                          string                  `json:"type"`
	Metadata                      Metadata                `json:"metadata,omitempty"`
	ActiveSwitchboardIntegration  *SwitchboardIntegration `json:"activeSwitchboardIntegration,omitempty"`
	PendingSwitchboardIntegration *SwitchboardIntegration `json:"pendingSwitchboardIntegration,omitempty"`
	IsDefault                     bool                    `json:"isDefault"`
	DisplayName                   string                  `json:"displayName,omitempty"`
	Description                   string                  `json:"description,omitempty"`
	IconURL                       string                  `json:"iconUrl,omitempty"`
	BusinessLastRead              string                  `json:"businessLastRead,omitempty"`
	LastUpdatedAt                 string                  `json:"lastUpdatedAt,omitempty"`
	CreatedAt                     string                  `json:"createdAt,omitempty"`
}

// ConversationCreate is the body of CreateConversation.
type ConversationCreate struct {
	Type         string            `json:"type"` // personal or sdkGroup
	Participants []ParticipantJoin `json:"participants,omitempty"`
	DisplayName  string            `json:"displayName,omitempty"`
	Description  string            `json:"description,omitempty"`
	IconURL      string            `json:"iconUrl,omitempty"`
	Metadata     Metadata          `json:"metadata,omitempty"`
}

// ConversationUpdate is the body of UpdateConversation; Null() unsets a field.
type ConversationUpdate struct {
	DisplayName Field[string]   `json:"displayName,omitzero"`
	Description Field[string]   `json:"description,omitzero"`
	IconURL     Field[string]   `json:"iconUrl,omitzero"`
	Metadata    Field[Metadata] `json:"metadata,omitzero"`
}

// ConversationList is a page of ListConversations.
type ConversationList struct {
	Conversations []Conversation `json:"conversations"`
	Meta          Meta           `json:"meta"`
	Links         *Links         `json:"links,omitempty"`
}

// ConversationFilter names the user whose conversations ListConversations returns: one of the two.
type ConversationFilter struct {
	UserID         string
	UserExternalID string
}

// Participant is a user's membership of a conversation.
type Participant struct {
	ID                 string              `json:"id"`
	UserID             string              `json:"userId"`
	UnreadCount        int                 `json:"unreadCount"`
	ClientAssociations []ClientAssociation `json:"clientAssociations"`
	UserExternalID     string              `json:"userExternalId,omitempty"`
	LastRead           string              `json:"lastRead,omitempty"`
}

// ClientAssociation is a client through which a participant receives a conversation's messages.
type ClientAssociation struct {
	Type     string `json:"type"`
	ClientID string `json:"clientId"`
}

// ParticipantJoin names a user joining a conversation (the body of JoinConversation, and an entry of
// ConversationCreate.Participants): UserID or UserExternalID.
type ParticipantJoin struct {
	UserID             string `json:"userId,omitempty"`
	UserExternalID     string `json:"userExternalId,omitempty"`
	SubscribeSDKClient *bool  `json:"subscribeSDKClient,omitempty"`
}

// ParticipantLeave names who leaves a conversation: one of the three.
type ParticipantLeave struct {
	UserID         string `json:"userId,omitempty"`
	UserExternalID string `json:"userExternalId,omitempty"`
	ParticipantID  string `json:"participantId,omitempty"`
}

// ParticipantList is a page of ListParticipants.
type ParticipantList struct {
	Participants []Participant `json:"participants"`
	Meta         Meta          `json:"meta"`
	Links        *Links        `json:"links,omitempty"`
}

// Message is a message of a conversation.
type Message struct {
	ID            string         `json:"id"`
	Received      string         `json:"received"`
	Author        Author         `json:"author"`
	Content       Content        `json:"content"`
	Source        *Source        `json:"source,omitempty"`
	QuotedMessage map[string]any `json:"quotedMessage,omitempty"`
	Metadata      Metadata       `json:"metadata,omitempty"`
	Deleted       *bool          `json:"deleted,omitempty"`
	References    []Reference    `json:"references,omitempty"`
	Activity      map[string]any `json:"activity,omitempty"`
}

// Source is the channel a message came through.
type Source struct {
	Type                     string `json:"type"`
	IntegrationID            string `json:"integrationId,omitempty"`
	OriginalMessageID        string `json:"originalMessageId,omitempty"`
	OriginalMessageTimestamp string `json:"originalMessageTimestamp,omitempty"`
}

// Reference is a source a bot's answer cites.
type Reference struct {
	URI         string `json:"uri"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
}

// MessageList is a page of ListMessages (pages go backwards in time).
type MessageList struct {
	Messages []Message `json:"messages"`
	Meta     Meta      `json:"meta"`
	Links    *Links    `json:"links,omitempty"`
}

// ActivityPost is the body of PostActivity: type conversation:read, typing:start or typing:stop.
type ActivityPost struct {
	Author Author `json:"author"`
	Type   string `json:"type"`
}

func convPath(appID, convID string, rest ...string) string {
	return appPath(appID, append([]string{"conversations", seg(convID)}, rest...)...)
}

// CreateConversation creates a conversation.
func (c *Client) CreateConversation(ctx context.Context, appID string, body ConversationCreate) (*Conversation, error) {
	var out struct{ Conversation Conversation }
	if err := c.do(ctx, request{method: "POST", path: appPath(appID, "conversations"), body: body}, &out); err != nil {
		return nil, err
	}
	return &out.Conversation, nil
}

// ListConversations returns one page of the conversations a user takes part in.
func (c *Client) ListConversations(ctx context.Context, appID string, f ConversationFilter, p Page) (*ConversationList, error) {
	q := url.Values{}
	if f.UserID != "" {
		q.Set("filter[userId]", f.UserID)
	}
	if f.UserExternalID != "" {
		q.Set("filter[userExternalId]", f.UserExternalID)
	}
	var out ConversationList
	if err := c.do(ctx, request{method: "GET", path: appPath(appID, "conversations"), query: p.query(q)}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Conversations iterates over every conversation of a user from p onwards.
func (c *Client) Conversations(ctx context.Context, appID string, f ConversationFilter, p Page) iter.Seq2[Conversation, error] {
	return forward(ctx, p, func(ctx context.Context, p Page) ([]Conversation, Meta, error) {
		l, err := c.ListConversations(ctx, appID, f, p)
		if err != nil {
			return nil, Meta{}, err
		}
		return l.Conversations, l.Meta, nil
	})
}

// GetConversation returns a conversation.
func (c *Client) GetConversation(ctx context.Context, appID, convID string) (*Conversation, error) {
	var out struct{ Conversation Conversation }
	if err := c.do(ctx, request{method: "GET", path: convPath(appID, convID)}, &out); err != nil {
		return nil, err
	}
	return &out.Conversation, nil
}

// UpdateConversation changes a conversation and returns it.
func (c *Client) UpdateConversation(ctx context.Context, appID, convID string, body ConversationUpdate) (*Conversation, error) {
	var out struct{ Conversation Conversation }
	if err := c.do(ctx, request{method: "PATCH", path: convPath(appID, convID), body: body}, &out); err != nil {
		return nil, err
	}
	return &out.Conversation, nil
}

// DeleteConversation deletes a conversation with its messages (not a user's default conversation).
func (c *Client) DeleteConversation(ctx context.Context, appID, convID string) error {
	return c.do(ctx, request{method: "DELETE", path: convPath(appID, convID)}, nil)
}

// JoinConversation adds a user to an sdkGroup conversation.
func (c *Client) JoinConversation(ctx context.Context, appID, convID string, body ParticipantJoin) (*Participant, error) {
	var out struct{ Participant Participant }
	if err := c.do(ctx, request{method: "POST", path: convPath(appID, convID, "join"), body: body}, &out); err != nil {
		return nil, err
	}
	return &out.Participant, nil
}

// ListParticipants returns one page of a conversation's participants.
func (c *Client) ListParticipants(ctx context.Context, appID, convID string, p Page) (*ParticipantList, error) {
	var out ParticipantList
	if err := c.do(ctx, request{method: "GET", path: convPath(appID, convID, "participants"), query: p.query(nil)}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Participants iterates over every participant of a conversation from p onwards.
func (c *Client) Participants(ctx context.Context, appID, convID string, p Page) iter.Seq2[Participant, error] {
	return forward(ctx, p, func(ctx context.Context, p Page) ([]Participant, Meta, error) {
		l, err := c.ListParticipants(ctx, appID, convID, p)
		if err != nil {
			return nil, Meta{}, err
		}
		return l.Participants, l.Meta, nil
	})
}

// LeaveConversation removes a participant from a conversation.
func (c *Client) LeaveConversation(ctx context.Context, appID, convID string, body ParticipantLeave) error {
	return c.do(ctx, request{method: "POST", path: convPath(appID, convID, "leave"), body: body}, nil)
}

// PostMessage sends a message to a conversation and returns the messages it made (more than one
// only for WhatsApp template shorthand with leading text).
func (c *Client) PostMessage(ctx context.Context, appID, convID string, body MessagePost) ([]Message, error) {
	var out struct{ Messages []Message }
	if err := c.do(ctx, request{method: "POST", path: convPath(appID, convID, "messages"), body: body}, &out); err != nil {
		return nil, err
	}
	return out.Messages, nil
}

// ListMessages returns one page of a conversation's messages: with an empty Page the most recent
// page; Page.Before walks back in time. The server's page size is fixed.
func (c *Client) ListMessages(ctx context.Context, appID, convID string, p Page) (*MessageList, error) {
	p.Size = 0 // page[size] has no effect on ListMessages
	var out MessageList
	if err := c.do(ctx, request{method: "GET", path: convPath(appID, convID, "messages"), query: p.query(nil)}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Messages iterates over a conversation's messages page by page from the most recent page (or
// p.Before) back to the first; within a page, messages are in the server's (chronological) order.
func (c *Client) Messages(ctx context.Context, appID, convID string, p Page) iter.Seq2[Message, error] {
	return backward(ctx, p, func(ctx context.Context, p Page) ([]Message, Meta, error) {
		l, err := c.ListMessages(ctx, appID, convID, p)
		if err != nil {
			return nil, Meta{}, err
		}
		return l.Messages, l.Meta, nil
	})
}

// DeleteAllMessages deletes every message of a conversation.
func (c *Client) DeleteAllMessages(ctx context.Context, appID, convID string) error {
	return c.do(ctx, request{method: "DELETE", path: convPath(appID, convID, "messages")}, nil)
}

// DeleteMessage deletes a message.
func (c *Client) DeleteMessage(ctx context.Context, appID, convID, messageID string) error {
	return c.do(ctx, request{method: "DELETE", path: convPath(appID, convID, "messages", seg(messageID))}, nil)
}

// PostActivity notifies a conversation of an activity (read receipt, typing).
func (c *Client) PostActivity(ctx context.Context, appID, convID string, body ActivityPost) error {
	return c.do(ctx, request{method: "POST", path: convPath(appID, convID, "activity"), body: body}, nil)
}
