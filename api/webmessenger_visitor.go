package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sunlamp/sunlamp"
)

// The web messenger's endpoints (issue 14), under /_sunlamp/v1/web/{integrationId}/: what the page
// calls with its visitor credential (webmessenger.go). Errors are the API's envelope.

// webConfigWire is what the page needs of its integration and app.
type webConfigWire struct {
	Integration map[string]any `json:"integration"`
	App         struct {
		MultiConvoEnabled bool `json:"multiConvoEnabled"`
	} `json:"app"`
}

// webConfigFields are the web integration's settings the page uses (the spec's web integration:
// originWhitelist stays on the server, which enforces it).
var webConfigFields = []string{"brandColor", "conversationColor", "actionColor", "displayStyle", "businessName",
	"businessIconUrl", "backgroundImageUrl", "fixedIntroPane", "prechatCapture", "canUserSeeConversationList",
	"canUserCreateMoreConversations", "buttonIconUrl"}

// handleWebConfig answers the page's configuration: the integration's look and the app's
// multiConvoEnabled. It needs no credential.
func (s *Server) handleWebConfig(w http.ResponseWriter, r *http.Request) error {
	integ := webOf(r).integration
	app, err := s.store.App(r.Context(), integ.AppID)
	if err != nil {
		return err
	}
	out := webConfigWire{Integration: map[string]any{"id": integ.ID, "type": integ.Type}}
	if integ.DisplayName != "" {
		out.Integration["displayName"] = integ.DisplayName
	}
	for _, k := range webConfigFields {
		if v, ok := integ.Config[k]; ok && v != nil {
			out.Integration[k] = v
		}
	}
	out.App.MultiConvoEnabled = app.Settings.AllowsManyConversations()
	writeJSON(w, http.StatusOK, out)
	return nil
}

// visitorUserWire is what a visitor's page knows of its own user.
type visitorUserWire struct {
	ID            string `json:"id"`
	ExternalID    string `json:"externalId,omitempty"`
	GivenName     string `json:"givenName,omitempty"`
	Surname       string `json:"surname,omitempty"`
	Email         string `json:"email,omitempty"`
	Locale        string `json:"locale,omitempty"`
	Authenticated bool   `json:"authenticated"`
}

func visitorUserOut(u sunlamp.User) visitorUserWire {
	return visitorUserWire{ID: u.ID, ExternalID: u.ExternalID, GivenName: u.Profile.GivenName, Surname: u.Profile.Surname,
		Email: u.Profile.Email, Locale: u.Profile.Locale, Authenticated: u.ExternalID != ""}
}

// visitorConversationWire is a conversation as the page lists it.
type visitorConversationWire struct {
	ID               string `json:"id"`
	Type             string `json:"type"`
	IsDefault        bool   `json:"isDefault"`
	DisplayName      string `json:"displayName,omitempty"`
	IconURL          string `json:"iconUrl,omitempty"`
	BusinessLastRead string `json:"businessLastRead,omitempty"`
	LastUpdatedAt    string `json:"lastUpdatedAt"`
}

func visitorConversationOut(c sunlamp.Conversation) visitorConversationWire {
	w := visitorConversationWire{ID: c.ID, Type: c.Type, IsDefault: c.IsDefault, DisplayName: c.DisplayName, IconURL: c.IconURL,
		LastUpdatedAt: formatTime(c.LastUpdatedAt)}
	if !c.BusinessLastRead.IsZero() {
		w.BusinessLastRead = formatTime(c.BusinessLastRead)
	}
	return w
}

// visitorBody is the body that makes a new visitor's user: their device, and usually their
// first message (the user and conversation are made then, as the Web SDK does since 5.x).
type visitorBody struct {
	GUID    Nullable[string] `json:"guid"`
	Locale  Nullable[string] `json:"locale"`
	Info    map[string]any   `json:"info"`
	Content any              `json:"content"`
}

// deviceInfoFields are the web device info the page may report (the spec's web example).
var deviceInfoFields = []string{"currentTitle", "currentUrl", "browserLanguage", "referrer", "userAgent", "URL", "sdkVersion", "vendor"}

