package api

import (
	"net/http"

	"github.com/sunlamp/sunlamp"
)

type keyBody struct {
	DisplayName Nullable[string] `json:"displayName"`
}

func (s *Server) handleCreateAppKey(w http.ResponseWriter, r *http.Request) error {
	var b keyBody
	if err := decodeJSON(r, &b); err != nil {
		return err
	}
	switch {
	case !b.DisplayName.Set:
		return required("displayName")
	case b.DisplayName.Null:
		return sunlamp.Invalid("displayName should be string")
	}
	if err := validateDisplayName("displayName", b.DisplayName.Value); err != nil {
		return err
	}
	appID := r.PathValue("appId")
	k, err := s.store.CreateKey(r.Context(), sunlamp.Key{
		ID:          sunlamp.NewKeyID(sunlamp.PrefixAppKey),
		Scope:       sunlamp.ScopeApp,
		AccountID:   principal(r.Context()).AccountID,
		AppID:       appID,
		DisplayName: b.DisplayName.Value,
		Secret:      sunlamp.NewSecret(),
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"key": keyOut(k)})
	return nil
}

func (s *Server) handleListAppKeys(w http.ResponseWriter, r *http.Request) error {
	keys, err := s.store.AppKeys(r.Context(), r.PathValue("appId"))
	if err != nil {
		return err
	}
	out := make([]appKeyWire, 0, len(keys))
	for _, k := range keys {
		out = append(out, keyOut(k))
	}
	writeJSON(w, http.StatusOK, map[string]any{"keys": out})
	return nil
}

// appKey returns the app key keyID of appID, or notFoundErr.
func (s *Server) appKey(r *http.Request, notFoundErr error) (sunlamp.Key, error) {
	k, err := s.store.Key(r.Context(), r.PathValue("keyId"))
	if sunlamp.KindOf(err) == sunlamp.KindNotFound || err == nil && (k.AppID != r.PathValue("appId") || k.Scope != sunlamp.ScopeApp) {
		return k, notFoundErr
	}
	return k, err
}

func (s *Server) handleGetAppKey(w http.ResponseWriter, r *http.Request) error {
	k, err := s.appKey(r, sunlamp.ErrNotFound)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"key": keyOut(k)})
	return nil
}

func (s *Server) handleDeleteAppKey(w http.ResponseWriter, r *http.Request) error {
	// The spec answers app_not_found for a missing key too.
	k, err := s.appKey(r, sunlamp.ErrAppNotFound)
	if err != nil {
		return err
	}
	if err := s.store.DeleteKey(r.Context(), k.ID); err != nil {
		if sunlamp.KindOf(err) == sunlamp.KindNotFound {
			return sunlamp.ErrAppNotFound
		}
		return err
	}
	s.auth.forgetKey(k.ID)
	writeJSON(w, http.StatusOK, struct{}{})
	return nil
}
