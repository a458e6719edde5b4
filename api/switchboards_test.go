package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/sunlamp/sunlamp/internal/apitest"
)

// integrationKey creates an API key of a custom integration and returns its Basic auth.
func integrationKey(t *testing.T, e *apitest.Env, appID string, auth apitest.Auth, integrationID string) apitest.Basic {
	t.Helper()
	r := e.Do(t, "POST", "/v2/apps/"+appID+"/integrations/"+integrationID+"/keys", auth, map[string]any{"displayName": "key"})
	apitest.MustStatus(t, r, http.StatusCreated)
	var created struct{ Key struct{ ID, Secret string } }
	r.Decode(t, &created)
	return apitest.Basic{ID: created.Key.ID, Secret: created.Key.Secret}
}

// createSwitchboard creates the app's switchboard as the official client does: a POST with no body
// and no Content-Type.
func createSwitchboard(t *testing.T, e *apitest.Env, appID string, auth apitest.Auth) string {
	t.Helper()
	r := e.Do(t, "POST", "/v2/apps/"+appID+"/switchboards", auth, nil)
	apitest.MustStatus(t, r, http.StatusCreated)
	return r.JSON(t)["switchboard"].(map[string]any)["id"].(string)
}

func createSwitchboardIntegration(t *testing.T, e *apitest.Env, path string, auth apitest.Auth, body map[string]any) string {
	t.Helper()
	r := e.Do(t, "POST", path, auth, body)
	apitest.MustStatus(t, r, http.StatusCreated)
	return r.JSON(t)["switchboardIntegration"].(map[string]any)["id"].(string)
}

