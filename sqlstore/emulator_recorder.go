package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/sunlamp/sunlamp"
)

// The webhook flight recorder (issue 15): one row of delivery_attempts per attempt, kept 24 hours
// of clock time (PruneDeliveries). Its request bodies are payloads as sent, so they hold personal
// data: erasing or deleting a user scrubs the rows of the user's events (scrubRecorder), and an
// attempt rendered before such an erasure but recorded after it is scrubbed on its way in.

// outcomeNames are the stored names of the outcomes of an attempt.
var outcomeNames = map[sunlamp.DeliveryOutcome]string{sunlamp.Delivered: "delivered", sunlamp.Retry: "retry", sunlamp.GiveUp: "failed"}

// outcomeOf returns the outcome of a stored name.
func outcomeOf(name string) (sunlamp.DeliveryOutcome, bool) {
	for o, n := range outcomeNames {
		if n == name {
			return o, true
		}
	}
	return 0, false
}

const attemptColumns = `id, app_id, event_id, event_type, user_id, webhook_id, target, attempt, redeliver, request_headers, request_body,
	response_status, response_headers, response_body, duration_ms, error, outcome, next_attempt_at, created_at`

// erasureMargin is how long before an erasure an attempt may have been rendered and still be
// recorded after it: far longer than an attempt takes (20 s to answer), so that a late attempt is
// always scrubbed.
const erasureMargin = 5 * time.Minute

