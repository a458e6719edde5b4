package client_test

import (
	"context"
	"testing"

	"github.com/sunlamp/sunlamp"
	"github.com/sunlamp/sunlamp/client"
	"github.com/sunlamp/sunlamp/internal/apitest"
)

func TestPostConversionEvents(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		ctx := context.Background()
		appID := e.MustCreateApp(t, "Conversions")
		k := e.MustCreateAppKey(t, appID)
		c, _ := newClient(t, e.URL, client.Basic(k.ID, k.Secret))
		wa, err := c.CreateIntegration(ctx, appID, client.Integration{Type: "whatsapp", Fields: map[string]any{
			"deploymentId": "deployment", "hsmFallbackLanguage": "en_US"}})
		if err != nil {
			t.Fatal(err)
		}
		in, err := c.Inbound(ctx, appID, client.Inbound{Channel: "whatsapp", IntegrationID: wa.ID,
			Client: &client.InboundClient{ExternalID: "+15145550100"}, Content: &client.Content{Type: "text", Text: "hi"}})
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.PostConversionEvents(ctx, appID, in.Conversation.ID, client.ConversionEventsBody{WhatsApp: &client.MetaConversionEvent{
			Payload: client.MetaConversionPayload{Data: []map[string]any{{"event_name": "Lead", "event_time": 1752161233, "action_source": "business_messaging"}}}}})
		if err != nil {
			t.Fatal(err)
		}
		if want := (client.ConversionEvents{DatasetID: sunlamp.ConversionDatasetID(wa.ID), EventsReceived: 1}); *got != want {
			t.Errorf("got %+v, want %+v", *got, want)
		}
		_, err = c.PostConversionEvents(ctx, appID, in.Conversation.ID, client.ConversionEventsBody{})
		if client.CodeOf(err) != "bad_request" {
			t.Errorf("an empty body: got %v, want bad_request", err)
		}
	})
}

func TestDownloadMessageRef(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		ctx := context.Background()
		appID := e.MustCreateApp(t, "Apple")
		k := e.MustCreateAppKey(t, appID)
		c, _ := newClient(t, e.URL, client.Basic(k.ID, k.Secret))
		apple, err := c.CreateIntegration(ctx, appID, client.Integration{Type: "apple", Fields: map[string]any{
			"businessId": "biz", "apiSecret": "secret", "mspId": "msp"}})
		if err != nil {
			t.Fatal(err)
		}
		in, err := c.Inbound(ctx, appID, client.Inbound{Channel: "apple", IntegrationID: apple.ID,
			Client: &client.InboundClient{ExternalID: "urn:mbid:1"}, Content: &client.Content{Type: "text", Text: "hi"}})
		if err != nil {
			t.Fatal(err)
		}
		rec, err := c.RecordInteractiveData(ctx, appID, client.InteractiveDataRecord{IntegrationID: apple.ID, UserID: in.User.ID,
			Content: map[string]any{"data": map[string]any{"picked": "blue"}}})
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.DownloadMessageRef(ctx, appID, in.Conversation.ID, client.DownloadMessageRefBody{UserID: in.User.ID,
			Apple: &client.AppleMessageRefs{InteractiveDataRef: rec.InteractiveDataRef}})
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != `{"data":{"picked":"blue"}}` {
			t.Errorf("got %s, want the recorded content", got)
		}
	})
}

func TestSyncUser(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		ctx := context.Background()
		appID := e.MustCreateApp(t, "Sync")
		acct := e.AccountClient(t)
		if _, err := acct.CreateZendeskUser(ctx, client.ZendeskUser{ID: "35436", Name: "Jane Doe", Email: "jane@example.com", ExternalID: "your-own-id"}); err != nil {
			t.Fatal(err)
		}
		u, err := acct.CreateUser(ctx, appID, client.UserCreate{ExternalID: "hc-jane"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := acct.LinkZendeskUser(ctx, appID, u.ID, "35436"); err != nil {
			t.Fatal(err)
		}
		got, err := acct.SyncUser(ctx, appID, "35436", client.SyncUserBody{})
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != u.ID || got.ZendeskID != "35436" || got.ExternalID != "your-own-id" || got.Profile.GivenName != "Jane" ||
			len(got.Identities) != 1 || got.Identities[0].Value != "jane@example.com" {
			t.Errorf("got %+v, want the user synced with Jane Doe", got)
		}
	})
}