func TestSwitchboards(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		appID := e.MustCreateApp(t, "App")
		key := apitest.KeyAuth(e.MustCreateAppKey(t, appID))
		botID := createIntegration(t, e, appID, key, customBody("https://example.com/bot", "conversation:message"))
		agentID := createIntegration(t, e, appID, key, customBody("https://example.com/agent", "conversation:message"))
		webID := createIntegration(t, e, appID, key, map[string]any{"type": "web"})
		base := "/v2/apps/" + appID + "/switchboards"

		e.MustJSON(t, e.Do(t, "GET", base, key, nil), http.StatusOK, `{"switchboards":[]}`)
		r := e.Do(t, "POST", base, key, nil)
		e.MustJSON(t, r, http.StatusCreated, `{"switchboard":{"id":"ID","enabled":false}}`)
		sbID := r.JSON(t)["switchboard"].(map[string]any)["id"].(string)
		apitest.MustError(t, e.Do(t, "POST", base, e.Account(), nil), http.StatusBadRequest, "bad_request", "Only one switchboard can be created per app")
		e.MustJSON(t, e.Do(t, "GET", base, e.Account(), nil), http.StatusOK, `{"switchboards":[{"id":"ID","enabled":false}]}`)
		sb := base + "/" + sbID
		sis := sb + "/switchboardIntegrations"

		apitest.MustError(t, e.Do(t, "PATCH", sb, key, map[string]any{"enabled": true}), http.StatusBadRequest, "bad_request",
			"Enabled switchboard must have an associated default switchboardIntegration")
		e.MustJSON(t, e.Do(t, "GET", sis, key, nil), http.StatusOK, `{"switchboardIntegrations":[]}`)

		r = e.Do(t, "POST", sis, key, map[string]any{"name": "bot", "integrationId": botID})
		e.MustJSON(t, r, http.StatusCreated, `{"switchboardIntegration":{"id":"ID","name":"bot","integrationId":"ID","integrationType":"custom","deliverStandbyEvents":true}}`)
		botSI := r.JSON(t)["switchboardIntegration"].(map[string]any)["id"].(string)
		// integrationType links the app's only integration of the type.
		r = e.Do(t, "POST", sis, key, map[string]any{"name": "web-Widget_1", "integrationType": "web", "deliverStandbyEvents": false,
			"nextSwitchboardIntegrationId": botSI, "messageHistoryCount": 5})
		e.MustJSON(t, r, http.StatusCreated, `{"switchboardIntegration":{"id":"ID","name":"web-Widget_1","integrationId":"ID","integrationType":"web",
			"deliverStandbyEvents":false,"nextSwitchboardIntegrationId":"ID","messageHistoryCount":5}}`)
		webSI := r.JSON(t)["switchboardIntegration"].(map[string]any)
		if webSI["integrationId"] != webID || webSI["nextSwitchboardIntegrationId"] != botSI {
			t.Errorf("got %v, want integrationId %s and next %s", webSI, webID, botSI)
		}
		webSIID := webSI["id"].(string)

		for _, c := range []struct {
			body        map[string]any
			status      int
			code, title string
		}{
			{map[string]any{"integrationId": agentID}, 400, "bad_request", "should have required property 'name'"},
			{map[string]any{"name": "agent"}, 400, "bad_request", "should have required property 'integrationId' or 'integrationType'"},
			{map[string]any{"name": "agent", "integrationId": agentID, "integrationType": "custom"}, 400, "bad_request", "should have only one of 'integrationId' or 'integrationType'"},
			{map[string]any{"name": "an agent", "integrationId": agentID}, 400, "bad_request", `name should match pattern "^[A-Za-z0-9_-]+$"`},
			{map[string]any{"name": strings.Repeat("a", 129), "integrationId": agentID}, 400, "bad_request", "name should NOT be longer than 128 characters"},
			{map[string]any{"name": 7, "integrationId": agentID}, 400, "bad_request", "name should be string"},
			{map[string]any{"name": "agent", "integrationId": agentID, "messageHistoryCount": 0}, 400, "bad_request", "messageHistoryCount should be >= 1"},
			{map[string]any{"name": "agent", "integrationId": agentID, "messageHistoryCount": 11}, 400, "bad_request", "messageHistoryCount should be <= 10"},
			{map[string]any{"name": "agent", "integrationId": agentID, "deliverStandbyEvents": "yes"}, 400, "bad_request", "deliverStandbyEvents should be boolean"},
			{map[string]any{"name": "bot", "integrationId": agentID}, 400, "bad_request", "name bot is already used by another switchboard integration of the switchboard"},
			{map[string]any{"name": "agent", "integrationId": botID}, 400, "bad_request", "integrationId " + botID + " is already linked to another switchboard integration of the switchboard"},
			{map[string]any{"name": "agent", "integrationType": "custom"}, 400, "bad_request", "integrationType custom matches several integrations of the app: give integrationId instead"},
			{map[string]any{"name": "agent", "integrationId": "5e4af71a81966cfff3ef6550"}, 404, "integration_not_found", "Integration not found"},
			// An OAuth client's type the app has not authorized (zd:agentWorkspace is built in: TestSwitchboardOAuthTypes).
			{map[string]any{"name": "agent", "integrationType": "partner-bot"}, 404, "integration_not_found", "Integration not found"},
			{map[string]any{"name": "agent", "integrationId": agentID, "nextSwitchboardIntegrationId": "5e4af71a81966cfff3ef6550"}, 404, "switchboard_integration_not_found", "SwitchboardIntegration not found"},
		} {
			apitest.MustError(t, e.Do(t, "POST", sis, key, c.body), c.status, c.code, c.title)
		}

		r = e.Do(t, "PATCH", sis+"/"+webSIID, key, map[string]any{"name": "widget", "deliverStandbyEvents": true, "nextSwitchboardIntegrationId": nil, "messageHistoryCount": nil})
		e.MustJSON(t, r, http.StatusOK, `{"switchboardIntegration":{"id":"ID","name":"widget","integrationId":"ID","integrationType":"web","deliverStandbyEvents":true}}`)
		r = e.Do(t, "PATCH", sis+"/"+webSIID, key, map[string]any{"integrationId": agentID, "nextSwitchboardIntegrationId": botSI})
		e.MustJSON(t, r, http.StatusOK, `{"switchboardIntegration":{"id":"ID","name":"widget","integrationId":"ID","integrationType":"custom","deliverStandbyEvents":true,"nextSwitchboardIntegrationId":"ID"}}`)
		apitest.MustError(t, e.Do(t, "PATCH", sis+"/"+webSIID, key, map[string]any{"integrationId": agentID, "integrationType": "web"}), 400, "bad_request",
			"should have only one of 'integrationId' or 'integrationType'")
		apitest.MustError(t, e.Do(t, "PATCH", sis+"/"+webSIID, key, map[string]any{"name": "bot"}), 400, "bad_request",
			"name bot is already used by another switchboard integration of the switchboard")
		apitest.MustError(t, e.Do(t, "PATCH", sis+"/5e4af71a81966cfff3ef6550", key, map[string]any{}), 404, "switchboard_integration_not_found", "SwitchboardIntegration not found")
		e.MustJSON(t, e.Do(t, "GET", sis, key, nil), http.StatusOK, `{"switchboardIntegrations":[
			{"id":"ID","name":"bot","integrationId":"ID","integrationType":"custom","deliverStandbyEvents":true},
			{"id":"ID","name":"widget","integrationId":"ID","integrationType":"custom","deliverStandbyEvents":true,"nextSwitchboardIntegrationId":"ID"}]}`)

		apitest.MustError(t, e.Do(t, "PATCH", sb, key, map[string]any{"defaultSwitchboardIntegrationId": "5e4af71a81966cfff3ef6550"}), 404,
			"switchboard_integration_not_found", "SwitchboardIntegration not found")
		r = e.Do(t, "PATCH", sb, key, map[string]any{"enabled": true, "defaultSwitchboardIntegrationId": botSI})
		e.MustJSON(t, r, http.StatusOK, `{"switchboard":{"id":"ID","enabled":true,"defaultSwitchboardIntegrationId":"ID"}}`)
		if got := r.JSON(t)["switchboard"].(map[string]any)["defaultSwitchboardIntegrationId"]; got != botSI {
			t.Errorf("got defaultSwitchboardIntegrationId %v, want %s", got, botSI)
		}
		apitest.MustError(t, e.Do(t, "PATCH", sb, key, map[string]any{"defaultSwitchboardIntegrationId": nil}), http.StatusBadRequest, "bad_request",
			"Enabled switchboard must have an associated default switchboardIntegration")

		// The default and a next may not be deleted.
		apitest.MustError(t, e.Do(t, "DELETE", sis+"/"+botSI, key, nil), http.StatusBadRequest, "bad_request",
			"Cannot delete the default switchboard integration: set another defaultSwitchboardIntegrationId first")
		apitest.MustStatus(t, e.Do(t, "PATCH", sb, key, map[string]any{"defaultSwitchboardIntegrationId": webSIID}), http.StatusOK)
		apitest.MustError(t, e.Do(t, "DELETE", sis+"/"+botSI, key, nil), http.StatusBadRequest, "bad_request",
			"Cannot delete a switchboard integration that another one names as nextSwitchboardIntegrationId")
		apitest.MustStatus(t, e.Do(t, "PATCH", sis+"/"+webSIID, key, map[string]any{"nextSwitchboardIntegrationId": nil}), http.StatusOK)
		e.MustJSON(t, e.Do(t, "DELETE", sis+"/"+botSI, key, nil), http.StatusOK, `{}`)
		apitest.MustError(t, e.Do(t, "DELETE", sis+"/"+botSI, key, nil), 404, "switchboard_integration_not_found", "SwitchboardIntegration not found")

		t.Run("scopes", func(t *testing.T) {
			// Integration scope may not use /switchboards; another app's key learns nothing.
			intKey := integrationKey(t, e, appID, key, agentID)
			apitest.MustError(t, e.Do(t, "GET", base, intKey, nil), http.StatusForbidden, "forbidden", "Forbidden")
			apitest.MustError(t, e.Do(t, "POST", sis, intKey, map[string]any{"name": "x", "integrationId": agentID}), http.StatusForbidden, "forbidden", "Forbidden")
			otherApp := e.MustCreateApp(t, "Other")
			otherKey := apitest.KeyAuth(e.MustCreateAppKey(t, otherApp))
			apitest.MustError(t, e.Do(t, "GET", sis, otherKey, nil), http.StatusForbidden, "forbidden", "Forbidden")
			other := "/v2/apps/" + otherApp + "/switchboards"
			e.MustJSON(t, e.Do(t, "GET", other, otherKey, nil), http.StatusOK, `{"switchboards":[]}`)
			for _, c := range []struct{ method, path string }{
				{"PATCH", other + "/" + sbID}, {"DELETE", other + "/" + sbID}, {"GET", other + "/" + sbID + "/switchboardIntegrations"},
				{"POST", other + "/" + sbID + "/switchboardIntegrations"},
			} {
				apitest.MustError(t, e.Do(t, c.method, c.path, otherKey, map[string]any{"name": "x", "integrationId": agentID}), 404,
					"switchboard_not_found", "Switchboard not found")
			}
			apitest.MustError(t, e.Do(t, "PATCH", other+"/"+sbID+"/switchboardIntegrations/"+webSIID, otherKey, map[string]any{}), 404,
				"switchboard_not_found", "Switchboard not found")
		})

		t.Run("at most 10 per switchboard; deleting an integration removes its switchboard integration", func(t *testing.T) {
			var linked []string
			for i := range 9 {
				id := createIntegration(t, e, appID, key, map[string]any{"type": "web"})
				apitest.MustStatus(t, e.Do(t, "POST", sis, key, map[string]any{"name": "web" + string(rune('a'+i)), "integrationId": id}), http.StatusCreated)
				linked = append(linked, id)
			}
			id := createIntegration(t, e, appID, key, map[string]any{"type": "web"})
			apitest.MustError(t, e.Do(t, "POST", sis, key, map[string]any{"name": "eleventh", "integrationId": id}), http.StatusBadRequest,
				"too_many_switchboard_integrations", "Switchboard has reached the max number of switchboard integrations (10)")
			apitest.MustStatus(t, e.Do(t, "DELETE", "/v2/apps/"+appID+"/integrations/"+linked[3], key, nil), http.StatusOK)
			var list struct {
				SwitchboardIntegrations []struct{ Name, IntegrationID string }
			}
			e.Do(t, "GET", sis, key, nil).Decode(t, &list)
			if len(list.SwitchboardIntegrations) != 9 {
				t.Errorf("got %d switchboard integrations after deleting a linked integration, want 9", len(list.SwitchboardIntegrations))
			}
			for _, si := range list.SwitchboardIntegrations {
				if si.IntegrationID == linked[3] {
					t.Errorf("switchboard integration %s of the deleted integration is still listed", si.Name)
				}
			}
			apitest.MustStatus(t, e.Do(t, "POST", sis, key, map[string]any{"name": "eleventh", "integrationId": id}), http.StatusCreated)
		})

		e.MustJSON(t, e.Do(t, "DELETE", sb, key, nil), http.StatusOK, `{}`)
		apitest.MustError(t, e.Do(t, "DELETE", sb, key, nil), 404, "switchboard_not_found", "Switchboard not found")
		apitest.MustError(t, e.Do(t, "GET", sis, key, nil), 404, "switchboard_not_found", "Switchboard not found")
		e.MustJSON(t, e.Do(t, "GET", base, key, nil), http.StatusOK, `{"switchboards":[]}`)
		// The linked integrations stay.
		apitest.MustStatus(t, e.Do(t, "GET", "/v2/apps/"+appID+"/integrations/"+agentID, key, nil), http.StatusOK)
		apitest.MustStatus(t, e.Do(t, "POST", base, key, nil), http.StatusCreated)
		apitest.MustError(t, e.Do(t, "POST", "/v2/apps/5e4af71a81966cfff3ef6550/switchboards", e.Account(), nil), 404, "app_not_found", "App not found")
	})
}

