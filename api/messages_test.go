package api_test

import (
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sunlamp/sunlamp/internal/apitest"
)

func business(text string) map[string]any {
	return map[string]any{"author": map[string]any{"type": "business"}, "content": map[string]any{"type": "text", "text": text}}
}

func TestPostMessage(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		c := newConvEnv(t, e)
		u := c.mustUser(t, "carl", "Carl", "Rogers")
		conv := c.mustConversation(t, map[string]any{"type": "personal", "participants": []any{map[string]any{"userId": u.ID}}})
		post := func(body any) *apitest.Response {
			return c.Do(t, "POST", c.path("/conversations/"+conv+"/messages"), c.key, body)
		}

		// The spec's text example: a business author without avatar gets the service's default one.
		e.MustJSON(t, post(business("Hello!")), 201, `{"messages":[{"id":"ID","received":"TIME",
			"author":{"type":"business","avatarUrl":"https://www.gravatar.com/avatar/00000000000000000000000000000000.png?s=200&d=mm"},
			"content":{"type":"text","text":"Hello!"},"source":{"type":"api:conversations"}}]}`)

		// A user author by externalId: the user's name and avatar come from the profile.
		r := post(map[string]any{"author": map[string]any{"type": "user", "userExternalId": "carl"},
			"content": map[string]any{"type": "text", "markdownText": "**Hi** there"}, "metadata": map[string]any{"lang": "en"}})
		e.MustJSON(t, r, 201, `{"messages":[{"id":"ID","received":"TIME",
			"author":{"type":"user","userId":"ID","displayName":"Carl Rogers"},
			"content":{"type":"text","text":"Hi there","htmlText":"<p><strong>Hi</strong> there</p>"},
			"source":{"type":"api:conversations"},"metadata":{"lang":"en"}}]}`)

		// Business author with its own name, avatar and subtype.
		e.MustJSON(t, post(map[string]any{"author": map[string]any{"type": "business", "displayName": "Steve", "avatarUrl": "https://example.org/steve.png", "subtypes": []any{"AI"}},
			"content":    map[string]any{"type": "text", "text": "Answer", "actions": []any{map[string]any{"type": "reply", "text": "Yes", "payload": "YES"}}},
			"references": []any{map[string]any{"uri": "https://example.com/article/123", "title": "How to"}}}), 201,
			`{"messages":[{"id":"ID","received":"TIME","author":{"type":"business","subtypes":["AI"],"displayName":"Steve","avatarUrl":"https://example.org/steve.png"},
			"content":{"type":"text","text":"Answer","actions":[{"type":"reply","text":"Yes","payload":"YES"}]},
			"source":{"type":"api:conversations"},"references":[{"uri":"https://example.com/article/123","title":"How to"}]}]}`)

		t.Run("author", func(t *testing.T) {
			apitest.MustError(t, post(map[string]any{"content": map[string]any{"type": "text", "text": "x"}}), 400, "bad_request", "should have required property 'author'")
			apitest.MustError(t, post(map[string]any{"author": map[string]any{"type": "business"}}), 400, "bad_request", "should have required property 'content'")
			apitest.MustError(t, post(map[string]any{"author": map[string]any{}, "content": map[string]any{"type": "text", "text": "x"}}), 400, "bad_request", "author should have required property 'type'")
			apitest.MustError(t, post(map[string]any{"author": map[string]any{"type": "bot"}, "content": map[string]any{"type": "text", "text": "x"}}), 400, "bad_request", "author.type should be equal to one of the allowed values: business, user")
			apitest.MustError(t, post(map[string]any{"author": map[string]any{"type": "user"}, "content": map[string]any{"type": "text", "text": "x"}}), 400, "bad_request", "author should have required property 'userId' or 'userExternalId'")
			apitest.MustError(t, post(map[string]any{"author": map[string]any{"type": "user", "userId": "5d8cff3cd55b040010928b5b"}, "content": map[string]any{"type": "text", "text": "x"}}), 404, "user_not_found", "User not found")
			apitest.MustError(t, post(map[string]any{"author": map[string]any{"type": "business", "subtypes": []any{"human"}}, "content": map[string]any{"type": "text", "text": "x"}}), 400, "bad_request", "author.subtypes[0] should be equal to one of the allowed values: AI, activity, agent, bot")
			apitest.MustError(t, post(map[string]any{"author": map[string]any{"type": "business", "avatarUrl": "nope"}, "content": map[string]any{"type": "text", "text": "x"}}), 400, "bad_request", `author.avatarUrl should match format "uri"`)
			apitest.MustError(t, post(map[string]any{"author": map[string]any{"type": "user", "userId": u.ID}, "content": map[string]any{"type": "text", "text": "x"}, "destination": map[string]any{"integrationType": "none"}}), 400, "bad_request", "destination is only supported when author.type is business")
			apitest.MustError(t, post(map[string]any{"author": map[string]any{"type": "business"}, "content": map[string]any{"type": "text", "text": "x"}, "metadata": map[string]any{"k": strings.Repeat("x", 4100)}}), 400, "bad_request", "Message metadata is limited to 4096 bytes in size.")
			apitest.MustStatus(t, post(map[string]any{"author": map[string]any{"type": "business"}, "content": map[string]any{"type": "text", "text": "silent"}, "destination": map[string]any{"integrationType": "none"}}), 201)
			apitest.MustError(t, c.Do(t, "POST", c.path("/conversations/5d8cff3cd55b040010928b5b/messages"), c.key, business("x")), 404, "conversation_not_found", "Conversation not found")
		})
	})
}

