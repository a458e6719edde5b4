package sunlamp

import (
	"context"
	"time"
)

// The audit trail (issue 17): what was done to people's data, by which key, with what outcome, and
// how much it touched. An entry holds ids and counts only: the internal user id, never an externalId,
// a name or an email, so that the trail itself holds no personal data and may be kept for years.

// AuditEntry is one entry of the audit trail.
type AuditEntry struct {
	ID        string
	AppID     string
	At        time.Time
	Operation string // one of the Audit* operations
	UserID    string // the internal user id, never an externalId; "" for work about no one user
	KeyID     string // the key that acted (ActorOf), or AuditSystemActor for background work
	Outcome   string // AuditOK, or the code of the error the operation ended with
	Counts    map[string]int64
}

// The operations of the audit trail, as stored and shown.
const (
	AuditDeleteUserPersonalInformation = "deleteUserPersonalInformation"
	AuditDeleteUser                    = "deleteUser"          // requested: the user is gone for the API
	AuditDeleteUserCompleted           = "deleteUserCompleted" // the background purge removed its history
	AuditExport                        = "export"
	AuditRetentionSweep                = "retentionSweep"
)

// AuditOperations lists the operations of the audit trail.
var AuditOperations = []string{AuditDeleteUserPersonalInformation, AuditDeleteUser, AuditDeleteUserCompleted, AuditExport, AuditRetentionSweep}

// AuditOK is the outcome of an operation that succeeded.
const AuditOK = "ok"

// AuditSystemActor is the KeyID of entries recorded for work no key asked for at that moment (the
// background purge, the retention sweep).
const AuditSystemActor = "system"

// The keys of AuditEntry.Counts (camelCase, as shown on the wire).
const (
	CountClientsCleared        = "clientsCleared"
	CountDevicesCleared        = "devicesCleared"
	CountIdentitiesCleared     = "identitiesCleared"
	CountMessagesRemoved       = "messagesRemoved"
	CountConversationsRemoved  = "conversationsRemoved"
	CountFilesRemoved          = "filesRemoved"
	CountMessagesExported      = "messagesExported"
	CountConversationsExported = "conversationsExported"
	CountAttachmentsExported   = "attachmentsExported"
)

// DefaultAuditRetention is how long audit entries and deletion receipts are kept unless configured:
// six years.
const DefaultAuditRetention = 6 * 365 * 24 * time.Hour

type actorKey struct{}

// WithActor returns ctx carrying the id of the key on whose behalf the work is done, so that the
// store records it in the audit trail. The API's authentication sets it for every request.
func WithActor(ctx context.Context, keyID string) context.Context {
	return context.WithValue(ctx, actorKey{}, keyID)
}

// ActorOf returns the key id WithActor put in ctx, or AuditSystemActor when there is none (work no
// request asked for).
func ActorOf(ctx context.Context) string {
	if id, _ := ctx.Value(actorKey{}).(string); id != "" {
		return id
	}
	return AuditSystemActor
}

// AuditFilter narrows a list of audit entries; zero fields do not filter. Since is inclusive,
// Until exclusive.
type AuditFilter struct {
	UserID    string
	Operation string
	Since     time.Time
	Until     time.Time
}

// Deletion is the receipt of a Delete User: pending from the request until the background purge has
// removed the user's history, then complete, with what the purge removed.
type Deletion struct {
	AppID                string
	UserID               string // the internal id the deleted user had
	Status               string // DeletionPending or DeletionComplete
	RequestedAt          time.Time
	CompletedAt          time.Time // zero while pending
	MessagesRemoved      int64
	ConversationsRemoved int64
	FilesRemoved         int64
}

// The statuses of a Deletion.
const (
	DeletionPending  = "pending"
	DeletionComplete = "complete"
)

// ErrDeletionNotFound is the error for a deletion receipt that does not exist in the app.
var ErrDeletionNotFound = &Error{Kind: KindNotFound, Code: "deletion_not_found", Title: "Deletion not found"}

// AuditStore keeps the audit trail and the deletion receipts. Both are kept for the store's audit
// retention (then removed in the background by the store's clock) and removed with their app.
type AuditStore interface {
	// RecordAudit stores e (its ID and At are set when empty; KeyID defaults to ActorOf(ctx)) and
	// writes one log line for it. It is for work done outside the store's own transactions (an
	// export); the store's erasure, deletion and purge record their entries in the same
	// transaction as the change they record.
	RecordAudit(ctx context.Context, e AuditEntry) error
	// AuditEntries returns a page of the app's audit entries that match f, oldest first.
	AuditEntries(ctx context.Context, appID string, f AuditFilter, p Page) ([]AuditEntry, Cursor, error)
	// Deletion returns the receipt of the deletion of the user that had the id userID in the app, or
	// ErrDeletionNotFound.
	Deletion(ctx context.Context, appID, userID string) (Deletion, error)
}
