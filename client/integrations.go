package client

import (
	"context"
	"encoding/json"
	"iter"
	"net/url"
	"strings"
)

// Integration is a channel or custom integration of an app. The fields every type has are typed;
// the type-specific ones (a web integration's brandColor, a twilio integration's accountSid, ...)
// are in Fields, keyed by their JSON names, on input and output alike.
type Integration struct {
	ID                 string         `json:"id,omitempty"`
	Type               string         `json:"type"`
	Status             string         `json:"status,omitempty"`
	DisplayName        string         `json:"displayName,omitempty"`
	DefaultResponderID string         `json:"defaultResponderId,omitempty"`
	DefaultResponder   map[string]any `json:"defaultResponder,omitempty"`
	ShowAIDisclaimer   *bool          `json:"showAIDisclaimer,omitempty"`
	Webhooks           []Webhook      `json:"webhooks,omitempty"` // custom integrations
	Fields             map[string]any `json:"-"`
}

type integrationFields Integration

var integrationKeys = map[string]bool{"id": true, "type": true, "status": true, "displayName": true,
	"defaultResponderId": true, "defaultResponder": true, "showAIDisclaimer": true, "webhooks": true}

// MarshalJSON writes the typed fields and Fields in one object.
func (in Integration) MarshalJSON() ([]byte, error) {
	return mergeFields(integrationFields(in), in.Fields)
}

// UnmarshalJSON reads the typed fields, and the others into Fields.
func (in *Integration) UnmarshalJSON(b []byte) error {
	if err := json.Unmarshal(b, (*integrationFields)(in)); err != nil {
		return err
	}
	var all map[string]any
	if err := json.Unmarshal(b, &all); err != nil {
		return err
	}
	for k := range integrationKeys {
		delete(all, k)
	}
	in.Fields = nil
	if len(all) > 0 {
		in.Fields = all
	}
	return nil
}

// mergeFields marshals v (a struct) and adds extra's keys to the object.
func mergeFields(v any, extra map[string]any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil || len(extra) == 0 {
		return b, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	for k, x := range extra {
		if _, typed := m[k]; !typed {
			m[k] = x
		}
	}
	return json.Marshal(m)
}

// IntegrationUpdate is the body of UpdateIntegration. Fields holds the type-specific fields to change.
type IntegrationUpdate struct {
	DisplayName        Field[string]  `json:"displayName,omitzero"`
	DefaultResponderID Field[string]  `json:"defaultResponderId,omitzero"`
	ShowAIDisclaimer   *bool          `json:"showAIDisclaimer,omitempty"`
	Fields             map[string]any `json:"-"`
}

type integrationUpdateFields IntegrationUpdate

// MarshalJSON writes the typed fields and Fields in one object.
func (u IntegrationUpdate) MarshalJSON() ([]byte, error) {
	return mergeFields(integrationUpdateFields(u), u.Fields)
}

// IntegrationList is a page of ListIntegrations.
type IntegrationList struct {
	Integrations []Integration `json:"integrations"`
	Meta         Meta          `json:"meta"`
	Links        *Links        `json:"links,omitempty"`
}

// IntegrationKey is an API key of a custom integration (its id starts with int_).
type IntegrationKey struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName,omitempty"`
	Secret      string `json:"secret,omitempty"`
}

// Webhook is a target to which events of the chosen triggers are posted.
type Webhook struct {
	ID                string   `json:"id,omitempty"`
	Version           string   `json:"version,omitempty"`
	Target            string   `json:"target"`
	Triggers          []string `json:"triggers"`
	Secret            string   `json:"secret,omitempty"`
	IncludeFullUser   bool     `json:"includeFullUser,omitempty"`
	IncludeFullSource bool     `json:"includeFullSource,omitempty"`
}

// WebhookUpdate is the body of UpdateWebhook; nil and empty fields are kept.
type WebhookUpdate struct {
	Target            string   `json:"target,omitempty"`
	Triggers          []string `json:"triggers,omitempty"`
	IncludeFullUser   *bool    `json:"includeFullUser,omitempty"`
	IncludeFullSource *bool    `json:"includeFullSource,omitempty"`
}

func integrationPath(appID, integrationID string, rest ...string) string {
	return appPath(appID, append([]string{"integrations", seg(integrationID)}, rest...)...)
}

// CreateIntegration creates an integration; a custom one needs exactly one webhook.
func (c *Client) CreateIntegration(ctx context.Context, appID string, body Integration) (*Integration, error) {
	var out struct{ Integration Integration }
	if err := c.do(ctx, request{method: "POST", path: appPath(appID, "integrations"), body: body}, &out); err != nil {
		return nil, err
	}
	return &out.Integration, nil
}

