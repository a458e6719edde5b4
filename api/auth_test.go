package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sunlamp/sunlamp/api"
	"github.com/sunlamp/sunlamp/internal/apitest"
	"github.com/sunlamp/sunlamp/sqlstore"
)

func token(t *testing.T, method jwt.SigningMethod, kid string, secret any, claims jwt.MapClaims) apitest.Bearer {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(secret)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return apitest.Bearer(s)
}

func TestAuthentication(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		appID := e.MustCreateApp(t, "Auth")
		key := e.MustCreateAppKey(t, appID)
		acct := e.AccountKey
		unauthorized := `{"errors":[{"code":"unauthorized","title":"Authorization is required"}]}`
		forbidden := `{"errors":[{"code":"forbidden","title":"Forbidden"}]}`
		hs := jwt.SigningMethodHS256

		ok := []struct {
			name string
			auth apitest.Auth
		}{
			{"basic account key", e.Account()},
			{"basic app key", apitest.KeyAuth(key)},
			{"jwt account scope", token(t, hs, acct.ID, []byte(acct.Secret), jwt.MapClaims{"scope": "account"})},
			{"jwt app scope", token(t, hs, key.ID, []byte(key.Secret), jwt.MapClaims{"scope": "app"})},
			{"jwt with future exp", token(t, hs, key.ID, []byte(key.Secret), jwt.MapClaims{"scope": "app", "exp": time.Now().Add(time.Hour).Unix()})},
		}
		for _, c := range ok {
			t.Run(c.name, func(t *testing.T) {
				apitest.MustStatus(t, e.Do(t, "GET", "/v2/apps/"+appID, c.auth, nil), 200)
			})
		}

		bad := []struct {
			name string
			auth apitest.Auth
		}{
			{"none", apitest.NoAuth{}},
			{"wrong secret", apitest.Basic{ID: key.ID, Secret: key.Secret + "x"}},
			{"unknown key", apitest.Basic{ID: "app_5d8cff3cd55b040010928b5b", Secret: key.Secret}},
			{"not a key id", apitest.Basic{ID: "someone", Secret: "x"}},
			{"jwt alg none", token(t, jwt.SigningMethodNone, key.ID, jwt.UnsafeAllowNoneSignatureType, jwt.MapClaims{"scope": "app"})},
			{"jwt HS512", token(t, jwt.SigningMethodHS512, key.ID, []byte(key.Secret), jwt.MapClaims{"scope": "app"})},
			{"jwt bad signature", token(t, hs, key.ID, []byte("not the secret"), jwt.MapClaims{"scope": "app"})},
			{"jwt expired", token(t, hs, key.ID, []byte(key.Secret), jwt.MapClaims{"scope": "app", "exp": time.Now().Add(-time.Minute).Unix()})},
			{"jwt unknown kid", token(t, hs, "app_5d8cff3cd55b040010928b5b", []byte(key.Secret), jwt.MapClaims{"scope": "app"})},
			{"jwt no kid", token(t, hs, "", []byte(key.Secret), jwt.MapClaims{"scope": "app"})},
			{"jwt scope of another kind", token(t, hs, key.ID, []byte(key.Secret), jwt.MapClaims{"scope": "account"})},
			{"jwt user scope", token(t, hs, key.ID, []byte(key.Secret), jwt.MapClaims{"scope": "user", "userId": "x"})},
			{"jwt without scope", token(t, hs, key.ID, []byte(key.Secret), jwt.MapClaims{})},
			{"garbage bearer", apitest.Bearer("not.a.jwt")},
		}
		for _, c := range bad {
			t.Run(c.name, func(t *testing.T) {
				e.MustJSON(t, e.Do(t, "GET", "/v2/apps/"+appID, c.auth, nil), 401, unauthorized)
			})
		}

		t.Run("app key cannot provision", func(t *testing.T) {
			k := apitest.KeyAuth(key)
			e.MustJSON(t, e.Do(t, "GET", "/v2/apps", k, nil), 403, forbidden)
			e.MustJSON(t, e.Do(t, "POST", "/v2/apps", k, map[string]any{"displayName": "x"}), 403, forbidden)
			e.MustJSON(t, e.Do(t, "DELETE", "/v2/apps/"+appID, k, nil), 403, forbidden)
			e.MustJSON(t, e.Do(t, "GET", "/v2/apps/"+appID+"/keys", k, nil), 403, forbidden)
		})

		t.Run("app key never learns about other apps", func(t *testing.T) {
			other := e.MustCreateApp(t, "Other")
			k := apitest.KeyAuth(key)
			existing := e.Do(t, "GET", "/v2/apps/"+other, k, nil)
			missing := e.Do(t, "GET", "/v2/apps/5d8cff3cd55b040010928b5b", k, nil)
			e.MustJSON(t, existing, 403, forbidden)
			e.MustJSON(t, missing, 403, forbidden)
			e.MustJSON(t, e.Do(t, "PATCH", "/v2/apps/"+other, k, map[string]any{"displayName": "pwned"}), 403, forbidden)
			r := e.Do(t, "GET", "/v2/apps/"+other, e.Account(), nil)
			if name := r.JSON(t)["app"].(map[string]any)["displayName"]; name != "Other" {
				t.Errorf("got displayName %v, want the other app untouched", name)
			}
		})
	})
}