// handleWebCreateVisitor makes the user of a new visitor: an sdk client, a web device with the
// browser's guid and, with a first message, the default conversation and the message. It answers
// the visitor's credential.
func (s *Server) handleWebCreateVisitor(w http.ResponseWriter, r *http.Request) error {
	var b visitorBody
	if err := decodeJSON(r, &b); err != nil {
		return err
	}
	integ := webOf(r).integration
	guid, err := optString("guid", b.GUID, 16, 128)
	if err != nil {
		return err
	}
	if guid == "" {
		return required("guid")
	}
	for _, c := range guid {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-') {
			return sunlamp.Invalid("guid should hold only letters, digits and hyphens")
		}
	}
	locale, err := optString("locale", b.Locale, 2, 64)
	if err != nil {
		return err
	}
	info := map[string]any{}
	for _, k := range deviceInfoFields {
		if v, ok := b.Info[k].(string); ok && utf8.RuneCountInString(v) <= 2048 {
			info[k] = v
		}
	}
	app, err := s.store.App(r.Context(), integ.AppID)
	if err != nil {
		return err
	}
	// A guid names its visitor: another browser that knows it must not become that visitor
	// without the credential. The page makes a new guid and tries again.
	owner, err := s.store.GuidOwner(r.Context(), integ.AppID, guid)
	if err != nil {
		return err
	}
	if owner != "" {
		return sunlamp.Errorf(sunlamp.KindConflict, "conflict", "The device guid belongs to another visitor")
	}
	in := sunlamp.Inbound{AppID: integ.AppID, Channel: sunlamp.ClientTypeSDK, IntegrationID: integ.ID, SourceType: "web",
		Device:      &sunlamp.Device{Type: "web", GUID: guid, Info: info},
		AnimalNames: app.Settings.GivesAnimalNames()}
	if b.Content != nil {
		content, err := validateVisitorContent(b.Content)
		if err != nil {
			return err
		}
		content = maskUserContent(app.Settings, content)
		in.Content = &content
		if content.Type == "formResponse" {
			// A visitor's first message is a form only when it answers the prechat capture.
			in.Profile, in.CreationReason = prechatProfile(content), "prechatCapture"
		}
	}
	res, err := s.store.Inbound(r.Context(), in)
	if err != nil {
		return err
	}
	if locale != "" && res.User.Profile.Locale == "" {
		// The browser's language, detected: the user's locale (user:update localeDetection).
		if res.User, err = s.store.DetectLocale(r.Context(), integ.AppID, res.User.ID, locale); err != nil {
			return err
		}
	}
	token, err := s.newVisitorSession(r.Context(), integ, res.User.ID)
	if err != nil {
		return err
	}
	out := struct {
		Token        string                   `json:"token"`
		User         visitorUserWire          `json:"user"`
		Conversation *visitorConversationWire `json:"conversation,omitempty"`
		Messages     []messageWire            `json:"messages"`
	}{Token: token, User: visitorUserOut(res.User), Messages: []messageWire{}}
	if res.Conversation != nil {
		c := visitorConversationOut(*res.Conversation)
		out.Conversation = &c
		s.publishConversation(r.Context(), integ.AppID, liveNote{ConversationID: c.ID, Kind: "message"})
	}
	for _, m := range res.Messages {
		m.Author.DisplayName = res.User.Profile.DisplayName()
		m.Author.AvatarURL = res.User.Profile.AvatarURL
		out.Messages = append(out.Messages, messageOut(m))
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

// prechatProfile reads a user's profile from their prechat capture answers: an email field, and
// a text field named "name" (split at its first space into givenName and surname).
func prechatProfile(c sunlamp.Content) sunlamp.Profile {
	var doc struct {
		Fields []struct{ Type, Name, Text, Email string } `json:"fields"`
	}
	var p sunlamp.Profile
	if json.Unmarshal(c.Doc, &doc) != nil {
		return p
	}
	for _, f := range doc.Fields {
		switch {
		case f.Type == "email" && p.Email == "" && len(f.Email) <= 128:
			p.Email = f.Email
		case f.Type == "text" && strings.EqualFold(f.Name, "name") && p.GivenName == "":
			given, surname, _ := strings.Cut(strings.TrimSpace(f.Text), " ")
			p.GivenName, p.Surname = truncate(given, 128), truncate(strings.TrimSpace(surname), 128)
		}
	}
	return p
}

// handleWebSession answers the visitor's user and conversations.
func (s *Server) handleWebSession(w http.ResponseWriter, r *http.Request) error {
	sess := webOf(r).session
	u, err := s.store.User(r.Context(), sess.AppID, sess.UserID)
	if err != nil {
		return err
	}
	list, _, err := s.store.Conversations(r.Context(), sess.AppID, sunlamp.ParticipantRef{UserID: sess.UserID}, sunlamp.Page{Size: sunlamp.MaxPageSize})
	if err != nil {
		return err
	}
	out := struct {
		User          visitorUserWire           `json:"user"`
		Conversations []visitorConversationWire `json:"conversations"`
	}{User: visitorUserOut(u), Conversations: []visitorConversationWire{}}
	for _, c := range list {
		out.Conversations = append(out.Conversations, visitorConversationOut(c))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// handleWebDeleteSession ends the visitor's session (the page's "log out").
func (s *Server) handleWebDeleteSession(w http.ResponseWriter, r *http.Request) error {
	if err := s.store.DeleteVisitorSession(r.Context(), webOf(r).session.ID); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct{}{})
	return nil
}

// handleWebCreateConversation starts another conversation of the visitor, when the app's
// multiConvoEnabled and the integration's canUserCreateMoreConversations allow it.
func (s *Server) handleWebCreateConversation(w http.ResponseWriter, r *http.Request) error {
	wr := webOf(r)
	app, err := s.store.App(r.Context(), wr.session.AppID)
	if err != nil {
		return err
	}
	if !app.Settings.AllowsManyConversations() || wr.integration.Config["canUserCreateMoreConversations"] == false {
		return sunlamp.Errorf(sunlamp.KindForbidden, "forbidden", "Creating more conversations is not allowed")
	}
	var b struct {
		DisplayName Nullable[string] `json:"displayName"`
	}
	if err := decodeJSON(r, &b); err != nil {
		return err
	}
	name, err := optString("displayName", b.DisplayName, 1, 100)
	if err != nil {
		return err
	}
	c, err := s.store.CreateConversation(r.Context(), sunlamp.Conversation{AppID: wr.session.AppID, Type: sunlamp.ConversationPersonal, DisplayName: name},
		[]sunlamp.ParticipantRef{{UserID: wr.session.UserID, SubscribeSDKClient: true}})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"conversation": visitorConversationOut(c)})
	return nil
}

