package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/sunlamp/sunlamp"
)

const userColumns = "id, app_id, external_id, signed_up_at, given_name, surname, email, avatar_url, locale, metadata, identities"

func scanUser(r scanner) (sunlamp.User, error) {
	var u sunlamp.User
	var ext, given, surname, email, avatar, locale, metadata, identities sql.NullString
	var signed int64
	if err := r.Scan(&u.ID, &u.AppID, &ext, &signed, &given, &surname, &email, &avatar, &locale, &metadata, &identities); err != nil {
		return u, err
	}
	u.ExternalID = ext.String
	u.SignedUpAt = sunlamp.FromMillis(signed)
	u.Profile = sunlamp.Profile{GivenName: given.String, Surname: surname.String, Email: email.String, AvatarURL: avatar.String, Locale: locale.String}
	if err := fromJSON(metadata, &u.Metadata); err != nil {
		return u, err
	}
	if err := fromJSON(identities, &u.Identities); err != nil {
		return u, err
	}
	return u, nil
}

// CreateUser stores u; ErrUserExists on a duplicate externalId in the app.
func (s *Store) CreateUser(ctx context.Context, u sunlamp.User) (sunlamp.User, error) {
	if u.SignedUpAt.IsZero() {
		u.SignedUpAt = s.now()
	}
	err := s.inTx(ctx, func(t tx) error {
		if _, err := t.app(ctx, u.AppID); err != nil {
			return err
		}
		return t.insertUser(ctx, u)
	})
	if err != nil {
		return u, fmt.Errorf("create user: %w", err)
	}
	return u, nil
}

func (t tx) insertUser(ctx context.Context, u sunlamp.User) error {
	metadata, err := toJSON(u.Metadata)
	if err != nil {
		return err
	}
	var identities any
	if len(u.Identities) > 0 {
		if identities, err = toJSON(u.Identities); err != nil {
			return err
		}
	}
	p := u.Profile
	_, err = t.exec(ctx, "INSERT INTO users ("+userColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		u.ID, u.AppID, nullStr(u.ExternalID), u.SignedUpAt.UnixMilli(),
		nullStr(p.GivenName), nullStr(p.Surname), nullStr(p.Email), nullStr(p.AvatarURL), nullStr(p.Locale),
		metadata, identities)
	if errors.Is(err, errUnique) {
		return sunlamp.ErrUserExists
	}
	return err
}

// User returns the user of app whose id, or failing that externalId, is idOrExternalID.
func (s *Store) User(ctx context.Context, appID, idOrExternalID string) (sunlamp.User, error) {
	var u sunlamp.User
	err := s.readTx(ctx, func(t tx) error {
		var err error
		u, err = t.user(ctx, appID, idOrExternalID)
		return err
	})
	return u, err
}

// user looks a user up by id first, then by externalId, as the spec's {userIdOrExternalId} does.
func (t tx) user(ctx context.Context, appID, idOrExternalID string) (sunlamp.User, error) {
	u, err := scanUser(t.queryRow(ctx, "SELECT "+userColumns+" FROM users WHERE app_id = ? AND id = ?", appID, idOrExternalID))
	if errors.Is(err, sql.ErrNoRows) {
		u, err = scanUser(t.queryRow(ctx, "SELECT "+userColumns+" FROM users WHERE app_id = ? AND external_id = ?", appID, idOrExternalID))
	}
	if err != nil {
		return u, notFound(err, sunlamp.ErrUserNotFound, "get user")
	}
	return u, nil
}
