package api_test

import (
	"context"
	"database/sql"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/sunlamp/sunlamp"
	"github.com/sunlamp/sunlamp/internal/apitest"
	"github.com/sunlamp/sunlamp/internal/webhooktest"
)

// fixture is an app holding something of everything an app can hold: settings and metadata, an app
// key, a custom integration with a webhook (to rc) and a key, a web integration, an enabled
// switchboard with two switchboard integrations, users with profiles, metadata, identities,
// WhatsApp and SDK clients and a device, personal and group conversations with participants,
// messages of users and of the business, an activity, and attachments (one used by a message).
type fixture struct {
	appID     string
	key       apitest.Basic
	webhookID string
	convID    string // the default conversation of "ann"
	userID    string // "ann"
}

func mustFixture(t *testing.T, e *apitest.Env, rc *webhooktest.Receiver, name string) fixture {
	t.Helper()
	acct := e.Account()
	var f fixture
	f.appID = e.MustCreateApp(t, name)
	app := "/v2/apps/" + f.appID
	apitest.MustStatus(t, e.Do(t, "PATCH", app, acct, map[string]any{"settings": map[string]any{"conversationRetentionSeconds": 3600, "echoPostback": true},
		"metadata": map[string]any{"team": "blue", "n": 1.5}}), http.StatusOK)
	f.key = apitest.KeyAuth(e.MustCreateAppKey(t, f.appID))
	triggers := []string{"conversation:message", "conversation:create", "conversation:read", "client:add", "user:update", "conversation:join"}
	r := e.Do(t, "POST", app+"/integrations", f.key, map[string]any{"type": "custom", "displayName": "Bot",
		"webhooks": []any{map[string]any{"target": rc.URL + "/" + name, "triggers": triggers, "includeFullUser": true, "includeFullSource": true}}})
	apitest.MustStatus(t, r, http.StatusCreated)
	integ := r.JSON(t)["integration"].(map[string]any)
	botID := integ["id"].(string)
	f.webhookID = integ["webhooks"].([]any)[0].(map[string]any)["id"].(string)
	apitest.MustStatus(t, e.Do(t, "POST", app+"/integrations/"+botID+"/keys", f.key, map[string]any{"displayName": "bot key"}), http.StatusCreated)
	webID := createIntegration(t, e, f.appID, f.key, map[string]any{"type": "web", "displayName": "Site", "brandColor": "00ff00"})
	sb := mustCreate(t, e, app+"/switchboards", "switchboard", nil)
	botSI := mustCreate(t, e, app+"/switchboards/"+sb+"/switchboardIntegrations", "switchboardIntegration", map[string]any{"name": "bot", "integrationId": botID, "deliverStandbyEvents": false})
	mustCreate(t, e, app+"/switchboards/"+sb+"/switchboardIntegrations", "switchboardIntegration", map[string]any{"name": "web", "integrationId": webID,
		"deliverStandbyEvents": true, "nextSwitchboardIntegrationId": botSI, "messageHistoryCount": 5})
	apitest.MustStatus(t, e.Do(t, "PATCH", app+"/switchboards/"+sb, f.key, map[string]any{"enabled": true, "defaultSwitchboardIntegrationId": botSI}), http.StatusOK)

	f.userID = mustCreate(t, e, app+"/users", "user", map[string]any{"externalId": "ann", "signedUpAt": "2020-01-02T03:04:05.678Z",
		"profile":  map[string]any{"givenName": "Ann", "surname": "Lee", "email": "ann@example.org", "locale": "en-US", "avatarUrl": "https://example.org/ann.png"},
		"metadata": map[string]any{"plan": "gold", "seats": 3, "vip": true}})
	inbound := "/_sunlamp/v1/apps/" + f.appID + "/inbound"
	apitest.MustStatus(t, e.Do(t, "POST", inbound, acct, map[string]any{"channel": "whatsapp", "user": map[string]any{"externalId": "ann"},
		"client":  map[string]any{"externalId": "+15145550100", "displayName": "Ann L.", "info": map[string]any{"city": "Montreal"}, "raw": map[string]any{"From": "+15145550100"}},
		"content": map[string]any{"type": "text", "text": "hello from whatsapp"}}), http.StatusCreated)
	apitest.MustStatus(t, e.Do(t, "POST", inbound, acct, map[string]any{"channel": "sdk", "integrationId": webID,
		"user":    map[string]any{"identities": []any{map[string]any{"type": "email", "value": "bo@example.org", "verification": "sso"}}},
		"client":  map[string]any{"displayName": "Bo"},
		"device":  map[string]any{"type": "web", "guid": "guid-" + name, "info": map[string]any{"browser": "Firefox"}, "appVersion": "1.2"},
		"content": map[string]any{"type": "text", "text": "hello from the web"}}), http.StatusCreated)
	r = e.Do(t, "GET", app+"/conversations?filter[userId]="+f.userID, acct, nil)
	f.convID = r.JSON(t)["conversations"].([]any)[0].(map[string]any)["id"].(string)
	conv := app + "/conversations/" + f.convID
	apitest.MustStatus(t, e.Do(t, "POST", conv+"/messages", f.key, map[string]any{"author": map[string]any{"type": "business", "displayName": "Agent"},
		"content":  map[string]any{"type": "text", "text": "Hi **Ann**", "actions": []any{map[string]any{"type": "reply", "text": "Yes", "payload": "YES"}}},
		"metadata": map[string]any{"lang": "en"}}), http.StatusCreated)
	apitest.MustStatus(t, e.Do(t, "POST", conv+"/activity", f.key, map[string]any{"author": map[string]any{"type": "user", "userId": f.userID}, "type": "conversation:read"}), http.StatusOK)
	// Attachments: one used by a message, one alone.
	body, ctype := multipartBody(t, part{"source", "cat.png", "image/png", pngBytes})
	r = e.DoHeader(t, "POST", app+"/attachments?access=public&for=message&conversationId="+f.convID, f.key, body, http.Header{"Content-Type": {ctype}})
	apitest.MustStatus(t, r, http.StatusCreated)
	mediaURL := r.JSON(t)["attachment"].(map[string]any)["mediaUrl"].(string)
	apitest.MustStatus(t, e.Do(t, "POST", conv+"/messages", f.key, map[string]any{"author": map[string]any{"type": "user", "userId": f.userID},
		"content": map[string]any{"type": "image", "mediaUrl": mediaURL}}), http.StatusCreated)
	body, ctype = multipartBody(t, part{"source", "doc.pdf", "application/pdf", pdfBytes})
	apitest.MustStatus(t, e.DoHeader(t, "POST", app+"/attachments?access=public", f.key, body, http.Header{"Content-Type": {ctype}}), http.StatusCreated)
	// A group conversation.
	other := mustCreate(t, e, app+"/users", "user", map[string]any{"externalId": "cy"})
	group := mustCreate(t, e, app+"/conversations", "conversation", map[string]any{"type": "sdkGroup", "displayName": "Team", "description": "d",
		"iconUrl": "https://example.org/i.png", "metadata": map[string]any{"k": "v"},
		"participants": []any{map[string]any{"userId": f.userID, "subscribeSDKClient": false}, map[string]any{"userId": other, "subscribeSDKClient": false}}})
	apitest.MustStatus(t, e.Do(t, "POST", app+"/conversations/"+group+"/messages", f.key, map[string]any{"author": map[string]any{"type": "user", "userId": other},
		"content": map[string]any{"type": "text", "text": "in the group"}}), http.StatusCreated)
	return f
}

