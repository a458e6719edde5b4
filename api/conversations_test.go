package api_test

import (
	"context"
	"database/sql"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/sunlamp/sunlamp"
	"github.com/sunlamp/sunlamp/internal/apitest"
)

// convEnv is an app with an app key and helpers for the conversation tests.
type convEnv struct {
	*apitest.Env
	appID string
	key   apitest.Basic
}

func newConvEnv(t *testing.T, e *apitest.Env) *convEnv {
	t.Helper()
	appID := e.MustCreateApp(t, "Conversations")
	return &convEnv{Env: e, appID: appID, key: apitest.KeyAuth(e.MustCreateAppKey(t, appID))}
}

func (c *convEnv) path(p string) string { return "/v2/apps/" + c.appID + p }

// mustUser stores a user of the app directly (the users API is another issue's).
func (c *convEnv) mustUser(t *testing.T, externalID, given, surname string) sunlamp.User {
	t.Helper()
	u, err := c.Store.CreateUser(context.Background(), sunlamp.User{ID: sunlamp.NewID(), AppID: c.appID, ExternalID: externalID,
		Profile: sunlamp.Profile{GivenName: given, Surname: surname}})
	if err != nil {
		t.Fatalf("create user: %v", err)
	}
	return u
}

// mustConversation creates a conversation and returns its id.
func (c *convEnv) mustConversation(t *testing.T, body map[string]any) string {
	t.Helper()
	r := c.Do(t, "POST", c.path("/conversations"), c.key, body)
	apitest.MustStatus(t, r, http.StatusCreated)
	var out struct{ Conversation struct{ ID string } }
	r.Decode(t, &out)
	return out.Conversation.ID
}

