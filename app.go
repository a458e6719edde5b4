package sunlamp

import (
	"context"
	"time"
)

// App is a Sunshine Conversations app: the unit that owns users, conversations, integrations and keys.
type App struct {
	ID          string
	AccountID   string
	DisplayName string
	Settings    AppSettings
	Metadata    Metadata
	CreatedAt   time.Time
}

// AppSettings are an app's settings. A nil pointer is a setting never given.
type AppSettings struct {
	ConversationRetentionSeconds *int64
	MaskCreditCardNumbers        *bool
	UseAnimalNames               *bool
	EchoPostback                 *bool
	IgnoreAutoConversationStart  *bool
	MultiConvoEnabled            *bool
	AppLocalizationEnabled       *bool
	EndSessionEnabled            *bool
	DisableConversationReopen    *bool
}

// Merge copies every setting that u gives (non-nil) into s.
func (s *AppSettings) Merge(u AppSettings) {
	pick := func(d **bool, v *bool) {
		if v != nil {
			*d = v
		}
	}
	if u.ConversationRetentionSeconds != nil {
		s.ConversationRetentionSeconds = u.ConversationRetentionSeconds
	}
	pick(&s.MaskCreditCardNumbers, u.MaskCreditCardNumbers)
	pick(&s.UseAnimalNames, u.UseAnimalNames)
	pick(&s.EchoPostback, u.EchoPostback)
	pick(&s.IgnoreAutoConversationStart, u.IgnoreAutoConversationStart)
	pick(&s.MultiConvoEnabled, u.MultiConvoEnabled)
	pick(&s.AppLocalizationEnabled, u.AppLocalizationEnabled)
	pick(&s.EndSessionEnabled, u.EndSessionEnabled)
	pick(&s.DisableConversationReopen, u.DisableConversationReopen)
}

// Metadata is a flat object of string, number (float64 or json.Number) or boolean values, at most
// MaxMetadataBytes when encoded as JSON.
type Metadata map[string]any

// MaxMetadataBytes is the spec's limit on every metadata object.
const MaxMetadataBytes = 4096

// AppUpdate says what UpdateApp changes; a nil field is left as it is.
type AppUpdate struct {
	DisplayName *string
	Settings    *AppSettings // merged field by field into the stored settings
	Metadata    *Metadata    // replaces the stored metadata; an empty map clears it
}

// AppStore keeps apps.
type AppStore interface {
	// CreateApp stores a new app with a new id and creation time, and returns it.
	CreateApp(ctx context.Context, app App) (App, error)
	// App returns the app with id. It returns an error with code app_not_found if there is none.
	App(ctx context.Context, id string) (App, error)
	// Apps lists the apps of account in id order, one page at a time. Bad cursors are the caller's to refuse.
	Apps(ctx context.Context, accountID string, page Page) ([]App, Cursor, error)
	// UpdateApp applies u to the app with id and returns the result; app_not_found if there is none.
	UpdateApp(ctx context.Context, id string, u AppUpdate) (App, error)
	// DeleteApp removes the app and everything it owns (keys, users, conversations, integrations, ...).
	// It returns app_not_found if there is no such app.
	DeleteApp(ctx context.Context, id string) error
}
