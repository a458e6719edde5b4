package sqlstore_test

import (
	"context"
	"testing"

	"github.com/sunlamp/sunlamp"
	"github.com/sunlamp/sunlamp/internal/apitest"
	"github.com/sunlamp/sunlamp/sqlstore"
)

// TestPostMessageFailedCommit: when the batch's transaction cannot run, every caller of the batch
// gets an error, never a message that was not stored.
func TestPostMessageFailedCommit(t *testing.T) {
	for _, name := range apitest.Stores() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st, err := sqlstore.Open(ctx, apitest.NewDSN(t, name))
			if err != nil {
				t.Fatal(err)
			}
			app, err := st.CreateApp(ctx, sunlamp.App{AccountID: sunlamp.DefaultAccountID, DisplayName: "x"})
			if err != nil {
				t.Fatal(err)
			}
			c, err := st.CreateConversation(ctx, sunlamp.Conversation{AppID: app.ID, Type: sunlamp.ConversationSDKGroup}, nil)
			if err != nil {
				t.Fatal(err)
			}
			m := sunlamp.Message{AppID: app.ID, ConversationID: c.ID, Author: sunlamp.Author{Type: sunlamp.AuthorBusiness},
				Content: sunlamp.TextContent("hi"), Source: sunlamp.Source{Type: sunlamp.SourceAPI}}
			if _, err := st.PostMessage(ctx, m); err != nil {
				t.Fatalf("post before close: %v", err)
			}
			st.Close()
			got, err := st.PostMessage(ctx, m)
			if err == nil || got.ID != "" {
				t.Fatalf("got message %q and error %v from a closed store, want an error and no message", got.ID, err)
			}
		})
	}
}
