package api

import (
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/sunlamp/sunlamp"
)

// sortedKeys returns the keys of m in order, so that the first invalid field is always the same.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (s *Server) handleCreateIntegration(w http.ResponseWriter, r *http.Request) error {
	defer s.forgetWebApp(r.PathValue("appId")) // the customer side's caches of the app (webmessenger.go)
	var body map[string]any
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	rawType, present := body["type"]
	if !present {
		return required("type")
	}
	typ, _ := rawType.(string)
	spec, known := integrationTypes[typ]
	if !known {
		return sunlamp.Invalid("Invalid integration type")
	}
	in := sunlamp.Integration{
		ID: sunlamp.NewID(), AppID: r.PathValue("appId"), Type: typ, Status: "active",
		Config: map[string]any{}, Credentials: map[string]any{},
	}
	if v, ok := body["displayName"]; ok {
		name, err := checkIntegrationDisplayName(v, false)
		if err != nil {
			return err
		}
		in.DisplayName = *name
	}
	for _, name := range sortedKeys(spec.fields) {
		f := spec.fields[name]
		v, ok := body[name]
		if !ok {
			if f.required {
				return required(name)
			}
			if f.def != nil {
				in.Config[name] = f.def
			}
			continue
		}
		if err := checkIntegrationField(name, f, v); err != nil {
			return err
		}
		switch {
		case v == nil:
		case f.writeOnly:
			in.Credentials[name] = v
		default:
			in.Config[name] = v
		}
	}
	if spec.channel {
		if err := channelBaseFields(body, &in.DefaultResponderID, in.Config); err != nil {
			return err
		}
		if _, ok := in.Config["showAIDisclaimer"]; !ok {
			in.Config["showAIDisclaimer"] = true
		}
	}
	switch typ {
	case "twilio":
		if in.Config["phoneNumberSid"] == nil && in.Config["messagingServiceSid"] == nil {
			return sunlamp.Invalid("One of phoneNumberSid or messagingServiceSid is required")
		}
	case "messagebird":
		// The secret to configure MessageBird's webhook with (readOnly in the spec).
		in.Config["webhookSecret"] = sunlamp.NewWebhookSecret()
	case sunlamp.IntegrationCustom:
		hooks, ok := body["webhooks"]
		if !ok {
			return required("webhooks")
		}
		list, ok := hooks.([]any)
		if !ok {
			return sunlamp.Invalid("webhooks should be array")
		}
		if len(list) != 1 {
			return sunlamp.Invalid("webhooks should have exactly 1 item: a custom integration is created with one webhook")
		}
		raw, _ := json.Marshal(list[0])
		var wb webhookBody
		if _, isObject := list[0].(map[string]any); !isObject || json.Unmarshal(raw, &wb) != nil {
			return sunlamp.Invalid("webhooks[0] should be a webhook object with target and triggers")
		}
		u, err := wb.validate("webhooks[0].", true)
		if err != nil {
			return err
		}
		in.Webhooks = []sunlamp.Webhook{newWebhook(in.AppID, in.ID, u)}
	}
	in, err := s.store.CreateIntegration(r.Context(), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"integration": integrationOut(in)})
	return nil
}

// channelBaseFields reads defaultResponderId and showAIDisclaimer, the base fields of every type
// but custom.
func channelBaseFields(body map[string]any, responder *string, config map[string]any) error {
	if v, ok := body["defaultResponderId"]; ok {
		switch x := v.(type) {
		case nil:
			*responder = ""
		case string:
			*responder = x
		default:
			return sunlamp.Invalid("defaultResponderId should be string")
		}
	}
	if v, ok := body["showAIDisclaimer"]; ok {
		b, isBool := v.(bool)
		if !isBool {
			return sunlamp.Invalid("showAIDisclaimer should be boolean")
		}
		config["showAIDisclaimer"] = b
	}
	return nil
}

