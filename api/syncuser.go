package api

import (
	"net/http"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/sunlamp/sunlamp"
)

// SyncUser and the simulated Zendesk directory (issue 18). Messaging users are linked to core
// Zendesk (Support) users by zendeskId. Sunlamp keeps a directory of core users under
// /_sunlamp/v1/zendesk/users (account key), and links a messaging user to one with
// POST /_sunlamp/v1/apps/{appId}/users/{userIdOrExternalId}/zendesk {"zendeskId"}, which stands
// for the Help Center's authentication; SyncUser then copies from the core user.

// syncUserBody is the spec's syncUserBody (the body is optional).
type syncUserBody struct {
	SurvivingZendeskID Nullable[string] `json:"survivingZendeskId"`
}

func (s *Server) handleSyncUser(w http.ResponseWriter, r *http.Request) error {
	var b syncUserBody
	if err := decodeJSON(r, &b); err != nil {
		return err
	}
	if b.SurvivingZendeskID.Set && (b.SurvivingZendeskID.Null || b.SurvivingZendeskID.Value == "") {
		return sunlamp.Invalid("survivingZendeskId should be a non-empty string")
	}
	res, err := s.store.SyncUser(r.Context(), r.PathValue("appId"), r.PathValue("zendeskId"), b.SurvivingZendeskID.Value)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": userOut(res.User)})
	return nil
}

// zendeskUserWire is a core user under /_sunlamp/v1/zendesk/users.
type zendeskUserWire struct {
	ID         string `json:"id"`
	Name       string `json:"name,omitempty"`
	Email      string `json:"email,omitempty"`
	ExternalID string `json:"externalId,omitempty"`
	CreatedAt  string `json:"createdAt"`
	UpdatedAt  string `json:"updatedAt"`
}

func zendeskUserOut(u sunlamp.ZendeskUser) zendeskUserWire {
	return zendeskUserWire{ID: u.ID, Name: u.Name, Email: u.Email, ExternalID: u.ExternalID,
		CreatedAt: formatTime(u.CreatedAt), UpdatedAt: formatTime(u.UpdatedAt)}
}

// zendeskUserBody is the body of the directory's create (id optional, name required) and update.
type zendeskUserBody struct {
	ID         Nullable[string] `json:"id"`
	Name       Nullable[string] `json:"name"`
	Email      Nullable[string] `json:"email"`
	ExternalID Nullable[string] `json:"externalId"`
}

var zendeskIDText = regexp.MustCompile(`^[1-9][0-9]{0,19}$`)

func (b zendeskUserBody) validate(create bool) (sunlamp.ZendeskUserUpdate, error) {
	var u sunlamp.ZendeskUserUpdate
	if create && (!b.Name.Set || b.Name.Null) {
		return u, required("name")
	}
	for _, f := range []struct {
		name string
		v    Nullable[string]
		max  int
		dst  **string
		null bool
	}{{"name", b.Name, 255, &u.Name, false}, {"email", b.Email, 254, &u.Email, true}, {"externalId", b.ExternalID, 1024, &u.ExternalID, true}} {
		if !f.v.Set {
			continue
		}
		v := f.v.Value
		switch n := utf8.RuneCountInString(v); {
		case f.v.Null && f.null:
			v = ""
		case f.v.Null:
			return u, sunlamp.Invalid("%s should be string", f.name)
		case n < 1 || n > f.max:
			return u, sunlamp.Invalid("%s should be a string of 1 to %d characters", f.name, f.max)
		}
		*f.dst = &v
	}
	if u.Email != nil && *u.Email != "" {
		at := strings.LastIndex(*u.Email, "@")
		if at < 1 || at == len(*u.Email)-1 || strings.ContainsAny(*u.Email, " \t\r\n") {
			return u, sunlamp.Invalid("email should match format \"email\"")
		}
	}
	return u, nil
}

// handleCreateZendeskUser adds a core user: {"name", "email", "externalId", "id" (a number as a
// string, generated when absent)}.
func (s *Server) handleCreateZendeskUser(w http.ResponseWriter, r *http.Request) error {
	var b zendeskUserBody
	if err := decodeJSON(r, &b); err != nil {
		return err
	}
	up, err := b.validate(true)
	if err != nil {
		return err
	}
	id := sunlamp.NewZendeskID()
	if b.ID.Set {
		if b.ID.Null || !zendeskIDText.MatchString(b.ID.Value) {
			return sunlamp.Invalid("id should be a number of 1 to 20 digits, as a string")
		}
		id = b.ID.Value
	}
	now := s.clock.Now()
	u := sunlamp.ZendeskUser{ID: id, Name: *up.Name, CreatedAt: now, UpdatedAt: now}
	if up.Email != nil {
		u.Email = *up.Email
	}
	if up.ExternalID != nil {
		u.ExternalID = *up.ExternalID
	}
	u, err = s.store.CreateZendeskUser(r.Context(), u)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"zendeskUser": zendeskUserOut(u)})
	return nil
}

func (s *Server) handleListZendeskUsers(w http.ResponseWriter, r *http.Request) error {
	list, err := s.store.ZendeskUsers(r.Context())
	if err != nil {
		return err
	}
	out := make([]zendeskUserWire, 0, len(list))
	for _, u := range list {
		out = append(out, zendeskUserOut(u))
	}
	writeJSON(w, http.StatusOK, map[string]any{"zendeskUsers": out})
	return nil
}

func (s *Server) handleGetZendeskUser(w http.ResponseWriter, r *http.Request) error {
	u, err := s.store.ZendeskUser(r.Context(), r.PathValue("zendeskUserId"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"zendeskUser": zendeskUserOut(u)})
	return nil
}

// handleUpdateZendeskUser changes a core user as Zendesk Support would (a new primary email, a
// name); SyncUser then brings its messaging user up to date.
func (s *Server) handleUpdateZendeskUser(w http.ResponseWriter, r *http.Request) error {
	var b zendeskUserBody
	if err := decodeJSON(r, &b); err != nil {
		return err
	}
	if b.ID.Set {
		return sunlamp.Invalid("id cannot be changed")
	}
	up, err := b.validate(false)
	if err != nil {
		return err
	}
	u, err := s.store.UpdateZendeskUser(r.Context(), r.PathValue("zendeskUserId"), up)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"zendeskUser": zendeskUserOut(u)})
	return nil
}

func (s *Server) handleDeleteZendeskUser(w http.ResponseWriter, r *http.Request) error {
	if err := s.store.DeleteZendeskUser(r.Context(), r.PathValue("zendeskUserId")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct{}{})
	return nil
}

// handleLinkZendeskUser links a messaging user to a core user ({"zendeskId"}; null unlinks), as
// the user authenticating through the Help Center does, and answers the user.
func (s *Server) handleLinkZendeskUser(w http.ResponseWriter, r *http.Request) error {
	var b struct {
		ZendeskID Nullable[string] `json:"zendeskId"`
	}
	if err := decodeJSON(r, &b); err != nil {
		return err
	}
	switch {
	case !b.ZendeskID.Set:
		return required("zendeskId")
	case !b.ZendeskID.Null && b.ZendeskID.Value == "":
		return sunlamp.Invalid("zendeskId should be a non-empty string or null")
	}
	u, err := s.store.LinkZendeskUser(r.Context(), r.PathValue("appId"), r.PathValue("userIdOrExternalId"), b.ZendeskID.Value)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": userOut(u)})
	return nil
}
