package client

import (
	"context"
	"errors"
	"net/http"
	"net/url"
)

// AuthorizeOptions are Authorize's optional parameters.
type AuthorizeOptions struct {
	State       string // returned to the redirect URI with the code
	RedirectURI string // one of the client's; its first when ""
}

// Authorize begins the marketplace OAuth flow as the partner's button does, without a browser: it
// returns where the service sends the browser (the page where the app owner signs in and allows
// or denies). No credentials are sent.
func (c *Client) Authorize(ctx context.Context, clientID, responseType string, opts AuthorizeOptions) (*url.URL, error) {
	q := url.Values{"client_id": {clientID}, "response_type": {responseType}}
	if opts.State != "" {
		q.Set("state", opts.State)
	}
	if opts.RedirectURI != "" {
		q.Set("redirect_uri", opts.RedirectURI)
	}
	_, err := c.send(ctx, request{method: "GET", path: "/oauth/authorize", query: q, anonymous: true})
	var e *Error
	if errors.As(err, &e) && e.Status == http.StatusFound && e.Response != nil {
		return url.Parse(e.Response.Header.Get("Location"))
	}
	if err == nil {
		err = errors.New("client: GET /oauth/authorize: no redirect")
	}
	return nil, err
}

// TokenRequest is GetToken's body.
type TokenRequest struct {
	Code         string `json:"code"`
	GrantType    string `json:"grant_type"` // authorization_code
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
}

// Token is an access token: a Bearer credential of integration scope (use it with Bearer).
type Token struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
}

// GetToken exchanges an authorization code for an access token (server to server; the client's
// own credentials are not sent).
func (c *Client) GetToken(ctx context.Context, body TokenRequest) (*Token, error) {
	var out Token
	if err := c.do(ctx, request{method: "POST", path: "/oauth/token", body: body, anonymous: true}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetTokenInfo returns the app of the client's OAuth token, with its subdomain.
func (c *Client) GetTokenInfo(ctx context.Context) (*App, error) {
	var out struct{ App App }
	if err := c.do(ctx, request{method: "GET", path: "/v2/tokenInfo"}, &out); err != nil {
		return nil, err
	}
	return &out.App, nil
}

// RevokeAccess removes the OAuth token's integration from its app (its webhooks and tokens too).
func (c *Client) RevokeAccess(ctx context.Context) error {
	return c.do(ctx, request{method: "DELETE", path: "/oauth/authorization"}, nil)
}
