package webhook_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sunlamp/sunlamp"
	"github.com/sunlamp/sunlamp/api"
	"github.com/sunlamp/sunlamp/internal/apitest"
	"github.com/sunlamp/sunlamp/internal/webhooktest"
	"github.com/sunlamp/sunlamp/sqlstore"
	"github.com/sunlamp/sunlamp/webhook"
)

// fixture is a store with an app, a custom integration and a webhook to a receiver.
type fixture struct {
	store *sqlstore.Store
	dsn   string
	clock *apitest.Clock
	app   string
	hook  sunlamp.Webhook
	d     *webhook.Dispatcher
}

func newFixture(t *testing.T, storeName string, target string, triggers []string, tweak func(*sunlamp.Webhook)) *fixture {
	t.Helper()
	clock := apitest.NewClock()
	dsn := apitest.NewDSN(t, storeName)
	st, err := sqlstore.Open(context.Background(), dsn, sqlstore.WithClock(clock))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	app, err := st.CreateApp(ctx, sunlamp.App{AccountID: sunlamp.DefaultAccountID, DisplayName: "app"})
	if err != nil {
		t.Fatal(err)
	}
	wh := sunlamp.Webhook{ID: sunlamp.NewID(), Version: sunlamp.WebhookVersion, Target: target, Triggers: triggers, Secret: sunlamp.NewWebhookSecret()}
	if tweak != nil {
		tweak(&wh)
	}
	in, err := st.CreateIntegration(ctx, sunlamp.Integration{ID: sunlamp.NewID(), AppID: app.ID, Type: "custom", Status: "active", Webhooks: []sunlamp.Webhook{wh}})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{store: st, dsn: dsn, clock: clock, app: app.ID, hook: in.Webhooks[0]}
	f.d = webhook.New(webhook.Config{Store: st, Render: api.RenderEventPayload, Clock: clock, Timeout: 2 * time.Second})
	return f
}

// emit writes an event with a user snapshot.
func (f *fixture) emit(t testing.TB, typ, conversationID string) sunlamp.Event {
	t.Helper()
	u := sunlamp.User{ID: sunlamp.NewID(), AppID: f.app, ExternalID: "ext-1", SignedUpAt: f.clock.Now(),
		Profile: sunlamp.Profile{GivenName: "Ada", Email: "ada@example.com"}}
	data := sunlamp.EventData{User: &u}
	if conversationID != "" {
		data.Conversation = &sunlamp.Conversation{ID: conversationID, AppID: f.app, Type: sunlamp.ConversationPersonal}
	}
	ev := sunlamp.Event{ID: sunlamp.NewID(), AppID: f.app, Type: typ, ConversationID: conversationID, UserID: u.ID, Data: data, CreatedAt: f.clock.Now()}
	if err := f.store.Emit(context.Background(), ev); err != nil {
		t.Fatalf("emit: %v", err)
	}
	return ev
}

func (f *fixture) deliverDue(t testing.TB) int {
	t.Helper()
	n, err := f.d.DeliverDue(context.Background())
	if err != nil {
		t.Fatalf("deliver due: %v", err)
	}
	return n
}

