package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sunlamp/sunlamp/internal/apitest"
)

// partner is a marketplace partner's server: its redirect URI and its removeUrl.
type partner struct {
	*httptest.Server
	removed chan map[string]string
}

func newPartner(t *testing.T) *partner {
	p := &partner{removed: make(chan map[string]string, 10)}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/removed" {
			var body map[string]string
			_ = json.NewDecoder(r.Body).Decode(&body)
			p.removed <- body
		}
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(p.Close)
	return p
}

// browser is a browser's side of the flow without the rendering: no redirect followed, forms posted.
var browser = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

type page struct {
	status   int
	location string
	body     string
	header   http.Header
}

func browse(t *testing.T, method, u string, form url.Values) page {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	resp, err := browser.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return page{resp.StatusCode, resp.Header.Get("Location"), string(b), resp.Header}
}

var ticketField = regexp.MustCompile(`name="ticket" value="([^"]+)"`)

// mustAuthorize walks the consent page as an owner would, signing in with key and choosing
// decision on appID, and returns where the browser is sent back to.
func mustAuthorize(t *testing.T, e *apitest.Env, clientID, redirectURI, state, keyID, secret, appID, decision string) *url.URL {
	t.Helper()
	q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "state": {state}}
	if redirectURI != "" {
		q.Set("redirect_uri", redirectURI)
	}
	p := browse(t, "GET", e.URL+"/oauth/authorize?"+q.Encode(), nil)
	if p.status != http.StatusFound || !strings.HasPrefix(p.location, e.URL+"/oauth/consent?") || p.body != "Found. Redirecting to "+p.location {
		t.Fatalf("authorize: got %d to %q (%q), want 302 to the consent page", p.status, p.location, p.body)
	}
	consent, _ := url.Parse(p.location)
	p = browse(t, "GET", p.location, nil)
	if p.status != http.StatusOK || !strings.Contains(p.body, `<label for="key_secret">Key secret</label>`) {
		t.Fatalf("consent page: got %d %s", p.status, p.body)
	}
	form := consent.Query()
	form.Set("key_id", keyID)
	form.Set("key_secret", secret)
	p = browse(t, "POST", e.URL+"/oauth/consent", form)
	m := ticketField.FindStringSubmatch(p.body)
	if p.status != http.StatusOK || m == nil || !strings.Contains(p.body, `value="`+appID+`"`) {
		t.Fatalf("sign-in: got %d without a ticket or app %s: %s", p.status, appID, p.body)
	}
	p = browse(t, "POST", e.URL+"/oauth/consent", url.Values{"ticket": {m[1]}, "app_id": {appID}, "decision": {decision}})
	if p.status != http.StatusFound {
		t.Fatalf("decision: got %d %s, want 302", p.status, p.body)
	}
	back, err := url.Parse(p.location)
	if err != nil {
		t.Fatal(err)
	}
	return back
}