func TestAppKeys(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		acct := e.Account()
		appID := e.MustCreateApp(t, "Keys")
		r := e.Do(t, "POST", "/v2/apps/"+appID+"/keys", acct, map[string]any{"displayName": "First"})
		e.MustJSON(t, r, 201, `{"key":{"id":"app_ID","displayName":"First","secret":"SECRET"}}`)
		var created struct{ Key struct{ ID, Secret string } }
		r.Decode(t, &created)
		if len(created.Key.Secret) != 86 {
			t.Errorf("got a secret of %d characters, want 86 (64 random bytes, base64url)", len(created.Key.Secret))
		}
		e.MustJSON(t, e.Do(t, "GET", "/v2/apps/"+appID+"/keys/"+created.Key.ID, acct, nil), 200,
			`{"key":{"id":"app_ID","displayName":"First","secret":"SECRET"}}`)
		e.MustJSON(t, e.Do(t, "GET", "/v2/apps/"+appID+"/keys", acct, nil), 200,
			`{"keys":[{"id":"app_ID","displayName":"First","secret":"SECRET"}]}`)

		apitest.MustError(t, e.Do(t, "POST", "/v2/apps/"+appID+"/keys", acct, map[string]any{}), 400, "bad_request", "should have required property 'displayName'")
		apitest.MustError(t, e.Do(t, "GET", "/v2/apps/"+appID+"/keys/app_5d8cff3cd55b040010928b5b", acct, nil), 404, "not_found", "Resource not found")
		apitest.MustError(t, e.Do(t, "DELETE", "/v2/apps/"+appID+"/keys/app_5d8cff3cd55b040010928b5b", acct, nil), 404, "app_not_found", "App not found")
		apitest.MustError(t, e.Do(t, "GET", "/v2/apps/5d8cff3cd55b040010928b5b/keys", acct, nil), 404, "app_not_found", "App not found")
		apitest.MustError(t, e.Do(t, "POST", "/v2/apps/5d8cff3cd55b040010928b5b/keys", acct, map[string]any{"displayName": "x"}), 404, "app_not_found", "App not found")

		// A key of another app is not found through this app.
		other := e.MustCreateApp(t, "Other")
		apitest.MustError(t, e.Do(t, "GET", "/v2/apps/"+other+"/keys/"+created.Key.ID, acct, nil), 404, "not_found", "Resource not found")
		apitest.MustError(t, e.Do(t, "DELETE", "/v2/apps/"+other+"/keys/"+created.Key.ID, acct, nil), 404, "app_not_found", "App not found")

		// At most 10 keys per app.
		for i := 2; i <= 10; i++ {
			apitest.MustStatus(t, e.Do(t, "POST", "/v2/apps/"+appID+"/keys", acct, map[string]any{"displayName": "k"}), 201)
		}
		apitest.MustError(t, e.Do(t, "POST", "/v2/apps/"+appID+"/keys", acct, map[string]any{"displayName": "eleventh"}), 400, "bad_request", "An app can have at most 10 API keys")

		// A deleted key stops working at once, including for a JWT it signed.
		auth := apitest.Basic{ID: created.Key.ID, Secret: created.Key.Secret}
		jwtAuth := token(t, jwt.SigningMethodHS256, created.Key.ID, []byte(created.Key.Secret), jwt.MapClaims{"scope": "app"})
		apitest.MustStatus(t, e.Do(t, "GET", "/v2/apps/"+appID, auth, nil), 200)
		apitest.MustStatus(t, e.Do(t, "GET", "/v2/apps/"+appID, jwtAuth, nil), 200)
		e.MustJSON(t, e.Do(t, "DELETE", "/v2/apps/"+appID+"/keys/"+created.Key.ID, acct, nil), 200, `{}`)
		apitest.MustStatus(t, e.Do(t, "GET", "/v2/apps/"+appID, auth, nil), 401)
		apitest.MustStatus(t, e.Do(t, "GET", "/v2/apps/"+appID, jwtAuth, nil), 401)
		apitest.MustStatus(t, e.Do(t, "POST", "/v2/apps/"+appID+"/keys", acct, map[string]any{"displayName": "room again"}), 201)
	})
}

