package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sunlamp/sunlamp/internal/apitest"
	"github.com/sunlamp/sunlamp/internal/browsertest"
)

// partnerApp is a marketplace partner's web server as the browser meets it: its callback exchanges
// the code for a token, server to server, and shows what it got.
type partnerApp struct {
	*httptest.Server
	mu      sync.Mutex
	tokens  []string
	removed chan map[string]string
}

func newPartnerApp(t *testing.T, e *apitest.Env, clientID string, secret *string) *partnerApp {
	p := &partnerApp{removed: make(chan map[string]string, 4)}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		switch r.URL.Path {
		case "/removed":
			var body map[string]string
			_ = json.NewDecoder(r.Body).Decode(&body)
			p.removed <- body
		case "/callback":
			q := r.URL.Query()
			if e := q.Get("error"); e != "" {
				fmt.Fprintf(w, "<h1>Not connected</h1><p id=result>%s, state %s</p>", html.EscapeString(e), html.EscapeString(q.Get("state")))
				return
			}
			body, _ := json.Marshal(map[string]string{"code": q.Get("code"), "grant_type": "authorization_code", "client_id": clientID, "client_secret": *secret})
			resp, err := http.Post(e.URL+"/oauth/token", "application/json", bytes.NewReader(body))
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			defer resp.Body.Close()
			var tok struct {
				AccessToken string `json:"access_token"`
				TokenType   string `json:"token_type"`
			}
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &tok) != nil || tok.TokenType != "Bearer" {
				fmt.Fprintf(w, "<h1>Token exchange failed</h1><p id=result>%d %s</p>", resp.StatusCode, html.EscapeString(string(b)))
				return
			}
			p.mu.Lock()
			p.tokens = append(p.tokens, tok.AccessToken)
			p.mu.Unlock()
			fmt.Fprintf(w, "<h1>Connected</h1><p id=result>connected, state %s</p>", html.EscapeString(q.Get("state")))
		}
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *partnerApp) lastToken(t *testing.T) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.tokens) == 0 {
		t.Fatal("the partner got no token")
	}
	return p.tokens[len(p.tokens)-1]
}

// labelled is a JavaScript expression: the form control whose label's text is name.
func labelled(name string) string {
	q, _ := json.Marshal(name)
	return fmt.Sprintf(`(() => { const l = [...document.querySelectorAll('label')].find(l => l.textContent.trim() === %s);
		return l && (l.control || document.getElementById(l.htmlFor)); })()`, q)
}

// everyControlNamed is a JavaScript expression: every visible control of the page has an accessible
// name (a label, or a button's text).
const everyControlNamed = `[...document.querySelectorAll('input:not([type=hidden]), button, select, textarea')].every(c =>
	c.tagName === 'BUTTON' ? c.textContent.trim() !== '' : (c.labels && c.labels.length > 0 && c.labels[0].textContent.trim() !== ''))`

