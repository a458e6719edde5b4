package api_test

import (
	"context"
	"database/sql"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sunlamp/sunlamp"
	"github.com/sunlamp/sunlamp/api"
	"github.com/sunlamp/sunlamp/internal/apitest"
	"github.com/sunlamp/sunlamp/internal/webhooktest"
	"github.com/sunlamp/sunlamp/sqlstore"
	"github.com/sunlamp/sunlamp/webhook"
)

// auditPage is ListAuditEntries' answer.
type auditPage struct {
	AuditEntries []struct {
		ID, At, Operation, UserID, KeyID, Outcome string
		Counts                                    map[string]int64
	}
	Meta  struct{ HasMore bool }
	Links struct{ Next, Prev string }
}

func getAudit(t *testing.T, e *apitest.Env, appID string, auth apitest.Auth, query string) auditPage {
	t.Helper()
	path := "/_sunlamp/v1/apps/" + appID + "/audit"
	if query != "" {
		path += "?" + query
	}
	r := e.Do(t, "GET", path, auth, nil)
	apitest.MustStatus(t, r, http.StatusOK)
	var p auditPage
	r.Decode(t, &p)
	return p
}

// operationsOf lists the operation and user of each entry, "operation/user/outcome".
func operationsOf(p auditPage) []string {
	var out []string
	for _, e := range p.AuditEntries {
		out = append(out, e.Operation+"/"+e.UserID+"/"+e.Outcome)
	}
	return out
}

// newIdentityUser makes a user with an email identity (through the inbound simulator, which gives
// the users it creates the identities it is told: the v2 API cannot write them) and a profile, and
// returns its id.
func newIdentityUser(t *testing.T, e *apitest.Env, appID, email, givenName, surname string) string {
	t.Helper()
	acct := e.Account()
	r := e.Do(t, "POST", "/_sunlamp/v1/apps/"+appID+"/inbound", acct, map[string]any{
		"channel": "whatsapp", "client": map[string]any{"externalId": "+1514555" + sunlamp.NewID()[18:]},
		"user":    map[string]any{"identities": []any{map[string]any{"type": "email", "value": email, "verification": "sso"}}},
		"content": map[string]any{"type": "text", "text": "hello"},
	})
	apitest.MustStatus(t, r, http.StatusCreated)
	id := r.JSON(t)["user"].(map[string]any)["id"].(string)
	apitest.MustStatus(t, e.Do(t, "PATCH", usersPath(appID, id), acct, map[string]any{"profile": map[string]any{"givenName": givenName, "surname": surname, "email": email}}), http.StatusOK)
	return id
}

