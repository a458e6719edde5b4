package client

import "context"

// SyncUserBody is SyncUser's optional body: after two core Zendesk users were merged, the id of
// the one that survives (the path names the one going away).
type SyncUserBody struct {
	SurvivingZendeskID string `json:"survivingZendeskId,omitempty"`
}

// SyncUser brings the messaging user linked to zendeskID up to date with its core Zendesk user
// (names, externalId, primary email), merging or relieving the users that conflict, and returns it.
func (c *Client) SyncUser(ctx context.Context, appID, zendeskID string, body SyncUserBody) (*User, error) {
	var out struct{ User User }
	if err := c.do(ctx, request{method: "POST", path: appPath(appID, "users", seg(zendeskID), "sync"), body: body}, &out); err != nil {
		return nil, err
	}
	return &out.User, nil
}

// ZendeskUser is a core user of Sunlamp's simulated Zendesk directory (/_sunlamp/v1/zendesk/users,
// account key; not offered by the real service).
type ZendeskUser struct {
	ID         string `json:"id,omitempty"` // a number as a string; generated when empty
	Name       string `json:"name"`
	Email      string `json:"email,omitempty"`
	ExternalID string `json:"externalId,omitempty"`
	CreatedAt  string `json:"createdAt,omitempty"`
	UpdatedAt  string `json:"updatedAt,omitempty"`
}

// CreateZendeskUser adds a core user to the simulated directory.
func (c *Client) CreateZendeskUser(ctx context.Context, u ZendeskUser) (*ZendeskUser, error) {
	var out struct{ ZendeskUser ZendeskUser }
	if err := c.do(ctx, request{method: "POST", path: "/_sunlamp/v1/zendesk/users", body: u}, &out); err != nil {
		return nil, err
	}
	return &out.ZendeskUser, nil
}

// LinkZendeskUser links a messaging user (id or externalId) to a core user, as the Help Center's
// authentication does; "" unlinks it.
func (c *Client) LinkZendeskUser(ctx context.Context, appID, user, zendeskID string) (*User, error) {
	body := map[string]any{"zendeskId": nil}
	if zendeskID != "" {
		body["zendeskId"] = zendeskID
	}
	var out struct{ User User }
	if err := c.do(ctx, request{method: "POST", path: "/_sunlamp/v1/apps/" + seg(appID) + "/users/" + seg(user) + "/zendesk", body: body}, &out); err != nil {
		return nil, err
	}
	return &out.User, nil
}
