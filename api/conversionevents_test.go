package api_test

import (
	"net/http"
	"testing"

	"github.com/sunlamp/sunlamp"
	"github.com/sunlamp/sunlamp/internal/apitest"
)

// TestPostConversionEvents posts Meta conversion events for a conversation on Instagram: they are
// validated per the spec's schema, attributed to the conversation's Instagram client, answered
// with the dataset and the count, and listed as sent under /_sunlamp/v1.
func TestPostConversionEvents(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		appID := e.MustCreateApp(t, "Conversions")
		key := apitest.KeyAuth(e.MustCreateAppKey(t, appID))
		instagram := mustCreate(t, e, "/v2/apps/"+appID+"/integrations", "integration", map[string]any{"type": "instagram",
			"pageAccessToken": "token", "appId": "meta-app", "appSecret": "secret"})
		r := e.Do(t, "POST", "/_sunlamp/v1/apps/"+appID+"/inbound", key, map[string]any{
			"channel": "instagram", "integrationId": instagram, "client": map[string]any{"externalId": "igsid-1"},
			"content": map[string]any{"type": "text", "text": "do you ship to Montreal?"},
		})
		apitest.MustStatus(t, r, http.StatusCreated)
		var in struct{ Conversation struct{ ID string } }
		r.Decode(t, &in)
		conv := "/v2/apps/" + appID + "/conversations/" + in.Conversation.ID
		body := map[string]any{"instagram": map[string]any{"payload": map[string]any{"data": []any{
			map[string]any{"action_source": "business_messaging", "event_name": "Purchase", "event_time": 1752161233,
				"messaging_channel": "instagram", "custom_data": map[string]any{"currency": "CAD", "value": 42.5}},
			map[string]any{"action_source": "business_messaging", "event_name": "AddToCart", "event_time": 1752161200},
		}}}}
		r = e.Do(t, "POST", conv+"/conversionEvents", key, body)
		dataset := sunlamp.ConversionDatasetID(instagram)
		e.MustJSON(t, r, http.StatusOK, `{"conversionEvents":{"datasetId":"`+dataset+`","eventsReceived":2}}`)

		// The recorded call, with the payload as sent, for the app and for the conversation.
		want := `{"conversionEvents":[{"id":"ID","conversationId":"ID","channel":"instagram","integrationId":"ID","datasetId":"` + dataset + `",
			"eventsReceived":2,"createdAt":"TIME","payload":{"data":[
			{"action_source":"business_messaging","event_name":"Purchase","event_time":1752161233,"messaging_channel":"instagram","custom_data":{"currency":"CAD","value":42.5}},
			{"action_source":"business_messaging","event_name":"AddToCart","event_time":1752161200}]}}],"meta":{"hasMore":false}}`
		e.MustJSON(t, e.Do(t, "GET", "/_sunlamp/v1/apps/"+appID+"/conversionEvents", key, nil), http.StatusOK, want)
		e.MustJSON(t, e.Do(t, "GET", "/_sunlamp/v1"+conv[len("/v2"):]+"/conversionEvents", key, nil), http.StatusOK, want)

		for _, c := range []struct {
			name  string
			body  any
			title string
		}{
			{"no channel", map[string]any{}, "should have exactly one of 'messenger', 'instagram' or 'whatsapp'"},
			{"two channels", map[string]any{"instagram": map[string]any{"payload": map[string]any{"data": []any{}}},
				"messenger": map[string]any{"payload": map[string]any{"data": []any{}}}}, "should have exactly one of 'messenger', 'instagram' or 'whatsapp'"},
			{"null channel", map[string]any{"whatsapp": nil}, "whatsapp should be object"},
			{"no payload", map[string]any{"instagram": map[string]any{}}, "instagram should have required property 'payload'"},
			{"no data", map[string]any{"instagram": map[string]any{"payload": map[string]any{}}}, "instagram.payload should have required property 'data'"},
			{"data not an array", map[string]any{"instagram": map[string]any{"payload": map[string]any{"data": "x"}}}, "instagram.payload.data should be array"},
			{"an event not an object", map[string]any{"instagram": map[string]any{"payload": map[string]any{"data": []any{1}}}}, "instagram.payload.data[0] should be object"},
			// The conversation is on Instagram only: Messenger events cannot be attributed to anyone.
			{"another channel", map[string]any{"messenger": map[string]any{"payload": map[string]any{"data": []any{}}}},
				"The conversation has no messenger client to attribute the conversion events to"},
		} {
			t.Run(c.name, func(t *testing.T) {
				apitest.MustError(t, e.Do(t, "POST", conv+"/conversionEvents", key, c.body), http.StatusBadRequest, "bad_request", c.title)
			})
		}
		apitest.MustError(t, e.Do(t, "POST", "/v2/apps/"+appID+"/conversations/5d8cff3cd55b040010928b5b/conversionEvents", key, body),
			http.StatusNotFound, "conversation_not_found", "Conversation not found")
		apitest.MustError(t, e.Do(t, "GET", "/_sunlamp/v1/apps/"+appID+"/conversations/5d8cff3cd55b040010928b5b/conversionEvents", key, nil),
			http.StatusNotFound, "conversation_not_found", "Conversation not found")

		// They go with the conversation.
		other := e.MustCreateApp(t, "Other")
		e.MustJSON(t, e.Do(t, "GET", "/_sunlamp/v1/apps/"+other+"/conversionEvents", e.Account(), nil), http.StatusOK, `{"conversionEvents":[],"meta":{"hasMore":false}}`)
	})
}
