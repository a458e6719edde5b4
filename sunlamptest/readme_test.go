package sunlamptest_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sunlamp/sunlamp/client"
	"github.com/sunlamp/sunlamp/sunlamptest"
)

// echoBot is the bot of the README's example: it answers each customer's message with "You said: "
// and the text, through the API at base with key.
func echoBot(base string, key sunlamptest.Key) http.Handler {
	api, _ := client.New(base, client.Basic(key.ID, key.Secret))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			App    struct{ ID string } `json:"app"`
			Events []struct {
				Payload struct {
					Conversation struct{ ID string } `json:"conversation"`
					Message      client.Message      `json:"message"`
				} `json:"payload"`
			} `json:"events"`
		}
		if json.NewDecoder(r.Body).Decode(&body) != nil || len(body.Events) == 0 || body.Events[0].Payload.Message.Author.Type != "user" {
			return
		}
		p := body.Events[0].Payload
		_, _ = api.PostMessage(r.Context(), body.App.ID, p.Conversation.ID, client.MessagePost{Author: client.Author{Type: "business"},
			Content: client.Content{Type: "text", Text: "You said: " + p.Message.Content.Text}})
	})
}

// TestBotAnswers is the README's example of a bot's test (in "Emulator controls").
func TestBotAnswers(t *testing.T) {
	ctx := context.Background()
	srv := sunlamptest.New(t)                            // a whole Sunlamp on a loopback port, emulator on, gone when the test ends
	app := srv.App(t)                                    // an app, an app key, a client with that key
	bot := httptest.NewServer(echoBot(srv.URL, app.Key)) // the bot under test, told Sunlamp's URL
	t.Cleanup(bot.Close)
	app.Client.CreateIntegration(ctx, app.ID, client.Integration{Type: "custom",
		Webhooks: []client.Webhook{{Target: bot.URL, Triggers: []string{"conversation:message"}}}})
	in, _ := app.Client.Inbound(ctx, app.ID, client.Inbound{Channel: "whatsapp", // a customer writes in
		Client: &client.InboundClient{ExternalID: "+15145550100"}, Content: &client.Content{Type: "text", Text: "hi"}})
	waitForMessage(t, app, in.Conversation.ID, "You said: hi")
}

// waitForMessage waits until the conversation holds a message with text.
func waitForMessage(t *testing.T, app sunlamptest.App, convID, text string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		l, err := app.Client.ListMessages(context.Background(), app.ID, convID, client.Page{})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range l.Messages {
			if m.Content.Text == text {
				return
			}
		}
	}
	t.Fatalf("no message %q within 10 s", text)
}
