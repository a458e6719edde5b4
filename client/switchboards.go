package client

import "context"

// Switchboard routes an app's conversations between integrations (one per app).
type Switchboard struct {
	ID                              string `json:"id"`
	Enabled                         bool   `json:"enabled"`
	DefaultSwitchboardIntegrationID string `json:"defaultSwitchboardIntegrationId,omitempty"`
}

// SwitchboardUpdate is the body of UpdateSwitchboard; nil and empty fields are kept.
type SwitchboardUpdate struct {
	Enabled                         *bool  `json:"enabled,omitempty"`
	DefaultSwitchboardIntegrationID string `json:"defaultSwitchboardIntegrationId,omitempty"`
}

// SwitchboardIntegration is an integration's place in a switchboard. In a conversation's
// activeSwitchboardIntegration and pendingSwitchboardIntegration only the first four fields are set.
type SwitchboardIntegration struct {
	ID                           string `json:"id"`
	Name                         string `json:"name"`
	IntegrationID                string `json:"integrationId"`
	IntegrationType              string `json:"integrationType"`
	DeliverStandbyEvents         *bool  `json:"deliverStandbyEvents,omitempty"`
	NextSwitchboardIntegrationID string `json:"nextSwitchboardIntegrationId,omitempty"`
	MessageHistoryCount          *int   `json:"messageHistoryCount,omitempty"`
}

// SwitchboardIntegrationCreate is the body of CreateSwitchboardIntegration: IntegrationID (a custom
// integration) or IntegrationType (an OAuth integration's client id).
type SwitchboardIntegrationCreate struct {
	Name                         string `json:"name"`
	IntegrationID                string `json:"integrationId,omitempty"`
	IntegrationType              string `json:"integrationType,omitempty"`
	DeliverStandbyEvents         *bool  `json:"deliverStandbyEvents,omitempty"`
	NextSwitchboardIntegrationID string `json:"nextSwitchboardIntegrationId,omitempty"`
	MessageHistoryCount          *int   `json:"messageHistoryCount,omitempty"`
}

// SwitchboardIntegrationUpdate is the body of UpdateSwitchboardIntegration; Null() unsets a field.
type SwitchboardIntegrationUpdate struct {
	Name                         string        `json:"name,omitempty"`
	IntegrationID                string        `json:"integrationId,omitempty"`
	IntegrationType              string        `json:"integrationType,omitempty"`
	DeliverStandbyEvents         *bool         `json:"deliverStandbyEvents,omitempty"`
	NextSwitchboardIntegrationID Field[string] `json:"nextSwitchboardIntegrationId,omitzero"`
	MessageHistoryCount          Field[int]    `json:"messageHistoryCount,omitzero"`
}

// ControlBody is the body of PassControl and OfferControl: the target switchboard integration (an
// id, a name, an integration type, or "next") and metadata for the webhook.
type ControlBody struct {
	SwitchboardIntegration string   `json:"switchboardIntegration"`
	Metadata               Metadata `json:"metadata,omitempty"`
}

func switchboardPath(appID, switchboardID string, rest ...string) string {
	return appPath(appID, append([]string{"switchboards", seg(switchboardID)}, rest...)...)
}

// CreateSwitchboard creates the app's switchboard (disabled). The request has no body, as the
// official client sends it.
func (c *Client) CreateSwitchboard(ctx context.Context, appID string) (*Switchboard, error) {
	var out struct{ Switchboard Switchboard }
	if err := c.do(ctx, request{method: "POST", path: appPath(appID, "switchboards")}, &out); err != nil {
		return nil, err
	}
	return &out.Switchboard, nil
}

// ListSwitchboards returns the app's switchboards (at most one).
func (c *Client) ListSwitchboards(ctx context.Context, appID string) ([]Switchboard, error) {
	var out struct{ Switchboards []Switchboard }
	if err := c.do(ctx, request{method: "GET", path: appPath(appID, "switchboards")}, &out); err != nil {
		return nil, err
	}
	return out.Switchboards, nil
}

