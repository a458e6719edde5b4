package client

import (
	"context"
	"iter"
	"net/url"
)

// User is an app's end user.
type User struct {
	ID            string     `json:"id"`
	ExternalID    string     `json:"externalId,omitempty"`
	ZendeskID     string     `json:"zendeskId,omitempty"`
	BrandID       string     `json:"brandId,omitempty"`
	Authenticated *bool      `json:"authenticated,omitempty"`
	SignedUpAt    string     `json:"signedUpAt,omitempty"`
	ToBeRetained  *bool      `json:"toBeRetained,omitempty"`
	Profile       Profile    `json:"profile"`
	Metadata      Metadata   `json:"metadata,omitempty"`
	Identities    []Identity `json:"identities,omitempty"`
}

// Profile is a user's profile.
type Profile struct {
	GivenName string `json:"givenName,omitempty"`
	Surname   string `json:"surname,omitempty"`
	Email     string `json:"email,omitempty"`
	AvatarURL string `json:"avatarUrl,omitempty"`
	Locale    string `json:"locale,omitempty"`
}

// Identity is an identity of a user, such as a verified email address.
type Identity struct {
	Type         string `json:"type"`
	Value        string `json:"value"`
	Verification string `json:"verification,omitempty"`
}

// UserCreate is the body of CreateUser.
type UserCreate struct {
	ExternalID   string   `json:"externalId,omitempty"`
	BrandID      string   `json:"brandId,omitempty"`
	SignedUpAt   string   `json:"signedUpAt,omitempty"`
	ToBeRetained *bool    `json:"toBeRetained,omitempty"`
	Profile      *Profile `json:"profile,omitempty"`
	Metadata     Metadata `json:"metadata,omitempty"`
}

// ProfileUpdate changes a profile field by field: absent fields are kept, Null() clears one.
type ProfileUpdate struct {
	GivenName Field[string] `json:"givenName,omitzero"`
	Surname   Field[string] `json:"surname,omitzero"`
	Email     Field[string] `json:"email,omitzero"`
	AvatarURL Field[string] `json:"avatarUrl,omitzero"`
	Locale    Field[string] `json:"locale,omitzero"`
}

// UserUpdate is the body of UpdateUser.
type UserUpdate struct {
	SignedUpAt   string          `json:"signedUpAt,omitempty"`
	ToBeRetained *bool           `json:"toBeRetained,omitempty"`
	Profile      *ProfileUpdate  `json:"profile,omitempty"`
	Metadata     Field[Metadata] `json:"metadata,omitzero"`
}

// UserClient is a channel through which a user is reachable (the spec's Client).
type UserClient struct {
	ID            string         `json:"id"`
	Type          string         `json:"type"`
	Status        string         `json:"status,omitempty"`
	IntegrationID string         `json:"integrationId,omitempty"`
	ExternalID    string         `json:"externalId,omitempty"`
	LastSeen      string         `json:"lastSeen,omitempty"`
	LinkedAt      string         `json:"linkedAt,omitempty"`
	DisplayName   string         `json:"displayName,omitempty"`
	AvatarURL     string         `json:"avatarUrl,omitempty"`
	Info          map[string]any `json:"info,omitempty"`
	Raw           map[string]any `json:"raw,omitempty"`
}

// ClientCreate is the body of CreateClient: link a user to a channel.
type ClientCreate struct {
	MatchCriteria MatchCriteria `json:"matchCriteria"`
	Confirmation  Confirmation  `json:"confirmation"`
	Target        ClientTarget  `json:"target"`
}

// MatchCriteria identifies the user on the channel (type mailgun, messagebird, twilio or whatsapp).
type MatchCriteria struct {
	Type          string `json:"type"`
	IntegrationID string `json:"integrationId"`
	Primary       *bool  `json:"primary,omitempty"`
	Address       string `json:"address,omitempty"`     // mailgun
	Subject       string `json:"subject,omitempty"`     // mailgun
	PhoneNumber   string `json:"phoneNumber,omitempty"` // messagebird, twilio, whatsapp
}

// Confirmation says how the link is confirmed: immediate, userActivity or prompt.
type Confirmation struct {
	Type    string       `json:"type"`
	Message *MessagePost `json:"message,omitempty"`
}

// ClientTarget is the conversation a new client is linked to.
type ClientTarget struct {
	ConversationID string `json:"conversationId"`
}

// ClientList is a page of ListClients.
type ClientList struct {
	Clients []UserClient `json:"clients"`
	Meta    Meta         `json:"meta"`
	Links   *Links       `json:"links,omitempty"`
}

// Device is a device a user's SDK client runs on.
type Device struct {
	ID                    string         `json:"id"`
	Type                  string         `json:"type,omitempty"`
	GUID                  string         `json:"guid,omitempty"`
	ClientID              string         `json:"clientId,omitempty"`
	Status                string         `json:"status,omitempty"`
	IntegrationID         string         `json:"integrationId,omitempty"`
	LastSeen              string         `json:"lastSeen,omitempty"`
	PushNotificationToken string         `json:"pushNotificationToken,omitempty"`
	Info                  map[string]any `json:"info,omitempty"`
	AppVersion            string         `json:"appVersion,omitempty"`
}

// UserOption qualifies a user lookup.
type UserOption func(url.Values)

// BrandID picks out a brand-separated user when the lookup is by externalId.
func BrandID(id string) UserOption { return func(q url.Values) { q.Set("brandId", id) } }

func userQuery(opts []UserOption) url.Values {
	if len(opts) == 0 {
		return nil
	}
	q := url.Values{}
	for _, o := range opts {
		o(q)
	}
	return q
}