// TestContentTypes posts the spec's example of every content type and pins what comes back.
func TestContentTypes(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		c := newConvEnv(t, e)
		conv := c.mustConversation(t, map[string]any{"type": "sdkGroup"})
		post := func(content string, extra string) *apitest.Response {
			return c.Do(t, "POST", c.path("/conversations/"+conv+"/messages"), c.key, `{"author":{"type":"business","avatarUrl":"https://www.gravatar.com/image.jpg"}`+extra+`,"content":`+content+`}`)
		}
		want := func(content string) string {
			return `{"messages":[{"id":"ID","received":"TIME","author":{"type":"business","avatarUrl":"https://www.gravatar.com/image.jpg"},
				"content":` + content + `,"source":{"type":"api:conversations"}}]}`
		}
		items := `[{"title":"Tacos","description":"Get your tacos today!","mediaUrl":"https://example.org/image.jpg","altText":"A giant taco","size":"compact",
				"actions":[{"text":"Select","type":"postback","payload":"TACOS"},{"text":"More info","type":"link","uri":"https://example.org"}]},
			{"title":"Ramen","description":"Get your ramen today!","mediaUrl":"https://example.org/image.jpg","altText":"A chicken vegetable ramen bowl","size":"compact",
				"actions":[{"text":"Select","type":"postback","payload":"RAMEN"},{"text":"More info","type":"link","uri":"https://example.org"}]}]`
		fallback := `"1. Tacos\nGet your tacos today!\nMore info: https://example.org\n\n2. Ramen\nGet your ramen today!\nMore info: https://example.org"`
		cases := []struct{ name, content, extra, want string }{
			{"carousel", `{"type":"carousel","items":` + items + `}`, "", `{"type":"carousel","text":` + fallback + `,"items":` + items + `}`},
			{"list", `{"type":"list","items":` + items + `,"actions":[{"type":"buy","text":"Buy all","amount":8000,"currency":"cad"}]}`, "",
				`{"type":"list","text":` + fallback + `,"items":` + items + `,"actions":[{"type":"buy","text":"Buy all","amount":8000,"currency":"cad"}]}`},
			{"file", `{"type":"file","text":"Here's our FAQ!","mediaUrl":"https://example.org/FAQ.pdf","altText":"FAQ.pdf"}`, "",
				`{"type":"file","text":"Here's our FAQ!","mediaUrl":"https://example.org/FAQ.pdf","altText":"FAQ.pdf"}`},
			{"image", `{"type":"image","text":"Hello!","mediaUrl":"https://example.org/image.jpg","actions":[{"type":"webview","text":"Open","uri":"https://example.org/w","fallback":"https://example.org/f","size":"tall","openOnReceive":true}]}`, "",
				`{"type":"image","text":"Hello!","mediaUrl":"https://example.org/image.jpg","altText":"image.jpg","actions":[{"type":"webview","text":"Open","uri":"https://example.org/w","fallback":"https://example.org/f","size":"tall","openOnReceive":true}]}`},
			{"location", `{"type":"location","coordinates":{"lat":45.5261583,"long":-73.595346},"location":{"address":"5333 avenue Casgrain","name":"Zendesk Montréal"}}`, "",
				`{"type":"location","text":"Location shared:\nhttps://maps.google.com/maps?q=45.5261583,-73.595346","coordinates":{"lat":45.5261583,"long":-73.595346},"location":{"address":"5333 avenue Casgrain","name":"Zendesk Montréal"}}`},
			{"form", `{"type":"form","blockChatInput":true,"fields":[{"type":"text","name":"full_name","label":"Your name?","placeholder":"Type your name...","minSize":1,"maxSize":30},
				{"type":"email","name":"email_address","label":"Your email?","placeholder":"email@example.com"},
				{"type":"select","name":"meal","label":"Meal?","options":[{"label":"Tacos","name":"tacos"}]}]}`, "",
				`{"type":"form","submitted":false,"blockChatInput":true,"fields":[{"type":"text","name":"full_name","label":"Your name?","placeholder":"Type your name...","minSize":1,"maxSize":30},
				{"type":"email","name":"email_address","label":"Your email?","placeholder":"email@example.com"},
				{"type":"select","name":"meal","label":"Meal?","options":[{"label":"Tacos","name":"tacos"}]}]}`},
			{"template", `{"type":"template","template":{"namespace":"XXXXXXXX_XXXX","name":"hello_world","language":{"policy":"deterministic","code":"en_US"}}}`, `,"schema":"whatsapp"`,
				`{"type":"template","template":{"namespace":"XXXXXXXX_XXXX","name":"hello_world","language":{"policy":"deterministic","code":"en_US"}}}`},
			{"text with every action", `{"type":"text","text":"Pick","actions":[{"type":"buy","text":"Buy","amount":100},{"type":"link","text":"L","uri":"https://a.b","default":true,"extraChannelOptions":{"messenger":{"messenger_extensions":true,"webview_share_button":"hide"}}},
				{"type":"locationRequest","text":"Where?"},{"type":"postback","text":"P","payload":"p","metadata":{"k":1}},{"type":"reply","text":"R","payload":"r","iconUrl":"https://a.b/i.png"},{"type":"webview","text":"W","uri":"https://a.b","fallback":"https://a.c"}]}`, "",
				`{"type":"text","text":"Pick","actions":[{"type":"buy","text":"Buy","amount":100},{"type":"link","text":"L","uri":"https://a.b","default":true,"extraChannelOptions":{"messenger":{"messenger_extensions":true,"webview_share_button":"hide"}}},
				{"type":"locationRequest","text":"Where?"},{"type":"postback","text":"P","payload":"p","metadata":{"k":1}},{"type":"reply","text":"R","payload":"r","iconUrl":"https://a.b/i.png"},{"type":"webview","text":"W","uri":"https://a.b","fallback":"https://a.c"}]}`},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				e.MustJSON(t, post(tc.content, tc.extra), 201, want(tc.want))
			})
		}
		// Every content type comes back the same from ListMessages.
		r := c.Do(t, "GET", c.path("/conversations/"+conv+"/messages"), c.key, nil)
		var list struct {
			Messages []struct{ Content struct{ Type string } }
		}
		r.Decode(t, &list)
		var types []string
		for _, m := range list.Messages {
			types = append(types, m.Content.Type)
		}
		if got, want := strings.Join(types, ","), "carousel,list,file,image,location,form,template,text"; got != want {
			t.Errorf("got listed types %s, want %s", got, want)
		}
		apitest.MustError(t, post(`{"type":"formResponse","fields":[{"type":"text","name":"a","label":"A","text":"x"}]}`, ""), 400, "bad_request",
			"content.type formResponse cannot be sent through the API: it only comes from Web Messenger replies to forms")
		apitest.MustError(t, post(`{"type":"template","template":{}}`, ""), 400, "bad_request", "schema should be equal to 'whatsapp' when content.type is template")
	})
}

