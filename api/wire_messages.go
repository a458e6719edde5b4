package api

import (
	"encoding/json"
	"unicode/utf8"

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

// appendMessageJSON appends m in the wire form of messageWire. ListMessages writes up to 100
// messages per page, so its encoding is written out by hand: encoding/json would re-validate and
// compact every stored content document (a RawMessage) on each read.
func appendMessageJSON(b []byte, m sunlamp.Message) []byte {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, m.ID)
	b = append(b, `,"received":"`...)
	b = m.Received.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z")
	b = append(b, `","author":{"type":`...)
	b = appendJSONString(b, m.Author.Type)
	if len(m.Author.Subtypes) > 0 {
		b = append(b, `,"subtypes":[`...)
		for i, s := range m.Author.Subtypes {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, s)
		}
		b = append(b, ']')
	}
	b = appendOptionalString(b, "userId", m.Author.UserID)
	b = appendOptionalString(b, "displayName", m.Author.DisplayName)
	b = appendOptionalString(b, "avatarUrl", m.Author.AvatarURL)
	b = append(b, `},"content":`...)
	b = append(b, m.Content.Doc...) // validated and compact when it was stored
	b = append(b, `,"source":{"type":`...)
	b = appendJSONString(b, m.Source.Type)
	b = appendOptionalString(b, "integrationId", m.Source.IntegrationID)
	b = appendOptionalString(b, "originalMessageId", m.Source.OriginalMessageID)
	if !m.Source.OriginalMessageTimestamp.IsZero() {
		b = append(b, `,"originalMessageTimestamp":"`...)
		b = m.Source.OriginalMessageTimestamp.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z")
		b = append(b, '"')
	}
	b = append(b, '}')
	if len(m.Metadata) > 0 {
		if md, err := json.Marshal(m.Metadata); err == nil {
			b = append(b, `,"metadata":`...)
			b = append(b, md...)
		}
	}
	if len(m.References) > 0 {
		b = append(b, `,"references":`...)
		b = append(b, m.References...)
	}
	return append(b, '}')
}

func appendOptionalString(b []byte, key, v string) []byte {
	if v == "" {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return appendJSONString(b, v)
}

// appendJSONString appends s as a JSON string: quotes, backslashes and control characters escaped,
// invalid UTF-8 replaced by U+FFFD, as encoding/json does (without its HTML escaping, like writeJSON).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
