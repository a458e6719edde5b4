package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sync"

	"github.com/sunlamp/sunlamp"
)

// DeleteUserPersonalInformation erases the user's personal data in one transaction whose cost does
// not depend on the user's history:
//
//   - the user's givenName, surname, email, avatarUrl, locale, metadata and identities (the spec's
//     example answers `profile: {}`, so locale goes too) — one row;
//   - the displayName, avatarUrl, info and raw of each of the user's clients, and the info, push
//     token and appVersion of each of its devices — a handful of rows;
//   - the copies of those values in the event outbox (snapshots taken for webhooks): the fields the
//     snapshot schema marks personal:"erase" (snapshot.go), found through the events_by_user
//     index — as many rows as the user has undelivered or retained events. Identities are among
//     them: an email identity is personal data wherever it is kept, so erasure goes beyond the
//     spec's list of profile fields here;
//
// and nothing else, because nothing else holds them: messages render their author's name and avatar
// from the user and clients when read. Kept: id, externalId, brandId, signedUpAt, the clients and
// devices themselves (ids, types, status, lastSeen), conversations and message content.
//
// An audit entry (ids and counts only) commits with the erasure.
//
// On SQLite, secure_delete zeroes the old bytes in the database pages, and a checkpoint afterwards
// copies the new pages into the database file and truncates the write-ahead log, so that the old
// values are in none of the files once the call returns. When a reader holds an old snapshot, the
// checkpoint does not wait for it (that would hold every writer): a background job retries until the
// log is truncated, within a fraction of a second after the reader ends (sqlite.go). On PostgreSQL
// the old row versions stay as dead tuples until a VACUUM, which the store runs on the tables holding
// personal data a second after erasures (postgres_vacuum.go), and in the WAL until it is recycled;
// see the README.
func (s *Store) DeleteUserPersonalInformation(ctx context.Context, appID, idOrExternalID string) (sunlamp.User, error) {
	var u sunlamp.User
	err := s.inTx(ctx, func(t tx) error {
		var err error
		// The lock makes the writers that copy the user (lockShare) either finish first, so that
		// scrubEvents below sees their events, or wait and copy the erased row.
		if u, err = t.userLocked(ctx, appID, idOrExternalID, lockUpdate); err != nil {
			return err
		}
		// Identities go too, beyond the spec's list of profile fields: an email identity is the
		// same personal data as the profile's email, and ListUsers finds the user by it.
		if _, err := t.exec(ctx, "UPDATE users SET given_name = NULL, surname = NULL, email = NULL, avatar_url = NULL, locale = NULL, metadata = NULL, identities = NULL WHERE id = ?", u.ID); err != nil {
			return err
		}
		res, err := t.exec(ctx, "UPDATE clients SET display_name = NULL, avatar_url = NULL, info = NULL, raw = NULL WHERE user_id = ? AND app_id = ?", u.ID, appID)
		if err != nil {
			return err
		}
		clients, _ := res.RowsAffected()
		// Devices are the SDK client's channel data: their info (page URLs, user agents, OS and
		// browser), push token and app version go like the clients' info; id, type, guid, status,
		// integrationId, lastSeen and clientId stay, since they only say that a device exists.
		res, err = t.exec(ctx, "UPDATE devices SET info = NULL, push_notification_token = NULL, app_version = NULL WHERE user_id = ? AND app_id = ?", u.ID, appID)
		if err != nil {
			return err
		}
		devices, _ := res.RowsAffected()
		if err := t.scrubEvents(ctx, u.ID); err != nil {
			return err
		}
		return t.recordAudit(ctx, sunlamp.AuditEntry{AppID: appID, Operation: sunlamp.AuditDeleteUserPersonalInformation, UserID: u.ID,
			Counts: map[string]int64{sunlamp.CountClientsCleared: clients, sunlamp.CountDevicesCleared: devices, sunlamp.CountIdentitiesCleared: int64(len(u.Identities))}})
	})
	if err != nil {
		s.auditFailure(ctx, appID, sunlamp.AuditDeleteUserPersonalInformation, u.ID, err)
		return u, fmt.Errorf("delete user personal information: %w", err)
	}
	u.Profile = sunlamp.Profile{}
	u.Metadata = nil
	u.Identities = nil
	s.eraseLogs(ctx)
	return u, nil
}

