package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sunlamp/sunlamp/api"
	"github.com/sunlamp/sunlamp/client"
	"github.com/sunlamp/sunlamp/internal/apitest"
)

// messagesPath is the messages of a new user's default conversation in a new app of e: what a
// fault on PostMessage is tried on.
func newConversation(t *testing.T, e *apitest.Env) (appID, messages string) {
	t.Helper()
	appID = e.MustCreateApp(t, "Faults")
	userID := mustCreate(t, e, usersPath(appID), "user", map[string]any{"externalId": "faulty"})
	convID := mustCreate(t, e, "/v2/apps/"+appID+"/conversations", "conversation", map[string]any{"type": "personal",
		"participants": []any{map[string]any{"userId": userID}}})
	return appID, "/v2/apps/" + appID + "/conversations/" + convID + "/messages"
}

var textMessage = map[string]any{"author": map[string]any{"type": "business"}, "content": map[string]any{"type": "text", "text": "hi"}}

func TestFaultsNeedTheEmulator(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		appID := e.MustCreateApp(t, "Production")
		faults := "/_sunlamp/v1/apps/" + appID + "/faults"
		body := map[string]any{"operationId": "PostMessage", "status": 429}
		apitest.MustError(t, e.Do(t, "POST", faults, e.Account(), body), http.StatusNotFound, "not_found", "Resource not found")
		apitest.MustError(t, e.Do(t, "GET", faults, e.Account(), nil), http.StatusNotFound, "not_found", "Resource not found")
		apitest.MustError(t, e.Do(t, "DELETE", faults+"/5e4af71a81966cfff3ef6550", e.Account(), nil), http.StatusNotFound, "not_found", "Resource not found")
	})
}