// rawDB opens the env's database directly, for setting up states that would take too long over
// HTTP (a conversation at its message limit).
func rawDB(t *testing.T, e *apitest.Env) (*sql.DB, func(string) string) {
	t.Helper()
	var db *sql.DB
	var err error
	rebind := func(q string) string { return q }
	if strings.HasPrefix(e.DSN, "sqlite:") {
		db, err = sql.Open("sqlite", "file:"+strings.TrimPrefix(e.DSN, "sqlite:")+"?_busy_timeout=10000")
	} else {
		db, err = sql.Open("pgx", e.DSN)
		rebind = func(q string) string {
			n := 0
			var b strings.Builder
			for _, ch := range q {
				if ch == '?' {
					n++
					b.WriteString("$" + string(rune('0'+n)))
					continue
				}
				b.WriteRune(ch)
			}
			return b.String()
		}
	}
	if err != nil {
		t.Fatalf("open raw db: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db, rebind
}

func TestConversations(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		c := newConvEnv(t, e)
		u := c.mustUser(t, "ext-1", "Rogers", "Carl")

		r := c.Do(t, "POST", c.path("/conversations"), c.key, map[string]any{"type": "personal", "participants": []any{map[string]any{"userId": u.ID}}})
		e.MustJSON(t, r, http.StatusCreated, `{"conversation":{"id":"ID","type":"personal","isDefault":true,"lastUpdatedAt":"TIME","createdAt":"TIME"}}`)
		var created struct{ Conversation struct{ ID string } }
		r.Decode(t, &created)
		defaultID := created.Conversation.ID

		// A second personal conversation of the same user (by externalId) is not the default.
		r = c.Do(t, "POST", c.path("/conversations"), c.key, map[string]any{
			"type": "personal", "participants": []any{map[string]any{"userExternalId": "ext-1"}},
			"displayName": "Support", "description": "Between Rogers and Carl.", "iconUrl": "https://example.org/icon.png",
			"metadata": map[string]any{"lang": "en-ca", "priority": 2},
		})
		e.MustJSON(t, r, http.StatusCreated, `{"conversation":{"id":"ID","type":"personal","isDefault":false,
			"displayName":"Support","description":"Between Rogers and Carl.","iconUrl":"https://example.org/icon.png",
			"metadata":{"lang":"en-ca","priority":2},"lastUpdatedAt":"TIME","createdAt":"TIME"}}`)
		r.Decode(t, &created)
		secondID := created.Conversation.ID

		t.Run("get", func(t *testing.T) {
			r := c.Do(t, "GET", c.path("/conversations/"+secondID), c.key, nil)
			e.MustJSON(t, r, 200, `{"conversation":{"id":"ID","type":"personal","isDefault":false,
				"displayName":"Support","description":"Between Rogers and Carl.","iconUrl":"https://example.org/icon.png",
				"metadata":{"lang":"en-ca","priority":2},"lastUpdatedAt":"TIME","createdAt":"TIME"}}`)
			apitest.MustError(t, c.Do(t, "GET", c.path("/conversations/5d8cff3cd55b040010928b5b"), c.key, nil), 404, "conversation_not_found", "Conversation not found")
		})

		t.Run("update", func(t *testing.T) {
			r := c.Do(t, "PATCH", c.path("/conversations/"+secondID), c.key, map[string]any{"displayName": "Renamed", "description": nil, "metadata": nil})
			e.MustJSON(t, r, 200, `{"conversation":{"id":"ID","type":"personal","isDefault":false,
				"displayName":"Renamed","iconUrl":"https://example.org/icon.png","lastUpdatedAt":"TIME","createdAt":"TIME"}}`)
			apitest.MustError(t, c.Do(t, "PATCH", c.path("/conversations/"+secondID), c.key, map[string]any{"displayName": ""}), 400, "bad_request", "displayName should be a string of 1 to 100 characters")
			apitest.MustError(t, c.Do(t, "PATCH", c.path("/conversations/"+secondID), c.key, map[string]any{"iconUrl": "not a url"}), 400, "bad_request", `iconUrl should match format "uri"`)
			apitest.MustError(t, c.Do(t, "PATCH", c.path("/conversations/"+secondID), c.key, map[string]any{"metadata": map[string]any{"k": strings.Repeat("x", 4100)}}), 400, "bad_request", "Conversation metadata is limited to 4096 bytes in size.")
			apitest.MustError(t, c.Do(t, "PATCH", c.path("/conversations/5d8cff3cd55b040010928b5b"), c.key, map[string]any{}), 404, "conversation_not_found", "Conversation not found")
		})

		t.Run("list", func(t *testing.T) {
			other := c.mustUser(t, "", "", "")
			c.mustConversation(t, map[string]any{"type": "personal", "participants": []any{map[string]any{"userId": other.ID}}})
			for _, q := range []string{"?filter[userId]=" + u.ID, "?filter%5BuserExternalId%5D=ext-1"} {
				r := c.Do(t, "GET", c.path("/conversations"+q), c.key, nil)
				e.MustJSON(t, r, 200, `{"conversations":[
					{"id":"ID","type":"personal","isDefault":true,"lastUpdatedAt":"TIME","createdAt":"TIME"},
					{"id":"ID","type":"personal","isDefault":false,"displayName":"Renamed","iconUrl":"https://example.org/icon.png","lastUpdatedAt":"TIME","createdAt":"TIME"}],
					"meta":{"hasMore":false}}`)
			}
			r := c.Do(t, "GET", c.path("/conversations?filter[userId]="+u.ID+"&page[size]=1"), c.key, nil)
			e.MustJSON(t, r, 200, `{"conversations":[{"id":"ID","type":"personal","isDefault":true,"lastUpdatedAt":"TIME","createdAt":"TIME"}],
				"meta":{"hasMore":true,"afterCursor":"ID"},"links":{"next":"BASE/v2/apps/ID/conversations?filter[userId]=ID&page[after]=ID&page[size]=1"}}`)
			if !strings.Contains(string(r.Body), `"afterCursor":"`+defaultID+`"`) {
				t.Errorf("got %s, want afterCursor %s", r.Body, defaultID)
			}
			r = c.Do(t, "GET", c.path("/conversations?filter[userId]="+u.ID+"&page[after]="+defaultID), c.key, nil)
			if !strings.Contains(string(r.Body), secondID) || strings.Contains(string(r.Body), `"id":"`+defaultID) {
				t.Errorf("page after %s: got %s, want only %s", defaultID, r.Body, secondID)
			}
			apitest.MustError(t, c.Do(t, "GET", c.path("/conversations"), c.key, nil), 400, "bad_request", "filter should have required property 'userId' or 'userExternalId'")
			apitest.MustError(t, c.Do(t, "GET", c.path("/conversations?filter[userId]=5d8cff3cd55b040010928b5b"), c.key, nil), 404, "user_not_found", "User not found")
			apitest.MustError(t, c.Do(t, "GET", c.path("/conversations?filter[userId]="+u.ID+"&page[size]=0"), c.key, nil), 400, "bad_request", "Invalid page query parameters")
		})

		t.Run("delete", func(t *testing.T) {
			apitest.MustError(t, c.Do(t, "DELETE", c.path("/conversations/"+defaultID), c.key, nil), 400, "bad_request",
				"Conversation "+defaultID+" cannot be deleted because it is the default.")
			c.Do(t, "POST", c.path("/conversations/"+secondID+"/messages"), c.key, map[string]any{"author": map[string]any{"type": "business"}, "content": map[string]any{"type": "text", "text": "bye"}})
			e.MustJSON(t, c.Do(t, "DELETE", c.path("/conversations/"+secondID), c.key, nil), 200, `{}`)
			apitest.MustError(t, c.Do(t, "GET", c.path("/conversations/"+secondID), c.key, nil), 404, "conversation_not_found", "Conversation not found")
			apitest.MustError(t, c.Do(t, "GET", c.path("/conversations/"+secondID+"/messages"), c.key, nil), 404, "not_found", "Resource not found")
			apitest.MustError(t, c.Do(t, "DELETE", c.path("/conversations/"+secondID), c.key, nil), 404, "conversation_not_found", "Conversation not found")
			// The default conversation's messages can go, the conversation stays.
			e.MustJSON(t, c.Do(t, "DELETE", c.path("/conversations/"+defaultID+"/messages"), c.key, nil), 200, `{}`)
			apitest.MustStatus(t, c.Do(t, "GET", c.path("/conversations/"+defaultID), c.key, nil), 200)
		})

		t.Run("validation", func(t *testing.T) {
			post := func(body any) *apitest.Response { return c.Do(t, "POST", c.path("/conversations"), c.key, body) }
			apitest.MustError(t, post(map[string]any{}), 400, "bad_request", "should have required property 'type'")
			apitest.MustError(t, post(map[string]any{"type": "group"}), 400, "bad_request", "type should be equal to one of the allowed values: personal, sdkGroup")
			apitest.MustError(t, post(map[string]any{"type": "personal"}), 400, "bad_request", "participants should have exactly 1 item for a personal conversation")
			apitest.MustError(t, post(map[string]any{"type": "personal", "participants": []any{map[string]any{}}}), 400, "bad_request", "participants[0] should have required property 'userId' or 'userExternalId'")
			apitest.MustError(t, post(map[string]any{"type": "personal", "participants": []any{map[string]any{"userId": "5d8cff3cd55b040010928b5b"}}}), 404, "user_not_found", "User not found")
			apitest.MustError(t, post(map[string]any{"type": "sdkGroup", "participants": []any{map[string]any{"userId": u.ID}}}), 400, "bad_request", "participants[0] should have required property 'subscribeSDKClient'")
			many := []any{}
			for i := 0; i < 11; i++ {
				many = append(many, map[string]any{"userId": u.ID, "subscribeSDKClient": false})
			}
			apitest.MustError(t, post(map[string]any{"type": "sdkGroup", "participants": many}), 400, "bad_request", "participants should NOT have more than 10 items")
			apitest.MustError(t, post(map[string]any{"type": "sdkGroup", "displayName": strings.Repeat("a", 101)}), 400, "bad_request", "displayName should be a string of 1 to 100 characters")
		})

		t.Run("isolation", func(t *testing.T) {
			otherApp := e.MustCreateApp(t, "Other")
			otherKey := apitest.KeyAuth(e.MustCreateAppKey(t, otherApp))
			// Another app's key cannot reach this app; this app's conversation is unknown under the other app.
			apitest.MustError(t, c.Do(t, "GET", c.path("/conversations/"+defaultID), otherKey, nil), 403, "forbidden", "")
			apitest.MustError(t, c.Do(t, "GET", "/v2/apps/"+otherApp+"/conversations/"+defaultID, otherKey, nil), 404, "conversation_not_found", "Conversation not found")
			apitest.MustError(t, c.Do(t, "GET", "/v2/apps/"+otherApp+"/conversations/"+defaultID+"/messages", otherKey, nil), 404, "not_found", "")
			apitest.MustError(t, c.Do(t, "POST", "/v2/apps/"+otherApp+"/conversations/"+defaultID+"/messages", otherKey,
				map[string]any{"author": map[string]any{"type": "business"}, "content": map[string]any{"type": "text", "text": "x"}}), 404, "conversation_not_found", "")
			apitest.MustError(t, c.Do(t, "POST", "/v2/apps/"+otherApp+"/conversations", otherKey,
				map[string]any{"type": "personal", "participants": []any{map[string]any{"userId": u.ID}}}), 404, "user_not_found", "")
			// The account key reaches every app.
			apitest.MustStatus(t, c.Do(t, "GET", c.path("/conversations/"+defaultID), e.Account(), nil), 200)
		})
	})
}