func (s *Server) handleListIntegrations(w http.ResponseWriter, r *http.Request) error {
	p, err := parsePage(r)
	if err != nil {
		return err
	}
	var types []string
	if f := r.URL.Query().Get("filter[types]"); f != "" {
		for _, t := range strings.Split(f, ",") {
			t = strings.TrimSpace(t)
			if _, known := integrationTypes[t]; !known {
				return sunlamp.Invalid("Invalid query parameters")
			}
			if !slices.Contains(types, t) {
				types = append(types, t)
			}
		}
	}
	if len(types) == 0 {
		types = sunlamp.IntegrationTypes // not the OAuth integrations (channelIntegration)
	}
	list, cur, err := s.store.Integrations(r.Context(), r.PathValue("appId"), types, p)
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(list))
	for _, in := range list {
		out = append(out, integrationOut(in))
	}
	meta, links := s.pageEnvelope(r, cur)
	writeJSON(w, http.StatusOK, struct {
		Integrations []map[string]any `json:"integrations"`
		Meta         metaWire         `json:"meta"`
		Links        *linksWire       `json:"links,omitempty"`
	}{out, meta, links})
	return nil
}

func (s *Server) handleGetIntegration(w http.ResponseWriter, r *http.Request) error {
	in, err := channelIntegration(s.store.Integration(r.Context(), r.PathValue("appId"), r.PathValue("integrationId")))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"integration": integrationOut(in)})
	return nil
}

func (s *Server) handleUpdateIntegration(w http.ResponseWriter, r *http.Request) error {
	defer s.forgetWebApp(r.PathValue("appId")) // the customer side's caches of the app (webmessenger.go)
	var body map[string]any
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	appID, id := r.PathValue("appId"), r.PathValue("integrationId")
	cur, err := channelIntegration(s.store.Integration(r.Context(), appID, id))
	if err != nil {
		return err
	}
	spec := integrationTypes[cur.Type]
	u := sunlamp.IntegrationUpdate{Config: map[string]any{}, Credentials: map[string]any{}}
	for _, name := range sortedKeys(body) {
		v := body[name]
		f, isField := spec.fields[name]
		switch {
		case name == "displayName":
			if u.DisplayName, err = checkIntegrationDisplayName(v, true); err != nil {
				return err
			}
		case name == "id" || name == "status": // readOnly: ignored, as on every resource
		case name == "type":
			if v != cur.Type {
				return sunlamp.Invalid("type cannot be updated: delete the integration and create it again")
			}
		case spec.channel && (name == "defaultResponderId" || name == "showAIDisclaimer"):
			var responder string
			if err := channelBaseFields(map[string]any{name: v}, &responder, u.Config); err != nil {
				return err
			}
			if name == "defaultResponderId" {
				u.DefaultResponderID = &responder
			}
		case name == "webhooks" && cur.Type == sunlamp.IntegrationCustom:
			return sunlamp.Invalid("webhooks cannot be updated here: use the webhook operations")
		case isField && !f.updatable:
			return sunlamp.Invalid("%s cannot be updated: delete the integration and create it again", name)
		case isField:
			if err := checkIntegrationField(name, f, v); err != nil {
				return err
			}
			if f.writeOnly {
				u.Credentials[name] = v // nil removes it
			} else {
				u.Config[name] = v
			}
		}
	}
	in, err := s.store.UpdateIntegration(r.Context(), appID, id, u)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"integration": integrationOut(in)})
	return nil
}

func (s *Server) handleDeleteIntegration(w http.ResponseWriter, r *http.Request) error {
	defer s.forgetWebApp(r.PathValue("appId")) // the customer side's caches of the app (webmessenger.go)
	id := r.PathValue("integrationId")
	if _, err := channelIntegration(s.store.Integration(r.Context(), r.PathValue("appId"), id)); err != nil {
		return err // an OAuth integration is removed as its owner removes it (handleDeleteOAuthIntegration)
	}
	if err := s.store.DeleteIntegration(r.Context(), r.PathValue("appId"), id); err != nil {
		return err
	}
	s.auth.forgetIntegration(id)
	writeJSON(w, http.StatusOK, struct{}{})
	return nil
}
