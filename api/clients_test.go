package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sunlamp/sunlamp/internal/apitest"
)

// mustCreate posts body to path and returns the id under key of the 201 response.
func mustCreate(t *testing.T, e *apitest.Env, path, key string, body any) string {
	t.Helper()
	r := e.Do(t, "POST", path, e.Account(), body)
	apitest.MustStatus(t, r, http.StatusCreated)
	return r.JSON(t)[key].(map[string]any)["id"].(string)
}

func TestClients(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		appID := e.MustCreateApp(t, "Clients")
		key := apitest.KeyAuth(e.MustCreateAppKey(t, appID))
		userID := mustCreate(t, e, usersPath(appID), "user", map[string]any{"externalId": "steve"})
		whatsapp := mustCreate(t, e, "/v2/apps/"+appID+"/integrations", "integration", map[string]any{"type": "whatsapp"})
		mailgun := mustCreate(t, e, "/v2/apps/"+appID+"/integrations", "integration", map[string]any{
			"type": "mailgun", "apiKey": "key-x", "domain": "sandbox.mailgun.org", "incomingAddress": "in@sandbox.mailgun.org"})
		convID := mustCreate(t, e, "/v2/apps/"+appID+"/conversations", "conversation", map[string]any{
			"type": "personal", "participants": []any{map[string]any{"userId": userID}}})
		clients := usersPath(appID, "steve", "clients")

		// The spec's whatsapp example.
		body := map[string]any{
			"matchCriteria": map[string]any{"type": "whatsapp", "integrationId": whatsapp, "phoneNumber": "+1 212-555-2368"},
			"confirmation":  map[string]any{"type": "prompt", "message": map[string]any{"author": map[string]any{"type": "business"}, "content": map[string]any{"type": "text", "text": "Hi"}}},
			"target":        map[string]any{"conversationId": convID},
		}
		r := e.Do(t, "POST", clients, key, body)
		e.MustJSON(t, r, 201, `{"client":{"id":"ID","type":"whatsapp","status":"pending","integrationId":"ID"}}`)
		waClient := r.JSON(t)["client"].(map[string]any)["id"].(string)
		r = e.Do(t, "POST", usersPath(appID, userID, "clients"), key, map[string]any{
			"matchCriteria": map[string]any{"type": "mailgun", "integrationId": mailgun, "address": "steveb@channel5.com", "primary": false},
			"confirmation":  map[string]any{"type": "immediate"}, "target": map[string]any{"conversationId": convID},
		})
		e.MustJSON(t, r, 201, `{"client":{"id":"ID","type":"mailgun","status":"pending","integrationId":"ID"}}`)

		t.Run("validation", func(t *testing.T) {
			with := func(mc map[string]any) map[string]any {
				return map[string]any{"matchCriteria": mc, "confirmation": map[string]any{"type": "immediate"}, "target": map[string]any{"conversationId": convID}}
			}
			cases := []struct {
				body        any
				status      int
				code, title string
			}{
				{map[string]any{}, 400, "bad_request", "should have required property 'matchCriteria'"},
				{map[string]any{"matchCriteria": map[string]any{}, "target": map[string]any{}}, 400, "bad_request", "should have required property 'confirmation'"},
				{with(map[string]any{"type": "telegram", "integrationId": whatsapp}), 400, "bad_request", "matchCriteria.type should be equal to one of the allowed values: mailgun, messagebird, twilio, whatsapp"},
				{with(map[string]any{"type": "whatsapp", "phoneNumber": "+15145550199"}), 400, "bad_request", "matchCriteria should have required property 'integrationId'"},
				{with(map[string]any{"type": "whatsapp", "integrationId": whatsapp}), 400, "bad_request", "matchCriteria should have required property 'phoneNumber'"},
				{with(map[string]any{"type": "whatsapp", "integrationId": whatsapp, "phoneNumber": "212 555 2368"}), 400, "bad_request", "matchCriteria.phoneNumber should be a phone number in international format, with + and the country code"},
				{with(map[string]any{"type": "mailgun", "integrationId": mailgun, "address": "nope"}), 400, "bad_request", `matchCriteria.address should match format "email"`},
				{with(map[string]any{"type": "twilio", "integrationId": whatsapp, "phoneNumber": "+15145550199"}), 400, "bad_request", "matchCriteria.integrationId should be an integration of type twilio"},
				{with(map[string]any{"type": "whatsapp", "integrationId": "5e8b49d936c1df272e8e1460", "phoneNumber": "+15145550199"}), 404, "integration_not_found", "Integration not found"},
				{map[string]any{"matchCriteria": map[string]any{"type": "whatsapp", "integrationId": whatsapp, "phoneNumber": "+15145550199"},
					"confirmation": map[string]any{"type": "later"}, "target": map[string]any{"conversationId": convID}}, 400, "bad_request", "confirmation.type should be equal to one of the allowed values: immediate, userActivity, prompt"},
				{map[string]any{"matchCriteria": map[string]any{"type": "whatsapp", "integrationId": whatsapp, "phoneNumber": "+15145550199"},
					"confirmation": map[string]any{"type": "immediate"}, "target": map[string]any{"conversationId": "5e8b49d936c1df272e8e1460"}}, 404, "conversation_not_found", "Conversation not found"},
			}
			for _, c := range cases {
				apitest.MustError(t, e.Do(t, "POST", clients, key, c.body), c.status, c.code, c.title)
			}
			apitest.MustError(t, e.Do(t, "POST", usersPath(appID, "nobody", "clients"), key, body), 404, "user_not_found", "User not found")
		})

		t.Run("list pages", func(t *testing.T) {
			// An sdk client through the inbound simulator, for a third one.
			apitest.MustStatus(t, e.Do(t, "POST", "/_sunlamp/v1/apps/"+appID+"/inbound", key, map[string]any{
				"channel": "sdk", "user": map[string]any{"id": userID}}), 201)
			r := e.Do(t, "GET", clients, key, nil)
			e.MustJSON(t, r, 200, `{"clients":[
				{"id":"ID","type":"whatsapp","status":"pending","integrationId":"ID"},
				{"id":"ID","type":"mailgun","status":"pending","integrationId":"ID"},
				{"id":"ID","type":"sdk","status":"active","lastSeen":"TIME","linkedAt":"TIME"}],"meta":{"hasMore":false}}`)
			r = e.Do(t, "GET", clients+"?page[size]=2", key, nil)
			apitest.MustStatus(t, r, 200)
			var p struct {
				Clients []struct{ ID string }
				Meta    struct {
					HasMore     bool
					AfterCursor string
				}
				Links struct{ Next string }
			}
			r.Decode(t, &p)
			if len(p.Clients) != 2 || !p.Meta.HasMore || p.Meta.AfterCursor != p.Clients[1].ID || !strings.Contains(p.Links.Next, "/users/steve/clients?page[after]=") {
				t.Fatalf("got page %+v", p)
			}
			r = e.Do(t, "GET", clients+"?page[after]="+p.Meta.AfterCursor, key, nil)
			e.MustJSON(t, r, 200, `{"clients":[{"id":"ID","type":"sdk","status":"active","lastSeen":"TIME","linkedAt":"TIME"}],
				"meta":{"hasMore":false,"beforeCursor":"ID"},"links":{"prev":"BASE/v2/apps/ID/users/steve/clients?page[before]=ID"}}`)
			apitest.MustError(t, e.Do(t, "GET", clients+"?page[size]=0", key, nil), 400, "bad_request", "Invalid page query parameters")
			apitest.MustError(t, e.Do(t, "GET", usersPath(appID, "nobody", "clients"), key, nil), 404, "user_not_found", "User not found")
		})

		t.Run("remove", func(t *testing.T) {
			r := e.Do(t, "GET", clients, key, nil)
			var l struct {
				Clients []struct{ ID, Type string }
			}
			r.Decode(t, &l)
			var sdk string
			for _, c := range l.Clients {
				if c.Type == "sdk" {
					sdk = c.ID
				}
			}
			apitest.MustError(t, e.Do(t, "DELETE", clients+"/"+sdk, key, nil), 400, "bad_request", "Cannot remove a client of type 'sdk'")
			e.MustJSON(t, e.Do(t, "DELETE", clients+"/"+waClient, key, nil), 200, `{}`)
			apitest.MustError(t, e.Do(t, "DELETE", clients+"/"+waClient, key, nil), 404, "client_not_found", "Client not found")
			// A client is only found through its own user.
			other := mustCreate(t, e, usersPath(appID), "user", map[string]any{"externalId": "other"})
			apitest.MustError(t, e.Do(t, "DELETE", usersPath(appID, other, "clients", sdk), key, nil), 404, "client_not_found", "Client not found")
			r = e.Do(t, "GET", clients, key, nil)
			if n := len(r.JSON(t)["clients"].([]any)); n != 2 {
				t.Errorf("got %d clients after removing one of 3, want 2", n)
			}
		})
	})
}

