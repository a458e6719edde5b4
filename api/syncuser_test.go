package api_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/sunlamp/sunlamp/internal/apitest"
	"github.com/sunlamp/sunlamp/internal/webhooktest"
)

// TestZendeskDirectory manages core Zendesk users under /_sunlamp/v1 (account key) and links a
// messaging user to one, as the Help Center's authentication does.
func TestZendeskDirectory(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		appID := e.MustCreateApp(t, "Zendesk")
		key := apitest.KeyAuth(e.MustCreateAppKey(t, appID))
		dir := "/_sunlamp/v1/zendesk/users"
		r := e.Do(t, "POST", dir, e.Account(), map[string]any{"id": "35436", "name": "Jane Doe", "email": "jane@example.com", "externalId": "jane-1"})
		e.MustJSON(t, r, http.StatusCreated, `{"zendeskUser":{"id":"35436","name":"Jane Doe","email":"jane@example.com","externalId":"jane-1","createdAt":"TIME","updatedAt":"TIME"}}`)
		r = e.Do(t, "POST", dir, e.Account(), map[string]any{"name": "Sam"})
		apitest.MustStatus(t, r, http.StatusCreated)
		if id := r.JSON(t)["zendeskUser"].(map[string]any)["id"].(string); len(id) != 13 || strings.Trim(id, "0123456789") != "" {
			t.Errorf("got generated id %q, want 13 digits", id)
		}
		for _, c := range []struct {
			body        map[string]any
			status      int
			code, title string
		}{
			{map[string]any{"name": "Other", "email": "JANE@example.com"}, 409, "conflict", "A Zendesk user with that id, email or externalId already exists"},
			{map[string]any{"name": "Other", "externalId": "jane-1"}, 409, "conflict", "A Zendesk user with that id, email or externalId already exists"},
			{map[string]any{"id": "35436", "name": "Other"}, 409, "conflict", "A Zendesk user with that id, email or externalId already exists"},
			{map[string]any{"email": "x@example.com"}, 400, "bad_request", "should have required property 'name'"},
			{map[string]any{"name": "x", "email": "not-an-email"}, 400, "bad_request", `email should match format "email"`},
			{map[string]any{"id": "abc", "name": "x"}, 400, "bad_request", "id should be a number of 1 to 20 digits, as a string"},
		} {
			apitest.MustError(t, e.Do(t, "POST", dir, e.Account(), c.body), c.status, c.code, c.title)
		}
		apitest.MustStatus(t, e.Do(t, "GET", dir, key, nil), http.StatusForbidden)
		e.MustJSON(t, e.Do(t, "PATCH", dir+"/35436", e.Account(), map[string]any{"email": "jane.doe@example.com", "externalId": nil}), http.StatusOK,
			`{"zendeskUser":{"id":"35436","name":"Jane Doe","email":"jane.doe@example.com","createdAt":"TIME","updatedAt":"TIME"}}`)
		r = e.Do(t, "GET", dir, e.Account(), nil)
		if n := len(r.JSON(t)["zendeskUsers"].([]any)); n != 2 {
			t.Errorf("got %d core users, want 2", n)
		}

		user := mustCreate(t, e, usersPath(appID), "user", map[string]any{"externalId": "visitor-7"})
		other := mustCreate(t, e, usersPath(appID), "user", map[string]any{"externalId": "visitor-8"})
		link := "/_sunlamp/v1/apps/" + appID + "/users/visitor-7/zendesk"
		e.MustJSON(t, e.Do(t, "POST", link, key, map[string]any{"zendeskId": "35436"}), http.StatusOK,
			`{"user":{"id":"`+user+`","externalId":"visitor-7","zendeskId":"35436","signedUpAt":"TIME","profile":{},"metadata":{},"identities":[]}}`)
		e.MustJSON(t, e.Do(t, "GET", usersPath(appID, user), key, nil), http.StatusOK,
			`{"user":{"id":"`+user+`","externalId":"visitor-7","zendeskId":"35436","signedUpAt":"TIME","profile":{},"metadata":{},"identities":[]}}`)
		apitest.MustError(t, e.Do(t, "POST", "/_sunlamp/v1/apps/"+appID+"/users/"+other+"/zendesk", key, map[string]any{"zendeskId": "35436"}),
			http.StatusConflict, "conflict", "Another user of the app is linked to that Zendesk user")
		apitest.MustError(t, e.Do(t, "POST", link, key, map[string]any{"zendeskId": "999"}), http.StatusNotFound, "not_found", "Zendesk user not found")
		// Deleting the user frees the zendeskId, as it frees the externalId.
		e.MustJSON(t, e.Do(t, "DELETE", usersPath(appID, user), key, nil), http.StatusOK, `{}`)
		apitest.MustStatus(t, e.Do(t, "POST", "/_sunlamp/v1/apps/"+appID+"/users/"+other+"/zendesk", key, map[string]any{"zendeskId": "35436"}), http.StatusOK)
		e.MustJSON(t, e.Do(t, "POST", "/_sunlamp/v1/apps/"+appID+"/users/"+other+"/zendesk", key, map[string]any{"zendeskId": nil}), http.StatusOK,
			`{"user":{"id":"`+other+`","externalId":"visitor-8","signedUpAt":"TIME","profile":{},"metadata":{},"identities":[]}}`)
		e.MustJSON(t, e.Do(t, "DELETE", dir+"/35436", e.Account(), nil), http.StatusOK, `{}`)
		apitest.MustError(t, e.Do(t, "GET", dir+"/35436", e.Account(), nil), http.StatusNotFound, "not_found", "Zendesk user not found")
	})
}

