package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/sunlamp/sunlamp"
)

// defaultBusinessAvatar is what the service fills in for a business author without an avatarUrl
// (the spec's ListMessages example shows it).
const defaultBusinessAvatar = "https://www.gravatar.com/avatar/00000000000000000000000000000000.png?s=200&d=mm"

// validAuthorSubtypes are the spec's author.subtypes values.
var validAuthorSubtypes = []string{"AI", "activity", "agent", "bot"}

// author validates an author body and, for a user author, looks the user up. It returns the
// domain author (a user author with the user's current name and avatar) and the user.
func (s *Server) author(r *http.Request, b *authorBody) (sunlamp.Author, error) {
	var a sunlamp.Author
	if b == nil {
		return a, required("author")
	}
	switch {
	case !b.Type.Set || b.Type.Null:
		return a, sunlamp.Invalid("author should have required property 'type'")
	case b.Type.Value != sunlamp.AuthorBusiness && b.Type.Value != sunlamp.AuthorUser:
		return a, sunlamp.Invalid("author.type should be equal to one of the allowed values: business, user")
	}
	a.Type = b.Type.Value
	seen := map[string]bool{}
	for i, st := range b.Subtypes.Value {
		ok := false
		for _, v := range validAuthorSubtypes {
			ok = ok || st == v
		}
		if !ok {
			return a, sunlamp.Invalid("author.subtypes[%d] should be equal to one of the allowed values: AI, activity, agent, bot", i)
		}
		if seen[st] {
			return a, sunlamp.Invalid("author.subtypes should NOT have duplicate items")
		}
		seen[st] = true
		a.Subtypes = append(a.Subtypes, st)
	}
	if b.DisplayName.Set && !b.DisplayName.Null {
		a.DisplayName = b.DisplayName.Value
	}
	if b.AvatarURL.Set {
		if b.AvatarURL.Null {
			return a, sunlamp.Invalid("author.avatarUrl should be string")
		}
		if err := validateOptionalText("author.avatarUrl", b.AvatarURL, 2048); err != nil {
			return a, err
		}
		if !isURI(b.AvatarURL.Value) {
			return a, sunlamp.Invalid("author.avatarUrl should match format \"uri\"")
		}
		a.AvatarURL = b.AvatarURL.Value
	}
	if err := validateOptionalText("author.brandId", b.BrandID, 24); err != nil {
		return a, err
	}
	id, ext := b.UserID.Value, b.UserExternalID.Value
	if a.Type == sunlamp.AuthorBusiness {
		if id != "" || ext != "" {
			return a, sunlamp.Invalid("author.userId and author.userExternalId are only supported when author.type is user")
		}
		if a.AvatarURL == "" {
			a.AvatarURL = defaultBusinessAvatar
		}
		return a, nil
	}
	switch {
	case id == "" && ext == "":
		return a, sunlamp.Invalid("author should have required property 'userId' or 'userExternalId'")
	case id != "" && ext != "":
		return a, sunlamp.Invalid("author should have only one of 'userId' or 'userExternalId'")
	}
	key := id
	if key == "" {
		key = ext
	}
	u, err := s.store.User(r.Context(), r.PathValue("appId"), key)
	if err != nil {
		return a, err
	}
	if (id != "" && u.ID != id) || (ext != "" && u.ExternalID != ext) {
		return a, sunlamp.ErrUserNotFound
	}
	// A user author's name and avatar are the user's, read from the profile (never stored).
	a.UserID = u.ID
	a.DisplayName = joinName(u.Profile.GivenName, u.Profile.Surname)
	a.AvatarURL = u.Profile.AvatarURL
	return a, nil
}

func joinName(given, surname string) string {
	switch {
	case given == "":
		return surname
	case surname == "":
		return given
	}
	return given + " " + surname
}

// validateReferences checks the spec's references: 1..10 of {uri*, title 1..128, description 1..256}.
func validateReferences(v []any) (json.RawMessage, error) {
	if len(v) < 1 || len(v) > 10 {
		return nil, sunlamp.Invalid("references should have 1 to 10 items")
	}
	out := make([]any, 0, len(v))
	for i, x := range v {
		p := fmt.Sprintf("references[%d]", i)
		in, ok := x.(obj)
		if !ok {
			return nil, sunlamp.Invalid("%s should be object", p)
		}
		c := &copier{in: in, out: obj{}, p: p}
		c.uri("uri", 2048, true)
		c.str("title", 1, 128, false)
		c.str("description", 1, 256, false)
		if c.err != nil {
			return nil, c.err
		}
		out = append(out, c.out)
	}
	b, _ := json.Marshal(out)
	return b, nil
}

