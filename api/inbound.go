package api

import (
	"cmp"
	"context"
	"encoding/json"
	"net/http"
	"slices"

	"github.com/sunlamp/sunlamp"
)

// The inbound channel simulator, POST /_sunlamp/v1/apps/{appId}/inbound: what a channel (WhatsApp,
// Messenger, the Web SDK...) delivers when a customer writes in, which the v2 API cannot create. It
// is a Sunlamp extension, outside /v2, with the same authentication, JSON conventions and error
// envelope; the README documents it.

type inboundBody struct {
	Channel       Nullable[string] `json:"channel"`
	IntegrationID Nullable[string] `json:"integrationId"`
	User          *struct {
		ID         Nullable[string] `json:"id"`
		ExternalID Nullable[string] `json:"externalId"`
		Identities []identityWire   `json:"identities"` // for a user the call creates
	} `json:"user"`
	Client *struct {
		ExternalID  Nullable[string] `json:"externalId"`
		DisplayName Nullable[string] `json:"displayName"`
		AvatarURL   Nullable[string] `json:"avatarUrl"`
		Info        map[string]any   `json:"info"`
		Raw         map[string]any   `json:"raw"`
	} `json:"client"`
	Device *struct {
		Type                  Nullable[string] `json:"type"`
		GUID                  Nullable[string] `json:"guid"`
		PushNotificationToken Nullable[string] `json:"pushNotificationToken"`
		AppVersion            Nullable[string] `json:"appVersion"`
		Info                  map[string]any   `json:"info"`
	} `json:"device"`
	Content any `json:"content"`
	// What the customer did besides writing (issue 14): at most one of these.
	Postback *struct {
		Payload   Nullable[string] `json:"payload"`
		MessageID Nullable[string] `json:"messageId"`
	} `json:"postback"`
	Activity any `json:"activity"` // "typing:start", or {"type": "typing:start"}
	Referral *struct {
		Code    Nullable[string] `json:"code"`
		Details map[string]any   `json:"details"`
	} `json:"referral"`
	Passthrough map[string]any `json:"passthrough"`
}

// action validates the customer's action of an inbound delivery, if any.
func (b inboundBody) action() (*sunlamp.CustomerAction, string, error) {
	var a sunlamp.CustomerAction
	n := 0
	var messageID string
	if p := b.Postback; p != nil {
		n++
		payload, err := optString("postback.payload", p.Payload, 1, 4096)
		if err != nil {
			return nil, "", err
		}
		if payload == "" {
			return nil, "", sunlamp.Invalid("postback should have required property 'payload'")
		}
		if messageID, err = optString("postback.messageId", p.MessageID, 1, 64); err != nil {
			return nil, "", err
		}
		a.Postback = &sunlamp.Postback{Payload: payload, MessageID: messageID}
	}
	if b.Activity != nil {
		n++
		typ, _ := b.Activity.(string)
		if o, ok := b.Activity.(obj); ok {
			typ, _ = o["type"].(string)
		}
		if typ != sunlamp.ActivityRead && typ != sunlamp.ActivityTypingStart && typ != sunlamp.ActivityTypingStop {
			return nil, "", sunlamp.Invalid("activity.type should be equal to one of the allowed values: conversation:read, typing:start, typing:stop")
		}
		a.Activity = typ
	}
	if r := b.Referral; r != nil {
		n++
		code, err := optString("referral.code", r.Code, 1, 1024)
		if err != nil {
			return nil, "", err
		}
		if code == "" {
			return nil, "", sunlamp.Invalid("referral should have required property 'code'")
		}
		a.Referral = &sunlamp.Referral{Code: code, Details: r.Details}
	}
	if b.Passthrough != nil {
		n++
		if raw, _ := json.Marshal(b.Passthrough); len(raw) > sunlamp.MaxMetadataBytes*4 {
			return nil, "", sunlamp.Invalid("passthrough should NOT be larger than 16 kB")
		}
		a.Passthrough = b.Passthrough
	}
	switch {
	case n == 0:
		return nil, "", nil
	case n > 1:
		return nil, "", sunlamp.Invalid("an inbound delivery carries at most one of postback, activity, referral and passthrough")
	case b.Content != nil && a.Referral == nil:
		return nil, "", sunlamp.Invalid("content can only come with a referral (a customer who follows a link and writes)")
	}
	return &a, messageID, nil
}

