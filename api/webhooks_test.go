package api_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sunlamp/sunlamp"
	"github.com/sunlamp/sunlamp/api"
	"github.com/sunlamp/sunlamp/internal/apitest"
	"github.com/sunlamp/sunlamp/internal/webhooktest"
	"github.com/sunlamp/sunlamp/webhook"
)

func TestWebhooks(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		appID := e.MustCreateApp(t, "App")
		key := apitest.KeyAuth(e.MustCreateAppKey(t, appID))
		customID := createIntegration(t, e, appID, key, customBody("https://example.com/first", "conversation:message"))
		base := "/v2/apps/" + appID + "/integrations/" + customID + "/webhooks"

		r := e.Do(t, "POST", base, key, map[string]any{"target": "https://example.com/hook", "triggers": []string{"conversation:read", "conversation:message", "conversation:read"}, "includeFullUser": true})
		e.MustJSON(t, r, http.StatusCreated, `{"webhook":{"id":"ID","version":"v2","target":"https://example.com/hook",
			"triggers":["conversation:read","conversation:message"],"secret":"SECRET","includeFullUser":true,"includeFullSource":false}}`)
		var created struct{ Webhook struct{ ID, Secret string } }
		r.Decode(t, &created)
		if len(created.Webhook.Secret) != 32 {
			t.Errorf("got secret %q, want 32 hex characters", created.Webhook.Secret)
		}
		hook := base + "/" + created.Webhook.ID

		// The spec lists the integration and app scopes for webhooks, not the account's.
		apitest.MustError(t, e.Do(t, "GET", base, e.Account(), nil), http.StatusForbidden, "forbidden", "Forbidden")
		for _, c := range []struct {
			body  map[string]any
			title string
		}{
			{map[string]any{"triggers": []string{"conversation:message"}}, "should have required property 'target'"},
			{map[string]any{"target": "https://example.com"}, "should have required property 'triggers'"},
			{map[string]any{"target": "example.com/hook", "triggers": []string{"conversation:message"}}, "target should be an absolute http or https URL"},
			{map[string]any{"target": "https://example.com", "triggers": []string{"Conversation:Message"}}, "triggers[0] should be one of the webhook triggers (case-sensitive), such as conversation:message"},
			{map[string]any{"target": "https://example.com", "triggers": []string{}}, "triggers should NOT have fewer than 1 items"},
			{map[string]any{"target": "https://example.com", "triggers": "conversation:message"}, "triggers should be array"},
		} {
			apitest.MustError(t, e.Do(t, "POST", base, key, c.body), http.StatusBadRequest, "bad_request", c.title)
		}
		webID := createIntegration(t, e, appID, key, map[string]any{"type": "web"})
		apitest.MustError(t, e.Do(t, "POST", "/v2/apps/"+appID+"/integrations/"+webID+"/webhooks", key,
			map[string]any{"target": "https://example.com", "triggers": []string{"conversation:message"}}), http.StatusBadRequest, "bad_request", "")
		apitest.MustError(t, e.Do(t, "POST", "/v2/apps/"+appID+"/integrations/5e4af71a81966cfff3ef6550/webhooks", key,
			map[string]any{"target": "https://example.com", "triggers": []string{"conversation:message"}}), http.StatusNotFound, "integration_not_found", "Integration not found")

		e.MustJSON(t, e.Do(t, "GET", hook, key, nil), http.StatusOK, `{"webhook":{"id":"ID","version":"v2","target":"https://example.com/hook",
			"triggers":["conversation:read","conversation:message"],"secret":"SECRET","includeFullUser":true,"includeFullSource":false}}`)
		r = e.Do(t, "PATCH", hook, key, map[string]any{"triggers": []string{"user:remove"}, "includeFullSource": true})
		e.MustJSON(t, r, http.StatusOK, `{"webhook":{"id":"ID","version":"v2","target":"https://example.com/hook",
			"triggers":["user:remove"],"secret":"SECRET","includeFullUser":true,"includeFullSource":true}}`)
		if !strings.Contains(string(r.Body), created.Webhook.Secret) {
			t.Errorf("the secret changed on update: %s", r.Body)
		}
		apitest.MustError(t, e.Do(t, "PATCH", hook, key, map[string]any{"target": nil}), http.StatusBadRequest, "bad_request", "target should be string")
		r = e.Do(t, "GET", base, key, nil)
		var list struct{ Webhooks []struct{ Target string } }
		r.Decode(t, &list)
		if len(list.Webhooks) != 2 || list.Webhooks[0].Target != "https://example.com/first" || list.Webhooks[1].Target != "https://example.com/hook" {
			t.Errorf("got webhooks %+v, want the integration's first webhook and the new one", list.Webhooks)
		}

		apitest.MustStatus(t, e.Do(t, "DELETE", hook, key, nil), http.StatusOK)
		apitest.MustError(t, e.Do(t, "GET", hook, key, nil), http.StatusNotFound, "not_found", "Resource not found")
		apitest.MustError(t, e.Do(t, "PATCH", hook, key, map[string]any{}), http.StatusNotFound, "not_found", "Resource not found")
		apitest.MustError(t, e.Do(t, "DELETE", hook, key, nil), http.StatusNotFound, "not_found", "Resource not found")

		t.Run("at most 10 per app", func(t *testing.T) {
			other := createIntegration(t, e, appID, key, customBody("https://example.com/2", "user:remove")) // 2 webhooks now
			for range 8 {
				apitest.MustStatus(t, e.Do(t, "POST", base, key, map[string]any{"target": "https://example.com/n", "triggers": []string{"user:remove"}}), http.StatusCreated)
			}
			apitest.MustError(t, e.Do(t, "POST", base, key, map[string]any{"target": "https://example.com/n", "triggers": []string{"user:remove"}}),
				http.StatusBadRequest, "bad_request", "An app can have at most 10 webhooks")
			apitest.MustError(t, e.Do(t, "POST", "/v2/apps/"+appID+"/integrations", key, customBody("https://example.com/3", "user:remove")),
				http.StatusBadRequest, "bad_request", "An app can have at most 10 webhooks")
			apitest.MustStatus(t, e.Do(t, "DELETE", "/v2/apps/"+appID+"/integrations/"+other, key, nil), http.StatusOK)
			apitest.MustStatus(t, e.Do(t, "POST", base, key, map[string]any{"target": "https://example.com/n", "triggers": []string{"user:remove"}}), http.StatusCreated)
		})
	})
}

