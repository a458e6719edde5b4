package api

import (
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
