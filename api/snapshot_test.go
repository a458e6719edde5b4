package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/sunlamp/sunlamp/api"
	"github.com/sunlamp/sunlamp/internal/apitest"
	"github.com/sunlamp/sunlamp/internal/webhooktest"
)

// mustSnapshot exports the app's snapshot.
func mustSnapshot(t *testing.T, e *apitest.Env, appID string) []byte {
	t.Helper()
	r := e.Do(t, "GET", "/_sunlamp/v1/apps/"+appID+"/snapshot", e.Account(), nil)
	apitest.MustStatus(t, r, http.StatusOK)
	return r.Body
}

// appViews returns what the API answers about an app's users and conversations, with the server's
// URL taken out: two servers holding the same app answer the same.
func appViews(t *testing.T, e *apitest.Env, f fixture) string {
	t.Helper()
	var b strings.Builder
	for _, path := range []string{
		"/v2/apps/" + f.appID, "/v2/apps/" + f.appID + "/keys", "/v2/apps/" + f.appID + "/integrations", "/v2/apps/" + f.appID + "/switchboards",
		"/v2/apps/" + f.appID + "/users/ann", "/v2/apps/" + f.appID + "/users/ann/clients", "/v2/apps/" + f.appID + "/users/ann/devices",
		"/v2/apps/" + f.appID + "/conversations?filter[userId]=" + f.userID,
		"/v2/apps/" + f.appID + "/conversations/" + f.convID, "/v2/apps/" + f.appID + "/conversations/" + f.convID + "/participants",
		"/v2/apps/" + f.appID + "/conversations/" + f.convID + "/messages",
	} {
		r := e.Do(t, "GET", path, e.Account(), nil)
		apitest.MustStatus(t, r, http.StatusOK)
		b.WriteString(strings.ReplaceAll(string(r.Body), e.URL, "BASE"))
		b.WriteByte('\n')
	}
	return b.String()
}

func TestSnapshotRoundTrip(t *testing.T) {
	apitest.ForEachStoreEmulated(t, func(t *testing.T, em *apitest.EmulatorEnv) {
		e := em.Env
		rc := webhooktest.NewReceiver(t, nil)
		f := mustFixture(t, e, rc, "fixture")
		waitDelivered(t, em)
		doc := mustSnapshot(t, e, f.appID)
		var parsed struct {
			Version int
			App     struct{ ID string }
			Keys    []struct{ ID, Secret string }
			Users   []struct {
				ID, GivenName string
				Metadata      map[string]any
			}
			Messages    []struct{ ID string }
			Attachments []struct {
				ID      string
				Content []byte
			}
		}
		if err := json.Unmarshal(doc, &parsed); err != nil {
			t.Fatalf("the snapshot is no JSON: %v", err)
		}
		if parsed.Version != 1 || parsed.App.ID != f.appID || len(parsed.Keys) != 2 || parsed.Keys[0].Secret == "" || len(parsed.Users) != 3 ||
			len(parsed.Messages) != 5 || len(parsed.Attachments) != 2 {
			t.Fatalf("got snapshot version %d of app %s with %d keys, %d users, %d messages, %d attachments; want version 1 of %s with 2, 3, 5, 2",
				parsed.Version, parsed.App.ID, len(parsed.Keys), len(parsed.Users), len(parsed.Messages), len(parsed.Attachments), f.appID)
		}
		// A deterministic document: the same bytes when nothing changed.
		if again := mustSnapshot(t, e, f.appID); !bytes.Equal(doc, again) {
			t.Fatal("two snapshots of an unchanged app differ")
		}

		// Into a fresh server on the same store: every id kept, the same answers, and the same bytes out.
		other := apitest.NewEmulatorEnv(t, e.Name)
		r := other.Do(t, "POST", "/_sunlamp/v1/snapshots", other.Account(), doc)
		apitest.MustStatus(t, r, http.StatusCreated)
		if got := r.JSON(t)["app"].(map[string]any)["id"]; got != f.appID {
			t.Errorf("got app %v, want %s", got, f.appID)
		}
		if diff := diffLines(appViews(t, e, f), appViews(t, other.Env, f)); diff != "" {
			t.Errorf("the loaded app answers differently:\n%s", diff)
		}
		if out := mustSnapshot(t, other.Env, f.appID); !bytes.Equal(doc, out) {
			t.Errorf("the snapshot did not round-trip byte for byte:\n%s", diffLines(string(doc), string(out)))
		}
		// Its keys work, its media are served.
		apitest.MustStatus(t, other.Do(t, "GET", "/v2/apps/"+f.appID+"/users/ann", f.key, nil), http.StatusOK)
		r = other.Do(t, "GET", "/v2/apps/"+f.appID+"/conversations/"+f.convID+"/messages", f.key, nil)
		var msgs struct {
			Messages []struct{ Content struct{ MediaURL string } }
		}
		r.Decode(t, &msgs)
		served := 0
		for _, m := range msgs.Messages {
			if m.Content.MediaURL != "" {
				resp, body := fetch(t, "GET", m.Content.MediaURL, nil)
				if resp.StatusCode != http.StatusOK || !bytes.Equal(body, pngBytes) {
					t.Errorf("GET %s: got %d and %d bytes, want the image", m.Content.MediaURL, resp.StatusCode, len(body))
				}
				served++
			}
		}
		if served != 1 {
			t.Errorf("got %d media messages, want 1", served)
		}

		// Twice: its ids are taken.
		apitest.MustError(t, other.Do(t, "POST", "/_sunlamp/v1/snapshots", other.Account(), doc), http.StatusConflict, "conflict",
			"App "+f.appID+" exists: a snapshot loads into a new app")
		// After a reset of everything, it loads again.
		apitest.MustStatus(t, other.Do(t, "POST", "/_sunlamp/v1/reset", other.Account(), nil), http.StatusOK)
		apitest.MustStatus(t, other.Do(t, "POST", "/_sunlamp/v1/snapshots", other.Account(), doc), http.StatusCreated)
		if out := mustSnapshot(t, other.Env, f.appID); !bytes.Equal(doc, out) {
			t.Errorf("the snapshot did not round-trip after a reset")
		}
	})
}