// newDispatcher returns a dispatcher of e's store and clock, which tests drive with DeliverDue.
func newDispatcher(e *apitest.Env) *webhook.Dispatcher {
	return webhook.New(webhook.Config{Store: e.Store, Render: api.EventRenderer(e.Store), Clock: e.Clock, Timeout: 5 * time.Second})
}

func deliverDue(t *testing.T, d *webhook.Dispatcher) {
	t.Helper()
	if _, err := d.DeliverDue(context.Background()); err != nil {
		t.Fatalf("deliver: %v", err)
	}
}

// TestWebhookEvents drives the operations that cause events over HTTP and checks that each reaches
// the webhooks subscribed to it, in the shape of the spec's webhook schemas.
func TestWebhookEvents(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		appID := e.MustCreateApp(t, "App")
		key := apitest.KeyAuth(e.MustCreateAppKey(t, appID))
		plain := webhooktest.NewReceiver(t, nil)
		full := webhooktest.NewReceiver(t, nil)
		only := webhooktest.NewReceiver(t, nil)
		customID := createIntegration(t, e, appID, key, customBody(plain.URL, sunlamp.Triggers...))
		base := "/v2/apps/" + appID + "/integrations/" + customID + "/webhooks"
		apitest.MustStatus(t, e.Do(t, "POST", base, key, map[string]any{"target": full.URL, "triggers": sunlamp.Triggers,
			"includeFullUser": true, "includeFullSource": true}), http.StatusCreated)
		apitest.MustStatus(t, e.Do(t, "POST", base, key, map[string]any{"target": only.URL, "triggers": []string{"conversation:message"}}), http.StatusCreated)
		twilio := createIntegration(t, e, appID, key, map[string]any{"type": "twilio", "accountSid": "AC1", "authToken": "t", "phoneNumberSid": "PN1"})

		app := "/v2/apps/" + appID
		r := e.Do(t, "POST", app+"/users", key, map[string]any{"externalId": "ext-42", "profile": map[string]any{"givenName": "Ada", "email": "ada@example.com"}})
		apitest.MustStatus(t, r, http.StatusCreated)
		userID := r.JSON(t)["user"].(map[string]any)["id"].(string)
		r = e.Do(t, "POST", app+"/conversations", key, map[string]any{"type": "personal", "participants": []any{map[string]any{"userId": userID}}})
		apitest.MustStatus(t, r, http.StatusCreated)
		convID := r.JSON(t)["conversation"].(map[string]any)["id"].(string)
		conv := app + "/conversations/" + convID
		apitest.MustStatus(t, e.Do(t, "POST", conv+"/messages", key, map[string]any{"author": map[string]any{"type": "user", "userId": userID},
			"content": map[string]any{"type": "text", "text": "hello"}}), http.StatusCreated)
		apitest.MustStatus(t, e.Do(t, "POST", conv+"/messages", key, map[string]any{"author": map[string]any{"type": "business"},
			"content": map[string]any{"type": "text", "text": "hi there"}}), http.StatusCreated)
		apitest.MustStatus(t, e.Do(t, "POST", conv+"/activity", key, map[string]any{"author": map[string]any{"type": "business"}, "type": "typing:start"}), http.StatusOK)
		apitest.MustStatus(t, e.Do(t, "POST", conv+"/activity", key, map[string]any{"author": map[string]any{"type": "user", "userId": userID}, "type": "conversation:read"}), http.StatusOK)
		r = e.Do(t, "POST", app+"/users/"+userID+"/clients", key, map[string]any{
			"matchCriteria": map[string]any{"type": "twilio", "integrationId": twilio, "phoneNumber": "+15145555555"},
			"confirmation":  map[string]any{"type": "immediate"}, "target": map[string]any{"conversationId": convID}})
		apitest.MustStatus(t, r, http.StatusCreated)
		clientID := r.JSON(t)["client"].(map[string]any)["id"].(string)
		// The customer answers on the channel.
		apitest.MustStatus(t, e.Do(t, "POST", "/_sunlamp/v1/apps/"+appID+"/inbound", key, map[string]any{"channel": "twilio", "integrationId": twilio, "user": map[string]any{"id": userID},
			"client": map[string]any{"externalId": "+15145555555"}, "content": map[string]any{"type": "text", "text": "yes"}}), http.StatusCreated)
		apitest.MustStatus(t, e.Do(t, "DELETE", app+"/users/"+userID+"/clients/"+clientID, key, nil), http.StatusOK)
		r = e.Do(t, "POST", app+"/conversations", key, map[string]any{"type": "sdkGroup"})
		apitest.MustStatus(t, r, http.StatusCreated)
		group := app + "/conversations/" + r.JSON(t)["conversation"].(map[string]any)["id"].(string)
		apitest.MustStatus(t, e.Do(t, "POST", group+"/join", key, map[string]any{"userId": userID}), http.StatusCreated)
		apitest.MustStatus(t, e.Do(t, "POST", group+"/leave", key, map[string]any{"userId": userID}), http.StatusOK)
		apitest.MustStatus(t, e.Do(t, "DELETE", group, key, nil), http.StatusOK)
		d := newDispatcher(e)
		deliverDue(t, d)
		// Deleting a user drops what was not yet delivered about it: deliver first.
		apitest.MustStatus(t, e.Do(t, "DELETE", app+"/users/"+userID, key, nil), http.StatusOK)
		// user:remove is emitted once the user's history is gone.
		if err := e.Store.PurgeDeletedUsers(context.Background()); err != nil {
			t.Fatal(err)
		}
		deliverDue(t, d)
		want := []string{"client:add", "client:remove", "conversation:create", "conversation:join", "conversation:leave", "conversation:message",
			"conversation:read", "conversation:remove", "conversation:typing", "user:remove"}
		for name, rc := range map[string]*webhooktest.Receiver{"plain": plain, "full": full} {
			var types []string
			for _, g := range rc.All() {
				webhooktest.ValidateBody(t, g.Body)
				if !slices.Contains(types, g.EventType) {
					types = append(types, g.EventType)
				}
				// Only a full user carries the profile: the user of conversation:create, and the authors.
				hasProfile := strings.Contains(string(g.Body), "ada@example.com")
				if name == "plain" && hasProfile {
					t.Errorf("plain webhook, %s: got the user's profile: %s", g.EventType, g.Body)
				}
				if name == "full" && g.EventType == "conversation:create" && strings.Contains(string(g.Body), `"personal"`) && !hasProfile {
					t.Errorf("full webhook, %s: got no profile: %s", g.EventType, g.Body)
				}
			}
			slices.Sort(types)
			if !slices.Equal(types, want) {
				t.Errorf("%s webhook got event types %v, want %v", name, types, want)
			}
		}
		var types []string
		for _, g := range only.All() {
			types = append(types, g.EventType)
		}
		// The author of a user's message, as the spec's example shows it: read from the user.
		var authors []string
		for _, g := range only.All() {
			author := g.Payload(t)["message"].(map[string]any)["author"].(map[string]any)
			b, _ := json.Marshal(author)
			authors = append(authors, string(b))
		}
		slices.Sort(authors)
		ada := `{"displayName":"Ada","type":"user","user":{"authenticated":false,"externalId":"ext-42","id":"` + userID + `"},"userId":"` + userID + `"}`
		wantAuthors := []string{`{"avatarUrl":"https://www.gravatar.com/avatar/00000000000000000000000000000000.png?s=200\u0026d=mm","type":"business"}`, ada, ada}
		if !slices.Equal(authors, wantAuthors) {
			t.Errorf("got message authors\n%v\nwant\n%v", authors, wantAuthors)
		}
		if !slices.Equal(types, []string{"conversation:message", "conversation:message", "conversation:message"}) {
			t.Errorf("conversation:message webhook got %v, want three conversation:message events", types)
		}
	})
}