// withoutCounters drops what a dump holds that no reset restores: SQLite's AUTOINCREMENT counters.
func withoutCounters(d map[string][]string) map[string][]string {
	d = maps.Clone(d)
	delete(d, "sqlite_sequence")
	return d
}

func TestResetNeedsTheEmulator(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		appID := e.MustCreateApp(t, "Production")
		apitest.MustError(t, e.Do(t, "POST", "/_sunlamp/v1/apps/"+appID+"/reset", e.Account(), nil), http.StatusNotFound, "not_found", "Resource not found")
		apitest.MustError(t, e.Do(t, "POST", "/_sunlamp/v1/reset", e.Account(), nil), http.StatusNotFound, "not_found", "Resource not found")
		apitest.MustError(t, e.Do(t, "GET", "/_sunlamp/v1/clock", e.Account(), nil), http.StatusNotFound, "not_found", "Resource not found")
		apitest.MustStatus(t, e.Do(t, "GET", "/v2/apps/"+appID, e.Account(), nil), http.StatusOK)
	})
}

// TestResetApp: a reset leaves the database as it was when the app was configured, on every store,
// and on PostgreSQL both ways: without the foreign keys' triggers (the tests' role is a superuser,
// as a throwaway database's usually is) and with them (a role that is not). SQLite's resets always
// turn its foreign keys off.
func TestResetApp(t *testing.T) {
	apitest.ForEachStoreEmulated(t, func(t *testing.T, em *apitest.EmulatorEnv) {
		testResetApp(t, em, em.Name == "sqlite" || isSuperuser(t, em.DSN))
	})
	t.Run("postgres/plain-role", func(t *testing.T) {
		testResetApp(t, apitest.NewEmulatorEnvDSN(t, "postgres", apitest.NewPlainRoleDSN(t)), false)
	})
}

