package api_test

import (
	"net/http"
	"testing"

	"github.com/sunlamp/sunlamp/internal/apitest"
)

// TestSwitchboardOAuthTypes links OAuth integrations into a switchboard by integrationType, as the
// spec and the Postman collection do: the built-in zd:agentWorkspace on any app (installed on first
// use, once), a partner's client once the app authorized it; control then passes to them.
func TestSwitchboardOAuthTypes(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		appID := e.MustCreateApp(t, "Switchboard")
		key := apitest.KeyAuth(e.MustCreateAppKey(t, appID))
		app := "/v2/apps/" + appID
		sb := createSwitchboard(t, e, appID, key)
		sis := app + "/switchboards/" + sb + "/switchboardIntegrations"

		// The Postman collection's body, with a real next.
		bot := createIntegration(t, e, appID, key, customBody("https://example.com/bot", "conversation:message"))
		botSI := createSwitchboardIntegration(t, e, sis, key, map[string]any{"name": "bot", "integrationId": bot})
		r := e.Do(t, "POST", sis, key, map[string]any{"name": "zd-agentWorkspace", "integrationType": "zd:agentWorkspace",
			"deliverStandbyEvents": true, "nextSwitchboardIntegrationId": botSI, "messageHistoryCount": 5})
		e.MustJSON(t, r, http.StatusCreated, `{"switchboardIntegration":{"id":"ID","name":"zd-agentWorkspace","integrationId":"ID",
			"integrationType":"zd:agentWorkspace","deliverStandbyEvents":true,"nextSwitchboardIntegrationId":"ID","messageHistoryCount":5}}`)
		agentSI := r.JSON(t)["switchboardIntegration"].(map[string]any)["id"].(string)
		agentIntegration := r.JSON(t)["switchboardIntegration"].(map[string]any)["integrationId"].(string)
		// Installed once: relinking by type finds the same integration.
		r = e.Do(t, "PATCH", sis+"/"+agentSI, key, map[string]any{"name": "agent", "integrationType": "zd:agentWorkspace"})
		apitest.MustStatus(t, r, http.StatusOK)
		if got := r.JSON(t)["switchboardIntegration"].(map[string]any)["integrationId"]; got != agentIntegration {
			t.Errorf("relinked to %v, want the installed %s", got, agentIntegration)
		}
		e.MustJSON(t, e.Do(t, "GET", "/_sunlamp/v1/apps/"+appID+"/oauth/integrations", key, nil), http.StatusOK,
			`{"integrations":[{"id":"`+agentIntegration+`","type":"zd:agentWorkspace","status":"active","displayName":"Zendesk Agent Workspace","webhooks":[],"createdAt":"TIME"}]}`)
		// Nothing is installed through a switchboard that does not exist.
		other := e.MustCreateApp(t, "Other")
		apitest.MustError(t, e.Do(t, "POST", "/v2/apps/"+other+"/switchboards/5d8cff3cd55b040010928b5b/switchboardIntegrations", e.Account(),
			map[string]any{"name": "agent", "integrationType": "zd:agentWorkspace"}), http.StatusNotFound, "switchboard_not_found", "Switchboard not found")
		e.MustJSON(t, e.Do(t, "GET", "/_sunlamp/v1/apps/"+other+"/oauth/integrations", e.Account(), nil), http.StatusOK, `{"integrations":[]}`)

		// A partner's client: not linkable until the app authorizes it.
		ptn := newPartner(t)
		r = e.Do(t, "POST", "/_sunlamp/v1/oauth/clients", e.Account(), map[string]any{"id": "triage-bot", "name": "Triage",
			"redirectUris": []any{ptn.URL + "/callback"}})
		apitest.MustStatus(t, r, http.StatusCreated)
		var reg struct{ Client struct{ Secret string } }
		r.Decode(t, &reg)
		apitest.MustError(t, e.Do(t, "POST", sis, key, map[string]any{"name": "triage", "integrationType": "triage-bot"}),
			http.StatusNotFound, "integration_not_found", "Integration not found")
		back := mustAuthorize(t, e, "triage-bot", "", "", e.AccountKey.ID, e.AccountKey.Secret, appID, "allow")
		r = e.Do(t, "POST", "/oauth/token", apitest.NoAuth{}, map[string]any{"code": back.Query().Get("code"), "grant_type": "authorization_code",
			"client_id": "triage-bot", "client_secret": reg.Client.Secret})
		apitest.MustStatus(t, r, http.StatusOK)
		token := apitest.Bearer(r.JSON(t)["access_token"].(string))
		triageSI := createSwitchboardIntegration(t, e, sis, key, map[string]any{"name": "triage", "integrationType": "triage-bot"})

		// Control passes to the OAuth integrations, which act with their token.
		apitest.MustStatus(t, e.Do(t, "PATCH", app+"/switchboards/"+sb, key, map[string]any{"enabled": true, "defaultSwitchboardIntegrationId": triageSI}), http.StatusOK)
		userID := mustCreate(t, e, app+"/users", "user", map[string]any{"externalId": "caller"})
		conv := mustCreate(t, e, app+"/conversations", "conversation", map[string]any{"type": "personal", "participants": []any{map[string]any{"userId": userID}}})
		r = e.Do(t, "POST", app+"/conversations/"+conv+"/passControl", token, map[string]any{"switchboardIntegration": "agent"})
		apitest.MustStatus(t, r, http.StatusOK)
		r = e.Do(t, "GET", app+"/conversations/"+conv, token, nil)
		e.MustJSON(t, r, http.StatusOK, `{"conversation":{"id":"ID","type":"personal","isDefault":true,"lastUpdatedAt":"TIME","createdAt":"TIME",
			"activeSwitchboardIntegration":{"id":"`+agentSI+`","name":"agent","integrationId":"`+agentIntegration+`","integrationType":"zd:agentWorkspace"}}}`)
		// Revoking the partner removes its switchboard integration with it.
		apitest.MustStatus(t, e.Do(t, "PATCH", app+"/switchboards/"+sb, key, map[string]any{"defaultSwitchboardIntegrationId": botSI}), http.StatusOK)
		e.MustJSON(t, e.Do(t, "DELETE", "/oauth/authorization", token, nil), http.StatusOK, `{}`)
		r = e.Do(t, "GET", sis, key, nil)
		var list struct{ SwitchboardIntegrations []struct{ Name string } }
		r.Decode(t, &list)
		if len(list.SwitchboardIntegrations) != 2 {
			t.Errorf("after the revocation: got %+v, want bot and agent", list.SwitchboardIntegrations)
		}
	})
}