// visitorConversation returns the conversation of the path, which the visitor's user must take
// part in (another conversation is not found, whether it exists or not).
func (s *Server) visitorConversation(r *http.Request) (sunlamp.Conversation, error) {
	sess := webOf(r).session
	id := r.PathValue("conversationId")
	ok, err := s.store.Participates(r.Context(), sess.AppID, id, sess.UserID)
	if err != nil {
		return sunlamp.Conversation{}, err
	}
	if !ok {
		return sunlamp.Conversation{}, sunlamp.ErrConversationNotFound
	}
	return s.store.Conversation(r.Context(), sess.AppID, id)
}

// handleWebListMessages answers the conversation's newest messages, or those after ?after=ID.
func (s *Server) handleWebListMessages(w http.ResponseWriter, r *http.Request) error {
	c, err := s.visitorConversation(r)
	if err != nil {
		return err
	}
	p := sunlamp.Page{Size: sunlamp.MaxPageSize, After: r.URL.Query().Get("after")}
	if p.After != "" && len(p.After) != 24 {
		return sunlamp.ErrInvalidPage
	}
	list, cur, err := s.store.Messages(r.Context(), c.AppID, c.ID, p)
	if err != nil {
		return err
	}
	out := struct {
		Conversation visitorConversationWire `json:"conversation"`
		Messages     []messageWire           `json:"messages"`
		HasMore      bool                    `json:"hasMore"`
	}{Conversation: visitorConversationOut(c), Messages: []messageWire{}, HasMore: cur.HasMore}
	for _, m := range list {
		out.Messages = append(out.Messages, messageOut(m))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// handleWebPostMessage posts what the visitor writes: text (a quick reply's with its payload),
// an image or file they uploaded, their location, or their answers to a form.
func (s *Server) handleWebPostMessage(w http.ResponseWriter, r *http.Request) error {
	c, err := s.visitorConversation(r)
	if err != nil {
		return err
	}
	var b struct {
		Content any `json:"content"`
	}
	if err := decodeJSON(r, &b); err != nil {
		return err
	}
	content, err := validateVisitorContent(b.Content)
	if err != nil {
		return err
	}
	m, err := s.postVisitorMessage(r.Context(), webOf(r), c, content)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"messages": []messageWire{messageOut(m)}})
	return nil
}