// UpdateSwitchboard changes a switchboard and returns it.
func (c *Client) UpdateSwitchboard(ctx context.Context, appID, switchboardID string, body SwitchboardUpdate) (*Switchboard, error) {
	var out struct{ Switchboard Switchboard }
	if err := c.do(ctx, request{method: "PATCH", path: switchboardPath(appID, switchboardID), body: body}, &out); err != nil {
		return nil, err
	}
	return &out.Switchboard, nil
}

// DeleteSwitchboard deletes a switchboard and its switchboard integrations.
func (c *Client) DeleteSwitchboard(ctx context.Context, appID, switchboardID string) error {
	return c.do(ctx, request{method: "DELETE", path: switchboardPath(appID, switchboardID)}, nil)
}

// CreateSwitchboardIntegration adds an integration to a switchboard.
func (c *Client) CreateSwitchboardIntegration(ctx context.Context, appID, switchboardID string, body SwitchboardIntegrationCreate) (*SwitchboardIntegration, error) {
	var out struct{ SwitchboardIntegration SwitchboardIntegration }
	if err := c.do(ctx, request{method: "POST", path: switchboardPath(appID, switchboardID, "switchboardIntegrations"), body: body}, &out); err != nil {
		return nil, err
	}
	return &out.SwitchboardIntegration, nil
}

// ListSwitchboardIntegrations returns every switchboard integration of a switchboard.
func (c *Client) ListSwitchboardIntegrations(ctx context.Context, appID, switchboardID string) ([]SwitchboardIntegration, error) {
	var out struct{ SwitchboardIntegrations []SwitchboardIntegration }
	if err := c.do(ctx, request{method: "GET", path: switchboardPath(appID, switchboardID, "switchboardIntegrations")}, &out); err != nil {
		return nil, err
	}
	return out.SwitchboardIntegrations, nil
}

// UpdateSwitchboardIntegration changes a switchboard integration and returns it.
func (c *Client) UpdateSwitchboardIntegration(ctx context.Context, appID, switchboardID, id string, body SwitchboardIntegrationUpdate) (*SwitchboardIntegration, error) {
	var out struct{ SwitchboardIntegration SwitchboardIntegration }
	if err := c.do(ctx, request{method: "PATCH", path: switchboardPath(appID, switchboardID, "switchboardIntegrations", seg(id)), body: body}, &out); err != nil {
		return nil, err
	}
	return &out.SwitchboardIntegration, nil
}

// DeleteSwitchboardIntegration removes a switchboard integration.
func (c *Client) DeleteSwitchboardIntegration(ctx context.Context, appID, switchboardID, id string) error {
	return c.do(ctx, request{method: "DELETE", path: switchboardPath(appID, switchboardID, "switchboardIntegrations", seg(id))}, nil)
}

// PassControl gives control of a conversation to a switchboard integration.
func (c *Client) PassControl(ctx context.Context, appID, convID string, body ControlBody) error {
	return c.do(ctx, request{method: "POST", path: convPath(appID, convID, "passControl"), body: body}, nil)
}

// OfferControl offers control of a conversation to a switchboard integration.
func (c *Client) OfferControl(ctx context.Context, appID, convID string, body ControlBody) error {
	return c.do(ctx, request{method: "POST", path: convPath(appID, convID, "offerControl"), body: body}, nil)
}

// AcceptControl makes the integration offered control the active one; metadata may be nil.
func (c *Client) AcceptControl(ctx context.Context, appID, convID string, metadata Metadata) error {
	return c.do(ctx, request{method: "POST", path: convPath(appID, convID, "acceptControl"), body: metadataBody{metadata}}, nil)
}

// ReleaseControl leaves a conversation with no integration in control; metadata may be nil, and then
// the request has no body, as the official client sends it.
func (c *Client) ReleaseControl(ctx context.Context, appID, convID string, metadata Metadata) error {
	r := request{method: "POST", path: convPath(appID, convID, "releaseControl")}
	if metadata != nil {
		r.body = metadataBody{metadata}
	}
	return c.do(ctx, r, nil)
}

type metadataBody struct {
	Metadata Metadata `json:"metadata,omitempty"`
}
