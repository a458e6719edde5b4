package webhook_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sunlamp/sunlamp"
	"github.com/sunlamp/sunlamp/api"
	"github.com/sunlamp/sunlamp/internal/apitest"
	"github.com/sunlamp/sunlamp/sqlstore"
	"github.com/sunlamp/sunlamp/webhook"
)

// BenchmarkDelivery measures events delivered per second to a local receiver while 4 writers
// commit events (one transaction each, spread over 64 conversations) and the dispatcher runs as in
// the server (woken after each commit), and the latency from commit to arrival at the receiver.
//
//	go test ./webhook -run '^$' -bench Delivery -benchtime 2000x
func BenchmarkDelivery(b *testing.B) {
	for _, name := range apitest.Stores() {
		b.Run(name, func(b *testing.B) { benchmarkDelivery(b, name) })
	}
}

func benchmarkDelivery(b *testing.B, storeName string) {
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, apitest.NewDSN(b, storeName))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	var mu sync.Mutex
	committed := map[string]time.Time{}
	var latencies []time.Duration
	all := make(chan struct{})
	total := b.N
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		now := time.Now()
		var env struct{ Events []struct{ ID string } }
		json.Unmarshal(body, &env)
		mu.Lock()
		for _, e := range env.Events {
			if at, ok := committed[e.ID]; ok {
				latencies = append(latencies, now.Sub(at))
				delete(committed, e.ID)
			}
		}
		if len(latencies) == total {
			close(all)
		}
		mu.Unlock()
	}))
	defer rc.Close()
	app, err := st.CreateApp(ctx, sunlamp.App{AccountID: sunlamp.DefaultAccountID, DisplayName: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	_, err = st.CreateIntegration(ctx, sunlamp.Integration{ID: sunlamp.NewID(), AppID: app.ID, Type: "custom", Status: "active",
		Webhooks: []sunlamp.Webhook{{ID: sunlamp.NewID(), Version: "v2", Target: rc.URL, Triggers: []string{"conversation:remove"}, Secret: sunlamp.NewWebhookSecret()}}})
	if err != nil {
		b.Fatal(err)
	}
	d := webhook.New(webhook.Config{Store: st, Render: api.RenderEventPayload, ReleaseAllClaims: storeName == "sqlite"})
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- d.Run(runCtx) }()

	convs := make([]string, 64)
	for i := range convs {
		convs[i] = sunlamp.NewID()
	}
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	const writers = 4
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < total; i += writers {
				c := convs[i%len(convs)]
				data := sunlamp.EventData{Conversation: &sunlamp.Conversation{ID: c, AppID: app.ID, Type: "sdkGroup",
					Metadata: sunlamp.Metadata{"n": strconv.Itoa(i)}}}
				ev := sunlamp.Event{ID: sunlamp.NewID(), AppID: app.ID, Type: "conversation:remove", ConversationID: c, Data: data}
				mu.Lock()
				committed[ev.ID] = time.Now() // replaced by the commit time below; set first so a fast delivery finds it
				mu.Unlock()
				if err := st.Emit(ctx, ev); err != nil {
					b.Error(err)
					return
				}
				mu.Lock()
				if _, pending := committed[ev.ID]; pending {
					committed[ev.ID] = time.Now()
				}
				mu.Unlock()
				d.Wake()
			}
		}()
	}
	wg.Wait()
	select {
	case <-all:
	case <-time.After(5 * time.Minute):
		b.Fatalf("not every event was delivered")
	}
	elapsed := time.Since(start)
	b.StopTimer()
	stop()
	<-done
	slices.Sort(latencies)
	pct := func(p float64) float64 {
		return float64(latencies[min(len(latencies)-1, int(p*float64(len(latencies))))].Microseconds()) / 1000
	}
	b.ReportMetric(float64(total)/elapsed.Seconds(), "events/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkDrain measures how fast the dispatcher delivers a backlog: b.N events over 64
// conversations are committed first, then the dispatcher starts and the time until the receiver
// has them all is measured.
//
//	go test ./webhook -run '^$' -bench Drain -benchtime 5000x
func BenchmarkDrain(b *testing.B) {
	for _, name := range apitest.Stores() {
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			st, err := sqlstore.Open(ctx, apitest.NewDSN(b, name))
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			var mu sync.Mutex
			got := 0
			all := make(chan struct{})
			rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				mu.Lock()
				got++
				if got == b.N {
					close(all)
				}
				mu.Unlock()
			}))
			defer rc.Close()
			app, _ := st.CreateApp(ctx, sunlamp.App{AccountID: sunlamp.DefaultAccountID, DisplayName: "bench"})
			if _, err := st.CreateIntegration(ctx, sunlamp.Integration{ID: sunlamp.NewID(), AppID: app.ID, Type: "custom", Status: "active",
				Webhooks: []sunlamp.Webhook{{ID: sunlamp.NewID(), Version: "v2", Target: rc.URL, Triggers: []string{"conversation:remove"}, Secret: "s"}}}); err != nil {
				b.Fatal(err)
			}
			for i := range b.N {
				c := strconv.Itoa(i % 64)
				data := sunlamp.EventData{Conversation: &sunlamp.Conversation{ID: c, Type: "sdkGroup"}}
				if err := st.Emit(ctx, sunlamp.Event{AppID: app.ID, Type: "conversation:remove", ConversationID: c, Data: data}); err != nil {
					b.Fatal(err)
				}
			}
			d := webhook.New(webhook.Config{Store: st, Render: api.RenderEventPayload})
			runCtx, stop := context.WithCancel(ctx)
			done := make(chan error, 1)
			b.ResetTimer()
			start := time.Now()
			go func() { done <- d.Run(runCtx) }()
			select {
			case <-all:
			case <-time.After(5 * time.Minute):
				b.Fatal("the backlog was not delivered")
			}
			elapsed := time.Since(start)
			b.StopTimer()
			stop()
			<-done
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// BenchmarkClaimBehindFailingTarget measures a claim (the work done at each wake-up) while a
// webhook's target is down: 64 conversations each with a failing delivery waiting for its retry and
// 100 deliveries queued behind it.
func BenchmarkClaimBehindFailingTarget(b *testing.B) {
	for _, name := range apitest.Stores() {
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			clock := apitest.NewClock()
			st, err := sqlstore.Open(ctx, apitest.NewDSN(b, name), sqlstore.WithClock(clock))
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }))
			defer down.Close()
			app, _ := st.CreateApp(ctx, sunlamp.App{AccountID: sunlamp.DefaultAccountID, DisplayName: "bench"})
			if _, err := st.CreateIntegration(ctx, sunlamp.Integration{ID: sunlamp.NewID(), AppID: app.ID, Type: "custom", Status: "active",
				Webhooks: []sunlamp.Webhook{{ID: sunlamp.NewID(), Version: "v2", Target: down.URL, Triggers: []string{"conversation:remove"}, Secret: "s"}}}); err != nil {
				b.Fatal(err)
			}
			emit := func(c string) {
				data := sunlamp.EventData{Conversation: &sunlamp.Conversation{ID: c, Type: "sdkGroup"}}
				if err := st.Emit(ctx, sunlamp.Event{AppID: app.ID, Type: "conversation:remove", ConversationID: c, Data: data}); err != nil {
					b.Fatal(err)
				}
			}
			for i := range 64 {
				emit(strconv.Itoa(i))
			}
			d := webhook.New(webhook.Config{Store: st, Render: api.RenderEventPayload, Clock: clock})
			if n, err := d.DeliverDue(ctx); err != nil || n != 64 {
				b.Fatalf("first attempts: %d, %v", n, err)
			}
			for i := range 64 * 100 {
				emit(strconv.Itoa(i % 64))
			}
			b.ResetTimer()
			for range b.N {
				ds, err := st.ClaimDeliveries(ctx, "w", clock.Now(), time.Minute, 64)
				if err != nil || len(ds) != 0 {
					b.Fatalf("claimed %d, %v; want nothing due", len(ds), err)
				}
			}
		})
	}
}
