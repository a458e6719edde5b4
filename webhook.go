package sunlamp

import (
	"context"
	"slices"
	"time"
)

// Webhook is a target that receives an app's events of the triggers it subscribes to.
type Webhook struct {
	ID                string
	AppID             string
	IntegrationID     string
	Version           string // payload schema version: always "v2"
	Target            string
	Triggers          []string
	Secret            string // sent as X-API-Key and used to sign deliveries
	IncludeFullUser   bool
	IncludeFullSource bool
	CreatedAt         time.Time
}

// WebhookVersion is the payload schema version of every webhook Sunlamp creates.
const WebhookVersion = "v2"

// WebhookUpdate says what UpdateWebhook changes; nil fields are left as they are.
type WebhookUpdate struct {
	Target            *string
	Triggers          []string // nil leaves them; non-nil replaces them
	IncludeFullUser   *bool
	IncludeFullSource *bool
}

// Triggers are the webhook trigger names of the spec (case-sensitive).
var Triggers = []string{
	"client:add", "client:remove", "client:update",
	"conversation:create", "conversation:join", "conversation:leave", "conversation:remove",
	"conversation:message", "conversation:message:delivery:channel", "conversation:message:delivery:user",
	"conversation:message:delivery:failure", "conversation:postback", "conversation:read",
	"conversation:typing", "conversation:referral", "passthrough:messaging",
	"switchboard:acceptControl", "switchboard:acceptControl:failure",
	"switchboard:offerControl", "switchboard:offerControl:failure",
	"switchboard:passControl", "switchboard:passControl:failure", "switchboard:releaseControl",
	"user:merge", "user:update", "user:remove",
}

// IsTrigger reports whether s is one of the spec's trigger names.
func IsTrigger(s string) bool { return slices.Contains(Triggers, s) }

// Delivery is one event on its way to one webhook: a claim on it is held by one dispatcher until
// its lease ends.
type Delivery struct {
	ID             int64
	Event          Event
	Webhook        Webhook
	Attempt        int       // the number of this attempt, 1 for the first
	FirstAttemptAt time.Time // when the first attempt was claimed: retries are scheduled from it
	ClaimedBy      string
}

// DeliveryOutcome is what became of an attempt.
type DeliveryOutcome int

// The outcomes of an attempt.
const (
	Delivered DeliveryOutcome = iota // the target answered 2xx
	Retry                            // try again at NextAttemptAt
	GiveUp                           // non-recoverable answer, or the last attempt failed
)

// DeliveryResult reports an attempt of a claimed delivery.
type DeliveryResult struct {
	ID            int64
	ClaimedBy     string
	Attempt       int
	Outcome       DeliveryOutcome
	NextAttemptAt time.Time // for Retry
	Status        int       // HTTP status, 0 when no response came
	Error         string    // why it failed, without personal data (no bodies)
	// Record is the webhook flight recorder's record of the attempt, nil when attempts are not
	// recorded. The dispatcher records it after FinishDeliveries.
	Record *DeliveryAttempt
}

// DeliveryStore keeps the per-webhook delivery state of outbox events. Deliveries are created in
// the transaction that writes their event, one per webhook of the app whose triggers include the
// event's type.
type DeliveryStore interface {
	// ClaimDeliveries leases up to limit deliveries that are due at now to worker until now+lease,
	// counting an attempt for each. A delivery is never claimed while an earlier delivery of the same
	// conversation (or, without one, user) to the same webhook is pending, so that a webhook gets
	// them in order. Two processes never hold the same delivery.
	ClaimDeliveries(ctx context.Context, worker string, now time.Time, lease time.Duration, limit int) ([]Delivery, error)
	// FinishDeliveries records the results of attempts; a result whose claim was lost (the lease ended
	// and someone else claimed the delivery) is ignored.
	FinishDeliveries(ctx context.Context, now time.Time, results []DeliveryResult) error
	// ReleaseDeliveryClaims ends every lease held by worker, or every lease when worker is "" (SQLite
	// at start-up: one process owns the database, so every lease is a dead process's).
	ReleaseDeliveryClaims(ctx context.Context, worker string) error
	// PruneDeliveries removes finished deliveries and events older than before that no pending
	// delivery needs.
	PruneDeliveries(ctx context.Context, before time.Time) error
}
