package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/sunlamp/sunlamp"
)

const userColumns = "id, app_id, external_id, brand_id, signed_up_at, to_be_retained, given_name, surname, email, avatar_url, locale, metadata, identities, zendesk_id, authenticated"

// liveUser is the condition every lookup of a user adds: a user deleted by DeleteUser is gone at
// once, even while its history is still being removed.
const liveUser = "deleted_at IS NULL"

func scanUser(r scanner) (sunlamp.User, error) {
	var u sunlamp.User
	var ext, brand, given, surname, email, avatar, locale, metadata, identities, zendesk sql.NullString
	var signed, retained, authenticated int64
	if err := r.Scan(&u.ID, &u.AppID, &ext, &brand, &signed, &retained, &given, &surname, &email, &avatar, &locale, &metadata, &identities, &zendesk, &authenticated); err != nil {
		return u, err
	}
	u.ExternalID, u.BrandID, u.ZendeskID = ext.String, brand.String, zendesk.String
	u.SignedUpAt = sunlamp.FromMillis(signed)
	u.ToBeRetained, u.Authenticated = retained != 0, authenticated != 0
	u.Profile = sunlamp.Profile{GivenName: given.String, Surname: surname.String, Email: email.String, AvatarURL: avatar.String, Locale: locale.String}
	if err := fromJSON(metadata, &u.Metadata); err != nil {
		return u, err
	}
	if err := fromJSON(identities, &u.Identities); err != nil {
		return u, err
	}
	return u, nil
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// CreateUser stores u; ErrUserExists on a duplicate externalId in the app.
func (s *Store) CreateUser(ctx context.Context, u sunlamp.User) (sunlamp.User, error) {
	if u.ID == "" {
		u.ID = sunlamp.NewID()
	}
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
	// ON CONFLICT DO NOTHING: a taken externalId must not raise a unique violation, which PostgreSQL
	// would write to its log with the key's values (personal data the log keeps past any erasure).
	res, err := t.exec(ctx, "INSERT INTO users ("+userColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
		u.ID, u.AppID, nullStr(u.ExternalID), nullStr(u.BrandID), u.SignedUpAt.UnixMilli(), boolInt(u.ToBeRetained),
		nullStr(p.GivenName), nullStr(p.Surname), nullStr(p.Email), nullStr(p.AvatarURL), nullStr(p.Locale),
		metadata, identities, nullStr(u.ZendeskID), boolInt(u.Authenticated))
	if err != nil {
		return err
	}
	if inserted, err := res.RowsAffected(); err != nil || inserted == 0 {
		if err != nil {
			return err
		}
		return sunlamp.ErrUserExists
	}
	return nil
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
// Both lookups use an index: users' primary key, and users_by_external_id.
func (t tx) user(ctx context.Context, appID, idOrExternalID string) (sunlamp.User, error) {
	return t.userLocked(ctx, appID, idOrExternalID, lockNone)
}

// Row locks (PostgreSQL only: SQLite has one writer, so its transactions never interleave, and it
// has no FOR clause). On PostgreSQL's READ COMMITTED, a transaction that reads a row and writes it
// back, or copies it into an event, would otherwise undo or miss a change committed in between:
//
//   - lockUpdate is taken by the writers that change a user's personal data (UpdateUser,
//     DeleteUserPersonalInformation, DeleteUser) before they read it. NO KEY UPDATE, not UPDATE:
//     they change no key column, and it lets the foreign-key checks of concurrent inserts
//     (participants, clients) go on, which an UPDATE lock would make wait and could deadlock with.
//   - lockShare is taken by the writers that snapshot a user into the outbox (joins, client
//     events, activities, new conversations, inbound deliveries): the erasure waits for them to
//     commit, then scrubs their events; or they wait for it, and read the scrubbed row.
//
// Order, to avoid deadlocks: a user's row lock first, then a conversation's (tx.conversationLocked).
// Inbound can only find the user's default conversation through the user, so every writer locks
// in that order; the writers that lock a user exclusively lock no conversation, and the message
// batches lock conversations and no user.
const (
	lockNone   = ""
	lockShare  = "SHARE"
	lockUpdate = "NO KEY UPDATE"
)

// forLock returns the clause that takes the row lock mode, "" where there is one writer (dialect.lock).
func (t tx) forLock(mode string) string {
	if mode == lockNone {
		return ""
	}
	return t.s.d.lock(mode)
}

// userLocked is tx.user taking the row lock mode on the user it returns.
func (t tx) userLocked(ctx context.Context, appID, idOrExternalID, mode string) (sunlamp.User, error) {
	u, err := scanUser(t.queryRow(ctx, "SELECT "+userColumns+" FROM users WHERE id = ? AND app_id = ? AND "+liveUser+t.forLock(mode), idOrExternalID, appID))
	if errors.Is(err, sql.ErrNoRows) {
		u, err = scanUser(t.queryRow(ctx, "SELECT "+userColumns+" FROM users WHERE app_id = ? AND external_id = ? AND "+liveUser+t.forLock(mode), appID, idOrExternalID))
	}
	if err != nil {
		return u, notFound(err, sunlamp.ErrUserNotFound, "get user")
	}
	return u, nil
}

// userID resolves idOrExternalID to the id of a live user of app.
func (t tx) userID(ctx context.Context, appID, idOrExternalID string) (string, error) {
	var id string
	err := t.queryRow(ctx, "SELECT id FROM users WHERE id = ? AND app_id = ? AND "+liveUser, idOrExternalID, appID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		err = t.queryRow(ctx, "SELECT id FROM users WHERE app_id = ? AND external_id = ? AND "+liveUser, appID, idOrExternalID).Scan(&id)
	}
	if err != nil {
		return "", notFound(err, sunlamp.ErrUserNotFound, "get user")
	}
	return id, nil
}

// UsersByIdentityEmail returns the users of app with an email identity equal to email, ignoring case.
// Identities are JSON text, so the database narrows the candidates with LIKE and Go compares exactly.
func (s *Store) UsersByIdentityEmail(ctx context.Context, appID, email string) ([]sunlamp.User, error) {
	users := []sunlamp.User{}
	if email == "" {
		return users, nil
	}
	esc := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.ToLower(email))
	err := s.readTx(ctx, func(t tx) error {
		rows, err := t.query(ctx, "SELECT "+userColumns+" FROM users WHERE app_id = ? AND identities IS NOT NULL AND "+liveUser+
			` AND LOWER(identities) LIKE ? ESCAPE '\' ORDER BY id`, appID, "%"+esc+"%")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			u, err := scanUser(rows)
			if err != nil {
				return err
			}
			for _, id := range u.Identities {
				if id.Type == "email" && strings.EqualFold(id.Value, email) {
					users = append(users, u)
					break
				}
			}
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("list users by email: %w", err)
	}
	return users, nil
}

// UpdateUser applies u to the user: profile fields one by one, metadata as a whole.
func (s *Store) UpdateUser(ctx context.Context, appID, idOrExternalID string, up sunlamp.UserUpdate) (sunlamp.User, error) {
	var u sunlamp.User
	err := s.inTx(ctx, func(t tx) error {
		var err error
		// Locked before it is read, so that the columns written back from this read are not
		// older than a concurrent erasure (PostgreSQL; see lockUpdate).
		if u, err = t.userLocked(ctx, appID, idOrExternalID, lockUpdate); err != nil {
			return err
		}
		if up.SignedUpAt != nil {
			u.SignedUpAt = *up.SignedUpAt
		}
		if up.ToBeRetained != nil {
			u.ToBeRetained = *up.ToBeRetained
		}
		if up.Profile != nil {
			u.Profile = up.Profile.Apply(u.Profile)
		}
		if up.Metadata != nil {
			u.Metadata = *up.Metadata
			if len(u.Metadata) == 0 {
				u.Metadata = nil
			}
		}
		metadata, err := toJSON(u.Metadata)
		if err != nil {
			return err
		}
		p := u.Profile
		_, err = t.exec(ctx, "UPDATE users SET signed_up_at = ?, to_be_retained = ?, given_name = ?, surname = ?, email = ?, avatar_url = ?, locale = ?, metadata = ? WHERE id = ?",
			u.SignedUpAt.UnixMilli(), boolInt(u.ToBeRetained), nullStr(p.GivenName), nullStr(p.Surname), nullStr(p.Email),
			nullStr(p.AvatarURL), nullStr(p.Locale), metadata, u.ID)
		return err
	})
	if err != nil {
		return u, fmt.Errorf("update user: %w", err)
	}
	return u, nil
}

// DeleteUser removes the user for the API at once, in one short transaction: the user row becomes a
// tombstone (deleted_at set; externalId, profile, metadata and identities cleared, so the externalId
// is free for a new user and no personal data stays), its clients and devices and its memberships of
// group conversations are deleted, the outbox snapshots of it are scrubbed, and a user_purges row, a
// pending deletion receipt (deletions.go) and an audit entry are written. The user's conversation
// history (its personal conversations and the messages it authored elsewhere) is then removed in the
// background in small transactions, so that a user with 30,000 messages does not hold the write lock
// for long; the user_purges row makes that removal resume after a restart, and its end completes the
// receipt and emits user:remove.
func (s *Store) DeleteUser(ctx context.Context, appID, idOrExternalID string) error {
	var userID string // once found
	err := s.inTx(ctx, func(t tx) error {
		u, err := t.userLocked(ctx, appID, idOrExternalID, lockUpdate) // as DeleteUserPersonalInformation
		if err != nil {
			return err
		}
		now := s.now().UnixMilli()
		// The zendeskId is freed like the externalId: the core user may be linked to a new user.
		if _, err := t.exec(ctx, "UPDATE users SET deleted_at = ?, external_id = NULL, zendesk_id = NULL, given_name = NULL, surname = NULL, email = NULL, avatar_url = NULL, locale = NULL, metadata = NULL, identities = NULL WHERE id = ?", now, u.ID); err != nil {
			return err
		}
		res, err := t.exec(ctx, "DELETE FROM clients WHERE user_id = ? AND app_id = ?", u.ID, appID)
		if err != nil {
			return err
		}
		clients, _ := res.RowsAffected()
		// Memberships of group conversations go now; personal conversations go with their
		// messages in the background (purgeStep finds them through the membership).
		if _, err := t.exec(ctx, "DELETE FROM participants WHERE user_id = ? AND conversation_id IN (SELECT id FROM conversations WHERE app_id = ? AND type <> ?)", u.ID, appID, sunlamp.ConversationPersonal); err != nil {
			return err
		}
		if err := t.scrubEvents(ctx, u.ID); err != nil {
			return err
		}
		// user:remove carries the truncated user (id and externalId), as the spec's payload does. It
		// is emitted when the removal is complete (purgeStep), since the spec says a user is
		// "considered completely deleted once the webhook is fired"; until then the snapshot waits
		// in the purge row.
		data, err := encodeEventData(sunlamp.EventData{User: &sunlamp.User{ID: u.ID, AppID: u.AppID, ExternalID: u.ExternalID, BrandID: u.BrandID, SignedUpAt: u.SignedUpAt}})
		if err != nil {
			return err
		}
		if _, err := t.exec(ctx, "INSERT INTO user_purges (user_id, app_id, created_at, removed_event) VALUES (?, ?, ?, ?)", u.ID, appID, now, string(data)); err != nil {
			return err
		}
		// The receipt (GET .../deletions/{userId}) and the audit entry commit with the request.
		if err := t.insertDeletion(ctx, appID, u.ID, now); err != nil {
			return err
		}
		userID = u.ID
		return t.recordAudit(ctx, sunlamp.AuditEntry{AppID: appID, Operation: sunlamp.AuditDeleteUser, UserID: u.ID,
			Counts: map[string]int64{sunlamp.CountClientsCleared: clients, sunlamp.CountIdentitiesCleared: int64(len(u.Identities))}})
	})
	if err != nil {
		s.auditFailure(ctx, appID, sunlamp.AuditDeleteUser, userID, err)
		return fmt.Errorf("delete user: %w", err)
	}
	s.wakePurger()
	return nil
}

var _ sunlamp.UserStore = (*Store)(nil)