// isSuperuser reports whether the role of the PostgreSQL dsn is a superuser.
func isSuperuser(t *testing.T, dsn string) bool {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var super string
	if err := db.QueryRow("SELECT current_setting('is_superuser')").Scan(&super); err != nil {
		t.Fatal(err)
	}
	return super == "on"
}

// testResetApp resets an app full of every kind of data next to another one; unchecked says
// whether the store's resets run without the foreign keys' checks and actions.
func testResetApp(t *testing.T, em *apitest.EmulatorEnv, unchecked bool) {
	e := em.Env
	if got := em.Store.ResetsUnchecked(context.Background()); got != unchecked {
		t.Fatalf("got ResetsUnchecked %v, want %v", got, unchecked)
	}
	rc := webhooktest.NewReceiver(t, nil)
	// Another app, full of data, which the reset must leave alone.
	kept := mustFixture(t, e, rc, "kept")
	// The app to reset, as it is configured before any data comes in.
	appID := e.MustCreateApp(t, "Reset")
	app := "/v2/apps/" + appID
	apitest.MustStatus(t, e.Do(t, "PATCH", app, e.Account(), map[string]any{"settings": map[string]any{"echoPostback": true}}), http.StatusOK)
	key := apitest.KeyAuth(e.MustCreateAppKey(t, appID))
	custom := createIntegration(t, e, appID, key, customBody(rc.URL+"/reset", "conversation:message", "conversation:create"))
	// An enabled switchboard, so that conversations have a switchboard state.
	sb := mustCreate(t, e, app+"/switchboards", "switchboard", nil)
	si := mustCreate(t, e, app+"/switchboards/"+sb+"/switchboardIntegrations", "switchboardIntegration",
		map[string]any{"name": "bot", "integrationId": custom, "deliverStandbyEvents": false})
	apitest.MustStatus(t, e.Do(t, "PATCH", app+"/switchboards/"+sb, e.Account(), map[string]any{"enabled": true, "defaultSwitchboardIntegrationId": si}), http.StatusOK)
	web := createIntegration(t, e, appID, key, map[string]any{"type": "web"})
	whatsapp := createIntegration(t, e, appID, key, map[string]any{"type": "whatsapp"})
	apple := createIntegration(t, e, appID, key, map[string]any{"type": "apple", "businessId": "biz", "apiSecret": "secret", "mspId": "msp"})
	waitDelivered(t, em)
	before := withoutCounters(e.MustDumpState(t))

	// Data: users, clients, devices, conversations, messages, attachments, events, deliveries.
	apitest.MustStatus(t, e.Do(t, "POST", "/_sunlamp/v1/apps/"+appID+"/faults", e.Account(), map[string]any{"operationId": "GetUser", "status": 500}), http.StatusCreated)
	for i, ext := range []string{"u1", "u2", "u3"} {
		mustCreate(t, e, app+"/users", "user", map[string]any{"externalId": ext, "profile": map[string]any{"givenName": ext}})
		apitest.MustStatus(t, e.Do(t, "POST", "/_sunlamp/v1/apps/"+appID+"/inbound", e.Account(), map[string]any{"channel": "sdk",
			"user": map[string]any{"externalId": ext}, "client": map[string]any{"displayName": ext},
			"device":  map[string]any{"type": "web", "guid": "g" + ext},
			"content": map[string]any{"type": "text", "text": "message " + ext}}), http.StatusCreated)
		if i == 0 {
			r := e.Do(t, "GET", app+"/conversations?filter[userExternalId]="+ext, e.Account(), nil)
			convID := r.JSON(t)["conversations"].([]any)[0].(map[string]any)["id"].(string)
			body, ctype := multipartBody(t, part{"source", "cat.png", "image/png", pngBytes})
			apitest.MustStatus(t, e.DoHeader(t, "POST", app+"/attachments?access=public&for=message&conversationId="+convID, key, body, http.Header{"Content-Type": {ctype}}), http.StatusCreated)
		}
	}
	// What the web messenger and the channels leave: a visitor's session, WhatsApp and Apple
	// clients, Apple interactive data, conversion events, and a group conversation.
	v := mustStartVisitor(t, e, web, "3f1e2d3c4b5a69788796a5b4c3d2e1f0", "from the web")
	r := e.Do(t, "POST", "/_sunlamp/v1/apps/"+appID+"/inbound", key, map[string]any{"channel": "whatsapp", "integrationId": whatsapp,
		"user": map[string]any{"id": v.user}, "client": map[string]any{"externalId": "+15145550199"},
		"content": map[string]any{"type": "text", "text": "from WhatsApp"}})
	apitest.MustStatus(t, r, http.StatusCreated)
	var in struct{ Conversation struct{ ID string } }
	r.Decode(t, &in)
	apitest.MustStatus(t, e.Do(t, "POST", "/_sunlamp/v1/apps/"+appID+"/inbound", key, map[string]any{"channel": "apple", "integrationId": apple,
		"user": map[string]any{"id": v.user}, "client": map[string]any{"externalId": "urn:mbid:reset"},
		"content": map[string]any{"type": "text", "text": "from Apple"}}), http.StatusCreated)
	apitest.MustStatus(t, e.Do(t, "POST", "/_sunlamp/v1/apps/"+appID+"/interactiveData", key, map[string]any{"integrationId": apple, "userId": v.user,
		"content": map[string]any{"version": "1.0", "data": map[string]any{"replyMessage": map[string]any{"title": "picked"}}}}), http.StatusCreated)
	apitest.MustStatus(t, e.Do(t, "POST", app+"/conversations/"+in.Conversation.ID+"/conversionEvents", key, map[string]any{"whatsapp": map[string]any{
		"payload": map[string]any{"data": []any{map[string]any{"event_name": "Purchase"}}}}}), http.StatusOK)
	r = e.Do(t, "POST", app+"/conversations", key, map[string]any{"type": "sdkGroup",
		"participants": []any{map[string]any{"userExternalId": "u1", "subscribeSDKClient": false}, map[string]any{"userExternalId": "u2", "subscribeSDKClient": true}}})
	apitest.MustStatus(t, r, http.StatusCreated)
	group := r.JSON(t)["conversation"].(map[string]any)["id"].(string)
	apitest.MustStatus(t, e.Do(t, "POST", app+"/conversations/"+group+"/messages", key, map[string]any{
		"author": map[string]any{"type": "user", "userExternalId": "u2"}, "content": map[string]any{"type": "text", "text": "to the group"}}), http.StatusCreated)
	if d := withoutCounters(e.MustDumpState(t)); cmp.Equal(before, d) {
		t.Fatal("the data changed nothing in the dump: the test would prove nothing")
	}

	e.MustJSON(t, e.Do(t, "POST", "/_sunlamp/v1/apps/"+appID+"/reset", e.Account(), nil), http.StatusOK, `{}`)
	waitDelivered(t, em)
	if diff := cmp.Diff(before, withoutCounters(e.MustDumpState(t))); diff != "" {
		t.Errorf("after the reset, the database differs from the app's configured state (-before +after):\n%s", diff)
	}
	// The app, its key and configuration work; its faults are gone; the other app is whole.
	apitest.MustError(t, e.Do(t, "GET", app+"/users/u1", key, nil), http.StatusNotFound, "user_not_found", "User not found")
	e.MustJSON(t, e.Do(t, "GET", "/_sunlamp/v1/apps/"+appID+"/faults", e.Account(), nil), http.StatusOK, `{"faults":[]}`)
	apitest.MustStatus(t, e.Do(t, "GET", "/v2/apps/"+kept.appID+"/users/ann", kept.key, nil), http.StatusOK)
	apitest.MustStatus(t, e.Do(t, "POST", app+"/users", key, map[string]any{"externalId": "u1"}), http.StatusCreated)

	apitest.MustError(t, e.Do(t, "POST", "/_sunlamp/v1/apps/5e4af71a81966cfff3ef6550/reset", e.Account(), nil), http.StatusNotFound, "app_not_found", "App not found")
	apitest.MustError(t, e.Do(t, "POST", "/_sunlamp/v1/apps/"+appID+"/reset", key, nil), http.StatusForbidden, "forbidden", "Forbidden")
}

