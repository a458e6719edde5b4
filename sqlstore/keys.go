package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/sunlamp/sunlamp"
)

const keyColumns = "id, scope, account_id, app_id, integration_id, display_name, secret, created_at"

func scanKey(r scanner) (sunlamp.Key, error) {
	var k sunlamp.Key
	var scope string
	var appID, integrationID sql.NullString
	var created int64
	if err := r.Scan(&k.ID, &scope, &k.AccountID, &appID, &integrationID, &k.DisplayName, &k.Secret, &created); err != nil {
		return k, err
	}
	k.Scope = sunlamp.Scope(scope)
	k.AppID, k.IntegrationID = appID.String, integrationID.String
	k.CreatedAt = sunlamp.FromMillis(created)
	return k, nil
}

// CreateKey stores k. App keys are limited to MaxAppKeys per app, integration keys to MaxAppKeys per
// integration.
func (s *Store) CreateKey(ctx context.Context, k sunlamp.Key) (sunlamp.Key, error) {
	if k.CreatedAt.IsZero() {
		k.CreatedAt = s.now()
	}
	err := s.inTx(ctx, func(t tx) error {
		if k.AppID != "" {
			var err error
			if k.Scope == sunlamp.ScopeIntegration {
				// The integration must exist (in this app) when its key commits: a key of a
				// concurrently deleted integration would reach the app with no way to delete it.
				err = t.lockForCount(ctx, "integrations", "id = ? AND app_id = ?", sunlamp.ErrIntegrationNotFound, k.IntegrationID, k.AppID)
			} else {
				err = t.lockForCount(ctx, "apps", "id = ?", sunlamp.ErrAppNotFound, k.AppID)
			}
			if err != nil {
				return err
			}
			var n int
			switch k.Scope {
			case sunlamp.ScopeApp:
				err = t.queryRow(ctx, "SELECT COUNT(*) FROM api_keys WHERE app_id = ? AND scope = ?", k.AppID, string(sunlamp.ScopeApp)).Scan(&n)
			case sunlamp.ScopeIntegration:
				err = t.queryRow(ctx, "SELECT COUNT(*) FROM api_keys WHERE integration_id = ?", k.IntegrationID).Scan(&n)
			}
			if err != nil {
				return err
			}
			if n >= sunlamp.MaxAppKeys {
				return sunlamp.ErrTooManyAppKeys
			}
		}
		return t.insertKey(ctx, k)
	})
	if err != nil {
		return k, fmt.Errorf("create key: %w", err)
	}
	return k, nil
}

func (t tx) insertKey(ctx context.Context, k sunlamp.Key) error {
	_, err := t.exec(ctx, "INSERT INTO api_keys ("+keyColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		k.ID, string(k.Scope), k.AccountID, nullStr(k.AppID), nullStr(k.IntegrationID), k.DisplayName, k.Secret, k.CreatedAt.UnixMilli())
	return err
}

// EnsureKey stores k unless a key with its id exists; an existing key gets k's secret.
func (s *Store) EnsureKey(ctx context.Context, k sunlamp.Key) (sunlamp.Key, error) {
	if k.CreatedAt.IsZero() {
		k.CreatedAt = s.now()
	}
	err := s.inTx(ctx, func(t tx) error {
		existing, err := scanKey(t.queryRow(ctx, "SELECT "+keyColumns+" FROM api_keys WHERE id = ?", k.ID))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return t.insertKey(ctx, k)
		case err != nil:
			return err
		}
		if existing.Secret != k.Secret {
			if _, err := t.exec(ctx, "UPDATE api_keys SET secret = ? WHERE id = ?", k.Secret, k.ID); err != nil {
				return err
			}
		}
		existing.Secret = k.Secret
		k = existing
		return nil
	})
	if err != nil {
		return k, fmt.Errorf("ensure key: %w", err)
	}
	return k, nil
}

// Key returns the key with id, or sunlamp.ErrNotFound.
func (s *Store) Key(ctx context.Context, id string) (sunlamp.Key, error) {
	k, err := scanKey(s.queryRow(ctx, "SELECT "+keyColumns+" FROM api_keys WHERE id = ?", id))
	if err != nil {
		return k, notFound(err, sunlamp.ErrNotFound, "get key")
	}
	return k, nil
}

// AppKeys returns the app keys of an app in creation order.
func (s *Store) AppKeys(ctx context.Context, appID string) ([]sunlamp.Key, error) {
	rows, err := s.query(ctx, "SELECT "+keyColumns+" FROM api_keys WHERE app_id = ? AND scope = ? ORDER BY created_at, id", appID, string(sunlamp.ScopeApp))
	if err != nil {
		return nil, fmt.Errorf("list app keys: %w", err)
	}
	defer rows.Close()
	keys := []sunlamp.Key{}
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, fmt.Errorf("list app keys: %w", err)
		}
		keys = append(keys, k)
	}
	return keys, rows.Err()
}

// DeleteKey removes the key with id, or returns sunlamp.ErrNotFound.
func (s *Store) DeleteKey(ctx context.Context, id string) error {
	err := s.inTx(ctx, func(t tx) error {
		return t.deleteOne(ctx, sunlamp.ErrNotFound, "DELETE FROM api_keys WHERE id = ?", id)
	})
	if err != nil {
		return fmt.Errorf("delete key: %w", err)
	}
	return nil
}

// CountKeys returns the number of keys of scope.
func (s *Store) CountKeys(ctx context.Context, scope sunlamp.Scope) (int, error) {
	var n int
	if err := s.queryRow(ctx, "SELECT COUNT(*) FROM api_keys WHERE scope = ?", string(scope)).Scan(&n); err != nil {
		return 0, fmt.Errorf("count keys: %w", err)
	}
	return n, nil
}
