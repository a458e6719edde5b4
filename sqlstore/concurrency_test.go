package sqlstore_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sunlamp/sunlamp"
	"github.com/sunlamp/sunlamp/internal/apitest"
	"github.com/sunlamp/sunlamp/sqlstore"
)

// The races below are PostgreSQL's (READ COMMITTED, several writers at once); on SQLite, which has
// one writer, the same rounds check that the behaviour does not depend on the database.

// raceRounds bounds a race test: it stops after rounds rounds or after limit, whichever comes first.
const (
	raceRounds = 60
	raceLimit  = 20 * time.Second
)

// racing yields the rounds of a race test: rounds of them, or as many as start within raceLimit.
func racing(rounds int) iter.Seq[int] {
	deadline := time.Now().Add(raceLimit)
	return func(yield func(int) bool) {
		for round := 0; round < rounds && time.Now().Before(deadline); round++ {
			if !yield(round) {
				return
			}
		}
	}
}

// openStore opens a fresh store of the named kind with its raw database beside it.
func openStore(t *testing.T, name string, opts ...sqlstore.Option) (*sqlstore.Store, *sql.DB) {
	t.Helper()
	dsn := apitest.NewDSN(t, name)
	st, err := sqlstore.Open(context.Background(), dsn, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var db *sql.DB
	if name == "sqlite" {
		db, err = sql.Open("sqlite", "file:"+strings.TrimPrefix(dsn, "sqlite:")+"?_query_only=1")
	} else {
		db, err = sql.Open("pgx", dsn)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return st, db
}

func mustApp(t *testing.T, st *sqlstore.Store) string {
	t.Helper()
	app, err := st.CreateApp(context.Background(), sunlamp.App{AccountID: sunlamp.DefaultAccountID, DisplayName: "x"})
	if err != nil {
		t.Fatal(err)
	}
	return app.ID
}

// mustWebhook gives appID a custom integration with one webhook subscribed to triggers.
func mustWebhook(t *testing.T, st *sqlstore.Store, appID string, triggers ...string) {
	t.Helper()
	ctx := context.Background()
	integ, err := st.CreateIntegration(ctx, sunlamp.Integration{ID: sunlamp.NewID(), AppID: appID, Type: "custom", Status: "active"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateWebhook(ctx, sunlamp.Webhook{ID: sunlamp.NewID(), AppID: appID, IntegrationID: integ.ID, Version: sunlamp.WebhookVersion,
		Target: "https://example.org/hook", Triggers: triggers, Secret: "s"}); err != nil {
		t.Fatal(err)
	}
}

func mustUser(t *testing.T, st *sqlstore.Store, appID, ext string) sunlamp.User {
	t.Helper()
	u, err := st.CreateUser(context.Background(), sunlamp.User{AppID: appID, ExternalID: ext,
		Profile:  sunlamp.Profile{GivenName: "Given" + ext, Surname: "Surname" + ext, Email: ext + "@secret.example"},
		Metadata: sunlamp.Metadata{"secret": "meta" + ext}})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func mustGroup(t *testing.T, st *sqlstore.Store, appID string, refs ...sunlamp.ParticipantRef) sunlamp.Conversation {
	t.Helper()
	c, err := st.CreateConversation(context.Background(), sunlamp.Conversation{AppID: appID, Type: sunlamp.ConversationSDKGroup}, refs)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// together runs the functions at once and returns their errors.
func together(fns ...func() error) []error {
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = fn()
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

// eventsContaining counts the outbox events whose data contains text.
func eventsContaining(t *testing.T, db *sql.DB, name, text string) int {
	t.Helper()
	q := "SELECT COUNT(*) FROM events WHERE data LIKE ?"
	if name == "postgres" {
		q = "SELECT COUNT(*) FROM events WHERE data LIKE $1"
	}
	var n int
	if err := db.QueryRow(q, "%"+text+"%").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestErasureWinsOverConcurrentWriters: a user's erasure that runs at the same time as a PATCH of
// its metadata, a join, a new client or an activity leaves neither the user nor any outbox event
// with the erased name or email, whichever commits first.
func TestErasureWinsOverConcurrentWriters(t *testing.T) {
	for _, name := range apitest.Stores() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st, db := openStore(t, name)
			appID := mustApp(t, st)
			for round := range racing(raceRounds) {
				ext := fmt.Sprintf("r%d", round)
				u := mustUser(t, st, appID, ext)
				other := mustUser(t, st, appID, ext+"o")
				conv := mustGroup(t, st, appID, sunlamp.ParticipantRef{UserID: other.ID})
				member := mustGroup(t, st, appID, sunlamp.ParticipantRef{UserID: u.ID})
				// A channel client with the user's name, and the user's default conversation.
				text := sunlamp.TextContent("hello")
				first, err := st.Inbound(ctx, sunlamp.Inbound{AppID: appID, Channel: "telegram", UserID: u.ID, Content: &text,
					Client: sunlamp.Client{ExternalID: "in" + ext, DisplayName: "Given" + ext, Info: map[string]any{"email": ext + "@secret.example"}}})
				if err != nil {
					t.Fatal(err)
				}
				meta := sunlamp.Metadata{"plan": "gold"}
				errs := together(
					func() error { _, err := st.DeleteUserPersonalInformation(ctx, appID, u.ID); return err },
					func() error {
						_, err := st.UpdateUser(ctx, appID, u.ID, sunlamp.UserUpdate{Metadata: &meta})
						return err
					},
					func() error {
						_, err := st.JoinConversation(ctx, appID, conv.ID, sunlamp.ParticipantRef{UserID: u.ID})
						return err
					},
					func() error {
						_, err := st.CreateClient(ctx, appID, u.ID, sunlamp.Client{Type: "telegram", ExternalID: ext})
						return err
					},
					func() error {
						return st.PostActivity(ctx, appID, member.ID, sunlamp.Activity{Type: sunlamp.ActivityTypingStart,
							Author: sunlamp.Author{Type: sunlamp.AuthorUser, UserID: u.ID}})
					},
					func() error { // the channel writes again, with nothing personal this time
						_, err := st.Inbound(ctx, sunlamp.Inbound{AppID: appID, Channel: "telegram", Content: &text, Client: sunlamp.Client{ExternalID: "in" + ext}})
						return err
					},
					func() error {
						return st.PostActivity(ctx, appID, first.Conversation.ID, sunlamp.Activity{Type: sunlamp.ActivityRead,
							Author: sunlamp.Author{Type: sunlamp.AuthorUser, UserID: u.ID}})
					},
				)
				for i, err := range errs {
					if err != nil {
						t.Fatalf("round %d: writer %d: %v", round, i, err)
					}
				}
				got, err := st.User(ctx, appID, u.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.Profile != (sunlamp.Profile{}) {
					t.Fatalf("round %d: got profile %+v after the erasure, want none", round, got.Profile)
				}
				clients, _, err := st.Clients(ctx, appID, u.ID, sunlamp.Page{})
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range clients {
					if c.DisplayName != "" || c.Info != nil {
						t.Fatalf("round %d: got client %s with displayName %q and info %v after the erasure, want none", round, c.ID, c.DisplayName, c.Info)
					}
				}
				for _, secret := range []string{"Given" + ext + `"`, ext + "@secret.example"} {
					if n := eventsContaining(t, db, name, secret); n > 0 {
						t.Fatalf("round %d: got %d outbox events with %q after the erasure, want 0", round, n, secret)
					}
				}
			}
		})
	}
}

// TestDeletedUserTakesNoPart: once DeleteUser has returned, and while its history is still being
// removed, the user can no longer be made a participant, be listed, leave, or author an activity:
// every such call answers user_not_found, as GetUser does.
func TestDeletedUserTakesNoPart(t *testing.T) {
	for _, name := range apitest.Stores() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st, _ := openStore(t, name, sqlstore.WithoutBackgroundPurge())
			appID := mustApp(t, st)
			u := mustUser(t, st, appID, "gone")
			other := mustUser(t, st, appID, "other")
			group := mustGroup(t, st, appID, sunlamp.ParticipantRef{UserID: other.ID})
			personal, err := st.CreateConversation(ctx, sunlamp.Conversation{AppID: appID, Type: sunlamp.ConversationPersonal},
				[]sunlamp.ParticipantRef{{UserID: u.ID}})
			if err != nil {
				t.Fatal(err)
			}
			if err := st.DeleteUser(ctx, appID, u.ID); err != nil {
				t.Fatal(err)
			}
			byID := sunlamp.ParticipantRef{UserID: u.ID}
			calls := map[string]func() error{
				"CreateConversation": func() error {
					_, err := st.CreateConversation(ctx, sunlamp.Conversation{AppID: appID, Type: sunlamp.ConversationSDKGroup}, []sunlamp.ParticipantRef{byID})
					return err
				},
				"JoinConversation": func() error { _, err := st.JoinConversation(ctx, appID, group.ID, byID); return err },
				"Conversations": func() error {
					_, _, err := st.Conversations(ctx, appID, byID, sunlamp.Page{})
					return err
				},
				"LeaveConversation": func() error { return st.LeaveConversation(ctx, appID, group.ID, byID) },
				"PostActivity": func() error {
					return st.PostActivity(ctx, appID, personal.ID, sunlamp.Activity{Type: sunlamp.ActivityRead,
						Author: sunlamp.Author{Type: sunlamp.AuthorUser, UserID: u.ID}})
				},
			}
			for call, fn := range calls {
				if err := fn(); !errors.Is(err, sunlamp.ErrUserNotFound) {
					t.Errorf("%s with a deleted user: got error %v, want user_not_found", call, err)
				}
			}
		})
	}
}

// TestDeleteAllMessagesCountsUnderConcurrentPosts: messages posted while a conversation's messages
// are being deleted are either deleted or counted; messageCount always equals the messages listed.
func TestDeleteAllMessagesCountsUnderConcurrentPosts(t *testing.T) {
	for _, name := range apitest.Stores() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st, _ := openStore(t, name)
			appID := mustApp(t, st)
			for round := range racing(20) {
				c := mustGroup(t, st, appID)
				var fns []func() error
				for i := 0; i < 40; i++ {
					fns = append(fns, func() error {
						_, err := st.PostMessage(ctx, sunlamp.Message{AppID: appID, ConversationID: c.ID, Author: sunlamp.Author{Type: sunlamp.AuthorBusiness},
							Content: sunlamp.TextContent("x"), Source: sunlamp.Source{Type: sunlamp.SourceAPI}})
						return err
					})
					if i == 20 {
						fns = append(fns, func() error { return st.DeleteAllMessages(ctx, appID, c.ID) })
					}
				}
				for _, err := range together(fns...) {
					if err != nil {
						t.Fatal(err)
					}
				}
				list, _, err := st.Messages(ctx, appID, c.ID, sunlamp.Page{Size: 100})
				if err != nil {
					t.Fatal(err)
				}
				got, err := st.Conversation(ctx, appID, c.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.MessageCount != len(list) {
					t.Fatalf("round %d: got messageCount %d, want %d (the messages listed)", round, got.MessageCount, len(list))
				}
			}
		})
	}
}

// TestDeletedMessagesLeaveTheOutbox: deleting a message, all messages of a conversation, or the
// conversation removes the conversation:message events that hold their text (and so their pending
// deliveries), and only those.
func TestDeletedMessagesLeaveTheOutbox(t *testing.T) {
	for _, name := range apitest.Stores() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st, db := openStore(t, name)
			appID := mustApp(t, st)
			post := func(c sunlamp.Conversation, text string) sunlamp.Message {
				t.Helper()
				m, err := st.PostMessage(ctx, sunlamp.Message{AppID: appID, ConversationID: c.ID, Author: sunlamp.Author{Type: sunlamp.AuthorBusiness},
					Content: sunlamp.TextContent(text), Source: sunlamp.Source{Type: sunlamp.SourceAPI}})
				if err != nil {
					t.Fatal(err)
				}
				return m
			}
			want := func(text string, n int) {
				t.Helper()
				if got := eventsContaining(t, db, name, text); got != n {
					t.Errorf("got %d outbox events with %q, want %d", got, text, n)
				}
			}
			integ, err := st.CreateIntegration(ctx, sunlamp.Integration{AppID: appID, Type: "custom", Status: "active"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := st.CreateWebhook(ctx, sunlamp.Webhook{AppID: appID, IntegrationID: integ.ID, Version: sunlamp.WebhookVersion,
				Target: "https://example.org/hook", Triggers: []string{"conversation:message"}, Secret: "s"}); err != nil {
				t.Fatal(err)
			}
			c1, c2, c3 := mustGroup(t, st, appID), mustGroup(t, st, appID), mustGroup(t, st, appID)
			m1 := post(c1, "first secret")
			post(c1, "second kept")
			post(c2, "third secret")
			post(c2, "fourth secret")
			post(c3, "fifth secret")
			post(c3, "other kept")
			if err := st.DeleteMessage(ctx, appID, c1.ID, m1.ID); err != nil {
				t.Fatal(err)
			}
			want("first secret", 0)
			want("second kept", 1)
			if err := st.DeleteAllMessages(ctx, appID, c2.ID); err != nil {
				t.Fatal(err)
			}
			want("third secret", 0)
			want("fourth secret", 0)
			if err := st.DeleteConversation(ctx, appID, c3.ID); err != nil {
				t.Fatal(err)
			}
			want("fifth secret", 0)
			want("other kept", 0)
			want(c3.ID, 2) // conversation:create and conversation:remove, which hold no message
			want(c1.ID, 2) // conversation:create and the message kept
			if n, err := st.PendingDeliveries(ctx); err != nil || n != 1 {
				t.Errorf("got %d pending deliveries (error %v), want 1: the kept message's", n, err)
			}
		})
	}
}

