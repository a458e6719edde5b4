package sunlamp

import "context"

// Store is everything Sunlamp keeps. The sqlstore package implements it for SQLite and PostgreSQL.
// Each method's doc states its error contract; not-found is always an error, never a zero value.
type Store interface {
	AppStore
	KeyStore
	UserStore
	VisitorStore
	ChannelEventStore
	ConversationStore
	IntegrationStore
	AttachmentStore
	SwitchboardStore
	ResetStore
	ClockStore
	RecorderStore
	SnapshotStore
	ConversionEventStore
	InteractiveDataStore
	OAuthStore
	ZendeskStore
	AuditStore
	ExportStore
	// Ping answers nil when the store can answer queries.
	Ping(ctx context.Context) error
	// Close releases the store; on SQLite it checkpoints and truncates the write-ahead log.
	Close() error
}