func TestFaults(t *testing.T) {
	apitest.ForEachStoreEmulated(t, func(t *testing.T, em *apitest.EmulatorEnv) {
		e := em.Env
		acct := e.Account()
		appID, messages := newConversation(t, e)
		faults := "/_sunlamp/v1/apps/" + appID + "/faults"

		// Validation: every problem at once, each naming its field.
		r := e.Do(t, "POST", faults, acct, map[string]any{"status": 200, "count": -1, "probability": 2})
		e.MustJSON(t, r, http.StatusBadRequest, `{"errors":[
			{"code":"bad_request","title":"should have required property 'operationId'"},
			{"code":"bad_request","title":"status should be an HTTP error status (400 to 599)"},
			{"code":"bad_request","title":"count should be >= 0"},
			{"code":"bad_request","title":"probability should be above 0 and at most 1"}]}`)
		for _, c := range []struct {
			body  map[string]any
			title string
		}{
			{map[string]any{"operationId": "PostMesage", "status": 500}, `operationId "PostMesage" is not an operation of an app (such as PostMessage, GetUser, ListMessages)`},
			{map[string]any{"operationId": "CreateApp", "status": 500}, `operationId "CreateApp" is not an operation of an app (such as PostMessage, GetUser, ListMessages)`},
			{map[string]any{"operationId": "ResetApp", "status": 500}, `operationId "ResetApp" is not an operation of an app (such as PostMessage, GetUser, ListMessages)`},
			{map[string]any{"operationId": "PostMessage"}, "should have required property 'status' (or a delayMs above 0 for a delay alone)"},
			{map[string]any{"operationId": "PostMessage", "status": 500, "retryAfter": 3}, "retryAfter applies to status 429 and 503 only"},
			{map[string]any{"operationId": "PostMessage", "delayMs": 60000}, "delayMs should be between 0 and 30000"},
			{map[string]any{"operationId": "PostMessage", "status": "429"}, "status should be integer"},
		} {
			apitest.MustError(t, e.Do(t, "POST", faults, acct, c.body), http.StatusBadRequest, "bad_request", c.title)
		}
		// Account key only.
		key := apitest.KeyAuth(e.MustCreateAppKey(t, appID))
		apitest.MustError(t, e.Do(t, "POST", faults, key, map[string]any{"operationId": "PostMessage", "status": 429}), http.StatusForbidden, "forbidden", "Forbidden")

		// Twice 429 with Retry-After, then the real answer.
		r = e.Do(t, "POST", faults, acct, map[string]any{"operationId": "PostMessage", "status": 429, "count": 2, "retryAfter": 1})
		e.MustJSON(t, r, http.StatusCreated, `{"fault":{"id":"ID","operationId":"PostMessage","status":429,"count":2,"retryAfter":1,
			"probability":1,"fired":0,"createdAt":"TIME"}}`)
		faultID := r.JSON(t)["fault"].(map[string]any)["id"].(string)
		for i := 0; i < 2; i++ {
			r = e.Do(t, "POST", messages, key, textMessage)
			e.MustJSON(t, r, http.StatusTooManyRequests, `{"errors":[{"code":"too_many_requests","title":"Too many requests, retry later"}]}`)
			if got := r.Header.Get("Retry-After"); got != "1" {
				t.Errorf("got Retry-After %q, want 1", got)
			}
		}
		apitest.MustStatus(t, e.Do(t, "POST", messages, key, textMessage), http.StatusCreated)
		// Other operations are left alone.
		apitest.MustStatus(t, e.Do(t, "GET", messages, key, nil), http.StatusOK)
		e.MustJSON(t, e.Do(t, "GET", faults, acct, nil), http.StatusOK, `{"faults":[{"id":"ID","operationId":"PostMessage","status":429,"count":2,
			"retryAfter":1,"probability":1,"fired":2,"createdAt":"TIME"}]}`)

		// A 423 of PostMessage is the service's message limit; a 503 without retryAfter has no Retry-After.
		r = e.Do(t, "POST", faults, acct, map[string]any{"operationId": "PostMessage", "status": 423, "count": 1})
		apitest.MustStatus(t, r, http.StatusCreated)
		apitest.MustError(t, e.Do(t, "POST", messages, key, textMessage), http.StatusLocked, "locked", "Message limit of 30000 per conversation reached.")
		apitest.MustStatus(t, e.Do(t, "POST", faults, acct, map[string]any{"operationId": "ListMessages", "status": 503, "count": 1}), http.StatusCreated)
		r = e.Do(t, "GET", messages, key, nil)
		apitest.MustError(t, r, http.StatusServiceUnavailable, "service_unavailable", "Service Unavailable")
		if got := r.Header.Get("Retry-After"); got != "" {
			t.Errorf("got Retry-After %q, want none", got)
		}

		// A delay alone: the request waits, then succeeds.
		r = e.Do(t, "POST", faults, acct, map[string]any{"operationId": "GetConversation", "delayMs": 150, "count": 1})
		apitest.MustStatus(t, r, http.StatusCreated)
		start := time.Now()
		apitest.MustStatus(t, e.Do(t, "GET", strings.TrimSuffix(messages, "/messages"), key, nil), http.StatusOK)
		if d := time.Since(start); d < 150*time.Millisecond {
			t.Errorf("the request took %v, want at least the fault's 150ms", d)
		}

		// The Go client retries the 429s and succeeds.
		apitest.MustStatus(t, e.Do(t, "POST", faults, acct, map[string]any{"operationId": "PostMessage", "status": 429, "count": 2, "retryAfter": 1}), http.StatusCreated)
		policy := client.DefaultRetryPolicy()
		policy.MaxRetryAfter = 20 * time.Millisecond // the test does not wait the second it asks for
		c, err := client.New(e.URL, client.Basic(key.ID, key.Secret), client.WithRetry(policy))
		if err != nil {
			t.Fatal(err)
		}
		convID := strings.Split(messages, "/")[5]
		if _, err := c.PostMessage(context.Background(), appID, convID, client.MessagePost{
			Author: client.Author{Type: "business"}, Content: client.Content{Type: "text", Text: "after two 429s"}}); err != nil {
			t.Fatalf("PostMessage through two 429s: %v", err)
		}
		fs, err := em.AccountClient(t).ListFaults(context.Background(), appID)
		if err != nil {
			t.Fatal(err)
		}
		if got := fs[len(fs)-1].Fired; got != 2 {
			t.Errorf("got the last fault fired %d times, want 2", got)
		}

		// Delete.
		e.MustJSON(t, e.Do(t, "DELETE", faults+"/"+faultID, acct, nil), http.StatusOK, `{}`)
		apitest.MustError(t, e.Do(t, "DELETE", faults+"/"+faultID, acct, nil), http.StatusNotFound, "fault_not_found", "Fault not found")
		r = e.Do(t, "GET", faults, acct, nil)
		if strings.Contains(string(r.Body), faultID) {
			t.Errorf("the deleted fault is still listed: %s", r.Body)
		}
	})
}

func TestRateLimit(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		limited := apitest.NewEmulatorEnvDSN(t, e.Name, apitest.NewDSN(t, e.Name), func(c *api.Config) { c.Emulator, c.RateLimit = nil, 3 })
		appID := limited.MustCreateApp(t, "Throttled") // 2 of the account key's 3 requests
		key := apitest.KeyAuth(limited.MustCreateAppKey(t, appID))
		var throttled *apitest.Response
		for i := 0; i < 8 && throttled == nil; i++ { // 3 a second: some of 8 quick requests are refused
			if r := limited.Do(t, "GET", "/v2/apps/"+appID, key, nil); r.Status == http.StatusTooManyRequests {
				throttled = r
			}
		}
		if throttled == nil {
			t.Fatal("8 requests at once got no 429 with a limit of 3 a second")
		}
		limited.MustJSON(t, throttled, http.StatusTooManyRequests, `{"errors":[{"code":"too_many_requests","title":"Too many requests, retry later"}]}`)
		if got := throttled.Header.Get("Retry-After"); got != "1" {
			t.Errorf("got Retry-After %q, want 1", got)
		}
		// Each key has its own bucket.
		apitest.MustStatus(t, limited.Do(t, "GET", "/v2/apps/"+appID, limited.Account(), nil), http.StatusOK)
	})
}
