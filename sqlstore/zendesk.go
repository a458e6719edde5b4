package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/sunlamp/sunlamp"
)

// The simulated Zendesk directory (core users) and SyncUser (issue 18).

const zendeskUserColumns = "id, name, email, external_id, created_at, updated_at"

func scanZendeskUser(r scanner) (sunlamp.ZendeskUser, error) {
	var u sunlamp.ZendeskUser
	var name, email, ext sql.NullString
	var created, updated int64
	if err := r.Scan(&u.ID, &name, &email, &ext, &created, &updated); err != nil {
		return u, err
	}
	u.Name, u.Email, u.ExternalID = name.String, email.String, ext.String
	u.CreatedAt, u.UpdatedAt = sunlamp.FromMillis(created), sunlamp.FromMillis(updated)
	return u, nil
}

func (t tx) zendeskUser(ctx context.Context, id string) (sunlamp.ZendeskUser, error) {
	u, err := scanZendeskUser(t.queryRow(ctx, "SELECT "+zendeskUserColumns+" FROM zendesk_users WHERE id = ?", id))
	if err != nil {
		return u, notFound(err, sunlamp.ErrZendeskUserNotFound, "get zendesk user")
	}
	return u, nil
}

// zendeskTaken reports whether another core user than id has u's email (ignoring case) or
// externalId. It is asked before writing, so that no unique violation (which PostgreSQL logs with
// the email) happens.
func (t tx) zendeskTaken(ctx context.Context, id string, u sunlamp.ZendeskUser) error {
	var one int
	err := t.queryRow(ctx, `SELECT 1 FROM zendesk_users WHERE id <> ? AND ((email IS NOT NULL AND LOWER(email) = LOWER(?)) OR external_id = ?) LIMIT 1`,
		id, u.Email, u.ExternalID).Scan(&one)
	switch {
	case err == nil:
		return sunlamp.ErrZendeskUserExists
	case errors.Is(err, sql.ErrNoRows):
		return nil
	}
	return err
}

// CreateZendeskUser adds a core user to the directory; see sunlamp.ZendeskStore.
func (s *Store) CreateZendeskUser(ctx context.Context, u sunlamp.ZendeskUser) (sunlamp.ZendeskUser, error) {
	err := s.inTx(ctx, func(t tx) error {
		if _, err := t.zendeskUser(ctx, u.ID); err == nil {
			return sunlamp.ErrZendeskUserExists
		} else if !errors.Is(err, sunlamp.ErrZendeskUserNotFound) {
			return err
		}
		if err := t.zendeskTaken(ctx, u.ID, u); err != nil {
			return err
		}
		_, err := t.exec(ctx, "INSERT INTO zendesk_users ("+zendeskUserColumns+") VALUES (?, ?, ?, ?, ?, ?)",
			u.ID, nullStr(u.Name), nullStr(u.Email), nullStr(u.ExternalID), u.CreatedAt.UnixMilli(), u.UpdatedAt.UnixMilli())
		if errors.Is(err, errUnique) { // created concurrently
			return sunlamp.ErrZendeskUserExists
		}
		return err
	})
	if err != nil {
		return u, fmt.Errorf("create zendesk user: %w", err)
	}
	return u, nil
}

// ZendeskUser returns a core user; see sunlamp.ZendeskStore.
func (s *Store) ZendeskUser(ctx context.Context, id string) (sunlamp.ZendeskUser, error) {
	var u sunlamp.ZendeskUser
	err := s.readTx(ctx, func(t tx) error {
		var err error
		u, err = t.zendeskUser(ctx, id)
		return err
	})
	return u, err
}

