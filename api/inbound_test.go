package api_test

import (
	"net/http"
	"sync"
	"testing"

	"github.com/sunlamp/sunlamp/internal/apitest"
	"github.com/sunlamp/sunlamp/internal/webhooktest"
)

func TestInbound(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		appID := e.MustCreateApp(t, "Inbound")
		key := apitest.KeyAuth(e.MustCreateAppKey(t, appID))
		whatsapp := mustCreate(t, e, "/v2/apps/"+appID+"/integrations", "integration", map[string]any{"type": "whatsapp"})
		web := mustCreate(t, e, "/v2/apps/"+appID+"/integrations", "integration", map[string]any{"type": "web"})
		path := "/_sunlamp/v1/apps/" + appID + "/inbound"
		jane := map[string]any{"externalId": "+15145550199", "displayName": "Jane D.", "avatarUrl": "https://example.org/j.png",
			"info": map[string]any{"city": "Montreal"}, "raw": map[string]any{"From": "+15145550199"}}

		// A new customer writes in: a user, an active client, the default conversation and the message.
		r := e.Do(t, "POST", path, key, map[string]any{
			"channel": "whatsapp", "integrationId": whatsapp, "client": jane,
			"content": map[string]any{"type": "text", "text": "hello"},
		})
		e.MustJSON(t, r, http.StatusCreated, `{
			"user":{"id":"ID","signedUpAt":"TIME","profile":{},"metadata":{},"identities":[]},
			"client":{"id":"ID","type":"whatsapp","status":"active","integrationId":"ID","externalId":"+15145550199",
				"lastSeen":"TIME","linkedAt":"TIME","displayName":"Jane D.","avatarUrl":"https://example.org/j.png",
				"info":{"city":"Montreal"},"raw":{"From":"+15145550199"}},
			"conversation":{"id":"ID","type":"personal","isDefault":true,"lastUpdatedAt":"TIME","createdAt":"TIME"},
			"messages":[{"id":"ID","received":"TIME","author":{"type":"user","userId":"ID"},
				"content":{"type":"text","text":"hello"},"source":{"type":"whatsapp","integrationId":"ID"}}]}`)
		var first struct {
			User         struct{ ID string }
			Client       struct{ ID string }
			Conversation struct{ ID string }
		}
		r.Decode(t, &first)

		t.Run("the same customer again", func(t *testing.T) {
			r := e.Do(t, "POST", path, key, map[string]any{
				"channel": "whatsapp", "integrationId": whatsapp, "client": map[string]any{"externalId": "+15145550199", "displayName": "Jane Doe"},
				"content": map[string]any{"type": "text", "text": "are you there?"},
			})
			apitest.MustStatus(t, r, 201)
			var again struct {
				User         struct{ ID string }
				Client       struct{ ID, DisplayName string }
				Conversation struct{ ID string }
			}
			r.Decode(t, &again)
			if again.User.ID != first.User.ID || again.Client.ID != first.Client.ID || again.Conversation.ID != first.Conversation.ID || again.Client.DisplayName != "Jane Doe" {
				t.Errorf("got %+v, want the same user, client and conversation as %+v, with the new display name", again, first)
			}
			r = e.Do(t, "GET", "/v2/apps/"+appID+"/conversations/"+first.Conversation.ID+"/messages", key, nil)
			e.MustJSON(t, r, 200, `{"messages":[
				{"id":"ID","received":"TIME","author":{"type":"user","userId":"ID"},"content":{"type":"text","text":"hello"},"source":{"type":"whatsapp","integrationId":"ID"}},
				{"id":"ID","received":"TIME","author":{"type":"user","userId":"ID"},"content":{"type":"text","text":"are you there?"},"source":{"type":"whatsapp","integrationId":"ID"}}],
				"meta":{"hasMore":false}}`)
			// The participant is reached through the client; removing the client unsubscribes it.
			participants := "/v2/apps/" + appID + "/conversations/" + first.Conversation.ID + "/participants"
			e.MustJSON(t, e.Do(t, "GET", participants, key, nil), 200, `{"participants":[{"id":"ID","userId":"ID","unreadCount":0,
				"clientAssociations":[{"type":"whatsapp","clientId":"`+first.Client.ID+`"}]}],"meta":{"hasMore":false}}`)
			e.MustJSON(t, e.Do(t, "DELETE", usersPath(appID, first.User.ID, "clients", first.Client.ID), key, nil), 200, `{}`)
			e.MustJSON(t, e.Do(t, "GET", participants, key, nil), 200, `{"participants":[{"id":"ID","userId":"ID","unreadCount":0,
				"clientAssociations":[]}],"meta":{"hasMore":false}}`)
		})

		t.Run("a known user on an sdk device", func(t *testing.T) {
			apitest.MustStatus(t, e.Do(t, "POST", usersPath(appID), key, map[string]any{"externalId": "known", "profile": map[string]any{"givenName": "Kim", "surname": "Lee"}}), 201)
			r := e.Do(t, "POST", path, key, map[string]any{
				"channel": "sdk", "integrationId": web, "user": map[string]any{"externalId": "known"},
				"device":  map[string]any{"type": "web", "guid": "f1c7abea2d49429db10094be820d5f80", "info": map[string]any{"userAgent": "Mozilla/5.0"}},
				"content": map[string]any{"type": "text", "text": "hi from the web"},
			})
			e.MustJSON(t, r, 201, `{
				"user":{"id":"ID","externalId":"known","signedUpAt":"TIME","profile":{"givenName":"Kim","surname":"Lee"},"metadata":{},"identities":[]},
				"client":{"id":"ID","type":"sdk","status":"active","lastSeen":"TIME","linkedAt":"TIME"},
				"device":{"id":"ID","guid":"f1c7abea2d49429db10094be820d5f80","clientId":"ID","integrationId":"ID","type":"web","status":"active","info":{"userAgent":"Mozilla/5.0"},"lastSeen":"TIME"},
				"conversation":{"id":"ID","type":"personal","isDefault":true,"lastUpdatedAt":"TIME","createdAt":"TIME"},
				"messages":[{"id":"ID","received":"TIME","author":{"type":"user","userId":"ID","displayName":"Kim Lee"},
					"content":{"type":"text","text":"hi from the web"},"source":{"type":"sdk","integrationId":"ID"}}]}`)
			// The device names its user the next time, with no user given; no content, no message.
			r = e.Do(t, "POST", path, key, map[string]any{"channel": "sdk", "device": map[string]any{"type": "web", "guid": "f1c7abea2d49429db10094be820d5f80"}})
			apitest.MustStatus(t, r, 201)
			if got := r.JSON(t)["user"].(map[string]any)["externalId"]; got != "known" {
				t.Errorf("got user %v for a known device, want known", got)
			}
			if _, ok := r.JSON(t)["conversation"]; ok {
				t.Errorf("got a conversation without content: %s", r.Body)
			}
			e.MustJSON(t, e.Do(t, "GET", usersPath(appID, "known", "clients"), key, nil), 200,
				`{"clients":[{"id":"ID","type":"sdk","status":"active","lastSeen":"TIME","linkedAt":"TIME"}],"meta":{"hasMore":false}}`)
		})

		t.Run("concurrent deliveries from a new customer", func(t *testing.T) {
			users := make([]string, 8)
			var wg sync.WaitGroup
			for i := range users {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := e.Do(t, "POST", path, key, map[string]any{"channel": "whatsapp", "client": map[string]any{"externalId": "+15145550888"},
						"content": map[string]any{"type": "text", "text": "hi"}})
					if r.Status != 201 {
						t.Errorf("got %d %s, want 201", r.Status, r.Body)
						return
					}
					users[i] = r.JSON(t)["user"].(map[string]any)["id"].(string)
				}()
			}
			wg.Wait()
			for _, u := range users {
				if u != users[0] {
					t.Fatalf("got users %v for one customer, want one user", users)
				}
			}
			// A known user's first messages at once: one default conversation.
			apitest.MustStatus(t, e.Do(t, "POST", usersPath(appID), key, map[string]any{"externalId": "eager"}), 201)
			convs := make([]string, 8)
			for i := range convs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := e.Do(t, "POST", path, key, map[string]any{"channel": "sdk", "user": map[string]any{"externalId": "eager"},
						"content": map[string]any{"type": "text", "text": "hi"}})
					if r.Status != 201 {
						t.Errorf("got %d %s, want 201", r.Status, r.Body)
						return
					}
					convs[i] = r.JSON(t)["conversation"].(map[string]any)["id"].(string)
				}()
			}
			wg.Wait()
			for _, c := range convs {
				if c != convs[0] {
					t.Fatalf("got conversations %v for one user, want its one default conversation", convs)
				}
			}
		})

		t.Run("errors", func(t *testing.T) {
			wa := func(extra map[string]any) map[string]any {
				b := map[string]any{"channel": "whatsapp", "client": map[string]any{"externalId": "+15145550000"}}
				for k, v := range extra {
					b[k] = v
				}
				return b
			}
			cases := []struct {
				body        any
				status      int
				code, title string
			}{
				{map[string]any{}, 400, "bad_request", "should have required property 'channel'"},
				{map[string]any{"channel": "fax"}, 400, "bad_request", ""},
				{map[string]any{"channel": "whatsapp"}, 400, "bad_request", "client should have required property 'externalId' (the customer's id on the channel) when channel is not sdk"},
				{map[string]any{"channel": "sdk", "client": map[string]any{"externalId": "x"}}, 400, "bad_request", "client.externalId is not supported when channel is sdk: sdk clients have none"},
				{wa(map[string]any{"device": map[string]any{"type": "web", "guid": "g"}}), 400, "bad_request", "device is only supported when channel is sdk"},
				{map[string]any{"channel": "sdk", "device": map[string]any{"type": "fridge", "guid": "g"}}, 400, "bad_request", "device.type should be equal to one of the allowed values: android, ios, web"},
				{map[string]any{"channel": "sdk", "device": map[string]any{"type": "web"}}, 400, "bad_request", "device should have required property 'guid'"},
				{wa(map[string]any{"user": map[string]any{"id": "5e8b49d936c1df272e8e1460", "externalId": "x"}}), 400, "bad_request", "user should have only one of 'id' or 'externalId'"},
				{wa(map[string]any{"client": map[string]any{"externalId": "+1", "avatarUrl": "nope"}}), 400, "bad_request", `client.avatarUrl should match format "uri"`},
				{wa(map[string]any{"content": map[string]any{"type": "text"}}), 400, "bad_request", ""},
				{wa(map[string]any{"integrationId": web}), 400, "bad_request", "integrationId should be an integration of type whatsapp, not web"},
				{wa(map[string]any{"integrationId": "5e8b49d936c1df272e8e1460"}), 404, "integration_not_found", "Integration not found"},
				{wa(map[string]any{"user": map[string]any{"externalId": "nobody"}}), 404, "user_not_found", "User not found"},
				// The number belongs to the customer who wrote from it first.
				{map[string]any{"channel": "whatsapp", "user": map[string]any{"externalId": "known"}, "client": map[string]any{"externalId": "+15145550777"}}, 409, "conflict", "The client's externalId belongs to another user"},
			}
			apitest.MustStatus(t, e.Do(t, "POST", path, key, map[string]any{"channel": "whatsapp", "client": map[string]any{"externalId": "+15145550777"}}), 201)
			for _, c := range cases {
				apitest.MustError(t, e.Do(t, "POST", path, key, c.body), c.status, c.code, c.title)
			}
			other := e.MustCreateApp(t, "Other")
			apitest.MustError(t, e.Do(t, "POST", "/_sunlamp/v1/apps/"+other+"/inbound", key, wa(nil)), 403, "forbidden", "Forbidden")
			apitest.MustError(t, e.Do(t, "POST", path, apitest.NoAuth{}, wa(nil)), 401, "unauthorized", "")
		})
	})
}

