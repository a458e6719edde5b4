package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sunlamp/sunlamp/api"
	"github.com/sunlamp/sunlamp/internal/apitest"
)

// target is a webhook target that answers the first POST of each event 503 with a body and a
// header, and the next ones 200 with a JSON body; it keeps what it got.
type target struct {
	*httptest.Server
	mu  sync.Mutex
	got []*http.Request
}

func newTarget(t *testing.T) *target {
	tg := &target{}
	tries := map[string]int{}
	tg.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		tg.mu.Lock()
		tg.got = append(tg.got, r)
		id := r.Header.Get("webhook-id")
		tries[id]++
		n := tries[id]
		tg.mu.Unlock()
		if n == 1 {
			w.Header().Set("X-Reason", "maintenance")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("busy, come back later"))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(tg.Close)
	return tg
}

func (tg *target) requests() []*http.Request {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return append([]*http.Request(nil), tg.got...)
}

// deliveriesList is ListDeliveries' answer.
type deliveriesList struct {
	Deliveries []struct {
		ID, EventID, EventType, WebhookID, Target, Outcome, Error, NextAttemptAt, CreatedAt string
		Attempt                                                                             int
		Redelivery                                                                          bool
		Request                                                                             struct {
			Headers map[string]string
			Body    string
		}
		Response *struct {
			Status  int
			Headers map[string]string
			Body    string
		}
	}
	Meta  struct{ HasMore bool }
	Links struct{ Next string }
}

func mustDeliveries(t *testing.T, e *apitest.Env, appID, query string) deliveriesList {
	t.Helper()
	r := e.Do(t, "GET", "/_sunlamp/v1/apps/"+appID+"/deliveries"+query, e.Account(), nil)
	apitest.MustStatus(t, r, http.StatusOK)
	var l deliveriesList
	r.Decode(t, &l)
	return l
}

// waitDeliveries waits until the app's recorder holds n attempts.
func waitDeliveries(t *testing.T, e *apitest.Env, appID string, n int) deliveriesList {
	t.Helper()
	var l deliveriesList
	waitFor(t, "the recorder to hold the attempts", func() bool {
		l = mustDeliveries(t, e, appID, "?page[size]=100")
		return len(l.Deliveries) >= n
	})
	return l
}

