package api

import (
	"net/http"

	"github.com/sunlamp/sunlamp"
)

// The user operations. {userIdOrExternalId} is read with r.PathValue, which the mux decodes from the
// escaped path: an externalId with "/", "@" or spaces, percent-encoded by the official client,
// arrives whole. The brandId query parameter is accepted and ignored: Sunlamp's externalIds are
// unique per app, so it never has to pick between brand-separated users.

func (s *Server) handleCreateUser(w http.ResponseWriter, r *http.Request) error {
	var b userBody
	if err := decodeJSON(r, &b); err != nil {
		return err
	}
	f, err := b.validate(true)
	if err != nil {
		return err
	}
	u := sunlamp.User{AppID: r.PathValue("appId"), ExternalID: f.externalID, BrandID: f.brandID}
	if f.signedUpAt != nil { // otherwise the store's clock says when
		u.SignedUpAt = *f.signedUpAt
	}
	if f.toBeRetained != nil {
		u.ToBeRetained = *f.toBeRetained
	}
	if f.profile != nil {
		u.Profile = f.profile.Apply(sunlamp.Profile{})
	}
	if f.metadata != nil {
		u.Metadata = *f.metadata
	}
	u, err = s.store.CreateUser(r.Context(), u)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"user": userOut(u)})
	return nil
}

// handleListUsers answers the users with an email identity; `filter[identities.email]` is required
// and never matches profile.email, as the spec says. The list is not paginated.
func (s *Server) handleListUsers(w http.ResponseWriter, r *http.Request) error {
	email := r.URL.Query().Get("filter[identities.email]")
	if email == "" {
		return sunlamp.Invalid("filter should have required property 'identities.email'")
	}
	users, err := s.store.UsersByIdentityEmail(r.Context(), r.PathValue("appId"), email)
	if err != nil {
		return err
	}
	out := make([]userWire, 0, len(users))
	for _, u := range users {
		out = append(out, userOut(u))
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": out})
	return nil
}

func (s *Server) handleGetUser(w http.ResponseWriter, r *http.Request) error {
	u, err := s.store.User(r.Context(), r.PathValue("appId"), r.PathValue("userIdOrExternalId"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": userOut(u)})
	return nil
}

// handleUpdateUser applies a PATCH. Semantics, decided from the spec's schemas:
//   - profile is merged field by field: the spec makes every profile field nullable ("null" is how
//     a field is cleared), which only means something if an absent field is kept. A null profile
//     clears them all.
//   - metadata is replaced as a whole: it is one nullable object in the spec, like the app's and the
//     conversation's, and UpdateApp replaces it the same way; null or {} clears it. To change one key,
//     send the whole object.
//   - signedUpAt and toBeRetained are set when given; externalId cannot be changed (ignored).
func (s *Server) handleUpdateUser(w http.ResponseWriter, r *http.Request) error {
	var b userBody
	if err := decodeJSON(r, &b); err != nil {
		return err
	}
	f, err := b.validate(false)
	if err != nil {
		return err
	}
	u, err := s.store.UpdateUser(r.Context(), r.PathValue("appId"), r.PathValue("userIdOrExternalId"), sunlamp.UserUpdate{
		SignedUpAt: f.signedUpAt, ToBeRetained: f.toBeRetained, Profile: f.profile, Metadata: f.metadata,
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": userOut(u)})
	return nil
}

// handleDeleteUser answers 200 {} as soon as the user is gone for the API; its conversation history
// is removed in the background (see sqlstore's DeleteUser) and user:remove is emitted.
func (s *Server) handleDeleteUser(w http.ResponseWriter, r *http.Request) error {
	if err := s.store.DeleteUser(r.Context(), r.PathValue("appId"), r.PathValue("userIdOrExternalId")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct{}{})
	return nil
}

// handleDeleteUserPersonalInformation erases the user's personal data and answers the scrubbed
// user. Calling it again is harmless and answers the same user.
func (s *Server) handleDeleteUserPersonalInformation(w http.ResponseWriter, r *http.Request) error {
	u, err := s.store.DeleteUserPersonalInformation(r.Context(), r.PathValue("appId"), r.PathValue("userIdOrExternalId"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": userOut(u)})
	return nil
}

func (s *Server) handleListDevices(w http.ResponseWriter, r *http.Request) error {
	devices, err := s.store.Devices(r.Context(), r.PathValue("appId"), r.PathValue("userIdOrExternalId"))
	if err != nil {
		return err
	}
	out := make([]deviceWire, 0, len(devices))
	for _, d := range devices {
		out = append(out, deviceOut(d))
	}
	writeJSON(w, http.StatusOK, map[string]any{"devices": out})
	return nil
}

func (s *Server) handleGetDevice(w http.ResponseWriter, r *http.Request) error {
	d, err := s.store.Device(r.Context(), r.PathValue("appId"), r.PathValue("userIdOrExternalId"), r.PathValue("deviceId"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"device": deviceOut(d)})
	return nil
}
