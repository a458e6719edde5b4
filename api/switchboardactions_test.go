package api_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/sunlamp/sunlamp/internal/apitest"
	"github.com/sunlamp/sunlamp/internal/webhooktest"
)

var switchboardTriggers = []string{"conversation:create", "conversation:message",
	"switchboard:passControl", "switchboard:passControl:failure", "switchboard:offerControl", "switchboard:offerControl:failure",
	"switchboard:acceptControl", "switchboard:acceptControl:failure", "switchboard:releaseControl"}

// seen is what a receiver got since the last call: "type" for switchboard events, "type@NAME" for
// conversation events with NAME in control, "message:TEXT@NAME" for messages. Every body is validated against the spec's webhook schemas.
type seen struct {
	rc   *webhooktest.Receiver
	next int
}

func (s *seen) take(t *testing.T) []string {
	t.Helper()
	all := s.rc.All()
	var out []string
	for _, g := range all[s.next:] {
		webhooktest.ValidateBody(t, g.Body)
		if !strings.HasPrefix(g.EventType, "conversation:") {
			out = append(out, g.EventType)
			continue
		}
		p := g.Payload(t)
		name := g.EventType
		if g.EventType == "conversation:message" {
			name = "message:" + p["message"].(map[string]any)["content"].(map[string]any)["text"].(string)
		}
		if active, ok := p["conversation"].(map[string]any)["activeSwitchboardIntegration"].(map[string]any); ok {
			name += "@" + active["name"].(string)
		}
		out = append(out, name)
	}
	s.next = len(all)
	return out
}

// lastPayload returns the payload of the last event the receiver got, as JSON with ids normalised.
func (s *seen) lastPayload(t *testing.T, e *apitest.Env) string {
	t.Helper()
	all := s.rc.All()
	if len(all) == 0 {
		t.Fatal("no deliveries")
	}
	b, err := json.Marshal(all[len(all)-1].Payload(t))
	if err != nil {
		t.Fatal(err)
	}
	return e.Normalize(t, b)
}

