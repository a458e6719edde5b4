package api

import (
	"encoding/json"

	"github.com/sunlamp/sunlamp"
)

// messageWire is the spec's Message as the API returns it.
type messageWire struct {
	ID         string          `json:"id"`
	Received   string          `json:"received"`
	Author     authorWire      `json:"author"`
	Content    json.RawMessage `json:"content"`
	Source     sourceWire      `json:"source"`
	Metadata   map[string]any  `json:"metadata,omitempty"`
	References json.RawMessage `json:"references,omitempty"`
}

// authorWire is the spec's Author in responses (userExternalId and brandId are writeOnly).
type authorWire struct {
	Type        string   `json:"type"`
	Subtypes    []string `json:"subtypes,omitempty"`
	UserID      string   `json:"userId,omitempty"`
	DisplayName string   `json:"displayName,omitempty"`
	AvatarURL   string   `json:"avatarUrl,omitempty"`
}

type sourceWire struct {
	Type                     string  `json:"type"`
	IntegrationID            string  `json:"integrationId,omitempty"`
	OriginalMessageID        string  `json:"originalMessageId,omitempty"`
	OriginalMessageTimestamp *string `json:"originalMessageTimestamp,omitempty"`
}

func messageOut(m sunlamp.Message) messageWire {
	w := messageWire{
		ID: m.ID, Received: formatTime(m.Received), Content: json.RawMessage(m.Content.Doc),
		Author: authorWire{Type: m.Author.Type, Subtypes: m.Author.Subtypes, UserID: m.Author.UserID,
			DisplayName: m.Author.DisplayName, AvatarURL: m.Author.AvatarURL},
		Source: sourceWire{Type: m.Source.Type, IntegrationID: m.Source.IntegrationID,
			OriginalMessageID: m.Source.OriginalMessageID, OriginalMessageTimestamp: formatTimePtr(m.Source.OriginalMessageTimestamp)},
		References: m.References,
	}
	if len(m.Metadata) > 0 {
		w.Metadata = m.Metadata
	}
	return w
}

// authorBody is the spec's Author in request bodies.
type authorBody struct {
	Type           Nullable[string]   `json:"type"`
	Subtypes       Nullable[[]string] `json:"subtypes"`
	UserID         Nullable[string]   `json:"userId"`
	UserExternalID Nullable[string]   `json:"userExternalId"`
	BrandID        Nullable[string]   `json:"brandId"`
	DisplayName    Nullable[string]   `json:"displayName"`
	AvatarURL      Nullable[string]   `json:"avatarUrl"`
}

// messagePostBody is the spec's messagePost. Content is decoded generically and validated by
// validateContent.
type messagePostBody struct {
	Author      *authorBody              `json:"author"`
	Content     any                      `json:"content"`
	Destination Nullable[map[string]any] `json:"destination"`
	Metadata    Nullable[map[string]any] `json:"metadata"`
	Override    Nullable[map[string]any] `json:"override"`
	Schema      Nullable[string]         `json:"schema"`
	References  Nullable[[]any]          `json:"references"`
}

// activityBody is the spec's activityPost.
type activityBody struct {
	Author *authorBody      `json:"author"`
	Type   Nullable[string] `json:"type"`
}
