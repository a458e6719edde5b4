package client_test

import (
	"context"
	"github.com/sunlamp/sunlamp/client"
	"strings"
	"testing"

	"github.com/sunlamp/sunlamp/internal/apitest"
)

func TestConversationsAndMessages(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		ctx := context.Background()
		appID := e.MustCreateApp(t, "Conversations")
		k := e.MustCreateAppKey(t, appID)
		c, _ := newClient(t, e.URL, client.Basic(k.ID, k.Secret))
		u, err := c.CreateUser(ctx, appID, client.UserCreate{ExternalID: "conv-user"})
		if err != nil {
			t.Fatal(err)
		}
		conv, err := c.CreateConversation(ctx, appID, client.ConversationCreate{Type: "personal", Participants: []client.ParticipantJoin{{UserExternalID: "conv-user"}}, DisplayName: "Support"})
		if err != nil {
			t.Fatal(err)
		}
		if conv.Type != "personal" || conv.DisplayName != "Support" || conv.CreatedAt == "" {
			t.Errorf("got %+v, want a personal conversation named Support", conv)
		}
		upd, err := c.UpdateConversation(ctx, appID, conv.ID, client.ConversationUpdate{DisplayName: client.Null[string](), Metadata: client.Set(client.Metadata{"tier": "gold"})})
		if err != nil || upd.DisplayName != "" || upd.Metadata["tier"] != "gold" {
			t.Fatalf("UpdateConversation: got %+v, %v", upd, err)
		}
		if got, err := c.GetConversation(ctx, appID, conv.ID); err != nil || got.ID != conv.ID {
			t.Fatalf("GetConversation: got %+v, %v", got, err)
		}
		var ids []string
		for cv, err := range c.Conversations(ctx, appID, client.ConversationFilter{UserID: u.ID}, client.Page{}) {
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, cv.ID)
		}
		if len(ids) != 1 || ids[0] != conv.ID {
			t.Errorf("got conversations %v, want [%s]", ids, conv.ID)
		}
		var parts []client.Participant
		for p, err := range c.Participants(ctx, appID, conv.ID, client.Page{}) {
			if err != nil {
				t.Fatal(err)
			}
			parts = append(parts, p)
		}
		if len(parts) != 1 || parts[0].UserID != u.ID {
			t.Errorf("got participants %+v, want the user", parts)
		}

		var posted []string
		for _, text := range []string{"one", "two", "three"} {
			msgs, err := c.PostMessage(ctx, appID, conv.ID, client.MessagePost{Author: client.Author{Type: "business", DisplayName: "Bot"}, Content: client.Content{Type: "text", Text: text}})
			if err != nil {
				t.Fatal(err)
			}
			if len(msgs) != 1 || msgs[0].Content.Text != text || msgs[0].Author.Type != "business" {
				t.Fatalf("PostMessage: got %+v", msgs)
			}
			posted = append(posted, msgs[0].ID)
		}
		if _, err := c.PostMessage(ctx, appID, conv.ID, client.MessagePost{Author: client.Author{Type: "user", UserExternalID: "conv-user"}, Content: client.Content{Type: "text", Text: "hi"}}); err != nil {
			t.Fatal(err)
		}
		if err := c.PostActivity(ctx, appID, conv.ID, client.ActivityPost{Author: client.Author{Type: "business"}, Type: "typing:start"}); err != nil {
			t.Errorf("PostActivity: %v", err)
		}
		if err := c.DeleteMessage(ctx, appID, conv.ID, posted[1]); err != nil {
			t.Fatal(err)
		}
		var texts []string
		for m, err := range c.Messages(ctx, appID, conv.ID, client.Page{}) {
			if err != nil {
				t.Fatal(err)
			}
			texts = append(texts, m.Content.Text)
		}
		if strings.Join(texts, ",") != "one,three,hi" && strings.Join(texts, ",") != "one,,three,hi" {
			t.Errorf("got messages %q after deleting 'two', want one, three, hi", texts)
		}
		if err := c.DeleteAllMessages(ctx, appID, conv.ID); err != nil {
			t.Fatal(err)
		}
		if l, err := c.ListMessages(ctx, appID, conv.ID, client.Page{}); err != nil || len(l.Messages) != 0 {
			t.Errorf("ListMessages after DeleteAllMessages: got %+v, %v", l, err)
		}

		// An sdkGroup conversation: join and leave.
		group, err := c.CreateConversation(ctx, appID, client.ConversationCreate{Type: "sdkGroup"})
		if err != nil {
			t.Fatal(err)
		}
		no := false
		p, err := c.JoinConversation(ctx, appID, group.ID, client.ParticipantJoin{UserID: u.ID, SubscribeSDKClient: &no})
		if err != nil || p.UserID != u.ID {
			t.Fatalf("JoinConversation: got %+v, %v", p, err)
		}
		if err := c.LeaveConversation(ctx, appID, group.ID, client.ParticipantLeave{UserExternalID: "conv-user"}); err != nil {
			t.Fatal(err)
		}
		err = c.LeaveConversation(ctx, appID, group.ID, client.ParticipantLeave{UserExternalID: "conv-user"})
		mustAPIError(t, err, 404, "not_found", "")
		if err := c.DeleteConversation(ctx, appID, group.ID); err != nil {
			t.Fatal(err)
		}
		_, err = c.GetConversation(ctx, appID, group.ID)
		mustAPIError(t, err, 404, "conversation_not_found", "Conversation not found")
	})
}