func TestListMessages(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		c := newConvEnv(t, e)
		u := c.mustUser(t, "", "Ann", "")
		conv := c.mustConversation(t, map[string]any{"type": "personal", "participants": []any{map[string]any{"userId": u.ID}}})
		var ids []string
		for i := 0; i < 230; i++ {
			e.Clock.Advance(time.Millisecond)
			r := c.Do(t, "POST", c.path("/conversations/"+conv+"/messages"), c.key, business("m"+strconv.Itoa(i)))
			apitest.MustStatus(t, r, 201)
			var out struct{ Messages []struct{ ID string } }
			r.Decode(t, &out)
			ids = append(ids, out.Messages[0].ID)
		}
		type page struct {
			Messages []struct{ ID string }
			Meta     struct {
				HasMore      bool
				AfterCursor  string
				BeforeCursor string
			}
			Links struct{ Prev, Next string }
		}
		get := func(q string) page {
			t.Helper()
			r := c.Do(t, "GET", c.path("/conversations/"+conv+"/messages"+q), c.key, nil)
			apitest.MustStatus(t, r, 200)
			var p page
			r.Decode(t, &p)
			return p
		}
		check := func(name string, p page, from, to int, hasMore bool, before, after string) {
			t.Helper()
			if len(p.Messages) != to-from || p.Messages[0].ID != ids[from] || p.Messages[len(p.Messages)-1].ID != ids[to-1] {
				t.Fatalf("%s: got %d messages, want messages %d..%d oldest first", name, len(p.Messages), from, to-1)
			}
			if p.Meta.HasMore != hasMore || p.Meta.BeforeCursor != before || p.Meta.AfterCursor != after {
				t.Errorf("%s: got meta %+v, want hasMore %v before %q after %q", name, p.Meta, hasMore, before, after)
			}
		}
		// The newest page first; page[size] has no effect.
		newest := get("?page[size]=5")
		check("newest", newest, 130, 230, true, ids[130], "")
		if want := e.URL + c.path("/conversations/"+conv+"/messages?page[before]="+ids[130]); !strings.HasPrefix(newest.Links.Prev, want) || newest.Links.Next != "" {
			t.Errorf("got links %+v, want prev %s and no next", newest.Links, want)
		}
		check("before", get("?page[before]="+ids[130]), 30, 130, true, ids[30], ids[129])
		check("oldest", get("?page[before]="+ids[30]), 0, 30, false, "", ids[29])
		check("after", get("?page[after]="+ids[29]), 30, 130, true, ids[30], ids[129])
		check("after to the end", get("?page[after]="+ids[129]), 130, 230, false, ids[130], "")
		apitest.MustError(t, c.Do(t, "GET", c.path("/conversations/"+conv+"/messages?page[after]="+ids[0]+"&page[before]="+ids[1]), c.key, nil), 400, "bad_request", "Invalid page query parameters")

		// lastUpdatedAt follows messages: the last message's time, the creation time when none is left.
		conversation := func() map[string]any {
			return c.Do(t, "GET", c.path("/conversations/"+conv), c.key, nil).JSON(t)["conversation"].(map[string]any)
		}
		lastReceived := func() string {
			r := c.Do(t, "GET", c.path("/conversations/"+conv+"/messages"), c.key, nil).JSON(t)
			ms := r["messages"].([]any)
			return ms[len(ms)-1].(map[string]any)["received"].(string)
		}
		if got, want := conversation()["lastUpdatedAt"], lastReceived(); got != want {
			t.Errorf("got lastUpdatedAt %v, want the last message's received %v", got, want)
		}
		e.MustJSON(t, c.Do(t, "DELETE", c.path("/conversations/"+conv+"/messages/"+ids[229]), c.key, nil), 200, `{}`)
		apitest.MustError(t, c.Do(t, "DELETE", c.path("/conversations/"+conv+"/messages/"+ids[229]), c.key, nil), 404, "conversation_not_found", "Conversation not found")
		if got, want := conversation()["lastUpdatedAt"], lastReceived(); got != want {
			t.Errorf("after deleting the last message: got lastUpdatedAt %v, want %v", got, want)
		}
		check("after delete", get(""), 129, 229, true, ids[129], "")
		e.MustJSON(t, c.Do(t, "DELETE", c.path("/conversations/"+conv+"/messages"), c.key, nil), 200, `{}`)
		e.MustJSON(t, c.Do(t, "GET", c.path("/conversations/"+conv+"/messages"), c.key, nil), 200, `{"messages":[],"meta":{"hasMore":false}}`)
		if cv := conversation(); cv["lastUpdatedAt"] != cv["createdAt"] {
			t.Errorf("got lastUpdatedAt %v with no messages, want createdAt %v", cv["lastUpdatedAt"], cv["createdAt"])
		}
		apitest.MustError(t, c.Do(t, "DELETE", c.path("/conversations/5d8cff3cd55b040010928b5b/messages"), c.key, nil), 404, "conversation_not_found", "Conversation not found")
	})
}

