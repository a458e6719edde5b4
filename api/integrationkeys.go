package api

import (
	"net/http"

	"github.com/sunlamp/sunlamp"
)

// customIntegration returns the integration of the request's path, refusing other types than custom.
func (s *Server) customIntegration(r *http.Request) (sunlamp.Integration, error) {
	in, err := channelIntegration(s.store.Integration(r.Context(), r.PathValue("appId"), r.PathValue("integrationId")))
	if err != nil {
		return in, err
	}
	if in.Type != sunlamp.IntegrationCustom {
		return in, sunlamp.Invalid("API keys are available only for custom integrations")
	}
	return in, nil
}

func (s *Server) handleCreateCustomIntegrationKey(w http.ResponseWriter, r *http.Request) error {
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
	in, err := s.customIntegration(r)
	if err != nil {
		return err
	}
	k, err := s.store.CreateKey(r.Context(), sunlamp.Key{
		ID:            sunlamp.NewKeyID(sunlamp.PrefixIntegrationKey),
		Scope:         sunlamp.ScopeIntegration,
		AccountID:     principal(r.Context()).AccountID,
		AppID:         in.AppID,
		IntegrationID: in.ID,
		DisplayName:   b.DisplayName.Value,
		Secret:        sunlamp.NewSecret(),
	})
	if sunlamp.KindOf(err) == sunlamp.KindInvalid { // the store's limit, worded for integrations
		return sunlamp.ErrTooManyIntegrationKeys
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"key": integrationKeyOut(k)})
	return nil
}

func (s *Server) handleListCustomIntegrationKeys(w http.ResponseWriter, r *http.Request) error {
	in, err := s.customIntegration(r)
	if err != nil {
		return err
	}
	keys, err := s.store.IntegrationKeys(r.Context(), in.AppID, in.ID)
	if err != nil {
		return err
	}
	out := make([]integrationKeyWire, 0, len(keys))
	for _, k := range keys {
		out = append(out, integrationKeyOut(k))
	}
	writeJSON(w, http.StatusOK, map[string]any{"keys": out})
	return nil
}

// integrationKey returns the key of the request's path if it is a key of the path's integration.
func (s *Server) integrationKey(r *http.Request) (sunlamp.Key, error) {
	in, err := s.customIntegration(r)
	if err != nil {
		return sunlamp.Key{}, err
	}
	k, err := s.store.Key(r.Context(), r.PathValue("keyId"))
	if err != nil {
		return k, err
	}
	if k.Scope != sunlamp.ScopeIntegration || k.AppID != in.AppID || k.IntegrationID != in.ID {
		return k, sunlamp.ErrNotFound
	}
	return k, nil
}

func (s *Server) handleGetCustomIntegrationKey(w http.ResponseWriter, r *http.Request) error {
	k, err := s.integrationKey(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"key": integrationKeyOut(k)})
	return nil
}

func (s *Server) handleDeleteCustomIntegrationKey(w http.ResponseWriter, r *http.Request) error {
	k, err := s.integrationKey(r)
	if err != nil {
		return err
	}
	if err := s.store.DeleteKey(r.Context(), k.ID); err != nil {
		return err
	}
	s.auth.forgetKey(k.ID)
	writeJSON(w, http.StatusOK, struct{}{})
	return nil
}
