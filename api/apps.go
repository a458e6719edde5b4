package api

import (
	"net/http"

	"github.com/sunlamp/sunlamp"
)

type appBody struct {
	DisplayName Nullable[string]         `json:"displayName"`
	Settings    *appSettingsWire         `json:"settings"`
	Metadata    Nullable[map[string]any] `json:"metadata"`
}

// validate checks the body; create says whether displayName is required.
func (b appBody) validate(create bool) error {
	switch {
	case !b.DisplayName.Set && create:
		return required("displayName")
	case b.DisplayName.Null:
		return sunlamp.Invalid("displayName should be string")
	case b.DisplayName.Set:
		if err := validateDisplayName("displayName", b.DisplayName.Value); err != nil {
			return err
		}
	}
	if b.Settings != nil && b.Settings.ConversationRetentionSeconds != nil && *b.Settings.ConversationRetentionSeconds < 0 {
		return sunlamp.Invalid("settings.conversationRetentionSeconds should be >= 0")
	}
	if _, err := validateMetadata("App", "metadata", b.Metadata.Value); err != nil {
		return err
	}
	return nil
}

// defaultAppSettings are the settings of a new app, as the real service's examples show them.
func defaultAppSettings() sunlamp.AppSettings {
	return sunlamp.AppSettings{
		MaskCreditCardNumbers:  boolPtr(true),
		UseAnimalNames:         boolPtr(false),
		EchoPostback:           boolPtr(false),
		MultiConvoEnabled:      boolPtr(false),
		AppLocalizationEnabled: boolPtr(false),
	}
}

func (s *Server) handleCreateApp(w http.ResponseWriter, r *http.Request) error {
	var b appBody
	if err := decodeJSON(r, &b); err != nil {
		return err
	}
	if err := b.validate(true); err != nil {
		return err
	}
	settings := defaultAppSettings()
	if b.Settings != nil {
		settings.Merge(b.Settings.domain())
	}
	app, err := s.store.CreateApp(r.Context(), sunlamp.App{
		AccountID:   principal(r.Context()).AccountID,
		DisplayName: b.DisplayName.Value,
		Settings:    settings,
		Metadata:    sunlamp.Metadata(b.Metadata.Value),
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"app": appOut(app)})
	return nil
}

func (s *Server) handleListApps(w http.ResponseWriter, r *http.Request) error {
	p, err := parsePage(r)
	if err != nil {
		return err
	}
	apps := []appWire{}
	var cur sunlamp.Cursor
	// Sunlamp has no service accounts, so a serviceAccountId filter names one that can access no app.
	if r.URL.Query().Get("filter[serviceAccountId]") == "" {
		list, c, err := s.store.Apps(r.Context(), principal(r.Context()).AccountID, p)
		if err != nil {
			return err
		}
		cur = c
		for _, a := range list {
			apps = append(apps, appOut(a))
		}
	}
	meta, links := s.pageEnvelope(r, cur)
	writeJSON(w, http.StatusOK, struct {
		Apps  []appWire  `json:"apps"`
		Meta  metaWire   `json:"meta"`
		Links *linksWire `json:"links,omitempty"`
	}{apps, meta, links})
	return nil
}

func (s *Server) handleGetApp(w http.ResponseWriter, r *http.Request) error {
	app, err := s.store.App(r.Context(), r.PathValue("appId"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"app": appWithSubdomainOut(app)})
	return nil
}

// appWithSubdomain is the spec's appResponseWithSubdomain's app, which GetApp and GetTokenInfo
// answer. Sunlamp has no Zendesk subdomains: an app's subdomain is its id (a valid DNS label), so
// that it is stable and unique.
type appWithSubdomain struct {
	appWire
	Subdomain string `json:"subdomain"`
}

func appWithSubdomainOut(a sunlamp.App) appWithSubdomain { return appWithSubdomain{appOut(a), a.ID} }

func (s *Server) handleUpdateApp(w http.ResponseWriter, r *http.Request) error {
	var b appBody
	if err := decodeJSON(r, &b); err != nil {
		return err
	}
	if err := b.validate(false); err != nil {
		return err
	}
	appID := r.PathValue("appId")
	var u sunlamp.AppUpdate
	if b.DisplayName.Set {
		u.DisplayName = &b.DisplayName.Value
	}
	if b.Settings != nil {
		if b.Settings.MultiConvoEnabled != nil && !*b.Settings.MultiConvoEnabled {
			cur, err := s.store.App(r.Context(), appID)
			if err != nil {
				return err
			}
			if cur.Settings.MultiConvoEnabled != nil && *cur.Settings.MultiConvoEnabled {
				return sunlamp.Invalid("multiConvoEnabled cannot be disabled once it is enabled")
			}
		}
		st := b.Settings.domain()
		u.Settings = &st
	}
	if b.Metadata.Set {
		m := sunlamp.Metadata(b.Metadata.Value) // null clears
		u.Metadata = &m
	}
	app, err := s.store.UpdateApp(r.Context(), appID, u)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"app": appOut(app)})
	return nil
}

func (s *Server) handleDeleteApp(w http.ResponseWriter, r *http.Request) error {
	appID := r.PathValue("appId")
	if err := s.store.DeleteApp(r.Context(), appID); err != nil {
		return err
	}
	s.auth.forgetApp(appID)
	writeJSON(w, http.StatusOK, struct{}{})
	return nil
}