// TestMessageLimit: the 30,001st message of a conversation is refused until messages are deleted.
func TestMessageLimit(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		c := newConvEnv(t, e)
		conv := c.mustConversation(t, map[string]any{"type": "sdkGroup"})
		apitest.MustStatus(t, c.Do(t, "POST", c.path("/conversations/"+conv+"/messages"), c.key, business("first")), 201)
		db, rebind := rawDB(t, e)
		// Pretend 29,998 more messages are there: the limit reads the kept count, not COUNT(*).
		if _, err := db.Exec(rebind("UPDATE conversations SET message_count = ? WHERE id = ?"), 29999, conv); err != nil {
			t.Fatal(err)
		}
		apitest.MustStatus(t, c.Do(t, "POST", c.path("/conversations/"+conv+"/messages"), c.key, business("30,000th")), 201)
		apitest.MustError(t, c.Do(t, "POST", c.path("/conversations/"+conv+"/messages"), c.key, business("one too many")), 423, "locked", "Message limit of 30000 per conversation reached.")
		e.MustJSON(t, c.Do(t, "DELETE", c.path("/conversations/"+conv+"/messages"), c.key, nil), 200, `{}`)
		apitest.MustStatus(t, c.Do(t, "POST", c.path("/conversations/"+conv+"/messages"), c.key, business("room again")), 201)
	})
}