// TestErasureClearsDevices: DeleteUserPersonalInformation clears the channel data of the user's
// devices (info, push token, app version) and keeps the facts that they exist.
func TestErasureClearsDevices(t *testing.T) {
	for _, name := range apitest.Stores() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st, _ := openStore(t, name)
			appID := mustApp(t, st)
			res, err := st.Inbound(ctx, sunlamp.Inbound{AppID: appID, Channel: sunlamp.ClientTypeSDK,
				Device: &sunlamp.Device{Type: "web", GUID: "guid-1", PushNotificationToken: "token-secret", AppVersion: "9.9",
					Info: map[string]any{"currentUrl": "https://shop.example/secret"}}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := st.DeleteUserPersonalInformation(ctx, appID, res.User.ID); err != nil {
				t.Fatal(err)
			}
			devices, err := st.Devices(ctx, appID, res.User.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(devices) != 1 {
				t.Fatalf("got %d devices, want 1", len(devices))
			}
			d := devices[0]
			if d.Info != nil || d.PushNotificationToken != "" || d.AppVersion != "" {
				t.Errorf("got device info %v, token %q, appVersion %q after erasure, want none", d.Info, d.PushNotificationToken, d.AppVersion)
			}
			if d.ID != res.Device.ID || d.GUID != "guid-1" || d.Type != "web" || d.Status != "active" || d.ClientID != res.Client.ID {
				t.Errorf("got device %+v, want id, guid, type, status and client kept", d)
			}
		})
	}
}