// ListIntegrations returns one page of an app's integrations, of the given types only when types is
// not empty.
func (c *Client) ListIntegrations(ctx context.Context, appID string, types []string, p Page) (*IntegrationList, error) {
	q := url.Values{}
	if len(types) > 0 {
		q.Set("filter[types]", strings.Join(types, ","))
	}
	var out IntegrationList
	if err := c.do(ctx, request{method: "GET", path: appPath(appID, "integrations"), query: p.query(q)}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Integrations iterates over an app's integrations (of types, when not empty) from p onwards.
func (c *Client) Integrations(ctx context.Context, appID string, types []string, p Page) iter.Seq2[Integration, error] {
	return forward(ctx, p, func(ctx context.Context, p Page) ([]Integration, Meta, error) {
		l, err := c.ListIntegrations(ctx, appID, types, p)
		if err != nil {
			return nil, Meta{}, err
		}
		return l.Integrations, l.Meta, nil
	})
}

// GetIntegration returns an integration.
func (c *Client) GetIntegration(ctx context.Context, appID, integrationID string) (*Integration, error) {
	var out struct{ Integration Integration }
	if err := c.do(ctx, request{method: "GET", path: integrationPath(appID, integrationID)}, &out); err != nil {
		return nil, err
	}
	return &out.Integration, nil
}

// UpdateIntegration changes an integration and returns it.
func (c *Client) UpdateIntegration(ctx context.Context, appID, integrationID string, body IntegrationUpdate) (*Integration, error) {
	var out struct{ Integration Integration }
	if err := c.do(ctx, request{method: "PATCH", path: integrationPath(appID, integrationID), body: body}, &out); err != nil {
		return nil, err
	}
	return &out.Integration, nil
}

// DeleteIntegration deletes an integration.
func (c *Client) DeleteIntegration(ctx context.Context, appID, integrationID string) error {
	return c.do(ctx, request{method: "DELETE", path: integrationPath(appID, integrationID)}, nil)
}

// CreateCustomIntegrationKey creates an API key for a custom integration; the result holds its secret.
func (c *Client) CreateCustomIntegrationKey(ctx context.Context, appID, integrationID, displayName string) (*IntegrationKey, error) {
	var out struct{ Key IntegrationKey }
	body := map[string]string{"displayName": displayName}
	if err := c.do(ctx, request{method: "POST", path: integrationPath(appID, integrationID, "keys"), body: body}, &out); err != nil {
		return nil, err
	}
	return &out.Key, nil
}

// ListCustomIntegrationKeys returns every API key of a custom integration.
func (c *Client) ListCustomIntegrationKeys(ctx context.Context, appID, integrationID string) ([]IntegrationKey, error) {
	var out struct{ Keys []IntegrationKey }
	if err := c.do(ctx, request{method: "GET", path: integrationPath(appID, integrationID, "keys")}, &out); err != nil {
		return nil, err
	}
	return out.Keys, nil
}

// GetCustomIntegrationKey returns an API key of a custom integration.
func (c *Client) GetCustomIntegrationKey(ctx context.Context, appID, integrationID, keyID string) (*IntegrationKey, error) {
	var out struct{ Key IntegrationKey }
	if err := c.do(ctx, request{method: "GET", path: integrationPath(appID, integrationID, "keys", seg(keyID))}, &out); err != nil {
		return nil, err
	}
	return &out.Key, nil
}

// DeleteCustomIntegrationKey deletes an API key of a custom integration.
func (c *Client) DeleteCustomIntegrationKey(ctx context.Context, appID, integrationID, keyID string) error {
	return c.do(ctx, request{method: "DELETE", path: integrationPath(appID, integrationID, "keys", seg(keyID))}, nil)
}

// CreateWebhook adds a webhook to an integration; the result holds its secret. integrationID may be
// "me" for an integration's own token.
func (c *Client) CreateWebhook(ctx context.Context, appID, integrationID string, body Webhook) (*Webhook, error) {
	var out struct{ Webhook Webhook }
	if err := c.do(ctx, request{method: "POST", path: integrationPath(appID, integrationID, "webhooks"), body: body}, &out); err != nil {
		return nil, err
	}
	return &out.Webhook, nil
}

// ListWebhooks returns every webhook of an integration.
func (c *Client) ListWebhooks(ctx context.Context, appID, integrationID string) ([]Webhook, error) {
	var out struct{ Webhooks []Webhook }
	if err := c.do(ctx, request{method: "GET", path: integrationPath(appID, integrationID, "webhooks")}, &out); err != nil {
		return nil, err
	}
	return out.Webhooks, nil
}

// GetWebhook returns a webhook of an integration.
func (c *Client) GetWebhook(ctx context.Context, appID, integrationID, webhookID string) (*Webhook, error) {
	var out struct{ Webhook Webhook }
	if err := c.do(ctx, request{method: "GET", path: integrationPath(appID, integrationID, "webhooks", seg(webhookID))}, &out); err != nil {
		return nil, err
	}
	return &out.Webhook, nil
}

// UpdateWebhook changes a webhook and returns it.
func (c *Client) UpdateWebhook(ctx context.Context, appID, integrationID, webhookID string, body WebhookUpdate) (*Webhook, error) {
	var out struct{ Webhook Webhook }
	if err := c.do(ctx, request{method: "PATCH", path: integrationPath(appID, integrationID, "webhooks", seg(webhookID)), body: body}, &out); err != nil {
		return nil, err
	}
	return &out.Webhook, nil
}

// DeleteWebhook deletes a webhook.
func (c *Client) DeleteWebhook(ctx context.Context, appID, integrationID, webhookID string) error {
	return c.do(ctx, request{method: "DELETE", path: integrationPath(appID, integrationID, "webhooks", seg(webhookID))}, nil)
}