func TestIntegrationsKeysAndWebhooks(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		ctx := context.Background()
		appID := e.MustCreateApp(t, "Integrations")
		c, _ := newClient(t, e.URL, account(e))
		custom, err := c.CreateIntegration(ctx, appID, client.Integration{Type: "custom", DisplayName: "Bot",
			Webhooks: []client.Webhook{{Target: "https://example.org/hook", Triggers: []string{"conversation:message"}}}})
		if err != nil {
			t.Fatal(err)
		}
		if custom.ID == "" || custom.Type != "custom" || len(custom.Webhooks) != 1 || custom.Webhooks[0].Secret == "" {
			t.Fatalf("got %+v, want a custom integration with its webhook and secret", custom)
		}
		web, err := c.CreateIntegration(ctx, appID, client.Integration{Type: "web", DisplayName: "Web", Fields: map[string]any{"brandColor": "65758e"}})
		if err != nil {
			t.Fatal(err)
		}
		if web.Fields["brandColor"] != "65758e" {
			t.Errorf("got web fields %v, want brandColor back", web.Fields)
		}
		var types []string
		for in, err := range c.Integrations(ctx, appID, []string{"custom"}, client.Page{}) {
			if err != nil {
				t.Fatal(err)
			}
			types = append(types, in.Type)
		}
		if strings.Join(types, ",") != "custom" {
			t.Errorf("got types %v with filter custom, want [custom]", types)
		}
		upd, err := c.UpdateIntegration(ctx, appID, custom.ID, client.IntegrationUpdate{DisplayName: client.Set("Renamed")})
		if err != nil || upd.DisplayName != "Renamed" {
			t.Fatalf("UpdateIntegration: got %+v, %v", upd, err)
		}
		if got, err := c.GetIntegration(ctx, appID, custom.ID); err != nil || got.DisplayName != "Renamed" {
			t.Fatalf("GetIntegration: got %+v, %v", got, err)
		}

		key, err := c.CreateCustomIntegrationKey(ctx, appID, custom.ID, "bot key")
		if err != nil || !strings.HasPrefix(key.ID, "int_") || key.Secret == "" {
			t.Fatalf("CreateCustomIntegrationKey: got %+v, %v", key, err)
		}
		if keys, err := c.ListCustomIntegrationKeys(ctx, appID, custom.ID); err != nil || len(keys) != 1 {
			t.Fatalf("ListCustomIntegrationKeys: got %+v, %v", keys, err)
		}
		if got, err := c.GetCustomIntegrationKey(ctx, appID, custom.ID, key.ID); err != nil || got.ID != key.ID {
			t.Fatalf("GetCustomIntegrationKey: got %+v, %v", got, err)
		}
		// The integration key works with an integration-scope client.JWT, on users.
		ia, err := client.JWT(key.ID, key.Secret, client.ScopeIntegration, appID)
		if err != nil {
			t.Fatal(err)
		}
		ic, _ := newClient(t, e.URL, ia)
		if _, err := ic.CreateUser(ctx, appID, client.UserCreate{ExternalID: "via-integration"}); err != nil {
			t.Errorf("CreateUser with an integration JWT: %v", err)
		}

		// Webhooks take app and integration scopes (the spec does not list account).
		ak := e.MustCreateAppKey(t, appID)
		c, _ = newClient(t, e.URL, client.Basic(ak.ID, ak.Secret))
		wh, err := c.CreateWebhook(ctx, appID, custom.ID, client.Webhook{Target: "https://example.org/two", Triggers: []string{"conversation:create"}, IncludeFullUser: true})
		if err != nil || wh.Secret == "" || !wh.IncludeFullUser {
			t.Fatalf("CreateWebhook: got %+v, %v", wh, err)
		}
		if hooks, err := c.ListWebhooks(ctx, appID, custom.ID); err != nil || len(hooks) != 2 {
			t.Fatalf("ListWebhooks: got %+v, %v; want 2", hooks, err)
		}
		yes := true
		if got, err := c.UpdateWebhook(ctx, appID, custom.ID, wh.ID, client.WebhookUpdate{Target: "https://example.org/three", IncludeFullSource: &yes}); err != nil || got.Target != "https://example.org/three" || !got.IncludeFullSource {
			t.Fatalf("UpdateWebhook: got %+v, %v", got, err)
		}
		if got, err := c.GetWebhook(ctx, appID, custom.ID, wh.ID); err != nil || got.Target != "https://example.org/three" {
			t.Fatalf("GetWebhook: got %+v, %v", got, err)
		}
		if err := c.DeleteWebhook(ctx, appID, custom.ID, wh.ID); err != nil {
			t.Fatal(err)
		}
		_, err = c.GetWebhook(ctx, appID, custom.ID, wh.ID)
		mustAPIError(t, err, 404, "not_found", "")

		if err := c.DeleteCustomIntegrationKey(ctx, appID, custom.ID, key.ID); err != nil {
			t.Fatal(err)
		}
		if err := c.DeleteIntegration(ctx, appID, web.ID); err != nil {
			t.Fatal(err)
		}
		_, err = c.GetIntegration(ctx, appID, web.ID)
		mustAPIError(t, err, 404, "integration_not_found", "Integration not found")
	})
}

