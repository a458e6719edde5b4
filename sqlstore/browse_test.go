package sqlstore_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sunlamp/sunlamp"
	"github.com/sunlamp/sunlamp/internal/apitest"
	"github.com/sunlamp/sunlamp/sqlstore"
)

// MustSeedConversations gives app n users who each wrote one message on WhatsApp (n personal
// conversations), through the simulator's store call, concurrently so that commits overlap.
func MustSeedConversations(tb testing.TB, st *sqlstore.Store, app string, n int) {
	tb.Helper()
	var wg sync.WaitGroup
	var next atomic.Int64
	var failed atomic.Value
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				text := sunlamp.TextContent(fmt.Sprintf("Hello, this is customer %d asking about an order", i))
				_, err := st.Inbound(context.Background(), sunlamp.Inbound{AppID: app, Channel: "whatsapp",
					Client:  sunlamp.Client{ExternalID: fmt.Sprintf("+1514555%05d", i)},
					Profile: sunlamp.Profile{GivenName: fmt.Sprintf("Customer%d", i), Surname: "Test", Email: fmt.Sprintf("c%d@example.org", i)},
					Content: &text})
				if err != nil {
					failed.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, ok := failed.Load().(error); ok {
		tb.Fatalf("seed conversations: %v", err)
	}
}

// BenchmarkBrowseConversations measures the console's conversation list on an app of 10,000
// conversations: the first page (25, most recently active first, with participants and last
// messages), a page deep in the list, and a search by name (no index: a scan of the app's
// conversations and their participants). The console's budget for a page is 300 ms.
func BenchmarkBrowseConversations(b *testing.B) {
	for _, name := range apitest.Stores() {
		b.Run(name, func(b *testing.B) {
			st, err := sqlstore.Open(context.Background(), apitest.NewDSN(b, name))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { st.Close() })
			ctx := context.Background()
			app, err := st.CreateApp(ctx, sunlamp.App{AccountID: sunlamp.DefaultAccountID, DisplayName: "bench"})
			if err != nil {
				b.Fatal(err)
			}
			MustSeedConversations(b, st, app.ID, 10_000)
			_, cur, err := st.BrowseConversations(ctx, app.ID, sunlamp.ConversationFilter{}, sunlamp.Page{Size: 100})
			if err != nil {
				b.Fatal(err)
			}
			for range 40 { // 4,000 conversations down
				_, cur, err = st.BrowseConversations(ctx, app.ID, sunlamp.ConversationFilter{}, sunlamp.Page{Size: 100, After: cur.After})
				if err != nil {
					b.Fatal(err)
				}
			}
			deep := cur.After
			for _, c := range []struct {
				name string
				f    sunlamp.ConversationFilter
				p    sunlamp.Page
				want int
			}{
				{"first-page", sunlamp.ConversationFilter{}, sunlamp.Page{Size: 25}, 25},
				{"deep-page", sunlamp.ConversationFilter{}, sunlamp.Page{Size: 25, After: deep}, 25},
				{"search-name", sunlamp.ConversationFilter{Query: "customer4242 "}, sunlamp.Page{Size: 25}, 1},
				{"search-email", sunlamp.ConversationFilter{Query: "c977@example"}, sunlamp.Page{Size: 25}, 1},
			} {
				b.Run(c.name, func(b *testing.B) {
					for b.Loop() {
						list, _, err := st.BrowseConversations(ctx, app.ID, c.f, c.p)
						if err != nil || len(list) != c.want {
							b.Fatalf("got %d conversations, %v; want %d", len(list), err, c.want)
						}
					}
				})
			}
		})
	}
}
