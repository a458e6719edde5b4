package api

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/sunlamp/sunlamp"
)

// The audit trail and the deletion receipts (issue 17), beyond the v2 API. Entries hold ids and
// counts only (never an externalId, a name or an email), so they are shown as they are stored.

// auditEntryWire is an audit entry on the wire.
type auditEntryWire struct {
	ID        string           `json:"id"`
	At        string           `json:"at"`
	Operation string           `json:"operation"`
	UserID    string           `json:"userId,omitempty"`
	KeyID     string           `json:"keyId"`
	Outcome   string           `json:"outcome"`
	Counts    map[string]int64 `json:"counts"`
}

func auditEntryOut(e sunlamp.AuditEntry) auditEntryWire {
	counts := e.Counts
	if counts == nil {
		counts = map[string]int64{}
	}
	return auditEntryWire{ID: e.ID, At: formatTime(e.At), Operation: e.Operation, UserID: e.UserID, KeyID: e.KeyID, Outcome: e.Outcome, Counts: counts}
}

// parseAuditFilter reads filter[userId], filter[operation], filter[since] and filter[until] (RFC
// 3339 times; since inclusive, until exclusive). Filters are named like the other lists' so that
// the next and previous links carry them.
func parseAuditFilter(r *http.Request) (sunlamp.AuditFilter, error) {
	q := r.URL.Query()
	f := sunlamp.AuditFilter{UserID: q.Get("filter[userId]"), Operation: q.Get("filter[operation]")}
	if f.UserID != "" && !sunlamp.IsID(f.UserID) {
		// An externalId would find nothing: the trail holds internal ids only.
		return f, sunlamp.Invalid("filter[userId] should be a user id (24 hexadecimal characters): audit entries hold internal user ids, never externalIds")
	}
	if f.Operation != "" && !slices.Contains(sunlamp.AuditOperations, f.Operation) {
		return f, sunlamp.Invalid("filter[operation] should be one of %s", strings.Join(sunlamp.AuditOperations, ", "))
	}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"filter[since]", &f.Since}, {"filter[until]", &f.Until}} {
		v := q.Get(p.name)
		if v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return f, sunlamp.Invalid("%s should be an RFC 3339 time such as 2026-01-02T15:04:05Z", p.name)
		}
		*p.dst = t
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return f, sunlamp.Invalid("filter[since] should be before filter[until]")
	}
	return f, nil
}

// handleListAuditEntries answers a page of the app's audit trail, oldest first.
func (s *Server) handleListAuditEntries(w http.ResponseWriter, r *http.Request) error {
	p, err := parsePage(r)
	if err != nil {
		return err
	}
	f, err := parseAuditFilter(r)
	if err != nil {
		return err
	}
	list, cur, err := s.store.AuditEntries(r.Context(), r.PathValue("appId"), f, p)
	if err != nil {
		return err
	}
	out := make([]auditEntryWire, 0, len(list))
	for _, e := range list {
		out = append(out, auditEntryOut(e))
	}
	s.writeList(w, r, "auditEntries", out, cur)
	return nil
}

// deletionWire is the receipt of a Delete User on the wire; completedAt is null while pending.
type deletionWire struct {
	UserID               string  `json:"userId"`
	Status               string  `json:"status"`
	RequestedAt          string  `json:"requestedAt"`
	CompletedAt          *string `json:"completedAt"`
	MessagesRemoved      int64   `json:"messagesRemoved"`
	ConversationsRemoved int64   `json:"conversationsRemoved"`
	FilesRemoved         int64   `json:"filesRemoved"`
}

// handleGetDeletion answers the receipt of the deletion of the user that had the id userId.
func (s *Server) handleGetDeletion(w http.ResponseWriter, r *http.Request) error {
	d, err := s.store.Deletion(r.Context(), r.PathValue("appId"), r.PathValue("userId"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"deletion": deletionWire{
		UserID: d.UserID, Status: d.Status, RequestedAt: formatTime(d.RequestedAt), CompletedAt: formatTimePtr(d.CompletedAt),
		MessagesRemoved: d.MessagesRemoved, ConversationsRemoved: d.ConversationsRemoved, FilesRemoved: d.FilesRemoved,
	}})
	return nil
}
