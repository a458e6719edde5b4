package api

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/sunlamp/sunlamp"
)

// This file renders the payloads of webhook events (the spec's x-webhooks EventWebhooks,
// events[].payload) from the sunlamp.EventData snapshot an outbox event carries. Rendering happens
// at each delivery attempt, so that a user's data erased from the outbox is never sent afterwards.

// EventRenderer returns the webhook dispatcher's RenderFunc: RenderEventPayload, with the author of
// a conversation:message event read from users at the time of the attempt (the event's snapshot
// holds the message, not its author), so that the author carries its externalId, name and avatar
// as the spec's example shows — and nothing once the user is erased or deleted.
func EventRenderer(users sunlamp.UserStore) func(ev sunlamp.Event, wh sunlamp.Webhook) (json.RawMessage, error) {
	return func(ev sunlamp.Event, wh sunlamp.Webhook) (json.RawMessage, error) {
		if ev.Type != "conversation:message" || ev.UserID == "" {
			return RenderEventPayload(ev, wh)
		}
		data := ev.Data
		if data.User != nil || data.Message == nil || data.Message.Author.UserID != ev.UserID {
			return RenderEventPayload(ev, wh)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		u, err := users.User(ctx, ev.AppID, ev.UserID)
		switch {
		case sunlamp.KindOf(err) == sunlamp.KindNotFound:
			return RenderEventPayload(ev, wh) // deleted: the author is its id alone
		case err != nil:
			return nil, fmt.Errorf("render %s event: read author: %w", ev.Type, err)
		}
		if u.ID != ev.UserID { // the id matched another user's externalId
			return RenderEventPayload(ev, wh)
		}
		data.User = &u
		if wh.IncludeFullSource && data.Message.Source.Type != "" && data.Message.Source.Type != sunlamp.SourceAPI {
			// The client and device the message came through, as they are now (erasure clears them).
			srcType := data.Message.Source.Type
			if sdkSourceTypes[srcType] { // the SDKs' messages come from their sdk client
				srcType = sunlamp.ClientTypeSDK
			}
			c, d, err := users.MessageSource(ctx, ev.AppID, u.ID, srcType, data.Message.Source.IntegrationID)
			switch {
			case err == nil:
				data.Client, data.Device = &c, d
			case sunlamp.KindOf(err) != sunlamp.KindNotFound:
				return nil, fmt.Errorf("render %s event: read source: %w", ev.Type, err)
			}
		}
		ev.Data = data
		return RenderEventPayload(ev, wh)
	}
}

// RenderEventPayload returns the payload of ev as webhook wh receives it: users truncated
// ({id, externalId, authenticated, ...}) unless wh.IncludeFullUser, and sources without their
// client and device unless wh.IncludeFullSource. It is the webhook dispatcher's RenderFunc.
func RenderEventPayload(ev sunlamp.Event, wh sunlamp.Webhook) (json.RawMessage, error) {
	data := ev.Data
	r := eventRenderer{data: data, fullUser: wh.IncludeFullUser, fullSource: wh.IncludeFullSource}
	p := map[string]any{}
	if data.Conversation != nil {
		if strings.HasPrefix(ev.Type, "switchboard:") {
			p["conversation"] = switchboardConversationOut(*data.Conversation, data.Switchboard)
		} else {
			c := conversationTruncatedOut(*data.Conversation)
			c.ActiveSwitchboardIntegration = switchboardRefOut(data.Switchboard.Active)
			c.PendingSwitchboardIntegration = switchboardRefOut(data.Switchboard.Pending)
			p["conversation"] = c
		}
	}
	switch ev.Type {
	case "conversation:message", "conversation:read", "conversation:typing", "conversation:remove", "user:merge":
		// No user in these payloads: a message's or activity's user is its author's.
	default:
		if data.User != nil {
			p["user"] = r.user(*data.User)
		}
	}
	if data.Client != nil && strings.HasPrefix(ev.Type, "client:") {
		p["client"] = clientOut(*data.Client)
	}
	if data.Message != nil {
		p["message"] = r.message(*data.Message)
	}
	if data.Activity != nil {
		p["activity"] = r.activity(*data.Activity)
	}
	if data.Reason != "" {
		p["reason"] = data.Reason
	}
	if data.CreationReason != "" {
		p["creationReason"] = data.CreationReason
	}
	if data.ActionMetadata != nil {
		p["metadata"] = map[string]any(data.ActionMetadata)
	}
	if e := data.ActionError; e != nil {
		p["error"] = eventErrorWire{Code: e.Code, Message: e.Message}
	}
	r.channelEvent(ev.Type, p)
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("render %s event: %w", ev.Type, err)
	}
	return b, nil
}

