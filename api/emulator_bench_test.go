package api_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/sunlamp/sunlamp"
	"github.com/sunlamp/sunlamp/internal/apitest"
	"github.com/sunlamp/sunlamp/internal/webhooktest"
)

// BenchmarkResetApp measures POST /_sunlamp/v1/apps/{appId}/reset over HTTP, on every store, of an
// app with 1,000 users, each with a profile, an SDK client and a device, and with messages=2 a
// default conversation holding two messages (with their outbox events and deliveries, since the app
// has a webhook), next to another app of the same size that the reset leaves alone. The app is filled again before each reset, outside the timer.
// It reports the median as p50-ms (the target is under 20 ms).
//
//	flock /tmp/bench.lock go test ./api -run '^$' -bench ResetApp -benchtime 10x
//
// On PostgreSQL it runs twice: as the tests' role, a superuser, whose resets run without the
// foreign keys' triggers, and as a role that is not (postgres-plain), whose resets run them.
func BenchmarkResetApp(b *testing.B) {
	stores := apitest.Stores()
	if slices.Contains(stores, "postgres") {
		stores = append(stores, "postgres-plain")
	}
	for _, name := range stores {
		for _, msgs := range []int{0, 2} {
			b.Run(fmt.Sprintf("%s/users=1000/messages=%d", name, msgs), func(b *testing.B) {
				var em *apitest.EmulatorEnv
				if name == "postgres-plain" {
					em = apitest.NewEmulatorEnvDSN(b, "postgres", apitest.NewPlainRoleDSN(b))
				} else {
					em = apitest.NewEmulatorEnv(b, name)
				}
				rc := webhooktest.NewReceiver(b, nil)
				ctx := context.Background()
				fill := func(appID string) {
					var wg sync.WaitGroup
					sem := make(chan struct{}, 8)
					for i := 0; i < 1000; i++ {
						wg.Add(1)
						sem <- struct{}{}
						go func() {
							defer wg.Done()
							defer func() { <-sem }()
							ext := fmt.Sprintf("user-%d", i)
							if _, err := em.Store.CreateUser(ctx, sunlamp.User{AppID: appID, ExternalID: ext, Profile: sunlamp.Profile{GivenName: ext}}); err != nil {
								b.Error(err)
								return
							}
							for j := 0; j < max(1, msgs); j++ {
								in := sunlamp.Inbound{AppID: appID, Channel: "sdk", UserExternalID: ext, Device: &sunlamp.Device{Type: "web", GUID: "guid-" + ext}}
								if msgs > 0 {
									text := sunlamp.TextContent(fmt.Sprintf("message %d", j))
									in.Content = &text
								}
								if _, err := em.Store.Inbound(ctx, in); err != nil {
									b.Error(err)
									return
								}
							}
						}()
					}
					wg.Wait()
					if b.Failed() {
						b.FailNow()
					}
					// The dispatcher's writes (the deliveries' results) are done before the reset starts.
					for {
						n, err := em.Store.PendingDeliveries(ctx)
						if err != nil {
							b.Fatal(err)
						}
						if n == 0 {
							break
						}
						time.Sleep(10 * time.Millisecond)
					}
				}
				newApp := func() string {
					appID := em.MustCreateApp(b, "bench")
					apitest.MustStatus(b, em.Do(b, "POST", "/v2/apps/"+appID+"/integrations", em.Account(),
						customBody(rc.URL, "conversation:message")), http.StatusCreated)
					return appID
				}
				fill(newApp()) // the neighbour
				appID := newApp()
				times := make([]time.Duration, 0, b.N)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					fill(appID)
					b.StartTimer()
					start := time.Now()
					apitest.MustStatus(b, em.Do(b, "POST", "/_sunlamp/v1/apps/"+appID+"/reset", em.Account(), nil), http.StatusOK)
					times = append(times, time.Since(start))
				}
				b.StopTimer()
				sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
				b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "p50-ms")
			})
		}
	}
}