// TestWebhookErasure: once a user's personal information is deleted, or the user is, no later
// attempt of a pending delivery carries the erased values.
func TestWebhookErasure(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		appID := e.MustCreateApp(t, "App")
		key := apitest.KeyAuth(e.MustCreateAppKey(t, appID))
		rc := webhooktest.NewReceiver(t, func(string, int) int { return http.StatusServiceUnavailable })
		customID := createIntegration(t, e, appID, key, customBody(rc.URL, "conversation:create", "conversation:message", "conversation:read", "user:remove"))
		apitest.MustStatus(t, e.Do(t, "POST", "/v2/apps/"+appID+"/integrations/"+customID+"/webhooks", key, map[string]any{"target": rc.URL,
			"triggers": []string{"conversation:create", "conversation:message", "conversation:read"}, "includeFullUser": true, "includeFullSource": true}), http.StatusCreated)
		app := "/v2/apps/" + appID
		d := newDispatcher(e)

		for _, erase := range []string{"personalinformation", "user"} {
			t.Run(erase, func(t *testing.T) {
				secrets := []string{"Zelda-" + erase, "Hyrule-" + erase, "zelda-" + erase + "@example.com", "https://example.com/zelda-" + erase + ".png"}
				r := e.Do(t, "POST", app+"/users", key, map[string]any{"externalId": "z-" + erase, "profile": map[string]any{
					"givenName": secrets[0], "surname": secrets[1], "email": secrets[2], "avatarUrl": secrets[3]}})
				apitest.MustStatus(t, r, http.StatusCreated)
				userID := r.JSON(t)["user"].(map[string]any)["id"].(string)
				r = e.Do(t, "POST", app+"/conversations", key, map[string]any{"type": "personal", "participants": []any{map[string]any{"userId": userID}}})
				apitest.MustStatus(t, r, http.StatusCreated)
				conv := app + "/conversations/" + r.JSON(t)["conversation"].(map[string]any)["id"].(string)
				apitest.MustStatus(t, e.Do(t, "POST", conv+"/messages", key, map[string]any{"author": map[string]any{"type": "user", "userId": userID},
					"content": map[string]any{"type": "text", "text": "hello"}}), http.StatusCreated)
				apitest.MustStatus(t, e.Do(t, "POST", conv+"/activity", key, map[string]any{"author": map[string]any{"type": "user", "userId": userID}, "type": "conversation:read"}), http.StatusOK)

				rc.SetAnswer(func(string, int) int { return http.StatusServiceUnavailable })
				deliverDue(t, d)
				before := len(rc.All())
				leaked := 0
				for _, g := range rc.All() {
					if strings.Contains(string(g.Body), secrets[0]) {
						leaked++
					}
				}
				if leaked == 0 {
					t.Fatalf("the first attempts carried no profile: the test would prove nothing")
				}

				if countEventsContaining(t, e, secrets...) == 0 {
					t.Fatalf("the outbox held no profile before the erasure: the check below would prove nothing")
				}
				path := app + "/users/" + userID
				if erase == "personalinformation" {
					path += "/personalinformation"
				}
				apitest.MustStatus(t, e.Do(t, "DELETE", path, key, nil), http.StatusOK)
				rc.SetAnswer(nil)
				e.Clock.Advance(time.Minute)
				deliverDue(t, d)
				for _, g := range rc.All()[before:] {
					webhooktest.ValidateBody(t, g.Body)
					for _, s := range secrets {
						if strings.Contains(string(g.Body), s) {
							t.Errorf("a %s attempt after the erasure carries %q: %s", g.EventType, s, g.Body)
						}
					}
				}
				// Nor does anything the outbox retains.
				if n := countEventsContaining(t, e, secrets...); n != 0 {
					t.Errorf("%d outbox events still hold an erased value", n)
				}
				if erase == "personalinformation" && len(rc.All()) == before {
					t.Errorf("nothing was delivered after the erasure: the pending deliveries should still go, scrubbed")
				}
			})
		}
	})
}

// countEventsContaining counts the outbox events whose data holds any of values, reading the
// database directly.
func countEventsContaining(t *testing.T, e *apitest.Env, values ...string) int {
	t.Helper()
	driver, dsn := "pgx", e.DSN
	if strings.HasPrefix(dsn, "sqlite:") {
		driver, dsn = "sqlite", "file:"+strings.TrimPrefix(dsn, "sqlite:")+"?mode=ro"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	n := 0
	for _, v := range values {
		var c int
		q := "SELECT COUNT(*) FROM events WHERE data LIKE '%' || ? || '%'"
		if driver == "pgx" {
			q = strings.Replace(q, "?", "$1", 1)
		}
		if err := db.QueryRow(q, v).Scan(&c); err != nil {
			t.Fatal(err)
		}
		n += c
	}
	return n
}
