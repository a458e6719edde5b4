package api_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sunlamp/sunlamp/internal/apitest"
)

// recorderText returns every attempt the app's recorder answers, page after page.
func recorderText(t *testing.T, e *apitest.Env, appID string) string {
	t.Helper()
	var b strings.Builder
	query := "?page[size]=100"
	for {
		r := e.Do(t, "GET", "/_sunlamp/v1/apps/"+appID+"/deliveries"+query, e.Account(), nil)
		apitest.MustStatus(t, r, http.StatusOK)
		b.Write(r.Body)
		var l deliveriesList
		r.Decode(t, &l)
		for _, d := range l.Deliveries {
			r := e.Do(t, "GET", "/_sunlamp/v1/apps/"+appID+"/deliveries/"+d.ID, e.Account(), nil)
			if r.Status == http.StatusNotFound {
				continue // removed meanwhile with a deleted user's history
			}
			apitest.MustStatus(t, r, http.StatusOK)
			b.Write(r.Body)
		}
		if !l.Meta.HasMore {
			return b.String()
		}
		query = "?page[size]=100&page[after]=" + l.Deliveries[len(l.Deliveries)-1].ID
	}
}

// TestRecorderErasure plants distinctive personal data, has it delivered (with the full user and
// source, to a target that echoes what it gets), erases the user, and finds none of it in the
// recorder's answers, the database, or (SQLite) the database's files; a deleted user's attempts are
// scrubbed at once and gone with its history.
func TestRecorderErasure(t *testing.T) {
	for _, name := range apitest.Stores() {
		t.Run(name, func(t *testing.T) {
			em := apitest.NewEmulatorEnv(t, name)
			e := em.Env
			echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = io.Copy(w, r.Body) // a receiver that answers with what it got
			}))
			t.Cleanup(echo.Close)
			appID := e.MustCreateApp(t, "Recorder erasure")
			key := apitest.KeyAuth(e.MustCreateAppKey(t, appID))
			r := e.Do(t, "POST", "/v2/apps/"+appID+"/integrations", key, map[string]any{"type": "custom",
				"webhooks": []any{map[string]any{"target": echo.URL, "includeFullUser": true, "includeFullSource": true,
					"triggers": []string{"conversation:message", "conversation:create", "conversation:read", "client:add", "client:update", "user:update"}}}})
			apitest.MustStatus(t, r, http.StatusCreated)

			secrets, kept := personalData(t, e, appID, "erased-customer")
			gone, _ := personalData(t, e, appID, "deleted-customer")
			waitDelivered(t, em)
			before := recorderText(t, e, appID)
			for _, v := range []string{secrets[0], secrets[2], secrets[4], secrets[5], gone[0]} {
				if !strings.Contains(before, v) {
					t.Fatalf("before erasure, the recorder does not show %q: the test would prove nothing", v)
				}
			}

			deletedID := e.Do(t, "GET", usersPath(appID, "deleted-customer"), key, nil).JSON(t)["user"].(map[string]any)["id"].(string)
			apitest.MustStatus(t, e.Do(t, "DELETE", usersPath(appID, "erased-customer", "personalinformation"), key, nil), http.StatusOK)
			apitest.MustStatus(t, e.Do(t, "DELETE", usersPath(appID, "deleted-customer"), key, nil), http.StatusOK)
			waitDelivered(t, em)
			after := recorderText(t, e, appID)
			mustNotContain(t, "the recorder's answers", after, append(secrets, gone...))
			if !strings.Contains(after, kept[2]) {
				t.Errorf("the recorder lost the message text %q, which erasure keeps", kept[2])
			}
			db := openRawDB(t, name, e.DSN)
			mustNotContain(t, "the database", storedText(t, db, name), append(secrets, gone...))

			// The deleted user's attempts go with its history.
			if err := e.Store.PurgeDeletedUsers(context.Background()); err != nil {
				t.Fatal(err)
			}
			if n := count(t, db, name, "SELECT COUNT(*) FROM delivery_attempts WHERE user_id = ?", deletedID); n != 0 {
				t.Errorf("got %d recorded attempts of the deleted user after its purge, want 0", n)
			}
			db.Close()

			if name == "sqlite" {
				path := e.Store.Path()
				for f, b := range sqliteFiles(t, path) {
					mustNotContain(t, f+" (running)", string(b), secrets)
				}
				em.Stop(t)
				for f, b := range sqliteFiles(t, path) {
					mustNotContain(t, f, string(b), append(secrets, gone...))
				}
			}
		})
	}
}
