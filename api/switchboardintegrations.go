package api

import (
	"net/http"

	"github.com/sunlamp/sunlamp"
)

func (s *Server) handleCreateSwitchboardIntegration(w http.ResponseWriter, r *http.Request) error {
	var b switchboardIntegrationBody
	if err := decodeJSON(r, &b); err != nil {
		return err
	}
	if err := b.validate(true); err != nil {
		return err
	}
	si := sunlamp.SwitchboardIntegration{
		AppID: r.PathValue("appId"), SwitchboardID: r.PathValue("switchboardId"), Name: b.Name.Value,
		IntegrationID: b.IntegrationID.Value, IntegrationType: b.IntegrationType.Value,
		DeliverStandbyEvents:         true, // the spec's default
		NextSwitchboardIntegrationID: b.NextSwitchboardIntegrationID.Value, MessageHistoryCount: b.MessageHistoryCount.Value,
	}
	if b.DeliverStandbyEvents.Set {
		si.DeliverStandbyEvents = b.DeliverStandbyEvents.Value
	}
	if err := s.ensureBuiltInIntegration(r.Context(), si.AppID, si.SwitchboardID, si.IntegrationType); err != nil {
		return err
	}
	si, err := s.store.CreateSwitchboardIntegration(r.Context(), si)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"switchboardIntegration": switchboardIntegrationOut(si)})
	return nil
}

func (s *Server) handleListSwitchboardIntegrations(w http.ResponseWriter, r *http.Request) error {
	list, err := s.store.SwitchboardIntegrations(r.Context(), r.PathValue("appId"), r.PathValue("switchboardId"))
	if err != nil {
		return err
	}
	out := make([]switchboardIntegrationWire, 0, len(list))
	for _, si := range list {
		out = append(out, switchboardIntegrationOut(si))
	}
	writeJSON(w, http.StatusOK, map[string]any{"switchboardIntegrations": out})
	return nil
}

func (s *Server) handleUpdateSwitchboardIntegration(w http.ResponseWriter, r *http.Request) error {
	var b switchboardIntegrationBody
	if err := decodeJSON(r, &b); err != nil {
		return err
	}
	if err := b.validate(false); err != nil {
		return err
	}
	var u sunlamp.SwitchboardIntegrationUpdate
	if b.Name.Set {
		u.Name = &b.Name.Value
	}
	if b.IntegrationID.Set {
		u.IntegrationID = &b.IntegrationID.Value
	}
	if b.IntegrationType.Set {
		u.IntegrationType = &b.IntegrationType.Value
		if err := s.ensureBuiltInIntegration(r.Context(), r.PathValue("appId"), r.PathValue("switchboardId"), b.IntegrationType.Value); err != nil {
			return err
		}
	}
	if b.DeliverStandbyEvents.Set {
		u.DeliverStandbyEvents = &b.DeliverStandbyEvents.Value
	}
	if b.NextSwitchboardIntegrationID.Set { // null clears it
		u.NextSwitchboardIntegrationID = &b.NextSwitchboardIntegrationID.Value
	}
	if b.MessageHistoryCount.Set { // null clears it
		u.MessageHistoryCount = &b.MessageHistoryCount.Value
	}
	si, err := s.store.UpdateSwitchboardIntegration(r.Context(), r.PathValue("appId"), r.PathValue("switchboardId"), r.PathValue("switchboardIntegrationId"), u)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"switchboardIntegration": switchboardIntegrationOut(si)})
	return nil
}

func (s *Server) handleDeleteSwitchboardIntegration(w http.ResponseWriter, r *http.Request) error {
	err := s.store.DeleteSwitchboardIntegration(r.Context(), r.PathValue("appId"), r.PathValue("switchboardId"), r.PathValue("switchboardIntegrationId"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct{}{})
	return nil
}