// postVisitorMessage stores a message of the visitor's user (masked per the app's settings) and
// tells the pages watching the conversation.
func (s *Server) postVisitorMessage(ctx context.Context, wr *webRequest, c sunlamp.Conversation, content sunlamp.Content) (sunlamp.Message, error) {
	app, err := s.store.App(ctx, wr.session.AppID)
	if err != nil {
		return sunlamp.Message{}, err
	}
	content = maskUserContent(app.Settings, content)
	m, err := s.store.PostMessage(ctx, sunlamp.Message{
		AppID: c.AppID, ConversationID: c.ID,
		Author:  sunlamp.Author{Type: sunlamp.AuthorUser, UserID: wr.session.UserID},
		Content: content, Source: sunlamp.Source{Type: "web", IntegrationID: wr.integration.ID},
	})
	if err != nil {
		return m, err
	}
	if u, err := s.store.User(ctx, c.AppID, wr.session.UserID); err == nil {
		m.Author.DisplayName, m.Author.AvatarURL = u.Profile.DisplayName(), u.Profile.AvatarURL
	}
	s.publishConversation(ctx, c.AppID, liveNote{ConversationID: c.ID, Kind: "message"})
	return m, nil
}

// handleWebActivity records the visitor typing, or reading the conversation.
func (s *Server) handleWebActivity(w http.ResponseWriter, r *http.Request) error {
	c, err := s.visitorConversation(r)
	if err != nil {
		return err
	}
	var b struct {
		Type Nullable[string] `json:"type"`
	}
	if err := decodeJSON(r, &b); err != nil {
		return err
	}
	switch {
	case !b.Type.Set || b.Type.Null:
		return required("type")
	case b.Type.Value != sunlamp.ActivityRead && b.Type.Value != sunlamp.ActivityTypingStart && b.Type.Value != sunlamp.ActivityTypingStop:
		return sunlamp.Invalid("type should be equal to one of the allowed values: conversation:read, typing:start, typing:stop")
	}
	wr := webOf(r)
	app, err := s.store.App(r.Context(), c.AppID)
	if err != nil {
		return err
	}
	if err := s.customerAction(r.Context(), app, wr.session.UserID, c.ID, "", webSource(wr), &sunlamp.CustomerAction{Activity: b.Type.Value}); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct{}{})
	return nil
}

// webSource is the source of what a visitor does: the web messenger's integration.
func webSource(wr *webRequest) sunlamp.Source {
	return sunlamp.Source{Type: "web", IntegrationID: wr.integration.ID}
}

// handleWebPostback reports the visitor's tap on a postback button of a message
// (conversation:postback, with the button's text and metadata; echoed as the visitor's message
// when the app's echoPostback is on).
func (s *Server) handleWebPostback(w http.ResponseWriter, r *http.Request) error {
	c, err := s.visitorConversation(r)
	if err != nil {
		return err
	}
	var b struct {
		MessageID Nullable[string] `json:"messageId"`
		Payload   Nullable[string] `json:"payload"`
	}
	if err := decodeJSON(r, &b); err != nil {
		return err
	}
	messageID, err := optString("messageId", b.MessageID, 1, 64)
	if err != nil {
		return err
	}
	payload, err := optString("payload", b.Payload, 1, 4096)
	if err != nil {
		return err
	}
	if messageID == "" || payload == "" {
		return sunlamp.Invalid("the body should have required properties 'messageId' and 'payload'")
	}
	m, err := s.store.Message(r.Context(), c.AppID, c.ID, messageID)
	if err != nil {
		return err
	}
	if _, _, ok := sunlamp.FindPostback(m.Content, payload); !ok {
		return sunlamp.Invalid("the message has no postback button with that payload")
	}
	wr := webOf(r)
	app, err := s.store.App(r.Context(), c.AppID)
	if err != nil {
		return err
	}
	a := &sunlamp.CustomerAction{Postback: &sunlamp.Postback{Payload: payload, MessageID: messageID}}
	if err := s.customerAction(r.Context(), app, wr.session.UserID, c.ID, messageID, webSource(wr), a); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct{}{})
	return nil
}