// ZendeskUsers lists the directory; see sunlamp.ZendeskStore.
func (s *Store) ZendeskUsers(ctx context.Context) ([]sunlamp.ZendeskUser, error) {
	out := []sunlamp.ZendeskUser{}
	rows, err := s.query(ctx, "SELECT "+zendeskUserColumns+" FROM zendesk_users ORDER BY created_at, id")
	if err != nil {
		return nil, fmt.Errorf("list zendesk users: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		u, err := scanZendeskUser(rows)
		if err != nil {
			return nil, fmt.Errorf("list zendesk users: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// UpdateZendeskUser changes a core user; see sunlamp.ZendeskStore.
func (s *Store) UpdateZendeskUser(ctx context.Context, id string, up sunlamp.ZendeskUserUpdate) (sunlamp.ZendeskUser, error) {
	var u sunlamp.ZendeskUser
	err := s.inTx(ctx, func(t tx) error {
		var err error
		if u, err = t.zendeskUser(ctx, id); err != nil {
			return err
		}
		for _, f := range []struct{ dst, v *string }{{&u.Name, up.Name}, {&u.Email, up.Email}, {&u.ExternalID, up.ExternalID}} {
			if f.v != nil {
				*f.dst = *f.v
			}
		}
		if err := t.zendeskTaken(ctx, id, u); err != nil {
			return err
		}
		u.UpdatedAt = s.now()
		_, err = t.exec(ctx, "UPDATE zendesk_users SET name = ?, email = ?, external_id = ?, updated_at = ? WHERE id = ?",
			nullStr(u.Name), nullStr(u.Email), nullStr(u.ExternalID), u.UpdatedAt.UnixMilli(), id)
		if errors.Is(err, errUnique) {
			return sunlamp.ErrZendeskUserExists
		}
		return err
	})
	if err != nil {
		return u, fmt.Errorf("update zendesk user: %w", err)
	}
	return u, nil
}

// DeleteZendeskUser removes a core user; see sunlamp.ZendeskStore.
func (s *Store) DeleteZendeskUser(ctx context.Context, id string) error {
	err := s.inTx(ctx, func(t tx) error {
		return t.deleteOne(ctx, sunlamp.ErrZendeskUserNotFound, "DELETE FROM zendesk_users WHERE id = ?", id)
	})
	if err != nil {
		return fmt.Errorf("delete zendesk user: %w", err)
	}
	return nil
}

// LinkZendeskUser links a messaging user to a core user; see sunlamp.ZendeskStore.
func (s *Store) LinkZendeskUser(ctx context.Context, appID, idOrExternalID, zendeskID string) (sunlamp.User, error) {
	var u sunlamp.User
	err := s.inTx(ctx, func(t tx) error {
		var err error
		if zendeskID != "" {
			if _, err := t.zendeskUser(ctx, zendeskID); err != nil {
				return err
			}
		}
		if u, err = t.userLocked(ctx, appID, idOrExternalID, lockUpdate); err != nil {
			return err
		}
		if zendeskID != "" {
			switch other, err := t.userByZendeskID(ctx, appID, zendeskID); {
			case err == nil && other.ID != u.ID:
				return sunlamp.ErrZendeskIDLinked
			case err != nil && !errors.Is(err, sunlamp.ErrNoZendeskLink):
				return err
			}
		}
		_, err = t.exec(ctx, "UPDATE users SET zendesk_id = ? WHERE id = ?", nullStr(zendeskID), u.ID)
		if errors.Is(err, errUnique) { // linked concurrently
			return sunlamp.ErrZendeskIDLinked
		}
		u.ZendeskID = zendeskID
		return err
	})
	if err != nil {
		return u, fmt.Errorf("link zendesk user: %w", err)
	}
	return u, nil
}

// userByZendeskID returns the live user of the app linked to zendeskID, its row locked for update
// (PostgreSQL); ErrNoZendeskLink if none.
func (t tx) userByZendeskID(ctx context.Context, appID, zendeskID string) (sunlamp.User, error) {
	u, err := scanUser(t.queryRow(ctx, "SELECT "+userColumns+" FROM users WHERE app_id = ? AND zendesk_id = ? AND "+liveUser+t.forLock(lockUpdate), appID, zendeskID))
	if err != nil {
		return u, notFound(err, sunlamp.ErrNoZendeskLink, "get user by zendeskId")
	}
	return u, nil
}

// SyncUser brings a messaging user up to date with its core user; see sunlamp.ZendeskStore.
func (s *Store) SyncUser(ctx context.Context, appID, zendeskID, survivingZendeskID string) (sunlamp.UserSync, error) {
	var res sunlamp.UserSync
	err := s.inTx(ctx, func(t tx) error {
		res = sunlamp.UserSync{}
		if _, err := t.app(ctx, appID); err != nil {
			return err
		}
		u, err := t.userByZendeskID(ctx, appID, zendeskID)
		if err != nil {
			return err
		}
		target := zendeskID
		if survivingZendeskID != "" && survivingZendeskID != zendeskID {
			// Two core users were merged: zendeskID's messaging user goes into survivingZendeskID's,
			// or takes its zendeskId when it has none.
			target = survivingZendeskID
			if _, err := t.zendeskUser(ctx, target); err != nil {
				return err
			}
			switch v, err := t.userByZendeskID(ctx, appID, target); {
			case err == nil:
				if u, err = t.mergeInto(ctx, v, u, &res); err != nil {
					return err
				}
			case errors.Is(err, sunlamp.ErrNoZendeskLink):
				if _, err := t.exec(ctx, "UPDATE users SET zendesk_id = ? WHERE id = ?", target, u.ID); err != nil {
					return err
				}
				u.ZendeskID = target
			default:
				return err
			}
		}
		core, err := t.zendeskUser(ctx, target)
		if err != nil {
			return err
		}

		// The externalId: another user holding it is merged in, or loses it when it is linked to
		// another core user.
		if core.ExternalID != "" && core.ExternalID != u.ExternalID {
			v, err := scanUser(t.queryRow(ctx, "SELECT "+userColumns+" FROM users WHERE app_id = ? AND external_id = ? AND "+liveUser+t.forLock(lockUpdate), appID, core.ExternalID))
			switch {
			case err == nil && v.ZendeskID == "":
				if u, err = t.mergeInto(ctx, u, v, &res); err != nil {
					return err
				}
			case err == nil:
				if _, err := t.exec(ctx, "UPDATE users SET external_id = NULL WHERE id = ?", v.ID); err != nil {
					return err
				}
				v.ExternalID = ""
				res.Updated = append(res.Updated, v)
			case !errors.Is(err, sql.ErrNoRows):
				return err
			}
		}
		// The primary email, likewise, from every other user with it as an email identity.
		if core.Email != "" {
			others, err := t.usersWithEmail(ctx, appID, core.Email)
			if err != nil {
				return err
			}
			for _, v := range others {
				switch {
				case v.ID == u.ID:
				case v.ZendeskID == "":
					if u, err = t.mergeInto(ctx, u, v, &res); err != nil {
						return err
					}
				default:
					v.Identities = withoutEmail(v.Identities, core.Email)
					if err := t.setIdentities(ctx, v); err != nil {
						return err
					}
					res.Updated = append(res.Updated, v)
				}
			}
		}

		// The copy: names, externalId, and the primary email as the only email identity.
		if given, surname := sunlamp.SplitName(core.Name); given != "" {
			u.Profile.GivenName, u.Profile.Surname = given, surname
		}
		if core.ExternalID != "" {
			u.ExternalID = core.ExternalID
		}
		ids := []sunlamp.Identity{}
		for _, id := range u.Identities {
			if id.Type != "email" {
				ids = append(ids, id)
			}
		}
		if core.Email != "" {
			ids = append(ids, sunlamp.Identity{Type: "email", Value: core.Email, Verification: "verified"})
		}
		u.Identities = ids
		if _, err := t.exec(ctx, "UPDATE users SET external_id = ?, given_name = ?, surname = ? WHERE id = ?",
			nullStr(u.ExternalID), nullStr(u.Profile.GivenName), nullStr(u.Profile.Surname), u.ID); err != nil {
			return err
		}
		if err := t.setIdentities(ctx, u); err != nil {
			return err
		}
		res.User = u

		for _, m := range res.Merges {
			if err := t.emitUserEvent(ctx, "user:merge", m.Surviving, sunlamp.EventData{User: &m.Surviving, Reason: m.Reason, Merge: &m}); err != nil {
				return err
			}
		}
		for _, v := range res.Updated {
			if err := t.emitUserEvent(ctx, "user:update", v, sunlamp.EventData{User: &v}); err != nil {
				return err
			}
		}
		return t.emitUserEvent(ctx, "user:update", u, sunlamp.EventData{User: &u})
	})
	if err != nil {
		return res, fmt.Errorf("sync user: %w", err)
	}
	return res, nil
}

// mergeInto merges the user d into k with the merge issue 14's web messenger login uses (clients,
// devices, conversations, messages, uploads and outbox events move to k, so that erasing k reaches
// them), adds d's identities k lacks, and records the merge (reason api). It returns k as merged.
func (t tx) mergeInto(ctx context.Context, k, d sunlamp.User, res *sunlamp.UserSync) (sunlamp.User, error) {
	m, err := t.mergeUsers(ctx, k, d, t.s.now())
	if err != nil {
		return k, err
	}
	m.Reason = "api"
	merged := m.Surviving
	for _, id := range d.Identities {
		dup := false
		for _, have := range merged.Identities {
			dup = dup || (have.Type == id.Type && strings.EqualFold(have.Value, id.Value))
		}
		if !dup {
			merged.Identities = append(merged.Identities, id)
		}
	}
	if err := t.setIdentities(ctx, merged); err != nil {
		return k, err
	}
	m.Surviving = merged
	res.Merges = append(res.Merges, m)
	return merged, nil
}

// usersWithEmail returns the live users of the app with an email identity equal to email,
// ignoring case, their rows locked for update (as UsersByIdentityEmail narrows them with LIKE).
func (t tx) usersWithEmail(ctx context.Context, appID, email string) ([]sunlamp.User, error) {
	esc := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.ToLower(email))
	rows, err := t.query(ctx, "SELECT "+userColumns+" FROM users WHERE app_id = ? AND identities IS NOT NULL AND "+liveUser+
		` AND LOWER(identities) LIKE ? ESCAPE '\' ORDER BY id`+t.forLock(lockUpdate), appID, "%"+esc+"%")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []sunlamp.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		for _, id := range u.Identities {
			if id.Type == "email" && strings.EqualFold(id.Value, email) {
				out = append(out, u)
				break
			}
		}
	}
	return out, rows.Err()
}

// withoutEmail returns ids without the email identities equal to email.
func withoutEmail(ids []sunlamp.Identity, email string) []sunlamp.Identity {
	out := []sunlamp.Identity{}
	for _, id := range ids {
		if id.Type != "email" || !strings.EqualFold(id.Value, email) {
			out = append(out, id)
		}
	}
	return out
}

// setIdentities stores u's identities (none: NULL).
func (t tx) setIdentities(ctx context.Context, u sunlamp.User) error {
	var v any
	if len(u.Identities) > 0 {
		var err error
		if v, err = toJSON(u.Identities); err != nil {
			return err
		}
	}
	_, err := t.exec(ctx, "UPDATE users SET identities = ? WHERE id = ?", v, u.ID)
	return err
}