func TestDeliveryHeadersSignatureAndShape(t *testing.T) {
	for _, name := range apitest.Stores() {
		t.Run(name, func(t *testing.T) {
			rc := webhooktest.NewReceiver(t, nil)
			f := newFixture(t, name, rc.URL, []string{"user:remove", "conversation:remove"}, nil)
			ev := f.emit(t, "user:remove", "")
			if n := f.deliverDue(t); n != 1 {
				t.Fatalf("got %d attempts, want 1", n)
			}
			got := rc.All()
			if len(got) != 1 {
				t.Fatalf("got %d deliveries, want 1", len(got))
			}
			g := got[0]
			for h, want := range map[string]string{
				"Content-Type": "application/json", "X-Api-Key": f.hook.Secret, "Webhook-Id": ev.ID,
				"Webhook-Timestamp": strconv.FormatInt(f.clock.Now().Unix(), 10),
			} {
				if v := g.Header.Get(h); v != want {
					t.Errorf("got %s %q, want %q", h, v, want)
				}
			}
			// The Standard Webhooks signature, computed here independently of the package.
			mac := hmac.New(sha256.New, []byte(f.hook.Secret))
			mac.Write([]byte(ev.ID + "." + strconv.FormatInt(f.clock.Now().Unix(), 10) + "." + string(g.Body)))
			if want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)); g.Header.Get("Webhook-Signature") != want {
				t.Errorf("got webhook-signature %q, want %q", g.Header.Get("Webhook-Signature"), want)
			}
			if !webhook.Verify(f.hook.Secret, ev.ID, f.clock.Now().Unix(), g.Body, g.Header.Get("Webhook-Signature")) {
				t.Errorf("signature %q does not verify", g.Header.Get("Webhook-Signature"))
			}
			if webhook.Verify("another secret", ev.ID, f.clock.Now().Unix(), g.Body, g.Header.Get("Webhook-Signature")) {
				t.Errorf("signature verifies with another secret")
			}
			tampered := append([]byte(nil), g.Body...)
			tampered[len(tampered)-2] = ' '
			if webhook.Verify(f.hook.Secret, ev.ID, f.clock.Now().Unix(), tampered, g.Header.Get("Webhook-Signature")) {
				t.Errorf("signature verifies a tampered body")
			}
			want := `{"app":{"id":"` + f.app + `"},"webhook":{"id":"` + f.hook.ID + `","version":"v2"},"events":[{"id":"` + ev.ID +
				`","type":"user:remove","createdAt":"` + ev.CreatedAt.UTC().Format("2006-01-02T15:04:05.000Z") +
				`","payload":{"user":{"id":"` + userID(t, ev) + `","externalId":"ext-1","authenticated":false}}}]}`
			if diff := cmp.Diff(want, string(g.Body)); diff != "" {
				t.Errorf("body mismatch (-want +got):\n%s", diff)
			}
			webhooktest.ValidateBody(t, g.Body)
			// Delivered once: nothing is due any more, even much later.
			f.clock.Advance(time.Hour)
			if n := f.deliverDue(t); n != 0 {
				t.Errorf("got %d more attempts after success, want 0", n)
			}
		})
	}
}

func userID(t testing.TB, ev sunlamp.Event) string {
	return ev.Data.User.ID
}

func TestTriggersAndIncludeFullUser(t *testing.T) {
	for _, name := range apitest.Stores() {
		t.Run(name, func(t *testing.T) {
			rc := webhooktest.NewReceiver(t, nil)
			f := newFixture(t, name, rc.URL, []string{"conversation:join"}, func(w *sunlamp.Webhook) { w.IncludeFullUser = true })
			f.emit(t, "user:remove", "")                          // not subscribed
			f.emit(t, "conversation:message:delivery:user", "c1") // not subscribed either
			ev := f.emit(t, "conversation:join", "c2")            // subscribed
			if n := f.deliverDue(t); n != 1 {
				t.Fatalf("got %d attempts, want 1 (only the subscribed trigger)", n)
			}
			g := rc.All()[0]
			if g.EventID != ev.ID {
				t.Fatalf("got event %s, want %s", g.EventID, ev.ID)
			}
			webhooktest.ValidateBody(t, g.Body)
			var body struct {
				Events []struct {
					Payload map[string]any
				}
			}
			json.Unmarshal(g.Body, &body)
			u, _ := body.Events[0].Payload["user"].(map[string]any)
			if u == nil || u["profile"] == nil {
				t.Errorf("got payload %v, want the full user (profile) with includeFullUser", body.Events[0].Payload)
			}
		})
	}
}

func TestRetryScheduleAndGiveUp(t *testing.T) {
	for _, name := range apitest.Stores() {
		t.Run(name, func(t *testing.T) {
			rc := webhooktest.NewReceiver(t, func(string, int) int { return http.StatusServiceUnavailable })
			f := newFixture(t, name, rc.URL, []string{"user:remove"}, nil)
			start := f.clock.Now()
			ev := f.emit(t, "user:remove", "")
			// Attempts at 0, 1, 3, 7 and 15 minutes after the first: gaps of 1, 2, 4, 8 minutes.
			var at []time.Duration
			for step := 0; step <= 20*60; step += 15 {
				f.clock.Advance(15 * time.Second)
				if step == 0 {
					f.clock.Advance(-15 * time.Second)
				}
				if n := f.deliverDue(t); n > 0 {
					at = append(at, f.clock.Now().Sub(start))
				}
			}
			want := []time.Duration{0, time.Minute, 3 * time.Minute, 7 * time.Minute, 15 * time.Minute}
			if diff := cmp.Diff(want, at); diff != "" {
				t.Errorf("attempt times (-want +got):\n%s", diff)
			}
			for _, g := range rc.All() {
				if g.EventID != ev.ID || g.Header.Get("Webhook-Id") != ev.ID {
					t.Errorf("got event id %s (header %s), want %s on every attempt", g.EventID, g.Header.Get("Webhook-Id"), ev.ID)
				}
			}
			if n, _ := f.store.PendingDeliveries(context.Background()); n != 0 {
				t.Errorf("got %d pending deliveries after giving up, want 0", n)
			}
		})
	}
}