// optString checks an optional string field of min..max characters; null is refused.
func optString(field string, v Nullable[string], min, max int) (string, error) {
	switch {
	case !v.Set:
		return "", nil
	case v.Null:
		return "", sunlamp.Invalid("%s should be string", field)
	}
	return v.Value, checkLength(field, v.Value, min, max)
}

func (b inboundBody) validate(appID string) (sunlamp.Inbound, error) {
	in := sunlamp.Inbound{AppID: appID}
	var err error
	if !b.Channel.Set || b.Channel.Null {
		return in, required("channel")
	}
	in.Channel = b.Channel.Value
	if !slices.Contains(sunlamp.ClientTypes, in.Channel) {
		return in, sunlamp.Invalid("channel should be one of the client types of the spec: apple, gbm, googlercs, instagram, kakao, line, mailgun, messagebird, messenger, slackconnect, sdk, telegram, twilio, twitter, viber, wechat, whatsapp")
	}
	sdk := in.Channel == sunlamp.ClientTypeSDK
	if in.IntegrationID, err = optString("integrationId", b.IntegrationID, 1, 64); err != nil {
		return in, err
	}
	if u := b.User; u != nil {
		if in.UserID, err = optString("user.id", u.ID, 1, 64); err != nil {
			return in, err
		}
		if in.UserExternalID, err = optString("user.externalId", u.ExternalID, 1, 1024); err != nil {
			return in, err
		}
		if in.UserID != "" && in.UserExternalID != "" {
			return in, sunlamp.Invalid("user should have only one of 'id' or 'externalId'")
		}
		for i, id := range u.Identities {
			if id.Type == "" || id.Value == "" {
				return in, sunlamp.Invalid("user.identities[%d] should have required properties 'type' and 'value'", i)
			}
			if err := checkLength("user.identities.value", id.Value, 1, 128); err != nil {
				return in, err
			}
			in.UserIdentities = append(in.UserIdentities, sunlamp.Identity(id))
		}
	}
	if c := b.Client; c != nil {
		if in.Client.ExternalID, err = optString("client.externalId", c.ExternalID, 1, 1024); err != nil {
			return in, err
		}
		if in.Client.DisplayName, err = optString("client.displayName", c.DisplayName, 1, 256); err != nil {
			return in, err
		}
		if in.Client.AvatarURL, err = optString("client.avatarUrl", c.AvatarURL, 1, 2048); err != nil {
			return in, err
		}
		if in.Client.AvatarURL != "" {
			if err := checkURI("client.avatarUrl", in.Client.AvatarURL); err != nil {
				return in, err
			}
		}
		in.Client.Info, in.Client.Raw = c.Info, c.Raw
	}
	switch {
	case !sdk && in.Client.ExternalID == "":
		return in, sunlamp.Invalid("client should have required property 'externalId' (the customer's id on the channel) when channel is not sdk")
	case sdk && in.Client.ExternalID != "":
		return in, sunlamp.Invalid("client.externalId is not supported when channel is sdk: sdk clients have none")
	}
	if d := b.Device; d != nil {
		if !sdk {
			return in, sunlamp.Invalid("device is only supported when channel is sdk")
		}
		dev := &sunlamp.Device{Info: d.Info}
		if !d.Type.Set || d.Type.Null {
			return in, sunlamp.Invalid("device should have required property 'type'")
		}
		if dev.Type = d.Type.Value; !slices.Contains(sunlamp.DeviceTypes, dev.Type) {
			return in, sunlamp.Invalid("device.type should be equal to one of the allowed values: android, ios, web")
		}
		if !d.GUID.Set || d.GUID.Null {
			return in, sunlamp.Invalid("device should have required property 'guid'")
		}
		if dev.GUID, err = optString("device.guid", d.GUID, 1, 128); err != nil {
			return in, err
		}
		if dev.PushNotificationToken, err = optString("device.pushNotificationToken", d.PushNotificationToken, 1, 4096); err != nil {
			return in, err
		}
		if dev.AppVersion, err = optString("device.appVersion", d.AppVersion, 1, 64); err != nil {
			return in, err
		}
		in.Device = dev
	}
	if b.Content != nil {
		content, err := validateContent(b.Content, "")
		if err != nil {
			return in, err
		}
		in.Content = &content
	}
	return in, nil
}

