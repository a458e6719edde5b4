package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/sunlamp/sunlamp"
)

const userColumns = "id, app_id, external_id, brand_id, signed_up_at, to_be_retained, given_name, surname, email, avatar_url, locale, metadata, identities"

// liveUser is the condition every lookup of a user adds: a user deleted by DeleteUser is gone at
// once, even while its history is still being removed.
const liveUser = "deleted_at IS NULL"

func scanUser(r scanner) (sunlamp.User, error) {
	var u sunlamp.User
	var ext, brand, given, surname, email, avatar, locale, metadata, identities sql.NullString
	var signed, retained int64
	if err := r.Scan(&u.ID, &u.AppID, &ext, &brand, &signed, &retained, &given, &surname, &email, &avatar, &locale, &metadata, &identities); err != nil {
		return u, err
	}
	u.ExternalID, u.BrandID = ext.String, brand.String
	u.SignedUpAt = sunlamp.FromMillis(signed)
	u.ToBeRetained = retained != 0
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
	res, err := t.exec(ctx, "INSERT INTO users ("+userColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
		u.ID, u.AppID, nullStr(u.ExternalID), nullStr(u.BrandID), u.SignedUpAt.UnixMilli(), boolInt(u.ToBeRetained),
		nullStr(p.GivenName), nullStr(p.Surname), nullStr(p.Email), nullStr(p.AvatarURL), nullStr(p.Locale),
		metadata, identities)
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

// forLock returns the clause that takes the row lock mode on PostgreSQL, and "" on SQLite.
func (t tx) forLock(mode string) string {
	if mode == lockNone || t.s.dialect != Postgres {
		return ""
	}
	return " FOR " + mode
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

// DeleteUserPersonalInformation erases the user's personal data in one transaction whose cost does
// not depend on the user's history:
//
//   - the user's givenName, surname, email, avatarUrl, locale and metadata (the spec's example answers
//     `profile: {}`, so locale goes too) — one row;
//   - the displayName, avatarUrl, info and raw of each of the user's clients, and the info, push
//     token and appVersion of each of its devices — a handful of rows;
//   - the copies of those values in the event outbox (snapshots taken for webhooks), found through
//     the events_by_user index — as many rows as the user has undelivered or retained events;
//
// and nothing else, because nothing else holds them: messages render their author's name and avatar
// from the user and clients when read. Kept: id, externalId, brandId, signedUpAt, identities, the
// clients and devices themselves (ids, types, status, lastSeen), conversations and message content.
//
// On SQLite, secure_delete zeroes the old bytes in the database pages, and a checkpoint afterwards
// copies the new pages into the database file and truncates the write-ahead log, so that the old
// values are in none of the files once the call returns (when no reader holds an old snapshot; if one
// does, the log is truncated at the next checkpoint or at Close). On PostgreSQL the old row versions
// stay as dead tuples until VACUUM and in the WAL until it is recycled; see the README.
func (s *Store) DeleteUserPersonalInformation(ctx context.Context, appID, idOrExternalID string) (sunlamp.User, error) {
	var u sunlamp.User
	err := s.inTx(ctx, func(t tx) error {
		var err error
		// The lock makes the writers that copy the user (lockShare) either finish first, so that
		// scrubEvents below sees their events, or wait and copy the erased row.
		if u, err = t.userLocked(ctx, appID, idOrExternalID, lockUpdate); err != nil {
			return err
		}
		if _, err := t.exec(ctx, "UPDATE users SET given_name = NULL, surname = NULL, email = NULL, avatar_url = NULL, locale = NULL, metadata = NULL WHERE id = ?", u.ID); err != nil {
			return err
		}
		if _, err := t.exec(ctx, "UPDATE clients SET display_name = NULL, avatar_url = NULL, info = NULL, raw = NULL WHERE user_id = ? AND app_id = ?", u.ID, appID); err != nil {
			return err
		}
		// Devices are the SDK client's channel data: their info (page URLs, user agents, OS and
		// browser), push token and app version go like the clients' info; id, type, guid, status,
		// integrationId, lastSeen and clientId stay, since they only say that a device exists.
		if _, err := t.exec(ctx, "UPDATE devices SET info = NULL, push_notification_token = NULL, app_version = NULL WHERE user_id = ? AND app_id = ?", u.ID, appID); err != nil {
			return err
		}
		return t.scrubEvents(ctx, u.ID)
	})
	if err != nil {
		return u, fmt.Errorf("delete user personal information: %w", err)
	}
	u.Profile = sunlamp.Profile{}
	u.Metadata = nil
	s.eraseLogs(ctx)
	return u, nil
}

// eraseLogs makes sure that erased values are no longer in the SQLite write-ahead log: it copies the
// log into the database file and truncates it. A reader holding an old snapshot keeps the log from
// being truncated; the checkpoint then does what it can, and the next one (or Close) finishes. The
// error is ignored for the same reason: the erasure itself has committed.
func (s *Store) eraseLogs(ctx context.Context) {
	if s.dialect != SQLite {
		return
	}
	_, _ = s.write.ExecContext(context.WithoutCancel(ctx), "PRAGMA wal_checkpoint(TRUNCATE)") // the erasure has committed: finish the job
}

// scrubEvents rewrites the outbox events that carry a snapshot of the user or its clients, with the
// erased fields cleared.
func (t tx) scrubEvents(ctx context.Context, userID string) error {
	// conversation:message events are left out, through the events_with_snapshots partial index:
	// their snapshot of a user-authored message carries no name or avatar (snapshotMessage), so the
	// cost does not grow with the user's messages, only with its other events still in the outbox
	// (conversation:create, client:*, activities), which the outbox prunes after delivery.
	// The user was found in appID and ids are unique across apps, so user_id alone scopes the query
	// (an app_id condition invites PostgreSQL to AND in events_by_app, which grows with the app).
	rows, err := t.query(ctx, "SELECT id, data FROM events WHERE user_id = ? AND type <> 'conversation:message'", userID)
	if err != nil {
		return err
	}
	type ev struct{ id, data string }
	var evs []ev
	for rows.Next() {
		var e ev
		if err := rows.Scan(&e.id, &e.data); err != nil {
			rows.Close()
			return err
		}
		evs = append(evs, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, e := range evs {
		data, changed, err := scrubEventData([]byte(e.data), userID)
		if err != nil {
			return fmt.Errorf("scrub event %s: %w", e.id, err)
		}
		if !changed {
			continue
		}
		if _, err := t.exec(ctx, "UPDATE events SET data = ? WHERE id = ?", string(data), e.id); err != nil {
			return err
		}
	}
	return nil
}

// scrubEventData clears the user's personal data in the JSON of a sunlamp.EventData: the profile
// and metadata of the user, the channel data of the user's client, and any copy of the user's name
// or avatar in a message author. It works on the generic JSON so that it clears fields of types
// that other parts of Sunlamp add to events without knowing them.
func scrubEventData(data []byte, userID string) ([]byte, bool, error) {
	var v map[string]any
	d := json.NewDecoder(strings.NewReader(string(data)))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return nil, false, err
	}
	if !scrubValue(v, userID) {
		return data, false, nil
	}
	out, err := json.Marshal(v)
	return out, true, err
}

// snapshotMessage returns m as an outbox event keeps it: a user author's displayName and avatarUrl
// are not copied (they are the user's, read from the user whenever the message is shown), so that
// erasing the user's profile needs no visit to the user's message events.
func snapshotMessage(m sunlamp.Message) *sunlamp.Message {
	if m.Author.Type == sunlamp.AuthorUser {
		m.Author.DisplayName, m.Author.AvatarURL = "", ""
	}
	return &m
}

// scrubValue walks a decoded JSON value and clears, in every object that belongs to userID, whether
// it is a domain snapshot (Go field names) or a wire-ready value (camelCase, as in Extra):
//   - a user (its "ID"/"id" is userID and it has a profile): the profile's personal fields and the
//     metadata;
//   - a client or a message or activity author (its "UserID"/"userId" is userID): the display name,
//     avatar, info and raw.
//
// It reports whether it changed anything.
func scrubValue(v any, userID string) bool {
	changed := false
	switch x := v.(type) {
	case map[string]any:
		clear := func(keys ...string) {
			for _, k := range keys {
				if val, ok := x[k]; ok && !isEmptyJSON(val) {
					x[k] = emptyLike(val)
					changed = true
				}
			}
		}
		for _, idKey := range []string{"ID", "id"} {
			if id, _ := x[idKey].(string); id != userID {
				continue
			}
			for _, profileKey := range []string{"Profile", "profile"} {
				p, ok := x[profileKey].(map[string]any)
				if !ok {
					continue
				}
				for _, k := range []string{"GivenName", "Surname", "Email", "AvatarURL", "Locale", "givenName", "surname", "email", "avatarUrl", "locale"} {
					if s, _ := p[k].(string); s != "" {
						delete(p, k)
						changed = true
					}
				}
				clear("Metadata", "metadata")
			}
		}
		for _, k := range []string{"UserID", "userId"} {
			if uid, _ := x[k].(string); uid == userID {
				clear("DisplayName", "AvatarURL", "Info", "Raw", "displayName", "avatarUrl", "info", "raw")
			}
		}
		for _, val := range x {
			if scrubValue(val, userID) {
				changed = true
			}
		}
	case []any:
		for _, val := range x {
			if scrubValue(val, userID) {
				changed = true
			}
		}
	}
	return changed
}

func isEmptyJSON(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case map[string]any:
		return len(x) == 0
	}
	return false
}

// emptyLike returns the empty value of v's JSON type: "" for a string, null otherwise.
func emptyLike(v any) any {
	if _, ok := v.(string); ok {
		return ""
	}
	return nil
}

// DeleteUser removes the user for the API at once, in one short transaction: the user row becomes a
// tombstone (deleted_at set; externalId, profile, metadata and identities cleared, so the externalId
// is free for a new user and no personal data stays), its clients and devices and its memberships of
// group conversations are deleted, the outbox snapshots of it are scrubbed, a user_purges row is
// written, and user:remove is emitted. The user's conversation history (its personal conversations
// and the messages it authored elsewhere) is then removed in the background in small transactions,
// so that a user with 30,000 messages does not hold the write lock for long; the user_purges row
// makes that removal resume after a restart.
func (s *Store) DeleteUser(ctx context.Context, appID, idOrExternalID string) error {
	err := s.inTx(ctx, func(t tx) error {
		u, err := t.userLocked(ctx, appID, idOrExternalID, lockUpdate) // as DeleteUserPersonalInformation
		if err != nil {
			return err
		}
		now := s.now().UnixMilli()
		if _, err := t.exec(ctx, "UPDATE users SET deleted_at = ?, external_id = NULL, given_name = NULL, surname = NULL, email = NULL, avatar_url = NULL, locale = NULL, metadata = NULL, identities = NULL WHERE id = ?", now, u.ID); err != nil {
			return err
		}
		if _, err := t.exec(ctx, "DELETE FROM clients WHERE user_id = ? AND app_id = ?", u.ID, appID); err != nil {
			return err
		}
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
		data := eventJSON(sunlamp.EventData{User: &sunlamp.User{ID: u.ID, AppID: u.AppID, ExternalID: u.ExternalID, BrandID: u.BrandID, SignedUpAt: u.SignedUpAt}})
		_, err = t.exec(ctx, "INSERT INTO user_purges (user_id, app_id, created_at, removed_event) VALUES (?, ?, ?, ?)", u.ID, appID, now, string(data))
		return err
	})
	if err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	s.wakePurger()
	return nil
}

// purgeBatch is how many messages one background transaction removes: small enough that other
// writers wait a few milliseconds at most between two batches.
const purgeBatch = 500

// purgeState is the background remover of deleted users' history.
type purgeState struct {
	disabled bool // WithoutBackgroundPurge
	once     sync.Once
	wake     chan struct{}
	stop     chan struct{}
	done     chan struct{}
}

// WithoutBackgroundPurge keeps the store from removing deleted users' history in the background
// (tests use it to show that the removal resumes after a restart; PurgeDeletedUsers still works).
func WithoutBackgroundPurge() Option { return func(s *Store) { s.purge.disabled = true } }

// startPurger starts the background remover and has it look for work left by an earlier process.
func (s *Store) startPurger() {
	if s.purge.disabled {
		return
	}
	s.purge.wake = make(chan struct{}, 1)
	s.purge.stop = make(chan struct{})
	s.purge.done = make(chan struct{})
	go s.runPurger()
	s.wakePurger()
}

// stopPurger stops the background remover and waits for it; unfinished work stays in user_purges.
func (s *Store) stopPurger() {
	if s.purge.stop == nil {
		return
	}
	s.purge.once.Do(func() { close(s.purge.stop) })
	<-s.purge.done
}

func (s *Store) wakePurger() {
	if s.purge.wake == nil {
		return
	}
	select {
	case s.purge.wake <- struct{}{}:
	default:
	}
}

func (s *Store) runPurger() {
	defer close(s.purge.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-s.purge.stop
		cancel()
	}()
	for {
		select {
		case <-s.purge.stop:
			return
		case <-s.purge.wake:
		}
		if err := s.PurgeDeletedUsers(ctx); err != nil && ctx.Err() == nil {
			// Try again a little later; the work is in user_purges and nothing is lost.
			select {
			case <-s.purge.stop:
				return
			case <-time.After(time.Second):
				s.wakePurger()
			}
		}
	}
}

// PurgeDeletedUsers removes the conversation history of every user deleted by DeleteUser whose
// removal has not finished, one small transaction at a time, and returns when none is left. The
// background remover calls it; tests call it to wait for the removal.
func (s *Store) PurgeDeletedUsers(ctx context.Context) error {
	for {
		var appID, userID string
		err := s.queryRow(ctx, "SELECT app_id, user_id FROM user_purges ORDER BY created_at, user_id LIMIT 1").Scan(&appID, &userID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("purge deleted users: %w", err)
		}
		for {
			done, err := s.purgeStep(ctx, appID, userID)
			if err != nil {
				return fmt.Errorf("purge deleted user: %w", err)
			}
			if done {
				break
			}
		}
		s.wakeMediaJanitor() // the files of the user's attachments, which the cascades put in the trash
		s.eraseLogs(ctx)
	}
}

// purgeStep does one bounded piece of the removal of a deleted user's history, and reports whether
// the removal is complete: first the messages of the user's personal conversations, then those
// conversations, then the messages it wrote in group conversations, and last the user row itself
// (participants, clients and devices cascade) and its purge row.
func (s *Store) purgeStep(ctx context.Context, appID, userID string) (done bool, err error) {
	err = s.inTx(ctx, func(t tx) error {
		// Its personal conversations: the default one, and any other it takes part in.
		var convID string
		err := t.queryRow(ctx, "SELECT id FROM conversations WHERE default_user_id = ? AND app_id = ?", userID, appID).Scan(&convID)
		if errors.Is(err, sql.ErrNoRows) {
			err = t.queryRow(ctx, "SELECT c.id FROM participants p JOIN conversations c ON c.id = p.conversation_id WHERE p.user_id = ? AND c.app_id = ? AND c.type = ? ORDER BY c.id LIMIT 1",
				userID, appID, sunlamp.ConversationPersonal).Scan(&convID)
		}
		switch {
		case err == nil:
			res, err := t.exec(ctx, "DELETE FROM messages WHERE conversation_id = ? AND id IN (SELECT id FROM messages WHERE conversation_id = ? ORDER BY id LIMIT ?)", convID, convID, purgeBatch)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n > 0 {
				return nil
			}
			// Its outbox events (one per message) go in batches too, through events_by_conversation.
			t.outboxChanged() // the deliveries queued behind a removed one may now be due
			res, err = t.exec(ctx, "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE conversation_id = ? LIMIT ?)", convID, purgeBatch)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n > 0 {
				return nil
			}
			_, err = t.exec(ctx, "DELETE FROM conversations WHERE id = ?", convID)
			return err
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		rows, err := t.query(ctx, "SELECT conversation_id, id FROM messages WHERE author_user_id = ? AND app_id = ? LIMIT ?", userID, appID, purgeBatch)
		if err != nil {
			return err
		}
		byConv := map[string][]any{}
		for rows.Next() {
			var c, id string
			if err := rows.Scan(&c, &id); err != nil {
				rows.Close()
				return err
			}
			byConv[c] = append(byConv[c], id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(byConv) > 0 {
			for c, ids := range byConv {
				args := append([]any{c}, ids...)
				if _, err := t.exec(ctx, "DELETE FROM messages WHERE conversation_id = ? AND id IN ("+placeholders(len(ids))+")", args...); err != nil {
					return err
				}
				if _, err := t.exec(ctx, "UPDATE conversations SET message_count = message_count - ? WHERE id = ?", len(ids), c); err != nil {
					return err
				}
			}
			return nil
		}
		// user:remove is spared: another purger of the same user may have emitted it already.
		t.outboxChanged() // the deliveries queued behind a removed one may now be due
		res, err := t.exec(ctx, "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE user_id = ? AND type <> ? LIMIT ?)", userID, "user:remove", purgeBatch)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n > 0 {
			return nil
		}
		if _, err := t.exec(ctx, "DELETE FROM users WHERE id = ? AND app_id = ?", userID, appID); err != nil {
			return err
		}
		// Another purger (a second process, or PurgeDeletedUsers beside the background one) may
		// have finished first: then there is no purge row left and nothing to emit.
		var removed sql.NullString
		err = t.queryRow(ctx, "DELETE FROM user_purges WHERE user_id = ? RETURNING removed_event", userID).Scan(&removed)
		done = true
		if errors.Is(err, sql.ErrNoRows) || err == nil && !removed.Valid {
			return nil
		}
		if err != nil {
			return err
		}
		return t.emit(ctx, sunlamp.Event{Type: "user:remove", AppID: appID, UserID: userID, Data: []byte(removed.String)})
	})
	return done, err
}

var _ sunlamp.UserStore = (*Store)(nil)
