package api

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sunlamp/sunlamp"
)

// Conversations for the console (issue 16), beyond /v2: every conversation of an app, the most
// recently active first (ListConversations lists one user's only), and a live stream of one
// conversation's changes.

// conversationSummaryWire is one conversation of BrowseConversations: the conversation as /v2
// shows it (with its switchboard state), and what a list shows beside it.
type conversationSummaryWire struct {
	conversationWire
	MessageCount     int                      `json:"messageCount"`
	ParticipantCount int                      `json:"participantCount"`
	Participants     []participantSummaryWire `json:"participants"`
	LastMessage      *messagePreviewWire      `json:"lastMessage,omitempty"`
}

type participantSummaryWire struct {
	UserID     string `json:"userId"`
	ExternalID string `json:"userExternalId,omitempty"`
	GivenName  string `json:"givenName,omitempty"`
	Surname    string `json:"surname,omitempty"`
	Email      string `json:"email,omitempty"`
}

type messagePreviewWire struct {
	ID          string `json:"id"`
	AuthorType  string `json:"authorType"`
	AuthorName  string `json:"authorDisplayName,omitempty"`
	ContentType string `json:"contentType"`
	Text        string `json:"text,omitempty"`
	Received    string `json:"received"`
}

// browsePage reads page[after], page[before] (the list's opaque cursors) and page[size].
func browsePage(r *http.Request) (sunlamp.Page, error) {
	q := r.URL.Query()
	p := sunlamp.Page{After: q.Get("page[after]"), Before: q.Get("page[before]"), Size: sunlamp.DefaultPageSize}
	if (p.After != "" && p.Before != "") || len(p.After) > 100 || len(p.Before) > 100 {
		return p, sunlamp.ErrInvalidPage
	}
	if s := q.Get("page[size]"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > sunlamp.MaxPageSize {
			return p, sunlamp.ErrInvalidPage
		}
		p.Size = n
	}
	return p, nil
}

