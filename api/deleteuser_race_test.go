package api_test

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/sunlamp/sunlamp/internal/apitest"
)

// A message racing Delete User must not outlive the user: either it commits before the deletion
// (and the purge removes it) or it is refused as user_not_found.
func TestPostMessageRacingDeleteUser(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		appID := e.MustCreateApp(t, "Race")
		key := apitest.KeyAuth(e.MustCreateAppKey(t, appID))
		app := "/v2/apps/" + appID
		var users []string
		for round := 0; round < 15; round++ {
			r := e.Do(t, "POST", app+"/users", key, map[string]any{"externalId": apitest.Sprintf("racer-%d", round)})
			apitest.MustStatus(t, r, http.StatusCreated)
			userID := r.JSON(t)["user"].(map[string]any)["id"].(string)
			users = append(users, userID)
			r = e.Do(t, "POST", app+"/conversations", key, map[string]any{"type": "sdkGroup"})
			apitest.MustStatus(t, r, http.StatusCreated)
			group := app + "/conversations/" + r.JSON(t)["conversation"].(map[string]any)["id"].(string)
			var wg sync.WaitGroup
			for w := 0; w < 6; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < 8; i++ {
						r := e.Do(t, "POST", group+"/messages", key, map[string]any{
							"author": map[string]any{"type": "user", "userId": userID}, "content": map[string]any{"type": "text", "text": "racing"}})
						if r.Status != http.StatusCreated && r.Status != http.StatusNotFound {
							t.Errorf("got status %d posting during the deletion, want 201 or 404: %s", r.Status, r.Body)
						}
					}
				}()
			}
			apitest.MustStatus(t, e.Do(t, "DELETE", app+"/users/"+userID, key, nil), http.StatusOK)
			wg.Wait()
		}
		if err := e.Store.PurgeDeletedUsers(context.Background()); err != nil {
			t.Fatal(err)
		}
		db := openRawDB(t, e.Name, e.DSN)
		defer db.Close()
		for _, id := range users {
			if n := count(t, db, e.Name, "SELECT COUNT(*) FROM messages WHERE author_user_id = ?", id); n != 0 {
				t.Errorf("user %s: got %d messages after its deletion and purge, want 0", id, n)
			}
		}
	})
}
