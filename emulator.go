package sunlamp

import (
	"context"
	"sync/atomic"
	"time"
)

// VirtualClock is the emulator's clock (`sunlamp serve --emulator`): it runs at the system clock's
// pace from an offset that tests move forward, never back. One VirtualClock serves a whole server
// process (the store's timestamps, the API's JWT checks, the webhook dispatcher's schedules and
// leases), so that moving it moves every one of them. Its zero value is the system clock.
type VirtualClock struct {
	offset atomic.Int64 // nanoseconds ahead of the system clock
}

// Now returns the system time plus the clock's offset.
func (c *VirtualClock) Now() time.Time { return time.Now().Add(c.Offset()) }

// Offset returns how far the clock is ahead of the system clock.
func (c *VirtualClock) Offset() time.Duration { return time.Duration(c.offset.Load()) }

// SetOffset moves the clock to offset d ahead of the system clock, unless that would move it back;
// it reports whether the clock moved.
func (c *VirtualClock) SetOffset(d time.Duration) bool {
	for {
		cur := c.offset.Load()
		if int64(d) <= cur {
			return false
		}
		if c.offset.CompareAndSwap(cur, int64(d)) {
			return true
		}
	}
}

// ErrClockBackwards is the emulator clock's answer to a move into its past.
var ErrClockBackwards = Invalid("set must not be earlier than the clock's current time: the clock never goes backwards")

// ResetStore empties apps, or the whole store, for the emulator's reset controls.
type ResetStore interface {
	// ResetApp removes the app's users (with their clients and devices), conversations (with their
	// participants and messages), attachments (and their bytes, before it returns), outbox events,
	// deliveries and recorded delivery attempts, and keeps the app, its settings, keys,
	// integrations, webhooks and switchboard. It returns app_not_found when the app does not exist.
	ResetApp(ctx context.Context, appID string) error
	// ResetAll removes every app (and all it holds) and every key but the account keys.
	ResetAll(ctx context.Context) error
}

// ClockStore keeps the emulator clock's offset in the database, so that every server process
// sharing it reads one clock.
type ClockStore interface {
	// ClockOffset returns the stored offset (0 when the clock never moved).
	ClockOffset(ctx context.Context) (time.Duration, error)
	// AdvanceClock adds d (> 0) to the stored offset, atomically, and returns the new offset.
	AdvanceClock(ctx context.Context, d time.Duration) (time.Duration, error)
	// SetClockOffset stores offset d and returns it, or ErrClockBackwards when d is below the
	// stored offset.
	SetClockOffset(ctx context.Context, d time.Duration) (time.Duration, error)
}

// SnapshotStore exports an app as a snapshot document and loads one.
type SnapshotStore interface {
	// Snapshot returns the app's snapshot document (see the README, "Emulator controls"). The
	// media URLs of messages that start with baseURL + "/attachments/v2/" (the server's own) are
	// written relative to the server. It returns app_not_found when the app does not exist.
	Snapshot(ctx context.Context, appID, baseURL string) ([]byte, error)
	// LoadSnapshot creates the app of a snapshot document in account accountID, keeping every id
	// (relative media URLs made absolute with baseURL), and returns its id. It returns a 400 error
	// naming the field for a document it cannot load, and a 409 conflict when an id of the
	// document is taken.
	LoadSnapshot(ctx context.Context, accountID, baseURL string, doc []byte) (string, error)
}

// DeliveryAttempt is one attempt to deliver an event to a webhook, as the webhook flight recorder
// keeps it for 24 hours of clock time. It holds personal data: RequestBody is the payload as sent
// (with includeFullUser, the user's profile), and ResponseBody is whatever the target answered;
// erasing or deleting UserID's user scrubs both (RecorderStore).
type DeliveryAttempt struct {
	ID        string // a time-ordered id, like every record's
	AppID     string
	EventID   string
	EventType string
	UserID    string // the event's user, "" when none: erasure finds the attempts through it
	WebhookID string
	Target    string
	Attempt   int  // 1 for the first attempt
	Redeliver bool // sent by RedeliverEvent, outside the retry schedule
	// RequestHeaders are the headers sent, secrets (X-API-Key, webhook-signature) redacted.
	RequestHeaders map[string][]string
	RequestBody    []byte
	// ResponseStatus is 0 when no response came (Error says why).
	ResponseStatus  int
	ResponseHeaders map[string][]string
	ResponseBody    []byte // at most MaxRecordedResponse bytes
	Duration        time.Duration
	Error           string
	Outcome         DeliveryOutcome
	NextAttemptAt   time.Time // when the next attempt is due (Outcome Retry), zero otherwise
	CreatedAt       time.Time // when the attempt was made
}

// MaxRecordedResponse bounds the bytes of a response body the recorder keeps.
const MaxRecordedResponse = 64 << 10

// DeliveryAttemptFilter selects recorded attempts; empty fields select all.
type DeliveryAttemptFilter struct {
	WebhookID string
	EventType string
	EventID   string
	Outcome   *DeliveryOutcome
	Status    int // the response status; 0 selects all
}

// ErrDeliveryAttemptNotFound and ErrEventNotFound are the recorder's not-found errors.
var (
	ErrDeliveryAttemptNotFound = NotFound("delivery_not_found", "Delivery not found")
	ErrEventNotFound           = NotFound("event_not_found", "Event not found")
	ErrWebhookNotFound         = NotFound("webhook_not_found", "Webhook not found")
)

// RecorderStore keeps the webhook flight recorder's attempts, and gives redelivery the events and
// webhooks it sends again.
type RecorderStore interface {
	// RecordDeliveryAttempts stores attempts. An attempt whose user was erased or deleted after it
	// was rendered is stored scrubbed, as erasure would have left it.
	RecordDeliveryAttempts(ctx context.Context, attempts []DeliveryAttempt) error
	// DeliveryAttempts returns a page of the app's recorded attempts, oldest first.
	DeliveryAttempts(ctx context.Context, appID string, f DeliveryAttemptFilter, p Page) ([]DeliveryAttempt, Cursor, error)
	// DeliveryAttempt returns one recorded attempt, or ErrDeliveryAttemptNotFound.
	DeliveryAttempt(ctx context.Context, appID, id string) (DeliveryAttempt, error)
	// Event returns an outbox event of the app (kept 24 hours after its deliveries finished), or
	// ErrEventNotFound.
	Event(ctx context.Context, appID, id string) (Event, error)
	// AppWebhooks returns every webhook of the app, by id.
	AppWebhooks(ctx context.Context, appID string) ([]Webhook, error)
}