// handleWebUpload keeps a file the visitor sends (an image or a file), as UploadAttachment does
// for a message of the conversation named by ?conversationId=, and answers its mediaUrl; the page
// then posts the image or file message.
func (s *Server) handleWebUpload(w http.ResponseWriter, r *http.Request) error {
	sess := webOf(r).session
	conv := r.URL.Query().Get("conversationId")
	ok, err := s.store.Participates(r.Context(), sess.AppID, conv, sess.UserID)
	if err != nil {
		return err
	}
	if !ok {
		return sunlamp.ErrConversationNotFound
	}
	r.SetPathValue("appId", sess.AppID)
	r.URL.RawQuery = url.Values{"access": {"public"}, "for": {"message"}, "conversationId": {conv}}.Encode()
	return s.handleUploadAttachment(w, r)
}

// handleWebEvents streams the conversation's live notices as Server-Sent Events: "message" (read
// the messages after the last one you have), "typing" and "read" (of the business). The page reads
// it with fetch (so that its credential goes in a header); a stream lasts at most two minutes,
// and the page opens the next one and reads what it missed.
func (s *Server) handleWebEvents(w http.ResponseWriter, r *http.Request) error {
	c, err := s.visitorConversation(r)
	if err != nil {
		return err
	}
	notes, cancel := s.webMessenger.live.subscribe(c.ID)
	defer cancel()
	stream := s.startEventStream(w, r, 2*time.Minute)
	defer stream.close()
	send := stream.send
	if err := send("ready", map[string]any{"conversationId": c.ID}); err != nil {
		return nil
	}
	sess := webOf(r).session
	for {
		var err error
		select {
		case <-stream.over():
			return nil
		case <-stream.keepAlive.C:
			err = stream.ping()
		case n := <-notes:
			switch n.Kind {
			case "message":
				err = send("message", map[string]any{})
			case sunlamp.ActivityTypingStart, sunlamp.ActivityTypingStop:
				if n.Role == sunlamp.AuthorUser && n.UserID == sess.UserID {
					continue // the visitor's own typing
				}
				err = send("typing", map[string]any{"type": n.Kind, "role": n.Role, "name": n.Name, "avatarUrl": n.Avatar})
			case sunlamp.ActivityRead:
				if n.Role == sunlamp.AuthorUser {
					continue
				}
				err = send("read", map[string]any{"role": n.Role, "at": formatTime(sunlamp.FromMillis(n.At))})
			}
		}
		if err != nil {
			return nil // the page went away
		}
	}
}

// validateVisitorContent validates what a visitor may send: text (with a quick reply's payload),
// image, file, location, or a formResponse answering a form.
func validateVisitorContent(v any) (sunlamp.Content, error) {
	in, ok := v.(obj)
	if !ok {
		if v == nil {
			return sunlamp.Content{}, required("content")
		}
		return sunlamp.Content{}, sunlamp.Invalid("content should be object")
	}
	typ, _ := in["type"].(string)
	switch typ {
	case "text", "image", "file", "location":
		c, err := validateContent(v, "")
		if err == nil && strings.Contains(string(c.Doc), `"actions"`) {
			return c, sunlamp.Invalid("content.actions are not supported in a visitor's message")
		}
		return c, err
	case "formResponse":
		return validateFormResponse(in)
	}
	return sunlamp.Content{}, sunlamp.Invalid("content.type should be equal to one of the allowed values: text, image, file, location, formResponse")
}

