package api_test

import (
	"io"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/sunlamp/sunlamp"
	"github.com/sunlamp/sunlamp/internal/apitest"
)

// BenchmarkAttachments measures attachments over real HTTP on loopback, on each store: upload and
// download throughput of 50 MB files (the MB/s column), and the peak Go heap of the whole process
// (server and client) while 4 clients upload 50 MB files at once (peak-heap-MB): uploads are streamed
// to storage, so it stays far below the 200 MB they carry.
//
//	SUNLAMP_TEST_POSTGRES_URL=... go test ./api -run '^$' -bench BenchmarkAttachments -benchtime 3x
func BenchmarkAttachments(b *testing.B) {
	const size = sunlamp.MaxAttachmentSize
	for _, store := range apitest.Stores() {
		b.Run(store, func(b *testing.B) {
			e := apitest.NewEnv(b, store)
			appID := e.MustCreateApp(b, "Bench")
			a := &attEnv{Env: e, appID: appID, key: apitest.KeyAuth(e.MustCreateAppKey(b, appID))}
			remove := func(url string) {
				apitest.MustStatus(b, a.Do(b, "POST", "/v2/apps/"+appID+"/attachments/remove", a.key, map[string]any{"mediaUrl": url}), 200)
			}
			upload := func() string {
				r := a.streamUpload(b, size, true)
				apitest.MustStatus(b, r, http.StatusCreated)
				var out struct{ Attachment struct{ MediaURL string } }
				r.Decode(b, &out)
				return out.Attachment.MediaURL
			}

			b.Run("upload-50MB", func(b *testing.B) {
				b.SetBytes(size)
				for i := 0; i < b.N; i++ {
					url := upload()
					b.StopTimer()
					remove(url)
					b.StartTimer()
				}
			})

			b.Run("download-50MB", func(b *testing.B) {
				url := upload()
				defer remove(url)
				b.SetBytes(size)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					resp, err := http.Get(url)
					if err != nil {
						b.Fatal(err)
					}
					n, _ := io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 || n != size {
						b.Fatalf("got %d with %d bytes", resp.StatusCode, n)
					}
				}
			})

			b.Run("upload-4x50MB-concurrent", func(b *testing.B) {
				const clients = 4
				b.SetBytes(clients * size)
				runtime.GC()
				peak := watchHeap()
				for i := 0; i < b.N; i++ {
					urls := make([]string, clients)
					var wg sync.WaitGroup
					for c := 0; c < clients; c++ {
						wg.Add(1)
						go func() {
							defer wg.Done()
							urls[c] = upload()
						}()
					}
					wg.Wait()
					b.StopTimer()
					for _, u := range urls {
						remove(u)
					}
					b.StartTimer()
				}
				b.ReportMetric(float64(peak())/(1<<20), "peak-heap-MB")
			})
		})
	}
}

// watchHeap samples the heap in use every few milliseconds until the returned function is called,
// which returns the highest value seen.
func watchHeap() func() uint64 {
	var mu sync.Mutex
	var max uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			mu.Lock()
			max = maxU(max, ms.HeapInuse)
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(stop)
		<-done
		mu.Lock()
		defer mu.Unlock()
		return max
	}
}

func maxU(a, b uint64) uint64 {
	if a > b {
		return a
	}
	return b
}
