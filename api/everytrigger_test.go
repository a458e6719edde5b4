package api_test

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sunlamp/sunlamp"
	"github.com/sunlamp/sunlamp/internal/apitest"
	"github.com/sunlamp/sunlamp/internal/webhooktest"
)

// TestEveryTrigger subscribes one webhook to every trigger the spec lists and drives each through
// the API, the web messenger's endpoints or the channel simulator: it fails when a trigger is never
// delivered, or when a delivery does not match the spec's schema of its event (issue 14).
func TestEveryTrigger(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		appID := e.MustCreateApp(t, "Every trigger")
		appKey := e.MustCreateAppKey(t, appID)
		key := apitest.KeyAuth(appKey)
		app := "/v2/apps/" + appID
		rc := webhooktest.NewReceiver(t, nil)
		botID := createIntegration(t, e, appID, key, customBody(rc.URL, sunlamp.Triggers...))
		agentID := createIntegration(t, e, appID, key, customBody("https://agent.example/hook", "conversation:message"))
		webID := createIntegration(t, e, appID, key, map[string]any{"type": "web"})
		messenger := createIntegration(t, e, appID, key, map[string]any{"type": "messenger", "pageAccessToken": "t", "appId": "a", "appSecret": "s"})
		twilio := createIntegration(t, e, appID, key, map[string]any{"type": "twilio", "accountSid": "AC1", "authToken": "t", "phoneNumberSid": "PN1"})
		apitest.MustStatus(t, e.Do(t, "PATCH", app, key, map[string]any{"settings": map[string]any{"echoPostback": true}}), http.StatusOK)
		full := webhooktest.NewReceiver(t, nil)
		apitest.MustStatus(t, e.Do(t, "POST", app+"/integrations/"+botID+"/webhooks", key, map[string]any{"target": full.URL,
			"triggers": []string{"conversation:message"}, "includeFullSource": true}), http.StatusCreated)
		ok := func(r *apitest.Response) map[string]any {
			t.Helper()
			if r.Status >= 300 {
				t.Fatalf("got %d %s", r.Status, r.Body)
			}
			return r.JSON(t)
		}
		business := func(conv string, content map[string]any) string {
			t.Helper()
			r := ok(e.Do(t, "POST", app+"/conversations/"+conv+"/messages", key, map[string]any{"author": map[string]any{"type": "business"}, "content": content}))
			return r["messages"].([]any)[0].(map[string]any)["id"].(string)
		}

		// The web messenger: client:add, conversation:create, conversation:message, user:update
		// (localeDetection), conversation:postback, conversation:typing, conversation:read.
		v := mustStartVisitor(t, e, webID, "00112233445566778899aabbccddeeff", "hello from the web")
		button := business(v.conv, map[string]any{"type": "text", "text": "Pick", "actions": []any{map[string]any{"type": "postback", "text": "This one", "payload": "ONE"}}})
		ok(v.do(t, "POST", "conversations/"+v.conv+"/postback", map[string]any{"messageId": button, "payload": "ONE"}))
		ok(v.do(t, "POST", "conversations/"+v.conv+"/activity", map[string]any{"type": "typing:start"}))
		ok(v.do(t, "POST", "conversations/"+v.conv+"/activity", map[string]any{"type": "conversation:read"}))
		// Login with a user JWT of a known user: user:merge, user:update (authentication).
		ok(e.Do(t, "POST", app+"/users", key, map[string]any{"externalId": "known"}))
		ok(v.do(t, "POST", "login", map[string]any{"jwt": string(token(t, jwt.SigningMethodHS256, appKey.ID, []byte(appKey.Secret), jwt.MapClaims{"scope": "user", "external_id": "known"}))}))

		// A customer on Messenger: the business's reply is delivered to the channel, then to the
		// user, then a failure; a referral; passthrough data.
		inbound := "/_sunlamp/v1/apps/" + appID + "/inbound"
		customer := func(body map[string]any) map[string]any {
			body["channel"], body["integrationId"], body["client"] = "messenger", messenger, map[string]any{"externalId": "psid-9"}
			return ok(e.Do(t, "POST", inbound, key, body))
		}
		res := customer(map[string]any{"content": map[string]any{"type": "text", "text": "hi from messenger"}})
		conv := res["conversation"].(map[string]any)["id"].(string)
		userID := res["user"].(map[string]any)["id"].(string)
		reply := business(conv, map[string]any{"type": "text", "text": "hello"})
		delivery := "/_sunlamp/v1/apps/" + appID + "/conversations/" + conv + "/messages/" + reply + "/delivery"
		ok(e.Do(t, "POST", delivery, key, map[string]any{"status": "user"}))
		ok(e.Do(t, "POST", delivery, key, map[string]any{"status": "failure"}))
		customer(map[string]any{"referral": map[string]any{"code": "QR"}})
		customer(map[string]any{"passthrough": map[string]any{"any": "thing"}})

		// Channel linking: client:add, client:update (confirmed), client:remove.
		r := ok(e.Do(t, "POST", usersPath(appID, userID, "clients"), key, map[string]any{
			"matchCriteria": map[string]any{"type": "twilio", "integrationId": twilio, "phoneNumber": "+15145550123"},
			"confirmation":  map[string]any{"type": "immediate"}, "target": map[string]any{"conversationId": conv}}))
		clientID := r["client"].(map[string]any)["id"].(string)
		ok(e.Do(t, "POST", "/_sunlamp/v1/apps/"+appID+"/users/"+userID+"/clients/"+clientID+"/confirm", key, nil))
		ok(e.Do(t, "DELETE", usersPath(appID, userID, "clients", clientID), key, nil))

		// A group: conversation:join, conversation:leave, conversation:remove.
		group := app + "/conversations/" + ok(e.Do(t, "POST", app+"/conversations", key, map[string]any{"type": "sdkGroup"}))["conversation"].(map[string]any)["id"].(string)
		ok(e.Do(t, "POST", group+"/join", key, map[string]any{"userId": userID}))
		ok(e.Do(t, "POST", group+"/leave", key, map[string]any{"userId": userID}))
		ok(e.Do(t, "DELETE", group, key, nil))

		// The switchboard: pass, offer, accept, release, and the three failures.
		sbID := createSwitchboard(t, e, appID, key)
		sis := app + "/switchboards/" + sbID + "/switchboardIntegrations"
		agentSI := createSwitchboardIntegration(t, e, sis, key, map[string]any{"name": "agent", "integrationId": agentID, "deliverStandbyEvents": true})
		botSI := createSwitchboardIntegration(t, e, sis, key, map[string]any{"name": "bot", "integrationId": botID, "deliverStandbyEvents": true})
		ok(e.Do(t, "PATCH", app+"/switchboards/"+sbID, key, map[string]any{"enabled": true, "defaultSwitchboardIntegrationId": botSI}))
		c := app + "/conversations/" + conv
		ok(e.Do(t, "POST", c+"/passControl", key, map[string]any{"switchboardIntegration": agentSI}))
		ok(e.Do(t, "POST", c+"/offerControl", key, map[string]any{"switchboardIntegration": "bot"}))
		ok(e.Do(t, "POST", c+"/acceptControl", key, map[string]any{}))
		ok(e.Do(t, "POST", c+"/releaseControl", key, nil))
		ok(e.Do(t, "POST", c+"/passControl", key, map[string]any{"switchboardIntegration": "bot"}))
		apitest.MustStatus(t, e.Do(t, "POST", c+"/offerControl", key, map[string]any{"switchboardIntegration": "bot"}), http.StatusBadRequest)
		apitest.MustStatus(t, e.Do(t, "POST", c+"/acceptControl", key, map[string]any{}), http.StatusBadRequest)
		apitest.MustStatus(t, e.Do(t, "POST", c+"/passControl", key, map[string]any{"switchboardIntegration": "nobody"}), http.StatusBadRequest)

		d := newDispatcher(e)
		deliverDue(t, d)
		// user:remove: once the deleted user's history is gone.
		ok(e.Do(t, "DELETE", usersPath(appID, userID), key, nil))
		if err := e.Store.PurgeDeletedUsers(context.Background()); err != nil {
			t.Fatal(err)
		}
		deliverDue(t, d)

		seen := map[string]int{}
		for _, g := range rc.All() {
			webhooktest.ValidateBody(t, g.Body)
			seen[g.EventType]++
		}
		var missing []string
		for _, trigger := range sunlamp.Triggers {
			if seen[trigger] == 0 {
				missing = append(missing, trigger)
			}
		}
		if len(missing) > 0 {
			t.Errorf("triggers never delivered: %v (delivered: %v)", missing, seen)
		}
		// A web visitor's message, with includeFullSource: its sdk client and web device.
		webSource := false
		for _, g := range full.All() {
			src := g.Payload(t)["message"].(map[string]any)["source"].(map[string]any)
			if src["type"] != "web" {
				continue
			}
			client, _ := src["client"].(map[string]any)
			device, _ := src["device"].(map[string]any)
			webSource = client["type"] == "sdk" && device["guid"] == "00112233445566778899aabbccddeeff"
		}
		if !webSource {
			t.Errorf("includeFullSource: no web message came with its sdk client and web device")
		}
		if len(sunlamp.Triggers) != 26 || slices.Contains(missing, "") {
			t.Errorf("got %d triggers, want the spec's 26", len(sunlamp.Triggers))
		}
	})
}