func TestParticipants(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		c := newConvEnv(t, e)
		var users []sunlamp.User
		for i := 0; i < 11; i++ {
			users = append(users, c.mustUser(t, "member-"+strconv.Itoa(i), "", ""))
		}
		group := c.mustConversation(t, map[string]any{"type": "sdkGroup", "participants": []any{map[string]any{"userId": users[0].ID, "subscribeSDKClient": false}}})
		join := func(body map[string]any) *apitest.Response {
			return c.Do(t, "POST", c.path("/conversations/"+group+"/join"), c.key, body)
		}
		r := join(map[string]any{"userExternalId": "member-1", "subscribeSDKClient": false})
		e.MustJSON(t, r, 201, `{"participant":{"id":"ID","userId":"ID","userExternalId":"member-1","unreadCount":0,"clientAssociations":[]}}`)
		for i := 2; i < 10; i++ {
			apitest.MustStatus(t, join(map[string]any{"userId": users[i].ID, "subscribeSDKClient": false}), 201)
		}
		apitest.MustError(t, join(map[string]any{"userId": users[10].ID}), 400, "bad_request", "Too many participants")
		apitest.MustError(t, join(map[string]any{}), 400, "bad_request", "should have required property 'userId' or 'userExternalId'")
		apitest.MustError(t, join(map[string]any{"userId": "5d8cff3cd55b040010928b5b"}), 404, "user_not_found", "User not found")
		apitest.MustError(t, c.Do(t, "POST", c.path("/conversations/5d8cff3cd55b040010928b5b/join"), c.key, map[string]any{"userId": users[10].ID}), 404, "conversation_not_found", "Conversation not found")
		personal := c.mustConversation(t, map[string]any{"type": "personal", "participants": []any{map[string]any{"userId": users[10].ID}}})
		apitest.MustError(t, c.Do(t, "POST", c.path("/conversations/"+personal+"/join"), c.key, map[string]any{"userId": users[1].ID}), 400, "bad_request", "Only sdkGroup conversations can be joined")

		r = c.Do(t, "GET", c.path("/conversations/"+group+"/participants?page[size]=4"), c.key, nil)
		apitest.MustStatus(t, r, 200)
		var page struct {
			Participants []struct {
				ID, UserID, UserExternalID string
			}
			Meta struct {
				HasMore     bool
				AfterCursor string
			}
		}
		r.Decode(t, &page)
		if len(page.Participants) != 4 || !page.Meta.HasMore || page.Participants[0].UserID != users[0].ID || page.Participants[1].UserExternalID != "member-1" {
			t.Fatalf("got first page %s", r.Body)
		}
		r = c.Do(t, "GET", c.path("/conversations/"+group+"/participants?page[after]="+page.Meta.AfterCursor+"&page[size]=100"), c.key, nil)
		r.Decode(t, &page)
		if len(page.Participants) != 6 || page.Meta.HasMore {
			t.Fatalf("got second page %s, want the 6 other participants", r.Body)
		}
		lastParticipant := page.Participants[5].ID

		leave := func(body map[string]any) *apitest.Response {
			return c.Do(t, "POST", c.path("/conversations/"+group+"/leave"), c.key, body)
		}
		e.MustJSON(t, leave(map[string]any{"userId": users[2].ID}), 200, `{}`)
		e.MustJSON(t, leave(map[string]any{"userExternalId": "member-3"}), 200, `{}`)
		e.MustJSON(t, leave(map[string]any{"participantId": lastParticipant}), 200, `{}`)
		apitest.MustError(t, leave(map[string]any{"userId": users[2].ID}), 404, "not_found", "User is not a member of the conversation")
		apitest.MustError(t, leave(map[string]any{"participantId": lastParticipant}), 404, "not_found", "User is not a member of the conversation")
		apitest.MustError(t, leave(map[string]any{}), 400, "bad_request", "should have required property 'userId', 'userExternalId' or 'participantId'")
		// Room again: the 11th user joins.
		apitest.MustStatus(t, join(map[string]any{"userId": users[10].ID, "subscribeSDKClient": false}), 201)
		r = c.Do(t, "GET", c.path("/conversations/"+group+"/participants?page[size]=100"), c.key, nil)
		r.Decode(t, &page)
		if len(page.Participants) != 8 {
			t.Errorf("got %d participants after 3 left and 1 joined, want 8", len(page.Participants))
		}
		apitest.MustError(t, c.Do(t, "GET", c.path("/conversations/5d8cff3cd55b040010928b5b/participants"), c.key, nil), 404, "conversation_not_found", "Conversation not found")
		// subscribeSDKClient: the user's SDK client, made when the user has none, is associated.
		sdkUser := c.mustUser(t, "sdk-user", "", "")
		c.Do(t, "POST", c.path("/conversations/"+group+"/leave"), c.key, map[string]any{"userId": users[10].ID})
		r = join(map[string]any{"userId": sdkUser.ID, "subscribeSDKClient": true})
		e.MustJSON(t, r, 201, `{"participant":{"id":"ID","userId":"ID","userExternalId":"sdk-user","unreadCount":0,"clientAssociations":[{"type":"sdk","clientId":"ID"}]}}`)
		var joined struct {
			Participant struct {
				ClientAssociations []struct{ ClientID string }
			}
		}
		r.Decode(t, &joined)
		r = c.Do(t, "GET", c.path("/users/sdk-user/clients"), c.key, nil)
		var clients struct{ Clients []struct{ ID, Type string } }
		r.Decode(t, &clients)
		if len(clients.Clients) != 1 || clients.Clients[0].Type != "sdk" || clients.Clients[0].ID != joined.Participant.ClientAssociations[0].ClientID {
			t.Fatalf("got clients %s, want the one sdk client the participant is associated with", r.Body)
		}
		// A second conversation reuses that client.
		other := c.mustConversation(t, map[string]any{"type": "sdkGroup", "participants": []any{map[string]any{"userExternalId": "sdk-user", "subscribeSDKClient": true}}})
		r = c.Do(t, "GET", c.path("/conversations/"+other+"/participants"), c.key, nil)
		if !strings.Contains(string(r.Body), `"clientId":"`+clients.Clients[0].ID+`"`) {
			t.Errorf("got %s, want the existing sdk client %s associated", r.Body, clients.Clients[0].ID)
		}

		// The user's conversations include the group.
		r = c.Do(t, "GET", c.path("/conversations?filter[userExternalId]=member-1"), c.key, nil)
		if !strings.Contains(string(r.Body), group) {
			t.Errorf("got %s, want the group conversation listed for its member", r.Body)
		}
	})
}

