package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sunlamp/sunlamp"
	"github.com/sunlamp/sunlamp/internal/apitest"
	"github.com/sunlamp/sunlamp/sqlstore"
)

// retentionFixture is a store on a settable clock, without its background sweeper, and an app whose
// conversations are kept an hour after their last message.
type retentionFixture struct {
	st    *sqlstore.Store
	clock *apitest.Clock
	appID string
	dsn   string
}

func newRetentionFixture(tb testing.TB, name string) retentionFixture {
	tb.Helper()
	ctx := context.Background()
	f := retentionFixture{clock: apitest.NewClock(), dsn: apitest.NewDSN(tb, name)}
	st, err := sqlstore.Open(ctx, f.dsn, sqlstore.WithClock(f.clock), sqlstore.WithoutBackgroundRetention())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	f.st = st
	hour := int64(3600)
	app, err := st.CreateApp(ctx, sunlamp.App{AccountID: sunlamp.DefaultAccountID, DisplayName: "retention",
		Settings: sunlamp.AppSettings{ConversationRetentionSeconds: &hour}})
	if err != nil {
		tb.Fatal(err)
	}
	f.appID = app.ID
	return f
}

// conversations creates n group conversations of the app.
func (f retentionFixture) conversations(tb testing.TB, n int) []string {
	tb.Helper()
	var ids []string
	for i := 0; i < n; i++ {
		c, err := f.st.CreateConversation(context.Background(), sunlamp.Conversation{AppID: f.appID, Type: sunlamp.ConversationSDKGroup}, nil)
		if err != nil {
			tb.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	return ids
}

// post posts n messages spread over convs, from 32 goroutines (through the group commit).
func (f retentionFixture) post(tb testing.TB, convs []string, n int) {
	tb.Helper()
	next := make(chan int)
	var wg sync.WaitGroup
	var failed atomic.Pointer[error]
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if _, err := f.st.PostMessage(context.Background(), retentionMessage(f.appID, convs[i%len(convs)], i)); err != nil {
					failed.Store(&err)
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := failed.Load(); err != nil {
		tb.Fatal(*err)
	}
}

func retentionMessage(appID, convID string, i int) sunlamp.Message {
	return sunlamp.Message{AppID: appID, ConversationID: convID, Author: sunlamp.Author{Type: sunlamp.AuthorBusiness, DisplayName: "Bench"},
		Content: sunlamp.TextContent(fmt.Sprintf("message %d", i)), Source: sunlamp.Source{Type: sunlamp.SourceAPI}}
}

// TestRetentionSweepBatches: a conversation holding several batches of messages is emptied whole
// (message count 0, nothing listed) by one sweep, which reports every message; a conversation
// active within the period keeps its messages and its count.
func TestRetentionSweepBatches(t *testing.T) {
	for _, name := range apitest.Stores() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			f := newRetentionFixture(t, name)
			convs := f.conversations(t, 2)
			old, active := convs[0], convs[1]
			f.post(t, []string{old}, 1234) // two full batches of 500 and one of 234
			f.clock.Advance(59 * time.Minute)
			f.post(t, []string{active}, 3)
			f.clock.Advance(2 * time.Minute)
			got, err := f.st.SweepRetention(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].AppID != f.appID || got[0].MessagesRemoved != 1234 || got[0].ConversationsEmptied != 1 {
				t.Fatalf("got sweeps %+v, want one of app %s with 1234 messages removed and 1 conversation emptied", got, f.appID)
			}
			for conv, want := range map[string]int{old: 0, active: 3} {
				c, err := f.st.Conversation(ctx, f.appID, conv)
				if err != nil {
					t.Fatal(err)
				}
				msgs, _, err := f.st.Messages(ctx, f.appID, conv, sunlamp.Page{Size: 100})
				if err != nil {
					t.Fatal(err)
				}
				if c.MessageCount != want || len(msgs) != want {
					t.Errorf("conversation %s: got message count %d and %d listed, want %d", conv, c.MessageCount, len(msgs), want)
				}
			}
			// A second sweep finds nothing: the emptied conversation left the index.
			if got, err := f.st.SweepRetention(ctx); err != nil || len(got) != 0 {
				t.Errorf("second sweep: got %+v, %v, want nothing removed", got, err)
			}
		})
	}
}

