package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/sunlamp/sunlamp/internal/apitest"
)

// usersPath returns the users path of app, with a user reference escaped as the official client does.
func usersPath(appID string, ref ...string) string {
	p := "/v2/apps/" + appID + "/users"
	for _, r := range ref {
		p += "/" + apitest.PathEscape(r)
	}
	return p
}

func TestUsers(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		appID := e.MustCreateApp(t, "Users")
		key := apitest.KeyAuth(e.MustCreateAppKey(t, appID))
		ext := "a/b c@x?y#z" // the official client percent-encodes all of it
		r := e.Do(t, "POST", usersPath(appID), key, map[string]any{
			"externalId": ext, "signedUpAt": "2020-05-21T15:53:30.197Z",
			"profile":  map[string]any{"givenName": "Jane", "surname": "Doe", "email": "jane@example.org", "avatarUrl": "https://example.org/jane.png", "locale": "fr-CA"},
			"metadata": map[string]any{"plan": "gold", "seats": 3, "vip": true},
		})
		e.MustJSON(t, r, http.StatusCreated, `{"user":{"id":"ID","externalId":"a/b c@x?y#z","signedUpAt":"2020-05-21T15:53:30.197Z",
			"profile":{"givenName":"Jane","surname":"Doe","email":"jane@example.org","avatarUrl":"https://example.org/jane.png","locale":"fr-CA"},
			"metadata":{"plan":"gold","seats":3,"vip":true},"identities":[]}}`)
		id := r.JSON(t)["user"].(map[string]any)["id"].(string)

		t.Run("get by id and by externalId", func(t *testing.T) {
			for _, ref := range []string{id, ext} {
				r := e.Do(t, "GET", usersPath(appID, ref), key, nil)
				apitest.MustStatus(t, r, 200)
				if got := r.JSON(t)["user"].(map[string]any)["id"]; got != id {
					t.Errorf("GET %q: got user %v, want %s", ref, got, id)
				}
			}
			apitest.MustError(t, e.Do(t, "GET", usersPath(appID, "nobody"), key, nil), 404, "user_not_found", "User not found")
		})

		t.Run("duplicate externalId", func(t *testing.T) {
			apitest.MustError(t, e.Do(t, "POST", usersPath(appID), key, map[string]any{"externalId": ext}), 409, "conflict", "User already exists")
			// Another app may use the same externalId.
			other := e.MustCreateApp(t, "Other")
			apitest.MustStatus(t, e.Do(t, "POST", usersPath(other), e.Account(), map[string]any{"externalId": ext}), 201)
		})

		t.Run("minimal user", func(t *testing.T) {
			r := e.Do(t, "POST", usersPath(appID), key, nil)
			e.MustJSON(t, r, 201, `{"user":{"id":"ID","signedUpAt":"TIME","profile":{},"metadata":{},"identities":[]}}`)
		})

		t.Run("update merges profile and replaces metadata", func(t *testing.T) {
			r := e.Do(t, "PATCH", usersPath(appID, ext), key, map[string]any{
				"profile":      map[string]any{"givenName": "Janet", "email": nil},
				"metadata":     map[string]any{"plan": "silver"},
				"toBeRetained": true, "externalId": "ignored",
			})
			e.MustJSON(t, r, 200, `{"user":{"id":"ID","externalId":"a/b c@x?y#z","signedUpAt":"2020-05-21T15:53:30.197Z","toBeRetained":true,
				"profile":{"givenName":"Janet","surname":"Doe","avatarUrl":"https://example.org/jane.png","locale":"fr-CA"},
				"metadata":{"plan":"silver"},"identities":[]}}`)
			r = e.Do(t, "PATCH", usersPath(appID, id), key, map[string]any{"metadata": nil, "signedUpAt": "2021-01-02T03:04:05.678Z", "toBeRetained": false})
			e.MustJSON(t, r, 200, `{"user":{"id":"ID","externalId":"a/b c@x?y#z","signedUpAt":"2021-01-02T03:04:05.678Z",
				"profile":{"givenName":"Janet","surname":"Doe","avatarUrl":"https://example.org/jane.png","locale":"fr-CA"},
				"metadata":{},"identities":[]}}`)
			r = e.Do(t, "PATCH", usersPath(appID, id), key, map[string]any{"profile": nil})
			e.MustJSON(t, r, 200, `{"user":{"id":"ID","externalId":"a/b c@x?y#z","signedUpAt":"2021-01-02T03:04:05.678Z",
				"profile":{},"metadata":{},"identities":[]}}`)
			apitest.MustError(t, e.Do(t, "PATCH", usersPath(appID, "nobody"), key, map[string]any{}), 404, "user_not_found", "User not found")
		})

		t.Run("validation", func(t *testing.T) {
			cases := []struct {
				body  any
				title string
			}{
				{map[string]any{"externalId": ""}, "externalId should NOT be shorter than 1 characters"},
				{map[string]any{"externalId": strings.Repeat("x", 1025)}, "externalId should NOT be longer than 1024 characters"},
				{map[string]any{"externalId": 12}, "externalId should be string"},
				{map[string]any{"signedUpAt": "yesterday"}, `signedUpAt should match format "date-time" (YYYY-MM-DDThh:mm:ss.sssZ)`},
				{map[string]any{"toBeRetained": "yes"}, "toBeRetained should be boolean"},
				{map[string]any{"profile": map[string]any{"email": "not-an-email"}}, `profile.email should match format "email"`},
				{map[string]any{"profile": map[string]any{"avatarUrl": "not a uri"}}, `profile.avatarUrl should match format "uri"`},
				{map[string]any{"profile": map[string]any{"givenName": strings.Repeat("é", 129)}}, "profile.givenName should NOT be longer than 128 characters"},
				{map[string]any{"profile": map[string]any{"surname": ""}}, "profile.surname should NOT be shorter than 1 characters"},
				{map[string]any{"profile": map[string]any{"locale": strings.Repeat("a", 65)}}, "profile.locale should NOT be longer than 64 characters"},
				{map[string]any{"profile": map[string]any{"givenName": 3}}, ""},
				{map[string]any{"metadata": map[string]any{"k": strings.Repeat("x", 4100)}}, "User metadata is limited to 4096 bytes in size."},
				{map[string]any{"metadata": map[string]any{"nested": map[string]any{"a": 1}}}, ""},
			}
			for _, c := range cases {
				apitest.MustError(t, e.Do(t, "POST", usersPath(appID), key, c.body), 400, "bad_request", c.title)
			}
			// Every problem is reported at once.
			r := e.Do(t, "PATCH", usersPath(appID, id), key, map[string]any{"profile": map[string]any{"email": "x", "avatarUrl": "y"}})
			e.MustJSON(t, r, 400, `{"errors":[{"code":"bad_request","title":"profile.email should match format \"email\""},
				{"code":"bad_request","title":"profile.avatarUrl should match format \"uri\""}]}`)
		})

		t.Run("other apps cannot see the user", func(t *testing.T) {
			other := e.MustCreateApp(t, "Elsewhere")
			otherKey := apitest.KeyAuth(e.MustCreateAppKey(t, other))
			apitest.MustError(t, e.Do(t, "GET", usersPath(other, id), otherKey, nil), 404, "user_not_found", "User not found")
			apitest.MustError(t, e.Do(t, "DELETE", usersPath(other, id, "personalinformation"), otherKey, nil), 404, "user_not_found", "User not found")
			apitest.MustError(t, e.Do(t, "GET", usersPath(appID, id), otherKey, nil), 403, "forbidden", "Forbidden")
		})
	})
}

