package client

import "context"

// Inbound is the body of Sunlamp's inbound channel simulator (POST /_sunlamp/v1/apps/{appId}/inbound,
// not part of the v2 API and not offered by the real service): what a channel delivers when a
// customer writes in.
type Inbound struct {
	Channel       string         `json:"channel"`
	IntegrationID string         `json:"integrationId,omitempty"`
	User          *InboundUser   `json:"user,omitempty"`
	Client        *InboundClient `json:"client,omitempty"`
	Device        *InboundDevice `json:"device,omitempty"`
	Content       *Content       `json:"content,omitempty"`
}

// InboundUser names an existing user (ID or ExternalID), or gives a user the call creates identities.
type InboundUser struct {
	ID         string     `json:"id,omitempty"`
	ExternalID string     `json:"externalId,omitempty"`
	Identities []Identity `json:"identities,omitempty"`
}

// InboundClient is the customer on the channel.
type InboundClient struct {
	ExternalID  string         `json:"externalId,omitempty"`
	DisplayName string         `json:"displayName,omitempty"`
	AvatarURL   string         `json:"avatarUrl,omitempty"`
	Info        map[string]any `json:"info,omitempty"`
	Raw         map[string]any `json:"raw,omitempty"`
}

// InboundDevice is the device of an sdk client.
type InboundDevice struct {
	Type                  string         `json:"type,omitempty"`
	GUID                  string         `json:"guid,omitempty"`
	PushNotificationToken string         `json:"pushNotificationToken,omitempty"`
	AppVersion            string         `json:"appVersion,omitempty"`
	Info                  map[string]any `json:"info,omitempty"`
}

// InboundResult is what the simulator found or made.
type InboundResult struct {
	User         User          `json:"user"`
	Client       UserClient    `json:"client"`
	Device       *Device       `json:"device,omitempty"`
	Conversation *Conversation `json:"conversation,omitempty"`
	Messages     []Message     `json:"messages,omitempty"`
}

// Inbound simulates a customer writing in on a channel (a Sunlamp extension: the real service
// answers 404).
func (c *Client) Inbound(ctx context.Context, appID string, body Inbound) (*InboundResult, error) {
	var out InboundResult
	if err := c.do(ctx, request{method: "POST", path: "/_sunlamp/v1/apps/" + seg(appID) + "/inbound", body: body}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