// eraseLogs makes sure that erased values are no longer in the database's own files, where the
// dialect can (SQLite's write-ahead log: see sqliteLogScrubber; PostgreSQL's dead row versions: see
// postgresVacuum), after an erasure or deletion: every table holding personal data. The error is
// ignored: the erasure itself has committed, and the scrubber goes on in the background (or Close
// finishes the job).
func (s *Store) eraseLogs(ctx context.Context) { s.eraseLogsOf(ctx, nil) }

// eraseLogsOf is eraseLogs for work that touched only tables (a retention sweep).
func (s *Store) eraseLogsOf(ctx context.Context, tables []string) {
	if s.d.logs != nil {
		_ = s.d.logs.scrub(context.WithoutCancel(ctx), s.write, tables)
	}
}

// scrubEvents rewrites the outbox events that carry a snapshot of the user or its clients, with the
// erased fields cleared.
func (t tx) scrubEvents(ctx context.Context, userID string) error {
	// conversation:message events are left out, through the events_with_snapshots partial index:
	// their snapshot of a user-authored message carries no name or avatar (evAuthorOf; tested by
	// TestMessageSnapshotHoldsNothingToErase), so the cost does not grow with the user's messages,
	// only with its other events still in the outbox (conversation:create, client:*, activities),
	// which the outbox prunes after delivery.
	// The user was found in appID and ids are unique across apps, so user_id alone scopes the query
	// (an app_id condition invites PostgreSQL to AND in events_by_app, which grows with the app).
	evs, err := storedEvents(t.query(ctx, "SELECT id, data FROM events WHERE user_id = ? AND type <> 'conversation:message'", userID))
	if err != nil {
		return err
	}
	for _, e := range evs {
		s, err := decodeSnapshot(e.data)
		if err != nil {
			return fmt.Errorf("scrub event %s: %w", e.id, err)
		}
		if !scrubSnapshot(s, userID) {
			continue
		}
		data, err := json.Marshal(s)
		if err != nil {
			return fmt.Errorf("scrub event %s: %w", e.id, err)
		}
		if _, err := t.exec(ctx, "UPDATE events SET data = ? WHERE id = ?", string(data), e.id); err != nil {
			return err
		}
	}
	// The webhook flight recorder's copies: the payloads it recorded as sent (emulator_recorder.go).
	return t.scrubRecorder(ctx, userID)
}

// scrubSnapshot clears the personal data of the user userID in s, by the marks of the schema
// (snapshot.go): in every struct that belongs to the user, the fields marked erase. A struct belongs
// to the user when its owner field is userID, and so do the structs inside it that name no owner of
// their own (a user's profile). It reports whether it changed anything.
func scrubSnapshot(s *snapshot, userID string) bool {
	return scrub(reflect.ValueOf(s).Elem(), userID, false)
}

// scrub is scrubSnapshot on any value of the schema; owned says whether v is inside a struct that
// belongs to the user.
func scrub(v reflect.Value, userID string, owned bool) bool {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return false
		}
		return scrub(v.Elem(), userID, owned)
	case reflect.Slice:
		changed := false
		for i := range v.Len() {
			changed = scrub(v.Index(i), userID, owned) || changed
		}
		return changed
	case reflect.Struct:
	default:
		return false
	}
	p := scrubPlanOf(v.Type())
	if p.owner >= 0 {
		owned = v.Field(p.owner).String() == userID
	}
	changed := false
	if owned {
		for _, i := range p.erase {
			if f := v.Field(i); !f.IsZero() {
				f.SetZero()
				changed = true
			}
		}
	}
	for _, i := range p.walk {
		changed = scrub(v.Field(i), userID, owned) || changed
	}
	return changed
}

// scrubPlan is what scrub does with a struct type of the schema, read from its fields' marks once.
type scrubPlan struct {
	owner int   // the field marked owner, -1 if none
	erase []int // the fields marked erase
	walk  []int // the fields that hold structs: structs, and pointers and slices of them
}

var scrubPlans sync.Map // reflect.Type -> *scrubPlan

func scrubPlanOf(t reflect.Type) *scrubPlan {
	if p, ok := scrubPlans.Load(t); ok {
		return p.(*scrubPlan)
	}
	p := &scrubPlan{owner: -1}
	for i := range t.NumField() {
		f := t.Field(i)
		switch f.Tag.Get("personal") {
		case "owner":
			p.owner = i
		case "erase":
			p.erase = append(p.erase, i)
		}
		ft := f.Type
		if ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct {
			p.walk = append(p.walk, i)
		}
	}
	scrubPlans.Store(t, p)
	return p
}
