package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/sunlamp/sunlamp"
)

const oauthClientColumns = "id, name, secret_sha256, redirect_uris, remove_url, created_at"

func scanOAuthClient(r scanner) (sunlamp.OAuthClient, error) {
	var c sunlamp.OAuthClient
	var uris, remove sql.NullString
	var created int64
	if err := r.Scan(&c.ID, &c.Name, &c.SecretSHA256, &uris, &remove, &created); err != nil {
		return c, err
	}
	c.RemoveURL, c.CreatedAt = remove.String, sunlamp.FromMillis(created)
	if err := fromJSON(uris, &c.RedirectURIs); err != nil {
		return c, err
	}
	return c, nil
}

// CreateOAuthClient registers a partner's client; see sunlamp.OAuthStore.
func (s *Store) CreateOAuthClient(ctx context.Context, c sunlamp.OAuthClient) (sunlamp.OAuthClient, error) {
	if _, builtIn := sunlamp.BuiltInOAuthClient(c.ID); builtIn {
		return c, sunlamp.ErrOAuthClientExists
	}
	c.CreatedAt, c.BuiltIn = s.now(), false
	uris, err := toJSON(c.RedirectURIs)
	if err != nil {
		return c, err
	}
	err = s.inTx(ctx, func(t tx) error {
		var one int
		switch err := t.queryRow(ctx, "SELECT 1 FROM oauth_clients WHERE id = ?", c.ID).Scan(&one); {
		case err == nil:
			return sunlamp.ErrOAuthClientExists
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		_, err := t.exec(ctx, "INSERT INTO oauth_clients ("+oauthClientColumns+") VALUES (?, ?, ?, ?, ?, ?)",
			c.ID, c.Name, c.SecretSHA256, uris, nullStr(c.RemoveURL), c.CreatedAt.UnixMilli())
		if errors.Is(err, errUnique) { // registered concurrently
			return sunlamp.ErrOAuthClientExists
		}
		return err
	})
	if err != nil {
		return c, fmt.Errorf("create oauth client: %w", err)
	}
	return c, nil
}

func (t tx) oauthClient(ctx context.Context, id string) (sunlamp.OAuthClient, error) {
	if c, ok := sunlamp.BuiltInOAuthClient(id); ok {
		return c, nil
	}
	c, err := scanOAuthClient(t.queryRow(ctx, "SELECT "+oauthClientColumns+" FROM oauth_clients WHERE id = ?", id))
	if err != nil {
		return c, notFound(err, sunlamp.ErrOAuthClientNotFound, "get oauth client")
	}
	return c, nil
}

// OAuthClient returns a built-in or registered client; see sunlamp.OAuthStore.
func (s *Store) OAuthClient(ctx context.Context, id string) (sunlamp.OAuthClient, error) {
	var c sunlamp.OAuthClient
	err := s.readTx(ctx, func(t tx) error {
		var err error
		c, err = t.oauthClient(ctx, id)
		return err
	})
	return c, err
}

// OAuthClients returns every client; see sunlamp.OAuthStore.
func (s *Store) OAuthClients(ctx context.Context) ([]sunlamp.OAuthClient, error) {
	out := append([]sunlamp.OAuthClient(nil), sunlamp.BuiltInOAuthClients...)
	rows, err := s.query(ctx, "SELECT "+oauthClientColumns+" FROM oauth_clients ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("list oauth clients: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		c, err := scanOAuthClient(rows)
		if err != nil {
			return nil, fmt.Errorf("list oauth clients: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// UpdateOAuthClient changes a registered client; see sunlamp.OAuthStore.
func (s *Store) UpdateOAuthClient(ctx context.Context, id string, u sunlamp.OAuthClientUpdate) (sunlamp.OAuthClient, error) {
	var c sunlamp.OAuthClient
	err := s.inTx(ctx, func(t tx) error {
		var err error
		if c, err = t.oauthClient(ctx, id); err != nil {
			return err
		}
		if c.BuiltIn {
			return sunlamp.ErrOAuthClientBuiltIn
		}
		if u.Name != nil {
			c.Name = *u.Name
		}
		if u.RedirectURIs != nil {
			c.RedirectURIs = u.RedirectURIs
		}
		if u.RemoveURL != nil {
			c.RemoveURL = *u.RemoveURL
		}
		uris, err := toJSON(c.RedirectURIs)
		if err != nil {
			return err
		}
		_, err = t.exec(ctx, "UPDATE oauth_clients SET name = ?, redirect_uris = ?, remove_url = ? WHERE id = ?", c.Name, uris, nullStr(c.RemoveURL), id)
		return err
	})
	if err != nil {
		return c, fmt.Errorf("update oauth client: %w", err)
	}
	return c, nil
}

// DeleteOAuthClient removes a registered client and its integrations in every app; see
// sunlamp.OAuthStore.
func (s *Store) DeleteOAuthClient(ctx context.Context, id string) ([]sunlamp.Integration, error) {
	var removed []sunlamp.Integration
	err := s.inTx(ctx, func(t tx) error {
		removed = nil
		c, err := t.oauthClient(ctx, id)
		if err != nil {
			return err
		}
		if c.BuiltIn {
			return sunlamp.ErrOAuthClientBuiltIn
		}
		rows, err := t.query(ctx, "SELECT app_id, integration_id FROM oauth_installs WHERE client_id = ? ORDER BY integration_id", id)
		if err != nil {
			return err
		}
		for rows.Next() {
			var in sunlamp.Integration
			if err := rows.Scan(&in.AppID, &in.ID); err != nil {
				rows.Close()
				return err
			}
			in.Type = id
			removed = append(removed, in)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, in := range removed {
			if err := t.deleteIntegration(ctx, in.AppID, in.ID); err != nil {
				return err
			}
		}
		_, err = t.exec(ctx, "DELETE FROM oauth_clients WHERE id = ?", id) // its codes cascade
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("delete oauth client: %w", err)
	}
	return removed, nil
}

// deleteIntegration removes an integration with its keys (its webhooks, switchboard integrations
// and OAuth install cascade), as DeleteIntegration does.
func (t tx) deleteIntegration(ctx context.Context, appID, id string) error {
	if _, err := t.exec(ctx, "DELETE FROM api_keys WHERE app_id = ? AND integration_id = ?", appID, id); err != nil {
		return err
	}
	return t.deleteOne(ctx, sunlamp.ErrIntegrationNotFound, "DELETE FROM integrations WHERE app_id = ? AND id = ?", appID, id)
}

// CreateOAuthCode stores an authorization code; see sunlamp.OAuthStore.
func (s *Store) CreateOAuthCode(ctx context.Context, c sunlamp.OAuthCode) error {
	err := s.inTx(ctx, func(t tx) error {
		if _, err := t.app(ctx, c.AppID); err != nil {
			return err
		}
		if _, err := t.oauthClient(ctx, c.ClientID); err != nil {
			return err
		}
		_, err := t.exec(ctx, "INSERT INTO oauth_codes (code_sha256, client_id, app_id, redirect_uri, expires_at) VALUES (?, ?, ?, ?, ?)",
			c.CodeSHA256, c.ClientID, c.AppID, c.RedirectURI, c.ExpiresAt.UnixMilli())
		if errors.Is(err, errForeignKey) { // the client or the app went away meanwhile
			return sunlamp.ErrOAuthClientNotFound
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("create oauth code: %w", err)
	}
	return nil
}

// RedeemOAuthCode exchanges a code for a token key; see sunlamp.OAuthStore.
func (s *Store) RedeemOAuthCode(ctx context.Context, r sunlamp.OAuthRedemption) (sunlamp.Integration, sunlamp.Key, error) {
	// The code goes in a transaction of its own, so that it is spent even when the request fails.
	var code sunlamp.OAuthCode
	err := s.inTx(ctx, func(t tx) error {
		var expires int64
		err := t.queryRow(ctx, "DELETE FROM oauth_codes WHERE code_sha256 = ? RETURNING client_id, app_id, redirect_uri, expires_at", r.CodeSHA256).
			Scan(&code.ClientID, &code.AppID, &code.RedirectURI, &expires)
		if errors.Is(err, sql.ErrNoRows) {
			return sunlamp.ErrOAuthInvalidGrant
		}
		code.ExpiresAt = sunlamp.FromMillis(expires)
		return err
	})
	if err != nil {
		return sunlamp.Integration{}, sunlamp.Key{}, fmt.Errorf("redeem oauth code: %w", err)
	}
	if code.ClientID != r.ClientID || !r.Now.Before(code.ExpiresAt) || (r.RedirectURI != "" && r.RedirectURI != code.RedirectURI) {
		return sunlamp.Integration{}, sunlamp.Key{}, sunlamp.ErrOAuthInvalidGrant
	}
	in, k := r.Integration, r.Key
	in.AppID, in.Type = code.AppID, code.ClientID
	err = s.inTx(ctx, func(t tx) error {
		var err error
		if in, err = t.ensureOAuthInstall(ctx, in); err != nil {
			return err
		}
		a, err := t.app(ctx, in.AppID)
		if err != nil {
			return err
		}
		k.AccountID, k.AppID, k.IntegrationID, k.Scope = a.AccountID, in.AppID, in.ID, sunlamp.ScopeIntegration
		if k.CreatedAt.IsZero() {
			k.CreatedAt = s.now()
		}
		return t.insertKey(ctx, k)
	})
	if err != nil {
		return in, k, fmt.Errorf("redeem oauth code: %w", err)
	}
	return in, k, nil
}

// ensureOAuthInstall returns the app's integration of in.Type (an OAuth client id), creating in
// when there is none. The app's row is locked first (PostgreSQL), so that two authorizations of one
// client cannot both create one.
func (t tx) ensureOAuthInstall(ctx context.Context, in sunlamp.Integration) (sunlamp.Integration, error) {
	if err := t.lockForCount(ctx, "apps", "id = ?", sunlamp.ErrAppNotFound, in.AppID); err != nil {
		return in, err
	}
	var id string
	err := t.queryRow(ctx, "SELECT integration_id FROM oauth_installs WHERE app_id = ? AND client_id = ?", in.AppID, in.Type).Scan(&id)
	switch {
	case err == nil:
		return t.integration(ctx, in.AppID, id)
	case !errors.Is(err, sql.ErrNoRows):
		return in, err
	}
	if in.CreatedAt.IsZero() {
		in.CreatedAt = t.s.now()
	}
	config, err := jsonObject(in.Config)
	if err != nil {
		return in, err
	}
	if _, err := t.exec(ctx, "INSERT INTO integrations ("+integrationColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
		in.ID, in.AppID, in.Type, in.Status, nullStr(in.DisplayName), config, "{}", nil, in.CreatedAt.UnixMilli()); err != nil {
		return in, err
	}
	_, err = t.exec(ctx, "INSERT INTO oauth_installs (app_id, client_id, integration_id, created_at) VALUES (?, ?, ?, ?)",
		in.AppID, in.Type, in.ID, in.CreatedAt.UnixMilli())
	return in, err
}

// EnsureOAuthIntegration installs a built-in client on an app once; see sunlamp.OAuthStore.
func (s *Store) EnsureOAuthIntegration(ctx context.Context, appID string, in sunlamp.Integration) (sunlamp.Integration, error) {
	if _, ok := sunlamp.BuiltInOAuthClient(in.Type); !ok {
		return in, sunlamp.ErrOAuthClientNotFound
	}
	in.AppID = appID
	err := s.inTx(ctx, func(t tx) error {
		var err error
		in, err = t.ensureOAuthInstall(ctx, in)
		return err
	})
	if err != nil {
		return in, fmt.Errorf("ensure oauth integration: %w", err)
	}
	return in, nil
}

// OAuthInstalls lists an app's OAuth integrations; see sunlamp.OAuthStore.
func (s *Store) OAuthInstalls(ctx context.Context, appID string) ([]sunlamp.OAuthInstall, error) {
	out := []sunlamp.OAuthInstall{}
	err := s.readTx(ctx, func(t tx) error {
		rows, err := t.query(ctx, "SELECT integration_id, client_id, created_at FROM oauth_installs WHERE app_id = ? ORDER BY created_at, integration_id", appID)
		if err != nil {
			return err
		}
		var ids []string
		for rows.Next() {
			var in sunlamp.OAuthInstall
			var id string
			var created int64
			if err := rows.Scan(&id, &in.ClientID, &created); err != nil {
				rows.Close()
				return err
			}
			in.CreatedAt = sunlamp.FromMillis(created)
			ids = append(ids, id)
			out = append(out, in)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for i, id := range ids {
			in, err := t.integration(ctx, appID, id)
			if err != nil {
				return err
			}
			ws, err := t.webhooks(ctx, appID, id)
			if err != nil {
				return err
			}
			in.Webhooks = ws
			out[i].Integration = in
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list oauth integrations: %w", err)
	}
	return out, nil
}