func TestActivities(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		c := newConvEnv(t, e)
		u := c.mustUser(t, "reader", "", "")
		stranger := c.mustUser(t, "stranger", "", "")
		conv := c.mustConversation(t, map[string]any{"type": "personal", "participants": []any{map[string]any{"userId": u.ID}}})
		for i := 0; i < 3; i++ {
			apitest.MustStatus(t, c.Do(t, "POST", c.path("/conversations/"+conv+"/messages"), c.key, business("news")), 201)
		}
		// The user's own message does not count as unread for them.
		apitest.MustStatus(t, c.Do(t, "POST", c.path("/conversations/"+conv+"/messages"), c.key,
			map[string]any{"author": map[string]any{"type": "user", "userId": u.ID}, "content": map[string]any{"type": "text", "text": "hi"}}), 201)
		e.MustJSON(t, c.Do(t, "GET", c.path("/conversations/"+conv+"/participants"), c.key, nil), 200,
			`{"participants":[{"id":"ID","userId":"ID","userExternalId":"reader","unreadCount":3,"clientAssociations":[]}],"meta":{"hasMore":false}}`)
		activity := func(body any) *apitest.Response {
			return c.Do(t, "POST", c.path("/conversations/"+conv+"/activity"), c.key, body)
		}
		e.MustJSON(t, activity(map[string]any{"author": map[string]any{"type": "user", "userExternalId": "reader"}, "type": "conversation:read"}), 200, `{}`)
		e.MustJSON(t, c.Do(t, "GET", c.path("/conversations/"+conv+"/participants"), c.key, nil), 200,
			`{"participants":[{"id":"ID","userId":"ID","userExternalId":"reader","unreadCount":0,"clientAssociations":[],"lastRead":"TIME"}],"meta":{"hasMore":false}}`)
		e.MustJSON(t, activity(map[string]any{"author": map[string]any{"type": "business"}, "type": "typing:start"}), 200, `{}`)
		e.MustJSON(t, activity(map[string]any{"author": map[string]any{"type": "business"}, "type": "typing:stop"}), 200, `{}`)
		e.MustJSON(t, activity(map[string]any{"author": map[string]any{"type": "business"}, "type": "conversation:read"}), 200, `{}`)
		cv := c.Do(t, "GET", c.path("/conversations/"+conv), c.key, nil).JSON(t)["conversation"].(map[string]any)
		if cv["businessLastRead"] == nil {
			t.Errorf("got %v, want businessLastRead set after a business conversation:read", cv)
		}
		apitest.MustError(t, activity(map[string]any{"author": map[string]any{"type": "user", "userId": u.ID}, "type": "typing:start"}), 400, "bad_request", "type should be conversation:read when author.type is user")
		apitest.MustError(t, activity(map[string]any{"author": map[string]any{"type": "business"}, "type": "typing"}), 400, "bad_request", "type should be equal to one of the allowed values: conversation:read, typing:start, typing:stop")
		apitest.MustError(t, activity(map[string]any{"type": "typing:start"}), 400, "bad_request", "should have required property 'author'")
		apitest.MustError(t, activity(map[string]any{"author": map[string]any{"type": "user", "userId": stranger.ID}, "type": "conversation:read"}), 404, "not_found", "User is not a member of the conversation")
		apitest.MustError(t, c.Do(t, "POST", c.path("/conversations/5d8cff3cd55b040010928b5b/activity"), c.key, map[string]any{"author": map[string]any{"type": "business"}, "type": "typing:start"}), 404, "conversation_not_found", "Conversation not found")
	})
}

