package sunlamp

import "context"

// ExportStore reads everything the store holds about one user, for the data-subject export
// (GDPR art. 15 and 20; GET /_sunlamp/v1/apps/{appId}/users/{userIdOrExternalId}/export).
type ExportStore interface {
	// ExportUser finds the live user of app appID whose id or, failing that, externalId is
	// idOrExternalID and hands what the store holds about them to x, in the order of UserExport's
	// methods: the user; their clients; their devices; each conversation they take part in (or wrote
	// in and left), in id order, followed by its messages that are theirs, oldest first (every message
	// of a personal conversation, the ones they wrote in any other); the attachments tied to them that
	// no such message names (see UserExport.Attachments); the outbox events about them that are still
	// to be delivered; the webhook flight recorder's attempts of events about them; the conversion
	// events of their conversations; the Apple interactive data recorded for them; their web messenger
	// sessions; and the audit entries about them.
	//
	// Lists are read in pages by keyset, each handed over before the next is read and none held in a
	// transaction across pages, so memory does not grow with the history and a slow reader of the
	// export never holds an old snapshot of the database. It returns ErrUserNotFound, before calling x,
	// when there is no such user; an error of x stops the export and is returned as it is.
	ExportUser(ctx context.Context, appID, idOrExternalID string, x UserExport) error
}

// UserExport receives what ExportStore.ExportUser reads, section by section. A slice it is handed
// is reused by the store once the call returns.
type UserExport interface {
	// User is called once, first.
	User(u User) error
	// Clients is called with each page of the user's clients, in id order (at least once, maybe
	// with none).
	Clients(page []Client) error
	// Devices is called with each page of the user's devices, the most recently seen first (at least
	// once).
	Devices(page []Device) error
	// Conversation starts a conversation of the user; its pages of messages follow. all says
	// whether every message of it is the user's (a personal conversation) or only the ones they wrote.
	// ConversationsDone follows the last conversation.
	Conversation(c Conversation, all bool) error
	// Messages is called with each page of the current conversation's messages that are the user's,
	// oldest first.
	Messages(page []Message) error
	// ConversationsDone says that no conversation follows.
	ConversationsDone() error
	// Attachments is called with each page of the attachments tied to the user by the store (uploaded
	// for the user's personal conversation or used first in a message the user wrote), in id order
	// (at least once). Attachments that the user's messages only name by media URL are the caller's
	// to find, from the messages.
	Attachments(page []Attachment) error
	// PendingEvents is called with each page of the outbox events about the user (those whose user
	// id is theirs) that some webhook has still to receive, oldest first (at least once).
	PendingEvents(page []PendingEvent) error
	// DeliveryAttempts is called with each page of the webhook flight recorder's attempts of events
	// about the user (DeliveryAttempt.UserID), in id order (at least once): the payloads as they were
	// sent, scrubbed if the user was erased since.
	DeliveryAttempts(page []DeliveryAttempt) error
	// ConversionEvents is called with each page of the conversion events (PostConversionEvents) of
	// the conversations the user takes part in that are about them: every one of their personal
	// conversations, and in the others those attributed to an integration of one of their clients,
	// by conversation then id (at least once).
	ConversionEvents(page []ConversionEvent) error
	// InteractiveData is called with each page of the Apple interactive data recorded for the user,
	// in id order (at least once). A Ref holds its URL, Bid and Owner only: its Key and Signature
	// are the reference's credentials (the key decrypts the data), not the person's data, and are
	// not read.
	InteractiveData(page []InteractiveData) error
	// VisitorSessions is called with each page of the user's web messenger sessions, in id order (at
	// least once), without their SecretSHA256 (never read).
	VisitorSessions(page []VisitorSession) error
	// AuditEntries is called with each page of the audit entries about the user (AuditEntry.UserID),
	// oldest first (at least once).
	AuditEntries(page []AuditEntry) error
}

// PendingEvent is an outbox event still to be delivered, and to how many webhooks.
type PendingEvent struct {
	Event
	PendingDeliveries int
}
