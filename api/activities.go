package api

import (
	"net/http"

	"github.com/sunlamp/sunlamp"
)

func (s *Server) handlePostActivity(w http.ResponseWriter, r *http.Request) error {
	var b activityBody
	if err := decodeJSON(r, &b); err != nil {
		return err
	}
	if b.Author == nil {
		return required("author")
	}
	switch {
	case !b.Type.Set || b.Type.Null:
		return required("type")
	case b.Type.Value != sunlamp.ActivityRead && b.Type.Value != sunlamp.ActivityTypingStart && b.Type.Value != sunlamp.ActivityTypingStop:
		return sunlamp.Invalid("type should be equal to one of the allowed values: conversation:read, typing:start, typing:stop")
	}
	a, err := s.author(r, b.Author)
	if err != nil {
		return err
	}
	if a.Type == sunlamp.AuthorUser && b.Type.Value != sunlamp.ActivityRead {
		return sunlamp.Invalid("type should be conversation:read when author.type is user")
	}
	if a.Type == sunlamp.AuthorBusiness && b.Author.AvatarURL.Value == "" {
		a.AvatarURL = "" // the default avatar is for messages, not for activities
	}
	if err := s.store.PostActivity(r.Context(), r.PathValue("appId"), r.PathValue("conversationId"), sunlamp.Activity{Type: b.Type.Value, Author: a}); err != nil {
		return err
	}
	// The web messenger's pages show it at once.
	s.publishConversation(r.Context(), r.PathValue("appId"), liveNote{ConversationID: r.PathValue("conversationId"), Kind: b.Type.Value,
		Role: a.Type, Name: a.DisplayName, Avatar: a.AvatarURL, UserID: a.UserID, At: s.clock.Now().UnixMilli()})
	writeJSON(w, http.StatusOK, struct{}{})
	return nil
}