func TestAttachments(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		ctx := context.Background()
		appID := e.MustCreateApp(t, "Attachments")
		c, _ := newClient(t, e.URL, account(e))
		png := "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
		att, err := c.UploadAttachment(ctx, appID, "dot.png", strings.NewReader(png), client.UploadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if att.MediaType != "image/png" || !strings.HasSuffix(att.MediaURL, "/dot.png") {
			t.Errorf("got %+v, want an image/png at .../dot.png", att)
		}
		if err := c.DeleteAttachment(ctx, appID, att.MediaURL); err != nil {
			t.Fatal(err)
		}
		err = c.DeleteAttachment(ctx, appID, att.MediaURL)
		mustAPIError(t, err, 404, "not_found", "")
	})
}

func TestSwitchboards(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		ctx := context.Background()
		appID := e.MustCreateApp(t, "Switchboards")
		ak := e.MustCreateAppKey(t, appID)
		c, _ := newClient(t, e.URL, client.Basic(ak.ID, ak.Secret))
		bots := map[string]string{}
		for _, name := range []string{"bot", "agent"} {
			in, err := c.CreateIntegration(ctx, appID, client.Integration{Type: "custom", DisplayName: name,
				Webhooks: []client.Webhook{{Target: "https://example.org/" + name, Triggers: []string{"conversation:message"}}}})
			if err != nil {
				t.Fatal(err)
			}
			bots[name] = in.ID
		}
		sb, err := c.CreateSwitchboard(ctx, appID)
		if err != nil || sb.Enabled {
			t.Fatalf("CreateSwitchboard: got %+v, %v; want a disabled switchboard", sb, err)
		}
		sis := map[string]*client.SwitchboardIntegration{}
		for _, name := range []string{"bot", "agent"} {
			si, err := c.CreateSwitchboardIntegration(ctx, appID, sb.ID, client.SwitchboardIntegrationCreate{Name: name, IntegrationID: bots[name]})
			if err != nil {
				t.Fatal(err)
			}
			if si.IntegrationType != "custom" || si.DeliverStandbyEvents == nil || !*si.DeliverStandbyEvents {
				t.Errorf("got %+v, want type custom and deliverStandbyEvents true by default", si)
			}
			sis[name] = si
		}
		two := 2
		if si, err := c.UpdateSwitchboardIntegration(ctx, appID, sb.ID, sis["bot"].ID, client.SwitchboardIntegrationUpdate{NextSwitchboardIntegrationID: client.Set(sis["agent"].ID), MessageHistoryCount: client.Set(two)}); err != nil || si.NextSwitchboardIntegrationID != sis["agent"].ID {
			t.Fatalf("UpdateSwitchboardIntegration: got %+v, %v", si, err)
		}
		if list, err := c.ListSwitchboardIntegrations(ctx, appID, sb.ID); err != nil || len(list) != 2 {
			t.Fatalf("ListSwitchboardIntegrations: got %+v, %v", list, err)
		}
		yes := true
		if got, err := c.UpdateSwitchboard(ctx, appID, sb.ID, client.SwitchboardUpdate{Enabled: &yes, DefaultSwitchboardIntegrationID: sis["bot"].ID}); err != nil || !got.Enabled {
			t.Fatalf("UpdateSwitchboard: got %+v, %v", got, err)
		}
		if list, err := c.ListSwitchboards(ctx, appID); err != nil || len(list) != 1 || list[0].DefaultSwitchboardIntegrationID != sis["bot"].ID {
			t.Fatalf("ListSwitchboards: got %+v, %v", list, err)
		}

		if _, err := c.CreateUser(ctx, appID, client.UserCreate{ExternalID: "sb-user"}); err != nil {
			t.Fatal(err)
		}
		conv, err := c.CreateConversation(ctx, appID, client.ConversationCreate{Type: "personal", Participants: []client.ParticipantJoin{{UserExternalID: "sb-user"}}})
		if err != nil {
			t.Fatal(err)
		}
		active := func() string {
			t.Helper()
			cv, err := c.GetConversation(ctx, appID, conv.ID)
			if err != nil {
				t.Fatal(err)
			}
			if cv.ActiveSwitchboardIntegration == nil {
				return ""
			}
			return cv.ActiveSwitchboardIntegration.Name
		}
		if err := c.PassControl(ctx, appID, conv.ID, client.ControlBody{SwitchboardIntegration: "next", Metadata: client.Metadata{"reason": "human"}}); err != nil {
			t.Fatal(err)
		}
		if got := active(); got != "agent" {
			t.Errorf("got %q in control after passControl next, want agent", got)
		}
		if err := c.OfferControl(ctx, appID, conv.ID, client.ControlBody{SwitchboardIntegration: "bot"}); err != nil {
			t.Fatal(err)
		}
		if err := c.AcceptControl(ctx, appID, conv.ID, nil); err != nil {
			t.Fatal(err)
		}
		if got := active(); got != "bot" {
			t.Errorf("got %q in control after offer and accept, want bot", got)
		}
		if err := c.ReleaseControl(ctx, appID, conv.ID, nil); err != nil {
			t.Fatal(err)
		}
		if got := active(); got != "" {
			t.Errorf("got %q in control after releaseControl, want nobody", got)
		}

		no := false
		if _, err := c.UpdateSwitchboard(ctx, appID, sb.ID, client.SwitchboardUpdate{Enabled: &no}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.UpdateSwitchboardIntegration(ctx, appID, sb.ID, sis["bot"].ID, client.SwitchboardIntegrationUpdate{NextSwitchboardIntegrationID: client.Null[string]()}); err != nil {
			t.Fatal(err)
		}
		if err := c.DeleteSwitchboardIntegration(ctx, appID, sb.ID, sis["agent"].ID); err != nil {
			t.Fatal(err)
		}
		if err := c.DeleteSwitchboard(ctx, appID, sb.ID); err != nil {
			t.Fatal(err)
		}
		if list, err := c.ListSwitchboards(ctx, appID); err != nil || len(list) != 0 {
			t.Errorf("ListSwitchboards after delete: got %+v, %v", list, err)
		}
	})
}

