package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/sunlamp/sunlamp"
)

// This file holds the Sunshine JSON shapes shared by every operation and their conversion to and
// from domain types. Shapes of one operation group live in wire_<group>.go.

// Nullable is a request field that distinguishes absent (Set false), null (Set, Null) and a value.
type Nullable[T any] struct {
	Set   bool
	Null  bool
	Value T
}

// UnmarshalJSON records that the field was present, and whether it was null.
func (n *Nullable[T]) UnmarshalJSON(b []byte) error {
	n.Set = true
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		n.Null = true
		return nil
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(&n.Value)
}

// formatTime formats t as the wire's YYYY-MM-DDThh:mm:ss.SSSZ.
func formatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// formatTimePtr formats t, or returns nil for the zero time so that the field is omitted.
func formatTimePtr(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := formatTime(t)
	return &s
}

// validateMetadata checks a metadata object: flat, values string, number or boolean, at most 4096
// bytes as JSON. what names the owner in the title ("App", "User", ...), as the spec's
// "App metadata is limited to 4096 bytes in size." does.
func validateMetadata(what, field string, m map[string]any) (sunlamp.Metadata, error) {
	if m == nil {
		return nil, nil
	}
	for k, v := range m {
		switch v.(type) {
		case string, bool, json.Number, float64:
		default:
			return nil, sunlamp.Invalid("%s.%s should be a string, number or boolean: %s metadata is a flat object", field, k, what)
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, sunlamp.Invalid("%s is not valid JSON", field)
	}
	if len(b) > sunlamp.MaxMetadataBytes {
		return nil, sunlamp.Invalid("%s metadata is limited to %d bytes in size.", what, sunlamp.MaxMetadataBytes)
	}
	return sunlamp.Metadata(m), nil
}

// metadataOut returns m for a response, {} when empty.
func metadataOut(m sunlamp.Metadata) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// validateDisplayName checks the spec's displayName schema: a string of 1..100 characters.
func validateDisplayName(field, v string) error {
	if n := len([]rune(v)); n < 1 || n > 100 {
		return sunlamp.Invalid("%s should be a string of 1 to 100 characters", field)
	}
	return nil
}

// required returns the AJV-style title the spec shows for a missing property.
func required(name string) error {
	return sunlamp.Invalid("should have required property '%s'", name)
}

// boolPtr returns a pointer to b.
func boolPtr(b bool) *bool { return &b }

// itoa formats an int.
func itoa(n int) string { return fmt.Sprint(n) }

// ---- Apps and keys ----

type appSettingsWire struct {
	ConversationRetentionSeconds *int64 `json:"conversationRetentionSeconds,omitempty"`
	MaskCreditCardNumbers        *bool  `json:"maskCreditCardNumbers,omitempty"`
	UseAnimalNames               *bool  `json:"useAnimalNames,omitempty"`
	EchoPostback                 *bool  `json:"echoPostback,omitempty"`
	IgnoreAutoConversationStart  *bool  `json:"ignoreAutoConversationStart,omitempty"`
	MultiConvoEnabled            *bool  `json:"multiConvoEnabled,omitempty"`
	AppLocalizationEnabled       *bool  `json:"appLocalizationEnabled,omitempty"`
	EndSessionEnabled            *bool  `json:"endSessionEnabled,omitempty"`
	DisableConversationReopen    *bool  `json:"disableConversationReopen,omitempty"`
}

func (w appSettingsWire) domain() sunlamp.AppSettings { return sunlamp.AppSettings(w) }

type appWire struct {
	ID          string          `json:"id"`
	DisplayName string          `json:"displayName"`
	Settings    appSettingsWire `json:"settings"`
	Metadata    map[string]any  `json:"metadata"`
}

func appOut(a sunlamp.App) appWire {
	return appWire{ID: a.ID, DisplayName: a.DisplayName, Settings: appSettingsWire(a.Settings), Metadata: metadataOut(a.Metadata)}
}

type appKeyWire struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	Secret      string `json:"secret"`
}

func keyOut(k sunlamp.Key) appKeyWire {
	return appKeyWire{ID: k.ID, DisplayName: k.DisplayName, Secret: k.Secret}
}

// metaWire and linksWire are the list envelope's cursor parts.
type metaWire struct {
	HasMore      bool   `json:"hasMore"`
	AfterCursor  string `json:"afterCursor,omitempty"`
	BeforeCursor string `json:"beforeCursor,omitempty"`
}

type linksWire struct {
	Prev string `json:"prev,omitempty"`
	Next string `json:"next,omitempty"`
}
