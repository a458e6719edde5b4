package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/sunlamp/sunlamp"
)

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

// eraseLogs makes sure that erased values are no longer in the database's own log, where the
// dialect can (SQLite's write-ahead log: see checkpointSQLite). The error is ignored: the erasure
// itself has committed, and the next checkpoint (or Close) finishes the job.
func (s *Store) eraseLogs(ctx context.Context) {
	if s.d.scrubLog != nil {
		_ = s.d.scrubLog(context.WithoutCancel(ctx), s.write)
	}
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

// snapshotActivity returns a as an outbox event keeps it: a user author's displayName and avatarUrl
// are not copied (the webhook renders them from the user snapshot, which erasure scrubs).
func snapshotActivity(a sunlamp.Activity) *sunlamp.Activity {
	if a.Author.Type == sunlamp.AuthorUser {
		a.Author.DisplayName, a.Author.AvatarURL = "", ""
	}
	return &a
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
