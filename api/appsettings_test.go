package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/sunlamp/sunlamp"
	"github.com/sunlamp/sunlamp/internal/apitest"
	"github.com/sunlamp/sunlamp/internal/webhooktest"
)

// TestAppSettingsApplied: maskCreditCardNumbers (on by default) masks card numbers in what users
// write before it is stored, and useAnimalNames names the users that channels create (issue 14).
func TestAppSettingsApplied(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		appID := e.MustCreateApp(t, "Settings")
		key := apitest.KeyAuth(e.MustCreateAppKey(t, appID))
		rc := webhooktest.NewReceiver(t, nil)
		createIntegration(t, e, appID, key, customBody(rc.URL, "conversation:message"))
		app := "/v2/apps/" + appID
		inbound := "/_sunlamp/v1/apps/" + appID + "/inbound"
		say := func(externalID, text string) map[string]any {
			r := e.Do(t, "POST", inbound, key, map[string]any{"channel": "telegram", "client": map[string]any{"externalId": externalID},
				"content": map[string]any{"type": "text", "text": text}})
			apitest.MustStatus(t, r, http.StatusCreated)
			return r.JSON(t)
		}
		textOf := func(res map[string]any) string {
			return res["messages"].([]any)[0].(map[string]any)["content"].(map[string]any)["text"].(string)
		}

		// On by default: the stored message, and so every copy of it, is masked.
		res := say("tg-1", "my card is 4111 1111 1111 1111, call me")
		if got, want := textOf(res), "my card is ************1111, call me"; got != want {
			t.Errorf("inbound: got text %q, want %q", got, want)
		}
		conv := app + "/conversations/" + res["conversation"].(map[string]any)["id"].(string)
		userID := res["user"].(map[string]any)["id"].(string)
		r := e.Do(t, "POST", conv+"/messages", key, map[string]any{"author": map[string]any{"type": "user", "userId": userID},
			"content": map[string]any{"type": "image", "mediaUrl": "https://example.org/c.png", "text": "front 5555-5555-5555-4444"}})
		apitest.MustStatus(t, r, http.StatusCreated)
		if !strings.Contains(string(r.Body), `"text":"front ************4444"`) {
			t.Errorf("PostMessage by a user: got %s, want the card masked", r.Body)
		}
		// A business may send card numbers (a receipt, say): they are not masked.
		r = e.Do(t, "POST", conv+"/messages", key, map[string]any{"author": map[string]any{"type": "business"},
			"content": map[string]any{"type": "text", "text": "test card 4111111111111111"}})
		if !strings.Contains(string(r.Body), "4111111111111111") {
			t.Errorf("PostMessage by the business: got %s, want the text as sent", r.Body)
		}
		r = e.Do(t, "GET", conv+"/messages", key, nil)
		if strings.Contains(string(r.Body), "4111 1111") || strings.Contains(string(r.Body), "5555-5555") {
			t.Errorf("ListMessages: got an unmasked user card number: %s", r.Body)
		}
		d := newDispatcher(e)
		deliverDue(t, d)
		for _, g := range rc.All() {
			if strings.Contains(string(g.Body), "4111 1111") {
				t.Errorf("webhook: got an unmasked card number: %s", g.Body)
			}
		}

		// Off: stored as sent.
		apitest.MustStatus(t, e.Do(t, "PATCH", app, key, map[string]any{"settings": map[string]any{"maskCreditCardNumbers": false}}), http.StatusOK)
		if got, want := textOf(say("tg-1", "4111 1111 1111 1111")), "4111 1111 1111 1111"; got != want {
			t.Errorf("masking off: got %q, want %q", got, want)
		}

		// useAnimalNames off (the default): a new channel user has no name.
		res = say("tg-2", "hello")
		if p := res["user"].(map[string]any)["profile"].(map[string]any); len(p) != 0 {
			t.Errorf("useAnimalNames off: got profile %v, want {}", p)
		}
		apitest.MustStatus(t, e.Do(t, "PATCH", app, key, map[string]any{"settings": map[string]any{"useAnimalNames": true}}), http.StatusOK)
		res = say("tg-3", "hello")
		user := res["user"].(map[string]any)
		given, surname := sunlamp.AnimalName(user["id"].(string))
		want := map[string]any{"givenName": given, "surname": surname}
		if p := user["profile"].(map[string]any); p["givenName"] != want["givenName"] || p["surname"] != want["surname"] {
			t.Errorf("useAnimalNames on: got profile %v, want %v", p, want)
		}
		author := res["messages"].([]any)[0].(map[string]any)["author"].(map[string]any)
		if author["displayName"] != given+" "+surname {
			t.Errorf("useAnimalNames on: got author %v, want displayName %q", author, given+" "+surname)
		}
		// A user that had been seen before keeps its (lack of a) name; one the channel names is not renamed.
		if p := say("tg-2", "again")["user"].(map[string]any)["profile"].(map[string]any); len(p) != 0 {
			t.Errorf("known user: got profile %v, want it unchanged", p)
		}
		r = e.Do(t, "POST", inbound, key, map[string]any{"channel": "telegram", "client": map[string]any{"externalId": "tg-4", "displayName": "Tom"},
			"content": map[string]any{"type": "text", "text": "hi"}})
		if p := r.JSON(t)["user"].(map[string]any)["profile"].(map[string]any); len(p) != 0 {
			t.Errorf("a user the channel names: got profile %v, want none made up", p)
		}
		deliverDue(t, d)
		found := false
		for _, g := range rc.All() {
			webhooktest.ValidateBody(t, g.Body)
			found = found || strings.Contains(string(g.Body), `"displayName":"`+given+" "+surname+`"`)
		}
		if !found {
			t.Errorf("webhooks: no conversation:message author shows the animal name %s %s", given, surname)
		}
	})
}