type eventRenderer struct {
	data                 sunlamp.EventData
	fullUser, fullSource bool
}

// userTruncatedWire is the spec's userTruncated, the user of webhook payloads.
type userTruncatedWire struct {
	ID            string `json:"id"`
	ExternalID    string `json:"externalId,omitempty"`
	BrandID       string `json:"brandId,omitempty"`
	ZendeskID     string `json:"zendeskId,omitempty"`
	Authenticated bool   `json:"authenticated"` // logged in with a user JWT (the web messenger's login)
}

// user renders u truncated, or complete with includeFullUser.
func (r eventRenderer) user(u sunlamp.User) any {
	if !r.fullUser {
		return userTruncatedWire{ID: u.ID, ExternalID: u.ExternalID, BrandID: u.BrandID, ZendeskID: u.ZendeskID, Authenticated: u.Authenticated}
	}
	return struct {
		userWire
		Authenticated bool `json:"authenticated"`
	}{userOut(u), u.Authenticated}
}

// conversationTruncatedWire is the spec's conversationTruncated.
type conversationTruncatedWire struct {
	ID       string         `json:"id"`
	Type     string         `json:"type"`
	Metadata map[string]any `json:"metadata,omitempty"`

	// The switchboard state when the event was written.
	ActiveSwitchboardIntegration  *switchboardRefWire `json:"activeSwitchboardIntegration,omitempty"`
	PendingSwitchboardIntegration *switchboardRefWire `json:"pendingSwitchboardIntegration,omitempty"`
}

// switchboardConversationWire is the conversation of a switchboard event: the spec's
// conversationTruncated with the switchboard state after the action. Its fields are in
// alphabetical order, as Sunlamp has always sent them.
type switchboardConversationWire struct {
	ActiveSwitchboardIntegration  *switchboardRefWire `json:"activeSwitchboardIntegration,omitempty"`
	ID                            string              `json:"id"`
	Metadata                      map[string]any      `json:"metadata,omitempty"`
	PendingSwitchboardIntegration *switchboardRefWire `json:"pendingSwitchboardIntegration,omitempty"`
	Type                          string              `json:"type"`
}

func switchboardConversationOut(c sunlamp.Conversation, st sunlamp.SwitchboardState) switchboardConversationWire {
	w := switchboardConversationWire{ID: c.ID, Type: c.Type,
		ActiveSwitchboardIntegration: switchboardRefOut(st.Active), PendingSwitchboardIntegration: switchboardRefOut(st.Pending)}
	if len(c.Metadata) > 0 {
		w.Metadata = c.Metadata
	}
	return w
}

// switchboardRefWire is the spec's switchboardIntegrationWebhook in events, its fields in
// alphabetical order as Sunlamp has always sent them (GetConversation sends the same fields in
// the spec's order: switchboardIntegrationRefWire).
type switchboardRefWire struct {
	ID              string `json:"id"`
	IntegrationID   string `json:"integrationId"`
	IntegrationType string `json:"integrationType"`
	Name            string `json:"name"`
}

