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

// TestUserRemoveForgottenWhenWebhookDeleted: a user:remove waiting for a failing webhook keeps the
// deleted user's externalId only while a delivery is pending; deleting the webhook (its deliveries
// go with it) ends that, as a delivery's end does.
func TestUserRemoveForgottenWhenWebhookDeleted(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		rc := webhooktest.NewReceiver(t, func(string, int) int { return http.StatusServiceUnavailable })
		appID := e.MustCreateApp(t, "Webhook gone")
		key := apitest.KeyAuth(e.MustCreateAppKey(t, appID))
		integ := createIntegration(t, e, appID, key, customBody(rc.URL, "user:remove"))
		ext := "gone-" + sunlamp.NewID()[12:]
		apitest.MustStatus(t, e.Do(t, "POST", usersPath(appID), key, map[string]any{"externalId": ext}), http.StatusCreated)
		apitest.MustStatus(t, e.Do(t, "DELETE", usersPath(appID, ext), key, nil), http.StatusOK)
		if err := e.Store.PurgeDeletedUsers(context.Background()); err != nil {
			t.Fatal(err)
		}
		deliverDue(t, newDispatcher(e)) // the webhook answers 503: the delivery stays pending
		db := openRawDB(t, e.Name, e.DSN)
		if n := count(t, db, e.Name, "SELECT COUNT(*) FROM events WHERE data LIKE ?", "%"+ext+"%"); n != 1 {
			t.Fatalf("got %d stored events holding the externalId while its delivery is pending, want 1", n)
		}
		r := e.Do(t, "GET", "/v2/apps/"+appID+"/integrations/"+integ+"/webhooks", key, nil)
		webhookID := r.JSON(t)["webhooks"].([]any)[0].(map[string]any)["id"].(string)
		apitest.MustStatus(t, e.Do(t, "DELETE", "/v2/apps/"+appID+"/integrations/"+integ+"/webhooks/"+webhookID, key, nil), http.StatusOK)
		if n := count(t, db, e.Name, "SELECT COUNT(*) FROM events WHERE data LIKE ?", "%"+ext+"%"); n != 0 {
			t.Errorf("got %d stored events holding the externalId after the webhook that waited for it was deleted, want 0", n)
		}
	})
}
