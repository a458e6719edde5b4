package api

import (
	"net/http"

	"github.com/sunlamp/sunlamp"
)

// handleCreateSwitchboard creates the app's switchboard. The spec gives it no request body, and the
// official client sends none (no Content-Type either): any body is ignored.
func (s *Server) handleCreateSwitchboard(w http.ResponseWriter, r *http.Request) error {
	sb, err := s.store.CreateSwitchboard(r.Context(), r.PathValue("appId"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"switchboard": switchboardOut(sb)})
	return nil
}

func (s *Server) handleListSwitchboards(w http.ResponseWriter, r *http.Request) error {
	list, err := s.store.Switchboards(r.Context(), r.PathValue("appId"))
	if err != nil {
		return err
	}
	out := make([]switchboardWire, 0, len(list))
	for _, sb := range list {
		out = append(out, switchboardOut(sb))
	}
	writeJSON(w, http.StatusOK, map[string]any{"switchboards": out})
	return nil
}

func (s *Server) handleUpdateSwitchboard(w http.ResponseWriter, r *http.Request) error {
	var b switchboardUpdateBody
	if err := decodeJSON(r, &b); err != nil {
		return err
	}
	var u sunlamp.SwitchboardUpdate
	if b.Enabled.Set {
		if b.Enabled.Null {
			return sunlamp.Invalid("enabled should be boolean")
		}
		u.Enabled = &b.Enabled.Value
	}
	if b.DefaultSwitchboardIntegrationID.Set {
		// null clears the default (the spec does not mark it nullable; a disabled switchboard may
		// have none, so null is how a user would unset it).
		u.DefaultSwitchboardIntegrationID = &b.DefaultSwitchboardIntegrationID.Value
		if !b.DefaultSwitchboardIntegrationID.Null && b.DefaultSwitchboardIntegrationID.Value == "" {
			return sunlamp.Invalid("defaultSwitchboardIntegrationId should NOT be shorter than 1 characters")
		}
	}
	sb, err := s.store.UpdateSwitchboard(r.Context(), r.PathValue("appId"), r.PathValue("switchboardId"), u)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"switchboard": switchboardOut(sb)})
	return nil
}

func (s *Server) handleDeleteSwitchboard(w http.ResponseWriter, r *http.Request) error {
	if err := s.store.DeleteSwitchboard(r.Context(), r.PathValue("appId"), r.PathValue("switchboardId")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct{}{})
	return nil
}