// TestOAuthConsentInChromium runs the marketplace OAuth flow end to end in Debian's Chromium: the
// partner's button sends the browser to /oauth/authorize, the owner signs in on the consent page
// (at phone width) with the account key, picks the app and allows (at desktop width); the browser
// lands on the partner's callback, which exchanges the code; the token calls the API and
// GetTokenInfo; a second flow signed in with an app key is denied; RevokeAccess ends the token and
// calls the partner's removeUrl. Screenshots go to $SUNLAMP_SCREENSHOTS (else the test's temp dir).
func TestOAuthConsentInChromium(t *testing.T) {
	ctx := browsertest.New(t)
	e := apitest.NewEnv(t, "sqlite")
	dir := screenshotDir(t)
	appID := e.MustCreateApp(t, "Coffee Shop")
	e.MustCreateApp(t, "Another Shop")
	appKey := e.MustCreateAppKey(t, appID)
	var secret string
	p := newPartnerApp(t, e, "barista-bot", &secret)
	r := e.Do(t, "POST", "/_sunlamp/v1/oauth/clients", e.Account(), map[string]any{"id": "barista-bot", "name": "Barista Bot",
		"redirectUris": []string{p.URL + "/callback"}, "removeUrl": p.URL + "/removed"})
	apitest.MustStatus(t, r, http.StatusCreated)
	var reg struct{ Client struct{ Secret string } }
	r.Decode(t, &reg)
	secret = reg.Client.Secret

	authorize := e.URL + "/oauth/authorize?" + url.Values{"response_type": {"code"}, "client_id": {"barista-bot"}, "state": {"st-1"}}.Encode()
	browsertest.Do(t, ctx, 20*time.Second, "open the authorize URL on a phone",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile),
		chromedp.Navigate(authorize))
	browsertest.Do(t, ctx, 10*time.Second, "the sign-in form", chromedp.WaitVisible(chromedp.CSS(`#key_secret`)))
	if !browsertest.Eval[bool](t, ctx, labelled("Key id")+` === document.getElementById('key_id') && `+labelled("Key secret")+` === document.getElementById('key_secret')`) {
		t.Error("the sign-in fields are not named Key id and Key secret by their labels")
	}
	if !browsertest.Eval[bool](t, ctx, everyControlNamed) {
		t.Error("a control of the sign-in form has no accessible name")
	}
	if h := browsertest.Eval[string](t, ctx, `document.querySelector('h1').textContent`); h != "Sign in to authorize Barista Bot" {
		t.Errorf("got heading %q", h)
	}
	// A wrong secret first: the form says so, and keeps no secret.
	browsertest.Do(t, ctx, 10*time.Second, "sign in with a wrong secret",
		chromedp.SendKeys(chromedp.CSS(`#key_id`), e.AccountKey.ID),
		chromedp.SendKeys(chromedp.CSS(`#key_secret`), "not-the-secret"),
		chromedp.Click(chromedp.CSS(`form button[type=submit]`)))
	browsertest.Do(t, ctx, 10*time.Second, "the sign-in error", chromedp.WaitVisible(chromedp.CSS(`[role=alert]`)))
	if got := browsertest.Eval[string](t, ctx, `document.querySelector('[role=alert]').textContent`); got != "That key id and secret do not match a key." {
		t.Errorf("got the error %q", got)
	}
	if got := browsertest.Eval[string](t, ctx, `document.getElementById('key_secret').value`); got != "" {
		t.Error("the page kept the secret in the form")
	}
	browsertest.Screenshot(t, ctx, dir, "oauth-signin-phone.png")
	browsertest.Do(t, ctx, 10*time.Second, "sign in with the account key",
		chromedp.SendKeys(chromedp.CSS(`#key_secret`), e.AccountKey.Secret),
		chromedp.Click(chromedp.CSS(`form button[type=submit]`)))
	browsertest.Do(t, ctx, 10*time.Second, "the app picker", chromedp.WaitVisible(chromedp.CSS(`button[value=allow]`)))
	if h := browsertest.Eval[string](t, ctx, `document.querySelector('h1').textContent`); h != "Authorize Barista Bot" {
		t.Errorf("got heading %q", h)
	}
	if !browsertest.Eval[bool](t, ctx, everyControlNamed) {
		t.Error("a control of the app picker has no accessible name")
	}
	apps := browsertest.Eval[[]string](t, ctx, `[...document.querySelectorAll('label.app')].map(l => l.textContent.trim().split(' ').slice(0, 2).join(' '))`)
	if len(apps) != 2 {
		t.Errorf("got apps %q, want the account's two apps", apps)
	}
	browsertest.Do(t, ctx, 10*time.Second, "desktop size", chromedp.EmulateViewport(1280, 860))
	browsertest.WaitFor(t, ctx, 5*time.Second, "the page at desktop size", `window.innerWidth === 1280`)
	browsertest.Do(t, ctx, 10*time.Second, "pick the app",
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`input[name=app_id][value=%q]`, appID))))
	browsertest.Screenshot(t, ctx, dir, "oauth-consent-desktop.png")
	if got := browsertest.Eval[string](t, ctx, byName("Allow")+`?.value`); got != "allow" {
		t.Fatalf("no Allow button (got %q)", got)
	}
	browsertest.Do(t, ctx, 15*time.Second, "allow", chromedp.Click(chromedp.CSS(`button[value=allow]`)))
	browsertest.Do(t, ctx, 15*time.Second, "the partner's callback page", chromedp.WaitVisible(chromedp.CSS(`#result`)))
	if got := browsertest.Eval[string](t, ctx, `document.getElementById('result').textContent`); got != "connected, state st-1" {
		t.Fatalf("the partner's page says %q", got)
	}

	// The partner's token: integration scope on the app.
	bearer := apitest.Bearer(p.lastToken(t))
	r = e.Do(t, "GET", "/v2/tokenInfo", bearer, nil)
	apitest.MustStatus(t, r, http.StatusOK)
	if got := r.JSON(t)["app"].(map[string]any); got["id"] != appID || got["subdomain"] != appID {
		t.Errorf("GetTokenInfo: got %v, want the chosen app", got)
	}
	apitest.MustStatus(t, e.Do(t, "POST", "/v2/apps/"+appID+"/users", bearer, map[string]any{"externalId": "latte-lover"}), http.StatusCreated)
	apitest.MustStatus(t, e.Do(t, "GET", "/v2/apps/"+appID+"/integrations", bearer, nil), http.StatusForbidden)

	// Another owner signs in with an app key and denies.
	authorize = e.URL + "/oauth/authorize?" + url.Values{"response_type": {"code"}, "client_id": {"barista-bot"}, "state": {"st-2"}}.Encode()
	browsertest.Do(t, ctx, 20*time.Second, "open the authorize URL again", chromedp.Navigate(authorize))
	browsertest.Do(t, ctx, 10*time.Second, "the sign-in form", chromedp.WaitVisible(chromedp.CSS(`#key_id`)))
	browsertest.Do(t, ctx, 10*time.Second, "sign in with the app key",
		chromedp.SendKeys(chromedp.CSS(`#key_id`), appKey.ID),
		chromedp.SendKeys(chromedp.CSS(`#key_secret`), appKey.Secret),
		chromedp.Click(chromedp.CSS(`form button[type=submit]`)))
	browsertest.Do(t, ctx, 10*time.Second, "the app picker", chromedp.WaitVisible(chromedp.CSS(`button[value=deny]`)))
	if n := browsertest.Eval[int](t, ctx, `document.querySelectorAll('input[name=app_id]').length`); n != 1 {
		t.Errorf("an app key sees %d apps, want its own only", n)
	}
	browsertest.Do(t, ctx, 15*time.Second, "deny", chromedp.Click(chromedp.CSS(`button[value=deny]`)))
	browsertest.Do(t, ctx, 15*time.Second, "the partner's refusal page", chromedp.WaitVisible(chromedp.CSS(`#result`)))
	if got := browsertest.Eval[string](t, ctx, `document.getElementById('result').textContent`); got != "access_denied, state st-2" {
		t.Errorf("the partner's page says %q", got)
	}

	// Revoke: the token stops working and the partner hears of it.
	e.MustJSON(t, e.Do(t, "DELETE", "/oauth/authorization", bearer, nil), http.StatusOK, `{}`)
	apitest.MustStatus(t, e.Do(t, "GET", "/v2/tokenInfo", bearer, nil), http.StatusUnauthorized)
	select {
	case got := <-p.removed:
		if got["appId"] != appID || got["clientId"] != "barista-bot" {
			t.Errorf("removeUrl got %v", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("removeUrl was not called")
	}
	t.Logf("screenshots in %s", dir)
}
