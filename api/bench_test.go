package api_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sunlamp/sunlamp/internal/apitest"
)

// BenchmarkGetApp measures GET /v2/apps/{appId} with app-key Basic auth against a bare net/http
// handler that returns the same bytes, over real HTTP on loopback, in the same run. The issue's
// target: Sunlamp on SQLite at >= 50% of the bare handler's throughput. Compare the req/s metrics:
//
//	go test ./api -run '^$' -bench BenchmarkGetApp -benchtime 3s
func BenchmarkGetApp(b *testing.B) {
	for _, store := range apitest.Stores() {
		b.Run("sunlamp/"+store, func(b *testing.B) {
			e := apitest.NewEnv(b, store)
			appID := e.MustCreateApp(b, "Bench")
			key := e.MustCreateAppKey(b, appID)
			benchGET(b, e.URL+"/v2/apps/"+appID, apitest.BasicHeader(key.ID, key.Secret))
		})
	}
	b.Run("bare", func(b *testing.B) {
		e := apitest.NewEnv(b, "sqlite")
		appID := e.MustCreateApp(b, "Bench")
		body := e.Do(b, "GET", "/v2/apps/"+appID, e.Account(), nil).Body
		bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			_, _ = w.Write(body)
		}))
		defer bare.Close()
		benchGET(b, bare.URL+"/v2/apps/"+appID, "")
	})
}

func benchGET(b *testing.B, url, auth string) {
	b.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	b.SetParallelism(4) // 4 x GOMAXPROCS concurrent clients
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		req, _ := http.NewRequest("GET", url, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		for pb.Next() {
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("got status %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}