// RecordDeliveryAttempts stores the attempts in one transaction; see sunlamp.RecorderStore.
func (s *Store) RecordDeliveryAttempts(ctx context.Context, attempts []sunlamp.DeliveryAttempt) error {
	if len(attempts) == 0 {
		return nil
	}
	var users []any
	for _, a := range attempts {
		if a.UserID != "" && !slices.Contains(users, any(a.UserID)) {
			users = append(users, a.UserID)
		}
	}
	slices.SortFunc(users, func(a, b any) int { return strings.Compare(a.(string), b.(string)) })
	forgot := false
	err := s.inTx(ctx, func(t tx) error {
		erased := map[string]time.Time{}
		if len(users) > 0 {
			// An erasure holds its user's row locked until it commits (PostgreSQL): waiting for it
			// here means that the erasure either committed before (its mark is read below) or
			// starts after these rows are in (and scrubs them).
			rows, err := t.query(ctx, "SELECT id FROM users WHERE id IN ("+placeholders(len(users))+") ORDER BY id"+t.s.d.lock("SHARE"), users...)
			if err != nil {
				return err
			}
			rows.Close()
			rows, err = t.query(ctx, "SELECT user_id, erased_at FROM recorder_erasures WHERE user_id IN ("+placeholders(len(users))+")", users...)
			if err != nil {
				return err
			}
			for rows.Next() {
				var id string
				var at int64
				if err := rows.Scan(&id, &at); err != nil {
					rows.Close()
					return err
				}
				erased[id] = sunlamp.FromMillis(at)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		// An attempt of an event that is gone (its app was reset, its conversation or user deleted
		// while the attempt was in flight) is not recorded: nothing of the event may outlive it. The
		// events are locked (PostgreSQL) so that they cannot go before these rows are in, after
		// which whatever removes them removes the rows too.
		events := make([]any, 0, len(attempts))
		for _, a := range attempts {
			if !slices.Contains(events, any(a.EventID)) {
				events = append(events, a.EventID)
			}
		}
		slices.SortFunc(events, func(a, b any) int { return strings.Compare(a.(string), b.(string)) })
		live := map[string]bool{}
		rows, err := t.query(ctx, "SELECT id FROM events WHERE id IN ("+placeholders(len(events))+") ORDER BY id"+t.s.d.lock("SHARE"), events...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			live[id] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		// Several rows a statement: one round trip for a batch of results (PostgreSQL).
		var records [][]any
		for _, a := range attempts {
			if !live[a.EventID] {
				continue
			}
			if at, ok := erased[a.UserID]; ok && !at.Before(a.CreatedAt.Add(-erasureMargin)) {
				a = scrubAttempt(a)
			}
			args, err := attemptArgs(a)
			if err != nil {
				return err
			}
			records = append(records, args)
		}
		for len(records) > 0 {
			n := min(len(records), 50) // 950 placeholders, well below either database's limit
			values := strings.Repeat("("+placeholders(19)+"), ", n)
			var args []any
			for _, r := range records[:n] {
				args = append(args, r...)
			}
			if _, err := t.exec(ctx, "INSERT INTO delivery_attempts ("+attemptColumns+") VALUES "+strings.TrimSuffix(values, ", "), args...); err != nil {
				return err
			}
			records = records[n:]
		}
		forgot, err = t.forgetRecordedRemovals(ctx, attempts, live)
		return err
	})
	if err != nil {
		return fmt.Errorf("record delivery attempts: %w", err)
	}
	if forgot {
		s.eraseLogs(ctx) // earlier attempts' bodies are in SQLite's write-ahead log
	}
	return nil
}

// forgetRecordedRemovals: once no delivery of a user:remove is pending, the outbox forgets the
// deleted user's externalId (forgetEndedRemovals, which runs before the attempts are recorded);
// the recorder's copies of the payloads as sent forget it then too, the attempts just recorded and
// the earlier ones. It reports whether a body changed.
func (t tx) forgetRecordedRemovals(ctx context.Context, attempts []sunlamp.DeliveryAttempt, live map[string]bool) (bool, error) {
	var removals []any
	for _, a := range attempts {
		if a.EventType == removedUserEvent && live[a.EventID] && !slices.Contains(removals, any(a.EventID)) {
			removals = append(removals, a.EventID)
		}
	}
	if len(removals) == 0 {
		return false, nil
	}
	ended, err := t.ids(ctx, `SELECT e.id FROM events e WHERE e.id IN (`+placeholders(len(removals))+`)
		AND NOT EXISTS (SELECT 1 FROM deliveries p WHERE p.event_id = e.id AND p.status = 'pending')`, removals...)
	if err != nil || len(ended) == 0 {
		return false, err
	}
	rows, err := t.query(ctx, "SELECT id, request_body FROM delivery_attempts WHERE event_id IN ("+placeholders(len(ended))+")", ended...)
	if err != nil {
		return false, err
	}
	type body struct{ id, body string }
	var changed []body
	for rows.Next() {
		var b body
		if err := rows.Scan(&b.id, &b.body); err != nil {
			rows.Close()
			return false, err
		}
		if forgotten, ok := forgetRemovedUserWire(b.body); ok {
			changed = append(changed, body{b.id, forgotten})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return false, err
	}
	for _, b := range changed {
		if _, err := t.exec(ctx, "UPDATE delivery_attempts SET request_body = ? WHERE id = ?", b.body, b.id); err != nil {
			return false, err
		}
	}
	return len(changed) > 0, nil
}

// forgetRemovedUserWire returns a user:remove webhook body without the deleted user's externalId
// and zendeskId, and whether it had one (forgetRemovedUser does the same to the stored event).
func forgetRemovedUserWire(body string) (string, bool) {
	var env map[string]any
	d := json.NewDecoder(strings.NewReader(body))
	d.UseNumber()
	if d.Decode(&env) != nil {
		return body, false
	}
	events, _ := env["events"].([]any)
	changed := false
	for _, e := range events {
		p, _ := e.(map[string]any)["payload"].(map[string]any)
		u, _ := p["user"].(map[string]any)
		for _, k := range []string{"externalId", "zendeskId"} {
			if _, ok := u[k]; ok {
				delete(u, k)
				changed = true
			}
		}
	}
	if !changed {
		return body, false
	}
	b, err := json.Marshal(env)
	if err != nil {
		return body, false
	}
	return string(b), true
}

func attemptArgs(a sunlamp.DeliveryAttempt) ([]any, error) {
	reqHeaders, err := json.Marshal(headersOrEmpty(a.RequestHeaders))
	if err != nil {
		return nil, err
	}
	var respHeaders, respStatus, respBody, next any
	if a.ResponseStatus != 0 {
		respStatus = a.ResponseStatus
		b, err := json.Marshal(headersOrEmpty(a.ResponseHeaders))
		if err != nil {
			return nil, err
		}
		respHeaders = string(b)
		respBody = a.ResponseBody
		if respBody == nil || len(a.ResponseBody) == 0 {
			respBody = []byte{}
		}
	}
	if !a.NextAttemptAt.IsZero() {
		next = a.NextAttemptAt.UnixMilli()
	}
	if a.ID == "" {
		a.ID = sunlamp.NewID()
	}
	return []any{a.ID, a.AppID, a.EventID, a.EventType, nullStr(a.UserID), a.WebhookID, a.Target, a.Attempt, boolInt(a.Redeliver),
		string(reqHeaders), string(a.RequestBody), respStatus, respHeaders, respBody, a.Duration.Milliseconds(), nullStr(a.Error),
		outcomeNames[a.Outcome], next, a.CreatedAt.UnixMilli()}, nil
}

func headersOrEmpty(h map[string][]string) map[string][]string {
	if h == nil {
		return map[string][]string{}
	}
	return h
}

func scanAttempt(r scanner) (sunlamp.DeliveryAttempt, error) {
	var a sunlamp.DeliveryAttempt
	var user, respHeaders, errText sql.NullString
	var status, next sql.NullInt64
	var redeliver, durationMs, created int64
	var reqHeaders, reqBody, outcome string
	var respBody []byte
	if err := r.Scan(&a.ID, &a.AppID, &a.EventID, &a.EventType, &user, &a.WebhookID, &a.Target, &a.Attempt, &redeliver, &reqHeaders, &reqBody,
		&status, &respHeaders, &respBody, &durationMs, &errText, &outcome, &next, &created); err != nil {
		return a, err
	}
	a.UserID, a.Redeliver, a.RequestBody = user.String, redeliver != 0, []byte(reqBody)
	if err := json.Unmarshal([]byte(reqHeaders), &a.RequestHeaders); err != nil {
		return a, fmt.Errorf("decode request headers: %w", err)
	}
	if status.Valid {
		a.ResponseStatus, a.ResponseBody = int(status.Int64), respBody
		if err := json.Unmarshal([]byte(respHeaders.String), &a.ResponseHeaders); err != nil {
			return a, fmt.Errorf("decode response headers: %w", err)
		}
	}
	a.Duration, a.Error = time.Duration(durationMs)*time.Millisecond, errText.String
	a.Outcome, _ = outcomeOf(outcome)
	if next.Valid {
		a.NextAttemptAt = sunlamp.FromMillis(next.Int64)
	}
	a.CreatedAt = sunlamp.FromMillis(created)
	return a, nil
}

// DeliveryAttempts returns a page of the app's recorded attempts; see sunlamp.RecorderStore.
func (s *Store) DeliveryAttempts(ctx context.Context, appID string, f sunlamp.DeliveryAttemptFilter, p sunlamp.Page) ([]sunlamp.DeliveryAttempt, sunlamp.Cursor, error) {
	where, args := "app_id = ?", []any{appID}
	and := func(cond string, arg any) {
		where += " AND " + cond
		args = append(args, arg)
	}
	if f.WebhookID != "" {
		and("webhook_id = ?", f.WebhookID)
	}
	if f.EventType != "" {
		and("event_type = ?", f.EventType)
	}
	if f.EventID != "" {
		and("event_id = ?", f.EventID)
	}
	if f.Outcome != nil {
		and("outcome = ?", outcomeNames[*f.Outcome])
	}
	if f.Status != 0 {
		and("response_status = ?", f.Status)
	}
	var out []sunlamp.DeliveryAttempt
	var cur sunlamp.Cursor
	err := s.readTx(ctx, func(t tx) error {
		if _, err := t.app(ctx, appID); err != nil {
			return err
		}
		var err error
		out, cur, err = pageOf(ctx, t, p, pageQuery{columns: attemptColumns, from: "delivery_attempts", where: where, args: args},
			scanAttempt, func(a sunlamp.DeliveryAttempt) string { return a.ID })
		return err
	})
	if err != nil {
		return nil, cur, fmt.Errorf("list delivery attempts: %w", err)
	}
	return out, cur, nil
}

// DeliveryAttempt returns one recorded attempt; see sunlamp.RecorderStore.
func (s *Store) DeliveryAttempt(ctx context.Context, appID, id string) (sunlamp.DeliveryAttempt, error) {
	a, err := scanAttempt(s.queryRow(ctx, "SELECT "+attemptColumns+" FROM delivery_attempts WHERE app_id = ? AND id = ?", appID, id))
	if err != nil {
		return a, notFound(err, sunlamp.ErrDeliveryAttemptNotFound, "get delivery attempt")
	}
	return a, nil
}

// Event returns an outbox event of the app; see sunlamp.RecorderStore.
func (s *Store) Event(ctx context.Context, appID, id string) (sunlamp.Event, error) {
	var ev sunlamp.Event
	var conv, user, integ sql.NullString
	var data string
	var created int64
	err := s.queryRow(ctx, "SELECT id, app_id, type, conversation_id, user_id, integration_id, data, created_at FROM events WHERE app_id = ? AND id = ?", appID, id).
		Scan(&ev.ID, &ev.AppID, &ev.Type, &conv, &user, &integ, &data, &created)
	if err != nil {
		return ev, notFound(err, sunlamp.ErrEventNotFound, "get event")
	}
	ev.ConversationID, ev.UserID, ev.IntegrationID = conv.String, user.String, integ.String
	ev.CreatedAt = sunlamp.FromMillis(created)
	if ev.Data, err = decodeEventData(data); err != nil {
		return ev, fmt.Errorf("get event %s: %w", ev.ID, err)
	}
	return ev, nil
}

// AppWebhooks returns every webhook of the app, by id; see sunlamp.RecorderStore.
func (s *Store) AppWebhooks(ctx context.Context, appID string) ([]sunlamp.Webhook, error) {
	rows, err := s.query(ctx, "SELECT "+webhookColumns+" FROM webhooks WHERE app_id = ? ORDER BY id", appID)
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	defer rows.Close()
	var out []sunlamp.Webhook
	for rows.Next() {
		w, err := scanWebhook(rows)
		if err != nil {
			return nil, fmt.Errorf("list webhooks: %w", err)
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// scrubRecorder marks the user erased (so that attempts rendered before and recorded after are
// scrubbed on their way in) and scrubs the recorded attempts of the user's events. The caller holds
// the user's row locked (see RecordDeliveryAttempts).
func (t tx) scrubRecorder(ctx context.Context, userID string) error {
	now := t.s.now().UnixMilli()
	if _, err := t.exec(ctx, "INSERT INTO recorder_erasures (user_id, erased_at) VALUES (?, ?) ON CONFLICT (user_id) DO UPDATE SET erased_at = excluded.erased_at", userID, now); err != nil {
		return err
	}
	rows, err := t.query(ctx, "SELECT id, request_body, response_body FROM delivery_attempts WHERE user_id = ?", userID)
	if err != nil {
		return err
	}
	type row struct {
		id, body string
		resp     []byte
	}
	var found []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.body, &r.resp); err != nil {
			rows.Close()
			return err
		}
		found = append(found, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, r := range found {
		a := scrubAttempt(sunlamp.DeliveryAttempt{UserID: userID, RequestBody: []byte(r.body), ResponseBody: r.resp})
		if string(a.RequestBody) == r.body && r.resp == nil {
			continue
		}
		if _, err := t.exec(ctx, "UPDATE delivery_attempts SET request_body = ?, response_body = NULL WHERE id = ?", string(a.RequestBody), r.id); err != nil {
			return err
		}
	}
	return nil
}

// scrubAttempt clears the personal data of a's user from a's request body (the payload as sent),
// and drops its response body, which is the target's own text and may quote anything it received.
func scrubAttempt(a sunlamp.DeliveryAttempt) sunlamp.DeliveryAttempt {
	a.ResponseBody = nil
	var v any
	d := json.NewDecoder(strings.NewReader(string(a.RequestBody)))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		a.RequestBody = []byte{} // not a payload of ours: keep nothing
		return a
	}
	scrubPayload(v, a.UserID, false)
	b, err := json.Marshal(v)
	if err != nil {
		a.RequestBody = []byte{}
		return a
	}
	a.RequestBody = b
	return a
}

// scrubPayload walks a webhook payload of one of userID's events (in the wire's camelCase) and
// clears what erasure clears: the user's profile fields, metadata and identities, a user author's name and
// avatar, and the channel data of clients and devices, which in such a payload are the user's
// (the "client" of a client event, the source's client and device). inClient says that v is
// such a client or device. Which fields those are is read from the snapshot schema's
// personal:"erase" marks (snapshot.go), whose JSON names are the wire's: a field marked there is
// scrubbed here too.
func scrubPayload(v any, userID string, inClient bool) {
	switch x := v.(type) {
	case map[string]any:
		if id, _ := x["id"].(string); id == userID {
			if p, ok := x["profile"].(map[string]any); ok {
				for _, k := range wireErase.profile {
					delete(p, k)
				}
				for _, k := range wireErase.user { // metadata and identities: kept empty, as the wire shows them
					switch x[k].(type) {
					case map[string]any:
						x[k] = map[string]any{}
					case []any:
						x[k] = []any{}
					case nil:
					default:
						delete(x, k)
					}
				}
			}
		}
		if uid, _ := x["userId"].(string); uid == userID || inClient {
			for _, k := range wireErase.channel {
				delete(x, k)
			}
		}
		for k, val := range x {
			scrubPayload(val, userID, k == "client" || k == "clients" || k == "device" || k == "devices")
		}
	case []any:
		for _, val := range x {
			scrubPayload(val, userID, inClient)
		}
	}
}

// wireErase holds the JSON names of the snapshot schema's personal:"erase" fields, by where they
// sit in a payload: in a user's profile, on the user, on a client, device or user author.
var wireErase = struct{ profile, user, channel []string }{
	profile: eraseNames(evProfile{}),
	user:    eraseNames(evUser{}),
	channel: eraseNames(evClient{}, evDevice{}, evAuthor{}),
}

// eraseNames returns the JSON names of the personal:"erase" fields of the structs, once each.
func eraseNames(structs ...any) []string {
	var out []string
	for _, s := range structs {
		t := reflect.TypeOf(s)
		for i := range t.NumField() {
			f := t.Field(i)
			if f.Tag.Get("personal") != "erase" {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name != "" && !slices.Contains(out, name) {
				out = append(out, name)
			}
		}
	}
	return out
}