// TestConversationEventsInOrder: the events of one conversation written at once by messages,
// activities, joins and leaves are in the outbox in the order they happened: each carries the
// conversation as it was, so along the outbox's sequence its message count never goes down. It
// also shows that these writers, with erasures and profile updates of the same users, do not
// deadlock.
func TestConversationEventsInOrder(t *testing.T) {
	for _, name := range apitest.Stores() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st, db := openStore(t, name)
			appID := mustApp(t, st)
			var users []sunlamp.User
			for i := 0; i < 4; i++ {
				users = append(users, mustUser(t, st, appID, fmt.Sprintf("u%d", i)))
			}
			// A webhook subscribed to every event of the test, so that messages have their events.
			mustWebhook(t, st, appID, "conversation:message", "conversation:read", "conversation:typing", "conversation:join", "conversation:leave")
			c := mustGroup(t, st, appID, sunlamp.ParticipantRef{UserID: users[0].ID}, sunlamp.ParticipantRef{UserID: users[1].ID})
			for round := range racing(30) {
				var fns []func() error
				for i := 0; i < 12; i++ {
					fns = append(fns, func() error {
						_, err := st.PostMessage(ctx, sunlamp.Message{AppID: appID, ConversationID: c.ID, Author: sunlamp.Author{Type: sunlamp.AuthorBusiness},
							Content: sunlamp.TextContent("x"), Source: sunlamp.Source{Type: sunlamp.SourceAPI}})
						return err
					})
				}
				for _, u := range users[:2] {
					fns = append(fns, func() error {
						return st.PostActivity(ctx, appID, c.ID, sunlamp.Activity{Type: sunlamp.ActivityTypingStart,
							Author: sunlamp.Author{Type: sunlamp.AuthorUser, UserID: u.ID}})
					}, func() error {
						_, err := st.DeleteUserPersonalInformation(ctx, appID, u.ID)
						return err
					})
				}
				fns = append(fns, func() error {
					return st.PostActivity(ctx, appID, c.ID, sunlamp.Activity{Type: sunlamp.ActivityRead, Author: sunlamp.Author{Type: sunlamp.AuthorBusiness}})
				})
				joiner := users[2+round%2]
				fns = append(fns, func() error {
					_, err := st.JoinConversation(ctx, appID, c.ID, sunlamp.ParticipantRef{UserID: joiner.ID, SubscribeSDKClient: true})
					return err
				}, func() error {
					meta := sunlamp.Metadata{"round": float64(round)}
					_, err := st.UpdateUser(ctx, appID, joiner.ID, sunlamp.UserUpdate{Metadata: &meta})
					return err
				})
				if round > 0 {
					leaver := users[2+(round+1)%2]
					fns = append(fns, func() error { return st.LeaveConversation(ctx, appID, c.ID, sunlamp.ParticipantRef{UserID: leaver.ID}) })
				}
				for i, err := range together(fns...) {
					if err != nil {
						t.Fatalf("round %d: writer %d: %v", round, i, err)
					}
				}
			}
			q := "SELECT type, data FROM events WHERE conversation_id = ? ORDER BY seq"
			if name == "postgres" {
				q = strings.Replace(q, "?", "$1", 1)
			}
			rows, err := db.Query(q, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			last, lastType, n, messages := -1, "", 0, 0
			for rows.Next() {
				var typ, data string
				if err := rows.Scan(&typ, &data); err != nil {
					t.Fatal(err)
				}
				if typ == "conversation:message" {
					messages++
				}
				var ev struct{ Conversation struct{ MessageCount int } }
				if err := json.Unmarshal([]byte(data), &ev); err != nil {
					t.Fatal(err)
				}
				if got := ev.Conversation.MessageCount; got < last {
					t.Fatalf("event %d (%s) carries messageCount %d after %s with %d: written out of order", n, typ, got, lastType, last)
				}
				last, lastType = ev.Conversation.MessageCount, typ
				n++
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			if messages == 0 || messages != last {
				t.Errorf("got %d conversation:message events, the last event counting %d messages: want one event per message", messages, last)
			}
		})
	}
}

