package client

// MessagePost is the body of PostMessage.
type MessagePost struct {
	Author      Author         `json:"author"`
	Content     Content        `json:"content"`
	Destination *Destination   `json:"destination,omitempty"`
	Metadata    Metadata       `json:"metadata,omitempty"`
	Override    map[string]any `json:"override,omitempty"`
	Schema      string         `json:"schema,omitempty"`
}

// Author is who wrote a message: type business or user.
type Author struct {
	Type           string   `json:"type"`
	Subtypes       []string `json:"subtypes,omitempty"`
	UserID         string   `json:"userId,omitempty"`
	UserExternalID string   `json:"userExternalId,omitempty"` // write-only
	BrandID        string   `json:"brandId,omitempty"`        // write-only
	DisplayName    string   `json:"displayName,omitempty"`
	AvatarURL      string   `json:"avatarUrl,omitempty"`
}

// Destination sends a business message through one channel only.
type Destination struct {
	IntegrationID   string `json:"integrationId,omitempty"`
	IntegrationType string `json:"integrationType,omitempty"`
}

// Content is a message's content. It is the union of the fields of every content type (text, image,
// file, carousel, list, location, form, formResponse, template); Type says which apply.
type Content struct {
	Type            string           `json:"type"`
	Text            string           `json:"text,omitempty"`
	HTMLText        string           `json:"htmlText,omitempty"`
	MarkdownText    string           `json:"markdownText,omitempty"` // write-only
	BlockChatInput  *bool            `json:"blockChatInput,omitempty"`
	Actions         []Action         `json:"actions,omitempty"`
	Payload         string           `json:"payload,omitempty"`
	MediaURL        string           `json:"mediaUrl,omitempty"`
	MediaType       string           `json:"mediaType,omitempty"`
	MediaSize       float64          `json:"mediaSize,omitempty"`
	AltText         string           `json:"altText,omitempty"`
	AttachmentID    string           `json:"attachmentId,omitempty"`
	Items           []Item           `json:"items,omitempty"`
	DisplaySettings map[string]any   `json:"displaySettings,omitempty"`
	Coordinates     *Coordinates     `json:"coordinates,omitempty"`
	Location        map[string]any   `json:"location,omitempty"`
	Fields          []map[string]any `json:"fields,omitempty"`
	Submitted       *bool            `json:"submitted,omitempty"`
	TextFallback    string           `json:"textFallback,omitempty"`
	Template        map[string]any   `json:"template,omitempty"`
}

// Coordinates are a location's latitude and longitude.
type Coordinates struct {
	Lat  float64 `json:"lat"`
	Long float64 `json:"long"`
}

// Item is a carousel or list item.
type Item struct {
	Title       string   `json:"title"`
	Description string   `json:"description,omitempty"`
	MediaURL    string   `json:"mediaUrl,omitempty"`
	MediaType   string   `json:"mediaType,omitempty"`
	AltText     string   `json:"altText,omitempty"`
	Size        string   `json:"size,omitempty"`
	Actions     []Action `json:"actions"`
	Metadata    Metadata `json:"metadata,omitempty"`
}

// Action is a button: the union of the fields of buy, link, locationRequest, postback, reply and webview.
type Action struct {
	Type                string         `json:"type"`
	Text                string         `json:"text"`
	URI                 string         `json:"uri,omitempty"`
	Payload             string         `json:"payload,omitempty"`
	Amount              int64          `json:"amount,omitempty"`
	Currency            string         `json:"currency,omitempty"`
	Default             *bool          `json:"default,omitempty"`
	Fallback            string         `json:"fallback,omitempty"`
	Size                string         `json:"size,omitempty"`
	OpenOnReceive       *bool          `json:"openOnReceive,omitempty"`
	IconURL             string         `json:"iconUrl,omitempty"`
	Metadata            Metadata       `json:"metadata,omitempty"`
	ExtraChannelOptions map[string]any `json:"extraChannelOptions,omitempty"`
}