// switchboardRefOut returns si for an event, nil for none.
func switchboardRefOut(si *sunlamp.SwitchboardIntegration) *switchboardRefWire {
	if si == nil {
		return nil
	}
	return &switchboardRefWire{ID: si.ID, IntegrationID: si.IntegrationID, IntegrationType: si.IntegrationType, Name: si.Name}
}

// eventErrorWire is the error of a switchboard:*:failure event.
type eventErrorWire struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func conversationTruncatedOut(c sunlamp.Conversation) conversationTruncatedWire {
	w := conversationTruncatedWire{ID: c.ID, Type: c.Type}
	if len(c.Metadata) > 0 {
		w.Metadata = c.Metadata
	}
	return w
}

// message renders the spec's messageWebhook: the message with its author's user.
func (r eventRenderer) message(m sunlamp.Message) any {
	w := messageOut(m)
	out := map[string]any{
		"id": w.ID, "received": w.Received, "content": w.Content,
	}
	author := map[string]any{"type": w.Author.Type}
	if len(w.Author.Subtypes) > 0 {
		author["subtypes"] = w.Author.Subtypes
	}
	if w.Author.UserID != "" {
		author["userId"] = w.Author.UserID
		u := sunlamp.User{ID: w.Author.UserID}
		if r.data.User != nil && r.data.User.ID == w.Author.UserID {
			u = *r.data.User
		}
		author["user"] = r.user(u)
		// The spec's example author carries displayName and avatarUrl, read from the user.
		if name := u.Profile.DisplayName(); name != "" {
			author["displayName"] = name
		}
		if u.Profile.AvatarURL != "" {
			author["avatarUrl"] = u.Profile.AvatarURL
		}
	}
	if w.Author.Type != sunlamp.AuthorUser { // a user's name and avatar come from the user alone
		if w.Author.DisplayName != "" {
			author["displayName"] = w.Author.DisplayName
		}
		if w.Author.AvatarURL != "" {
			author["avatarUrl"] = w.Author.AvatarURL
		}
	}
	out["author"] = author
	src := map[string]any{"type": w.Source.Type}
	if w.Source.IntegrationID != "" {
		src["integrationId"] = w.Source.IntegrationID
	}
	if w.Source.OriginalMessageID != "" {
		src["originalMessageId"] = w.Source.OriginalMessageID
	}
	if w.Source.OriginalMessageTimestamp != nil {
		src["originalMessageTimestamp"] = *w.Source.OriginalMessageTimestamp
	}
	r.source(src)
	out["source"] = src
	if w.Metadata != nil {
		out["metadata"] = w.Metadata
	}
	if len(w.References) > 0 && string(w.References) != "null" {
		out["references"] = w.References
	}
	return out
}

// source adds the client and device to a source with includeFullSource.
func (r eventRenderer) source(src map[string]any) {
	if !r.fullSource {
		return
	}
	if r.data.Client != nil {
		src["client"] = clientOut(*r.data.Client)
	}
	if r.data.Device != nil {
		src["device"] = deviceOut(*r.data.Device)
	}
}

// activity renders a read or typing activity with its author's user and its source.
func (r eventRenderer) activity(a sunlamp.Activity) map[string]any {
	author := map[string]any{"type": a.Author.Type}
	if a.Author.UserID != "" {
		author["userId"] = a.Author.UserID
	}
	if a.Author.Type == sunlamp.AuthorUser {
		// A user author's name and avatar are rendered from the user snapshot, which erasure
		// scrubs, never from copies elsewhere in the event.
		if r.data.User != nil {
			author["user"] = r.user(*r.data.User)
			if name := r.data.User.Profile.DisplayName(); name != "" {
				author["displayName"] = name
			}
			if r.data.User.Profile.AvatarURL != "" {
				author["avatarUrl"] = r.data.User.Profile.AvatarURL
			}
		}
	} else {
		if a.Author.DisplayName != "" {
			author["displayName"] = a.Author.DisplayName
		}
		if a.Author.AvatarURL != "" {
			author["avatarUrl"] = a.Author.AvatarURL
		}
	}
	src := map[string]any{"type": sunlamp.SourceAPI} // PostActivity's; a channel's activity has its source
	if cs := r.data.Source; cs != nil {
		src = sourceWebhookOut(*cs)
	}
	r.source(src)
	return map[string]any{"type": a.Type, "author": author, "source": src}
}

