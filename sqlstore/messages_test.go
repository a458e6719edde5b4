package sqlstore_test

import (
	"context"
	"strings"
	"sync"
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

// TestMessagesAppearInIDOrder: while concurrent batches commit into one conversation, a reader
// never sees a message before one with a smaller id of the same conversation (so paging with
// page[after] skips nothing).
func TestMessagesAppearInIDOrder(t *testing.T) {
	for _, name := range apitest.Stores() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st, err := sqlstore.Open(ctx, apitest.NewDSN(t, name))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			app, _ := st.CreateApp(ctx, sunlamp.App{AccountID: sunlamp.DefaultAccountID, DisplayName: "x"})
			var convs []string
			for i := 0; i < 4; i++ {
				c, err := st.CreateConversation(ctx, sunlamp.Conversation{AppID: app.ID, Type: sunlamp.ConversationSDKGroup}, nil)
				if err != nil {
					t.Fatal(err)
				}
				convs = append(convs, c.ID)
			}
			done := make(chan struct{})
			var snapshots [][]string
			go func() { // the reader
				defer close(done)
				for len(snapshots) < 400 {
					list, _, err := st.Messages(ctx, app.ID, convs[0], sunlamp.Page{})
					if err != nil {
						t.Error(err)
						return
					}
					var ids []string
					for _, m := range list {
						ids = append(ids, m.ID)
					}
					snapshots = append(snapshots, ids)
				}
			}()
			var wg sync.WaitGroup
			for w := 0; w < 24; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < 40; i++ {
						// Batches mix conversations, so they lock different sets.
						m := sunlamp.Message{AppID: app.ID, ConversationID: convs[(w+i)%len(convs)], Author: sunlamp.Author{Type: sunlamp.AuthorBusiness},
							Content: sunlamp.TextContent("x"), Source: sunlamp.Source{Type: sunlamp.SourceAPI}}
						if _, err := st.PostMessage(ctx, m); err != nil {
							t.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			<-done
			all, _, err := st.Messages(ctx, app.ID, convs[0], sunlamp.Page{Size: 100})
			if err != nil {
				t.Fatal(err)
			}
			var final []string
			for before := ""; ; {
				for i := len(all) - 1; i >= 0; i-- {
					final = append(final, all[i].ID)
				}
				if len(all) < 100 {
					break
				}
				before = all[0].ID
				if all, _, err = st.Messages(ctx, app.ID, convs[0], sunlamp.Page{Before: before, Size: 100}); err != nil {
					t.Fatal(err)
				}
			}
			for n, snap := range snapshots {
				if len(snap) == 0 {
					continue
				}
				seen := map[string]bool{}
				for _, id := range snap {
					seen[id] = true
				}
				for _, id := range final {
					if id > snap[0] && id < snap[len(snap)-1] && !seen[id] {
						t.Fatalf("snapshot %d shows messages up to %s but not %s, committed later with a smaller id", n, snap[len(snap)-1], id)
					}
				}
			}
		})
	}
}