// TestSwitchboardHandoff drives a bot → agent → bot handoff over HTTP, with both integrations
// calling the actions with their own keys, and checks who is in control in the conversation and
// which webhooks receive which events.
func TestSwitchboardHandoff(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		appID := e.MustCreateApp(t, "App")
		key := apitest.KeyAuth(e.MustCreateAppKey(t, appID))
		app := "/v2/apps/" + appID
		botRC, agentRC, otherRC := webhooktest.NewReceiver(t, nil), webhooktest.NewReceiver(t, nil), webhooktest.NewReceiver(t, nil)
		botID := createIntegration(t, e, appID, key, customBody(botRC.URL, switchboardTriggers...))
		agentID := createIntegration(t, e, appID, key, customBody(agentRC.URL, switchboardTriggers...))
		createIntegration(t, e, appID, key, customBody(otherRC.URL, switchboardTriggers...)) // not linked: gets everything
		botKey, agentKey := integrationKey(t, e, appID, key, botID), integrationKey(t, e, appID, key, agentID)
		bot, agent, other := &seen{rc: botRC}, &seen{rc: agentRC}, &seen{rc: otherRC}

		sbID := createSwitchboard(t, e, appID, key)
		sis := app + "/switchboards/" + sbID + "/switchboardIntegrations"
		agentSI := createSwitchboardIntegration(t, e, sis, key, map[string]any{"name": "agent", "integrationId": agentID, "deliverStandbyEvents": false})
		botSI := createSwitchboardIntegration(t, e, sis, key, map[string]any{"name": "bot", "integrationId": botID, "deliverStandbyEvents": false,
			"nextSwitchboardIntegrationId": agentSI})
		apitest.MustStatus(t, e.Do(t, "PATCH", sis+"/"+agentSI, key, map[string]any{"nextSwitchboardIntegrationId": botSI}), http.StatusOK)

		r := e.Do(t, "POST", app+"/users", key, map[string]any{"externalId": "u1"})
		apitest.MustStatus(t, r, http.StatusCreated)
		userID := r.JSON(t)["user"].(map[string]any)["id"].(string)
		// Before the switchboard is enabled, nobody is in control.
		r = e.Do(t, "POST", app+"/conversations", key, map[string]any{"type": "personal", "participants": []any{map[string]any{"userId": userID}}})
		e.MustJSON(t, r, http.StatusCreated, `{"conversation":{"id":"ID","type":"personal","isDefault":true,"lastUpdatedAt":"TIME","createdAt":"TIME"}}`)
		before := r.JSON(t)["conversation"].(map[string]any)["id"].(string)
		d := newDispatcher(e)
		check := func(step string, wantBot, wantAgent, wantOther []string) {
			t.Helper()
			deliverDue(t, d)
			for _, c := range []struct {
				name string
				s    *seen
				want []string
			}{{"bot", bot, wantBot}, {"agent", agent, wantAgent}, {"unlinked", other, wantOther}} {
				if got := c.s.take(t); !slices.Equal(got, c.want) {
					t.Errorf("%s: %s webhook got %q, want %q", step, c.name, got, c.want)
				}
			}
		}
		check("before enabling", []string{"conversation:create"}, []string{"conversation:create"}, []string{"conversation:create"})

		apitest.MustStatus(t, e.Do(t, "PATCH", app+"/switchboards/"+sbID, key, map[string]any{"enabled": true, "defaultSwitchboardIntegrationId": botSI}), http.StatusOK)
		r = e.Do(t, "POST", app+"/conversations", key, map[string]any{"type": "personal", "participants": []any{map[string]any{"userId": userID}}})
		e.MustJSON(t, r, http.StatusCreated, `{"conversation":{"id":"ID","type":"personal","isDefault":false,"lastUpdatedAt":"TIME","createdAt":"TIME",
			"activeSwitchboardIntegration":{"id":"ID","name":"bot","integrationId":"ID","integrationType":"custom"}}}`)
		convID := r.JSON(t)["conversation"].(map[string]any)["id"].(string)
		conv := app + "/conversations/" + convID
		// A conversation that existed before the switchboard was enabled is the default's too.
		r = e.Do(t, "GET", app+"/conversations?filter[userId]="+userID, key, nil)
		var list struct {
			Conversations []struct {
				ID                           string
				ActiveSwitchboardIntegration struct{ ID, IntegrationID string }
			}
		}
		r.Decode(t, &list)
		if len(list.Conversations) != 2 || list.Conversations[0].ID != before || list.Conversations[0].ActiveSwitchboardIntegration.ID != botSI ||
			list.Conversations[1].ActiveSwitchboardIntegration.IntegrationID != botID {
			t.Errorf("got conversations %+v, want both with the bot in control", list.Conversations)
		}

		say := func(text string) {
			t.Helper()
			apitest.MustStatus(t, e.Do(t, "POST", conv+"/messages", key, map[string]any{"author": map[string]any{"type": "user", "userId": userID},
				"content": map[string]any{"type": "text", "text": text}}), http.StatusCreated)
		}
		// The bot is in control: the agent, on standby without standby events, hears nothing.
		say("hi")
		check("bot in control", []string{"conversation:create@bot", "message:hi@bot"}, nil,
			[]string{"conversation:create@bot", "message:hi@bot"})

		// The bot hands over to its next, the agent. Switchboard events go to every integration.
		apitest.MustError(t, e.Do(t, "POST", conv+"/releaseControl", agentKey, nil), http.StatusForbidden, "forbidden", "Forbidden")
		e.MustJSON(t, e.Do(t, "POST", conv+"/passControl", botKey, map[string]any{"switchboardIntegration": "next", "metadata": map[string]any{"reason": "human please", "n": 1}}),
			http.StatusOK, `{}`)
		e.MustJSON(t, e.Do(t, "GET", conv, agentKey, nil), http.StatusOK, `{"conversation":{"id":"ID","type":"personal","isDefault":false,"lastUpdatedAt":"TIME","createdAt":"TIME",
			"activeSwitchboardIntegration":{"id":"ID","name":"agent","integrationId":"ID","integrationType":"custom"}}}`)
		say("I need a human")
		check("agent in control", []string{"switchboard:passControl"}, []string{"switchboard:passControl", "message:I need a human@agent"},
			[]string{"switchboard:passControl", "message:I need a human@agent"})
		if got, want := bot.lastPayload(t, e), e.Normalize(t, []byte(`{"conversation":{"id":"ID","type":"personal",
			"activeSwitchboardIntegration":{"id":"ID","name":"agent","integrationId":"ID","integrationType":"custom"}},
			"metadata":{"reason":"human please","n":1}}`)); got != want {
			t.Errorf("switchboard:passControl payload:\n%s\nwant:\n%s", got, want)
		}

		// The agent offers control back to the bot by name; only the bot may accept it.
		apitest.MustStatus(t, e.Do(t, "POST", conv+"/offerControl", agentKey, map[string]any{"switchboardIntegration": "bot"}), http.StatusOK)
		e.MustJSON(t, e.Do(t, "GET", conv, key, nil), http.StatusOK, `{"conversation":{"id":"ID","type":"personal","isDefault":false,"lastUpdatedAt":"TIME","createdAt":"TIME",
			"activeSwitchboardIntegration":{"id":"ID","name":"agent","integrationId":"ID","integrationType":"custom"},
			"pendingSwitchboardIntegration":{"id":"ID","name":"bot","integrationId":"ID","integrationType":"custom"}}}`)
		apitest.MustError(t, e.Do(t, "POST", conv+"/acceptControl", agentKey, map[string]any{}), http.StatusForbidden, "forbidden", "Forbidden")
		check("offered", []string{"switchboard:offerControl"}, []string{"switchboard:offerControl"}, []string{"switchboard:offerControl"})
		if got, want := agent.lastPayload(t, e), e.Normalize(t, []byte(`{"conversation":{"id":"ID","type":"personal",
			"activeSwitchboardIntegration":{"id":"ID","name":"agent","integrationId":"ID","integrationType":"custom"},
			"pendingSwitchboardIntegration":{"id":"ID","name":"bot","integrationId":"ID","integrationType":"custom"}}}`)); got != want {
			t.Errorf("switchboard:offerControl payload:\n%s\nwant:\n%s", got, want)
		}
		apitest.MustStatus(t, e.Do(t, "POST", conv+"/acceptControl", botKey, map[string]any{"metadata": map[string]any{"ok": true}}), http.StatusOK)
		say("thanks")
		check("bot again", []string{"switchboard:acceptControl", "message:thanks@bot"}, []string{"switchboard:acceptControl"},
			[]string{"switchboard:acceptControl", "message:thanks@bot"})
		if got, want := agent.lastPayload(t, e), e.Normalize(t, []byte(`{"conversation":{"id":"ID","type":"personal",
			"activeSwitchboardIntegration":{"id":"ID","name":"bot","integrationId":"ID","integrationType":"custom"}},"metadata":{"ok":true}}`)); got != want {
			t.Errorf("switchboard:acceptControl payload:\n%s\nwant:\n%s", got, want)
		}

		// Failures are answered and sent as :failure events.
		apitest.MustError(t, e.Do(t, "POST", conv+"/offerControl", key, map[string]any{"switchboardIntegration": botSI, "metadata": map[string]any{"try": 1}}),
			http.StatusBadRequest, "bad_request", "Cannot offer control to the active switchboard integration.")
		apitest.MustError(t, e.Do(t, "POST", conv+"/acceptControl", key, map[string]any{}),
			http.StatusBadRequest, "bad_request", "There is no pendingSwitchboardIntegration")
		apitest.MustError(t, e.Do(t, "POST", conv+"/passControl", key, map[string]any{"switchboardIntegration": "nobody"}),
			http.StatusBadRequest, "bad_request", "switchboardIntegration nobody matches no switchboard integration by id, name or integrationType")
		check("failures", []string{"switchboard:offerControl:failure", "switchboard:acceptControl:failure", "switchboard:passControl:failure"}, []string{"switchboard:offerControl:failure", "switchboard:acceptControl:failure", "switchboard:passControl:failure"},
			[]string{"switchboard:offerControl:failure", "switchboard:acceptControl:failure", "switchboard:passControl:failure"})
		all := otherRC.All()
		offerFailure, err := json.Marshal(all[len(all)-3].Payload(t))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := e.Normalize(t, offerFailure), e.Normalize(t, []byte(`{"conversation":{"id":"ID","type":"personal",
			"activeSwitchboardIntegration":{"id":"ID","name":"bot","integrationId":"ID","integrationType":"custom"}},"metadata":{"try":1},
			"error":{"code":"switchboard_invalid_target","message":"Cannot offer control to the active switchboard integration."}}`)); got != want {
			t.Errorf("switchboard:offerControl:failure payload:\n%s\nwant:\n%s", got, want)
		}

		// Released, nobody is in control: integrations without standby events hear nothing, until
		// the user's next message gives control to the default again.
		apitest.MustError(t, e.Do(t, "POST", conv+"/releaseControl", agentKey, nil), http.StatusForbidden, "forbidden", "Forbidden")
		apitest.MustStatus(t, e.Do(t, "POST", conv+"/releaseControl", botKey, nil), http.StatusOK)
		released := `{"conversation":{"id":"ID","type":"personal","isDefault":false,"lastUpdatedAt":"TIME","createdAt":"TIME"}}`
		e.MustJSON(t, e.Do(t, "GET", conv, key, nil), http.StatusOK, released)
		check("released", []string{"switchboard:releaseControl"}, []string{"switchboard:releaseControl"}, []string{"switchboard:releaseControl"})
		if got, want := bot.lastPayload(t, e), e.Normalize(t, []byte(`{"conversation":{"id":"ID","type":"personal"}}`)); got != want {
			t.Errorf("switchboard:releaseControl payload:\n%s\nwant:\n%s", got, want)
		}
		apitest.MustStatus(t, e.Do(t, "POST", conv+"/messages", agentKey, map[string]any{"author": map[string]any{"type": "business"},
			"content": map[string]any{"type": "text", "text": "bye"}}), http.StatusCreated)
		check("business message after release", nil, nil, []string{"message:bye"})
		e.MustJSON(t, e.Do(t, "GET", conv, key, nil), http.StatusOK, released)
		say("anyone?")
		check("user message after release", []string{"message:anyone?@bot"}, nil, []string{"message:anyone?@bot"})
		e.MustJSON(t, e.Do(t, "GET", conv, key, nil), http.StatusOK, `{"conversation":{"id":"ID","type":"personal","isDefault":false,"lastUpdatedAt":"TIME","createdAt":"TIME",
			"activeSwitchboardIntegration":{"id":"ID","name":"bot","integrationId":"ID","integrationType":"custom"}}}`)

		// A standby integration with standby events hears everything.
		apitest.MustStatus(t, e.Do(t, "PATCH", sis+"/"+agentSI, key, map[string]any{"deliverStandbyEvents": true}), http.StatusOK)
		apitest.MustStatus(t, e.Do(t, "POST", conv+"/passControl", key, map[string]any{"switchboardIntegration": "bot"}), http.StatusOK)
		say("standby")
		check("standby events", []string{"switchboard:passControl", "message:standby@bot"}, []string{"switchboard:passControl", "message:standby@bot"},
			[]string{"switchboard:passControl", "message:standby@bot"})

		// A disabled switchboard routes nothing: every integration gets every event.
		apitest.MustStatus(t, e.Do(t, "PATCH", sis+"/"+agentSI, key, map[string]any{"deliverStandbyEvents": false}), http.StatusOK)
		apitest.MustStatus(t, e.Do(t, "PATCH", app+"/switchboards/"+sbID, key, map[string]any{"enabled": false}), http.StatusOK)
		say("disabled")
		check("disabled", []string{"message:disabled@bot"}, []string{"message:disabled@bot"}, []string{"message:disabled@bot"})
	})
}