func (s *Server) handlePostMessage(w http.ResponseWriter, r *http.Request) error {
	var b messagePostBody
	if err := decodeJSON(r, &b); err != nil {
		return err
	}
	if b.Author == nil {
		return required("author")
	}
	if b.Content == nil {
		return required("content")
	}
	if b.Schema.Set && !b.Schema.Null && b.Schema.Value != "whatsapp" {
		return sunlamp.Invalid("schema should be equal to one of the allowed values: whatsapp")
	}
	content, err := validateContent(b.Content, b.Schema.Value)
	if err != nil {
		return err
	}
	metadata, err := validateMetadata("Message", "metadata", b.Metadata.Value)
	if err != nil {
		return err
	}
	var refs json.RawMessage
	if b.References.Set && !b.References.Null {
		if refs, err = validateReferences(b.References.Value); err != nil {
			return err
		}
	}
	if d := b.Destination.Value; b.Destination.Set && !b.Destination.Null {
		id, hasID := d["integrationId"].(string)
		typ, hasType := d["integrationType"].(string)
		switch {
		case hasID == hasType:
			return sunlamp.Invalid("destination should have exactly one of 'integrationId' or 'integrationType'")
		case hasID && id == "", hasType && typ == "":
			return sunlamp.Invalid("destination should NOT have empty values")
		}
	}
	a, err := s.author(r, b.Author)
	if err != nil {
		return err
	}
	if b.Destination.Set && !b.Destination.Null && a.Type != sunlamp.AuthorBusiness {
		return sunlamp.Invalid("destination is only supported when author.type is business")
	}
	if a.Type == sunlamp.AuthorUser && bytes.ContainsAny(content.Doc, "0123456789") {
		// What a user writes is masked per maskCreditCardNumbers before it is stored (issue 14).
		app, err := s.store.App(r.Context(), r.PathValue("appId"))
		if err != nil {
			return err
		}
		content = maskUserContent(app.Settings, content)
	}
	// destination and override only steer delivery to channels, which Sunlamp does not reach; they
	// are validated and not kept.
	m, err := s.store.PostMessage(r.Context(), sunlamp.Message{
		AppID: r.PathValue("appId"), ConversationID: r.PathValue("conversationId"),
		Author: a, Content: content, Source: sunlamp.Source{Type: sunlamp.SourceAPI},
		Metadata: metadata, References: refs,
	})
	if err != nil {
		return err
	}
	s.afterPostMessage(r.Context(), m) // the web messenger's pages, channel delivery receipts
	// Written by hand like ListMessages' pages (the same JSON values encoding/json would give, see
	// TestAppendMessageJSON): PostMessage is the busiest write, and encoding/json re-validated and
	// compacted the content it had just validated.
	out := make([]byte, 0, 512+len(m.Content.Doc))
	out = append(out, `{"messages":[`...)
	out = appendMessageJSON(out, m)
	out = append(out, "]}\n"...)
	writeRawJSON(w, http.StatusCreated, out)
	return nil
}

// parseMessagePage reads the ListMessages cursors. page[size] has no effect on ListMessages (the
// spec fixes pages at 100), so it is ignored rather than validated.
func parseMessagePage(r *http.Request) (sunlamp.Page, error) {
	q := r.URL.Query()
	p := sunlamp.Page{After: q.Get("page[after]"), Before: q.Get("page[before]"), Size: sunlamp.MaxPageSize}
	if p.After != "" && p.Before != "" {
		return p, sunlamp.ErrInvalidPage
	}
	for _, c := range []string{p.After, p.Before} {
		if c != "" && len(c) != 24 {
			return p, sunlamp.ErrInvalidPage
		}
	}
	return p, nil
}

func (s *Server) handleListMessages(w http.ResponseWriter, r *http.Request) error {
	p, err := parseMessagePage(r)
	if err != nil {
		return err
	}
	list, cur, err := s.store.Messages(r.Context(), r.PathValue("appId"), r.PathValue("conversationId"), p)
	if errors.Is(err, sunlamp.ErrConversationNotFound) {
		return sunlamp.ErrNotFound // the spec's ListMessages 404 is not_found "Resource not found"
	}
	if err != nil {
		return err
	}
	meta, links := s.pageEnvelope(r, cur)
	tail, err := json.Marshal(struct {
		Meta  metaWire   `json:"meta"`
		Links *linksWire `json:"links,omitempty"`
	}{meta, links})
	if err != nil {
		return err
	}
	b := make([]byte, 0, 512*len(list)+256)
	b = append(b, `{"messages":[`...)
	for i, m := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendMessageJSON(b, m)
	}
	b = append(b, "],"...)
	b = append(b, tail[1:]...) // {"meta":...} without its opening brace
	b = append(b, '\n')
	writeRawJSON(w, http.StatusOK, b)
	return nil
}

func (s *Server) handleDeleteAllMessages(w http.ResponseWriter, r *http.Request) error {
	if err := s.store.DeleteAllMessages(r.Context(), r.PathValue("appId"), r.PathValue("conversationId")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct{}{})
	return nil
}

func (s *Server) handleDeleteMessage(w http.ResponseWriter, r *http.Request) error {
	if err := s.store.DeleteMessage(r.Context(), r.PathValue("appId"), r.PathValue("conversationId"), r.PathValue("messageId")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct{}{})
	return nil
}