func TestHTTPBehaviour(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		acct := e.Account()
		t.Run("unknown route is a JSON 404", func(t *testing.T) {
			e.MustJSON(t, e.Do(t, "GET", "/v2/nothing/here", acct, nil), 404, `{"errors":[{"code":"not_found","title":"Resource not found"}]}`)
		})
		t.Run("wrong method is a JSON 405 with Allow", func(t *testing.T) {
			r := e.Do(t, "PUT", "/v2/apps", acct, map[string]any{})
			e.MustJSON(t, r, 405, `{"errors":[{"code":"method_not_allowed","title":"Method not allowed"}]}`)
			if allow := r.Header.Get("Allow"); !strings.Contains(allow, "GET") || !strings.Contains(allow, "POST") {
				t.Errorf("got Allow %q, want GET and POST", allow)
			}
		})
		t.Run("body over 100 kb is a JSON 413 and stores nothing", func(t *testing.T) {
			big := `{"displayName":"big","metadata":{"x":"` + strings.Repeat("a", 101*1024) + `"}}`
			e.MustJSON(t, e.Do(t, "POST", "/v2/apps", acct, big), 413, `{"errors":[{"code":"request_too_large","title":"Request body is too large"}]}`)
			// Without a Content-Length (chunked), the limit holds too.
			req, _ := http.NewRequest("POST", e.URL+"/v2/apps", struct{ *strings.Reader }{strings.NewReader(big)})
			req.SetBasicAuth(acct.ID, acct.Secret)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 413 || req.ContentLength != 0 {
				t.Errorf("got status %d for a chunked body (ContentLength %d), want 413", resp.StatusCode, req.ContentLength)
			}
			r := e.Do(t, "GET", "/v2/apps", acct, nil)
			if n := len(r.JSON(t)["apps"].([]any)); n != 0 {
				t.Errorf("got %d apps after refused uploads, want 0", n)
			}
		})
		t.Run("empty POST body without Content-Type is an empty object", func(t *testing.T) {
			req, _ := http.NewRequest("POST", e.URL+"/v2/apps", nil)
			req.SetBasicAuth(acct.ID, acct.Secret)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 400 { // {} lacks displayName: parsed, then validated
				t.Errorf("got %d, want 400 for a missing displayName", resp.StatusCode)
			}
		})
		t.Run("healthz", func(t *testing.T) {
			resp, err := http.Get(e.URL + "/healthz")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
				t.Errorf("got %d %q, want 200 JSON", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
		})
	})
}

// TestKeyDeletedThroughAnotherProcess: with several server processes on one PostgreSQL, a key
// deleted through one stops working in the others as soon as the change is announced, not after
// their key cache's TTL (an hour here).
func TestKeyDeletedThroughAnotherProcess(t *testing.T) {
	a := apitest.NewEnv(t, "postgres")
	st, err := sqlstore.Open(context.Background(), a.DSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	b := httptest.NewServer(api.NewServer(api.Config{Store: st, KeyCacheTTL: time.Hour}))
	t.Cleanup(b.Close)
	appID := a.MustCreateApp(t, "Two processes")
	key := a.MustCreateAppKey(t, appID)
	getApp := func() int {
		t.Helper()
		req, _ := http.NewRequest("GET", b.URL+"/v2/apps/"+appID, nil)
		req.SetBasicAuth(key.ID, key.Secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := getApp(); got != 200 { // the second process now caches the key
		t.Fatalf("got %d from the second process, want 200", got)
	}
	a.MustJSON(t, a.Do(t, "DELETE", "/v2/apps/"+appID+"/keys/"+key.ID, a.Account(), nil), 200, `{}`)
	deadline := time.Now().Add(5 * time.Second)
	for getApp() != 401 {
		if time.Now().After(deadline) {
			t.Fatal("the key deleted through the first process still works in the second after 5 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
