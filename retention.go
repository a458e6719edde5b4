package sunlamp

import "time"

// Conversation retention (issue 17, section 4): the app setting conversationRetentionSeconds, which
// the service documents as "Number of seconds of inactivity before a conversation's messages will be
// automatically deleted" (spec: AppSettings.conversationRetentionSeconds, minimum 0) and whose
// deletion it likens to Delete All Messages (docs.smooch.io, "Creating and Managing Apps",
// Conversation Retention Seconds; "Clearing conversations": conversations "clear themselves
// automatically after a configurable period of inactivity"). So the messages go, with their
// attachments, and the conversation stays, empty, as after Delete All Messages; no webhook is
// documented for it, and none is sent.

// RetentionPeriod returns how long a conversation of the app may stay inactive (no message since
// its lastUpdatedAt) before its messages are deleted, and false when they are kept for ever: the
// setting unset or 0. (The spec allows 0 and says nothing more; a 0 that deleted every message at
// once would make the app unusable, so it is read as "no retention", as an unset value is.)
func (s AppSettings) RetentionPeriod() (time.Duration, bool) {
	if s.ConversationRetentionSeconds == nil || *s.ConversationRetentionSeconds <= 0 {
		return 0, false
	}
	sec := *s.ConversationRetentionSeconds
	// Beyond ~292 years a Duration overflows: such a period keeps everything anyway.
	if sec > int64(maxRetention/time.Second) {
		return 0, false
	}
	return time.Duration(sec) * time.Second, true
}

// maxRetention is the longest retention period RetentionPeriod applies (a hundred years); a longer
// one keeps everything, as no period would.
const maxRetention = 100 * 365 * 24 * time.Hour

// RetentionExpired reports whether a conversation last active at lastActive is inactive for longer
// than period at now, so that its messages are to be deleted.
func RetentionExpired(lastActive, now time.Time, period time.Duration) bool {
	return lastActive.Before(now.Add(-period))
}
