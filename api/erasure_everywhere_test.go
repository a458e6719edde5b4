package api_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sunlamp/sunlamp/api"
	"github.com/sunlamp/sunlamp/internal/apitest"
	"github.com/sunlamp/sunlamp/internal/webhooktest"
	"github.com/sunlamp/sunlamp/webhook"
)

// TestErasureLeavesNothingBehind (issue 17): a user's distinctive values planted everywhere Sunlamp
// keeps them — profile, metadata, WhatsApp and SDK clients, a device, messages, webhook deliveries
// still pending with includeFullUser snapshots, and the flight recorder's copies of the attempts
// made so far — are found, after Delete User Personal Information, in no stored row, no SQLite file,
// no API answer, no data-subject export, no webhook payload sent afterwards, and no audit entry.
func TestErasureLeavesNothingBehind(t *testing.T) {
	for _, name := range apitest.Stores() {
		t.Run(name, func(t *testing.T) {
			s := startServer(t, name, apitest.NewDSN(t, name))
			e := s.Env
			ctx := context.Background()
			appID := e.MustCreateApp(t, "Nothing behind")
			key := apitest.KeyAuth(e.MustCreateAppKey(t, appID))
			// A webhook that fails for now: every event waits in the outbox, and each attempt is
			// recorded with its payload as sent.
			var failing atomic.Bool
			failing.Store(true)
			rc := webhooktest.NewReceiver(t, func(string, int) int {
				if failing.Load() {
					return http.StatusServiceUnavailable
				}
				return http.StatusOK
			})
			apitest.MustStatus(t, e.Do(t, "POST", "/v2/apps/"+appID+"/integrations", key, map[string]any{"type": "custom", "displayName": "bot",
				"webhooks": []any{map[string]any{"target": rc.URL, "triggers": []string{"conversation:message", "conversation:read", "client:add"},
					"includeFullUser": true, "includeFullSource": true}}}), http.StatusCreated)
			d := webhook.New(webhook.Config{Store: e.Store, Render: api.EventRenderer(e.Store), Clock: e.Clock, Recorder: e.Store, Timeout: 5 * time.Second})

			externalID := "nothing-behind"
			secrets, kept := personalData(t, e, appID, externalID)
			if _, err := d.DeliverDue(ctx); err != nil {
				t.Fatal(err)
			}
			db := openRawDB(t, name, e.DSN)
			for _, table := range []string{"delivery_attempts WHERE request_body", "events WHERE data"} {
				if count(t, db, name, "SELECT COUNT(*) FROM "+table+" LIKE ?", "%"+secrets[0]+"%") == 0 {
					t.Fatalf("before erasure, no row of %s holds the profile: the test would prove nothing", table)
				}
			}
			if n, err := e.Store.PendingDeliveries(ctx); err != nil || n == 0 {
				t.Fatalf("before erasure, %d pending deliveries (%v): the test would prove nothing", n, err)
			}
			if len(rc.All()) == 0 || !strings.Contains(string(rc.All()[0].Body), externalID) {
				t.Fatal("before erasure, the webhook got nothing about the user: the test would prove nothing")
			}

			apitest.MustStatus(t, e.Do(t, "DELETE", usersPath(appID, externalID, "personalinformation"), key, nil), http.StatusOK)
			seen := len(rc.All())

			// Stored rows (the outbox's pending snapshots and the recorder's bodies among them).
			mustNotContain(t, "the database", storedText(t, db, name), secrets)
			// The API, the export, and the audit trail (which holds no personal data at all).
			mustNotContain(t, "the API", apiText(t, e, appID, externalID), secrets)
			r := e.Do(t, "GET", "/_sunlamp/v1/apps/"+appID+"/users/"+externalID+"/export", key, nil)
			apitest.MustStatus(t, r, http.StatusOK)
			mustNotContain(t, "the export", string(r.Body), secrets)
			if !strings.Contains(string(r.Body), kept[2]) {
				t.Errorf("the export lost the kept message text %q", kept[2])
			}
			r = e.Do(t, "GET", "/_sunlamp/v1/apps/"+appID+"/audit", key, nil)
			apitest.MustStatus(t, r, http.StatusOK)
			if !strings.Contains(string(r.Body), `"deleteUserPersonalInformation"`) {
				t.Errorf("the audit trail does not record the erasure: %s", r.Body)
			}
			mustNotContain(t, "the audit trail", string(r.Body), append(secrets, externalID))

			// The webhook, now answering: the retried deliveries and a new event carry none of it.
			failing.Store(false)
			apitest.MustStatus(t, e.Do(t, "POST", "/_sunlamp/v1/apps/"+appID+"/inbound", key, map[string]any{
				"channel": "whatsapp", "user": map[string]any{"externalId": externalID}, "client": map[string]any{"externalId": kept[1]},
				"content": map[string]any{"type": "text", "text": "after the erasure"}}), http.StatusCreated)
			for i := 0; i < 10; i++ {
				e.Clock.Advance(time.Hour) // past every retry of the schedule
				if _, err := d.DeliverDue(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if n, err := e.Store.PendingDeliveries(ctx); err != nil || n != 0 {
				t.Fatalf("%d deliveries still pending (%v)", n, err)
			}
			after := rc.All()[seen:]
			var sent strings.Builder
			for _, g := range after {
				sent.Write(g.Body)
			}
			if !strings.Contains(sent.String(), "after the erasure") || !strings.Contains(sent.String(), externalID) {
				t.Fatalf("the webhook got %d deliveries after the erasure, without the new message or the user", len(after))
			}
			mustNotContain(t, "the webhook payloads sent after the erasure", sent.String(), secrets)
			mustNotContain(t, "the database, once delivered", storedText(t, db, name), secrets)
			db.Close()

			if name == "sqlite" {
				path := s.Store.Path()
				s.stop(t)
				for f, b := range sqliteFiles(t, path) {
					mustNotContain(t, f, string(b), secrets)
				}
			}
			mustNotContain(t, "the logs", s.logs.String(), append(secrets, externalID))
		})
	}
}