// sourceWebhookOut renders the spec's sourceWebhook of a customer's action: the channel and its
// integration.
func sourceWebhookOut(src sunlamp.Source) map[string]any {
	out := map[string]any{"type": src.Type}
	if src.IntegrationID != "" {
		out["integrationId"] = src.IntegrationID
	}
	if src.OriginalMessageID != "" {
		out["originalMessageId"] = src.OriginalMessageID
	}
	if !src.OriginalMessageTimestamp.IsZero() {
		out["originalMessageTimestamp"] = formatTime(src.OriginalMessageTimestamp)
	}
	return out
}

// channelEvent adds what the events of channels' reports carry (issue 14): the source of a
// customer's action, a postback, a referral, a delivery receipt, a merge, passthrough data.
func (r eventRenderer) channelEvent(typ string, p map[string]any) {
	d := r.data
	if d.Source != nil && d.Activity == nil {
		src := sourceWebhookOut(*d.Source)
		r.source(src)
		p["source"] = src
	}
	if pb := d.Postback; pb != nil {
		w := map[string]any{"payload": pb.Payload}
		if pb.Metadata != nil {
			w["metadata"] = map[string]any(pb.Metadata)
		}
		p["postback"] = w
	}
	if ref := d.Referral; ref != nil {
		w := map[string]any{"code": ref.Code}
		if ref.Details != nil {
			w["details"] = ref.Details
		}
		p["referral"] = w
	}
	if dl := d.Delivery; dl != nil {
		p["message"] = map[string]any{"id": dl.MessageID}
		dest := map[string]any{"type": dl.DestinationType}
		if dl.DestinationIntegrationID != "" {
			dest["integrationId"] = dl.DestinationIntegrationID
		}
		p["destination"] = dest
		if len(dl.ExternalMessages) > 0 {
			ext := make([]map[string]any, len(dl.ExternalMessages))
			for i, id := range dl.ExternalMessages {
				ext[i] = map[string]any{"id": id}
			}
			p["externalMessages"] = ext
		}
		p["isFinalEvent"] = dl.IsFinal
		if e := dl.Error; e != nil {
			p["error"] = eventErrorWire{Code: e.Code, Message: e.Message}
		}
	}
	if m := d.Merge; m != nil {
		p["mergedUsers"] = map[string]any{"surviving": r.user(m.Surviving), "discarded": r.user(m.Discarded)}
		if m.SurvivingConversation != nil && m.DiscardedConversation != nil {
			p["mergedConversations"] = map[string]any{"surviving": conversationTruncatedOut(*m.SurvivingConversation),
				"discarded": conversationTruncatedOut(*m.DiscardedConversation)}
		}
		if m.SurvivingClient != nil && m.DiscardedClient != nil {
			p["mergedClients"] = map[string]any{"surviving": clientOut(*m.SurvivingClient), "discarded": clientOut(*m.DiscardedClient)}
		}
		if len(m.DiscardedMetadata) > 0 {
			p["discardedMetadata"] = map[string]any(m.DiscardedMetadata)
		}
	}
	// passthrough:messaging has no schema in the spec: the channel's data goes under "passthrough",
	// beside the conversation, the user and the source.
	if d.Passthrough != nil {
		p["passthrough"] = d.Passthrough
	}
}

// sdkSourceTypes are the source types of the SDKs' messages (the web messenger's are "web").
var sdkSourceTypes = map[string]bool{"web": true, "ios": true, "android": true, "unity": true}
