package api

import (
	"net/http"
	"unicode/utf8"

	"github.com/sunlamp/sunlamp"
)

// validateOptionalText checks a nullable string field of 1..max characters.
func validateOptionalText(field string, v Nullable[string], max int) error {
	if !v.Set || v.Null {
		return nil
	}
	if n := utf8.RuneCountInString(v.Value); n < 1 || n > max {
		return sunlamp.Invalid("%s should be a string of 1 to %d characters", field, max)
	}
	return nil
}

// validate checks the conversation fields shared by create and update.
func (b conversationBody) validateFields() error {
	if err := validateOptionalText("displayName", b.DisplayName, 100); err != nil {
		return err
	}
	if err := validateOptionalText("description", b.Description, 100); err != nil {
		return err
	}
	if err := validateOptionalText("iconUrl", b.IconURL, 2048); err != nil {
		return err
	}
	if b.IconURL.Set && !b.IconURL.Null && !isURI(b.IconURL.Value) {
		return sunlamp.Invalid("iconUrl should match format \"uri\"")
	}
	_, err := validateMetadata("Conversation", "metadata", b.Metadata.Value)
	return err
}

func (s *Server) handleCreateConversation(w http.ResponseWriter, r *http.Request) error {
	var b conversationBody
	if err := decodeJSON(r, &b); err != nil {
		return err
	}
	switch {
	case !b.Type.Set || b.Type.Null:
		return required("type")
	case b.Type.Value != sunlamp.ConversationPersonal && b.Type.Value != sunlamp.ConversationSDKGroup:
		return sunlamp.Invalid("type should be equal to one of the allowed values: personal, sdkGroup")
	}
	parts := b.Participants.Value
	switch {
	case b.Type.Value == sunlamp.ConversationPersonal && len(parts) != 1:
		return sunlamp.Invalid("participants should have exactly 1 item for a personal conversation")
	case len(parts) > sunlamp.MaxParticipants:
		return sunlamp.Invalid("participants should NOT have more than %d items", sunlamp.MaxParticipants)
	}
	refs := make([]sunlamp.ParticipantRef, 0, len(parts))
	for i, p := range parts {
		path := "participants[" + itoa(i) + "]"
		ref, err := p.ref(path, false)
		if err != nil {
			return err
		}
		// The spec makes subscribeSDKClient required in sdkGroup conversations.
		if b.Type.Value == sunlamp.ConversationSDKGroup && (!p.SubscribeSDKClient.Set || p.SubscribeSDKClient.Null) {
			return sunlamp.Invalid("%s should have required property 'subscribeSDKClient'", path)
		}
		refs = append(refs, ref)
	}
	if err := b.validateFields(); err != nil {
		return err
	}
	c, err := s.store.CreateConversation(r.Context(), sunlamp.Conversation{
		AppID: r.PathValue("appId"), Type: b.Type.Value,
		DisplayName: b.DisplayName.Value, Description: b.Description.Value, IconURL: b.IconURL.Value,
		Metadata: sunlamp.Metadata(b.Metadata.Value),
	}, refs)
	if err != nil {
		return err
	}
	cw, err := s.conversationWithSwitchboard(r.Context(), c) // wire_switchboards.go
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"conversation": cw})
	return nil
}

func (s *Server) handleListConversations(w http.ResponseWriter, r *http.Request) error {
	p, err := parsePage(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	ref := sunlamp.ParticipantRef{UserID: q.Get("filter[userId]"), UserExternalID: q.Get("filter[userExternalId]")}
	switch {
	case ref.UserID == "" && ref.UserExternalID == "":
		return sunlamp.Invalid("filter should have required property 'userId' or 'userExternalId'")
	case ref.UserID != "" && ref.UserExternalID != "":
		return sunlamp.Invalid("filter should have only one of 'userId' or 'userExternalId'")
	}
	list, cur, err := s.store.Conversations(r.Context(), r.PathValue("appId"), ref, p)
	if err != nil {
		return err
	}
	out := make([]conversationWire, 0, len(list))
	for _, c := range list {
		out = append(out, conversationOut(c))
	}
	if err := s.withSwitchboardStates(r.Context(), r.PathValue("appId"), out); err != nil { // wire_switchboards.go
		return err
	}
	meta, links := s.pageEnvelope(r, cur)
	writeJSON(w, http.StatusOK, struct {
		Conversations []conversationWire `json:"conversations"`
		Meta          metaWire           `json:"meta"`
		Links         *linksWire         `json:"links,omitempty"`
	}{out, meta, links})
	return nil
}

func (s *Server) handleGetConversation(w http.ResponseWriter, r *http.Request) error {
	c, st, err := s.store.ConversationWithSwitchboardState(r.Context(), r.PathValue("appId"), r.PathValue("conversationId"))
	if err != nil {
		return err
	}
	cw := conversationOut(c)
	cw.ActiveSwitchboardIntegration = switchboardIntegrationRefOut(st.Active) // wire_switchboards.go
	cw.PendingSwitchboardIntegration = switchboardIntegrationRefOut(st.Pending)
	writeJSON(w, http.StatusOK, map[string]any{"conversation": cw})
	return nil
}

func (s *Server) handleUpdateConversation(w http.ResponseWriter, r *http.Request) error {
	var b conversationBody
	if err := decodeJSON(r, &b); err != nil {
		return err
	}
	if err := b.validateFields(); err != nil {
		return err
	}
	var u sunlamp.ConversationUpdate
	// null unsets a field: the pointer to "" (or to a nil map) says so.
	if b.DisplayName.Set {
		u.DisplayName = &b.DisplayName.Value
	}
	if b.Description.Set {
		u.Description = &b.Description.Value
	}
	if b.IconURL.Set {
		u.IconURL = &b.IconURL.Value
	}
	if b.Metadata.Set {
		m := sunlamp.Metadata(b.Metadata.Value)
		u.Metadata = &m
	}
	c, err := s.store.UpdateConversation(r.Context(), r.PathValue("appId"), r.PathValue("conversationId"), u)
	if err != nil {
		return err
	}
	cw, err := s.conversationWithSwitchboard(r.Context(), c) // wire_switchboards.go
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"conversation": cw})
	return nil
}

func (s *Server) handleDeleteConversation(w http.ResponseWriter, r *http.Request) error {
	if err := s.store.DeleteConversation(r.Context(), r.PathValue("appId"), r.PathValue("conversationId")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct{}{})
	return nil
}