func TestResetAll(t *testing.T) {
	apitest.ForEachStoreEmulated(t, func(t *testing.T, em *apitest.EmulatorEnv) {
		e := em.Env
		rc := webhooktest.NewReceiver(t, nil)
		empty := withoutCounters(e.MustDumpState(t))
		f := mustFixture(t, e, rc, "gone")
		mustFixture(t, e, rc, "gone too")
		e.MustJSON(t, e.Do(t, "POST", "/_sunlamp/v1/reset", e.Account(), nil), http.StatusOK, `{}`)
		waitDelivered(t, em)
		if diff := cmp.Diff(empty, withoutCounters(e.MustDumpState(t))); diff != "" {
			t.Errorf("after the reset, the database is not as new (-new +after):\n%s", diff)
		}
		apitest.MustError(t, e.Do(t, "GET", "/v2/apps/"+f.appID, f.key, nil), http.StatusUnauthorized, "unauthorized", "")
		e.MustJSON(t, e.Do(t, "GET", "/v2/apps", e.Account(), nil), http.StatusOK, `{"apps":[],"meta":{"hasMore":false}}`)
		apitest.MustError(t, e.Do(t, "POST", "/_sunlamp/v1/reset", f.key, nil), http.StatusUnauthorized, "unauthorized", "")
	})
}