// TestSwitchboardDeletes checks that what holds switchboard state can be deleted: conversations,
// users, linked integrations (even the default one) and the app itself.
func TestSwitchboardDeletes(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		appID := e.MustCreateApp(t, "App")
		key := apitest.KeyAuth(e.MustCreateAppKey(t, appID))
		app := "/v2/apps/" + appID
		botID := createIntegration(t, e, appID, key, customBody("https://example.com/bot", "conversation:message"))
		agentID := createIntegration(t, e, appID, key, customBody("https://example.com/agent", "conversation:message"))
		sbID := createSwitchboard(t, e, appID, key)
		sis := app + "/switchboards/" + sbID + "/switchboardIntegrations"
		botSI := createSwitchboardIntegration(t, e, sis, key, map[string]any{"name": "bot", "integrationId": botID})
		createSwitchboardIntegration(t, e, sis, key, map[string]any{"name": "agent", "integrationId": agentID})
		apitest.MustStatus(t, e.Do(t, "PATCH", app+"/switchboards/"+sbID, key, map[string]any{"enabled": true, "defaultSwitchboardIntegrationId": botSI}), http.StatusOK)

		newConversation := func(externalID string) (userID, conv string) {
			t.Helper()
			r := e.Do(t, "POST", app+"/users", key, map[string]any{"externalId": externalID})
			apitest.MustStatus(t, r, http.StatusCreated)
			userID = r.JSON(t)["user"].(map[string]any)["id"].(string)
			r = e.Do(t, "POST", app+"/conversations", key, map[string]any{"type": "sdkGroup", "participants": []any{map[string]any{"userId": userID, "subscribeSDKClient": false}}})
			apitest.MustStatus(t, r, http.StatusCreated)
			conv = app + "/conversations/" + r.JSON(t)["conversation"].(map[string]any)["id"].(string)
			apitest.MustStatus(t, e.Do(t, "POST", conv+"/offerControl", key, map[string]any{"switchboardIntegration": "agent"}), http.StatusOK)
			return userID, conv
		}
		_, conv := newConversation("a")
		apitest.MustStatus(t, e.Do(t, "DELETE", conv, key, nil), http.StatusOK)
		userID, conv := newConversation("b")
		apitest.MustStatus(t, e.Do(t, "DELETE", app+"/users/"+userID, key, nil), http.StatusOK)
		_, conv = newConversation("c")

		// Deleting the agent's integration removes the pending offer with its switchboard integration.
		apitest.MustStatus(t, e.Do(t, "DELETE", app+"/integrations/"+agentID, key, nil), http.StatusOK)
		e.MustJSON(t, e.Do(t, "GET", conv, key, nil), http.StatusOK, `{"conversation":{"id":"ID","type":"sdkGroup","isDefault":false,"lastUpdatedAt":"TIME","createdAt":"TIME",
			"activeSwitchboardIntegration":{"id":"ID","name":"bot","integrationId":"ID","integrationType":"custom"}}}`)
		// Deleting the default's integration leaves the switchboard without a default.
		apitest.MustStatus(t, e.Do(t, "DELETE", app+"/integrations/"+botID, key, nil), http.StatusOK)
		e.MustJSON(t, e.Do(t, "GET", app+"/switchboards", key, nil), http.StatusOK, `{"switchboards":[{"id":"ID","enabled":true}]}`)
		e.MustJSON(t, e.Do(t, "GET", conv, key, nil), http.StatusOK, `{"conversation":{"id":"ID","type":"sdkGroup","isDefault":false,"lastUpdatedAt":"TIME","createdAt":"TIME"}}`)

		apitest.MustStatus(t, e.Do(t, "DELETE", app, e.Account(), nil), http.StatusOK)
		apitest.MustError(t, e.Do(t, "GET", app+"/switchboards", e.Account(), nil), http.StatusNotFound, "app_not_found", "App not found")
	})
}
