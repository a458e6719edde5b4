package api_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/sunlamp/sunlamp"
	"github.com/sunlamp/sunlamp/internal/apitest"
	"github.com/sunlamp/sunlamp/internal/webhooktest"
)

// TestInboundActions: what customers do on channels besides writing, through the simulator —
// postbacks (echoed with echoPostback), quick replies' payloads, typing and reading, referrals,
// passthrough data — and the delivery receipts of business messages, each as the spec's event.
func TestInboundActions(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		appID := e.MustCreateApp(t, "Actions")
		key := apitest.KeyAuth(e.MustCreateAppKey(t, appID))
		rc := webhooktest.NewReceiver(t, nil)
		createIntegration(t, e, appID, key, customBody(rc.URL, sunlamp.Triggers...))
		messenger := createIntegration(t, e, appID, key, map[string]any{"type": "messenger", "pageAccessToken": "t", "appId": "a", "appSecret": "s"})
		app := "/v2/apps/" + appID
		apitest.MustStatus(t, e.Do(t, "PATCH", app, key, map[string]any{"settings": map[string]any{"echoPostback": true}}), 200)
		inbound := "/_sunlamp/v1/apps/" + appID + "/inbound"
		customer := map[string]any{"externalId": "psid-1"}
		send := func(body map[string]any) *apitest.Response {
			body["channel"], body["integrationId"], body["client"] = "messenger", messenger, customer
			return e.Do(t, "POST", inbound, key, body)
		}

		// Before any message the customer has no conversation to act in.
		apitest.MustError(t, send(map[string]any{"activity": "typing:start"}), 404, "conversation_not_found", "The user has no conversation yet")

		r := send(map[string]any{"content": map[string]any{"type": "text", "text": "hi"}})
		apitest.MustStatus(t, r, 201)
		conv := r.JSON(t)["conversation"].(map[string]any)["id"].(string)
		userID := r.JSON(t)["user"].(map[string]any)["id"].(string)
		messages := app + "/conversations/" + conv + "/messages"
		r = e.Do(t, "POST", messages, key, map[string]any{"author": map[string]any{"type": "business"}, "content": map[string]any{"type": "text", "text": "Ready?",
			"actions": []any{map[string]any{"type": "postback", "text": "Buy now", "payload": "BUY", "metadata": map[string]any{"sku": "x-1"}}}}})
		apitest.MustStatus(t, r, 201)
		buttonMsg := r.JSON(t)["messages"].([]any)[0].(map[string]any)["id"].(string)

		apitest.MustStatus(t, send(map[string]any{"postback": map[string]any{"payload": "BUY", "messageId": buttonMsg}}), 201)
		apitest.MustStatus(t, send(map[string]any{"content": map[string]any{"type": "text", "text": "Yes", "payload": "YES"}}), 201)
		apitest.MustStatus(t, send(map[string]any{"activity": map[string]any{"type": "typing:start"}}), 201)
		apitest.MustStatus(t, send(map[string]any{"activity": "conversation:read"}), 201)
		apitest.MustStatus(t, send(map[string]any{"referral": map[string]any{"code": "SPRING", "details": map[string]any{"source": "ADS", "type": "OPEN-THREAD", "adId": "42"}}}), 201)
		apitest.MustStatus(t, send(map[string]any{"passthrough": map[string]any{"messaging": map[string]any{"optin": map[string]any{"ref": "x"}}}}), 201)
		delivery := "/_sunlamp/v1/apps/" + appID + "/conversations/" + conv + "/messages/" + buttonMsg + "/delivery"
		e.MustJSON(t, e.Do(t, "POST", delivery, key, map[string]any{"status": "user", "externalMessages": []any{map[string]any{"id": "m_1"}}}), 200,
			`{"status":"user","messageId":"`+buttonMsg+`","destination":{"type":"messenger","integrationId":"`+messenger+`"},"isFinalEvent":true}`)
		apitest.MustStatus(t, e.Do(t, "POST", delivery, key, map[string]any{"status": "failure", "error": map[string]any{"code": "blocked", "message": "The user blocked the page"}}), 200)

		// Refused.
		for _, c := range []struct {
			body  map[string]any
			title string
		}{
			{map[string]any{"activity": "typing", "client": customer}, "activity.type should be equal to one of the allowed values: conversation:read, typing:start, typing:stop"},
			{map[string]any{"activity": "typing:start", "passthrough": map[string]any{}}, "an inbound delivery carries at most one of postback, activity, referral and passthrough"},
			{map[string]any{"postback": map[string]any{"messageId": buttonMsg}}, "postback should have required property 'payload'"},
			{map[string]any{"referral": map[string]any{}}, "referral should have required property 'code'"},
			{map[string]any{"postback": map[string]any{"payload": "BUY"}, "content": map[string]any{"type": "text", "text": "x"}}, "content can only come with a referral (a customer who follows a link and writes)"},
		} {
			apitest.MustError(t, send(c.body), 400, "bad_request", c.title)
		}
		apitest.MustError(t, send(map[string]any{"postback": map[string]any{"payload": "BUY", "messageId": "5e4af71a81966cfff3ef6550"}}), 404, "message_not_found", "Message not found")
		apitest.MustError(t, e.Do(t, "POST", delivery, key, map[string]any{"status": "read"}), 400, "bad_request", "status should be equal to one of the allowed values: channel, user, failure")
		apitest.MustError(t, e.Do(t, "POST", delivery, key, map[string]any{"status": "user", "error": map[string]any{"code": "x"}}), 400, "bad_request", "error is only supported when status is failure")
		apitest.MustError(t, e.Do(t, "POST", strings.Replace(delivery, buttonMsg, "5e4af71a81966cfff3ef6550", 1), key, map[string]any{"status": "user"}), 404, "message_not_found", "Message not found")

		// The echo of the postback is the customer's message.
		r = e.Do(t, "GET", messages, key, nil)
		if !strings.Contains(string(r.Body), `"author":{"type":"user","userId":"`+userID+`"},"content":{"type":"text","text":"Buy now"},"source":{"type":"messenger","integrationId":"`+messenger+`"}`) {
			t.Errorf("echoed postback: got %s", r.Body)
		}

		deliverDue(t, newDispatcher(e))
		got := map[string][]map[string]any{}
		for _, g := range rc.All() {
			webhooktest.ValidateBody(t, g.Body)
			got[g.EventType] = append(got[g.EventType], g.Payload(t))
		}
		pin := func(typ string, i int, want string) {
			t.Helper()
			if len(got[typ]) <= i {
				t.Errorf("got %d %s events, want at least %d", len(got[typ]), typ, i+1)
				return
			}
			b, _ := json.Marshal(got[typ][i])
			e.MustJSON(t, &apitest.Response{Status: 200, Body: b}, 200, want)
		}
		user := `{"id":"` + userID + `","authenticated":false}`
		conversation := `{"id":"` + conv + `","type":"personal"}`
		source := `{"type":"messenger","integrationId":"` + messenger + `"}`
		pin("conversation:postback", 0, `{"postback":{"payload":"BUY","metadata":{"sku":"x-1"}},"conversation":`+conversation+`,"user":`+user+`,"source":`+source+`}`)
		pin("conversation:typing", 0, `{"conversation":`+conversation+`,"activity":{"type":"typing:start","author":{"type":"user","userId":"`+userID+`","user":`+user+`},"source":`+source+`}}`)
		pin("conversation:read", 0, `{"conversation":`+conversation+`,"activity":{"type":"conversation:read","author":{"type":"user","userId":"`+userID+`","user":`+user+`},"source":`+source+`}}`)
		pin("conversation:referral", 0, `{"conversation":`+conversation+`,"user":`+user+`,"source":`+source+`,
			"referral":{"code":"SPRING","details":{"source":"ADS","type":"OPEN-THREAD","adId":"42"}}}`)
		pin("passthrough:messaging", 0, `{"conversation":`+conversation+`,"user":`+user+`,"source":`+source+`,"passthrough":{"messaging":{"optin":{"ref":"x"}}}}`)
		// The business message to a customer on Messenger is handed to the channel at once.
		pin("conversation:message:delivery:channel", 0, `{"user":`+user+`,"conversation":`+conversation+`,"message":{"id":"`+buttonMsg+`"},
			"destination":{"type":"messenger","integrationId":"`+messenger+`"},"isFinalEvent":false}`)
		pin("conversation:message:delivery:user", 0, `{"user":`+user+`,"conversation":`+conversation+`,"message":{"id":"`+buttonMsg+`"},
			"destination":{"type":"messenger","integrationId":"`+messenger+`"},"externalMessages":[{"id":"m_1"}],"isFinalEvent":true}`)
		pin("conversation:message:delivery:failure", 0, `{"user":`+user+`,"conversation":`+conversation+`,"message":{"id":"`+buttonMsg+`"},
			"destination":{"type":"messenger","integrationId":"`+messenger+`"},"isFinalEvent":true,"error":{"code":"blocked","message":"The user blocked the page"}}`)
		quickReply := false
		for _, p := range got["conversation:message"] {
			if c := p["message"].(map[string]any)["content"].(map[string]any); c["payload"] == "YES" && c["text"] == "Yes" {
				quickReply = true
			}
		}
		if !quickReply {
			t.Errorf("no conversation:message carries the quick reply's payload")
		}
		if n := len(got["conversation:message:delivery:channel"]); n != 1 {
			t.Errorf("got %d delivery:channel events, want 1 (only the business message)", n)
		}
	})
}