// TestConcurrentJoins: joins racing for the last places never pass the 10-participant limit.
func TestConcurrentJoins(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		c := newConvEnv(t, e)
		group := c.mustConversation(t, map[string]any{"type": "sdkGroup"})
		var users []sunlamp.User
		for i := 0; i < 16; i++ {
			users = append(users, c.mustUser(t, "racer-"+strconv.Itoa(i), "", ""))
		}
		statuses := make([]int, len(users))
		var wg sync.WaitGroup
		for i, u := range users {
			wg.Add(1)
			go func() {
				defer wg.Done()
				statuses[i] = c.Do(t, "POST", c.path("/conversations/"+group+"/join"), c.key, map[string]any{"userId": u.ID, "subscribeSDKClient": false}).Status
			}()
		}
		wg.Wait()
		joined := 0
		for _, s := range statuses {
			if s == 201 {
				joined++
			}
		}
		r := c.Do(t, "GET", c.path("/conversations/"+group+"/participants?page[size]=100"), c.key, nil)
		var list struct{ Participants []struct{ ID string } }
		r.Decode(t, &list)
		if joined != 10 || len(list.Participants) != 10 {
			t.Errorf("got %d joins answered 201 and %d participants, want 10 and 10 (statuses %v)", joined, len(list.Participants), statuses)
		}
	})
}