// TestConcurrentFirstLogins: a visitor who logs in from several tabs at once, as a user the app has
// never seen, becomes one user in every tab: a new visitor with no anonymous user, and anonymous
// visitors whose history merges into it. On PostgreSQL the logins all found no user and raced to
// create (or claim) it, and the losers failed on the externalId's unique index.
func TestConcurrentFirstLogins(t *testing.T) {
	for _, name := range apitest.Stores() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st, _ := openStore(t, name)
			appID := mustApp(t, st)
			for round := range racing(raceRounds / 2) {
				ext := fmt.Sprintf("login-%d", round)
				var logins []func() error
				results := make([]sunlamp.VisitorLoginResult, 4)
				for i := range results {
					var anon string
					if i%2 == 1 { // a tab whose visitor had written as an anonymous user
						u, err := st.CreateUser(ctx, sunlamp.User{AppID: appID})
						if err != nil {
							t.Fatal(err)
						}
						anon = u.ID
					}
					logins = append(logins, func() (err error) {
						results[i], err = st.LoginVisitor(ctx, sunlamp.VisitorLogin{AppID: appID, ExternalID: ext, AnonymousUserID: anon})
						return err
					})
				}
				for i, err := range together(logins...) {
					if err != nil {
						t.Fatalf("round %d: login %d: %v", round, i, err)
					}
				}
				known, err := st.User(ctx, appID, ext)
				if err != nil {
					t.Fatalf("round %d: the user %s: %v", round, ext, err)
				}
				for i, r := range results {
					if r.User.ID != known.ID || r.User.ExternalID != ext {
						t.Fatalf("round %d: login %d became user %s (%q), want %s", round, i, r.User.ID, r.User.ExternalID, known.ID)
					}
				}
			}
		})
	}
}

