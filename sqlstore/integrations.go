package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/sunlamp/sunlamp"
)

const integrationColumns = "id, app_id, type, status, display_name, config, credentials, default_responder_id, created_at"

func scanIntegration(r scanner) (sunlamp.Integration, error) {
	var in sunlamp.Integration
	var name, config, creds, responder sql.NullString
	var created int64
	if err := r.Scan(&in.ID, &in.AppID, &in.Type, &in.Status, &name, &config, &creds, &responder, &created); err != nil {
		return in, err
	}
	in.DisplayName, in.DefaultResponderID = name.String, responder.String
	in.CreatedAt = sunlamp.FromMillis(created)
	if err := fromJSON(config, &in.Config); err != nil {
		return in, err
	}
	if err := fromJSON(creds, &in.Credentials); err != nil {
		return in, err
	}
	return in, nil
}

// jsonObject encodes m as a JSON object column; nil is {}.
func jsonObject(m map[string]any) (string, error) {
	if m == nil {
		return "{}", nil
	}
	v, err := toJSON(m)
	if err != nil {
		return "", err
	}
	return v.(string), nil
}

// CreateIntegration stores an integration and its webhooks in one transaction.
func (s *Store) CreateIntegration(ctx context.Context, in sunlamp.Integration) (sunlamp.Integration, error) {
	if in.CreatedAt.IsZero() {
		in.CreatedAt = s.now()
	}
	config, err := jsonObject(in.Config)
	if err != nil {
		return in, err
	}
	creds, err := jsonObject(in.Credentials)
	if err != nil {
		return in, err
	}
	err = s.inTx(ctx, func(t tx) error {
		if _, err := t.app(ctx, in.AppID); err != nil {
			return err
		}
		if _, err := t.exec(ctx, "INSERT INTO integrations ("+integrationColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
			in.ID, in.AppID, in.Type, in.Status, nullStr(in.DisplayName), config, creds, nullStr(in.DefaultResponderID), in.CreatedAt.UnixMilli()); err != nil {
			return err
		}
		for i := range in.Webhooks {
			w := &in.Webhooks[i]
			w.AppID, w.IntegrationID = in.AppID, in.ID
			if w.CreatedAt.IsZero() {
				w.CreatedAt = in.CreatedAt
			}
			if err := t.insertWebhook(ctx, *w); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return in, fmt.Errorf("create integration: %w", err)
	}
	return in, nil
}

func (t tx) integration(ctx context.Context, appID, id string) (sunlamp.Integration, error) {
	in, err := scanIntegration(t.queryRow(ctx, "SELECT "+integrationColumns+" FROM integrations WHERE app_id = ? AND id = ?", appID, id))
	if err != nil {
		return in, notFound(err, sunlamp.ErrIntegrationNotFound, "get integration")
	}
	return in, nil
}

// withWebhooks fills in the webhooks of custom integrations.
func (t tx) withWebhooks(ctx context.Context, ins []sunlamp.Integration) error {
	for i := range ins {
		if ins[i].Type != sunlamp.IntegrationCustom {
			continue
		}
		ws, err := t.webhooks(ctx, ins[i].AppID, ins[i].ID)
		if err != nil {
			return err
		}
		ins[i].Webhooks = ws
	}
	return nil
}

// Integration returns an app's integration with its webhooks.
func (s *Store) Integration(ctx context.Context, appID, id string) (sunlamp.Integration, error) {
	var in sunlamp.Integration
	err := s.readTx(ctx, func(t tx) error {
		var err error
		if in, err = t.integration(ctx, appID, id); err != nil {
			return err
		}
		one := []sunlamp.Integration{in}
		err = t.withWebhooks(ctx, one)
		in = one[0]
		return err
	})
	return in, err
}

// Integrations lists an app's integrations, optionally of some types only.
func (s *Store) Integrations(ctx context.Context, appID string, types []string, p sunlamp.Page) ([]sunlamp.Integration, sunlamp.Cursor, error) {
	var out []sunlamp.Integration
	var cur sunlamp.Cursor
	where, args := "app_id = ?", []any{appID}
	if len(types) > 0 {
		where += " AND type IN (?" + strings.Repeat(", ?", len(types)-1) + ")"
		for _, ty := range types {
			args = append(args, ty)
		}
	}
	err := s.readTx(ctx, func(t tx) error {
		var err error
		out, cur, err = pageOf(ctx, t, p, pageQuery{columns: integrationColumns, from: "integrations", where: where, args: args},
			scanIntegration, func(in sunlamp.Integration) string { return in.ID })
		if err != nil {
			return err
		}
		return t.withWebhooks(ctx, out)
	})
	if err != nil {
		return nil, cur, fmt.Errorf("list integrations: %w", err)
	}
	return out, cur, nil
}

// merge applies the keys of u to m: a nil value removes the key.
func merge(m, u map[string]any) map[string]any {
	if len(u) == 0 {
		return m
	}
	if m == nil {
		m = map[string]any{}
	}
	for k, v := range u {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	return m
}

// UpdateIntegration applies u to an app's integration.
func (s *Store) UpdateIntegration(ctx context.Context, appID, id string, u sunlamp.IntegrationUpdate) (sunlamp.Integration, error) {
	var in sunlamp.Integration
	err := s.inTx(ctx, func(t tx) error {
		var err error
		if in, err = t.integration(ctx, appID, id); err != nil {
			return err
		}
		if u.DisplayName != nil {
			in.DisplayName = *u.DisplayName
		}
		if u.DefaultResponderID != nil {
			in.DefaultResponderID = *u.DefaultResponderID
		}
		in.Config = merge(in.Config, u.Config)
		in.Credentials = merge(in.Credentials, u.Credentials)
		config, err := jsonObject(in.Config)
		if err != nil {
			return err
		}
		creds, err := jsonObject(in.Credentials)
		if err != nil {
			return err
		}
		if _, err := t.exec(ctx, "UPDATE integrations SET display_name = ?, config = ?, credentials = ?, default_responder_id = ? WHERE app_id = ? AND id = ?",
			nullStr(in.DisplayName), config, creds, nullStr(in.DefaultResponderID), appID, id); err != nil {
			return err
		}
		one := []sunlamp.Integration{in}
		err = t.withWebhooks(ctx, one)
		in = one[0]
		return err
	})
	if err != nil {
		return in, fmt.Errorf("update integration: %w", err)
	}
	return in, nil
}

// DeleteIntegration removes an integration, its webhooks (their deliveries cascade) and its keys.
func (s *Store) DeleteIntegration(ctx context.Context, appID, id string) error {
	err := s.inTxRetried(ctx, func(t tx) error {
		// api_keys.integration_id has no foreign key (keys predate integrations): delete them here.
		if _, err := t.exec(ctx, "DELETE FROM api_keys WHERE app_id = ? AND integration_id = ?", appID, id); err != nil {
			return err
		}
		return t.deleteOne(ctx, sunlamp.ErrIntegrationNotFound, "DELETE FROM integrations WHERE app_id = ? AND id = ?", appID, id)
	})
	if err != nil {
		return fmt.Errorf("delete integration: %w", err)
	}
	// Its webhooks' pending deliveries went with it (see DeleteWebhook).
	if err := s.forgetOrphanedRemovals(ctx, appID); err != nil {
		return fmt.Errorf("delete integration: %w", err)
	}
	return nil
}

// IntegrationKeys returns the API keys of an app's integration in creation order.
func (s *Store) IntegrationKeys(ctx context.Context, appID, integrationID string) ([]sunlamp.Key, error) {
	rows, err := s.query(ctx, "SELECT "+keyColumns+" FROM api_keys WHERE app_id = ? AND integration_id = ? AND scope = ? ORDER BY created_at, id",
		appID, integrationID, string(sunlamp.ScopeIntegration))
	if err != nil {
		return nil, fmt.Errorf("list integration keys: %w", err)
	}
	defer rows.Close()
	keys := []sunlamp.Key{}
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, fmt.Errorf("list integration keys: %w", err)
		}
		keys = append(keys, k)
	}
	return keys, rows.Err()
}
