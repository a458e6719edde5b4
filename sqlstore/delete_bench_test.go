package sqlstore_test

import (
	"context"
	"testing"

	"github.com/sunlamp/sunlamp"
	"github.com/sunlamp/sunlamp/internal/apitest"
	"github.com/sunlamp/sunlamp/sqlstore"
)

// BenchmarkDeleteMessage measures DeleteMessage in a conversation whose 2,000 messages all still
// have their conversation:message event in the outbox: the event is found through the message's
// millisecond (events_by_created_at), so the cost should not grow with the conversation.
func BenchmarkDeleteMessage(b *testing.B) {
	for _, name := range apitest.Stores() {
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			st, err := sqlstore.Open(ctx, apitest.NewDSN(b, name))
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			app, err := st.CreateApp(ctx, sunlamp.App{AccountID: sunlamp.DefaultAccountID, DisplayName: "x"})
			if err != nil {
				b.Fatal(err)
			}
			c, err := st.CreateConversation(ctx, sunlamp.Conversation{AppID: app.ID, Type: sunlamp.ConversationSDKGroup}, nil)
			if err != nil {
				b.Fatal(err)
			}
			n := 2000 + b.N
			ids := make([]string, 0, n)
			for i := 0; i < n; i++ {
				m, err := st.PostMessage(ctx, sunlamp.Message{AppID: app.ID, ConversationID: c.ID, Author: sunlamp.Author{Type: sunlamp.AuthorBusiness},
					Content: sunlamp.TextContent("x"), Source: sunlamp.Source{Type: sunlamp.SourceAPI}})
				if err != nil {
					b.Fatal(err)
				}
				ids = append(ids, m.ID)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := st.DeleteMessage(ctx, app.ID, c.ID, ids[i*(n/b.N)]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