func TestRecorder(t *testing.T) {
	apitest.ForEachStoreEmulated(t, func(t *testing.T, em *apitest.EmulatorEnv) {
		e := em.Env
		acct := e.Account()
		tg := newTarget(t)
		appID := e.MustCreateApp(t, "Recorder")
		key := apitest.KeyAuth(e.MustCreateAppKey(t, appID))
		r := e.Do(t, "POST", "/v2/apps/"+appID+"/integrations", key, customBody(tg.URL+"/hook", "conversation:message"))
		apitest.MustStatus(t, r, http.StatusCreated)
		webhookID := r.JSON(t)["integration"].(map[string]any)["webhooks"].([]any)[0].(map[string]any)["id"].(string)
		_, messages := newConversationIn(t, e, appID)
		apitest.MustStatus(t, e.Do(t, "POST", messages, key, textMessage), http.StatusCreated)

		// The first attempt: 503, retried by the schedule a minute after it.
		l := waitDeliveries(t, e, appID, 1)
		first := l.Deliveries[0]
		if first.Outcome != "retry" || first.Attempt != 1 || first.Redelivery || first.WebhookID != webhookID || first.EventType != "conversation:message" ||
			first.Target != tg.URL+"/hook" || first.Error != "answered 503" {
			t.Errorf("got first attempt %+v", first)
		}
		created, _ := time.Parse(time.RFC3339, first.CreatedAt)
		// A minute after the first attempt was claimed, which is when it was made, give or take.
		if next, _ := time.Parse(time.RFC3339, first.NextAttemptAt); next.Sub(created) > time.Minute || next.Sub(created) < time.Minute-time.Second {
			t.Errorf("got next attempt %s for an attempt at %s, want a minute later", first.NextAttemptAt, first.CreatedAt)
		}
		h := first.Request.Headers
		if h["X-Api-Key"] != "[redacted]" || h["Webhook-Signature"] != "[redacted]" || h["Webhook-Id"] != first.EventID || h["Content-Type"] != "application/json" {
			t.Errorf("got request headers %v, want secrets redacted and the event id", h)
		}
		if !strings.Contains(first.Request.Body, `"id":"`+first.EventID+`"`) || !strings.Contains(first.Request.Body, `"type":"conversation:message"`) {
			t.Errorf("got request body %s, want the event", first.Request.Body)
		}
		if first.Response == nil || first.Response.Status != 503 || first.Response.Body != "busy, come back later" || first.Response.Headers["X-Reason"] != "maintenance" {
			t.Errorf("got response %+v", first.Response)
		}

		// The clock brings the retry, which is delivered.
		apitest.MustStatus(t, e.Do(t, "POST", "/_sunlamp/v1/clock", acct, map[string]any{"advance": "1m"}), http.StatusOK)
		l = waitDeliveries(t, e, appID, 2)
		second := l.Deliveries[1]
		if second.Outcome != "delivered" || second.Attempt != 2 || second.EventID != first.EventID || second.NextAttemptAt != "" ||
			second.Response == nil || second.Response.Status != 200 || second.Response.Body != `{"ok":true}` {
			t.Errorf("got second attempt %+v", second)
		}

		// Filters and pages.
		for _, c := range []struct {
			query string
			want  int
		}{
			{"?filter[status]=retry", 1}, {"?filter[status]=delivered", 1}, {"?filter[status]=503", 1}, {"?filter[status]=failed", 0},
			{"?filter[webhookId]=" + webhookID, 2}, {"?filter[webhookId]=5e4af71a81966cfff3ef6550", 0},
			{"?filter[eventType]=conversation:message", 2}, {"?filter[eventType]=user:update", 0}, {"?filter[eventId]=" + first.EventID, 2},
		} {
			if got := len(mustDeliveries(t, e, appID, c.query).Deliveries); got != c.want {
				t.Errorf("%s: got %d attempts, want %d", c.query, got, c.want)
			}
		}
		page := mustDeliveries(t, e, appID, "?page[size]=1")
		if len(page.Deliveries) != 1 || !page.Meta.HasMore || !strings.Contains(page.Links.Next, "page[after]="+first.ID) {
			t.Errorf("got page %+v, want the first attempt and a link to the next", page)
		}
		apitest.MustError(t, e.Do(t, "GET", "/_sunlamp/v1/apps/"+appID+"/deliveries?filter[status]=late", acct, nil), http.StatusBadRequest, "bad_request",
			"filter[status] should be delivered, retry, failed or an HTTP status such as 503")
		apitest.MustError(t, e.Do(t, "GET", "/_sunlamp/v1/apps/"+appID+"/deliveries", key, nil), http.StatusForbidden, "forbidden", "Forbidden")

		r = e.Do(t, "GET", "/_sunlamp/v1/apps/"+appID+"/deliveries/"+second.ID, acct, nil)
		apitest.MustStatus(t, r, http.StatusOK)
		if !strings.Contains(string(r.Body), `"outcome":"delivered"`) {
			t.Errorf("got %s, want the second attempt", r.Body)
		}
		apitest.MustError(t, e.Do(t, "GET", "/_sunlamp/v1/apps/"+appID+"/deliveries/5e4af71a81966cfff3ef6550", acct, nil), http.StatusNotFound, "delivery_not_found", "Delivery not found")

		// Redelivery: once more, now, with the same webhook-id.
		before := len(tg.requests())
		r = e.Do(t, "POST", "/_sunlamp/v1/apps/"+appID+"/events/"+first.EventID+"/redeliver", acct, nil)
		apitest.MustStatus(t, r, http.StatusOK)
		var re deliveriesList
		r.Decode(t, &re)
		if len(re.Deliveries) != 1 || !re.Deliveries[0].Redelivery || re.Deliveries[0].Attempt != 1 || re.Deliveries[0].Outcome != "delivered" || re.Deliveries[0].EventID != first.EventID {
			t.Errorf("got redelivery %s", r.Body)
		}
		got := tg.requests()
		if len(got) != before+1 || got[len(got)-1].Header.Get("webhook-id") != first.EventID {
			t.Errorf("got %d requests (last webhook-id %q), want one more with webhook-id %s", len(got), got[len(got)-1].Header.Get("webhook-id"), first.EventID)
		}
		if n := len(waitDeliveries(t, e, appID, 3).Deliveries); n != 3 {
			t.Errorf("got %d recorded attempts after the redelivery, want 3", n)
		}
		// To a one-off target, as the webhook renders and signs it.
		other := newTarget(t)
		r = e.Do(t, "POST", "/_sunlamp/v1/apps/"+appID+"/events/"+first.EventID+"/redeliver", acct, map[string]any{"target": other.URL + "/once"})
		apitest.MustStatus(t, r, http.StatusOK)
		if o := other.requests(); len(o) != 1 || o[0].Header.Get("webhook-id") != first.EventID || o[0].URL.Path != "/once" || o[0].Header.Get("X-API-Key") == "" {
			t.Errorf("the one-off target got %d requests, want one with webhook-id %s", len(o), first.EventID)
		}
		r = e.Do(t, "POST", "/_sunlamp/v1/apps/"+appID+"/events/"+first.EventID+"/redeliver", acct, map[string]any{"webhookId": webhookID})
		apitest.MustStatus(t, r, http.StatusOK)

		for _, c := range []struct {
			body   any
			status int
			code   string
			title  string
		}{
			{map[string]any{"webhookId": "5e4af71a81966cfff3ef6550"}, 400, "bad_request", "webhookId names no webhook of the app"},
			{map[string]any{"target": "ftp://example.org"}, 400, "bad_request", "target should be an absolute http or https URL"},
			{map[string]any{"target": 5}, 400, "bad_request", "target should be string"},
		} {
			apitest.MustError(t, e.Do(t, "POST", "/_sunlamp/v1/apps/"+appID+"/events/"+first.EventID+"/redeliver", acct, c.body), c.status, c.code, c.title)
		}
		apitest.MustError(t, e.Do(t, "POST", "/_sunlamp/v1/apps/"+appID+"/events/5e4af71a81966cfff3ef6550/redeliver", acct, nil), http.StatusNotFound, "event_not_found", "Event not found")

		// Kept 24 hours of clock time.
		apitest.MustStatus(t, e.Do(t, "POST", "/_sunlamp/v1/clock", acct, map[string]any{"advance": "25h"}), http.StatusOK)
		waitFor(t, "the recorder to be pruned", func() bool { return len(mustDeliveries(t, e, appID, "").Deliveries) == 0 })
	})
}

