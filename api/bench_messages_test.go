package api_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sunlamp/sunlamp"
	"github.com/sunlamp/sunlamp/api"
	"github.com/sunlamp/sunlamp/internal/apitest"
)

// The benchmarks of issue 4, over real HTTP on loopback, on every store:
//
//	SUNLAMP_TEST_POSTGRES_URL=... go test ./api -run '^$' -bench 'PostMessage|ListMessages|GetConversation' -benchtime 3s
//
// Targets (2-core machine): durable PostMessage >= 10,000 msg/s at 32 concurrent clients;
// ListMessages of a 30,000-message conversation p99 < 10 ms at 8 clients; GetConversation >= 50% of
// the bare handler's req/s.

// benchApp is an app with a key and n conversations.
func benchApp(b *testing.B, e *apitest.Env, n int) (appID, auth string, convs []string) {
	b.Helper()
	appID = e.MustCreateApp(b, "Bench")
	key := e.MustCreateAppKey(b, appID)
	// Personal conversations, each with its user, as most conversations are: a message also bumps
	// the participant's unread count.
	for i := 0; i < n; i++ {
		u, err := e.Store.CreateUser(context.Background(), sunlamp.User{ID: sunlamp.NewID(), AppID: appID})
		if err != nil {
			b.Fatal(err)
		}
		c, err := e.Store.CreateConversation(context.Background(), sunlamp.Conversation{AppID: appID, Type: sunlamp.ConversationPersonal},
			[]sunlamp.ParticipantRef{{UserID: u.ID}})
		if err != nil {
			b.Fatal(err)
		}
		convs = append(convs, c.ID)
	}
	return appID, apitest.BasicHeader(key.ID, key.Secret), convs
}

// BenchmarkPostMessage posts text messages from 32 concurrent clients, each to its own
// conversation; every 201 is sent after its message's commit is durable.
func BenchmarkPostMessage(b *testing.B) {
	asServed(b)
	for _, store := range apitest.Stores() {
		b.Run(store, func(b *testing.B) {
			e := apitest.NewEnv(b, store)
			appID, auth, convs := benchApp(b, e, 32)
			body := []byte(`{"author":{"type":"business","displayName":"Bench"},"content":{"type":"text","text":"Hello from the benchmark"}}`)
			tr := &http.Transport{MaxIdleConnsPerHost: 64}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr}
			var next atomic.Int64
			b.SetParallelism(max(1, 32/runtimeProcs()))
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				url := e.URL + "/v2/apps/" + appID + "/conversations/" + convs[int(next.Add(1)-1)%len(convs)] + "/messages"
				for pb.Next() {
					req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
					req.Header.Set("Authorization", auth)
					req.Header.Set("Content-Type", "application/json")
					resp, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 201 {
						b.Errorf("got status %d", resp.StatusCode)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
		})
	}
}

// BenchmarkListMessages reads pages of a 30,000-message conversation from 8 concurrent clients
// (the newest page and pages further back) and reports latency percentiles.
func BenchmarkListMessages(b *testing.B) {
	asServed(b)
	for _, store := range apitest.Stores() {
		b.Run(store, func(b *testing.B) {
			e := apitest.NewEnv(b, store)
			appID, auth, convs := benchApp(b, e, 1)
			ids := fillConversation(b, e, appID, convs[0], sunlamp.MaxMessagesPerConversation)
			base := e.URL + "/v2/apps/" + appID + "/conversations/" + convs[0] + "/messages"
			tr := &http.Transport{MaxIdleConnsPerHost: 64}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr}
			var mu sync.Mutex
			var lat []time.Duration
			var n atomic.Int64
			b.SetParallelism(max(1, 8/runtimeProcs()))
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				var mine []time.Duration
				for pb.Next() {
					url := base
					if i := n.Add(1); i%2 == 0 { // every other request pages back from somewhere in the history
						url += "?page[before]=" + ids[int(i*7919)%len(ids)]
					}
					req, _ := http.NewRequest("GET", url, nil)
					req.Header.Set("Authorization", auth)
					start := time.Now()
					resp, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					mine = append(mine, time.Since(start))
					if resp.StatusCode != 200 {
						b.Errorf("got status %d", resp.StatusCode)
						return
					}
				}
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			})
			b.StopTimer()
			slices.Sort(lat)
			pct := func(p float64) float64 { return float64(lat[int(float64(len(lat)-1)*p)].Microseconds()) / 1000 }
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	}
}

// fillConversation posts n messages through the store (concurrently, so the group commit batches
// them) and returns their ids.
func fillConversation(b *testing.B, e *apitest.Env, appID, convID string, n int) []string {
	b.Helper()
	ids := make([]string, n)
	var wg sync.WaitGroup
	var next atomic.Int64
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				m, err := e.Store.PostMessage(context.Background(), sunlamp.Message{AppID: appID, ConversationID: convID,
					Author:  sunlamp.Author{Type: sunlamp.AuthorBusiness, DisplayName: "Bench", AvatarURL: "https://example.org/a.png"},
					Content: sunlamp.TextContent(fmt.Sprintf("message %d of the history, long enough to look like a real one", i)),
					Source:  sunlamp.Source{Type: sunlamp.SourceAPI}})
				if err != nil {
					b.Error(err)
					return
				}
				ids[i] = m.ID
			}
		}()
	}
	wg.Wait()
	return ids
}

// BenchmarkGetConversation compares GET /v2/apps/{appId}/conversations/{id} with app-key Basic
// auth to a bare net/http handler returning the same bytes, in the same run.
func BenchmarkGetConversation(b *testing.B) {
	asServed(b)
	for _, store := range apitest.Stores() {
		b.Run("sunlamp/"+store, func(b *testing.B) {
			e := apitest.NewEnv(b, store)
			appID, auth, convs := benchApp(b, e, 1)
			benchGET(b, e.URL+"/v2/apps/"+appID+"/conversations/"+convs[0], auth)
		})
	}
	b.Run("bare", func(b *testing.B) {
		e := apitest.NewEnv(b, "sqlite")
		appID, _, convs := benchApp(b, e, 1)
		body := e.Do(b, "GET", "/v2/apps/"+appID+"/conversations/"+convs[0], e.Account(), nil).Body
		bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			_, _ = w.Write(body)
		}))
		defer bare.Close()
		benchGET(b, bare.URL+"/v2/apps/"+appID+"/conversations/"+convs[0], "")
	})
}

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }

// asServed runs a benchmark with the garbage collector set as `sunlamp serve` sets it (api.GCPercent),
// for the server and, in this process, the clients.
func asServed(b *testing.B) {
	old := debug.SetGCPercent(api.GCPercent)
	b.Cleanup(func() { debug.SetGCPercent(old) })
}