// TestRetentionSweepUnderConcurrentPosts: messages posted into a conversation while the sweep
// removes its old ones all stay (the conversation is active again), and its message count matches
// the messages it holds, whichever step the posts came between.
func TestRetentionSweepUnderConcurrentPosts(t *testing.T) {
	for _, name := range apitest.Stores() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			f := newRetentionFixture(t, name)
			conv := f.conversations(t, 1)[0]
			f.post(t, []string{conv}, 3000)
			f.clock.Advance(2 * time.Hour)
			swept := make(chan error, 1)
			go func() {
				_, err := f.st.SweepRetention(ctx)
				swept <- err
			}()
			var posted []string
			for i := 0; i < 20; i++ {
				m, err := f.st.PostMessage(ctx, retentionMessage(f.appID, conv, 100000+i))
				if err != nil {
					t.Fatal(err)
				}
				posted = append(posted, m.ID)
				time.Sleep(2 * time.Millisecond)
			}
			if err := <-swept; err != nil {
				t.Fatal(err)
			}
			driver, dsn := "pgx", f.dsn
			if name == "sqlite" {
				driver, dsn = "sqlite", "file:"+strings.TrimPrefix(f.dsn, "sqlite:")+"?mode=ro"
			}
			db, err := sql.Open(driver, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			q := "SELECT COUNT(*) FROM messages WHERE conversation_id = ?"
			if name == "postgres" {
				q = strings.Replace(q, "?", "$1", 1)
			}
			var held int
			if err := db.QueryRowContext(ctx, q, conv).Scan(&held); err != nil {
				t.Fatal(err)
			}
			c, err := f.st.Conversation(ctx, f.appID, conv)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("the conversation holds %d messages after the sweep", held)
			if c.MessageCount != held {
				t.Errorf("got message count %d, want the %d messages the conversation holds", c.MessageCount, held)
			}
			if held < len(posted) || held > 3000+len(posted) {
				t.Errorf("the conversation holds %d messages, want between %d and %d", held, len(posted), 3000+len(posted))
			}
			// Ids are time-ordered: the posted messages are those from the first posted id on.
			q = "SELECT COUNT(*) FROM messages WHERE conversation_id = ? AND id >= ?"
			if name == "postgres" {
				q = "SELECT COUNT(*) FROM messages WHERE conversation_id = $1 AND id >= $2"
			}
			var kept int
			if err := db.QueryRowContext(ctx, q, conv, posted[0]).Scan(&kept); err != nil {
				t.Fatal(err)
			}
			if kept != len(posted) {
				t.Errorf("%d of the %d messages posted during the sweep are left, want all", kept, len(posted))
			}
		})
	}
}

// TestRetentionSweepUsesIndex: the sweep finds its conversations through conversations_expiring on
// both databases, not by reading the app's conversations.
func TestRetentionSweepUsesIndex(t *testing.T) {
	for _, name := range apitest.Stores() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			f := newRetentionFixture(t, name)
			convs := f.conversations(t, 300)
			f.post(t, convs[:100], 100)
			f.clock.Advance(2 * time.Hour)
			f.post(t, convs[100:200], 100) // active; the last 100 hold no message
			cutoff := f.clock.Now().Add(-time.Hour).UnixMilli()

			var plan []string
			if name == "sqlite" {
				db, err := sql.Open("sqlite", "file:"+strings.TrimPrefix(f.dsn, "sqlite:")+"?mode=ro")
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				rows, err := db.QueryContext(ctx, "EXPLAIN QUERY PLAN "+sqlstore.RetentionPickQuery, f.appID, cutoff/3600000, cutoff)
				if err != nil {
					t.Fatal(err)
				}
				defer rows.Close()
				for rows.Next() {
					var id, parent, unused int
					var detail string
					if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
						t.Fatal(err)
					}
					plan = append(plan, detail)
				}
			} else {
				db, err := sql.Open("pgx", f.dsn)
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				if _, err := db.ExecContext(ctx, "ANALYZE conversations"); err != nil {
					t.Fatal(err)
				}
				q := sqlstore.RetentionPickQuery
				for i := 1; strings.Contains(q, "?"); i++ {
					q = strings.Replace(q, "?", fmt.Sprintf("$%d", i), 1)
				}
				rows, err := db.QueryContext(ctx, "EXPLAIN "+q, f.appID, cutoff/3600000, cutoff)
				if err != nil {
					t.Fatal(err)
				}
				defer rows.Close()
				for rows.Next() {
					var line string
					if err := rows.Scan(&line); err != nil {
						t.Fatal(err)
					}
					plan = append(plan, line)
				}
			}
			t.Logf("plan:\n%s", strings.Join(plan, "\n"))
			if !strings.Contains(strings.Join(plan, "\n"), "conversations_expiring") {
				t.Errorf("the sweep's query does not use conversations_expiring; plan:\n%s", strings.Join(plan, "\n"))
			}
		})
	}
}

