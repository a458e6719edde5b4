package api_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/sunlamp/sunlamp"
	"github.com/sunlamp/sunlamp/internal/apitest"
	"github.com/sunlamp/sunlamp/sqlstore"
)

// BenchmarkDeleteUserPersonalInformation measures the erasure of a user with 0, 1,000 and 30,000
// messages (each with its conversation:message event in the outbox) on every store, at the store
// (the HTTP layer adds the same constant to each). Before each call the profile and the clients'
// channel data are filled again, outside the timer. It reports the median as p50-ms.
//
//	go test ./api -run '^$' -bench DeleteUserPersonalInformation -benchtime 200x
func BenchmarkDeleteUserPersonalInformation(b *testing.B) {
	for _, name := range apitest.Stores() {
		for _, n := range []int{0, 1000, 30000} {
			b.Run(fmt.Sprintf("%s/messages=%d", name, n), func(b *testing.B) {
				ctx := context.Background()
				st, err := sqlstore.Open(ctx, apitest.NewDSN(b, name))
				if err != nil {
					b.Fatal(err)
				}
				defer st.Close()
				app, err := st.CreateApp(ctx, sunlamp.App{AccountID: sunlamp.DefaultAccountID, DisplayName: "bench"})
				if err != nil {
					b.Fatal(err)
				}
				u, err := st.CreateUser(ctx, sunlamp.User{AppID: app.ID, ExternalID: "bench-user"})
				if err != nil {
					b.Fatal(err)
				}
				client := sunlamp.Client{ExternalID: "+15145550199", DisplayName: "Jane D.", AvatarURL: "https://example.org/a.png",
					Info: map[string]any{"city": "Montreal"}, Raw: map[string]any{"From": "+15145550199"}}
				seedMessages(b, st, app.ID, u.ID, client, n)
				given, surname, email := "Jane", "Doe", "jane@example.org"
				refill := func() {
					if _, err := st.UpdateUser(ctx, app.ID, u.ID, sunlamp.UserUpdate{
						Profile:  &sunlamp.ProfileUpdate{GivenName: &given, Surname: &surname, Email: &email},
						Metadata: &sunlamp.Metadata{"plan": "gold"},
					}); err != nil {
						b.Fatal(err)
					}
					if _, err := st.Inbound(ctx, sunlamp.Inbound{AppID: app.ID, Channel: "whatsapp", UserID: u.ID, Client: client}); err != nil {
						b.Fatal(err)
					}
				}
				times := make([]time.Duration, 0, b.N)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					refill()
					b.StartTimer()
					start := time.Now()
					if _, err := st.DeleteUserPersonalInformation(ctx, app.ID, "bench-user"); err != nil {
						b.Fatal(err)
					}
					times = append(times, time.Since(start))
				}
				b.StopTimer()
				sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
				b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "p50-ms")
			})
		}
	}
}

// seedMessages gives the user a WhatsApp client and n messages in its default conversation: the
// first through the inbound simulator, the others through PostMessage from 32 goroutines, so that
// the group commit writes them in large batches.
func seedMessages(tb testing.TB, st *sqlstore.Store, appID, userID string, client sunlamp.Client, n int) {
	tb.Helper()
	ctx := context.Background()
	in := sunlamp.Inbound{AppID: appID, Channel: "whatsapp", UserID: userID, Client: client}
	if n > 0 {
		in.Content = ptr(sunlamp.TextContent("first"))
	}
	res, err := st.Inbound(ctx, in)
	if err != nil {
		tb.Fatal(err)
	}
	if n <= 1 {
		return
	}
	next := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				_, err := st.PostMessage(ctx, sunlamp.Message{AppID: appID, ConversationID: res.Conversation.ID,
					Author:  sunlamp.Author{Type: sunlamp.AuthorUser, UserID: userID, DisplayName: "Jane Doe"},
					Content: sunlamp.TextContent(fmt.Sprintf("message %d", i)), Source: sunlamp.Source{Type: "whatsapp"}})
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
				}
			}
		}()
	}
	for i := 1; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		tb.Fatal(firstErr)
	}
}

// BenchmarkDeleteUser deletes a user with 30,000 messages and, while its history is removed in the
// background, keeps writing (CreateUser) from another goroutine. It reports how long DeleteUser took
// to answer (delete-ms), how long the background removal took (purge-ms), and the median and worst
// latency of the concurrent writes (write-p50-ms, write-max-ms): the removal's batches must not hold
// the write lock long enough to stall them.
//
//	go test ./api -run '^$' -bench 'DeleteUser$' -benchtime 1x
func BenchmarkDeleteUser(b *testing.B) {
	for _, name := range apitest.Stores() {
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			st, err := sqlstore.Open(ctx, apitest.NewDSN(b, name))
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			app, err := st.CreateApp(ctx, sunlamp.App{AccountID: sunlamp.DefaultAccountID, DisplayName: "bench"})
			if err != nil {
				b.Fatal(err)
			}
			var deleteTime, purgeTime time.Duration
			var writes []time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				u, err := st.CreateUser(ctx, sunlamp.User{AppID: app.ID, ExternalID: fmt.Sprintf("big-%d", i)})
				if err != nil {
					b.Fatal(err)
				}
				seedMessages(b, st, app.ID, u.ID, sunlamp.Client{ExternalID: fmt.Sprintf("+1514555%04d", i)}, 30000)
				b.StartTimer()
				stop := make(chan struct{})
				done := make(chan struct{})
				go func() {
					defer close(done)
					for j := 0; ; j++ {
						select {
						case <-stop:
							return
						default:
						}
						start := time.Now()
						if _, err := st.CreateUser(ctx, sunlamp.User{AppID: app.ID}); err != nil {
							b.Error(err)
							return
						}
						writes = append(writes, time.Since(start))
					}
				}()
				start := time.Now()
				if err := st.DeleteUser(ctx, app.ID, u.ID); err != nil {
					b.Fatal(err)
				}
				deleteTime += time.Since(start)
				if err := st.PurgeDeletedUsers(ctx); err != nil { // waits for the background removal
					b.Fatal(err)
				}
				purgeTime += time.Since(start)
				close(stop)
				<-done
			}
			b.StopTimer()
			sort.Slice(writes, func(i, j int) bool { return writes[i] < writes[j] })
			ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
			b.ReportMetric(ms(deleteTime/time.Duration(b.N)), "delete-ms")
			b.ReportMetric(ms(purgeTime/time.Duration(b.N)), "purge-ms")
			if len(writes) > 0 {
				b.ReportMetric(ms(writes[len(writes)/2]), "write-p50-ms")
				b.ReportMetric(ms(writes[len(writes)-1]), "write-max-ms")
			}
		})
	}
}
