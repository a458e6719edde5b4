package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/golang-jwt/jwt/v5"

	"github.com/sunlamp/sunlamp/internal/apitest"
	"github.com/sunlamp/sunlamp/internal/browsertest"
)

// TestWebMessengerFramedLogin: a host site that frames the page logs its visitor in by posting
// {type: "sunlamp:login", jwt} to the frame, as the README says; a message posted by anything else
// (here the page itself, standing for a window that opened it or a frame inside it) is not heard,
// so no other site can log a visitor into an account of its choosing.
func TestWebMessengerFramedLogin(t *testing.T) {
	e := apitest.NewEnv(t, "sqlite")
	b := newBotEnv(t, e, map[string]any{"businessName": "Framed"})
	appKey := e.MustCreateAppKey(t, b.appID)
	jwtFor := func(externalID string) string {
		q, _ := json.Marshal(string(token(t, jwt.SigningMethodHS256, appKey.ID, []byte(appKey.Secret), jwt.MapClaims{"scope": "user", "external_id": externalID})))
		return string(q)
	}

	// The host site: another origin (another port), framing the page and logging in once it loaded.
	host := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>Shop</title><iframe id="chat" src="%s/web/%s" width="400" height="600"></iframe>
<script>const f = document.getElementById('chat');
f.addEventListener('load', () => f.contentWindow.postMessage({type: 'sunlamp:login', jwt: %s}, '*'));</script>`, e.URL, b.webID, jwtFor("framed-1"))
	}))
	t.Cleanup(host.Close)

	ctx := browsertest.New(t)
	browsertest.Do(t, ctx, 20*time.Second, "open the host page", chromedp.Navigate(host.URL))
	upd := b.waitEvent(t, "user:update", `"reason":"authentication"`, `"externalId":"framed-1"`)
	if u := upd["user"].(map[string]any); u["externalId"] != "framed-1" {
		t.Errorf("framed login: got user %v, want externalId framed-1", u)
	}

	// The page on its own: a message that does not come from a framing window is ignored.
	browsertest.Do(t, ctx, 20*time.Second, "open the page", chromedp.Navigate(e.URL+"/web/"+b.webID))
	browsertest.WaitFor(t, ctx, 10*time.Second, "the composer", `document.querySelector('textarea, input[type=text]') !== null`)
	browsertest.Do(t, ctx, 10*time.Second, "post a login to the page itself",
		chromedp.Evaluate[chromedp.Void](`window.postMessage({type: 'sunlamp:login', jwt: `+jwtFor("intruder-2")+`}, '*')`))
	// A login that was heard would have made the user by now (the framed one took well under this).
	time.Sleep(2 * time.Second)
	apitest.MustError(t, e.Do(t, "GET", usersPath(b.appID, "intruder-2"), b.key, nil), http.StatusNotFound, "user_not_found", "User not found")
	// The page's own API still logs in (the host page calling window.sunlamp.login).
	browsertest.Do(t, ctx, 10*time.Second, "log in through the page's API",
		chromedp.Evaluate[chromedp.Void](`window.sunlamp.login(`+jwtFor("direct-3")+`)`, chromedp.EvalAwaitPromise))
	apitest.MustStatus(t, e.Do(t, "GET", usersPath(b.appID, "direct-3"), b.key, nil), http.StatusOK)
}
