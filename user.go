package sunlamp

import (
	"context"
	"time"
)

// User is an app's end user.
type User struct {
	ID         string
	AppID      string
	ExternalID string // "" when none
	SignedUpAt time.Time
	Profile    Profile
	Metadata   Metadata
	Identities []Identity
}

// Profile is a user's profile; "" is a field not set.
type Profile struct {
	GivenName string
	Surname   string
	Email     string
	AvatarURL string
	Locale    string
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

// UserStore keeps users.
type UserStore interface {
	// CreateUser stores u (ID and SignedUpAt set by the caller). It returns ErrUserExists when the app
	// has a user with the same ExternalID, and app_not_found when the app does not exist.
	CreateUser(ctx context.Context, u User) (User, error)
	// User returns the user of app whose id or, failing that, externalId is idOrExternalID;
	// ErrUserNotFound if there is none.
	User(ctx context.Context, appID, idOrExternalID string) (User, error)
}