func TestNonRecoverableAnswersAreNotRetried(t *testing.T) {
	for _, name := range apitest.Stores() {
		t.Run(name, func(t *testing.T) {
			status := map[string]int{}
			rc := webhooktest.NewReceiver(t, func(id string, _ int) int { return status[id] })
			f := newFixture(t, name, rc.URL, []string{"user:remove"}, nil)
			cases := []struct {
				status   int
				attempts int
			}{{400, 1}, {401, 1}, {403, 1}, {404, 1}, {406, 1}, {410, 5}, {429, 5}, {500, 5}, {302, 5}}
			ids := map[string]int{}
			for _, c := range cases {
				ev := f.emit(t, "user:remove", "")
				status[ev.ID] = c.status
				ids[ev.ID] = c.attempts
			}
			for range 6 {
				f.deliverDue(t)
				f.clock.Advance(8 * time.Minute)
			}
			for id, want := range ids {
				if got := rc.Tries(id); got != want {
					t.Errorf("answer %d: got %d attempts, want %d", status[id], got, want)
				}
			}
		})
	}
}

func TestTimeoutIsRetried(t *testing.T) {
	rc := webhooktest.NewReceiver(t, func(_ string, attempt int) int {
		if attempt == 1 {
			time.Sleep(500 * time.Millisecond)
		}
		return 200
	})
	f := newFixture(t, "sqlite", rc.URL, []string{"user:remove"}, nil)
	f.d = webhook.New(webhook.Config{Store: f.store, Render: api.RenderEventPayload, Clock: f.clock, Timeout: 100 * time.Millisecond})
	f.emit(t, "user:remove", "")
	f.deliverDue(t)
	if n, _ := f.store.PendingDeliveries(context.Background()); n != 1 {
		t.Fatalf("got %d pending deliveries after a timeout, want 1 (to retry)", n)
	}
	f.clock.Advance(time.Minute)
	f.deliverDue(t)
	if n, _ := f.store.PendingDeliveries(context.Background()); n != 0 {
		t.Errorf("got %d pending deliveries after the retry succeeded, want 0", n)
	}
}

