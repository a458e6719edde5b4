package api

import (
	"github.com/sunlamp/sunlamp"
)

// conversationWire is the spec's Conversation. Unset optional fields are left out, as in the spec's
// examples.
type conversationWire struct {
	ID               string         `json:"id"`
	Type             string         `json:"type"`
	Metadata         map[string]any `json:"metadata,omitempty"`
	IsDefault        bool           `json:"isDefault"`
	DisplayName      string         `json:"displayName,omitempty"`
	Description      string         `json:"description,omitempty"`
	IconURL          string         `json:"iconUrl,omitempty"`
	BusinessLastRead *string        `json:"businessLastRead,omitempty"`
	LastUpdatedAt    string         `json:"lastUpdatedAt"`
	CreatedAt        string         `json:"createdAt"`

	// The switchboard state, filled in by withSwitchboardStates (wire_switchboards.go).
	ActiveSwitchboardIntegration  *switchboardIntegrationRefWire `json:"activeSwitchboardIntegration,omitempty"`
	PendingSwitchboardIntegration *switchboardIntegrationRefWire `json:"pendingSwitchboardIntegration,omitempty"`
}

func conversationOut(c sunlamp.Conversation) conversationWire {
	w := conversationWire{
		ID: c.ID, Type: c.Type, IsDefault: c.IsDefault, DisplayName: c.DisplayName, Description: c.Description,
		IconURL: c.IconURL, BusinessLastRead: formatTimePtr(c.BusinessLastRead),
		LastUpdatedAt: formatTime(c.LastUpdatedAt), CreatedAt: formatTime(c.CreatedAt),
	}
	if len(c.Metadata) > 0 {
		w.Metadata = c.Metadata
	}
	return w
}

// participantWire is the spec's Participant.
type participantWire struct {
	ID                 string                  `json:"id"`
	UserID             string                  `json:"userId"`
	UnreadCount        int                     `json:"unreadCount"`
	ClientAssociations []clientAssociationWire `json:"clientAssociations"`
	UserExternalID     string                  `json:"userExternalId,omitempty"`
	LastRead           *string                 `json:"lastRead,omitempty"`
}

type clientAssociationWire struct {
	Type     string `json:"type"`
	ClientID string `json:"clientId"`
}

func participantOut(p sunlamp.Participant) participantWire {
	w := participantWire{ID: p.ID, UserID: p.UserID, UnreadCount: p.UnreadCount, UserExternalID: p.UserExternalID,
		LastRead: formatTimePtr(p.LastRead), ClientAssociations: []clientAssociationWire{}}
	for _, a := range p.ClientAssociations {
		w.ClientAssociations = append(w.ClientAssociations, clientAssociationWire{a.Type, a.ClientID})
	}
	return w
}

// participantBody is the spec's participantSubSchema, participantJoinBody and participantLeaveBody.
type participantBody struct {
	UserID             Nullable[string] `json:"userId"`
	UserExternalID     Nullable[string] `json:"userExternalId"`
	ParticipantID      Nullable[string] `json:"participantId"`
	SubscribeSDKClient Nullable[bool]   `json:"subscribeSDKClient"`
}

// ref validates the user reference of a participant body at path p ("" for a whole body): exactly
// one of userId and userExternalId (or participantId when allowed).
func (b participantBody) ref(p string, allowParticipantID bool) (sunlamp.ParticipantRef, error) {
	name := func(f string) string {
		if p == "" {
			return f
		}
		return p + "." + f
	}
	var r sunlamp.ParticipantRef
	n := 0
	for _, f := range []struct {
		v    Nullable[string]
		name string
		dst  *string
	}{{b.UserID, "userId", &r.UserID}, {b.UserExternalID, "userExternalId", &r.UserExternalID}, {b.ParticipantID, "participantId", &r.ID}} {
		if !f.v.Set || f.v.Null {
			continue
		}
		if f.name == "participantId" && !allowParticipantID {
			continue
		}
		if f.v.Value == "" {
			return r, sunlamp.Invalid("%s should NOT be shorter than 1 characters", name(f.name))
		}
		*f.dst = f.v.Value
		n++
	}
	want := "'userId' or 'userExternalId'"
	if allowParticipantID {
		want = "'userId', 'userExternalId' or 'participantId'"
	}
	r.SubscribeSDKClient = b.SubscribeSDKClient.Value
	switch {
	case n == 0 && p == "":
		return r, sunlamp.Invalid("should have required property %s", want)
	case n == 0:
		return r, sunlamp.Invalid("%s should have required property %s", p, want)
	case n > 1 && p == "":
		return r, sunlamp.Invalid("should have only one of %s", want)
	case n > 1:
		return r, sunlamp.Invalid("%s should have only one of %s", p, want)
	}
	return r, nil
}

// conversationBody is the spec's conversationCreateBody and conversationUpdateBody.
type conversationBody struct {
	Type         Nullable[string]            `json:"type"`
	Participants Nullable[[]participantBody] `json:"participants"`
	DisplayName  Nullable[string]            `json:"displayName"`
	Description  Nullable[string]            `json:"description"`
	IconURL      Nullable[string]            `json:"iconUrl"`
	Metadata     Nullable[map[string]any]    `json:"metadata"`
}
