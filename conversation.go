package sunlamp

// Conversation is a conversation of an app. (Owned by the conversations work: issue 4.)
type Conversation struct {
	ID    string
	AppID string
}

// ConversationStore keeps conversations, participants, messages and activities.
type ConversationStore interface {
	// filled by the conversations work (issue 4)
}
