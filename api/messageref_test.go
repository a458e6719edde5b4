package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sunlamp/sunlamp"
	"github.com/sunlamp/sunlamp/internal/apitest"
	"github.com/sunlamp/sunlamp/internal/webhooktest"
)

// TestDownloadMessageRef has an Apple customer send interactive data through the simulator, which
// answers the reference a passthrough webhook carries; DownloadMessageRef exchanges it for the data,
// and refuses references that are not exactly the user's.
func TestDownloadMessageRef(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		appID := e.MustCreateApp(t, "Apple")
		key := apitest.KeyAuth(e.MustCreateAppKey(t, appID))
		apple := mustCreate(t, e, "/v2/apps/"+appID+"/integrations", "integration", map[string]any{"type": "apple",
			"businessId": "biz", "apiSecret": "secret", "mspId": "msp"})
		web := mustCreate(t, e, "/v2/apps/"+appID+"/integrations", "integration", map[string]any{"type": "web"})
		rc := webhooktest.NewReceiver(t, nil)
		createIntegration(t, e, appID, key, customBody(rc.URL, "passthrough:messaging"))
		r := e.Do(t, "POST", "/_sunlamp/v1/apps/"+appID+"/inbound", key, map[string]any{
			"channel": "apple", "integrationId": apple, "client": map[string]any{"externalId": "urn:mbid:AQAAY"},
			"content": map[string]any{"type": "text", "text": "I filled in the form"},
		})
		apitest.MustStatus(t, r, http.StatusCreated)
		var in struct {
			User         struct{ ID string }
			Conversation struct{ ID string }
		}
		r.Decode(t, &in)
		content := map[string]any{"version": "1.0", "data": map[string]any{"replyMessage": map[string]any{"title": "Thanks"},
			"dynamic": map[string]any{"selections": []any{map[string]any{"identifier": "slot-2", "title": "Tuesday 10:00"}}}}}
		r = e.Do(t, "POST", "/_sunlamp/v1/apps/"+appID+"/interactiveData", key, map[string]any{
			"integrationId": apple, "userId": in.User.ID, "content": content})
		apitest.MustStatus(t, r, http.StatusCreated)
		var rec struct {
			InteractiveDataRef map[string]string
			UserID             string
			ConversationID     string
		}
		r.Decode(t, &rec)
		ref := rec.InteractiveDataRef
		if rec.ConversationID != in.Conversation.ID {
			t.Errorf("recorded in conversation %q, want the customer's %q", rec.ConversationID, in.Conversation.ID)
		}
		// The business learns of it as the service tells it: passthrough:messaging with the reference.
		deliverDue(t, newDispatcher(e))
		got := rc.WaitFor(t, 10*time.Second, func(all []webhooktest.Received) bool { return len(all) > 0 })
		webhooktest.ValidateBody(t, got[0].Body)
		p := got[0].Payload(t)
		pass, _ := p["passthrough"].(map[string]any)
		appleRef, _ := pass["apple"].(map[string]any)
		sent, _ := appleRef["interactiveDataRef"].(map[string]any)
		if got[0].EventType != "passthrough:messaging" || p["conversation"].(map[string]any)["id"] != in.Conversation.ID || len(sent) != 5 {
			t.Fatalf("webhook %s %s, want passthrough:messaging in the customer's conversation with apple.interactiveDataRef", got[0].EventType, got[0].Body)
		}
		for k, v := range ref {
			if sent[k] != v {
				t.Errorf("webhook's interactiveDataRef.%s = %v, want %q", k, sent[k], v)
			}
		}
		if rec.UserID != in.User.ID || ref["bid"] != sunlamp.AppleDefaultBid || !strings.HasPrefix(ref["url"], "https://") ||
			!strings.HasSuffix(ref["url"], ref["owner"]) || len(ref["key"]) != 66 || len(ref["signature"]) != 42 {
			t.Errorf("got %+v, want a reference shaped like Apple's for the user", rec)
		}

		conv := "/v2/apps/" + appID + "/conversations/" + in.Conversation.ID
		body := map[string]any{"userId": in.User.ID, "apple": map[string]any{"interactiveDataRef": ref}}
		e.MustJSON(t, e.Do(t, "POST", conv+"/download", key, body), http.StatusOK, `{"version":"1.0","data":{"replyMessage":{"title":"Thanks"},
			"dynamic":{"selections":[{"identifier":"slot-2","title":"Tuesday 10:00"}]}}}`)

		wrong := func(field, v string) map[string]any {
			changed := map[string]any{}
			for k, x := range ref {
				changed[k] = x
			}
			changed[field] = v
			return map[string]any{"userId": in.User.ID, "apple": map[string]any{"interactiveDataRef": changed}}
		}
		for _, f := range []string{"url", "bid", "key", "signature", "owner"} {
			apitest.MustError(t, e.Do(t, "POST", conv+"/download", key, wrong(f, ref[f]+"0")), http.StatusNotFound, "not_found", "Interactive data reference not found")
		}
		// Another user of the app cannot download it.
		other := mustCreate(t, e, "/v2/apps/"+appID+"/users", "user", map[string]any{"externalId": "someone-else"})
		apitest.MustError(t, e.Do(t, "POST", conv+"/download", key, map[string]any{"userId": other, "apple": map[string]any{"interactiveDataRef": ref}}),
			http.StatusNotFound, "not_found", "Interactive data reference not found")
		apitest.MustError(t, e.Do(t, "POST", conv+"/download", key, map[string]any{"userId": "nobody", "apple": map[string]any{"interactiveDataRef": ref}}),
			http.StatusNotFound, "user_not_found", "User not found")
		apitest.MustError(t, e.Do(t, "POST", "/v2/apps/"+appID+"/conversations/5d8cff3cd55b040010928b5b/download", key, body),
			http.StatusNotFound, "conversation_not_found", "Conversation not found")
		for _, c := range []struct {
			body  map[string]any
			title string
		}{
			{map[string]any{"apple": body["apple"]}, "should have required property 'userId'"},
			{map[string]any{"userId": in.User.ID}, "should have required property 'apple': only Apple references can be downloaded"},
			{map[string]any{"userId": in.User.ID, "apple": map[string]any{}}, "should have required property 'apple.interactiveDataRef'"},
			{map[string]any{"userId": in.User.ID, "apple": map[string]any{"interactiveDataRef": map[string]any{"url": "u"}}},
				"should have required property 'apple.interactiveDataRef.bid'"},
		} {
			apitest.MustError(t, e.Do(t, "POST", conv+"/download", key, c.body), http.StatusBadRequest, "bad_request", c.title)
		}

		// The simulator records data only for an apple integration's customers.
		sim := "/_sunlamp/v1/apps/" + appID + "/interactiveData"
		apitest.MustError(t, e.Do(t, "POST", sim, key, map[string]any{"integrationId": web, "userId": in.User.ID, "content": content}),
			http.StatusBadRequest, "bad_request", "interactive data references are made by apple integrations only")
		apitest.MustError(t, e.Do(t, "POST", sim, key, map[string]any{"integrationId": apple, "userId": other, "content": content}),
			http.StatusBadRequest, "bad_request", sunlamp.ErrNoAppleClient.Title)
		apitest.MustError(t, e.Do(t, "POST", sim, key, map[string]any{"integrationId": apple, "userId": in.User.ID, "content": []any{}}),
			http.StatusBadRequest, "bad_request", "content should be object")

		// The data goes with the user.
		e.MustJSON(t, e.Do(t, "DELETE", "/v2/apps/"+appID+"/users/"+in.User.ID, key, nil), http.StatusOK, `{}`)
		apitest.MustError(t, e.Do(t, "POST", conv+"/download", key, body), http.StatusNotFound, "user_not_found", "User not found")
	})
}