// orphanChecks count the rows whose parent is gone, one per foreign key of an app's data. A reset
// that ran without the foreign keys' triggers (PostgreSQL) must leave none, whatever its writers did.
var orphanChecks = []string{
	"SELECT COUNT(*) FROM clients c WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = c.user_id)",
	"SELECT COUNT(*) FROM devices d WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = d.user_id) OR NOT EXISTS (SELECT 1 FROM clients c WHERE c.id = d.client_id)",
	"SELECT COUNT(*) FROM participants p WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = p.user_id) OR NOT EXISTS (SELECT 1 FROM conversations c WHERE c.id = p.conversation_id)",
	"SELECT COUNT(*) FROM messages m WHERE NOT EXISTS (SELECT 1 FROM conversations c WHERE c.id = m.conversation_id)",
	"SELECT COUNT(*) FROM deliveries d WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.id = d.event_id)",
	"SELECT COUNT(*) FROM conversation_switchboards s WHERE NOT EXISTS (SELECT 1 FROM conversations c WHERE c.id = s.conversation_id)",
	"SELECT COUNT(*) FROM attachments a WHERE (a.user_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = a.user_id))" +
		" OR (a.conversation_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM conversations c WHERE c.id = a.conversation_id))",
	"SELECT COUNT(*) FROM visitor_sessions v WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = v.user_id)",
	"SELECT COUNT(*) FROM interactive_data_refs r WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = r.user_id)",
	"SELECT COUNT(*) FROM conversion_events e WHERE NOT EXISTS (SELECT 1 FROM conversations c WHERE c.id = e.conversation_id)",
}