// TestInboundThenErase has a customer write in on WhatsApp (Sunlamp's simulator), then erases them:
// the client's channel data goes, the client and the message stay.
func TestInboundThenErase(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		ctx := context.Background()
		appID := e.MustCreateApp(t, "Inbound")
		c, _ := newClient(t, e.URL, account(e))
		if _, err := c.CreateUser(ctx, appID, client.UserCreate{ExternalID: "wa-user"}); err != nil {
			t.Fatal(err)
		}
		in, err := c.Inbound(ctx, appID, client.Inbound{Channel: "whatsapp",
			User:    &client.InboundUser{ExternalID: "wa-user"},
			Client:  &client.InboundClient{ExternalID: "+15145550199", DisplayName: "Jane D.", Info: map[string]any{"city": "Montreal"}, Raw: map[string]any{"From": "+15145550199"}},
			Content: &client.Content{Type: "text", Text: "hello"}})
		if err != nil {
			t.Fatal(err)
		}
		if in.Client.DisplayName != "Jane D." || in.Conversation == nil || len(in.Messages) != 1 {
			t.Fatalf("got %+v, want the client, a conversation and the message", in)
		}
		if _, err := c.DeleteUserPersonalInformation(ctx, appID, in.User.ID); err != nil {
			t.Fatal(err)
		}
		var clients []client.UserClient
		for cl, err := range c.Clients(ctx, appID, "wa-user", client.Page{}) {
			if err != nil {
				t.Fatal(err)
			}
			clients = append(clients, cl)
		}
		if len(clients) != 1 || clients[0].DisplayName != "" || clients[0].Info != nil || clients[0].Raw != nil || clients[0].ExternalID != "+15145550199" {
			t.Errorf("got clients %+v after the erasure, want one with its externalId and no name, info or raw", clients)
		}
		var texts []string
		for m, err := range c.Messages(ctx, appID, in.Conversation.ID, client.Page{}) {
			if err != nil {
				t.Fatal(err)
			}
			texts = append(texts, m.Content.Text)
		}
		if strings.Join(texts, ",") != "hello" {
			t.Errorf("got messages %q after the erasure, want the message kept", texts)
		}
	})
}