// validateFormResponse validates the spec's formResponse (1..20 answered fields) and adds its
// textFallback ("label: value" lines). The fields' quotedMessageId is write-only: it is dropped.
func validateFormResponse(in obj) (sunlamp.Content, error) {
	const p = "content"
	fields, _, err := getArray(in, p, "fields", true, 1, 20)
	if err != nil {
		return sunlamp.Content{}, err
	}
	out := make([]any, 0, len(fields))
	var fallback []string
	names := map[string]bool{}
	for i, f := range fields {
		fp := fmt.Sprintf("content.fields[%d]", i)
		fo, ok := f.(obj)
		if !ok {
			return sunlamp.Content{}, sunlamp.Invalid("%s should be object", fp)
		}
		c := &copier{in: fo, out: obj{}, p: fp}
		c.enum("type", true, "email", "select", "text")
		name := c.str("name", 1, 128, true)
		label := c.str("label", 1, 128, true)
		if c.err != nil {
			return sunlamp.Content{}, c.err
		}
		if names[name] {
			return sunlamp.Content{}, sunlamp.Invalid("%s.name should be unique within the form", fp)
		}
		names[name] = true
		var value string
		switch c.out["type"] {
		case "text":
			value = c.str("text", 1, 256, true)
		case "email":
			value = c.str("email", 1, 128, true)
			if c.err == nil && !strings.Contains(value, "@") {
				return sunlamp.Content{}, sunlamp.Invalid("%s.email should match format \"email\"", fp)
			}
		case "select":
			sel, _, err := getArray(fo, fp, "select", true, 1, 200)
			if err != nil {
				return sunlamp.Content{}, err
			}
			var opts []any
			var labels []string
			for j, o := range sel {
				oo, ok := o.(obj)
				if !ok {
					return sunlamp.Content{}, sunlamp.Invalid("%s.select[%d] should be object", fp, j)
				}
				oc := &copier{in: oo, out: obj{}, p: fmt.Sprintf("%s.select[%d]", fp, j)}
				l := oc.str("label", 1, 128, true)
				oc.str("name", 1, 128, true)
				if oc.err != nil {
					return sunlamp.Content{}, oc.err
				}
				opts = append(opts, oc.out)
				labels = append(labels, l)
			}
			c.out["select"] = opts
			value = strings.Join(labels, ", ")
		}
		if c.err != nil {
			return sunlamp.Content{}, c.err
		}
		out = append(out, c.out)
		fallback = append(fallback, label+": "+value)
	}
	var doc bytes.Buffer
	enc := json.NewEncoder(&doc)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(obj{"type": "formResponse", "fields": out, "textFallback": strings.Join(fallback, "\n")}); err != nil {
		return sunlamp.Content{}, err
	}
	return sunlamp.Content{Type: "formResponse", Doc: bytes.TrimRight(doc.Bytes(), "\n")}, nil
}

// errBadUserToken is a login whose JWT is not a valid user token of the app.
var errBadUserToken = &sunlamp.Error{Kind: sunlamp.KindUnauthorized, Code: "unauthorized", Title: "Invalid user token"}