func TestOrderPerConversation(t *testing.T) {
	for _, name := range apitest.Stores() {
		t.Run(name, func(t *testing.T) {
			var first string
			rc := webhooktest.NewReceiver(t, func(id string, attempt int) int {
				if id == first && attempt == 1 {
					return 500
				}
				return 200
			})
			f := newFixture(t, name, rc.URL, []string{"conversation:remove"}, nil)
			a1 := f.emit(t, "conversation:remove", "convA")
			first = a1.ID
			a2 := f.emit(t, "conversation:remove", "convA")
			b1 := f.emit(t, "conversation:remove", "convB")
			a3 := f.emit(t, "conversation:remove", "convA")
			f.deliverDue(t)
			// a1 failed: a2 and a3 wait for it; b1 (another conversation) does not.
			got := rc.IDs()
			slices.Sort(got)
			want := []string{a1.ID, b1.ID}
			slices.Sort(want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("first round (-want +got):\n%s", diff)
			}
			f.clock.Advance(time.Minute)
			f.deliverDue(t)
			var convA []string
			for _, id := range rc.IDs() {
				if id != b1.ID {
					convA = append(convA, id)
				}
			}
			if diff := cmp.Diff([]string{a1.ID, a1.ID, a2.ID, a3.ID}, convA); diff != "" {
				t.Errorf("deliveries of conversation A (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAppsAreIsolatedAndDeletedWebhooksGetNothing(t *testing.T) {
	for _, name := range apitest.Stores() {
		t.Run(name, func(t *testing.T) {
			rcA := webhooktest.NewReceiver(t, func(string, int) int { return 500 })
			f := newFixture(t, name, rcA.URL, []string{"user:remove"}, nil)
			ctx := context.Background()
			// A second app with its own webhook on the same trigger.
			rcB := webhooktest.NewReceiver(t, nil)
			other, err := f.store.CreateApp(ctx, sunlamp.App{AccountID: sunlamp.DefaultAccountID, DisplayName: "other"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.store.CreateIntegration(ctx, sunlamp.Integration{ID: sunlamp.NewID(), AppID: other.ID, Type: "custom", Status: "active",
				Webhooks: []sunlamp.Webhook{{ID: sunlamp.NewID(), Version: "v2", Target: rcB.URL, Triggers: []string{"user:remove"}, Secret: "s"}}}); err != nil {
				t.Fatal(err)
			}
			f.emit(t, "user:remove", "")
			f.deliverDue(t)
			if len(rcA.All()) != 1 || len(rcB.All()) != 0 {
				t.Fatalf("got %d deliveries to app A's webhook and %d to app B's, want 1 and 0", len(rcA.All()), len(rcB.All()))
			}
			// The attempt failed; deleting the webhook drops its pending delivery.
			if err := f.store.DeleteWebhook(ctx, f.app, f.hook.IntegrationID, f.hook.ID); err != nil {
				t.Fatal(err)
			}
			f.clock.Advance(time.Hour)
			if n := f.deliverDue(t); n != 0 {
				t.Errorf("got %d attempts for a deleted webhook, want 0", n)
			}
			if n, _ := f.store.PendingDeliveries(ctx); n != 0 {
				t.Errorf("got %d pending deliveries, want 0", n)
			}
		})
	}
}

func TestPruneKeepsWhatIsPending(t *testing.T) {
	for _, name := range apitest.Stores() {
		t.Run(name, func(t *testing.T) {
			var fail sync.Map
			rc := webhooktest.NewReceiver(t, func(id string, _ int) int {
				if v, _ := fail.Load(id); v == true {
					return 500
				}
				return 200
			})
			f := newFixture(t, name, rc.URL, []string{"user:remove"}, nil)
			ctx := context.Background()
			f.emit(t, "user:remove", "")
			pending := f.emit(t, "user:remove", "")
			fail.Store(pending.ID, true)
			f.deliverDue(t)
			f.clock.Advance(48 * time.Hour)
			if err := f.store.PruneDeliveries(ctx, f.clock.Now().Add(-24*time.Hour)); err != nil {
				t.Fatal(err)
			}
			if n, _ := f.store.PendingDeliveries(ctx); n != 1 {
				t.Fatalf("got %d pending deliveries after pruning, want 1", n)
			}
			fail.Store(pending.ID, false)
			f.deliverDue(t)
			if got := rc.Tries(pending.ID); got != 2 {
				t.Errorf("the pending event was tried %d times, want 2 (its event must survive pruning)", got)
			}
		})
	}
}

// TestRunDeliversAndStops runs the dispatcher as the server does (system clock, woken after
// commits) and stops it.
func TestRunDeliversAndStops(t *testing.T) {
	rc := webhooktest.NewReceiver(t, nil)
	f := newFixture(t, "sqlite", rc.URL, []string{"conversation:join"}, nil)
	d := webhook.New(webhook.Config{Store: f.store, Render: api.RenderEventPayload, Poll: time.Hour})
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	var want []string
	convOf := map[string]string{}
	for i := range 40 {
		conv := "conv" + strconv.Itoa(i%5)
		id := f.emit(t, "conversation:join", conv).ID
		want = append(want, id)
		convOf[id] = conv
		d.Wake() // as the server does after a write; the hour-long poll never fires
	}
	rc.WaitFor(t, 20*time.Second, func(got []webhooktest.Received) bool { return len(got) >= len(want) })
	stop()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
	// Each conversation's events arrived in the order they were written, though 64 POSTs may be in
	// flight at once.
	byConv := map[string][]string{}
	for _, id := range want {
		byConv[convOf[id]] = append(byConv[convOf[id]], id)
	}
	arrived := map[string][]string{}
	for _, id := range rc.IDs() {
		arrived[convOf[id]] = append(arrived[convOf[id]], id)
	}
	for conv, ids := range byConv {
		if !slices.Equal(arrived[conv], ids) {
			t.Errorf("%s: got events in order %v, want %v", conv, arrived[conv], ids)
		}
	}
	got := rc.IDs()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("got %d deliveries, want each of the %d events once", len(got), len(want))
	}
	if n, _ := f.store.PendingDeliveries(context.Background()); n != 0 {
		t.Errorf("got %d pending deliveries after stopping, want 0", n)
	}
}

// TestTwoDispatchersShareOnePostgres: two stores (two pools, as two processes have) claim from one
// PostgreSQL database at once while the target fails now and then: no delivery is in flight twice,
// every event is delivered, and each conversation's events succeed in order.
func TestTwoDispatchersShareOnePostgres(t *testing.T) {
	var mu sync.Mutex
	inFlight := map[string]bool{}
	var doubled []string
	var succeeded []string
	n := 0
	rc := webhooktest.NewReceiver(t, func(id string, attempt int) int {
		mu.Lock()
		if inFlight[id] {
			doubled = append(doubled, id)
		}
		inFlight[id] = true
		n++
		fail := attempt == 1 && n%3 == 0
		mu.Unlock()
		time.Sleep(time.Millisecond)
		mu.Lock()
		inFlight[id] = false
		if !fail {
			succeeded = append(succeeded, id)
		}
		mu.Unlock()
		if fail {
			return 503
		}
		return 200
	})
	f := newFixture(t, "postgres", rc.URL, []string{"conversation:join"}, nil)
	other, err := sqlstore.Open(context.Background(), f.dsn, sqlstore.WithClock(f.clock))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	d2 := webhook.New(webhook.Config{Store: other, Render: api.RenderEventPayload, Clock: f.clock, Batch: 8})
	f.d = webhook.New(webhook.Config{Store: f.store, Render: api.RenderEventPayload, Clock: f.clock, Batch: 8})
	convOf := map[string]string{}
	var order []string
	for i := range 120 {
		conv := "c" + strconv.Itoa(i%6)
		id := f.emit(t, "conversation:join", conv).ID
		convOf[id] = conv
		order = append(order, id)
	}
	for range 40 { // rounds: each lets the retries scheduled by the one before come due
		if n, _ := f.store.PendingDeliveries(context.Background()); n == 0 {
			break
		}
		var wg sync.WaitGroup
		for _, d := range []*webhook.Dispatcher{f.d, d2} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := d.DeliverDue(context.Background()); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		f.clock.Advance(time.Minute)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(doubled) > 0 {
		t.Errorf("%d deliveries were in flight twice at once", len(doubled))
	}
	perConv := map[string][]string{}
	seen := map[string]int{}
	for _, id := range succeeded {
		perConv[convOf[id]] = append(perConv[convOf[id]], id)
		seen[id]++
	}
	for _, id := range order {
		if seen[id] != 1 {
			t.Errorf("event %s succeeded %d times, want 1", id, seen[id])
		}
	}
	for conv := range perConv {
		var want []string
		for _, id := range order {
			if convOf[id] == conv {
				want = append(want, id)
			}
		}
		if !slices.Equal(perConv[conv], want) {
			t.Errorf("%s: events succeeded out of order", conv)
		}
	}
}

// TestLeaseOfADeadProcess: what a process claimed and never finished (it died) is sent again once
// the lease ends, and the late result of the first claim is ignored.
func TestLeaseOfADeadProcess(t *testing.T) {
	for _, name := range apitest.Stores() {
		t.Run(name, func(t *testing.T) {
			rc := webhooktest.NewReceiver(t, nil)
			f := newFixture(t, name, rc.URL, []string{"user:remove"}, nil)
			ctx := context.Background()
			ev := f.emit(t, "user:remove", "")
			dead, err := f.store.ClaimDeliveries(ctx, "dead-process", f.clock.Now(), time.Minute, 10)
			if err != nil || len(dead) != 1 {
				t.Fatalf("claim: %d, %v", len(dead), err)
			}
			f.clock.Advance(59 * time.Second)
			if n := f.deliverDue(t); n != 0 {
				t.Fatalf("got %d attempts while the lease holds, want 0", n)
			}
			f.clock.Advance(2 * time.Second)
			if n := f.deliverDue(t); n != 1 {
				t.Fatalf("got %d attempts after the lease ended, want 1", n)
			}
			// The dead process's result comes late: ignored, the delivery stays done.
			if err := f.store.FinishDeliveries(ctx, f.clock.Now(), []sunlamp.DeliveryResult{{ID: dead[0].ID, ClaimedBy: "dead-process",
				Attempt: dead[0].Attempt, Outcome: sunlamp.Retry, NextAttemptAt: f.clock.Now()}}); err != nil {
				t.Fatal(err)
			}
			f.clock.Advance(time.Hour)
			if n := f.deliverDue(t); n != 0 {
				t.Errorf("got %d attempts after the stale result, want 0", n)
			}
			if got := rc.Tries(ev.ID); got != 1 {
				t.Errorf("the receiver got the event %d times, want 1", got)
			}
		})
	}
}