func TestListUsers(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		appID := e.MustCreateApp(t, "List")
		acct := e.Account()
		// Identities cannot be written through /v2; the inbound simulator gives a new user some.
		inbound := func(phone, email string) {
			apitest.MustStatus(t, e.Do(t, "POST", "/_sunlamp/v1/apps/"+appID+"/inbound", acct, map[string]any{
				"channel": "whatsapp", "client": map[string]any{"externalId": phone},
				"user": map[string]any{"identities": []any{map[string]any{"type": "email", "value": email, "verification": "sso"}}},
			}), 201)
		}
		inbound("+15145550001", "sue@example.org")
		inbound("+15145550002", "bob@example.org")
		// A profile email is never matched.
		apitest.MustStatus(t, e.Do(t, "POST", usersPath(appID), acct, map[string]any{"profile": map[string]any{"email": "sue@example.org"}}), 201)

		r := e.Do(t, "GET", usersPath(appID)+"?filter%5Bidentities.email%5D=SUE%40example.org", acct, nil)
		e.MustJSON(t, r, 200, `{"users":[{"id":"ID","signedUpAt":"TIME","profile":{},"metadata":{},
			"identities":[{"type":"email","value":"sue@example.org","verification":"sso"}]}]}`)
		e.MustJSON(t, e.Do(t, "GET", usersPath(appID)+"?filter[identities.email]=nobody@example.org", acct, nil), 200, `{"users":[]}`)
		// LIKE wildcards in the filter are plain characters.
		e.MustJSON(t, e.Do(t, "GET", usersPath(appID)+"?filter[identities.email]=%25", acct, nil), 200, `{"users":[]}`)
		apitest.MustError(t, e.Do(t, "GET", usersPath(appID), acct, nil), 400, "bad_request", "filter should have required property 'identities.email'")
	})
}
