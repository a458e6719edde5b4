package sqlstore_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/sunlamp/sunlamp"
	"github.com/sunlamp/sunlamp/internal/apitest"
	"github.com/sunlamp/sunlamp/sqlstore"
)

// TestBatchRefusesMessagesOnTheirOwn: concurrent posts share batches (pipelined on PostgreSQL);
// a message to an unknown conversation or to another app's conversation fails alone with
// conversation_not_found, and every other message of its batch is stored and counted.
func TestBatchRefusesMessagesOnTheirOwn(t *testing.T) {
	for _, name := range apitest.Stores() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st, err := sqlstore.Open(ctx, apitest.NewDSN(t, name))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			app, err := st.CreateApp(ctx, sunlamp.App{AccountID: sunlamp.DefaultAccountID, DisplayName: "a"})
			if err != nil {
				t.Fatal(err)
			}
			other, err := st.CreateApp(ctx, sunlamp.App{AccountID: sunlamp.DefaultAccountID, DisplayName: "b"})
			if err != nil {
				t.Fatal(err)
			}
			conv, err := st.CreateConversation(ctx, sunlamp.Conversation{AppID: app.ID, Type: sunlamp.ConversationSDKGroup}, nil)
			if err != nil {
				t.Fatal(err)
			}
			foreign, err := st.CreateConversation(ctx, sunlamp.Conversation{AppID: other.ID, Type: sunlamp.ConversationSDKGroup}, nil)
			if err != nil {
				t.Fatal(err)
			}
			targets := []string{conv.ID, sunlamp.NewID(), foreign.ID}
			var wg sync.WaitGroup
			errs := make([]error, 32*5)
			for w := 0; w < 32; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < 5; i++ {
						k := w*5 + i
						_, errs[k] = st.PostMessage(ctx, sunlamp.Message{AppID: app.ID, ConversationID: targets[k%3],
							Author:  sunlamp.Author{Type: sunlamp.AuthorBusiness, DisplayName: "x"},
							Content: sunlamp.TextContent("hi"), Source: sunlamp.Source{Type: sunlamp.SourceAPI}})
					}
				}()
			}
			wg.Wait()
			stored := 0
			for k, err := range errs {
				switch {
				case k%3 == 0 && err == nil:
					stored++
				case k%3 != 0 && errors.Is(err, sunlamp.ErrConversationNotFound):
				default:
					t.Errorf("post %d to target %d: got error %v", k, k%3, err)
				}
			}
			got, err := st.Conversation(ctx, app.ID, conv.ID)
			if err != nil {
				t.Fatal(err)
			}
			if want := 54; stored != want || got.MessageCount != want {
				t.Errorf("got %d stored and a count of %d, want %d", stored, got.MessageCount, want)
			}
			if f, err := st.Conversation(ctx, other.ID, foreign.ID); err != nil || f.MessageCount != 0 {
				t.Errorf("got %d messages in the other app's conversation (error %v), want 0", f.MessageCount, err)
			}
		})
	}
}
