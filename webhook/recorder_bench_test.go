package webhook_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
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

// BenchmarkDrainRecorded is BenchmarkDrain with and without the flight recorder (which `sunlamp
// serve` always runs): what recording every attempt costs the delivery of a backlog.
//
//	go test ./webhook -run '^$' -bench DrainRecorded -benchtime 5000x
func BenchmarkDrainRecorded(b *testing.B) {
	for _, name := range apitest.Stores() {
		for _, recorded := range []bool{false, true} {
			b.Run(name+"/recorder="+strconv.FormatBool(recorded), func(b *testing.B) {
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
				cfg := webhook.Config{Store: st, Render: api.RenderEventPayload}
				if recorded {
					cfg.Recorder = st
				}
				d := webhook.New(cfg)
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
}
