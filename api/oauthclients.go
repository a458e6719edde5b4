package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/sunlamp/sunlamp"
)

// OAuth clients are registered under /_sunlamp/v1/oauth/clients with the account key (the service
// provisions them when a partner applies), and an app's OAuth integrations are listed and removed
// under /_sunlamp/v1/apps/{appId}/oauth/integrations (what Admin Center's marketplace page does).

// oauthClientWire is an OAuth client under /_sunlamp/v1; the secret only in the answer to its
// registration.
type oauthClientWire struct {
	ID           string   `json:"id"`
	Name         string   `json:"name"`
	RedirectURIs []string `json:"redirectUris"`
	RemoveURL    string   `json:"removeUrl,omitempty"`
	BuiltIn      bool     `json:"builtIn"`
	CreatedAt    string   `json:"createdAt,omitempty"`
	Secret       string   `json:"secret,omitempty"`
}

func oauthClientOut(c sunlamp.OAuthClient) oauthClientWire {
	uris := c.RedirectURIs
	if uris == nil {
		uris = []string{}
	}
	w := oauthClientWire{ID: c.ID, Name: c.Name, RedirectURIs: uris, RemoveURL: c.RemoveURL, BuiltIn: c.BuiltIn}
	if !c.BuiltIn {
		w.CreatedAt = formatTime(c.CreatedAt)
	}
	return w
}

// oauthClientBody is the body of the registration (every field) and of its update (all optional).
type oauthClientBody struct {
	ID           Nullable[string]   `json:"id"`
	Name         Nullable[string]   `json:"name"`
	Secret       Nullable[string]   `json:"secret"`
	RedirectURIs Nullable[[]string] `json:"redirectUris"`
	RemoveURL    Nullable[string]   `json:"removeUrl"`
}

