package sunlamp

// Message is a message of a conversation. (Owned by the conversations work: issue 4.)
type Message struct {
	ID             string
	ConversationID string
}