// TestSyncUser runs SyncUser as the spec describes it: the copy of names, externalId and primary
// email; a conflicting user without a zendeskId merged in (its clients, conversation, messages and
// profile move, and erasing the surviving user erases what came from it); a conflicting user linked
// to another core user losing the value; two core users merged through survivingZendeskId. The
// webhooks get user:merge and user:update, valid per the spec.
func TestSyncUser(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		appID := e.MustCreateApp(t, "Sync")
		key := apitest.KeyAuth(e.MustCreateAppKey(t, appID))
		rc := webhooktest.NewReceiver(t, nil)
		createIntegration(t, e, appID, key, customBody(rc.URL, "user:merge", "user:update"))
		whatsapp := createIntegration(t, e, appID, key, map[string]any{"type": "whatsapp"})
		d := newDispatcher(e)
		for _, u := range []map[string]any{
			{"id": "1001", "name": "Mary Jane Watson", "email": "mj@example.com", "externalId": "crm-1001"},
			{"id": "1002", "name": "Peter Parker", "email": "peter@example.com"},
			{"id": "1003", "name": "Ben Parker"},
			{"id": "2001", "name": "Old Account"},
			{"id": "2002", "name": "New Account", "externalId": "crm-2002"},
			{"id": "2003", "name": "Third Account"},
		} {
			apitest.MustStatus(t, e.Do(t, "POST", "/_sunlamp/v1/zendesk/users", e.Account(), u), http.StatusCreated)
		}
		linkTo := func(user, zendeskID string) {
			t.Helper()
			apitest.MustStatus(t, e.Do(t, "POST", "/_sunlamp/v1/apps/"+appID+"/users/"+user+"/zendesk", key, map[string]any{"zendeskId": zendeskID}), http.StatusOK)
		}
		sync := func(zendeskID string, body any) *apitest.Response {
			return e.Do(t, "POST", "/v2/apps/"+appID+"/users/"+zendeskID+"/sync", key, body)
		}
		inbound := func(body map[string]any) string {
			t.Helper()
			body["channel"], body["integrationId"] = "whatsapp", whatsapp
			r := e.Do(t, "POST", "/_sunlamp/v1/apps/"+appID+"/inbound", key, body)
			apitest.MustStatus(t, r, http.StatusCreated)
			return r.JSON(t)["user"].(map[string]any)["id"].(string)
		}
		events := func() []string {
			t.Helper()
			deliverDue(t, d)
			var types []string
			for _, g := range rc.All() {
				webhooktest.ValidateBody(t, g.Body)
				types = append(types, g.EventType)
			}
			return types
		}

		t.Run("copy, and merge the externalId's holder", func(t *testing.T) {
			// The user the Help Center authenticated, and one that wrote in on WhatsApp under the
			// CRM's id before: a user without a zendeskId, with a private profile.
			mj := mustCreate(t, e, usersPath(appID), "user", map[string]any{"externalId": "hc-mj"})
			linkTo(mj, "1001")
			wa := mustCreate(t, e, usersPath(appID), "user", map[string]any{"externalId": "crm-1001",
				"profile":  map[string]any{"email": "mj.private@example.org", "avatarUrl": "https://example.org/mj-private.png"},
				"metadata": map[string]any{"tier": "gold-secret"}})
			inbound(map[string]any{"user": map[string]any{"externalId": "crm-1001"},
				"client":  map[string]any{"externalId": "+15550001111", "displayName": "MJ on WhatsApp", "avatarUrl": "https://example.org/mj-wa.png"},
				"content": map[string]any{"type": "text", "text": "my order 77 is late"}})

			e.MustJSON(t, sync("1001", nil), http.StatusOK, `{"user":{"id":"`+mj+`","externalId":"crm-1001","zendeskId":"1001","signedUpAt":"TIME",
				"profile":{"givenName":"Mary","surname":"Jane Watson","email":"mj.private@example.org","avatarUrl":"https://example.org/mj-private.png"},
				"metadata":{"tier":"gold-secret"},"identities":[{"type":"email","value":"mj@example.com","verification":"verified"}]}}`)
			apitest.MustError(t, e.Do(t, "GET", usersPath(appID, wa), key, nil), http.StatusNotFound, "user_not_found", "User not found")
			// Its client, its conversation and its message are mj's now.
			r := e.Do(t, "GET", usersPath(appID, mj, "clients"), key, nil)
			if !strings.Contains(string(r.Body), "MJ on WhatsApp") {
				t.Errorf("mj's clients: %s, want the WhatsApp client", r.Body)
			}
			r = e.Do(t, "GET", "/v2/apps/"+appID+"/conversations?filter[userId]="+mj, key, nil)
			convs := r.JSON(t)["conversations"].([]any)
			if len(convs) != 1 {
				t.Fatalf("mj's conversations: %s, want the WhatsApp one", r.Body)
			}
			r = e.Do(t, "GET", "/v2/apps/"+appID+"/conversations/"+convs[0].(map[string]any)["id"].(string)+"/messages", key, nil)
			if !strings.Contains(string(r.Body), `"userId":"`+mj+`"`) || !strings.Contains(string(r.Body), "my order 77 is late") {
				t.Errorf("the conversation's messages: %s, want the message authored by mj", r.Body)
			}
			// The export of mj holds what came from the merged user: its client, its message, its profile.
			r = e.Do(t, "GET", "/_sunlamp/v1/apps/"+appID+"/users/"+mj+"/export", key, nil)
			apitest.MustStatus(t, r, http.StatusOK)
			for _, v := range []string{"MJ on WhatsApp", "my order 77 is late", "mj.private@example.org", "gold-secret"} {
				if !strings.Contains(string(r.Body), v) {
					t.Errorf("mj's export lacks %q, which the merge brought: %.500s", v, r.Body)
				}
			}
			if u, _ := r.JSON(t)["user"].(map[string]any); u["id"] != mj {
				t.Errorf("the export's user is %v, want mj %s", u["id"], mj)
			}
			// Erasing mj erases what came from the merged user, everywhere.
			apitest.MustStatus(t, e.Do(t, "DELETE", usersPath(appID, mj, "personalinformation"), key, nil), http.StatusOK)
			deliverDue(t, d)
			for table, rows := range e.MustDumpState(t) {
				for _, row := range rows {
					for _, v := range []string{"MJ on WhatsApp", "mj-wa.png", "mj.private@example.org", "mj-private.png", "gold-secret"} {
						if strings.Contains(row, v) {
							t.Errorf("%s still holds %q after the erasure of the merged user: %.300s", table, v, row)
						}
					}
				}
			}
		})

		t.Run("the email's holders", func(t *testing.T) {
			before := countOf(events(), "user:merge")
			peter := mustCreate(t, e, usersPath(appID), "user", map[string]any{"externalId": "hc-peter"})
			linkTo(peter, "1002")
			// One linked to another core user (it keeps its account, loses the email), one not (merged).
			ben := inbound(map[string]any{"user": map[string]any{"identities": []any{map[string]any{"type": "email", "value": "PETER@example.com"}}},
				"client": map[string]any{"externalId": "+15550002222"}})
			linkTo(ben, "1003")
			anon := inbound(map[string]any{"user": map[string]any{"identities": []any{map[string]any{"type": "email", "value": "peter@example.com"}}},
				"client": map[string]any{"externalId": "+15550003333"}})
			e.MustJSON(t, sync("1002", nil), http.StatusOK, `{"user":{"id":"`+peter+`","externalId":"hc-peter","zendeskId":"1002","signedUpAt":"TIME",
				"profile":{"givenName":"Peter","surname":"Parker"},"metadata":{},"identities":[{"type":"email","value":"peter@example.com","verification":"verified"}]}}`)
			e.MustJSON(t, e.Do(t, "GET", usersPath(appID, ben), key, nil), http.StatusOK, `{"user":{"id":"`+ben+`","zendeskId":"1003","signedUpAt":"TIME",
				"profile":{},"metadata":{},"identities":[]}}`)
			apitest.MustError(t, e.Do(t, "GET", usersPath(appID, anon), key, nil), http.StatusNotFound, "user_not_found", "User not found")
			if got := countOf(events(), "user:merge") - before; got != 1 {
				t.Errorf("got %d user:merge, want 1 (the holder without a zendeskId)", got)
			}
			// ListUsers finds peter by the email now, and only him.
			r := e.Do(t, "GET", usersPath(appID)+"?filter[identities.email]=peter%40example.com", key, nil)
			if users := r.JSON(t)["users"].([]any); len(users) != 1 || users[0].(map[string]any)["id"] != peter {
				t.Errorf("ListUsers by the email: %s, want peter alone", r.Body)
			}
		})

		t.Run("core users merged", func(t *testing.T) {
			old := mustCreate(t, e, usersPath(appID), "user", map[string]any{"externalId": "hc-old"})
			linkTo(old, "2001")
			newer := mustCreate(t, e, usersPath(appID), "user", map[string]any{"externalId": "hc-new"})
			linkTo(newer, "2002")
			e.MustJSON(t, sync("2001", map[string]any{"survivingZendeskId": "2002"}), http.StatusOK, `{"user":{"id":"`+newer+`","externalId":"crm-2002",
				"zendeskId":"2002","signedUpAt":"TIME","profile":{"givenName":"New","surname":"Account"},"metadata":{},"identities":[]}}`)
			apitest.MustError(t, e.Do(t, "GET", usersPath(appID, old), key, nil), http.StatusNotFound, "user_not_found", "User not found")
			// With no messaging user of the surviving core user, the going one takes its zendeskId.
			third := mustCreate(t, e, usersPath(appID), "user", map[string]any{"externalId": "hc-third"})
			linkTo(third, "2001")
			e.MustJSON(t, sync("2001", map[string]any{"survivingZendeskId": "2003"}), http.StatusOK, `{"user":{"id":"`+third+`","externalId":"hc-third",
				"zendeskId":"2003","signedUpAt":"TIME","profile":{"givenName":"Third","surname":"Account"},"metadata":{},"identities":[]}}`)
		})

		t.Run("errors", func(t *testing.T) {
			apitest.MustError(t, sync("4040", nil), http.StatusNotFound, "user_not_found", "User not found")
			apitest.MustError(t, sync("2003", map[string]any{"survivingZendeskId": "9999"}), http.StatusNotFound, "not_found", "Zendesk user not found")
			apitest.MustError(t, sync("2003", map[string]any{"survivingZendeskId": nil}), http.StatusBadRequest, "bad_request", "survivingZendeskId should be a non-empty string")
			// The core user is gone from the directory: nothing to copy from.
			apitest.MustStatus(t, e.Do(t, "DELETE", "/_sunlamp/v1/zendesk/users/2003", e.Account(), nil), http.StatusOK)
			apitest.MustError(t, sync("2003", nil), http.StatusNotFound, "not_found", "Zendesk user not found")
		})
		if types := events(); !slices.Contains(types, "user:update") || countOf(types, "user:merge") != 3 {
			t.Errorf("got events %v, want user:update and three user:merge", types)
		}
	})
}

func countOf(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}