// waitDelivered waits until the env's dispatcher has no delivery left to make now and has
// recorded every attempt it made, so that a dump is not taken while deliveries change.
func waitDelivered(t *testing.T, em *apitest.EmulatorEnv) {
	t.Helper()
	db := openRawDB(t, em.Name, em.DSN)
	defer db.Close()
	waitFor(t, "the deliveries to be made and recorded", func() bool {
		n, err := em.Store.PendingDeliveries(context.Background())
		return err == nil && n == 0 &&
			count(t, db, em.Name, "SELECT COALESCE(SUM(attempts), 0) FROM deliveries") == count(t, db, em.Name, "SELECT COUNT(*) FROM delivery_attempts WHERE redeliver = 0")
	})
}

func TestClock(t *testing.T) {
	apitest.ForEachStoreEmulated(t, func(t *testing.T, em *apitest.EmulatorEnv) {
		e := em.Env
		acct := e.Account()
		var got struct {
			Clock struct {
				Now      string
				OffsetMs int64
			}
		}
		r := e.Do(t, "GET", "/_sunlamp/v1/clock", acct, nil)
		apitest.MustStatus(t, r, http.StatusOK)
		r.Decode(t, &got)
		if got.Clock.OffsetMs != 0 {
			t.Errorf("got offset %d, want 0 at start", got.Clock.OffsetMs)
		}
		for _, c := range []struct {
			body  any
			title string
		}{
			{map[string]any{}, "should have exactly one of the properties 'advance' and 'set'"},
			{map[string]any{"advance": "1h", "set": "2030-01-01T00:00:00Z"}, "should have exactly one of the properties 'advance' and 'set'"},
			{map[string]any{"advance": "-1h"}, "advance should be a positive duration such as 90s, 15m or 36h"},
			{map[string]any{"advance": "soon"}, "advance should be a positive duration such as 90s, 15m or 36h"},
			{map[string]any{"advance": 15}, "advance should be string"},
			{map[string]any{"set": "tomorrow"}, "set should be a time such as 2027-01-01T00:00:00.000Z"},
			{map[string]any{"set": "2001-01-01T00:00:00Z"}, "set must not be earlier than the clock's current time: the clock never goes backwards"},
		} {
			apitest.MustError(t, e.Do(t, "POST", "/_sunlamp/v1/clock", acct, c.body), http.StatusBadRequest, "bad_request", c.title)
		}
		appID := e.MustCreateApp(t, "Clock")
		key := e.MustCreateAppKey(t, appID)
		apitest.MustError(t, e.Do(t, "GET", "/_sunlamp/v1/clock", apitest.KeyAuth(key), nil), http.StatusForbidden, "forbidden", "Forbidden")
		// A JWT valid for an hour stops working when the clock passes its exp.
		tok := token(t, jwt.SigningMethodHS256, key.ID, []byte(key.Secret), jwt.MapClaims{"scope": "app", "exp": time.Now().Add(time.Hour).Unix()})
		apitest.MustStatus(t, e.Do(t, "GET", "/v2/apps/"+appID, tok, nil), http.StatusOK)

		r = e.Do(t, "POST", "/_sunlamp/v1/clock", acct, map[string]any{"advance": "2h"})
		apitest.MustStatus(t, r, http.StatusOK)
		r.Decode(t, &got)
		if got.Clock.OffsetMs != 2*3600*1000 {
			t.Errorf("got offset %d after advancing 2h, want %d", got.Clock.OffsetMs, 2*3600*1000)
		}
		apitest.MustError(t, e.Do(t, "GET", "/v2/apps/"+appID, tok, nil), http.StatusUnauthorized, "unauthorized", "")
		// What Sunlamp writes carries the clock's time.
		r = e.Do(t, "POST", "/v2/apps/"+appID+"/users", apitest.KeyAuth(key), map[string]any{"externalId": "later"})
		signedUp, _ := time.Parse(time.RFC3339, r.JSON(t)["user"].(map[string]any)["signedUpAt"].(string))
		if d := signedUp.Sub(time.Now()); d < 2*time.Hour-time.Minute || d > 2*time.Hour+time.Minute {
			t.Errorf("got signedUpAt %v ahead of the system clock, want 2h", d)
		}

		r = e.Do(t, "POST", "/_sunlamp/v1/clock", acct, map[string]any{"set": "2040-01-01T00:00:00.000Z"})
		apitest.MustStatus(t, r, http.StatusOK)
		r.Decode(t, &got)
		if !strings.HasPrefix(got.Clock.Now, "2040-01-01T00:00:0") {
			t.Errorf("got now %s, want 2040-01-01T00:00:0x", got.Clock.Now)
		}
		apitest.MustError(t, e.Do(t, "POST", "/_sunlamp/v1/clock", acct, map[string]any{"set": "2039-12-31T00:00:00Z"}), http.StatusBadRequest, "bad_request", "")
	})
}

