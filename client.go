package sunlamp

import "time"

// Client is a user's presence on one channel: a WhatsApp number, a Messenger page-scoped id, or
// (type "sdk") the Web, iOS, Android and Unity SDKs together.
type Client struct {
	ID            string
	AppID         string
	UserID        string
	Type          string // one of ClientTypes
	Status        string // one of the ClientStatus values
	IntegrationID string // "" for sdk clients, which span several integrations
	ExternalID    string // the user's id on the channel; "" for sdk clients
	LastSeen      time.Time
	LinkedAt      time.Time
	DisplayName   string         // the user's name on the channel: personal data
	AvatarURL     string         // personal data
	Info          map[string]any // curated channel data: personal data
	Raw           map[string]any // raw channel data: personal data
	// Primary says whether the client becomes the primary one of its target conversation once
	// linked (CreateClient's matchCriteria.primary).
	Primary bool
	// TargetConversationID is the conversation a pending link request attaches the client to.
	TargetConversationID string
}

// Client statuses of the spec.
const (
	ClientActive   = "active"
	ClientBlocked  = "blocked"
	ClientInactive = "inactive"
	ClientPending  = "pending"
)

// ClientTypeSDK is the type of the client that stands for every SDK integration of an app.
const ClientTypeSDK = "sdk"

// ClientTypes are the client types of the spec.
var ClientTypes = []string{"apple", "gbm", "googlercs", "instagram", "kakao", "line", "mailgun", "messagebird",
	"messenger", "slackconnect", "sdk", "telegram", "twilio", "twitter", "viber", "wechat", "whatsapp"}

// Device is a device (a browser, a phone) through which a user uses an SDK client.
type Device struct {
	ID                    string
	AppID                 string
	UserID                string
	ClientID              string
	Type                  string // android, ios or web
	GUID                  string // made by the SDK on the device
	Status                string // active or inactive
	IntegrationID         string
	LastSeen              time.Time
	PushNotificationToken string
	Info                  map[string]any
	AppVersion            string
}

// DeviceTypes are the device types of the spec.
var DeviceTypes = []string{"android", "ios", "web"}

// Client and device errors with the spec's codes and titles.
var (
	ErrClientNotFound   = &Error{Kind: KindNotFound, Code: "client_not_found", Title: "Client not found"}
	ErrDeviceNotFound   = &Error{Kind: KindNotFound, Code: "device_not_found", Title: "Device not found"}
	ErrSDKClientRemoval = &Error{Kind: KindInvalid, Code: "bad_request", Title: "Cannot remove a client of type 'sdk'"}
	// ErrClientNotPending is a client that ConfirmClient cannot confirm: it is not pending.
	ErrClientNotPending = &Error{Kind: KindConflict, Code: "conflict", Title: "Only a pending client can be confirmed"}
)

// Inbound is what a channel delivers when a customer writes in, as the inbound simulator
// (POST /_sunlamp/v1/apps/{appId}/inbound) describes it.
type Inbound struct {
	AppID         string
	Channel       string // a client type
	IntegrationID string // optional
	// UserID or UserExternalID name an existing user; when both are empty the user is the owner of
	// the client with Client.ExternalID on the channel, or a new user.
	UserID         string
	UserExternalID string
	// UserIdentities are given to a user that Inbound creates (as a Help Center login would); the v2
	// API cannot write identities, and ListUsers searches them.
	UserIdentities []Identity
	Client         Client  // ExternalID, DisplayName, AvatarURL, Info, Raw
	Device         *Device // sdk only: Type, GUID, Info, PushNotificationToken, AppVersion
	// Content is the content of a message the user writes; nil for none.
	Content *Content
	// AnimalNames gives a user that Inbound creates, when the client brings no display name, the
	// givenName and surname of AnimalName(its id) (the app's useAnimalNames).
	AnimalNames bool
	// Profile is the profile of a user that Inbound creates (a web visitor's prechat answers).
	Profile Profile
	// SourceType is the source.type of the message, "" for the channel (the web messenger's
	// messages come from "web", as the service's do).
	SourceType string
	// CreationReason is the creationReason of a conversation the message opens; "" is "message" (the
	// web messenger's prechat capture answers open theirs with "prechatCapture").
	CreationReason string
}

// InboundResult is what Inbound found or made.
type InboundResult struct {
	User         User
	Client       Client
	Device       *Device
	Conversation *Conversation // nil when there was no content
	Messages     []Message
}
