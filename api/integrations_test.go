package api_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sunlamp/sunlamp"
	"github.com/sunlamp/sunlamp/internal/apitest"
)

// createIntegration creates an integration with auth and returns its id.
func createIntegration(t *testing.T, e *apitest.Env, appID string, auth apitest.Auth, body map[string]any) string {
	t.Helper()
	r := e.Do(t, "POST", "/v2/apps/"+appID+"/integrations", auth, body)
	apitest.MustStatus(t, r, http.StatusCreated)
	return r.JSON(t)["integration"].(map[string]any)["id"].(string)
}

func customBody(target string, triggers ...string) map[string]any {
	return map[string]any{"type": "custom", "displayName": "My bot",
		"webhooks": []any{map[string]any{"target": target, "triggers": triggers}}}
}

func TestIntegrations(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		appID := e.MustCreateApp(t, "App")
		key := apitest.KeyAuth(e.MustCreateAppKey(t, appID))
		base := "/v2/apps/" + appID + "/integrations"

		r := e.Do(t, "POST", base, key, customBody("https://example.com/hook", "conversation:message", "conversation:read"))
		e.MustJSON(t, r, http.StatusCreated, `{"integration":{"id":"ID","type":"custom","status":"active","displayName":"My bot",
			"webhooks":[{"id":"ID","version":"v2","target":"https://example.com/hook","triggers":["conversation:message","conversation:read"],
			"secret":"SECRET","includeFullUser":false,"includeFullSource":false}]}}`)
		customID := r.JSON(t)["integration"].(map[string]any)["id"].(string)

		r = e.Do(t, "POST", base, e.Account(), map[string]any{"type": "web", "displayName": "Web", "brandColor": "ff0000"})
		e.MustJSON(t, r, http.StatusCreated, `{"integration":{"id":"ID","type":"web","status":"active","displayName":"Web",
			"brandColor":"ff0000","fixedIntroPane":false,"conversationColor":"0099ff","actionColor":"0099ff","displayStyle":"button",
			"buttonWidth":"58","buttonHeight":"58","showAIDisclaimer":true}}`)
		webID := r.JSON(t)["integration"].(map[string]any)["id"].(string)

		t.Run("credentials are write-only", func(t *testing.T) {
			r := e.Do(t, "POST", base, key, map[string]any{"type": "messenger", "pageAccessToken": "PAGE-TOKEN", "appId": "fb-app",
				"appSecret": "APP-SECRET", "pageId": "1234", "defaultResponderId": "5ef21b86e933b7355c11c605"})
			e.MustJSON(t, r, http.StatusCreated, `{"integration":{"id":"ID","type":"messenger","status":"active","appId":"fb-app",
				"pageId":"1234","showAIDisclaimer":true}}`)
			id := r.JSON(t)["integration"].(map[string]any)["id"].(string)
			r = e.Do(t, "PATCH", base+"/"+id, key, map[string]any{"pageAccessToken": "NEW-TOKEN", "displayName": "Page"})
			e.MustJSON(t, r, http.StatusOK, `{"integration":{"id":"ID","type":"messenger","status":"active","displayName":"Page",
				"appId":"fb-app","pageId":"1234","showAIDisclaimer":true}}`)
			for _, path := range []string{base + "/" + id, base} {
				body := string(e.Do(t, "GET", path, key, nil).Body)
				for _, secret := range []string{"PAGE-TOKEN", "NEW-TOKEN", "APP-SECRET", "5ef21b86e933b7355c11c605"} {
					if strings.Contains(body, secret) {
						t.Errorf("GET %s returned the write-only value %s: %s", path, secret, body)
					}
				}
			}
			r = e.Do(t, "POST", base, key, map[string]any{"type": "telegram", "token": "123:abc"})
			e.MustJSON(t, r, http.StatusCreated, `{"integration":{"id":"ID","type":"telegram","status":"active","showAIDisclaimer":true}}`)
		})

		t.Run("every type validates its fields", func(t *testing.T) {
			for _, c := range []struct {
				body  map[string]any
				title string
			}{
				{map[string]any{"type": "fax"}, "Invalid integration type"},
				{map[string]any{"type": 12}, "Invalid integration type"},
				{map[string]any{}, "should have required property 'type'"},
				{map[string]any{"type": "custom"}, "should have required property 'webhooks'"},
				{map[string]any{"type": "custom", "webhooks": []any{}}, "webhooks should have exactly 1 item: a custom integration is created with one webhook"},
				{map[string]any{"type": "custom", "webhooks": []any{map[string]any{"target": "https://x.example"}}}, "should have required property 'webhooks[0].triggers'"},
				{map[string]any{"type": "custom", "webhooks": []any{map[string]any{"target": "ftp://x", "triggers": []string{"conversation:message"}}}}, "webhooks[0].target should be an absolute http or https URL"},
				{map[string]any{"type": "messenger", "appId": "a", "appSecret": "s"}, "should have required property 'pageAccessToken'"},
				{map[string]any{"type": "telegram"}, "should have required property 'token'"},
				{map[string]any{"type": "telegram", "token": 5}, "token should be string"},
				{map[string]any{"type": "twilio", "accountSid": "AC1", "authToken": "t"}, "One of phoneNumberSid or messagingServiceSid is required"},
				{map[string]any{"type": "twitter", "tier": "premium", "consumerKey": "a", "consumerSecret": "b", "accessTokenKey": "c", "accessTokenSecret": "d"}, "tier should be one of enterprise"},
				{map[string]any{"type": "web", "displayStyle": "popup"}, "displayStyle should be one of button, tab"},
				{map[string]any{"type": "web", "displayName": strings.Repeat("x", 101)}, "displayName should NOT be longer than 100 characters"},
				{map[string]any{"type": "apple", "businessId": "b", "apiSecret": "s", "mspId": "m", "authenticationMessageSecret": "short"}, "authenticationMessageSecret should NOT be shorter than 88 characters"},
				{map[string]any{"type": "android", "showAIDisclaimer": "yes"}, "showAIDisclaimer should be boolean"},
			} {
				apitest.MustError(t, e.Do(t, "POST", base, key, c.body), http.StatusBadRequest, "bad_request", c.title)
			}
			for _, typ := range []string{"android", "ios", "unity", "web", "line", "whatsapp"} {
				createIntegration(t, e, appID, key, map[string]any{"type": typ})
			}
			// Every other type with its required fields: the answer holds the readable ones only.
			for _, c := range []struct {
				body map[string]any
				want string
			}{
				{map[string]any{"type": "apple", "businessId": "biz", "apiSecret": "S1", "mspId": "msp"},
					`{"integration":{"id":"ID","type":"apple","status":"active","businessId":"biz","mspId":"msp","showAIDisclaimer":true}}`},
				{map[string]any{"type": "instagram", "pageAccessToken": "S1", "appId": "ig", "appSecret": "S2"},
					`{"integration":{"id":"ID","type":"instagram","status":"active","appId":"ig","storyRepliesEnabled":true,"storyMentionsEnabled":true,"showAIDisclaimer":true}}`},
				{map[string]any{"type": "mailgun", "apiKey": "S1", "domain": "mg.example.com", "incomingAddress": "in@mg.example.com", "signingKey": "S2"},
					`{"integration":{"id":"ID","type":"mailgun","status":"active","domain":"mg.example.com","incomingAddress":"in@mg.example.com","showAIDisclaimer":true}}`},
				{map[string]any{"type": "messagebird", "accessKey": "S1", "signingKey": "S2", "originator": "12262121021"},
					`{"integration":{"id":"ID","type":"messagebird","status":"active","originator":"12262121021","webhookSecret":"SECRET","showAIDisclaimer":true}}`},
				{map[string]any{"type": "twitter", "tier": "enterprise", "consumerKey": "S1", "consumerSecret": "S2", "accessTokenKey": "S3", "accessTokenSecret": "S4"},
					`{"integration":{"id":"ID","type":"twitter","status":"active","tier":"enterprise","showAIDisclaimer":true}}`},
				{map[string]any{"type": "viber", "token": "S1", "displayName": "Viber"},
					`{"integration":{"id":"ID","type":"viber","status":"active","displayName":"Viber","showAIDisclaimer":true}}`},
			} {
				r := e.Do(t, "POST", base, key, c.body)
				got := string(r.Body)
				for _, secret := range []string{"S1", "S2", "S3", "S4"} {
					if strings.Contains(got, `"`+secret+`"`) {
						t.Errorf("%s: the write-only value %s came back: %s", c.body["type"], secret, got)
					}
				}
				got = regexp.MustCompile(`"webhookSecret":"[0-9a-f]{32}"`).ReplaceAllString(got, `"webhookSecret":"SECRET"`)
				e.MustJSON(t, &apitest.Response{Status: r.Status, Body: []byte(got)}, http.StatusCreated, c.want)
			}
		})

		t.Run("get, list and filter", func(t *testing.T) {
			r := e.Do(t, "GET", base+"/"+webID, key, nil)
			apitest.MustStatus(t, r, http.StatusOK)
			apitest.MustError(t, e.Do(t, "GET", base+"/5e4af71a81966cfff3ef6550", key, nil), http.StatusNotFound, "integration_not_found", "Integration not found")
			r = e.Do(t, "GET", base+"?filter[types]=custom", key, nil)
			e.MustJSON(t, r, http.StatusOK, `{"integrations":[{"id":"ID","type":"custom","status":"active","displayName":"My bot",
				"webhooks":[{"id":"ID","version":"v2","target":"https://example.com/hook","triggers":["conversation:message","conversation:read"],
				"secret":"SECRET","includeFullUser":false,"includeFullSource":false}]}],"meta":{"hasMore":false}}`)
			var page struct {
				Integrations []struct{ ID, Type string }
				Meta         struct {
					HasMore     bool
					AfterCursor string
				}
				Links struct{ Next string }
			}
			e.Do(t, "GET", base+"?page[size]=2", key, nil).Decode(t, &page)
			if len(page.Integrations) != 2 || !page.Meta.HasMore || page.Integrations[0].ID != customID || page.Integrations[1].ID != webID {
				t.Errorf("got first page %+v, want the custom and web integrations and hasMore", page)
			}
			r = e.Do(t, "GET", base+"?page[size]=2&page[after]="+page.Meta.AfterCursor, key, nil)
			apitest.MustStatus(t, r, http.StatusOK)
			if strings.Contains(string(r.Body), customID) {
				t.Errorf("second page repeats the first: %s", r.Body)
			}
			r = e.Do(t, "GET", base+"?filter[types]=web,telegram", key, nil)
			var list struct{ Integrations []struct{ Type string } }
			r.Decode(t, &list)
			for _, in := range list.Integrations {
				if in.Type != "web" && in.Type != "telegram" {
					t.Errorf("filter[types]=web,telegram returned a %s integration", in.Type)
				}
			}
			if len(list.Integrations) != 3 { // web, telegram, and the web of the validation subtest
				t.Errorf("got %d integrations of types web and telegram, want 3", len(list.Integrations))
			}
			apitest.MustError(t, e.Do(t, "GET", base+"?filter[types]=fax", key, nil), http.StatusBadRequest, "bad_request", "Invalid query parameters")
		})

		t.Run("update changes only what the type allows", func(t *testing.T) {
			r := e.Do(t, "PATCH", base+"/"+customID, key, map[string]any{"displayName": "Renamed"})
			apitest.MustStatus(t, r, http.StatusOK)
			if got := r.JSON(t)["integration"].(map[string]any)["displayName"]; got != "Renamed" {
				t.Errorf("got displayName %v, want Renamed", got)
			}
			r = e.Do(t, "PATCH", base+"/"+customID, key, map[string]any{"displayName": nil})
			if _, ok := r.JSON(t)["integration"].(map[string]any)["displayName"]; ok {
				t.Errorf("displayName null did not unset it: %s", r.Body)
			}
			apitest.MustError(t, e.Do(t, "PATCH", base+"/"+customID, key, map[string]any{"webhooks": []any{}}), http.StatusBadRequest, "bad_request",
				"webhooks cannot be updated here: use the webhook operations")
			apitest.MustError(t, e.Do(t, "PATCH", base+"/"+customID, key, map[string]any{"displayName": ""}), http.StatusBadRequest, "bad_request",
				"displayName should NOT be shorter than 1 characters")
			r = e.Do(t, "PATCH", base+"/"+webID, key, map[string]any{"brandColor": "00ff00", "showAIDisclaimer": false, "canUserSeeConversationList": true})
			apitest.MustStatus(t, r, http.StatusOK)
			in := r.JSON(t)["integration"].(map[string]any)
			if in["brandColor"] != "00ff00" || in["showAIDisclaimer"] != false || in["canUserSeeConversationList"] != true || in["actionColor"] != "0099ff" {
				t.Errorf("got %v after update, want the new values and the others kept", in)
			}
			tg := createIntegration(t, e, appID, key, map[string]any{"type": "twilio", "accountSid": "AC1", "authToken": "t", "phoneNumberSid": "PN1"})
			apitest.MustError(t, e.Do(t, "PATCH", base+"/"+tg, key, map[string]any{"accountSid": "AC2"}), http.StatusBadRequest, "bad_request",
				"accountSid cannot be updated: delete the integration and create it again")
			apitest.MustError(t, e.Do(t, "PATCH", base+"/5e4af71a81966cfff3ef6550", key, map[string]any{"displayName": "x"}), http.StatusNotFound, "integration_not_found", "Integration not found")
		})

		t.Run("another app cannot see them", func(t *testing.T) {
			other := e.MustCreateApp(t, "Other")
			otherKey := apitest.KeyAuth(e.MustCreateAppKey(t, other))
			apitest.MustError(t, e.Do(t, "GET", base+"/"+customID, otherKey, nil), http.StatusForbidden, "forbidden", "")
			apitest.MustError(t, e.Do(t, "GET", "/v2/apps/"+other+"/integrations/"+customID, otherKey, nil), http.StatusNotFound, "integration_not_found", "")
			apitest.MustError(t, e.Do(t, "DELETE", "/v2/apps/"+other+"/integrations/"+customID, otherKey, nil), http.StatusNotFound, "integration_not_found", "")
		})

		t.Run("delete", func(t *testing.T) {
			id := createIntegration(t, e, appID, key, customBody("https://example.com/x", "user:remove"))
			apitest.MustStatus(t, e.Do(t, "DELETE", base+"/"+id, key, nil), http.StatusOK)
			apitest.MustError(t, e.Do(t, "GET", base+"/"+id, key, nil), http.StatusNotFound, "integration_not_found", "Integration not found")
			apitest.MustError(t, e.Do(t, "DELETE", base+"/"+id, key, nil), http.StatusNotFound, "integration_not_found", "Integration not found")
		})
	})
}

