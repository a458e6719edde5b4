package api_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sunlamp/sunlamp"
	"github.com/sunlamp/sunlamp/internal/apitest"
)

// BenchmarkExportUser exports a user with 3,000 and with 30,000 messages (a personal conversation of
// their own messages, with a WhatsApp client) over real HTTP on loopback, on every store, the client
// reading the document as it comes. It reports the messages exported a second (target on SQLite:
// >= 50,000); how far the heap grew above its size before the request at its highest
// (heap-growth-MB: sampled every millisecond, garbage included, with the server's GC setting, so it
// grows with what the export allocates until the collector's target); and, from more exports with
// a collection every 5 ms, how far the live heap grew at most (live-growth-MB): what the export
// holds, the same for 3,000 and 30,000 messages when it streams.
//
//	SUNLAMP_TEST_POSTGRES_URL=... go test ./api -run '^$' -bench ExportUser -benchtime 5x
func BenchmarkExportUser(b *testing.B) {
	asServed(b)
	for _, store := range apitest.Stores() {
		for _, n := range []int{3000, 30000} {
			b.Run(fmt.Sprintf("%s/messages=%d", store, n), func(b *testing.B) {
				e := apitest.NewEnv(b, store)
				ctx := context.Background()
				appID := e.MustCreateApp(b, "export")
				key := e.MustCreateAppKey(b, appID)
				u, err := e.Store.CreateUser(ctx, sunlamp.User{AppID: appID, ExternalID: "bench-user",
					Profile: sunlamp.Profile{GivenName: "Jane", Surname: "Doe", Email: "jane@example.org"}, Metadata: sunlamp.Metadata{"plan": "gold"}})
				if err != nil {
					b.Fatal(err)
				}
				seedMessages(b, e.Store, appID, u.ID, sunlamp.Client{ExternalID: "+15145550199", DisplayName: "Jane D."}, n)
				url := e.URL + "/_sunlamp/v1/apps/" + appID + "/users/bench-user/export"
				export := func() int64 {
					req, err := http.NewRequest(http.MethodGet, url, nil)
					if err != nil {
						b.Fatal(err)
					}
					req.SetBasicAuth(key.ID, key.Secret)
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					defer resp.Body.Close()
					size, err := io.Copy(io.Discard, resp.Body)
					if err != nil || resp.StatusCode != http.StatusOK {
						b.Fatalf("export: status %d, %v", resp.StatusCode, err)
					}
					return size
				}
				export() // warm: the statement caches, the connection

				var peak float64
				var elapsed time.Duration
				var bytes int64
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					runtime.GC()
					base := heapObjects()
					stop := sampleHeap(func(v uint64) {
						if g := float64(v) - float64(base); g > peak {
							peak = g
						}
					}, time.Millisecond)
					b.StartTimer()
					start := time.Now()
					bytes = export()
					elapsed += time.Since(start)
					stop()
				}
				b.StopTimer()
				// More exports, untimed, with a collection every 5 ms: the highest live heap after a
				// collection is what the export holds, garbage aside. As many samples for a small
				// export as for a large one (at least 60), so that the highest of them compares.
				runtime.GC()
				base := liveHeap()
				var live float64
				var samples atomic.Int64
				stop := sampleHeap(func(uint64) {
					runtime.GC()
					samples.Add(1)
					if g := float64(liveHeap()) - float64(base); g > live {
						live = g
					}
				}, 5*time.Millisecond)
				for samples.Load() < 60 {
					export()
				}
				stop()
				b.ReportMetric(float64(n)*float64(b.N)/elapsed.Seconds(), "msgs/s")
				b.ReportMetric(peak/(1<<20), "heap-growth-MB")
				b.ReportMetric(live/(1<<20), "live-growth-MB")
				b.ReportMetric(float64(bytes)/(1<<20), "doc-MB")
			})
		}
	}
}

// heapObjects returns the bytes of the heap's objects, live and not yet collected (runtime/metrics:
// read without stopping the world).
func heapObjects() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// liveHeap returns the bytes of the heap's objects that the last collection found live.
func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// sampleHeap calls fn with heapObjects every period until the returned stop is called.
func sampleHeap(fn func(uint64), period time.Duration) (stop func()) {
	var done atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !done.Load() {
			fn(heapObjects())
			time.Sleep(period)
		}
	}()
	return func() {
		done.Store(true)
		wg.Wait()
		fn(heapObjects())
	}
}
