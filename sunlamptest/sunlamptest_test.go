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

// TestBotGetsWebhook is what a bot's test looks like: a server, an app, a webhook to the bot, a
// message, and the webhook the bot receives.
func TestBotGetsWebhook(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := sunlamptest.New(t)
	app := srv.App(t)

	got := make(chan string, 10)
	bot := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Events []struct {
				Type    string `json:"type"`
				Payload struct {
					Message struct {
						Content struct{ Text string } `json:"content"`
					} `json:"message"`
				} `json:"payload"`
			} `json:"events"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err == nil && len(body.Events) == 1 {
			got <- body.Events[0].Type + " " + body.Events[0].Payload.Message.Content.Text
		}
	}))
	t.Cleanup(bot.Close)
	_, err := app.Client.CreateIntegration(ctx, app.ID, client.Integration{Type: "custom", DisplayName: "bot",
		Webhooks: []client.Webhook{{Target: bot.URL, Triggers: []string{"conversation:message"}}}})
	if err != nil {
		t.Fatal(err)
	}
	user, err := app.Client.CreateUser(ctx, app.ID, client.UserCreate{ExternalID: "customer-1"})
	if err != nil {
		t.Fatal(err)
	}
	conv, err := app.Client.CreateConversation(ctx, app.ID, client.ConversationCreate{Type: "personal",
		Participants: []client.ParticipantJoin{{UserID: user.ID}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.Client.PostMessage(ctx, app.ID, conv.ID, client.MessagePost{
		Author: client.Author{Type: "user", UserID: user.ID}, Content: client.Content{Type: "text", Text: "hello"}}); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-got:
		if e != "conversation:message hello" {
			t.Fatalf("got webhook %q, want conversation:message hello", e)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("got no webhook within 10 s, want conversation:message")
	}
}

// TestServersAreIndependent: each server has its own data and keys; another's keys get 401.
func TestServersAreIndependent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b := sunlamptest.New(t), sunlamptest.New(t)
	appA := a.App(t)
	if _, err := b.Client.GetApp(ctx, appA.ID); client.CodeOf(err) != "app_not_found" {
		t.Fatalf("another server's app: got %v, want app_not_found", err)
	}
	other, err := client.New(b.URL, client.Basic(appA.Key.ID, appA.Key.Secret))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.GetApp(ctx, appA.ID); client.StatusOf(err) != http.StatusUnauthorized {
		t.Fatalf("another server's key: got %v, want 401", err)
	}
}

// BenchmarkNew measures how long a test waits for its server.
func BenchmarkNew(b *testing.B) {
	for b.Loop() {
		sunlamptest.New(b)
	}
}