// TestSwitchboardActionRules covers the target resolution of pass and offer, the body rules, and
// the refusals of the actions.
func TestSwitchboardActionRules(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		appID := e.MustCreateApp(t, "App")
		key := apitest.KeyAuth(e.MustCreateAppKey(t, appID))
		app := "/v2/apps/" + appID
		botID := createIntegration(t, e, appID, key, customBody("https://example.com/bot", "conversation:message"))
		agentID := createIntegration(t, e, appID, key, customBody("https://example.com/agent", "conversation:message"))
		webID := createIntegration(t, e, appID, key, map[string]any{"type": "web"})
		r := e.Do(t, "POST", app+"/conversations", key, map[string]any{"type": "sdkGroup"})
		apitest.MustStatus(t, r, http.StatusCreated)
		conv := app + "/conversations/" + r.JSON(t)["conversation"].(map[string]any)["id"].(string)

		apitest.MustError(t, e.Do(t, "POST", app+"/conversations/5e4af71a81966cfff3ef6550/passControl", key, map[string]any{"switchboardIntegration": "bot"}),
			http.StatusNotFound, "conversation_not_found", "Conversation not found")
		apitest.MustError(t, e.Do(t, "POST", conv+"/releaseControl", key, nil), http.StatusNotFound, "switchboard_not_found", "Switchboard not found")

		sbID := createSwitchboard(t, e, appID, key)
		sis := app + "/switchboards/" + sbID + "/switchboardIntegrations"
		botSI := createSwitchboardIntegration(t, e, sis, key, map[string]any{"name": "bot", "integrationId": botID})
		agentSI := createSwitchboardIntegration(t, e, sis, key, map[string]any{"name": "agent", "integrationId": agentID})
		// A switchboard integration whose name is another's id: the id wins.
		webSI := createSwitchboardIntegration(t, e, sis, key, map[string]any{"name": agentSI, "integrationId": webID})

		active := func() string {
			t.Helper()
			c := e.Do(t, "GET", conv, key, nil).JSON(t)["conversation"].(map[string]any)
			a, ok := c["activeSwitchboardIntegration"].(map[string]any)
			if !ok {
				return ""
			}
			return a["id"].(string)
		}
		for _, c := range []struct{ target, want string }{
			{botSI, botSI}, {agentSI, agentSI}, {"bot", botSI}, {"web", webSI},
		} {
			apitest.MustStatus(t, e.Do(t, "POST", conv+"/passControl", key, map[string]any{"switchboardIntegration": c.target}), http.StatusOK)
			if got := active(); got != c.want {
				t.Errorf("passControl to %q: got %s active, want %s", c.target, got, c.want)
			}
		}
		apitest.MustError(t, e.Do(t, "POST", conv+"/passControl", key, map[string]any{"switchboardIntegration": "custom"}), http.StatusBadRequest, "bad_request",
			"switchboardIntegration custom is ambiguous: several switchboard integrations have that integrationType; give an id or a name")
		apitest.MustError(t, e.Do(t, "POST", conv+"/passControl", key, map[string]any{"switchboardIntegration": "next"}), http.StatusBadRequest, "bad_request",
			"switchboardIntegration next names no switchboard integration: the active one has no nextSwitchboardIntegrationId")
		apitest.MustStatus(t, e.Do(t, "PATCH", sis+"/"+webSI, key, map[string]any{"nextSwitchboardIntegrationId": botSI}), http.StatusOK)
		apitest.MustStatus(t, e.Do(t, "POST", conv+"/offerControl", key, map[string]any{"switchboardIntegration": "next"}), http.StatusOK)
		if got := active(); got != webSI {
			t.Errorf("after offerControl: got %s active, want %s unchanged", got, webSI)
		}
		// A new offer cancels the earlier one.
		apitest.MustStatus(t, e.Do(t, "POST", conv+"/offerControl", key, map[string]any{"switchboardIntegration": "agent"}), http.StatusOK)
		apitest.MustStatus(t, e.Do(t, "POST", conv+"/acceptControl", key, map[string]any{}), http.StatusOK)
		if got := active(); got != agentSI {
			t.Errorf("after acceptControl: got %s active, want the last offered %s", got, agentSI)
		}

		for _, c := range []struct {
			action string
			body   any
			title  string
		}{
			{"passControl", nil, "should have required property 'switchboardIntegration'"},
			{"offerControl", map[string]any{"switchboardIntegration": nil}, "should have required property 'switchboardIntegration'"},
			{"passControl", map[string]any{"switchboardIntegration": ""}, "switchboardIntegration should NOT be shorter than 1 characters"},
			{"passControl", map[string]any{"switchboardIntegration": 3}, "switchboardIntegration should be string"},
			{"releaseControl", map[string]any{"metadata": map[string]any{"nested": map[string]any{}}}, "metadata.nested should be a string, number or boolean: Switchboard action metadata is a flat object"},
			{"acceptControl", "{", "Malformed JSON body"},
		} {
			apitest.MustError(t, e.Do(t, "POST", conv+"/"+c.action, key, c.body), http.StatusBadRequest, "bad_request", c.title)
		}

		// Another app's key reaches nothing of this app.
		otherApp := e.MustCreateApp(t, "Other")
		otherKey := apitest.KeyAuth(e.MustCreateAppKey(t, otherApp))
		apitest.MustError(t, e.Do(t, "POST", conv+"/releaseControl", otherKey, nil), http.StatusForbidden, "forbidden", "Forbidden")
		apitest.MustError(t, e.Do(t, "POST", "/v2/apps/"+otherApp+"/conversations/"+conv[len(app+"/conversations/"):]+"/releaseControl", otherKey, nil),
			http.StatusNotFound, "conversation_not_found", "Conversation not found")

		// Deleting the switchboard integration in control hands the conversation back to the default.
		apitest.MustStatus(t, e.Do(t, "PATCH", app+"/switchboards/"+sbID, key, map[string]any{"enabled": true, "defaultSwitchboardIntegrationId": botSI}), http.StatusOK)
		apitest.MustStatus(t, e.Do(t, "DELETE", sis+"/"+agentSI, key, nil), http.StatusOK)
		if got := active(); got != botSI {
			t.Errorf("after deleting the active switchboard integration: got %q active, want the default %s", got, botSI)
		}
		// Deleting the switchboard leaves nobody in control.
		apitest.MustStatus(t, e.Do(t, "DELETE", app+"/switchboards/"+sbID, key, nil), http.StatusOK)
		if got := active(); got != "" {
			t.Errorf("after deleting the switchboard: got %s active, want none", got)
		}
	})
}
