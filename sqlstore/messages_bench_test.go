package sqlstore_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/sunlamp/sunlamp"
	"github.com/sunlamp/sunlamp/internal/apitest"
	"github.com/sunlamp/sunlamp/sqlstore"
)

// BenchmarkStorePostMessage measures the store alone (no HTTP): 32 goroutines post durable
// messages, each to its own conversation, through the group commit.
//
//	SUNLAMP_TEST_POSTGRES_URL=... go test ./sqlstore -run '^$' -bench StorePostMessage -benchtime 2s
func BenchmarkStorePostMessage(b *testing.B) {
	for _, name := range apitest.Stores() {
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			st, err := sqlstore.Open(ctx, apitest.NewDSN(b, name))
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			app, err := st.CreateApp(ctx, sunlamp.App{AccountID: sunlamp.DefaultAccountID, DisplayName: "Bench"})
			if err != nil {
				b.Fatal(err)
			}
			var convs []string
			for i := 0; i < 32; i++ { // personal conversations with their user, as most are
				u, err := st.CreateUser(ctx, sunlamp.User{ID: sunlamp.NewID(), AppID: app.ID})
				if err != nil {
					b.Fatal(err)
				}
				c, err := st.CreateConversation(ctx, sunlamp.Conversation{AppID: app.ID, Type: sunlamp.ConversationPersonal}, []sunlamp.ParticipantRef{{UserID: u.ID}})
				if err != nil {
					b.Fatal(err)
				}
				convs = append(convs, c.ID)
			}
			var next atomic.Int64
			b.SetParallelism(16) // 32 goroutines on 2 cores
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				conv := convs[int(next.Add(1)-1)%len(convs)]
				for pb.Next() {
					_, err := st.PostMessage(ctx, sunlamp.Message{AppID: app.ID, ConversationID: conv,
						Author:  sunlamp.Author{Type: sunlamp.AuthorBusiness, DisplayName: "Bench"},
						Content: sunlamp.TextContent("Hello from the benchmark"), Source: sunlamp.Source{Type: sunlamp.SourceAPI}})
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
		})
	}
}
