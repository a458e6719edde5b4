package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/sunlamp/sunlamp"
)

const appColumns = "id, account_id, display_name, settings, metadata, created_at"

func scanApp(r scanner) (sunlamp.App, error) {
	var a sunlamp.App
	var settings, metadata sql.NullString
	var created int64
	if err := r.Scan(&a.ID, &a.AccountID, &a.DisplayName, &settings, &metadata, &created); err != nil {
		return a, err
	}
	a.CreatedAt = sunlamp.FromMillis(created)
	if err := fromJSON(settings, &a.Settings); err != nil {
		return a, err
	}
	if err := fromJSON(metadata, &a.Metadata); err != nil {
		return a, err
	}
	return a, nil
}

// CreateApp stores a new app with a new id.
func (s *Store) CreateApp(ctx context.Context, a sunlamp.App) (sunlamp.App, error) {
	a.ID = sunlamp.NewID()
	a.CreatedAt = s.now()
	settings, err := toJSON(a.Settings)
	if err != nil {
		return a, err
	}
	metadata, err := toJSON(a.Metadata)
	if err != nil {
		return a, err
	}
	err = s.inTx(ctx, func(t tx) error {
		_, err := t.exec(ctx, "INSERT INTO apps ("+appColumns+") VALUES (?, ?, ?, ?, ?, ?)",
			a.ID, a.AccountID, a.DisplayName, settings, metadata, a.CreatedAt.UnixMilli())
		return err
	})
	if err != nil {
		return a, fmt.Errorf("create app: %w", err)
	}
	return a, nil
}

// App returns the app with id, or an app_not_found error.
func (s *Store) App(ctx context.Context, id string) (sunlamp.App, error) {
	a, err := scanApp(s.queryRow(ctx, "SELECT "+appColumns+" FROM apps WHERE id = ?", id))
	if err != nil {
		return a, notFound(err, sunlamp.ErrAppNotFound, "get app")
	}
	return a, nil
}

func (t tx) app(ctx context.Context, id string) (sunlamp.App, error) {
	a, err := scanApp(t.queryRow(ctx, "SELECT "+appColumns+" FROM apps WHERE id = ?", id))
	if err != nil {
		return a, notFound(err, sunlamp.ErrAppNotFound, "get app")
	}
	return a, nil
}

// Apps lists the apps of an account, one page at a time, in id order.
func (s *Store) Apps(ctx context.Context, accountID string, p sunlamp.Page) ([]sunlamp.App, sunlamp.Cursor, error) {
	var apps []sunlamp.App
	var cur sunlamp.Cursor
	err := s.readTx(ctx, func(t tx) error {
		var err error
		apps, cur, err = pageOf(ctx, t, p, pageQuery{
			columns: appColumns, from: "apps", where: "account_id = ?", args: []any{accountID},
		}, scanApp, func(a sunlamp.App) string { return a.ID })
		return err
	})
	if err != nil {
		return nil, cur, fmt.Errorf("list apps: %w", err)
	}
	return apps, cur, nil
}

// UpdateApp applies u to the app with id.
func (s *Store) UpdateApp(ctx context.Context, id string, u sunlamp.AppUpdate) (sunlamp.App, error) {
	var a sunlamp.App
	err := s.inTx(ctx, func(t tx) error {
		var err error
		if a, err = t.app(ctx, id); err != nil {
			return err
		}
		if u.DisplayName != nil {
			a.DisplayName = *u.DisplayName
		}
		if u.Settings != nil {
			a.Settings.Merge(*u.Settings)
		}
		if u.Metadata != nil {
			a.Metadata = *u.Metadata
		}
		settings, err := toJSON(a.Settings)
		if err != nil {
			return err
		}
		metadata, err := toJSON(a.Metadata)
		if err != nil {
			return err
		}
		_, err = t.exec(ctx, "UPDATE apps SET display_name = ?, settings = ?, metadata = ? WHERE id = ?",
			a.DisplayName, settings, metadata, id)
		return err
	})
	if err != nil {
		return a, fmt.Errorf("update app: %w", err)
	}
	return a, nil
}

// DeleteApp removes the app; foreign keys with ON DELETE CASCADE remove everything it owns.
func (s *Store) DeleteApp(ctx context.Context, id string) error {
	err := s.inTxRetried(ctx, func(t tx) error {
		return t.deleteOne(ctx, sunlamp.ErrAppNotFound, "DELETE FROM apps WHERE id = ?", id)
	})
	if err != nil {
		return fmt.Errorf("delete app: %w", err)
	}
	s.msgBatch.quiet.Delete(id) // the group commit's hint about the app (groupcommit.go)
	return nil
}