// handleInbound simulates a customer writing in on a channel: see sunlamp.Inbound and the README.
func (s *Server) handleInbound(w http.ResponseWriter, r *http.Request) error {
	var b inboundBody
	if err := decodeJSON(r, &b); err != nil {
		return err
	}
	in, err := b.validate(r.PathValue("appId"))
	if err != nil {
		return err
	}
	action, messageID, err := b.action()
	if err != nil {
		return err
	}
	app, err := s.store.App(r.Context(), in.AppID)
	if err != nil {
		return err
	}
	in.AnimalNames = app.Settings.GivesAnimalNames()
	if in.Content != nil {
		*in.Content = maskUserContent(app.Settings, *in.Content)
	}
	res, err := s.store.Inbound(r.Context(), in)
	if err != nil {
		return err
	}
	if action != nil {
		// The action follows the delivery that made or found the user, as the channel's webhook
		// to the service would come.
		source := sunlamp.Source{Type: cmp.Or(in.SourceType, in.Channel), IntegrationID: in.IntegrationID}
		if err := s.customerAction(r.Context(), app, res.User.ID, "", messageID, source, action); err != nil {
			return err
		}
	}
	out := struct {
		User         userWire          `json:"user"`
		Client       clientWire        `json:"client"`
		Device       *deviceWire       `json:"device,omitempty"`
		Conversation *conversationWire `json:"conversation,omitempty"`
		Messages     []messageWire     `json:"messages"`
	}{User: userOut(res.User), Client: clientOut(res.Client), Messages: []messageWire{}}
	if res.Device != nil {
		d := deviceOut(*res.Device)
		out.Device = &d
	}
	if res.Conversation != nil {
		c := conversationOut(*res.Conversation)
		out.Conversation = &c
	}
	for _, m := range res.Messages {
		// As everywhere, a user author's name and avatar are the user's current ones.
		m.Author.DisplayName = res.User.Profile.DisplayName()
		m.Author.AvatarURL = res.User.Profile.AvatarURL
		out.Messages = append(out.Messages, messageOut(m))
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

// handleConfirmClient confirms a pending client, as its channel does once the customer accepts a
// link that CreateClient started: the client becomes active and client:update (confirmed) is sent.
func (s *Server) handleConfirmClient(w http.ResponseWriter, r *http.Request) error {
	c, err := s.store.ConfirmClient(r.Context(), r.PathValue("appId"), r.PathValue("userIdOrExternalId"), r.PathValue("clientId"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"client": clientOut(c)})
	return nil
}

// customerAction records a customer's action in a conversation (the user's default one when
// conversationID is ""): a postback names its button through messageID, which gives its text and
// metadata; the app's echoPostback adds the button's text as the user's message.
func (s *Server) customerAction(ctx context.Context, app sunlamp.App, userID, conversationID, messageID string, source sunlamp.Source, a *sunlamp.CustomerAction) error {
	if a.Postback != nil && messageID != "" {
		conv := conversationID
		if conv == "" {
			list, _, err := s.store.Conversations(ctx, app.ID, sunlamp.ParticipantRef{UserID: userID}, sunlamp.Page{Size: sunlamp.MaxPageSize})
			if err != nil {
				return err
			}
			for _, c := range list {
				if c.IsDefault {
					conv = c.ID
				}
			}
			if conv == "" {
				return sunlamp.ErrNoConversation
			}
		}
		m, err := s.store.Message(ctx, app.ID, conv, messageID)
		if err != nil {
			return err
		}
		if text, meta, ok := sunlamp.FindPostback(m.Content, a.Postback.Payload); ok {
			a.Postback.Text, a.Postback.Metadata = text, meta
		}
	}
	a.Echo = app.Settings.EchoesPostbacks()
	echo, err := s.store.CustomerAction(ctx, app.ID, userID, conversationID, source, *a)
	if err != nil {
		return err
	}
	if echo != nil || a.Activity != "" {
		kind := "message"
		if echo == nil {
			kind = a.Activity
		}
		conv := conversationID
		if echo != nil {
			conv = echo.ConversationID
		}
		if conv != "" {
			s.publishConversation(ctx, app.ID, liveNote{ConversationID: conv, Kind: kind, Role: sunlamp.AuthorUser, UserID: userID, At: s.clock.Now().UnixMilli()})
		}
	}
	return nil
}

// handleMessageDelivery reports a channel's receipt for a message: delivered to the channel, to the
// user, or failed (conversation:message:delivery:channel, :user, :failure).
func (s *Server) handleMessageDelivery(w http.ResponseWriter, r *http.Request) error {
	var b struct {
		Status      Nullable[string] `json:"status"`
		Destination *struct {
			Type          Nullable[string] `json:"type"`
			IntegrationID Nullable[string] `json:"integrationId"`
		} `json:"destination"`
		ExternalMessages []struct {
			ID string `json:"id"`
		} `json:"externalMessages"`
		IsFinalEvent *bool `json:"isFinalEvent"`
		Error        *struct {
			Code    Nullable[string] `json:"code"`
			Message Nullable[string] `json:"message"`
		} `json:"error"`
	}
	if err := decodeJSON(r, &b); err != nil {
		return err
	}
	d := sunlamp.DeliveryReceipt{MessageID: r.PathValue("messageId")}
	switch {
	case !b.Status.Set || b.Status.Null:
		return required("status")
	case b.Status.Value != sunlamp.DeliveryChannel && b.Status.Value != sunlamp.DeliveryUser && b.Status.Value != sunlamp.DeliveryFailure:
		return sunlamp.Invalid("status should be equal to one of the allowed values: channel, user, failure")
	}
	d.Status = b.Status.Value
	// isFinalEvent: false for a channel receipt (a user receipt may follow, as on WhatsApp), true
	// for a user receipt or a failure, unless the body says otherwise.
	d.IsFinal = d.Status != sunlamp.DeliveryChannel
	if b.IsFinalEvent != nil {
		d.IsFinal = *b.IsFinalEvent
	}
	var err error
	if dst := b.Destination; dst != nil {
		if d.DestinationType, err = optString("destination.type", dst.Type, 1, 64); err != nil {
			return err
		}
		if d.DestinationIntegrationID, err = optString("destination.integrationId", dst.IntegrationID, 1, 64); err != nil {
			return err
		}
	}
	for i, m := range b.ExternalMessages {
		if m.ID == "" || len(m.ID) > 1024 {
			return sunlamp.Invalid("externalMessages[%d].id should be a string of 1 to 1024 characters", i)
		}
		d.ExternalMessages = append(d.ExternalMessages, m.ID)
	}
	if e := b.Error; e != nil {
		if d.Status != sunlamp.DeliveryFailure {
			return sunlamp.Invalid("error is only supported when status is failure")
		}
		d.Error = &sunlamp.EventError{}
		if d.Error.Code, err = optString("error.code", e.Code, 1, 256); err != nil {
			return err
		}
		if d.Error.Message, err = optString("error.message", e.Message, 1, 1024); err != nil {
			return err
		}
	}
	if d.Status == sunlamp.DeliveryFailure && d.Error == nil {
		d.Error = &sunlamp.EventError{Code: "uncategorized_error", Message: "The channel could not deliver the message"}
	}
	d, err = s.store.MessageDelivery(r.Context(), r.PathValue("appId"), r.PathValue("conversationId"), d)
	if err != nil {
		return err
	}
	out := map[string]any{"status": d.Status, "messageId": d.MessageID, "destination": map[string]any{"type": d.DestinationType}, "isFinalEvent": d.IsFinal}
	if d.DestinationIntegrationID != "" {
		out["destination"].(map[string]any)["integrationId"] = d.DestinationIntegrationID
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