// BenchmarkRetentionSweep sweeps 100,000 expired messages (200 conversations of 500) while 4
// goroutines keep posting messages to conversations of their own, and reports how long the sweep
// took (sweep-ms, and messages removed a second), and the median, 99th percentile and worst
// latency of the concurrent posts: the sweep's batches must not hold the write lock long enough
// to stall them. The concurrent posts' latency without a sweep is measured first (base-*).
//
//	SUNLAMP_TEST_POSTGRES_URL=... go test ./sqlstore -run '^$' -bench RetentionSweep -benchtime 1x
func BenchmarkRetentionSweep(b *testing.B) {
	const expired = 100_000
	for _, name := range apitest.Stores() {
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			var sweepTime time.Duration
			var base, during []time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				f := newRetentionFixture(b, name)
				f.post(b, f.conversations(b, expired/500), expired)
				f.clock.Advance(2 * time.Hour)
				writers := f.conversations(b, 4)
				write := func(stop <-chan struct{}, into *[]time.Duration) {
					var mu sync.Mutex
					var wg sync.WaitGroup
					for _, conv := range writers {
						wg.Add(1)
						go func() {
							defer wg.Done()
							for j := 0; ; j++ {
								select {
								case <-stop:
									return
								default:
								}
								start := time.Now()
								if _, err := f.st.PostMessage(ctx, retentionMessage(f.appID, conv, j)); err != nil {
									b.Error(err)
									return
								}
								d := time.Since(start)
								mu.Lock()
								*into = append(*into, d)
								mu.Unlock()
							}
						}()
					}
					wg.Wait()
				}
				// The writers alone for a second: their latency without a sweep.
				stop := make(chan struct{})
				done := make(chan struct{})
				go func() { write(stop, &base); close(done) }()
				time.Sleep(time.Second)
				close(stop)
				<-done

				stop, done = make(chan struct{}), make(chan struct{})
				go func() { write(stop, &during); close(done) }()
				b.StartTimer()
				start := time.Now()
				got, err := f.st.SweepRetention(ctx)
				sweepTime += time.Since(start)
				b.StopTimer()
				close(stop)
				<-done
				if err != nil {
					b.Fatal(err)
				}
				if len(got) != 1 || got[0].MessagesRemoved != expired {
					b.Fatalf("got sweeps %+v, want %d messages removed", got, expired)
				}
			}
			ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
			b.ReportMetric(ms(sweepTime/time.Duration(b.N)), "sweep-ms")
			b.ReportMetric(float64(expired*b.N)/sweepTime.Seconds(), "removed/s")
			for _, l := range []struct {
				name string
				d    []time.Duration
			}{{"base", base}, {"write", during}} {
				if len(l.d) == 0 {
					continue
				}
				sort.Slice(l.d, func(i, j int) bool { return l.d[i] < l.d[j] })
				b.ReportMetric(ms(l.d[len(l.d)/2]), l.name+"-p50-ms")
				b.ReportMetric(ms(l.d[len(l.d)*99/100]), l.name+"-p99-ms")
				b.ReportMetric(ms(l.d[len(l.d)-1]), l.name+"-max-ms")
			}
		})
	}
}
