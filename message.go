package sunlamp

import (
	"encoding/json"
	"time"
)

// Message is a message of a conversation.
type Message struct {
	ID             string
	AppID          string
	ConversationID string
	Received       time.Time
	Author         Author
	Content        Content
	Source         Source
	Metadata       Metadata
	// References are sources of a bot answer, in the wire form (an array of {uri, title,
	// description}); nil when none.
	References json.RawMessage
}

// Author types of the spec.
const (
	AuthorBusiness = "business"
	AuthorUser     = "user"
)

// Author is who wrote a message or an activity. A user author's DisplayName and AvatarURL are not
// stored with the message: they are read from the user's current profile whenever the message is
// read, so that erasing a user's profile erases them from every past message at once. A business
// author keeps the ones it was posted with.
type Author struct {
	Type        string // AuthorBusiness or AuthorUser
	Subtypes    []string
	UserID      string // user authors only
	DisplayName string
	AvatarURL   string
}

// Content is a message's content. The api package validates and normalises it; the store keeps it
// as the wire document (Doc, a JSON object with its `type`), since Sunlamp only stores and relays
// content and every reader (the API, webhooks) wants that form.
type Content struct {
	Type string          // text, image, file, carousel, list, location, form, formResponse, template
	Doc  json.RawMessage // the content object in the Sunshine wire form
}

// TextContent returns the content of a plain text message.
func TextContent(text string) Content {
	doc, _ := json.Marshal(struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}{"text", text})
	return Content{Type: "text", Doc: doc}
}

// Source is where a message came from.
type Source struct {
	Type                     string // api:conversations for PostMessage, a channel type otherwise
	IntegrationID            string
	OriginalMessageID        string
	OriginalMessageTimestamp time.Time
}

// SourceAPI is the source type of messages posted through the API.
const SourceAPI = "api:conversations"
