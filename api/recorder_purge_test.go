package api_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/sunlamp/sunlamp"
	"github.com/sunlamp/sunlamp/internal/apitest"
	"github.com/sunlamp/sunlamp/internal/webhooktest"
)

// TestRecorderForgetsDeletedHistory: Delete User removes the user's conversation history, and with
// it what the webhook flight recorder kept of that history, the business's messages included (their
// events name no user, so the removal by user id alone left them for the recorder's 24 hours).
func TestRecorderForgetsDeletedHistory(t *testing.T) {
	apitest.ForEachStoreEmulated(t, func(t *testing.T, em *apitest.EmulatorEnv) {
		e := em.Env
		rc := webhooktest.NewReceiver(t, nil)
		appID := e.MustCreateApp(t, "Recorder purge")
		key := apitest.KeyAuth(e.MustCreateAppKey(t, appID))
		createIntegration(t, e, appID, key, customBody(rc.URL, "conversation:message"))
		tag := sunlamp.NewID()[12:]
		apitest.MustStatus(t, e.Do(t, "POST", usersPath(appID), key, map[string]any{"externalId": "leaving-" + tag}), http.StatusCreated)
		r := e.Do(t, "POST", "/_sunlamp/v1/apps/"+appID+"/inbound", key, map[string]any{"channel": "sdk",
			"user": map[string]any{"externalId": "leaving-" + tag}, "device": map[string]any{"type": "web", "guid": "g-" + tag},
			"content": map[string]any{"type": "text", "text": "customer-" + tag}})
		apitest.MustStatus(t, r, http.StatusCreated)
		conv := r.JSON(t)["conversation"].(map[string]any)["id"].(string)
		apitest.MustStatus(t, e.Do(t, "POST", "/v2/apps/"+appID+"/conversations/"+conv+"/messages", key, map[string]any{
			"author": map[string]any{"type": "business"}, "content": map[string]any{"type": "text", "text": "business-" + tag}}), http.StatusCreated)
		waitDelivered(t, em)

		db := openRawDB(t, em.Name, em.DSN)
		for _, text := range []string{"customer-" + tag, "business-" + tag} {
			if n := count(t, db, em.Name, "SELECT COUNT(*) FROM delivery_attempts WHERE request_body LIKE ?", "%"+text+"%"); n != 1 {
				t.Fatalf("the recorder holds %d attempts with %q before the deletion, want 1", n, text)
			}
		}
		apitest.MustStatus(t, e.Do(t, "DELETE", usersPath(appID, "leaving-"+tag), key, nil), http.StatusOK)
		if err := e.Store.PurgeDeletedUsers(context.Background()); err != nil {
			t.Fatal(err)
		}
		for _, text := range []string{"customer-" + tag, "business-" + tag} {
			if n := count(t, db, em.Name, "SELECT COUNT(*) FROM delivery_attempts WHERE request_body LIKE ?", "%"+text+"%"); n != 0 {
				t.Errorf("the recorder holds %d attempts with %q after the user's history was removed, want 0", n, text)
			}
		}
	})
}