// userPath is /v2/apps/{appId}/users/{userIdOrExternalId}/rest..., each segment encoded.
func userPath(appID, user string, rest ...string) string {
	return appPath(appID, append([]string{"users", seg(user)}, rest...)...)
}

// CreateUser creates a user.
func (c *Client) CreateUser(ctx context.Context, appID string, body UserCreate) (*User, error) {
	var out struct{ User User }
	if err := c.do(ctx, request{method: "POST", path: appPath(appID, "users"), body: body}, &out); err != nil {
		return nil, err
	}
	return &out.User, nil
}

// ListUsers returns the users with an identity of type email and value email (profile emails never
// match). The list is not paginated.
func (c *Client) ListUsers(ctx context.Context, appID, email string, opts ...UserOption) ([]User, error) {
	q := userQuery(opts)
	if q == nil {
		q = url.Values{}
	}
	q.Set("filter[identities.email]", email)
	var out struct{ Users []User }
	if err := c.do(ctx, request{method: "GET", path: appPath(appID, "users"), query: q}, &out); err != nil {
		return nil, err
	}
	return out.Users, nil
}

// GetUser returns the user whose id or externalId is user.
func (c *Client) GetUser(ctx context.Context, appID, user string, opts ...UserOption) (*User, error) {
	var out struct{ User User }
	if err := c.do(ctx, request{method: "GET", path: userPath(appID, user), query: userQuery(opts)}, &out); err != nil {
		return nil, err
	}
	return &out.User, nil
}

// UpdateUser changes a user and returns it.
func (c *Client) UpdateUser(ctx context.Context, appID, user string, body UserUpdate, opts ...UserOption) (*User, error) {
	var out struct{ User User }
	if err := c.do(ctx, request{method: "PATCH", path: userPath(appID, user), query: userQuery(opts), body: body}, &out); err != nil {
		return nil, err
	}
	return &out.User, nil
}

// DeleteUser deletes a user, its clients and its conversation history (the history goes in the
// background; the user:remove webhook says when).
func (c *Client) DeleteUser(ctx context.Context, appID, user string, opts ...UserOption) error {
	return c.do(ctx, request{method: "DELETE", path: userPath(appID, user), query: userQuery(opts)}, nil)
}

// DeleteUserPersonalInformation erases a user's personal information (profile, metadata, and the
// names and channel data of its clients) and returns the scrubbed user. Repeating it is harmless.
func (c *Client) DeleteUserPersonalInformation(ctx context.Context, appID, user string, opts ...UserOption) (*User, error) {
	var out struct{ User User }
	if err := c.do(ctx, request{method: "DELETE", path: userPath(appID, user, "personalinformation"), query: userQuery(opts)}, &out); err != nil {
		return nil, err
	}
	return &out.User, nil
}

// UserPath returns the escaped path of a user operation, for callers of Do: UserPath(app, "a/b",
// "personalinformation") is "/v2/apps/{app}/users/a%2Fb/personalinformation".
func UserPath(appID, user string, rest ...string) string { return userPath(appID, user, rest...) }

// CreateClient links a user to a channel; the client starts pending.
func (c *Client) CreateClient(ctx context.Context, appID, user string, body ClientCreate, opts ...UserOption) (*UserClient, error) {
	var out struct{ Client UserClient }
	if err := c.do(ctx, request{method: "POST", path: userPath(appID, user, "clients"), query: userQuery(opts), body: body}, &out); err != nil {
		return nil, err
	}
	return &out.Client, nil
}

// ListClients returns one page of a user's clients.
func (c *Client) ListClients(ctx context.Context, appID, user string, p Page, opts ...UserOption) (*ClientList, error) {
	var out ClientList
	q := p.query(userQuery(opts))
	if err := c.do(ctx, request{method: "GET", path: userPath(appID, user, "clients"), query: q}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Clients iterates over every client of a user from p onwards.
func (c *Client) Clients(ctx context.Context, appID, user string, p Page, opts ...UserOption) iter.Seq2[UserClient, error] {
	return forward(ctx, p, func(ctx context.Context, p Page) ([]UserClient, Meta, error) {
		l, err := c.ListClients(ctx, appID, user, p, opts...)
		if err != nil {
			return nil, Meta{}, err
		}
		return l.Clients, l.Meta, nil
	})
}

// RemoveClient removes a client of a user (not an sdk client).
func (c *Client) RemoveClient(ctx context.Context, appID, user, clientID string, opts ...UserOption) error {
	return c.do(ctx, request{method: "DELETE", path: userPath(appID, user, "clients", seg(clientID)), query: userQuery(opts)}, nil)
}

// ListDevices returns a user's devices, sorted by last seen (not paginated).
func (c *Client) ListDevices(ctx context.Context, appID, user string, opts ...UserOption) ([]Device, error) {
	var out struct{ Devices []Device }
	if err := c.do(ctx, request{method: "GET", path: userPath(appID, user, "devices"), query: userQuery(opts)}, &out); err != nil {
		return nil, err
	}
	return out.Devices, nil
}

// GetDevice returns a device of a user.
func (c *Client) GetDevice(ctx context.Context, appID, user, deviceID string, opts ...UserOption) (*Device, error) {
	var out struct{ Device Device }
	if err := c.do(ctx, request{method: "GET", path: userPath(appID, user, "devices", seg(deviceID)), query: userQuery(opts)}, &out); err != nil {
		return nil, err
	}
	return &out.Device, nil
}
