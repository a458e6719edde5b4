package api_test

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/sunlamp/sunlamp"
	"github.com/sunlamp/sunlamp/internal/apitest"
)

// Limits hold under concurrent creation: counting and inserting race on PostgreSQL unless the
// parent row is locked first.
func TestLimitsUnderConcurrency(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		appID := e.MustCreateApp(t, "Limits")
		acct := e.Account()
		key := apitest.KeyAuth(e.MustCreateAppKey(t, appID)) // 1 of 10 app keys
		r := e.Do(t, "POST", "/v2/apps/"+appID+"/integrations", key, map[string]any{"type": "custom", "displayName": "bot",
			"webhooks": []any{map[string]any{"target": "https://example.com/hook", "triggers": []string{"conversation:message"}}}})
		apitest.MustStatus(t, r, http.StatusCreated)
		integrationID := r.JSON(t)["integration"].(map[string]any)["id"].(string) // 1 of 10 webhooks

		race := func(n int, do func() int) map[int]int {
			var mu sync.Mutex
			got := map[int]int{}
			var wg sync.WaitGroup
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					status := do()
					mu.Lock()
					got[status]++
					mu.Unlock()
				}()
			}
			wg.Wait()
			return got
		}
		created := race(30, func() int {
			return e.Do(t, "POST", "/v2/apps/"+appID+"/keys", acct, map[string]any{"displayName": "k"}).Status
		})
		if created[201] != 9 || created[400] != 21 {
			t.Errorf("app keys: got statuses %v, want 9 created (10 in all) and 21 refused", created)
		}
		created = race(30, func() int {
			return e.Do(t, "POST", "/v2/apps/"+appID+"/integrations/"+integrationID+"/webhooks", key,
				map[string]any{"target": "https://example.com/n", "triggers": []string{"conversation:message"}}).Status
		})
		if created[201] != 9 || created[400] != 21 {
			t.Errorf("webhooks: got statuses %v, want 9 created (10 in all) and 21 refused", created)
		}
		created = race(30, func() int {
			return e.Do(t, "POST", "/v2/apps/"+appID+"/integrations/"+integrationID+"/keys", key, map[string]any{"displayName": "k"}).Status
		})
		if created[201] != 10 || created[400] != 20 {
			t.Errorf("integration keys: got statuses %v, want 10 created and 20 refused", created)
		}
	})
}

// A custom integration key cannot outlive (or be made without) its integration.
func TestIntegrationKeyNeedsItsIntegration(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		appID := e.MustCreateApp(t, "Keys")
		_, err := e.Store.CreateKey(context.Background(), sunlamp.Key{
			ID: sunlamp.NewKeyID(sunlamp.PrefixIntegrationKey), Scope: sunlamp.ScopeIntegration, AccountID: sunlamp.DefaultAccountID,
			AppID: appID, IntegrationID: "000000000000000000000000", DisplayName: "orphan", Secret: sunlamp.NewSecret(),
		})
		if sunlamp.KindOf(err) != sunlamp.KindNotFound {
			t.Errorf("got %v creating a key of a missing integration, want integration_not_found", err)
		}
	})
}