// TestAuditTrail: erasure, deletion and the deletion's completion are each recorded with the acting
// key, the internal user id and counts, and nothing personal; the trail is paged and filtered, kept
// to its app, removed after the retention and with the app.
func TestAuditTrail(t *testing.T) {
	for _, name := range apitest.Stores() {
		t.Run(name, func(t *testing.T) {
			storeLogs := &syncBuffer{}
			s := startServer(t, name, apitest.NewDSN(t, name), sqlstore.WithoutBackgroundPurge(), sqlstore.WithoutAuditJanitor(),
				sqlstore.WithAuditRetention(24*time.Hour), sqlstore.WithLogger(slog.New(slog.NewJSONHandler(storeLogs, nil))))
			e := s.Env
			acct := e.Account()
			appID := e.MustCreateApp(t, "Audited")
			otherApp := e.MustCreateApp(t, "Other")
			key := e.MustCreateAppKey(t, appID)
			otherKey := apitest.KeyAuth(e.MustCreateAppKey(t, otherApp))
			tag := sunlamp.NewID()[12:]

			// Planted values: the erased user's externalId, names and email identity, and those of
			// the deleted user (personalData).
			email := "identity-" + tag + "@example.org"
			erased := newIdentityUser(t, e, appID, email, "Givenplanted"+tag, "Surplanted"+tag)
			secrets, _ := personalData(t, e, appID, "deleted-ext-"+tag)
			planted := append(secrets, email, "Givenplanted"+tag, "Surplanted"+tag, "deleted-ext-"+tag)
			r := e.Do(t, "GET", usersPath(appID, "deleted-ext-"+tag), acct, nil)
			deleted := r.JSON(t)["user"].(map[string]any)["id"].(string)

			// The deleted user's history: its personal conversation's messages and an attachment.
			r = e.Do(t, "GET", "/v2/apps/"+appID+"/conversations?filter[userId]="+deleted, acct, nil)
			convs := r.JSON(t)["conversations"].([]any)
			if len(convs) != 1 {
				t.Fatalf("got %d conversations of the user, want 1: %s", len(convs), r.Body)
			}
			conv := convs[0].(map[string]any)["id"].(string)
			a := &attEnv{Env: e, appID: appID, key: apitest.KeyAuth(key)}
			media := a.mustUpload(t, "access=public&for=message&conversationId="+conv, "doc.pdf", pdfBytes)
			apitest.MustStatus(t, e.Do(t, "POST", "/v2/apps/"+appID+"/conversations/"+conv+"/messages", acct, map[string]any{
				"author": map[string]any{"type": "user", "userId": deleted}, "content": map[string]any{"type": "file", "mediaUrl": media}}), http.StatusCreated)
			r = e.Do(t, "GET", "/v2/apps/"+appID+"/conversations/"+conv+"/messages?page[size]=100", acct, nil)
			messages := int64(len(r.JSON(t)["messages"].([]any)))
			if messages < 5 {
				t.Fatalf("got %d messages in the user's conversation, want at least 5", messages)
			}

			// 1. The operations, each by a different key.
			apitest.MustStatus(t, e.Do(t, "DELETE", usersPath(appID, erased, "personalinformation"), apitest.KeyAuth(key), nil), http.StatusOK)
			apitest.MustError(t, e.Do(t, "DELETE", usersPath(appID, "nobody-"+tag, "personalinformation"), apitest.KeyAuth(key), nil), 404, "user_not_found", "User not found")
			e.MustJSON(t, e.Do(t, "DELETE", usersPath(appID, "deleted-ext-"+tag), acct, nil), http.StatusOK, `{}`)

			// 2. The receipt: pending at once, complete with the counts once the purge ran.
			deletionPath := "/_sunlamp/v1/apps/" + appID + "/deletions/" + deleted
			e.MustJSON(t, e.Do(t, "GET", deletionPath, apitest.KeyAuth(key), nil), http.StatusOK, `{"deletion":{"userId":"`+deleted+`","status":"pending",
				"requestedAt":"TIME","completedAt":null,"messagesRemoved":0,"conversationsRemoved":0,"filesRemoved":0}}`)
			if err := e.Store.PurgeDeletedUsers(context.Background()); err != nil {
				t.Fatal(err)
			}
			r = e.Do(t, "GET", deletionPath, acct, nil)
			e.MustJSON(t, r, http.StatusOK, apitest.Sprintf(`{"deletion":{"userId":"%s","status":"complete",
				"requestedAt":"TIME","completedAt":"TIME","messagesRemoved":%d,"conversationsRemoved":1,"filesRemoved":1}}`, deleted, messages))
			apitest.MustError(t, e.Do(t, "GET", "/_sunlamp/v1/apps/"+appID+"/deletions/"+erased, acct, nil), 404, "deletion_not_found", "Deletion not found")
			apitest.MustError(t, e.Do(t, "GET", "/_sunlamp/v1/apps/"+appID+"/deletions/deleted-ext-"+tag, acct, nil), 404, "deletion_not_found", "Deletion not found")

			// 3. The trail, oldest first.
			all := getAudit(t, e, appID, apitest.KeyAuth(key), "")
			want := []string{
				"deleteUserPersonalInformation/" + erased + "/ok",
				"deleteUserPersonalInformation//user_not_found",
				"deleteUser/" + deleted + "/ok",
				"deleteUserCompleted/" + deleted + "/ok",
			}
			if got := operationsOf(all); !slices.Equal(got, want) {
				t.Fatalf("got entries %v, want %v", got, want)
			}
			wantKeys := []string{key.ID, key.ID, e.AccountKey.ID, sunlamp.AuditSystemActor}
			for i, en := range all.AuditEntries {
				if en.KeyID != wantKeys[i] {
					t.Errorf("entry %d (%s): got keyId %q, want %q", i, en.Operation, en.KeyID, wantKeys[i])
				}
				if _, err := time.Parse(time.RFC3339, en.At); err != nil {
					t.Errorf("entry %d: at %q is not a time", i, en.At)
				}
			}
			if got, want := all.AuditEntries[0].Counts, map[string]int64{"clientsCleared": 1, "devicesCleared": 0, "identitiesCleared": 1}; !mapsEqual(got, want) {
				t.Errorf("erasure counts: got %v, want %v", got, want)
			}
			if got := all.AuditEntries[2].Counts["clientsCleared"]; got != 2 {
				t.Errorf("deleteUser clientsCleared: got %d, want 2 (a WhatsApp and an SDK client)", got)
			}
			if got, want := all.AuditEntries[3].Counts, map[string]int64{"messagesRemoved": messages, "conversationsRemoved": 1, "filesRemoved": 1}; !mapsEqual(got, want) {
				t.Errorf("deleteUserCompleted counts: got %v, want %v", got, want)
			}

			// 4. Nothing personal in the trail: its answers, its rows, its log lines.
			r = e.Do(t, "GET", "/_sunlamp/v1/apps/"+appID+"/audit", acct, nil)
			mustNotContain(t, "the audit answer", string(r.Body), planted)
			db := openRawDB(t, name, e.DSN)
			rows := auditRows(t, db, name)
			if !strings.Contains(rows, deleted) {
				t.Fatalf("the audit rows do not hold the deleted user's id: the scan proves nothing: %s", rows)
			}
			mustNotContain(t, "the audit_entries and deletions rows", rows, planted)
			logs := storeLogs.String()
			if got := strings.Count(logs, `"msg":"audit"`); got != 4 {
				t.Errorf("got %d audit log lines, want 4 (one per entry): %s", got, logs)
			}
			if !strings.Contains(logs, `"operation":"deleteUserCompleted"`) || !strings.Contains(logs, `"messagesRemoved":`) {
				t.Errorf("the log lines lack the operation or counts: %s", logs)
			}
			mustNotContain(t, "the store's logs", logs, planted)

			// 5. Filters.
			if got := operationsOf(getAudit(t, e, appID, acct, "filter[userId]="+deleted)); !slices.Equal(got, want[2:]) {
				t.Errorf("filter[userId]: got %v, want %v", got, want[2:])
			}
			if got := operationsOf(getAudit(t, e, appID, acct, "filter[operation]=deleteUserPersonalInformation")); !slices.Equal(got, want[:2]) {
				t.Errorf("filter[operation]: got %v, want %v", got, want[:2])
			}
			if got := operationsOf(getAudit(t, e, appID, acct, "filter[operation]=export")); len(got) != 0 {
				t.Errorf("filter[operation]=export: got %v, want none", got)
			}
			at := func(i int) time.Time { tm, _ := time.Parse(time.RFC3339, all.AuditEntries[i].At); return tm }
			e.Clock.Advance(time.Hour)
			apitest.MustStatus(t, e.Do(t, "DELETE", usersPath(appID, erased, "personalinformation"), acct, nil), http.StatusOK) // an hour later
			later := e.Clock.Now().Add(-time.Minute)
			q := "filter[since]=" + url.QueryEscape(later.Format(time.RFC3339))
			if got := operationsOf(getAudit(t, e, appID, acct, q)); !slices.Equal(got, want[:1]) {
				t.Errorf("%s: got %v, want only the later erasure", q, got)
			}
			q = "filter[until]=" + url.QueryEscape(later.Format(time.RFC3339)) + "&filter[since]=" + url.QueryEscape(at(0).Format(time.RFC3339Nano))
			if got := operationsOf(getAudit(t, e, appID, acct, q)); !slices.Equal(got, want) {
				t.Errorf("%s: got %v, want the first four", q, got)
			}
			for _, bad := range []struct{ query, title string }{
				{"filter[since]=yesterday", "filter[since] should be an RFC 3339 time such as 2026-01-02T15:04:05Z"},
				{"filter[until]=2026-13-01T00:00:00Z", "filter[until] should be an RFC 3339 time such as 2026-01-02T15:04:05Z"},
				{"filter[since]=2026-01-02T00:00:00Z&filter[until]=2026-01-01T00:00:00Z", "filter[since] should be before filter[until]"},
				{"filter[operation]=deleteEverything", "filter[operation] should be one of deleteUserPersonalInformation, deleteUser, deleteUserCompleted, export, retentionSweep"},
				{"filter[userId]=deleted-ext-" + tag, "filter[userId] should be a user id (24 hexadecimal characters): audit entries hold internal user ids, never externalIds"},
			} {
				apitest.MustError(t, e.Do(t, "GET", "/_sunlamp/v1/apps/"+appID+"/audit?"+bad.query, acct, nil), 400, "bad_request", bad.title)
			}

			// 6. Paging: one entry a page, forward through the next links and back.
			var ids []string
			next := "/_sunlamp/v1/apps/" + appID + "/audit?page[size]=2&filter[operation]=deleteUserPersonalInformation"
			var last auditPage
			for pages := 0; next != ""; pages++ {
				if pages > 5 {
					t.Fatal("the pages do not end")
				}
				r := e.Do(t, "GET", strings.TrimPrefix(next, e.URL), acct, nil)
				apitest.MustStatus(t, r, http.StatusOK)
				last = auditPage{}
				r.Decode(t, &last)
				for _, en := range last.AuditEntries {
					if en.Operation != sunlamp.AuditDeleteUserPersonalInformation {
						t.Errorf("a page lost the filter: %s", r.Body)
					}
					ids = append(ids, en.ID)
				}
				next = last.Links.Next
			}
			if len(ids) != 3 || last.Meta.HasMore {
				t.Errorf("paging by 2 found %d erasure entries (hasMore %v), want 3", len(ids), last.Meta.HasMore)
			}
			if last.Links.Prev == "" {
				t.Fatal("the last page has no prev link")
			}
			r = e.Do(t, "GET", strings.TrimPrefix(last.Links.Prev, e.URL), acct, nil)
			var prev auditPage
			r.Decode(t, &prev)
			if len(prev.AuditEntries) != 2 || prev.AuditEntries[0].ID != ids[0] || prev.AuditEntries[1].ID != ids[1] {
				t.Errorf("the prev link answered %s, want the first two entries", r.Body)
			}
			apitest.MustError(t, e.Do(t, "GET", "/_sunlamp/v1/apps/"+appID+"/audit?page[size]=0", acct, nil), 400, "bad_request", "")

			// 7. Isolation: another app's key sees nothing of this app, and this app's entries are
			// not in another app's trail.
			apitest.MustError(t, e.Do(t, "GET", "/_sunlamp/v1/apps/"+appID+"/audit", otherKey, nil), 403, "forbidden", "Forbidden")
			apitest.MustError(t, e.Do(t, "GET", deletionPath, otherKey, nil), 403, "forbidden", "Forbidden")
			if got := getAudit(t, e, otherApp, otherKey, ""); len(got.AuditEntries) != 0 {
				t.Errorf("another app's trail shows %v", operationsOf(got))
			}
			apitest.MustError(t, e.Do(t, "GET", "/_sunlamp/v1/apps/"+otherApp+"/deletions/"+deleted, acct, nil), 404, "deletion_not_found", "Deletion not found")
			apitest.MustError(t, e.Do(t, "GET", "/_sunlamp/v1/apps/"+appID+"/audit", apitest.NoAuth{}, nil), 401, "unauthorized", "Authorization is required")

			// 8. Retention: once older than the retention (a day here) by the store's clock, entries
			// and completed receipts go.
			e.Clock.Advance(24*time.Hour - 30*time.Minute) // the first four are past a day old, the last not
			if _, err := e.Store.SweepAudit(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := operationsOf(getAudit(t, e, appID, acct, "")); !slices.Equal(got, want[:1]) {
				t.Errorf("after the retention: got %v, want only the later erasure", got)
			}
			apitest.MustError(t, e.Do(t, "GET", deletionPath, acct, nil), 404, "deletion_not_found", "Deletion not found")

			// 9. Removed with the app.
			apitest.MustStatus(t, e.Do(t, "DELETE", "/v2/apps/"+appID, acct, nil), http.StatusOK)
			if n := count(t, db, name, "SELECT COUNT(*) FROM audit_entries WHERE app_id = ?", appID); n != 0 {
				t.Errorf("got %d audit entries of a deleted app, want 0", n)
			}
		})
	}
}

func mapsEqual(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// auditRows returns every stored audit entry and deletion receipt as text, one row a line.
func auditRows(t *testing.T, db *sql.DB, name string) string {
	t.Helper()
	var b strings.Builder
	for _, line := range strings.Split(storedText(t, db, name), "\n") {
		if strings.HasPrefix(line, "audit_entries:") || strings.HasPrefix(line, "deletions:") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// TestErasureClearsIdentities: Delete User Personal Information clears the user's identities too
// (beyond the spec's list of profile fields): ListUsers no longer finds the user by its email,
// GetUser shows none, and no webhook payload with includeFullUser (pending before the erasure, or
// sent after it), recorded attempt or outbox event carries the email.
func TestErasureClearsIdentities(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		appID := e.MustCreateApp(t, "Identities")
		key := apitest.KeyAuth(e.MustCreateAppKey(t, appID))
		rc := webhooktest.NewReceiver(t, func(string, int) int { return http.StatusServiceUnavailable })
		createIntegration(t, e, appID, key, map[string]any{"type": "custom", "displayName": "Bot", "webhooks": []any{map[string]any{
			"target": rc.URL, "triggers": []string{"conversation:message"}, "includeFullUser": true}}})
		d := webhook.New(webhook.Config{Store: e.Store, Render: api.EventRenderer(e.Store), Clock: e.Clock, Timeout: 5 * time.Second, Recorder: e.Store})
		tag := sunlamp.NewID()[12:]
		email := "identity-" + tag + "@example.org"
		userID := newIdentityUser(t, e, appID, email, "Given"+tag, "Sur"+tag)
		filter := usersPath(appID) + "?filter[identities.email]=" + url.QueryEscape(email)
		if r := e.Do(t, "GET", filter, key, nil); !strings.Contains(string(r.Body), userID) {
			t.Fatalf("before erasure, ListUsers does not find the user by its identity: %s", r.Body)
		}
		deliverDue(t, d)
		before := len(rc.All())
		if before == 0 || !strings.Contains(string(rc.All()[0].Body), email) {
			t.Fatalf("the first attempt carried no identity email: the test would prove nothing")
		}

		apitest.MustStatus(t, e.Do(t, "DELETE", usersPath(appID, userID, "personalinformation"), key, nil), http.StatusOK)

		e.MustJSON(t, e.Do(t, "GET", filter, key, nil), http.StatusOK, `{"users":[]}`)
		e.MustJSON(t, e.Do(t, "GET", usersPath(appID, userID), key, nil), http.StatusOK,
			`{"user":{"id":"ID","signedUpAt":"TIME","profile":{},"metadata":{},"identities":[]}}`)
		// The pending delivery goes, scrubbed; and a message after the erasure carries no email either.
		apitest.MustStatus(t, e.Do(t, "POST", "/_sunlamp/v1/apps/"+appID+"/inbound", key, map[string]any{
			"channel": "sdk", "user": map[string]any{"id": userID}, "content": map[string]any{"type": "text", "text": "after"}}), http.StatusCreated)
		rc.SetAnswer(nil)
		e.Clock.Advance(time.Minute)
		deliverDue(t, d)
		after := rc.All()[before:]
		if len(after) < 2 {
			t.Fatalf("got %d deliveries after the erasure, want the pending one and the new message's", len(after))
		}
		for _, g := range after {
			webhooktest.ValidateBody(t, g.Body)
			mustNotContain(t, "a webhook payload after the erasure", string(g.Body), []string{email, "Given" + tag})
			if u, _ := g.Payload(t)["message"].(map[string]any)["author"].(map[string]any)["user"].(map[string]any); u == nil {
				t.Errorf("the includeFullUser payload has no user: %s", g.Body)
			}
		}
		r := e.Do(t, "GET", "/_sunlamp/v1/apps/"+appID+"/deliveries?page[size]=100", e.Account(), nil)
		apitest.MustStatus(t, r, http.StatusOK)
		mustNotContain(t, "the delivery recorder", string(r.Body), []string{email})
		if n := countEventsContaining(t, e, email); n != 0 {
			t.Errorf("%d outbox events still hold the identity email", n)
		}
	})
}