// TestConfirmClient: a link that CreateClient started is confirmed by the channel: the pending
// client becomes active and client:update (confirmed) is sent.
func TestConfirmClient(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		appID := e.MustCreateApp(t, "Confirm")
		key := apitest.KeyAuth(e.MustCreateAppKey(t, appID))
		rc := webhooktest.NewReceiver(t, nil)
		createIntegration(t, e, appID, key, customBody(rc.URL, "client:update"))
		twilio := createIntegration(t, e, appID, key, map[string]any{"type": "twilio", "accountSid": "AC1", "authToken": "t", "phoneNumberSid": "PN1"})
		apitest.MustStatus(t, e.Do(t, "POST", usersPath(appID), key, map[string]any{"externalId": "linda"}), 201)
		r := e.Do(t, "POST", "/v2/apps/"+appID+"/conversations", key, map[string]any{"type": "personal", "participants": []any{map[string]any{"userExternalId": "linda"}}})
		apitest.MustStatus(t, r, 201)
		convID := r.JSON(t)["conversation"].(map[string]any)["id"].(string)
		r = e.Do(t, "POST", usersPath(appID, "linda", "clients"), key, map[string]any{
			"matchCriteria": map[string]any{"type": "twilio", "integrationId": twilio, "phoneNumber": "+15145550100"},
			"confirmation":  map[string]any{"type": "prompt"}, "target": map[string]any{"conversationId": convID}})
		apitest.MustStatus(t, r, 201)
		clientID := r.JSON(t)["client"].(map[string]any)["id"].(string)
		confirm := "/_sunlamp/v1/apps/" + appID + "/users/linda/clients/" + clientID + "/confirm"
		e.MustJSON(t, e.Do(t, "POST", confirm, key, nil), 200, `{"client":{"id":"ID","type":"twilio","status":"active","integrationId":"ID",
			"lastSeen":"TIME","linkedAt":"TIME"}}`)
		apitest.MustError(t, e.Do(t, "POST", confirm, key, nil), 409, "conflict", "Only a pending client can be confirmed")
		apitest.MustError(t, e.Do(t, "POST", "/_sunlamp/v1/apps/"+appID+"/users/linda/clients/5e4af71a81966cfff3ef6550/confirm", key, nil), 404, "client_not_found", "Client not found")
		apitest.MustError(t, e.Do(t, "POST", "/_sunlamp/v1/apps/"+appID+"/users/nobody/clients/"+clientID+"/confirm", key, nil), 404, "user_not_found", "User not found")
		// The client is the conversation's participant's now.
		e.MustJSON(t, e.Do(t, "GET", "/v2/apps/"+appID+"/conversations/"+convID+"/participants", key, nil), 200, `{"participants":[{"id":"ID","userId":"ID",
			"userExternalId":"linda","unreadCount":0,"clientAssociations":[{"type":"twilio","clientId":"`+clientID+`"}]}],"meta":{"hasMore":false}}`)
		deliverDue(t, newDispatcher(e))
		got := rc.All()
		if len(got) != 1 || got[0].EventType != "client:update" {
			t.Fatalf("got %d deliveries, want one client:update", len(got))
		}
		webhooktest.ValidateBody(t, got[0].Body)
		p := got[0].Payload(t)
		if p["reason"] != "confirmed" || p["client"].(map[string]any)["status"] != "active" {
			t.Errorf("got payload %v, want reason confirmed and the active client", p)
		}
	})
}
