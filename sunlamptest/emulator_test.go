package sunlamptest_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sunlamp/sunlamp/client"
	"github.com/sunlamp/sunlamp/sunlamptest"
)

// TestEmulator drives the emulator controls through the Go client: a fault the client retries
// through, a webhook that fails and is retried when the clock moves (seen in the recorder), a
// reset, and a snapshot loaded into another server.
func TestEmulator(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := sunlamptest.New(t)
	app := srv.App(t)

	var calls atomic.Int64
	bot := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable) // the bot is down for the first one
		}
	}))
	t.Cleanup(bot.Close)
	if _, err := app.Client.CreateIntegration(ctx, app.ID, client.Integration{Type: "custom",
		Webhooks: []client.Webhook{{Target: bot.URL, Triggers: []string{"conversation:message"}}}}); err != nil {
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

	// A 429 on PostMessage, which the client retries.
	zero := 0
	if _, err := srv.Client.CreateFault(ctx, app.ID, client.Fault{OperationID: "PostMessage", Status: 429, Count: 1, RetryAfter: &zero}); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Client.PostMessage(ctx, app.ID, conv.ID, client.MessagePost{
		Author: client.Author{Type: "user", UserID: user.ID}, Content: client.Content{Type: "text", Text: "hello"}}); err != nil {
		t.Fatalf("PostMessage through a 429: %v", err)
	}
	faults, err := srv.Client.ListFaults(ctx, app.ID)
	if err != nil || len(faults) != 1 || faults[0].Fired != 1 {
		t.Fatalf("got faults %+v (%v), want one fired once", faults, err)
	}

	// The webhook failed once; a minute later by the clock it is delivered.
	deliveries := func(n int) []client.Delivery {
		deadline := time.Now().Add(10 * time.Second)
		for {
			l, err := srv.Client.ListDeliveries(ctx, app.ID, client.DeliveryFilter{}, client.Page{})
			if err != nil {
				t.Fatal(err)
			}
			if len(l.Deliveries) >= n || time.Now().After(deadline) {
				return l.Deliveries
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if d := deliveries(1); len(d) != 1 || d[0].Outcome != "retry" {
		t.Fatalf("got deliveries %+v, want one to retry", d)
	}
	srv.Advance(t, time.Minute)
	if d := deliveries(2); len(d) != 2 || d[1].Outcome != "delivered" || d[1].EventID != d[0].EventID {
		t.Fatalf("got deliveries %+v, want the retry delivered", d)
	}

	// A snapshot, loaded into another server, comes out the same.
	doc, err := srv.Client.GetSnapshot(ctx, app.ID)
	if err != nil {
		t.Fatal(err)
	}
	other := sunlamptest.New(t)
	if _, err := other.Client.LoadSnapshot(ctx, doc); err != nil {
		t.Fatal(err)
	}
	if again, err := other.Client.GetSnapshot(ctx, app.ID); err != nil || !bytes.Equal(doc, again) {
		t.Errorf("the snapshot did not round-trip (%v)", err)
	}

	// A reset leaves the app and its configuration.
	srv.Reset(t, app)
	if _, err := app.Client.GetUser(ctx, app.ID, "customer-1"); client.CodeOf(err) != "user_not_found" {
		t.Errorf("got %v for a user after the reset, want user_not_found", err)
	}
	if l, err := app.Client.ListIntegrations(ctx, app.ID, nil, client.Page{}); err != nil || len(l.Integrations) != 1 {
		t.Errorf("got integrations %+v (%v) after the reset, want the webhook's", l, err)
	}
}
