package sunlamp

import (
	"context"
	"time"
)

// Integration is a channel or custom integration of an app.
type Integration struct {
	ID          string
	AppID       string
	Type        string // one of IntegrationTypes
	Status      string // "active", "inactive" or "error"; Sunlamp's integrations are always active
	DisplayName string // "" when unset
	// Config holds the type's readable settings by their wire names (brandColor, pageId,
	// showAIDisclaimer, ...) as JSON values. The api package validates them per type.
	Config map[string]any
	// Credentials holds the type's write-only values (tokens, secrets, certificates) by their wire
	// names. They are stored so that a channel could use them, and never returned.
	Credentials map[string]any
	// DefaultResponderID is the write-only defaultResponderId ("" when unset).
	DefaultResponderID string
	// Webhooks are the webhooks of a custom integration, in creation order.
	Webhooks  []Webhook
	CreatedAt time.Time
}

// IntegrationTypes are the types CreateIntegration accepts, in the spec's order.
var IntegrationTypes = []string{
	"android", "apple", "custom", "instagram", "ios", "line", "mailgun", "messagebird", "messenger",
	"telegram", "twilio", "twitter", "unity", "viber", "web", "whatsapp",
}

// IntegrationCustom is the type of custom integrations: the only type with webhooks and keys.
const IntegrationCustom = "custom"

// IntegrationUpdate says what UpdateIntegration changes; nil fields are left as they are.
type IntegrationUpdate struct {
	DisplayName *string // "" clears it
	// Config and Credentials are merged key by key into the stored ones; a nil value removes the key.
	Config             map[string]any
	Credentials        map[string]any
	DefaultResponderID *string // "" clears it
}

// Integration errors with the spec's codes and titles.
var (
	ErrIntegrationNotFound    = &Error{Kind: KindNotFound, Code: "integration_not_found", Title: "Integration not found"}
	ErrTooManyWebhooks        = &Error{Kind: KindInvalid, Code: "bad_request", Title: "An app can have at most 10 webhooks"}
	ErrTooManyIntegrationKeys = &Error{Kind: KindInvalid, Code: "bad_request", Title: "A custom integration can have at most 10 API keys"}
)

// MaxWebhooks is the spec's limit of webhooks per app.
const MaxWebhooks = 10

// IntegrationStore keeps integrations, their keys and webhooks, and the delivery state of events.
// Every method is scoped by app: nothing of one app is visible through another app's id.
type IntegrationStore interface {
	// CreateIntegration stores in (ID, Status and CreatedAt set by the caller) with its Webhooks
	// (IDs, secrets and versions set by the caller) in one transaction and returns it. It returns
	// app_not_found when the app does not exist and ErrTooManyWebhooks when the app would have more
	// than MaxWebhooks webhooks.
	CreateIntegration(ctx context.Context, in Integration) (Integration, error)
	// Integration returns an app's integration with its webhooks; ErrIntegrationNotFound if none.
	Integration(ctx context.Context, appID, id string) (Integration, error)
	// Integrations lists an app's integrations in id order, one page at a time, keeping only those
	// whose type is in types when types is not empty.
	Integrations(ctx context.Context, appID string, types []string, page Page) ([]Integration, Cursor, error)
	// UpdateIntegration applies u and returns the result; ErrIntegrationNotFound if none.
	UpdateIntegration(ctx context.Context, appID, id string, u IntegrationUpdate) (Integration, error)
	// DeleteIntegration removes the integration with its webhooks, their pending deliveries and its
	// API keys; ErrIntegrationNotFound if none.
	DeleteIntegration(ctx context.Context, appID, id string) error
	// IntegrationKeys returns the API keys of an integration in creation order.
	IntegrationKeys(ctx context.Context, appID, integrationID string) ([]Key, error)

	// CreateWebhook stores w (ID, Secret, Version and CreatedAt set by the caller). It returns
	// ErrIntegrationNotFound when the app has no such integration and ErrTooManyWebhooks when the
	// app has MaxWebhooks already.
	CreateWebhook(ctx context.Context, w Webhook) (Webhook, error)
	// Webhook returns a webhook of an integration of an app; ErrNotFound if none.
	Webhook(ctx context.Context, appID, integrationID, id string) (Webhook, error)
	// Webhooks returns the webhooks of an integration in creation order; ErrIntegrationNotFound
	// when the app has no such integration.
	Webhooks(ctx context.Context, appID, integrationID string) ([]Webhook, error)
	// UpdateWebhook applies u and returns the result; ErrNotFound if none.
	UpdateWebhook(ctx context.Context, appID, integrationID, id string, u WebhookUpdate) (Webhook, error)
	// DeleteWebhook removes a webhook and its pending deliveries; ErrNotFound if none.
	DeleteWebhook(ctx context.Context, appID, integrationID, id string) error

	DeliveryStore
}