// TestConcurrentPosts: messages posted at once share commits, and each is stored once with the
// counts they change kept exact.
func TestConcurrentPosts(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		c := newConvEnv(t, e)
		u := c.mustUser(t, "busy", "", "")
		conv := c.mustConversation(t, map[string]any{"type": "personal", "participants": []any{map[string]any{"userId": u.ID}}})
		other := c.mustConversation(t, map[string]any{"type": "sdkGroup"})
		var wg sync.WaitGroup
		var mu sync.Mutex
		ids := map[string]bool{}
		for w := 0; w < 20; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 10; i++ {
					target, body := conv, business("b")
					if i%5 == 4 { // the user writes too, and another conversation gets messages
						body = map[string]any{"author": map[string]any{"type": "user", "userId": u.ID}, "content": map[string]any{"type": "text", "text": "u"}}
					}
					if i == 9 {
						target = other
					}
					r := c.Do(t, "POST", c.path("/conversations/"+target+"/messages"), c.key, body)
					var out struct{ Messages []struct{ ID string } }
					r.Decode(t, &out)
					mu.Lock()
					if r.Status != 201 || ids[out.Messages[0].ID] {
						t.Errorf("got status %d id %v", r.Status, out.Messages)
					}
					ids[out.Messages[0].ID] = true
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		count := func(id string) int {
			n := 0
			path := c.path("/conversations/" + id + "/messages")
			for {
				var p struct {
					Messages []struct{ ID string }
					Meta     struct {
						HasMore      bool
						BeforeCursor string
					}
				}
				c.Do(t, "GET", path, c.key, nil).Decode(t, &p)
				n += len(p.Messages)
				if !p.Meta.HasMore {
					return n
				}
				path = c.path("/conversations/" + id + "/messages?page[before]=" + p.Meta.BeforeCursor)
			}
		}
		if got, gotOther := count(conv), count(other); got != 180 || gotOther != 20 {
			t.Errorf("got %d and %d messages listed, want 180 and 20", got, gotOther)
		}
		// 180 messages in the personal conversation, 20 of them the user's own: 160 unread.
		e.MustJSON(t, c.Do(t, "GET", c.path("/conversations/"+conv+"/participants"), c.key, nil), 200,
			`{"participants":[{"id":"ID","userId":"ID","userExternalId":"busy","unreadCount":160,"clientAssociations":[]}],"meta":{"hasMore":false}}`)
	})
}