// TestMessageEventsOnlyForSubscribers: a message's conversation:message event is written to the
// outbox only when something will read it (a webhook subscribed to that trigger, or a switchboard
// of the app), decided per conversation even inside one batch, and then with its delivery.
func TestMessageEventsOnlyForSubscribers(t *testing.T) {
	for _, name := range apitest.Stores() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st, db := openStore(t, name)
			q := func(query string) string {
				if name == "postgres" {
					return strings.ReplaceAll(query, "?", "$1")
				}
				return query
			}
			count := func(query, arg string) int {
				t.Helper()
				var n int
				if err := db.QueryRow(q(query), arg).Scan(&n); err != nil {
					t.Fatal(err)
				}
				return n
			}
			quiet, hooked, boarded := mustApp(t, st), mustApp(t, st), mustApp(t, st)
			mustWebhook(t, st, quiet, "conversation:read") // a webhook, but not for messages
			mustWebhook(t, st, hooked, "conversation:read", "conversation:message")
			if _, err := st.CreateSwitchboard(ctx, boarded); err != nil {
				t.Fatal(err)
			}
			convs := map[string]string{}
			for _, appID := range []string{quiet, hooked, boarded} {
				c, err := st.CreateConversation(ctx, sunlamp.Conversation{AppID: appID, Type: sunlamp.ConversationSDKGroup}, nil)
				if err != nil {
					t.Fatal(err)
				}
				convs[appID] = c.ID
			}
			var fns []func() error
			for i := 0; i < 10; i++ { // concurrently, so that batches mix the three apps
				for appID, convID := range convs {
					fns = append(fns, func() error {
						_, err := st.PostMessage(ctx, sunlamp.Message{AppID: appID, ConversationID: convID, Author: sunlamp.Author{Type: sunlamp.AuthorBusiness},
							Content: sunlamp.TextContent("hi"), Source: sunlamp.Source{Type: sunlamp.SourceAPI}})
						return err
					})
				}
			}
			for i, err := range together(fns...) {
				if err != nil {
					t.Fatalf("post %d: %v", i, err)
				}
			}
			events := "SELECT COUNT(*) FROM events WHERE type = 'conversation:message' AND conversation_id = ?"
			for appID, want := range map[string]int{quiet: 0, hooked: 10, boarded: 10} {
				if got := count(events, convs[appID]); got != want {
					t.Errorf("app %s: got %d conversation:message events, want %d", appID, got, want)
				}
			}
			if got := count("SELECT COUNT(*) FROM deliveries WHERE app_id = ?", hooked); got != 10 {
				t.Errorf("got %d deliveries for the subscribed webhook, want 10", got)
			}
			// Subscribing later serves the messages that follow.
			mustWebhook(t, st, quiet, "conversation:message")
			if _, err := st.PostMessage(ctx, sunlamp.Message{AppID: quiet, ConversationID: convs[quiet], Author: sunlamp.Author{Type: sunlamp.AuthorBusiness},
				Content: sunlamp.TextContent("now heard"), Source: sunlamp.Source{Type: sunlamp.SourceAPI}}); err != nil {
				t.Fatal(err)
			}
			if got := count(events, convs[quiet]); got != 1 {
				t.Errorf("got %d conversation:message events after subscribing, want 1", got)
			}
			// Its snapshot of the message is whole, though the caller skipped it (the app had
			// needed no events).
			if got := eventsContaining(t, db, name, `"text":"now heard"`); got != 1 {
				t.Errorf("got %d events with the message's text after subscribing, want 1", got)
			}
		})
	}
}

// TestDeleteAppLeavesNothing: deleting an app removes every row of it, messages included (on
// PostgreSQL through their conversations, since messages have no foreign key to apps), and nothing
// of another app.
func TestDeleteAppLeavesNothing(t *testing.T) {
	for _, name := range apitest.Stores() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st, db := openStore(t, name)
			gone, kept := mustApp(t, st), mustApp(t, st)
			for _, appID := range []string{gone, kept} {
				u := mustUser(t, st, appID, "u")
				c, err := st.CreateConversation(ctx, sunlamp.Conversation{AppID: appID, Type: sunlamp.ConversationPersonal}, []sunlamp.ParticipantRef{{UserID: u.ID}})
				if err != nil {
					t.Fatal(err)
				}
				mustWebhook(t, st, appID, "conversation:message")
				for i := 0; i < 3; i++ {
					if _, err := st.PostMessage(ctx, sunlamp.Message{AppID: appID, ConversationID: c.ID, Author: sunlamp.Author{Type: sunlamp.AuthorUser, UserID: u.ID},
						Content: sunlamp.TextContent("hi"), Source: sunlamp.Source{Type: sunlamp.SourceAPI}}); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := st.DeleteApp(ctx, gone); err != nil {
				t.Fatal(err)
			}
			for _, table := range []string{"users", "conversations", "participants", "messages", "events", "deliveries", "integrations", "webhooks", "api_keys"} {
				q := "SELECT COUNT(*) FROM " + table + " WHERE app_id = ?"
				if name == "postgres" {
					q = strings.Replace(q, "?", "$1", 1)
				}
				for appID, wantSome := range map[string]bool{gone: false, kept: true} {
					var n int
					if err := db.QueryRow(q, appID).Scan(&n); err != nil {
						t.Fatal(err)
					}
					if wantSome && n == 0 && table != "api_keys" {
						t.Errorf("%s: the other app has no rows left, want them kept", table)
					}
					if !wantSome && n != 0 {
						t.Errorf("%s: %d rows of the deleted app left, want none", table, n)
					}
				}
			}
		})
	}
}

