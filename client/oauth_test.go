package client_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/sunlamp/sunlamp/client"
	"github.com/sunlamp/sunlamp/internal/apitest"
)

// TestOAuth runs the OAuth operations of the client around the consent page's two forms, posted as
// a browser posts them.
func TestOAuth(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		ctx := context.Background()
		appID := e.MustCreateApp(t, "Shop")
		acct := e.AccountClient(t)
		resp, err := acct.Do(ctx, "POST", "/_sunlamp/v1/oauth/clients", nil, map[string]any{"id": "partner", "name": "Partner",
			"redirectUris": []string{"https://partner.example/callback"}, "secret": "a-partner-secret-of-some-length"})
		if err != nil || resp.Status != http.StatusCreated {
			t.Fatalf("register the client: got %v, %v", resp, err)
		}
		anon, _ := newClient(t, e.URL, nil)
		// Authorize answers 302 with a text/plain body, as the spec documents: no spec transport.
		browser, err := client.New(e.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		consent, err := browser.Authorize(ctx, "partner", "code", client.AuthorizeOptions{State: "xyz"})
		if err != nil {
			t.Fatal(err)
		}
		if consent.Path != "/oauth/consent" || consent.Query().Get("state") != "xyz" {
			t.Fatalf("Authorize: got %s, want the consent page with the state", consent)
		}
		noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		post := func(form url.Values) *http.Response {
			r, err := noRedirect.PostForm(e.URL+"/oauth/consent", form)
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		form := consent.Query()
		form.Set("key_id", e.AccountKey.ID)
		form.Set("key_secret", e.AccountKey.Secret)
		r := post(form)
		page, _ := io.ReadAll(r.Body)
		r.Body.Close()
		m := regexp.MustCompile(`name="ticket" value="([^"]+)"`).FindSubmatch(page)
		if m == nil {
			t.Fatalf("no ticket in the app picker: %s", page)
		}
		r = post(url.Values{"ticket": {string(m[1])}, "app_id": {appID}, "decision": {"allow"}})
		r.Body.Close()
		back, _ := url.Parse(r.Header.Get("Location"))
		if !strings.HasPrefix(back.String(), "https://partner.example/callback?") || back.Query().Get("state") != "xyz" {
			t.Fatalf("got sent back to %q, want the callback with the state", back)
		}
		tok, err := anon.GetToken(ctx, client.TokenRequest{Code: back.Query().Get("code"), GrantType: "authorization_code",
			ClientID: "partner", ClientSecret: "a-partner-secret-of-some-length"})
		if err != nil || tok.TokenType != "Bearer" {
			t.Fatalf("GetToken: got %+v, %v", tok, err)
		}
		bot, _ := newClient(t, e.URL, client.Bearer(tok.AccessToken))
		app, err := bot.GetTokenInfo(ctx)
		if err != nil || app.ID != appID || app.Subdomain != appID {
			t.Fatalf("GetTokenInfo: got %+v, %v; want the app with its subdomain", app, err)
		}
		if _, err := bot.CreateUser(ctx, appID, client.UserCreate{ExternalID: "by-partner"}); err != nil {
			t.Fatalf("the token as a credential: %v", err)
		}
		if err := bot.RevokeAccess(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := bot.GetTokenInfo(ctx); client.StatusOf(err) != http.StatusUnauthorized {
			t.Errorf("after RevokeAccess: got %v, want 401", err)
		}
	})
}
