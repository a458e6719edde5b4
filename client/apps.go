package client

import (
	"context"
	"iter"
)

// App is an app (a workspace of users, conversations and integrations).
type App struct {
	ID          string      `json:"id"`
	DisplayName string      `json:"displayName,omitempty"`
	Subdomain   string      `json:"subdomain,omitempty"`
	Settings    AppSettings `json:"settings"`
	Metadata    Metadata    `json:"metadata,omitempty"`
}

// AppSettings are an app's settings; a nil field is not set (and not sent).
type AppSettings struct {
	ConversationRetentionSeconds *int64 `json:"conversationRetentionSeconds,omitempty"`
	MaskCreditCardNumbers        *bool  `json:"maskCreditCardNumbers,omitempty"`
	UseAnimalNames               *bool  `json:"useAnimalNames,omitempty"`
	EchoPostback                 *bool  `json:"echoPostback,omitempty"`
	IgnoreAutoConversationStart  *bool  `json:"ignoreAutoConversationStart,omitempty"`
	MultiConvoEnabled            *bool  `json:"multiConvoEnabled,omitempty"`
	AppLocalizationEnabled       *bool  `json:"appLocalizationEnabled,omitempty"`
	EndSessionEnabled            *bool  `json:"endSessionEnabled,omitempty"`
	DisableConversationReopen    *bool  `json:"disableConversationReopen,omitempty"`
}

// AppCreate is the body of CreateApp.
type AppCreate struct {
	DisplayName string       `json:"displayName"`
	Settings    *AppSettings `json:"settings,omitempty"`
	Metadata    Metadata     `json:"metadata,omitempty"`
}

// AppUpdate is the body of UpdateApp; absent fields are kept, a null Metadata clears it.
type AppUpdate struct {
	DisplayName Field[string]   `json:"displayName,omitzero"`
	Settings    *AppSettings    `json:"settings,omitempty"`
	Metadata    Field[Metadata] `json:"metadata,omitzero"`
}

// AppKey is an app's API key. Secret is returned by the create, get and list operations.
type AppKey struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName,omitempty"`
	Secret      string `json:"secret,omitempty"`
}

// AppList is a page of ListApps.
type AppList struct {
	Apps  []App  `json:"apps"`
	Meta  Meta   `json:"meta"`
	Links *Links `json:"links,omitempty"`
}

// CreateApp creates an app (account scope).
func (c *Client) CreateApp(ctx context.Context, body AppCreate) (*App, error) {
	var out struct{ App App }
	if err := c.do(ctx, request{method: "POST", path: "/v2/apps", body: body}, &out); err != nil {
		return nil, err
	}
	return &out.App, nil
}

// ListApps returns one page of the account's apps. serviceAccountID, when not "", lists only the
// apps that service account can access.
func (c *Client) ListApps(ctx context.Context, p Page, serviceAccountID string) (*AppList, error) {
	q := p.query(nil)
	if serviceAccountID != "" {
		q.Set("filter[serviceAccountId]", serviceAccountID)
	}
	var out AppList
	if err := c.do(ctx, request{method: "GET", path: "/v2/apps", query: q}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Apps iterates over every app of the account from p onwards, fetching pages as it goes.
func (c *Client) Apps(ctx context.Context, p Page) iter.Seq2[App, error] {
	return forward(ctx, p, func(ctx context.Context, p Page) ([]App, Meta, error) {
		l, err := c.ListApps(ctx, p, "")
		if err != nil {
			return nil, Meta{}, err
		}
		return l.Apps, l.Meta, nil
	})
}

// GetApp returns an app.
func (c *Client) GetApp(ctx context.Context, appID string) (*App, error) {
	var out struct{ App App }
	if err := c.do(ctx, request{method: "GET", path: appPath(appID)}, &out); err != nil {
		return nil, err
	}
	return &out.App, nil
}

// UpdateApp changes an app and returns it.
func (c *Client) UpdateApp(ctx context.Context, appID string, body AppUpdate) (*App, error) {
	var out struct{ App App }
	if err := c.do(ctx, request{method: "PATCH", path: appPath(appID), body: body}, &out); err != nil {
		return nil, err
	}
	return &out.App, nil
}

// DeleteApp deletes an app and everything in it.
func (c *Client) DeleteApp(ctx context.Context, appID string) error {
	return c.do(ctx, request{method: "DELETE", path: appPath(appID)}, nil)
}

// CreateAppKey creates an API key for an app; the result holds its secret.
func (c *Client) CreateAppKey(ctx context.Context, appID, displayName string) (*AppKey, error) {
	var out struct{ Key AppKey }
	body := map[string]string{"displayName": displayName}
	if err := c.do(ctx, request{method: "POST", path: appPath(appID, "keys"), body: body}, &out); err != nil {
		return nil, err
	}
	return &out.Key, nil
}

// ListAppKeys returns every API key of an app (the list is not paginated).
func (c *Client) ListAppKeys(ctx context.Context, appID string) ([]AppKey, error) {
	var out struct{ Keys []AppKey }
	if err := c.do(ctx, request{method: "GET", path: appPath(appID, "keys")}, &out); err != nil {
		return nil, err
	}
	return out.Keys, nil
}

// GetAppKey returns an API key of an app.
func (c *Client) GetAppKey(ctx context.Context, appID, keyID string) (*AppKey, error) {
	var out struct{ Key AppKey }
	if err := c.do(ctx, request{method: "GET", path: appPath(appID, "keys", seg(keyID))}, &out); err != nil {
		return nil, err
	}
	return &out.Key, nil
}

// DeleteAppKey deletes an API key of an app.
func (c *Client) DeleteAppKey(ctx context.Context, appID, keyID string) error {
	return c.do(ctx, request{method: "DELETE", path: appPath(appID, "keys", seg(keyID))}, nil)
}