// handleWebLogin logs the visitor in with a user JWT, as the Web SDK's login(externalId, jwt): HS256
// signed with the secret of one of the app's keys, its kid header naming the key, claims scope
// "user" and external_id. The visitor's anonymous user, if any (the credential sent with the
// request), is merged into the known user (user:merge), or becomes it when there is none; the
// login emits user:update (authentication). It answers a new credential for the known user.
func (s *Server) handleWebLogin(w http.ResponseWriter, r *http.Request) error {
	integ := webOf(r).integration
	var b struct {
		JWT Nullable[string] `json:"jwt"`
	}
	if err := decodeJSON(r, &b); err != nil {
		return err
	}
	raw, err := optString("jwt", b.JWT, 1, 8192)
	if err != nil {
		return err
	}
	if raw == "" {
		return required("jwt")
	}
	externalID, err := s.userToken(r.Context(), integ.AppID, raw)
	if err != nil {
		return err
	}
	in := sunlamp.VisitorLogin{AppID: integ.AppID, IntegrationID: integ.ID, ExternalID: externalID}
	var old *sunlamp.VisitorSession
	if r.Header.Get("Authorization") != "" {
		sess, err := s.visitorSession(r, integ)
		if err != nil {
			return err
		}
		old, in.AnonymousUserID = &sess, sess.UserID
	}
	res, err := s.store.LoginVisitor(r.Context(), in)
	if err != nil {
		return err
	}
	token, err := s.newVisitorSession(r.Context(), integ, res.User.ID)
	if err != nil {
		return err
	}
	if old != nil {
		_ = s.store.DeleteVisitorSession(r.Context(), old.ID) // gone already when its user was merged
	}
	list, _, err := s.store.Conversations(r.Context(), integ.AppID, sunlamp.ParticipantRef{UserID: res.User.ID}, sunlamp.Page{Size: sunlamp.MaxPageSize})
	if err != nil {
		return err
	}
	out := struct {
		Token         string                    `json:"token"`
		User          visitorUserWire           `json:"user"`
		Conversations []visitorConversationWire `json:"conversations"`
	}{Token: token, User: visitorUserOut(res.User), Conversations: []visitorConversationWire{}}
	for _, c := range list {
		out.Conversations = append(out.Conversations, visitorConversationOut(c))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// userToken checks a user JWT of the app and returns its external_id.
func (s *Server) userToken(ctx context.Context, appID, raw string) (string, error) {
	var lookupErr error
	claims := jwt.MapClaims{}
	_, err := s.auth.parser.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) { // the server's clock
		kid, _ := t.Header["kid"].(string)
		if scope, known := sunlamp.ScopeOfKeyID(kid); !known || scope != sunlamp.ScopeApp || !cleanText(kid) {
			return nil, errors.New("not an app key")
		}
		k, err := s.auth.lookup(ctx, kid)
		if err != nil {
			lookupErr = err
			return nil, err
		}
		if k.AppID != appID {
			return nil, errors.New("another app's key")
		}
		return []byte(k.Secret), nil
	})
	if lookupErr != nil && sunlamp.KindOf(lookupErr) != sunlamp.KindNotFound {
		return "", lookupErr
	}
	if err != nil {
		return "", errBadUserToken
	}
	scope, _ := claims["scope"].(string)
	ext, _ := claims["external_id"].(string)
	if scope != "user" || ext == "" || utf8.RuneCountInString(ext) > 1024 || !cleanText(ext) {
		return "", errBadUserToken
	}
	return ext, nil
}

// eventStream is a response of Server-Sent Events.
type eventStream struct {
	w  http.ResponseWriter
	rc *http.ResponseController
	// ctx ends with the request, after the stream's lifetime, or at EndStreams; keepAlive ticks
	// when a ping is due.
	ctx       context.Context
	cancel    context.CancelFunc
	keepAlive *time.Ticker
}

// startEventStream answers w as a stream of Server-Sent Events that lasts at most lifetime (the
// client opens the next one) and ends at once at EndStreams. The stream has no overall write
// deadline (it outlives the minute a JSON answer gets); each event must be written within 30 s.
// Close it when done.
func (s *Server) startEventStream(w http.ResponseWriter, r *http.Request, lifetime time.Duration) *eventStream {
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	ctx, cancel := context.WithTimeout(r.Context(), lifetime)
	go func() {
		select {
		case <-s.streamsEnd:
			cancel()
		case <-ctx.Done():
		}
	}()
	return &eventStream{w: w, rc: rc, ctx: ctx, cancel: cancel, keepAlive: time.NewTicker(15 * time.Second)}
}

// over is closed when the stream must end.
func (e *eventStream) over() <-chan struct{} { return e.ctx.Done() }

// close releases the stream's timer and its watch of EndStreams.
func (e *eventStream) close() {
	e.keepAlive.Stop()
	e.cancel()
}

// send writes one event, its data as JSON, and flushes it.
func (e *eventStream) send(event string, data any) error {
	b, _ := json.Marshal(data)
	return e.write(fmt.Sprintf("event: %s\ndata: %s\n\n", event, b))
}

// ping writes a comment, which keeps proxies from closing an idle stream.
func (e *eventStream) ping() error { return e.write(": ping\n\n") }

func (e *eventStream) write(s string) error {
	_ = e.rc.SetWriteDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(e.w, s); err != nil {
		return err
	}
	return e.rc.Flush()
}