func TestCustomIntegrationKeys(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		appID := e.MustCreateApp(t, "App")
		appKey := apitest.KeyAuth(e.MustCreateAppKey(t, appID))
		base := "/v2/apps/" + appID + "/integrations"
		customID := createIntegration(t, e, appID, appKey, customBody("https://example.com/hook", "conversation:message"))
		otherID := createIntegration(t, e, appID, appKey, customBody("https://example.com/other", "conversation:message"))
		webID := createIntegration(t, e, appID, appKey, map[string]any{"type": "web"})

		r := e.Do(t, "POST", base+"/"+customID+"/keys", appKey, map[string]any{"displayName": "bot key"})
		e.MustJSON(t, r, http.StatusCreated, `{"key":{"id":"int_ID","displayName":"bot key","secret":"SECRET"}}`)
		var created struct{ Key struct{ ID, Secret string } }
		r.Decode(t, &created)
		intKey := apitest.Basic{ID: created.Key.ID, Secret: created.Key.Secret}

		apitest.MustError(t, e.Do(t, "POST", base+"/"+webID+"/keys", appKey, map[string]any{"displayName": "k"}), http.StatusBadRequest, "bad_request",
			"API keys are available only for custom integrations")
		apitest.MustError(t, e.Do(t, "GET", base+"/"+webID+"/keys", appKey, nil), http.StatusBadRequest, "bad_request",
			"API keys are available only for custom integrations")
		apitest.MustError(t, e.Do(t, "POST", base+"/"+customID+"/keys", appKey, map[string]any{}), http.StatusBadRequest, "bad_request",
			"should have required property 'displayName'")
		e.MustJSON(t, e.Do(t, "GET", base+"/"+customID+"/keys", e.Account(), nil), http.StatusOK,
			`{"keys":[{"id":"int_ID","displayName":"bot key","secret":"SECRET"}]}`)
		e.MustJSON(t, e.Do(t, "GET", base+"/"+customID+"/keys/"+created.Key.ID, appKey, nil), http.StatusOK,
			`{"key":{"id":"int_ID","displayName":"bot key","secret":"SECRET"}}`)
		apitest.MustError(t, e.Do(t, "GET", base+"/"+otherID+"/keys/"+created.Key.ID, appKey, nil), http.StatusNotFound, "not_found", "")

		t.Run("integration scope reaches its own webhooks only", func(t *testing.T) {
			jwtKey := token(t, jwt.SigningMethodHS256, created.Key.ID, []byte(created.Key.Secret), jwt.MapClaims{"scope": "integration"})
			for _, auth := range []apitest.Auth{intKey, jwtKey} {
				apitest.MustStatus(t, e.Do(t, "GET", base+"/"+customID+"/webhooks", auth, nil), http.StatusOK)
				apitest.MustStatus(t, e.Do(t, "GET", base+"/me/webhooks", auth, nil), http.StatusOK)
				apitest.MustStatus(t, e.Do(t, "GET", "/v2/apps/"+appID+"/users/nobody", auth, nil), http.StatusNotFound) // users: allowed
				apitest.MustError(t, e.Do(t, "GET", base+"/"+otherID+"/webhooks", auth, nil), http.StatusForbidden, "forbidden", "Forbidden")
				apitest.MustError(t, e.Do(t, "GET", base, auth, nil), http.StatusForbidden, "forbidden", "")
				apitest.MustError(t, e.Do(t, "GET", base+"/"+customID, auth, nil), http.StatusForbidden, "forbidden", "")
				apitest.MustError(t, e.Do(t, "POST", base+"/"+customID+"/keys", auth, map[string]any{"displayName": "x"}), http.StatusForbidden, "forbidden", "")
				apitest.MustError(t, e.Do(t, "GET", "/v2/apps/"+appID, auth, nil), http.StatusForbidden, "forbidden", "")
				apitest.MustError(t, e.Do(t, "GET", "/v2/apps/"+appID+"/keys", auth, nil), http.StatusForbidden, "forbidden", "")
				apitest.MustError(t, e.Do(t, "GET", "/v2/apps/"+appID+"/switchboards", auth, nil), http.StatusForbidden, "forbidden", "")
				apitest.MustStatus(t, e.Do(t, "GET", "/v2/apps/"+appID+"/conversations?filter[userId]=nobody", auth, nil), http.StatusNotFound) // conversations: allowed
			}
			other := e.MustCreateApp(t, "Other")
			apitest.MustError(t, e.Do(t, "GET", "/v2/apps/"+other+"/integrations/me/webhooks", intKey, nil), http.StatusForbidden, "forbidden", "")
			r := e.Do(t, "POST", base+"/me/webhooks", intKey, map[string]any{"target": "https://example.com/mine", "triggers": []string{"user:remove"}})
			apitest.MustStatus(t, r, http.StatusCreated)
			r = e.Do(t, "GET", base+"/"+customID+"/webhooks", appKey, nil)
			if !strings.Contains(string(r.Body), "https://example.com/mine") {
				t.Errorf("the webhook created through me is not the integration's: %s", r.Body)
			}
		})

		t.Run("at most 10 keys", func(t *testing.T) {
			for i := 1; i < 10; i++ {
				apitest.MustStatus(t, e.Do(t, "POST", base+"/"+customID+"/keys", appKey, map[string]any{"displayName": "k"}), http.StatusCreated)
			}
			apitest.MustError(t, e.Do(t, "POST", base+"/"+customID+"/keys", appKey, map[string]any{"displayName": "k"}), http.StatusBadRequest, "bad_request",
				"A custom integration can have at most 10 API keys")
		})

		t.Run("deleted keys stop working at once", func(t *testing.T) {
			apitest.MustStatus(t, e.Do(t, "DELETE", base+"/"+customID+"/keys/"+created.Key.ID, appKey, nil), http.StatusOK)
			apitest.MustError(t, e.Do(t, "GET", base+"/me/webhooks", intKey, nil), http.StatusUnauthorized, "unauthorized", "")
			apitest.MustError(t, e.Do(t, "GET", base+"/"+customID+"/keys/"+created.Key.ID, appKey, nil), http.StatusNotFound, "not_found", "")
			r := e.Do(t, "POST", base+"/"+otherID+"/keys", appKey, map[string]any{"displayName": "k"})
			var k struct{ Key struct{ ID, Secret string } }
			r.Decode(t, &k)
			other := apitest.Basic{ID: k.Key.ID, Secret: k.Key.Secret}
			apitest.MustStatus(t, e.Do(t, "GET", base+"/me/webhooks", other, nil), http.StatusOK)
			apitest.MustStatus(t, e.Do(t, "DELETE", base+"/"+otherID, appKey, nil), http.StatusOK)
			apitest.MustError(t, e.Do(t, "GET", base+"/me/webhooks", other, nil), http.StatusUnauthorized, "unauthorized", "")
			if _, err := e.Store.Key(t.Context(), k.Key.ID); sunlamp.KindOf(err) != sunlamp.KindNotFound {
				t.Errorf("the key of a deleted integration is still stored (err %v)", err)
			}
		})
	})
}
