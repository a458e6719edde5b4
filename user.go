package sunlamp

import (
	"context"
	"time"
)

// User is an app's end user.
type User struct {
	ID           string
	AppID        string
	ExternalID   string // "" when none
	BrandID      string // "" unless the user is brand-separated
	ZendeskID    string // the core Zendesk user it is linked to ("" when none; see ZendeskStore)
	SignedUpAt   time.Time
	ToBeRetained bool
	Profile      Profile
	Metadata     Metadata
	Identities   []Identity
	// Authenticated says that the user logged in with a user JWT (the web messenger's login, as
	// the SDKs'); webhooks show it (userTruncated.authenticated), the REST API does not.
	Authenticated bool
}

// Profile is a user's profile; "" is a field not set.
type Profile struct {
	GivenName string
	Surname   string
	Email     string
	AvatarURL string
	Locale    string
}

// DisplayName is the name a user's messages are shown under: given name and surname joined by a
// space, "" when both are empty. It is computed when a message is read, never stored with the
// message, so that erasing the profile erases it everywhere at once.
func (p Profile) DisplayName() string {
	switch {
	case p.GivenName == "":
		return p.Surname
	case p.Surname == "":
		return p.GivenName
	}
	return p.GivenName + " " + p.Surname
}

// Identity is an identity of a user (an email address, for example). The v2 API cannot write them.
type Identity struct {
	Type         string
	Value        string
	Verification string
}

// User errors with the spec's codes and titles.
var (
	ErrUserNotFound = &Error{Kind: KindNotFound, Code: "user_not_found", Title: "User not found"}
	ErrUserExists   = &Error{Kind: KindConflict, Code: "conflict", Title: "User already exists"}
)

// ProfileUpdate says what UpdateUser changes in a profile, field by field: a nil field is kept, a
// pointer to "" clears the field, anything else sets it.
type ProfileUpdate struct {
	GivenName *string
	Surname   *string
	Email     *string
	AvatarURL *string
	Locale    *string
}

// Apply returns p with u's changes.
func (u ProfileUpdate) Apply(p Profile) Profile {
	set := func(d *string, v *string) {
		if v != nil {
			*d = *v
		}
	}
	set(&p.GivenName, u.GivenName)
	set(&p.Surname, u.Surname)
	set(&p.Email, u.Email)
	set(&p.AvatarURL, u.AvatarURL)
	set(&p.Locale, u.Locale)
	return p
}

// UserUpdate says what UpdateUser changes; a nil field is left as it is.
type UserUpdate struct {
	SignedUpAt   *time.Time
	ToBeRetained *bool
	Profile      *ProfileUpdate // merged field by field
	Metadata     *Metadata      // replaces the stored metadata; an empty map clears it
}

// UserStore keeps users, their clients and devices, and performs the data-subject operations.
//
// Every method is scoped by app: a user, client or device of one app is never found through another.
// {idOrExternalID} arguments are looked up as a user id first and as an externalId failing that.
type UserStore interface {
	// CreateUser stores u (ID and SignedUpAt set by the caller). It returns ErrUserExists when the app
	// has a user with the same ExternalID, and app_not_found when the app does not exist.
	CreateUser(ctx context.Context, u User) (User, error)
	// User returns the user of app whose id or, failing that, externalId is idOrExternalID;
	// ErrUserNotFound if there is none.
	User(ctx context.Context, appID, idOrExternalID string) (User, error)
	// UsersByIdentityEmail returns the users of app with an identity of type email and value email
	// (profile emails are never matched), in id order. None is an empty list, not an error.
	UsersByIdentityEmail(ctx context.Context, appID, email string) ([]User, error)
	// UpdateUser applies u to the user and returns the result; ErrUserNotFound if there is none.
	UpdateUser(ctx context.Context, appID, idOrExternalID string, u UserUpdate) (User, error)
	// DeleteUserPersonalInformation clears the user's givenName, surname, email, avatarUrl, locale
	// and metadata, and the displayName, avatarUrl, info and raw of every client of the user, and
	// rewrites the outbox events that hold copies of them. Its cost does not depend on how many
	// messages the user has. It returns the scrubbed user; ErrUserNotFound if there is none.
	DeleteUserPersonalInformation(ctx context.Context, appID, idOrExternalID string) (User, error)
	// DeleteUser removes the user at once (it is not found afterwards, and its externalId is free),
	// with its clients and devices, and schedules the removal of its conversation history, which
	// finishes in the background and resumes after a restart. It emits user:remove. It returns
	// ErrUserNotFound if there is no such user.
	DeleteUser(ctx context.Context, appID, idOrExternalID string) error

	// CreateClient stores a client of the user (its ID, LinkedAt and Status are set by the store
	// when empty) and emits client:add. ErrUserNotFound if there is no such user.
	CreateClient(ctx context.Context, appID, idOrExternalID string, c Client) (Client, error)
	// Clients lists the user's clients in id order, one page at a time; ErrUserNotFound if there is
	// no such user.
	Clients(ctx context.Context, appID, idOrExternalID string, page Page) ([]Client, Cursor, error)
	// RemoveClient removes a client of the user and its devices, and emits client:remove.
	// ErrUserNotFound, ErrClientNotFound, or ErrSDKClientRemoval for an sdk client.
	RemoveClient(ctx context.Context, appID, idOrExternalID, clientID string) error
	// Devices lists the user's devices, most recently seen first; ErrUserNotFound if there is no
	// such user.
	Devices(ctx context.Context, appID, idOrExternalID string) ([]Device, error)
	// Device returns a device of the user; ErrUserNotFound or ErrDeviceNotFound.
	Device(ctx context.Context, appID, idOrExternalID, deviceID string) (Device, error)
	// MessageSource returns the client (and its most recently seen device, if any) through which
	// the user's message of source type sourceType and integration integrationID came in: the
	// user's most recently seen client of that integration, or of that type. It returns
	// ErrClientNotFound if the user has none. Webhooks with includeFullSource read it at delivery
	// time, so that an erased client's channel data is never sent.
	MessageSource(ctx context.Context, appID, userID, sourceType, integrationID string) (Client, *Device, error)

	// Inbound records what a channel delivers when a customer writes in: it finds or creates the
	// user and the client, records the device, and appends the message if there is one. See Inbound.
	Inbound(ctx context.Context, in Inbound) (InboundResult, error)
	// ConfirmClient makes a pending client of the user active, as the channel does once the
	// customer confirms a link that CreateClient started, and emits client:update (reason
	// confirmed). It returns ErrUserNotFound, ErrClientNotFound, or ErrClientNotPending.
	ConfirmClient(ctx context.Context, appID, idOrExternalID, clientID string) (Client, error)
}