// oauthClientID is what a client id may be: the service's are ObjectIds or short names
// (`shoplifter` in the spec's token example); `:` is the built-in ones' separator.
var oauthClientID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$`)

// checkOAuthURL checks a redirect or remove URL: absolute http(s), no fragment (RFC 6749 §3.1.2).
func checkOAuthURL(field, v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Fragment != "" || strings.Contains(v, "#") {
		return sunlamp.Invalid("%s should be an absolute http or https URL without a fragment", field)
	}
	return nil
}

func (b oauthClientBody) validate(create bool) (sunlamp.OAuthClientUpdate, error) {
	var u sunlamp.OAuthClientUpdate
	if b.Name.Set {
		if b.Name.Null {
			return u, sunlamp.Invalid("name should be string")
		}
		if err := validateDisplayName("name", b.Name.Value); err != nil {
			return u, err
		}
		u.Name = &b.Name.Value
	} else if create {
		return u, required("name")
	}
	if b.RedirectURIs.Set {
		list := b.RedirectURIs.Value
		if b.RedirectURIs.Null || len(list) < 1 || len(list) > 10 {
			return u, sunlamp.Invalid("redirectUris should be an array of 1 to 10 URLs")
		}
		for i, v := range list {
			if err := checkOAuthURL("redirectUris["+itoa(i)+"]", v); err != nil {
				return u, err
			}
		}
		u.RedirectURIs = slices.Compact(slices.Clone(list))
	} else if create {
		return u, required("redirectUris")
	}
	if b.RemoveURL.Set {
		v := ""
		if !b.RemoveURL.Null {
			if err := checkOAuthURL("removeUrl", b.RemoveURL.Value); err != nil {
				return u, err
			}
			v = b.RemoveURL.Value
		}
		u.RemoveURL = &v
	}
	return u, nil
}

// handleCreateOAuthClient registers a partner's OAuth client: {"name", "redirectUris", "removeUrl",
// "id" (generated when absent), "secret" (generated when absent)}. The answer holds the secret,
// which is never shown again.
func (s *Server) handleCreateOAuthClient(w http.ResponseWriter, r *http.Request) error {
	var b oauthClientBody
	if err := decodeJSON(r, &b); err != nil {
		return err
	}
	u, err := b.validate(true)
	if err != nil {
		return err
	}
	id := sunlamp.NewID()
	if b.ID.Set {
		switch {
		case b.ID.Null || !oauthClientID.MatchString(b.ID.Value):
			return sunlamp.Invalid("id should be 1 to 128 letters, digits, '_', '.', ':' or '-'")
		case strings.HasPrefix(b.ID.Value, "zd:"):
			return sunlamp.Invalid("id cannot start with zd: (the service's own integrations)")
		case slices.Contains(sunlamp.IntegrationTypes, b.ID.Value):
			return sunlamp.Invalid("id cannot be an integration type (%s)", b.ID.Value)
		}
		id = b.ID.Value
	}
	secret := sunlamp.NewSecret()
	if b.Secret.Set {
		if b.Secret.Null || len(b.Secret.Value) < 16 || len(b.Secret.Value) > 256 || !cleanText(b.Secret.Value) {
			return sunlamp.Invalid("secret should be a string of 16 to 256 characters")
		}
		secret = b.Secret.Value
	}
	c := sunlamp.OAuthClient{ID: id, Name: *u.Name, SecretSHA256: sunlamp.HashOAuthSecret(secret), RedirectURIs: u.RedirectURIs}
	if u.RemoveURL != nil {
		c.RemoveURL = *u.RemoveURL
	}
	c, err = s.store.CreateOAuthClient(r.Context(), c)
	if err != nil {
		return err
	}
	out := oauthClientOut(c)
	out.Secret = secret
	writeJSON(w, http.StatusCreated, map[string]any{"client": out})
	return nil
}

func (s *Server) handleListOAuthClients(w http.ResponseWriter, r *http.Request) error {
	list, err := s.store.OAuthClients(r.Context())
	if err != nil {
		return err
	}
	out := make([]oauthClientWire, 0, len(list))
	for _, c := range list {
		out = append(out, oauthClientOut(c))
	}
	writeJSON(w, http.StatusOK, map[string]any{"clients": out})
	return nil
}

func (s *Server) handleGetOAuthClient(w http.ResponseWriter, r *http.Request) error {
	c, err := s.store.OAuthClient(r.Context(), r.PathValue("oauthClientId"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"client": oauthClientOut(c)})
	return nil
}

func (s *Server) handleUpdateOAuthClient(w http.ResponseWriter, r *http.Request) error {
	var b oauthClientBody
	if err := decodeJSON(r, &b); err != nil {
		return err
	}
	if b.ID.Set || b.Secret.Set {
		return sunlamp.Invalid("id and secret cannot be changed: register another client")
	}
	u, err := b.validate(false)
	if err != nil {
		return err
	}
	c, err := s.store.UpdateOAuthClient(r.Context(), r.PathValue("oauthClientId"), u)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"client": oauthClientOut(c)})
	return nil
}

// handleDeleteOAuthClient unregisters a client: its integrations leave every app (their tokens stop
// working at once). The partner is going away: its removeUrl is not called.
func (s *Server) handleDeleteOAuthClient(w http.ResponseWriter, r *http.Request) error {
	removed, err := s.store.DeleteOAuthClient(r.Context(), r.PathValue("oauthClientId"))
	if err != nil {
		return err
	}
	for _, in := range removed {
		s.auth.forgetIntegration(in.ID)
	}
	writeJSON(w, http.StatusOK, struct{}{})
	return nil
}

// oauthIntegrationWire is an app's OAuth integration under /_sunlamp/v1.
type oauthIntegrationWire struct {
	ID          string        `json:"id"`
	Type        string        `json:"type"`
	Status      string        `json:"status"`
	DisplayName string        `json:"displayName,omitempty"`
	Webhooks    []webhookWire `json:"webhooks"`
	CreatedAt   string        `json:"createdAt"`
}

// handleListOAuthIntegrations lists the OAuth integrations of an app (the v2 Integrations
// operations keep to the types their schema has).
func (s *Server) handleListOAuthIntegrations(w http.ResponseWriter, r *http.Request) error {
	list, err := s.store.OAuthInstalls(r.Context(), r.PathValue("appId"))
	if err != nil {
		return err
	}
	out := make([]oauthIntegrationWire, 0, len(list))
	for _, i := range list {
		hooks := make([]webhookWire, 0, len(i.Integration.Webhooks))
		for _, wh := range i.Integration.Webhooks {
			hooks = append(hooks, webhookOut(wh))
		}
		out = append(out, oauthIntegrationWire{ID: i.Integration.ID, Type: i.ClientID, Status: i.Integration.Status,
			DisplayName: i.Integration.DisplayName, Webhooks: hooks, CreatedAt: formatTime(i.CreatedAt)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"integrations": out})
	return nil
}

// handleDeleteOAuthIntegration is the app owner removing an OAuth integration: as RevokeAccess.
func (s *Server) handleDeleteOAuthIntegration(w http.ResponseWriter, r *http.Request) error {
	in, err := s.store.Integration(r.Context(), r.PathValue("appId"), r.PathValue("integrationId"))
	if err != nil {
		return err
	}
	if !sunlamp.IsOAuthIntegrationType(in.Type) {
		return sunlamp.ErrIntegrationNotFound
	}
	if err := s.removeOAuthIntegration(r.Context(), in); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct{}{})
	return nil
}

// removeOAuthIntegration removes an OAuth integration from its app (its webhooks, their deliveries
// and its tokens with it; its switchboard integrations too), and then calls its client's removeUrl.
func (s *Server) removeOAuthIntegration(ctx context.Context, in sunlamp.Integration) error {
	if err := s.store.DeleteIntegration(ctx, in.AppID, in.ID); err != nil {
		return err
	}
	s.auth.forgetIntegration(in.ID)
	c, err := s.store.OAuthClient(ctx, in.Type)
	if err != nil || c.RemoveURL == "" {
		return nil // a client unregistered meanwhile has no one to tell
	}
	go s.callRemoveURL(c, in)
	return nil
}

// removeURLClient calls removeUrls: a short timeout, no redirect followed.
var removeURLClient = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// callRemoveURL tells the partner that an app removed its integration: POST removeUrl with
// {"appId", "integrationId", "clientId"} as JSON, once, after the removal committed. The spec says
// the removeUrl is called and no more (body, retries); this is Sunlamp's choice, and a failure is
// only logged.
func (s *Server) callRemoveURL(c sunlamp.OAuthClient, in sunlamp.Integration) {
	body, _ := json.Marshal(map[string]string{"appId": in.AppID, "integrationId": in.ID, "clientId": c.ID})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.RemoveURL, bytes.NewReader(body))
	if err != nil {
		s.log.Warn("removeUrl call failed", "client_id", c.ID, "error", err.Error())
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Sunlamp")
	resp, err := removeURLClient.Do(req)
	if err != nil {
		s.log.Warn("removeUrl call failed", "client_id", c.ID, "error", err.Error())
		return
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		s.log.Warn("removeUrl call failed", "client_id", c.ID, "status", resp.StatusCode)
	}
}

// channelIntegration hides OAuth integrations from the v2 Integrations operations: their type is a
// client id, which the spec's Integration schema (discriminated on the types CreateIntegration
// makes) has no place for, and the service manages them in its marketplace. They are listed and
// removed under /_sunlamp/v1/apps/{appId}/oauth/integrations.
func channelIntegration(in sunlamp.Integration, err error) (sunlamp.Integration, error) {
	if err == nil && sunlamp.IsOAuthIntegrationType(in.Type) {
		return sunlamp.Integration{}, sunlamp.ErrIntegrationNotFound
	}
	return in, err
}

// ensureBuiltInIntegration installs a built-in OAuth client (zd:agentWorkspace) on the app when a
// switchboard integration names its type: Zendesk apps have the Agent Workspace installed, so a
// switchboard may link it without any authorization. Other types are left to the store, which
// links the app's integration of that type (an OAuth client's once the app authorized it).
func (s *Server) ensureBuiltInIntegration(ctx context.Context, appID, switchboardID, typ string) error {
	c, ok := sunlamp.BuiltInOAuthClient(typ)
	if !ok {
		return nil
	}
	// Nothing is installed for a switchboard that does not exist.
	if _, err := s.store.SwitchboardIntegrations(ctx, appID, switchboardID); err != nil {
		return err
	}
	_, err := s.store.EnsureOAuthIntegration(ctx, appID, sunlamp.Integration{ID: sunlamp.NewID(), Type: c.ID, Status: "active", DisplayName: c.Name})
	return err
}
