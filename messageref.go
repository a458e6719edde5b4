package sunlamp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"time"
)

// InteractiveDataRef is Apple Messages for Business's reference to interactive data (a form's
// answers, a list picker's selection, a payment) kept on iCloud: what a passthrough:messaging
// webhook carries and DownloadMessageRef takes. Each field is an opaque string.
type InteractiveDataRef struct {
	URL, Bid, Key, Signature, Owner string
}

// InteractiveData is interactive data that the channel simulator recorded for a user of an apple
// integration, with the reference that DownloadMessageRef exchanges for it. Content is what the
// customer sent (personal data, like a message's content): it goes with the user.
type InteractiveData struct {
	ID            string
	AppID         string
	IntegrationID string // an apple integration of the app
	UserID        string
	// ConversationID is the customer's conversation where passthrough:messaging told the
	// business of the data (set by the store when it records it).
	ConversationID string
	Ref            InteractiveDataRef
	Content        []byte // a JSON object, answered as DownloadMessageRef's body
	CreatedAt      time.Time
}

// AppleDefaultBid is the bid of the interactive data that Apple's Messages for Business extension
// sends (the spec's example), used when the simulator is given none.
const AppleDefaultBid = "com.apple.messages.MSMessageExtensionBalloonPlugin:0000000000:com.apple.icloud.apps.messages.business.extension"

// NewInteractiveDataRef returns a new reference shaped like Apple's: an owner id, an iCloud
// content URL under a host that cannot resolve (nothing fetches it: DownloadMessageRef answers from
// what the simulator recorded), and a random key and signature.
func NewInteractiveDataRef(bid string) InteractiveDataRef {
	if bid == "" {
		bid = AppleDefaultBid
	}
	owner := "M" + strings.ToUpper(randomHex(32)) + ".C01USN00"
	return InteractiveDataRef{
		URL: "https://p00-content.icloud.sunlamp.invalid/" + owner, Bid: bid, Owner: owner,
		Key: "00" + randomHex(32), Signature: randomHex(21),
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Interactive data errors. The spec documents no errors for DownloadMessageRef; these are
// Sunlamp's, in the spec's usual codes.
var (
	ErrInteractiveDataNotFound = &Error{Kind: KindNotFound, Code: "not_found", Title: "Interactive data reference not found"}
	ErrNotAppleIntegration     = Invalid("interactive data references are made by apple integrations only")
	ErrNoAppleClient           = Invalid("The user has no client of that apple integration: a customer writes in first (the inbound simulator, channel apple)")
)

// InteractiveDataStore keeps the interactive data that the simulator records for DownloadMessageRef.
type InteractiveDataStore interface {
	// RecordInteractiveData stores d (ID, Ref and CreatedAt set by the caller) for the user of the
	// app whose id or externalId is d.UserID, and returns it with the user's id. It returns
	// ErrIntegrationNotFound, ErrNotAppleIntegration, ErrUserNotFound, or ErrNoAppleClient when the
	// user has no client of the integration.
	RecordInteractiveData(ctx context.Context, d InteractiveData) (InteractiveData, error)
	// InteractiveData returns the data a reference points at, for DownloadMessageRef: the
	// conversation must be the app's (ErrConversationNotFound), the user the app's (its id or
	// externalId; ErrUserNotFound), and ref one recorded for that user, every field equal
	// (ErrInteractiveDataNotFound otherwise).
	InteractiveData(ctx context.Context, appID, conversationID, userID string, ref InteractiveDataRef) (InteractiveData, error)
}