// handleBrowseConversations answers a page of the app's conversations, the most recently active
// first, filtered by filter[type] (personal, sdkGroup), filter[userId] and filter[q] (see
// sunlamp.ConversationFilter), with each one's participants (the first three), participant and
// message counts and last message.
func (s *Server) handleBrowseConversations(w http.ResponseWriter, r *http.Request) error {
	browser, ok := s.store.(sunlamp.ConversationBrowser)
	if !ok {
		return sunlamp.ErrNotFound
	}
	p, err := browsePage(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := sunlamp.ConversationFilter{Type: q.Get("filter[type]"), UserID: q.Get("filter[userId]"), Query: q.Get("filter[q]")}
	if f.Type != "" && f.Type != sunlamp.ConversationPersonal && f.Type != sunlamp.ConversationSDKGroup {
		return sunlamp.Invalid("filter[type] should be equal to one of the allowed values: personal, sdkGroup")
	}
	if len(f.Query) > 256 || len(f.UserID) > 64 {
		return sunlamp.Invalid("filter[q] should have at most 256 characters, filter[userId] 64")
	}
	appID := r.PathValue("appId")
	list, cur, err := browser.BrowseConversations(r.Context(), appID, f, p)
	if err != nil {
		return err
	}
	convs := make([]conversationWire, len(list))
	for i, c := range list {
		convs[i] = conversationOut(c.Conversation)
	}
	if err := s.withSwitchboardStates(r.Context(), appID, convs); err != nil { // wire_switchboards.go
		return err
	}
	out := make([]conversationSummaryWire, len(list))
	for i, c := range list {
		o := conversationSummaryWire{conversationWire: convs[i], MessageCount: c.Conversation.MessageCount,
			ParticipantCount: c.ParticipantCount, Participants: make([]participantSummaryWire, 0, len(c.Participants))}
		for _, ps := range c.Participants {
			o.Participants = append(o.Participants, participantSummaryWire(ps))
		}
		if m := c.LastMessage; m != nil {
			o.LastMessage = &messagePreviewWire{ID: m.ID, AuthorType: m.AuthorType, AuthorName: m.AuthorName,
				ContentType: m.ContentType, Text: m.Text, Received: formatTime(m.Received)}
		}
		out[i] = o
	}
	meta, links := s.pageEnvelope(r, cur)
	writeJSON(w, http.StatusOK, struct {
		Conversations []conversationSummaryWire `json:"conversations"`
		Meta          metaWire                  `json:"meta"`
		Links         *linksWire                `json:"links,omitempty"`
	}{out, meta, links})
	return nil
}

// conversationStateWire is what changes in a conversation that a watcher redraws for: its
// messages (their count and the time of the last), the business's read, the switchboard state.
type conversationStateWire struct {
	ConversationID                  string  `json:"conversationId"`
	MessageCount                    int     `json:"messageCount"`
	LastUpdatedAt                   string  `json:"lastUpdatedAt"`
	BusinessLastRead                *string `json:"businessLastRead,omitempty"`
	ActiveSwitchboardIntegrationID  string  `json:"activeSwitchboardIntegrationId,omitempty"`
	PendingSwitchboardIntegrationID string  `json:"pendingSwitchboardIntegrationId,omitempty"`
}

func (s *Server) conversationState(r *http.Request) (conversationStateWire, error) {
	c, st, err := s.store.ConversationWithSwitchboardState(r.Context(), r.PathValue("appId"), r.PathValue("conversationId"))
	if err != nil {
		return conversationStateWire{}, err
	}
	out := conversationStateWire{ConversationID: c.ID, MessageCount: c.MessageCount, LastUpdatedAt: formatTime(c.LastUpdatedAt),
		BusinessLastRead: formatTimePtr(c.BusinessLastRead)}
	if st.Active != nil {
		out.ActiveSwitchboardIntegrationID = st.Active.ID
	}
	if st.Pending != nil {
		out.PendingSwitchboardIntegrationID = st.Pending.ID
	}
	return out, nil
}

// Watching a conversation: how often the stream reads the conversation's state, for the changes
// that no notice announces (messages written by the inbound simulator, or by another process sharing
// PostgreSQL for an app without a web integration), and how long one stream lasts.
const (
	conversationPoll   = time.Second
	conversationStream = 2 * time.Minute
)

// handleConversationEvents streams a conversation's changes as Server-Sent Events, for the console
// and any client that watches a conversation with an API key:
//   - "ready" with the state (conversationStateWire) when the stream opens;
//   - "message" with the state when messages were added or removed (read the messages after the
//     last one you have);
//   - "conversation" with the state when the business's read or the switchboard state changed;
//   - "typing" ({"type","role","name","userId"}) and "read" ({"role","userId","at"}) activities.
//
// Changes made through this process arrive at once (the web messenger's notices, which processes
// sharing PostgreSQL also hear for apps with a web integration); the stream also reads the
// conversation's state every second, which finds every other change. A stream lasts two minutes;
// the client opens the next one. Read it with fetch so that the credentials go in a header
// (EventSource cannot send one). Without "text/event-stream" in Accept, the answer is the state
// alone, as JSON: {"state": ...}, for clients that poll.
func (s *Server) handleConversationEvents(w http.ResponseWriter, r *http.Request) error {
	state, err := s.conversationState(r)
	if err != nil {
		return err
	}
	if !strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
		writeJSON(w, http.StatusOK, map[string]any{"state": state})
		return nil
	}
	notes, cancel := s.webMessenger.live.subscribe(state.ConversationID)
	defer cancel()
	stream := s.startEventStream(w, r, conversationStream)
	defer stream.close()
	send := stream.send
	if send("ready", state) != nil {
		return nil
	}
	// changed reads the state again and sends what changed since the last one sent.
	changed := func() error {
		now, err := s.conversationState(r)
		if err != nil {
			if r.Context().Err() != nil {
				return err
			}
			return send("error", errorEntryOf(err))
		}
		old := state
		state = now
		switch {
		case now.MessageCount != old.MessageCount || now.LastUpdatedAt != old.LastUpdatedAt:
			return send("message", now)
		case now != old:
			return send("conversation", now)
		}
		return nil
	}
	poll := time.NewTicker(conversationPoll)
	defer poll.Stop()
	for {
		var err error
		select {
		case <-stream.over():
			return nil
		case <-stream.keepAlive.C:
			err = stream.ping()
		case <-poll.C:
			err = changed()
		case n := <-notes:
			switch n.Kind {
			case "message":
				err = changed()
			case sunlamp.ActivityTypingStart, sunlamp.ActivityTypingStop:
				err = send("typing", map[string]any{"type": n.Kind, "role": n.Role, "name": n.Name, "userId": n.UserID})
			case sunlamp.ActivityRead:
				at := ""
				if n.At != 0 {
					at = formatTime(sunlamp.FromMillis(n.At))
				}
				err = send("read", map[string]any{"role": n.Role, "userId": n.UserID, "at": at})
				if err == nil {
					err = changed()
				}
			}
		}
		if err != nil {
			return nil // the client went away
		}
	}
}

// errorEntryOf is the envelope entry of err, as writeError would answer it.
func errorEntryOf(err error) errorEntry {
	e := sunlamp.AsError(err) // an unexpected error has the generic code and title
	return errorEntry{e.Code, e.Title}
}
