package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/sunlamp/sunlamp"
)

const webhookColumns = "id, app_id, integration_id, version, target, triggers, secret, include_full_user, include_full_source, created_at"

func scanWebhook(r scanner) (sunlamp.Webhook, error) {
	var w sunlamp.Webhook
	var triggers string
	var fullUser, fullSource int
	var created int64
	if err := r.Scan(&w.ID, &w.AppID, &w.IntegrationID, &w.Version, &w.Target, &triggers, &w.Secret, &fullUser, &fullSource, &created); err != nil {
		return w, err
	}
	w.IncludeFullUser, w.IncludeFullSource = fullUser != 0, fullSource != 0
	w.CreatedAt = sunlamp.FromMillis(created)
	if err := json.Unmarshal([]byte(triggers), &w.Triggers); err != nil {
		return w, fmt.Errorf("decode triggers: %w", err)
	}
	return w, nil
}

func webhookFlag(b bool) int {
	if b {
		return 1
	}
	return 0
}

func triggersJSON(ts []string) string {
	if ts == nil {
		ts = []string{}
	}
	b, _ := json.Marshal(ts)
	return string(b)
}

// insertWebhook stores w, refusing an app's (MaxWebhooks+1)th webhook.
func (t tx) insertWebhook(ctx context.Context, w sunlamp.Webhook) error {
	if err := t.lockForCount(ctx, "apps", "id = ?", sunlamp.ErrAppNotFound, w.AppID); err != nil {
		return err
	}
	var n int
	if err := t.queryRow(ctx, "SELECT COUNT(*) FROM webhooks WHERE app_id = ?", w.AppID).Scan(&n); err != nil {
		return err
	}
	if n >= sunlamp.MaxWebhooks {
		return sunlamp.ErrTooManyWebhooks
	}
	_, err := t.exec(ctx, "INSERT INTO webhooks ("+webhookColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		w.ID, w.AppID, w.IntegrationID, w.Version, w.Target, triggersJSON(w.Triggers), w.Secret,
		webhookFlag(w.IncludeFullUser), webhookFlag(w.IncludeFullSource), w.CreatedAt.UnixMilli())
	return err
}

// CreateWebhook stores a webhook of an app's integration.
func (s *Store) CreateWebhook(ctx context.Context, w sunlamp.Webhook) (sunlamp.Webhook, error) {
	if w.CreatedAt.IsZero() {
		w.CreatedAt = s.now()
	}
	err := s.inTx(ctx, func(t tx) error {
		if _, err := t.integration(ctx, w.AppID, w.IntegrationID); err != nil {
			return err
		}
		return t.insertWebhook(ctx, w)
	})
	if err != nil {
		return w, fmt.Errorf("create webhook: %w", err)
	}
	return w, nil
}

func (t tx) webhook(ctx context.Context, appID, integrationID, id string) (sunlamp.Webhook, error) {
	w, err := scanWebhook(t.queryRow(ctx, "SELECT "+webhookColumns+" FROM webhooks WHERE app_id = ? AND integration_id = ? AND id = ?", appID, integrationID, id))
	if err != nil {
		return w, notFound(err, sunlamp.ErrNotFound, "get webhook")
	}
	return w, nil
}

func (t tx) webhooks(ctx context.Context, appID, integrationID string) ([]sunlamp.Webhook, error) {
	rows, err := t.query(ctx, "SELECT "+webhookColumns+" FROM webhooks WHERE app_id = ? AND integration_id = ? ORDER BY id", appID, integrationID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []sunlamp.Webhook{}
	for rows.Next() {
		w, err := scanWebhook(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// Webhook returns a webhook of an app's integration, or sunlamp.ErrNotFound.
func (s *Store) Webhook(ctx context.Context, appID, integrationID, id string) (sunlamp.Webhook, error) {
	var w sunlamp.Webhook
	err := s.readTx(ctx, func(t tx) error {
		var err error
		w, err = t.webhook(ctx, appID, integrationID, id)
		return err
	})
	return w, err
}

// Webhooks returns the webhooks of an app's integration.
func (s *Store) Webhooks(ctx context.Context, appID, integrationID string) ([]sunlamp.Webhook, error) {
	var out []sunlamp.Webhook
	err := s.readTx(ctx, func(t tx) error {
		if _, err := t.integration(ctx, appID, integrationID); err != nil {
			return err
		}
		var err error
		out, err = t.webhooks(ctx, appID, integrationID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	return out, nil
}

// UpdateWebhook applies u to a webhook. Deliveries already written keep going to it; new events
// follow the new triggers.
func (s *Store) UpdateWebhook(ctx context.Context, appID, integrationID, id string, u sunlamp.WebhookUpdate) (sunlamp.Webhook, error) {
	var w sunlamp.Webhook
	err := s.inTx(ctx, func(t tx) error {
		var err error
		if w, err = t.webhook(ctx, appID, integrationID, id); err != nil {
			return err
		}
		if u.Target != nil {
			w.Target = *u.Target
		}
		if u.Triggers != nil {
			w.Triggers = u.Triggers
		}
		if u.IncludeFullUser != nil {
			w.IncludeFullUser = *u.IncludeFullUser
		}
		if u.IncludeFullSource != nil {
			w.IncludeFullSource = *u.IncludeFullSource
		}
		_, err = t.exec(ctx, "UPDATE webhooks SET target = ?, triggers = ?, include_full_user = ?, include_full_source = ? WHERE id = ?",
			w.Target, triggersJSON(w.Triggers), webhookFlag(w.IncludeFullUser), webhookFlag(w.IncludeFullSource), id)
		return err
	})
	if err != nil {
		return w, fmt.Errorf("update webhook: %w", err)
	}
	return w, nil
}

// DeleteWebhook removes a webhook; its deliveries cascade.
func (s *Store) DeleteWebhook(ctx context.Context, appID, integrationID, id string) error {
	err := s.inTxRetried(ctx, func(t tx) error {
		return t.deleteOne(ctx, sunlamp.ErrNotFound, "DELETE FROM webhooks WHERE app_id = ? AND integration_id = ? AND id = ?", appID, integrationID, id)
	})
	if err != nil {
		return fmt.Errorf("delete webhook: %w", err)
	}
	// Its pending deliveries went with it: a user:remove that waited only for them is over.
	if err := s.forgetOrphanedRemovals(ctx, appID); err != nil {
		return fmt.Errorf("delete webhook: %w", err)
	}
	return nil
}