// TestOnOutbox: the store reports each commit that wrote outbox events, after the commit (the
// deliveries are visible to another connection when it does), and stays silent for writes that
// wrote none, such as messages of an app that nothing subscribes to.
func TestOnOutbox(t *testing.T) {
	for _, name := range apitest.Stores() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st, db := openStore(t, name)
			q := "SELECT COUNT(*) FROM deliveries"
			var mu sync.Mutex
			var calls, seen []int // deliveries visible at each call
			st.OnOutbox(func() {
				var n int
				if err := db.QueryRow(q).Scan(&n); err != nil {
					t.Error(err)
				}
				mu.Lock()
				calls = append(calls, 1)
				seen = append(seen, n)
				mu.Unlock()
			})
			reset := func() {
				mu.Lock()
				calls, seen = nil, nil
				mu.Unlock()
			}
			quiet, hooked := mustApp(t, st), mustApp(t, st)
			c := map[string]string{}
			for _, appID := range []string{quiet, hooked} {
				conv, err := st.CreateConversation(ctx, sunlamp.Conversation{AppID: appID, Type: sunlamp.ConversationSDKGroup}, nil)
				if err != nil {
					t.Fatal(err)
				}
				c[appID] = conv.ID
			}
			post := func(appID string) {
				t.Helper()
				if _, err := st.PostMessage(ctx, sunlamp.Message{AppID: appID, ConversationID: c[appID], Author: sunlamp.Author{Type: sunlamp.AuthorBusiness},
					Content: sunlamp.TextContent("hi"), Source: sunlamp.Source{Type: sunlamp.SourceAPI}}); err != nil {
					t.Fatal(err)
				}
			}
			mustWebhook(t, st, hooked, "conversation:message", "conversation:create")
			reset()
			post(quiet)
			mu.Lock()
			if len(calls) != 0 {
				t.Errorf("got %d outbox calls for a message nothing subscribes to, want none", len(calls))
			}
			mu.Unlock()
			post(hooked)
			mu.Lock()
			if len(calls) != 1 || seen[0] != 1 {
				t.Errorf("got calls %v seeing %v deliveries for a subscribed message, want one call seeing 1", calls, seen)
			}
			mu.Unlock()
			// Removing events reports too: what was queued behind them may be due now.
			m, err := st.PostMessage(ctx, sunlamp.Message{AppID: hooked, ConversationID: c[hooked], Author: sunlamp.Author{Type: sunlamp.AuthorBusiness},
				Content: sunlamp.TextContent("to delete"), Source: sunlamp.Source{Type: sunlamp.SourceAPI}})
			if err != nil {
				t.Fatal(err)
			}
			reset()
			if err := st.DeleteMessage(ctx, hooked, c[hooked], m.ID); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			if len(calls) != 1 || seen[0] != 1 {
				t.Errorf("got calls %v seeing %v deliveries after deleting a message, want one call seeing 1", calls, seen)
			}
			mu.Unlock()
			reset()
			if _, err := st.CreateConversation(ctx, sunlamp.Conversation{AppID: hooked, Type: sunlamp.ConversationSDKGroup}, nil); err != nil { // conversation:create
				t.Fatal(err)
			}
			mu.Lock()
			if len(calls) != 1 || seen[0] != 2 {
				t.Errorf("got calls %v seeing %v deliveries after conversation:create, want one call seeing 2", calls, seen)
			}
			mu.Unlock()
		})
	}
}