// TestOAuthFlow runs the marketplace OAuth flow over HTTP: client registration, the consent pages,
// the code exchange, the token as a Bearer credential where integration scope is allowed and only
// there, GetTokenInfo, webhooks of the OAuth integration, RevokeAccess and the removeUrl call.
func TestOAuthFlow(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		appID := e.MustCreateApp(t, "Shop")
		otherApp := e.MustCreateApp(t, "Other")
		appKey := e.MustCreateAppKey(t, appID)
		key := apitest.KeyAuth(appKey)
		ptn := newPartner(t)
		callback := ptn.URL + "/callback"

		// Registration (account key only); the secret is shown once.
		r := e.Do(t, "POST", "/_sunlamp/v1/oauth/clients", e.Account(), map[string]any{"id": "shoplifter", "name": "Shoplifter",
			"redirectUris": []any{callback, ptn.URL + "/other"}, "removeUrl": ptn.URL + "/removed"})
		e.MustJSON(t, r, http.StatusCreated, apitest.Sprintf(`{"client":{"id":"shoplifter","name":"Shoplifter","redirectUris":[%q,%q],
			"removeUrl":%q,"builtIn":false,"createdAt":"TIME","secret":"SECRET"}}`, callback, ptn.URL+"/other", ptn.URL+"/removed"))
		var reg struct{ Client struct{ Secret string } }
		r.Decode(t, &reg)
		secret := reg.Client.Secret
		if len(secret) < 80 {
			t.Fatalf("got secret %q, want a generated one", secret)
		}
		apitest.MustError(t, e.Do(t, "POST", "/_sunlamp/v1/oauth/clients", e.Account(), map[string]any{"id": "shoplifter", "name": "x", "redirectUris": []any{callback}}),
			http.StatusConflict, "conflict", "An OAuth client with that id already exists")
		apitest.MustError(t, e.Do(t, "POST", "/_sunlamp/v1/oauth/clients", e.Account(), map[string]any{"id": "zd:mine", "name": "x", "redirectUris": []any{callback}}),
			http.StatusBadRequest, "bad_request", "id cannot start with zd: (the service's own integrations)")
		apitest.MustError(t, e.Do(t, "POST", "/_sunlamp/v1/oauth/clients", e.Account(), map[string]any{"name": "x", "redirectUris": []any{"https://x.example/cb#frag"}}),
			http.StatusBadRequest, "bad_request", "redirectUris[0] should be an absolute http or https URL without a fragment")
		apitest.MustStatus(t, e.Do(t, "POST", "/_sunlamp/v1/oauth/clients", key, map[string]any{"name": "x", "redirectUris": []any{callback}}), http.StatusForbidden)
		r = e.Do(t, "GET", "/_sunlamp/v1/oauth/clients", e.Account(), nil)
		var list struct {
			Clients []struct {
				ID      string
				BuiltIn bool
				Secret  string
			}
		}
		r.Decode(t, &list)
		if len(list.Clients) != 2 || list.Clients[0].ID != "zd:agentWorkspace" || !list.Clients[0].BuiltIn || list.Clients[1].ID != "shoplifter" || list.Clients[1].Secret != "" {
			t.Errorf("got clients %+v, want the built-in zd:agentWorkspace and shoplifter, without secrets", list.Clients)
		}

		// Requests the page must refuse without sending the browser anywhere.
		for _, q := range []string{"response_type=code&client_id=nobody", "response_type=code&client_id=shoplifter&redirect_uri=" + url.QueryEscape("https://evil.example/cb"),
			"response_type=code&client_id=zd:agentWorkspace", "response_type=code"} {
			p := browse(t, "GET", e.URL+"/oauth/authorize?"+q, nil)
			if p.status != http.StatusBadRequest || p.location != "" || !strings.Contains(p.body, "Authorization failed") {
				t.Errorf("authorize?%s: got %d to %q, want a 400 page", q, p.status, p.location)
			}
		}
		p := browse(t, "GET", e.URL+"/oauth/authorize?response_type=token&client_id=shoplifter&state=s1", nil)
		if p.status != http.StatusFound || p.location != callback+"?error=unsupported_response_type&state=s1" {
			t.Errorf("response_type=token: got %d to %q, want 302 to the callback with unsupported_response_type", p.status, p.location)
		}
		// The pages: strict CSP (no script at all), never framed or cached.
		p = browse(t, "GET", e.URL+"/oauth/consent?client_id=shoplifter", nil)
		if csp := p.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") ||
			!strings.Contains(csp, "frame-ancestors 'none'") || p.header.Get("Cache-Control") != "no-store" {
			t.Errorf("consent page headers: got %v", p.header)
		}
		if strings.Contains(p.body, "<script") {
			t.Error("the consent page has a script")
		}
		// A wrong secret is refused on the page, without telling which part was wrong.
		p = browse(t, "POST", e.URL+"/oauth/consent", url.Values{"client_id": {"shoplifter"}, "redirect_uri": {callback}, "key_id": {appKey.ID}, "key_secret": {"wrong"}})
		if p.status != http.StatusUnauthorized || !strings.Contains(p.body, "That key id and secret do not match a key.") || ticketField.MatchString(p.body) {
			t.Errorf("wrong secret: got %d %s", p.status, p.body)
		}
		// A forged ticket gets nothing.
		p = browse(t, "POST", e.URL+"/oauth/consent", url.Values{"ticket": {"eyJrIjoiYXBwXyJ9.AAAA"}, "app_id": {appID}, "decision": {"allow"}})
		if p.status != http.StatusBadRequest || p.location != "" {
			t.Errorf("forged ticket: got %d to %q", p.status, p.location)
		}

		// Deny: back with access_denied and the state.
		back := mustAuthorize(t, e, "shoplifter", "", "s2", appKey.ID, appKey.Secret, appID, "deny")
		if got := back.Query(); back.Scheme+"://"+back.Host+back.Path != callback || got.Get("error") != "access_denied" || got.Get("state") != "s2" || got.Get("code") != "" {
			t.Errorf("deny: sent back to %s, want the callback with error=access_denied&state=s2", back)
		}
		// An app key cannot pick another app than its own.
		allow := mustAuthorize(t, e, "shoplifter", "", "s3", appKey.ID, appKey.Secret, appID, "allow")
		code := allow.Query().Get("code")
		if allow.Query().Get("state") != "s3" || code == "" {
			t.Fatalf("allow: sent back to %s, want a code and state s3", allow)
		}

		token := func(body map[string]any) *apitest.Response {
			return e.Do(t, "POST", "/oauth/token", apitest.NoAuth{}, body)
		}
		exchange := map[string]any{"code": code, "grant_type": "authorization_code", "client_id": "shoplifter", "client_secret": secret}
		apitest.MustError(t, token(map[string]any{"code": code, "grant_type": "authorization_code", "client_id": "shoplifter", "client_secret": secret + "x"}),
			http.StatusUnauthorized, "unauthorized", "Invalid client credentials")
		apitest.MustError(t, token(map[string]any{"code": code, "grant_type": "client_credentials", "client_id": "shoplifter", "client_secret": secret}),
			http.StatusBadRequest, "bad_request", "grant_type should be equal to authorization_code")
		apitest.MustError(t, token(map[string]any{"grant_type": "authorization_code", "client_id": "shoplifter", "client_secret": secret}),
			http.StatusBadRequest, "bad_request", "should have required property 'code'")
		r = token(exchange)
		apitest.MustStatus(t, r, http.StatusOK)
		if got := r.JSON(t); got["token_type"] != "Bearer" || len(got) != 2 {
			t.Errorf("got %s, want access_token and token_type Bearer", r.Body)
		}
		if r.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("token response: Cache-Control %q, want no-store", r.Header.Get("Cache-Control"))
		}
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		r.Decode(t, &tok)
		bearer := apitest.Bearer(tok.AccessToken)
		// Single use.
		apitest.MustError(t, token(exchange), http.StatusBadRequest, "bad_request", "Invalid authorization code")

		// The token: integration scope on the app's users, conversations and its own webhooks.
		e.MustJSON(t, e.Do(t, "GET", "/v2/tokenInfo", bearer, nil), http.StatusOK, tokenInfoWant(t, e, key, appID))
		apitest.MustStatus(t, e.Do(t, "POST", "/v2/apps/"+appID+"/users", bearer, map[string]any{"externalId": "via-oauth"}), http.StatusCreated)
		apitest.MustStatus(t, e.Do(t, "GET", "/v2/apps/"+appID+"/users/via-oauth", bearer, nil), http.StatusOK)
		for _, c := range []struct{ method, path string }{
			{"GET", "/v2/apps/" + appID}, {"GET", "/v2/apps/" + appID + "/integrations"}, {"POST", "/v2/apps/" + appID + "/switchboards"},
			{"GET", "/v2/apps/" + otherApp + "/users/via-oauth"}, {"GET", "/v2/apps"},
		} {
			apitest.MustStatus(t, e.Do(t, c.method, c.path, bearer, nil), http.StatusForbidden)
		}
		r = e.Do(t, "POST", "/v2/apps/"+appID+"/integrations/me/webhooks", bearer, map[string]any{"target": ptn.URL + "/hook", "triggers": []any{"conversation:message"}})
		apitest.MustStatus(t, r, http.StatusCreated)
		// The owner's view: the integration and its webhook; the v2 Integrations operations keep
		// to their schema's types.
		r = e.Do(t, "GET", "/_sunlamp/v1/apps/"+appID+"/oauth/integrations", key, nil)
		var installs struct {
			Integrations []struct {
				ID, Type, DisplayName string
				Webhooks              []struct{ Target string }
			}
		}
		r.Decode(t, &installs)
		if len(installs.Integrations) != 1 || installs.Integrations[0].Type != "shoplifter" || installs.Integrations[0].DisplayName != "Shoplifter" ||
			len(installs.Integrations[0].Webhooks) != 1 {
			t.Fatalf("got OAuth integrations %+v, want shoplifter's with its webhook", installs.Integrations)
		}
		integrationID := installs.Integrations[0].ID
		e.MustJSON(t, e.Do(t, "GET", "/v2/apps/"+appID+"/integrations", key, nil), http.StatusOK, `{"integrations":[],"meta":{"hasMore":false}}`)
		apitest.MustError(t, e.Do(t, "GET", "/v2/apps/"+appID+"/integrations/"+integrationID, key, nil), http.StatusNotFound, "integration_not_found", "Integration not found")
		apitest.MustError(t, e.Do(t, "DELETE", "/v2/apps/"+appID+"/integrations/"+integrationID, key, nil), http.StatusNotFound, "integration_not_found", "Integration not found")

		// Authorizing again reuses the integration: a second token for it.
		code2 := mustAuthorize(t, e, "shoplifter", ptn.URL+"/other", "", e.AccountKey.ID, e.AccountKey.Secret, appID, "allow").Query().Get("code")
		// The code is bound to its redirect URI when the request names one, and expires.
		apitest.MustError(t, token(map[string]any{"code": code2, "grant_type": "authorization_code", "client_id": "shoplifter", "client_secret": secret, "redirect_uri": callback}),
			http.StatusBadRequest, "bad_request", "Invalid authorization code")
		code3 := mustAuthorize(t, e, "shoplifter", "", "", e.AccountKey.ID, e.AccountKey.Secret, appID, "allow").Query().Get("code")
		e.Clock.Advance(11 * time.Minute)
		apitest.MustError(t, token(map[string]any{"code": code3, "grant_type": "authorization_code", "client_id": "shoplifter", "client_secret": secret}),
			http.StatusBadRequest, "bad_request", "Invalid authorization code")
		code4 := mustAuthorize(t, e, "shoplifter", ptn.URL+"/other", "", e.AccountKey.ID, e.AccountKey.Secret, appID, "allow").Query().Get("code")
		r = e.Do(t, "POST", "/oauth/token", apitest.NoAuth{}, map[string]any{"code": code4, "grant_type": "authorization_code", "client_id": "shoplifter",
			"client_secret": secret, "redirect_uri": ptn.URL + "/other"})
		apitest.MustStatus(t, r, http.StatusOK)
		var tok2 struct {
			AccessToken string `json:"access_token"`
		}
		r.Decode(t, &tok2)
		r = e.Do(t, "GET", "/_sunlamp/v1/apps/"+appID+"/oauth/integrations", key, nil)
		r.Decode(t, &installs)
		if len(installs.Integrations) != 1 || installs.Integrations[0].ID != integrationID {
			t.Errorf("after a second authorization: got %+v, want the same one integration", installs.Integrations)
		}

		// A custom integration's key is not an OAuth token.
		custom := createIntegration(t, e, appID, key, customBody(ptn.URL+"/hook", "conversation:message"))
		customKey := integrationKey(t, e, appID, key, custom)
		apitest.MustError(t, e.Do(t, "DELETE", "/oauth/authorization", customKey, nil), http.StatusForbidden, "forbidden", "Only an OAuth integration's token can do this")
		apitest.MustStatus(t, e.Do(t, "GET", "/v2/tokenInfo", key, nil), http.StatusForbidden)
		apitest.MustStatus(t, e.Do(t, "GET", "/v2/tokenInfo", apitest.NoAuth{}, nil), http.StatusUnauthorized)

		// Revoke: every token stops working, the webhooks go, the partner's removeUrl is called.
		e.MustJSON(t, e.Do(t, "DELETE", "/oauth/authorization", bearer, nil), http.StatusOK, `{}`)
		apitest.MustStatus(t, e.Do(t, "GET", "/v2/tokenInfo", bearer, nil), http.StatusUnauthorized)
		apitest.MustStatus(t, e.Do(t, "GET", "/v2/tokenInfo", apitest.Bearer(tok2.AccessToken), nil), http.StatusUnauthorized)
		e.MustJSON(t, e.Do(t, "GET", "/_sunlamp/v1/apps/"+appID+"/oauth/integrations", key, nil), http.StatusOK, `{"integrations":[]}`)
		select {
		case got := <-ptn.removed:
			if got["appId"] != appID || got["integrationId"] != integrationID || got["clientId"] != "shoplifter" {
				t.Errorf("removeUrl got %v, want the app, the integration and the client", got)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("removeUrl was not called")
		}
		if hooks := e.MustDumpState(t)["webhooks"]; len(hooks) != 1 { // the custom integration's
			t.Errorf("webhooks left: %v, want only the custom integration's", hooks)
		}

		// Unregistering the client removes its integrations everywhere, without calling removeUrl.
		code5 := mustAuthorize(t, e, "shoplifter", "", "", e.AccountKey.ID, e.AccountKey.Secret, otherApp, "allow").Query().Get("code")
		r = token(map[string]any{"code": code5, "grant_type": "authorization_code", "client_id": "shoplifter", "client_secret": secret})
		r.Decode(t, &tok)
		apitest.MustStatus(t, e.Do(t, "GET", "/v2/tokenInfo", apitest.Bearer(tok.AccessToken), nil), http.StatusOK)
		e.MustJSON(t, e.Do(t, "DELETE", "/_sunlamp/v1/oauth/clients/shoplifter", e.Account(), nil), http.StatusOK, `{}`)
		apitest.MustStatus(t, e.Do(t, "GET", "/v2/tokenInfo", apitest.Bearer(tok.AccessToken), nil), http.StatusUnauthorized)
		apitest.MustError(t, e.Do(t, "DELETE", "/_sunlamp/v1/oauth/clients/zd:agentWorkspace", e.Account(), nil),
			http.StatusBadRequest, "bad_request", "Built-in OAuth clients cannot be changed or removed")
	})
}

// tokenInfoWant is GetApp's answer for appID with the app's subdomain (its id) added.
func tokenInfoWant(t *testing.T, e *apitest.Env, key apitest.Auth, appID string) string {
	t.Helper()
	var got map[string]map[string]any
	e.Do(t, "GET", "/v2/apps/"+appID, key, nil).Decode(t, &got)
	got["app"]["subdomain"] = appID
	b, _ := json.Marshal(got)
	return string(b)
}