func TestDevices(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		appID := e.MustCreateApp(t, "Devices")
		key := apitest.KeyAuth(e.MustCreateAppKey(t, appID))
		web := mustCreate(t, e, "/v2/apps/"+appID+"/integrations", "integration", map[string]any{"type": "web"})
		inbound := func(guid, typ string, extra map[string]any) {
			t.Helper()
			d := map[string]any{"type": typ, "guid": guid}
			for k, v := range extra {
				d[k] = v
			}
			apitest.MustStatus(t, e.Do(t, "POST", "/_sunlamp/v1/apps/"+appID+"/inbound", key, map[string]any{
				"channel": "sdk", "integrationId": web, "user": map[string]any{"externalId": "dev-user"}, "device": d}), 201)
		}
		apitest.MustStatus(t, e.Do(t, "POST", usersPath(appID), key, map[string]any{"externalId": "dev-user"}), 201)
		devices := usersPath(appID, "dev-user", "devices")
		e.MustJSON(t, e.Do(t, "GET", devices, key, nil), 200, `{"devices":[]}`)
		inbound("f1c7abea2d49429db10094be820d5f80", "web", map[string]any{"info": map[string]any{"currentTitle": "My Web Page", "sdkVersion": "0.1"}})
		e.Clock.Advance(time.Second)
		inbound("0a1b2c3d4e5f", "ios", map[string]any{"pushNotificationToken": "tok", "appVersion": "2.1"})
		// Most recently seen first.
		r := e.Do(t, "GET", devices, key, nil)
		e.MustJSON(t, r, 200, `{"devices":[
			{"id":"ID","guid":"0a1b2c3d4e5f","clientId":"ID","integrationId":"ID","type":"ios","status":"active","lastSeen":"TIME","pushNotificationToken":"tok","appVersion":"2.1"},
			{"id":"ID","guid":"f1c7abea2d49429db10094be820d5f80","clientId":"ID","integrationId":"ID","type":"web","status":"active","info":{"currentTitle":"My Web Page","sdkVersion":"0.1"},"lastSeen":"TIME"}]}`)
		var l struct {
			Devices []struct{ ID, GUID string }
		}
		r.Decode(t, &l)
		e.Clock.Advance(time.Second)
		inbound("f1c7abea2d49429db10094be820d5f80", "web", nil) // seen again: first now
		r = e.Do(t, "GET", devices, key, nil)
		r.Decode(t, &l)
		if len(l.Devices) != 2 || l.Devices[0].GUID != "f1c7abea2d49429db10094be820d5f80" {
			t.Errorf("got devices %+v, want the web device first after it was seen again", l.Devices)
		}
		r = e.Do(t, "GET", devices+"/"+l.Devices[0].ID, key, nil)
		e.MustJSON(t, r, 200, `{"device":{"id":"ID","guid":"f1c7abea2d49429db10094be820d5f80","clientId":"ID","integrationId":"ID","type":"web","status":"active","info":{"currentTitle":"My Web Page","sdkVersion":"0.1"},"lastSeen":"TIME"}}`)
		apitest.MustError(t, e.Do(t, "GET", devices+"/5d9b870dda96abc332625ccc", key, nil), 404, "device_not_found", "Device not found")
		apitest.MustError(t, e.Do(t, "GET", usersPath(appID, "nobody", "devices"), key, nil), 404, "user_not_found", "User not found")
		other := mustCreate(t, e, usersPath(appID), "user", map[string]any{"externalId": "someone-else"})
		apitest.MustError(t, e.Do(t, "GET", usersPath(appID, other, "devices", l.Devices[0].ID), key, nil), 404, "device_not_found", "Device not found")
	})
}