// TestClockAcrossProcesses shows that two servers on one PostgreSQL database run one clock: a move
// through one reaches the other without a request to it.
func TestClockAcrossProcesses(t *testing.T) {
	dsn := apitest.NewDSN(t, "postgres")
	a := apitest.NewEmulatorEnvDSN(t, "postgres", dsn)
	b := apitest.NewEmulatorEnvDSN(t, "postgres", dsn)
	apitest.MustStatus(t, a.Do(t, "POST", "/_sunlamp/v1/clock", a.Account(), map[string]any{"advance": "36h"}), http.StatusOK)
	waitFor(t, "the second server's clock to move", func() bool { return b.VClock.Offset() == 36*time.Hour })
	// A third process starting later reads the clock at start.
	c := apitest.NewEmulatorEnvDSN(t, "postgres", dsn)
	if got := c.VClock.Offset(); got != 36*time.Hour {
		t.Errorf("got offset %v in a process started later, want 36h", got)
	}
}

// TestClockWalksRetries advances the clock 16 minutes past a failing webhook's first attempt: the
// dispatcher makes the four retries at once, and gives up after the fifth attempt.
func TestClockWalksRetries(t *testing.T) {
	apitest.ForEachStoreEmulated(t, func(t *testing.T, em *apitest.EmulatorEnv) {
		e := em.Env
		rc := webhooktest.NewReceiver(t, func(string, int) int { return http.StatusServiceUnavailable })
		appID := e.MustCreateApp(t, "Retries")
		key := apitest.KeyAuth(e.MustCreateAppKey(t, appID))
		createIntegration(t, e, appID, key, customBody(rc.URL, "conversation:message"))
		_, messages := newConversationIn(t, e, appID)
		apitest.MustStatus(t, e.Do(t, "POST", messages, key, textMessage), http.StatusCreated)
		got := rc.WaitFor(t, 10*time.Second, func(g []webhooktest.Received) bool { return len(g) >= 1 })
		eventID := got[0].EventID
		time.Sleep(100 * time.Millisecond) // nothing more comes without the clock
		if n := rc.Tries(eventID); n != 1 {
			t.Fatalf("got %d attempts before the clock moved, want 1", n)
		}
		apitest.MustStatus(t, e.Do(t, "POST", "/_sunlamp/v1/clock", e.Account(), map[string]any{"advance": "16m"}), http.StatusOK)
		rc.WaitFor(t, 10*time.Second, func(g []webhooktest.Received) bool { return len(g) >= 5 })
		waitDelivered(t, em) // given up: nothing pending
		time.Sleep(100 * time.Millisecond)
		if n := rc.Tries(eventID); n != 5 {
			t.Errorf("got %d attempts, want 5", n)
		}
		ids := slices.Compact(rc.IDs())
		if len(ids) != 1 {
			t.Errorf("got events %v, want the one event each time", ids)
		}
	})
}

// newConversationIn is newConversation in an existing app.
func newConversationIn(t *testing.T, e *apitest.Env, appID string) (convID, messages string) {
	t.Helper()
	userID := mustCreate(t, e, usersPath(appID), "user", map[string]any{"externalId": "u-" + sunlamp.NewID()[16:]})
	convID = mustCreate(t, e, "/v2/apps/"+appID+"/conversations", "conversation", map[string]any{"type": "personal",
		"participants": []any{map[string]any{"userId": userID}}})
	return convID, "/v2/apps/" + appID + "/conversations/" + convID + "/messages"
}