// TestResetUnderConcurrentWriters: resets of an app while customers write in (new users with their
// clients, devices and conversations), the business posts to existing conversations and groups are
// made, leave no row whose parent is gone. The writers may fail (their user or conversation was
// reset away); what they committed is either removed by the reset or whole.
func TestResetUnderConcurrentWriters(t *testing.T) {
	for _, name := range apitest.Stores() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st, db := openStore(t, name)
			appID := mustApp(t, st)
			if name == "postgres" && !st.ResetsUnchecked(ctx) {
				t.Log("the role may not turn the triggers off: this checks the reset with them")
			}
			text := sunlamp.TextContent("hi")
			for round := range racing(raceRounds / 3) {
				var convs []sunlamp.Conversation
				// writeIn is a customer's first message: the user, its client, device and conversation.
				writeIn := func(ext string) (sunlamp.InboundResult, error) {
					if _, err := st.CreateUser(ctx, sunlamp.User{AppID: appID, ExternalID: ext}); err != nil {
						return sunlamp.InboundResult{}, err
					}
					return st.Inbound(ctx, sunlamp.Inbound{AppID: appID, Channel: "sdk", UserExternalID: ext,
						Device: &sunlamp.Device{Type: "web", GUID: ext}, Content: &text})
				}
				for i := 0; i < 5; i++ {
					res, err := writeIn(fmt.Sprintf("old-%d-%d", round, i))
					if err != nil {
						t.Fatal(err)
					}
					convs = append(convs, *res.Conversation)
				}
				var fns []func() error
				for i := 0; i < 12; i++ {
					fns = append(fns, func() error {
						_, err := writeIn(fmt.Sprintf("new-%d-%d", round, i))
						return err
					}, func() error {
						_, err := st.PostMessage(ctx, sunlamp.Message{AppID: appID, ConversationID: convs[i%len(convs)].ID,
							Author: sunlamp.Author{Type: sunlamp.AuthorBusiness}, Content: text, Source: sunlamp.Source{Type: sunlamp.SourceAPI}})
						return err
					}, func() error {
						_, err := st.CreateClient(ctx, appID, fmt.Sprintf("old-%d-%d", round, i%5), sunlamp.Client{Type: "telegram", ExternalID: fmt.Sprintf("tg-%d-%d", round, i)})
						return err
					}, func() error {
						_, err := st.CreateConversation(ctx, sunlamp.Conversation{AppID: appID, Type: sunlamp.ConversationSDKGroup},
							[]sunlamp.ParticipantRef{{UserExternalID: fmt.Sprintf("old-%d-%d", round, i%5)}})
						return err
					})
					if i == 6 {
						fns = append(fns, func() error { return st.ResetApp(ctx, appID) })
					}
				}
				for i, err := range together(fns...) {
					if i == 4*7 && err != nil { // the reset itself must succeed
						t.Fatalf("round %d: reset: %v", round, err)
					}
				}
				for _, q := range orphanChecks {
					var n int
					if err := db.QueryRow(q).Scan(&n); err != nil {
						t.Fatal(err)
					}
					if n != 0 {
						t.Fatalf("round %d: %d orphans after the reset: %s", round, n, q)
					}
				}
			}
		})
	}
}
