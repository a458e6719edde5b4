package sunlamp

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"strconv"
	"strings"
	"time"
)

// ZendeskUser is a core Zendesk (Support) user of the directory Sunlamp simulates: what a messaging
// user's zendeskId names, and what SyncUser copies from. Name and Email are personal data; the
// directory is Zendesk's, so erasing a messaging user leaves it alone (the core user is erased in
// Zendesk Support).
type ZendeskUser struct {
	ID         string // a numeric string, like the service's ("35436")
	Name       string
	Email      string // the primary email
	ExternalID string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// NewZendeskID returns a new core user id: a random number of 13 digits (Zendesk's ids are numbers).
func NewZendeskID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return strconv.FormatUint(1_000_000_000_000+binary.BigEndian.Uint64(b[:])%9_000_000_000_000, 10)
}

// SplitName splits a core user's name into a messaging profile's givenName and surname at its first
// space ("Mary Jane Watson": "Mary", "Jane Watson"): Zendesk keeps one name, messaging profiles two.
func SplitName(name string) (given, surname string) {
	name = strings.Join(strings.Fields(name), " ")
	given, surname, _ = strings.Cut(name, " ")
	return given, surname
}

// ZendeskUserUpdate says what UpdateZendeskUser changes; nil fields are kept, "" clears.
type ZendeskUserUpdate struct {
	Name, Email, ExternalID *string
}

// Zendesk directory errors.
var (
	ErrZendeskUserNotFound = &Error{Kind: KindNotFound, Code: "not_found", Title: "Zendesk user not found"}
	ErrZendeskUserExists   = &Error{Kind: KindConflict, Code: "conflict", Title: "A Zendesk user with that id, email or externalId already exists"}
	ErrZendeskIDLinked     = &Error{Kind: KindConflict, Code: "conflict", Title: "Another user of the app is linked to that Zendesk user"}
	// ErrNoZendeskLink is SyncUser's answer when no messaging user of the app has the zendeskId: the
	// spec says the user must have one (the spec documents no error; 404 user_not_found is the
	// one a user lookup answers).
	ErrNoZendeskLink = &Error{Kind: KindNotFound, Code: "user_not_found", Title: "User not found"}
)

// UserSync is what SyncUser did: the synced user, and the merges and updates it made to resolve
// conflicts (each emitted as user:merge or user:update).
type UserSync struct {
	User    User
	Merges  []UserMerge
	Updated []User // other users that lost an externalId or email to the synced user
}

// ZendeskStore keeps the simulated Zendesk directory and the messaging users' links to it.
type ZendeskStore interface {
	// CreateZendeskUser stores u (ID, CreatedAt and UpdatedAt set by the caller);
	// ErrZendeskUserExists when its id, email or externalId is taken.
	CreateZendeskUser(ctx context.Context, u ZendeskUser) (ZendeskUser, error)
	// ZendeskUser returns the core user with id; ErrZendeskUserNotFound.
	ZendeskUser(ctx context.Context, id string) (ZendeskUser, error)
	// ZendeskUsers lists the directory, oldest first (a simulated directory is small: no paging).
	ZendeskUsers(ctx context.Context) ([]ZendeskUser, error)
	// UpdateZendeskUser applies u; ErrZendeskUserNotFound, ErrZendeskUserExists.
	UpdateZendeskUser(ctx context.Context, id string, u ZendeskUserUpdate) (ZendeskUser, error)
	// DeleteZendeskUser removes a core user; the messaging users linked to it keep the zendeskId
	// (as they do when a Support user is deleted). ErrZendeskUserNotFound.
	DeleteZendeskUser(ctx context.Context, id string) error

	// LinkZendeskUser gives the app's user (id or externalId) the zendeskId of a core user, as the
	// Help Center's authentication does; "" unlinks it. ErrUserNotFound, ErrZendeskUserNotFound,
	// ErrZendeskIDLinked when another user of the app has it.
	LinkZendeskUser(ctx context.Context, appID, idOrExternalID, zendeskID string) (User, error)
	// SyncUser brings the app's user linked to zendeskID up to date with its core user, as the
	// spec's SyncUser describes: givenName and surname from the core user's name, its externalId,
	// and its primary email as the only email identity. Another user of the app holding that
	// externalId or email is merged into it (user:merge, reason api) when it has no zendeskId of
	// its own, and otherwise loses the value (user:update). With survivingZendeskID (two core users
	// merged, zendeskID going away), the user linked to zendeskID is merged into the one linked
	// to survivingZendeskID, or relinked to it when there is none, and synced with it. The synced
	// user gets user:update. ErrNoZendeskLink, ErrZendeskUserNotFound (the core user to copy from).
	SyncUser(ctx context.Context, appID, zendeskID, survivingZendeskID string) (UserSync, error)
}
