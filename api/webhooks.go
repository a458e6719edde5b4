package api

import (
	"net/http"

	"github.com/sunlamp/sunlamp"
)

// webhookIntegration returns the integration id of a webhook route: an integration key reaches
// only its own integration's webhooks, which it may also name "me" (as OAuth tokens do); an app
// key names the integration.
func webhookIntegration(r *http.Request) (string, error) {
	id, k := r.PathValue("integrationId"), principal(r.Context())
	if k.Scope == sunlamp.ScopeIntegration {
		if id == "me" || id == k.IntegrationID {
			return k.IntegrationID, nil
		}
		return "", sunlamp.ErrForbidden
	}
	if id == "me" {
		return "", sunlamp.ErrIntegrationNotFound
	}
	return id, nil
}

func (s *Server) handleCreateWebhook(w http.ResponseWriter, r *http.Request) error {
	defer s.forgetWebApp(r.PathValue("appId")) // the customer side's caches of the app (webmessenger.go)
	integrationID, err := webhookIntegration(r)
	if err != nil {
		return err
	}
	var b webhookBody
	if err := decodeJSON(r, &b); err != nil {
		return err
	}
	u, err := b.validate("", true)
	if err != nil {
		return err
	}
	appID := r.PathValue("appId")
	in, err := s.store.Integration(r.Context(), appID, integrationID)
	if err != nil {
		return err
	}
	// OAuth integrations own webhooks too (the spec: custom or Sunshine Conversations Connect).
	if in.Type != sunlamp.IntegrationCustom && !sunlamp.IsOAuthIntegrationType(in.Type) {
		return sunlamp.Invalid("Webhooks are available only for custom and OAuth integrations")
	}
	wh, err := s.store.CreateWebhook(r.Context(), newWebhook(appID, integrationID, u))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"webhook": webhookOut(wh)})
	return nil
}

func (s *Server) handleListWebhooks(w http.ResponseWriter, r *http.Request) error {
	integrationID, err := webhookIntegration(r)
	if err != nil {
		return err
	}
	list, err := s.store.Webhooks(r.Context(), r.PathValue("appId"), integrationID)
	if err != nil {
		return err
	}
	out := make([]webhookWire, 0, len(list))
	for _, wh := range list {
		out = append(out, webhookOut(wh))
	}
	writeJSON(w, http.StatusOK, map[string]any{"webhooks": out})
	return nil
}

func (s *Server) handleGetWebhook(w http.ResponseWriter, r *http.Request) error {
	integrationID, err := webhookIntegration(r)
	if err != nil {
		return err
	}
	wh, err := s.store.Webhook(r.Context(), r.PathValue("appId"), integrationID, r.PathValue("webhookId"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"webhook": webhookOut(wh)})
	return nil
}

func (s *Server) handleUpdateWebhook(w http.ResponseWriter, r *http.Request) error {
	defer s.forgetWebApp(r.PathValue("appId")) // the customer side's caches of the app (webmessenger.go)
	integrationID, err := webhookIntegration(r)
	if err != nil {
		return err
	}
	var b webhookBody
	if err := decodeJSON(r, &b); err != nil {
		return err
	}
	u, err := b.validate("", false)
	if err != nil {
		return err
	}
	wh, err := s.store.UpdateWebhook(r.Context(), r.PathValue("appId"), integrationID, r.PathValue("webhookId"), u)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"webhook": webhookOut(wh)})
	return nil
}

func (s *Server) handleDeleteWebhook(w http.ResponseWriter, r *http.Request) error {
	defer s.forgetWebApp(r.PathValue("appId")) // the customer side's caches of the app (webmessenger.go)
	integrationID, err := webhookIntegration(r)
	if err != nil {
		return err
	}
	if err := s.store.DeleteWebhook(r.Context(), r.PathValue("appId"), integrationID, r.PathValue("webhookId")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct{}{})
	return nil
}