// TestRecorderWithoutEmulator shows that the recorder and redelivery serve a server that is not an
// emulator.
func TestRecorderWithoutEmulator(t *testing.T) {
	for _, name := range apitest.Stores() {
		t.Run(name, func(t *testing.T) {
			e := apitest.NewEmulatorEnv(t, name, func(c *api.Config) { c.Emulator = nil }).Env
			tg := newTarget(t)
			appID := e.MustCreateApp(t, "Production")
			key := apitest.KeyAuth(e.MustCreateAppKey(t, appID))
			createIntegration(t, e, appID, key, customBody(tg.URL, "conversation:message"))
			_, messages := newConversationIn(t, e, appID)
			apitest.MustStatus(t, e.Do(t, "POST", messages, key, textMessage), http.StatusCreated)
			first := waitDeliveries(t, e, appID, 1).Deliveries[0]
			apitest.MustError(t, e.Do(t, "POST", "/_sunlamp/v1/clock", e.Account(), map[string]any{"advance": "1m"}), http.StatusNotFound, "not_found", "")
			r := e.Do(t, "POST", "/_sunlamp/v1/apps/"+appID+"/events/"+first.EventID+"/redeliver", e.Account(), nil)
			apitest.MustStatus(t, r, http.StatusOK)
			var out struct{ Deliveries []json.RawMessage }
			r.Decode(t, &out)
			if len(out.Deliveries) != 1 || !strings.Contains(string(out.Deliveries[0]), `"outcome":"delivered"`) {
				t.Errorf("got %s, want the redelivery delivered", r.Body)
			}
		})
	}
}