// TestSnapshotAcrossStores loads a SQLite server's snapshot into a PostgreSQL server: the same
// document comes out.
func TestSnapshotAcrossStores(t *testing.T) {
	lite := apitest.NewEmulatorEnv(t, "sqlite")
	pg := apitest.NewEmulatorEnv(t, "postgres")
	f := mustFixture(t, lite.Env, webhooktest.NewReceiver(t, nil), "across")
	waitDelivered(t, lite)
	doc := mustSnapshot(t, lite.Env, f.appID)
	apitest.MustStatus(t, pg.Do(t, "POST", "/_sunlamp/v1/snapshots", pg.Account(), doc), http.StatusCreated)
	if out := mustSnapshot(t, pg.Env, f.appID); !bytes.Equal(doc, out) {
		t.Errorf("the snapshot changed from SQLite to PostgreSQL:\n%s", diffLines(string(doc), string(out)))
	}
}

func TestSnapshotErrors(t *testing.T) {
	apitest.ForEachStoreEmulated(t, func(t *testing.T, em *apitest.EmulatorEnv) {
		e := em.Env
		acct := e.Account()
		load := func(doc string) *apitest.Response { return e.Do(t, "POST", "/_sunlamp/v1/snapshots", acct, doc) }
		app := `"app":{"id":"0123456789abcdef01234567","displayName":"Fixture","settings":{},"createdAt":"2026-01-01T00:00:00.000Z"}`
		for _, c := range []struct{ doc, title string }{
			{`{"version":2,` + app + `}`, "version should be 1, the snapshot version this Sunlamp reads"},
			{`{"version":1,"app":{"id":"x"}}`, "app.id should be an id of 24 lowercase hexadecimal characters"},
			{`{"version":1,"app":{"id":5}}`, "app.id should be string"},
			{`{"version":1,"app":{"id":"0123456789abcdef01234567","createdAt":"yesterday"}}`, `"yesterday" should be a time such as 2027-01-01T00:00:00.000Z`},
			{`{"version":1,` + app + `,"users":[{"id":"0123456789abcdef01234568","signedUpAt":"2026-01-01T00:00:00.000Z"}],
				"clients":[{"id":"0123456789abcdef01234569","userId":"0123456789abcdef0123456a","type":"sdk","status":"active"}]}`,
				"clients[0] names a record that the snapshot does not hold"},
			{`{"version":1,` + app + `,"conversations":[{"id":"0123456789abcdef01234568","type":"personal","lastUpdatedAt":"2026-01-01T00:00:00.000Z","createdAt":"2026-01-01T00:00:00.000Z"}],
				"messages":[{"conversationId":"0123456789abcdef01234568","id":"0123456789abcdef01234569","received":"2026-01-01T00:00:00.000Z","authorType":"business","contentType":"text","sourceType":"api:conversations"}]}`,
				"messages[0].content should be present"},
			{`[]`, "The snapshot is not a JSON document of its schema"},
		} {
			apitest.MustError(t, load(c.doc), http.StatusBadRequest, "bad_request", c.title)
		}
		// Nothing of a refused document stays.
		apitest.MustError(t, e.Do(t, "GET", "/v2/apps/0123456789abcdef01234567", acct, nil), http.StatusNotFound, "app_not_found", "App not found")
		// A minimal document loads.
		r := load(`{"version":1,` + app + `}`)
		e.MustJSON(t, r, http.StatusCreated, `{"app":{"id":"ID","displayName":"Fixture","settings":{},"metadata":{}}}`)
		appID := "0123456789abcdef01234567"
		key := apitest.KeyAuth(e.MustCreateAppKey(t, appID))
		apitest.MustError(t, e.Do(t, "GET", "/_sunlamp/v1/apps/"+appID+"/snapshot", key, nil), http.StatusForbidden, "forbidden", "Forbidden")
		apitest.MustError(t, e.Do(t, "POST", "/_sunlamp/v1/snapshots", key, `{}`), http.StatusForbidden, "forbidden", "Forbidden")
		apitest.MustError(t, e.Do(t, "GET", "/_sunlamp/v1/apps/5e4af71a81966cfff3ef6550/snapshot", acct, nil), http.StatusNotFound, "app_not_found", "App not found")
	})
}

// TestSnapshotWithoutEmulator: a production server exports snapshots but loads none.
func TestSnapshotWithoutEmulator(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		em := apitest.NewEmulatorEnvDSN(t, e.Name, apitest.NewDSN(t, e.Name), func(c *api.Config) { c.Emulator = nil })
		appID := em.MustCreateApp(t, "Production")
		doc := mustSnapshot(t, em.Env, appID)
		apitest.MustError(t, em.Do(t, "POST", "/_sunlamp/v1/snapshots", em.Account(), doc), http.StatusNotFound, "not_found", "Resource not found")
	})
}

// diffLines shows the first lines where a and b differ.
func diffLines(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out []string
	for i := 0; i < max(len(al), len(bl)) && len(out) < 20; i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			out = append(out, "- "+x, "+ "+y)
		}
	}
	return strings.Join(out, "\n")
}
