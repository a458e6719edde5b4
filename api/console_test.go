package api_test

import (
	"bufio"
	"context"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sunlamp/sunlamp/api"
	"github.com/sunlamp/sunlamp/internal/apitest"
	"github.com/sunlamp/sunlamp/sqlstore"
)

// Tests of the console's page and of the endpoints it needs beyond /v2 (issue 16).

func TestConsolePage(t *testing.T) {
	e := apitest.NewEnv(t, "sqlite")
	resp, body := fetch(t, "GET", e.URL+"/console", nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /console: got %d %q, want 200 text/html", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe") {
		t.Errorf("Content-Security-Policy %q allows unsafe code", csp)
	}
	if resp.Header.Get("Set-Cookie") != "" {
		t.Errorf("GET /console set a cookie: %q", resp.Header.Get("Set-Cookie"))
	}
	// No inline script or style: the policy would refuse them.
	if regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]|<style|\sstyle=|\son[a-z]+=`).Match(body) {
		t.Errorf("the page has inline code or style:\n%s", body)
	}

	// Every module the page imports is served, as JavaScript.
	dir := "console"
	imports := regexp.MustCompile(`(?:from|import\()\s*'\./([a-z0-9_-]+\.js)'`)
	seen := map[string]bool{"app.js": true}
	err := fs.WalkDir(os.DirFS(dir), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(p) != ".js" {
			return err
		}
		src, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil {
			return err
		}
		for _, m := range imports.FindAllSubmatch(src, -1) {
			seen[string(m[1])] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for name := range seen {
		resp, _ := fetch(t, "GET", e.URL+"/console/assets/"+name, nil)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/javascript; charset=utf-8" {
			t.Errorf("GET /console/assets/%s: got %d %q, want 200 text/javascript", name, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
	for _, name := range []string{"console.css", "icon.svg"} {
		if resp, _ := fetch(t, "GET", e.URL+"/console/assets/"+name, nil); resp.StatusCode != 200 {
			t.Errorf("GET /console/assets/%s: got %d, want 200", name, resp.StatusCode)
		}
	}
	for _, name := range []string{"index.html", "nope.js", "%2e%2e%2fconsole.go"} {
		resp, body := fetch(t, "GET", e.URL+"/console/assets/"+name, nil)
		if resp.StatusCode != 404 || !strings.Contains(string(body), `"not_found"`) {
			t.Errorf("GET /console/assets/%s: got %d %s, want 404 not_found", name, resp.StatusCode, body)
		}
	}
}

func TestWhoAmI(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		e.MustJSON(t, e.Do(t, "GET", "/_sunlamp/v1/whoami", e.Account(), nil), 200,
			`{"key":{"id":"act_ID","type":"account","displayName":"test"},"emulator":false}`)
		app := e.MustCreateApp(t, "Who")
		key := e.MustCreateAppKey(t, app)
		e.MustJSON(t, e.Do(t, "GET", "/_sunlamp/v1/whoami", apitest.KeyAuth(key), nil), 200,
			`{"key":{"id":"app_ID","type":"app","displayName":"key","appId":"ID"},"emulator":false}`)
		apitest.MustError(t, e.Do(t, "GET", "/_sunlamp/v1/whoami", apitest.Basic{ID: key.ID, Secret: "wrong"}, nil), 401, "unauthorized", "")
		apitest.MustError(t, e.Do(t, "GET", "/_sunlamp/v1/whoami", apitest.NoAuth{}, nil), 401, "unauthorized", "")
	})
	em := apitest.NewEmulatorEnv(t, "sqlite")
	r := em.Do(t, "GET", "/_sunlamp/v1/whoami", em.Account(), nil)
	if !strings.Contains(string(r.Body), `"emulator":true`) {
		t.Errorf("whoami of an emulator: got %s, want emulator true", r.Body)
	}
}

// inboundText has a user write text on WhatsApp through the simulator; it returns the conversation id.
func inboundText(t *testing.T, e *apitest.Env, appID, phone, name, text string) string {
	t.Helper()
	if r := e.Do(t, "POST", "/v2/apps/"+appID+"/users", e.Account(), map[string]any{"externalId": "ext-" + phone,
		"profile": map[string]any{"givenName": name, "email": strings.ReplaceAll(strings.ToLower(name), " ", ".") + "@example.org"}}); r.Status != 201 && r.Status != 409 {
		t.Fatalf("create user: got %d %s", r.Status, r.Body)
	}
	r := e.Do(t, "POST", "/_sunlamp/v1/apps/"+appID+"/inbound", e.Account(), map[string]any{
		"channel": "whatsapp", "user": map[string]any{"externalId": "ext-" + phone},
		"client":  map[string]any{"externalId": phone, "displayName": name},
		"content": map[string]any{"type": "text", "text": text},
	})
	apitest.MustStatus(t, r, 201)
	return r.JSON(t)["conversation"].(map[string]any)["id"].(string)
}

func TestBrowseConversations(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		app := e.MustCreateApp(t, "Browse")
		list := "/_sunlamp/v1/apps/" + app + "/conversations"
		e.MustJSON(t, e.Do(t, "GET", list, e.Account(), nil), 200, `{"conversations":[],"meta":{"hasMore":false}}`)

		conv := inboundText(t, e, app, "+15145550100", "Jane D.", "Hello, is the 50% off_sale on?")
		e.MustJSON(t, e.Do(t, "GET", list, e.Account(), nil), 200, `{"conversations":[{
			"id":"ID","type":"personal","isDefault":true,"lastUpdatedAt":"TIME","createdAt":"TIME",
			"messageCount":1,"participantCount":1,
			"participants":[{"userId":"ID","userExternalId":"ext-+15145550100","givenName":"Jane D.","email":"jane.d.@example.org"}],
			"lastMessage":{"id":"ID","authorType":"user","contentType":"text","text":"Hello, is the 50% off_sale on?","received":"TIME"}}],
			"meta":{"hasMore":false}}`)

		// 24 more conversations, each active a second after the one before.
		ids := []string{conv}
		for i := 1; i < 25; i++ {
			e.Clock.Advance(time.Second)
			ids = append(ids, inboundText(t, e, app, fmt.Sprintf("+1514555%04d", 100+i), fmt.Sprintf("User %d", i), fmt.Sprintf("message %d", i)))
		}
		// The first conversation gets a business answer: it is the most recently active.
		e.Clock.Advance(time.Second)
		apitest.MustStatus(t, e.Do(t, "POST", "/v2/apps/"+app+"/conversations/"+conv+"/messages", e.Account(),
			map[string]any{"author": map[string]any{"type": "business", "displayName": "Bot"}, "content": map[string]any{"type": "text", "text": "Yes!"}}), 201)
		want := append([]string{conv}, reversed(ids[1:])...)

		type page struct {
			Conversations []struct {
				ID          string
				LastMessage struct{ AuthorType, AuthorDisplayName, Text string }
			}
			Meta  struct{ HasMore bool }
			Links struct{ Next, Prev string }
		}
		var got []string
		var p page
		e.Do(t, "GET", list+"?page[size]=10", e.Account(), nil).Decode(t, &p)
		if p.Conversations[0].LastMessage.AuthorType != "business" || p.Conversations[0].LastMessage.AuthorDisplayName != "Bot" || p.Conversations[0].LastMessage.Text != "Yes!" {
			t.Errorf("got last message %+v, want the business's Yes!", p.Conversations[0].LastMessage)
		}
		for pages := 0; ; pages++ {
			for _, c := range p.Conversations {
				got = append(got, c.ID)
			}
			if p.Links.Next == "" || pages > 5 {
				break
			}
			next := strings.TrimPrefix(p.Links.Next, e.URL)
			p = page{}
			e.Do(t, "GET", next, e.Account(), nil).Decode(t, &p)
			if p.Links.Prev == "" {
				t.Errorf("page after the first: no prev link")
			}
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("got order\n%v\nwant\n%v", got, want)
		}
		// Back from the last page.
		prev := strings.TrimPrefix(p.Links.Prev, e.URL)
		p = page{}
		e.Do(t, "GET", prev, e.Account(), nil).Decode(t, &p)
		if len(p.Conversations) != 10 || p.Conversations[0].ID != want[10] {
			t.Errorf("the page before the last: got %d conversations from %v, want 10 from %s", len(p.Conversations), p.Conversations, want[10])
		}

		// Search: an externalId, a part of a name (case and LIKE's wildcards are plain text), an id.
		count := func(q string) int {
			var p page
			e.Do(t, "GET", list+"?filter[q]="+q, e.Account(), nil).Decode(t, &p)
			return len(p.Conversations)
		}
		for q, n := range map[string]int{"ext-%2B15145550107": 1, "USER%201": 11, "user.12%40": 1, "jane": 1, "50%25": 0, "_": 0, ids[3]: 1, "nobody": 0} {
			if got := count(q); got != n {
				t.Errorf("filter[q]=%s: got %d conversations, want %d", q, got, n)
			}
		}
		e.MustJSON(t, e.Do(t, "GET", list+"?filter[type]=sdkGroup", e.Account(), nil), 200, `{"conversations":[],"meta":{"hasMore":false}}`)
		apitest.MustError(t, e.Do(t, "GET", list+"?filter[type]=group", e.Account(), nil), 400, "bad_request", "filter[type] should be equal to one of the allowed values: personal, sdkGroup")
		apitest.MustError(t, e.Do(t, "GET", list+"?page[after]=nonsense", e.Account(), nil), 400, "bad_request", "page cursor is not one this list returned")

		// Another app's key sees nothing of it.
		other := e.MustCreateApp(t, "Other")
		apitest.MustError(t, e.Do(t, "GET", list, apitest.KeyAuth(e.MustCreateAppKey(t, other)), nil), 403, "forbidden", "")
	})
}

func reversed(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[len(s)-1-i] = v
	}
	return out
}

// TestConversationEvents watches a conversation: a business message arrives as a notice at once,
// a message the simulator writes through the state read every second, typing as its own event.
func TestConversationEvents(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		app := e.MustCreateApp(t, "Events")
		conv := inboundText(t, e, app, "+15145550199", "Jane", "hi")
		path := "/_sunlamp/v1/apps/" + app + "/conversations/" + conv + "/events"
		e.MustJSON(t, e.Do(t, "GET", path, e.Account(), nil), 200,
			`{"state":{"conversationId":"ID","messageCount":1,"lastUpdatedAt":"TIME"}}`)
		apitest.MustError(t, e.Do(t, "GET", "/_sunlamp/v1/apps/"+app+"/conversations/aaaaaaaaaaaaaaaaaaaaaaaa/events", e.Account(), nil), 404, "conversation_not_found", "")

		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", e.URL+path, nil)
		req.SetBasicAuth(e.AccountKey.ID, e.AccountKey.Secret)
		req.Header.Set("Accept", "text/event-stream")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
			t.Fatalf("got Content-Type %q, want text/event-stream", ct)
		}
		events := make(chan string, 16)
		go func() {
			sc := bufio.NewScanner(resp.Body)
			var ev string
			for sc.Scan() {
				line := sc.Text()
				switch {
				case strings.HasPrefix(line, "event: "):
					ev = strings.TrimPrefix(line, "event: ")
				case strings.HasPrefix(line, "data: "):
					events <- ev + " " + e.Normalize(t, []byte(strings.TrimPrefix(line, "data: ")))
				}
			}
			close(events)
		}()
		next := func(what string) string {
			t.Helper()
			select {
			case ev, ok := <-events:
				if !ok {
					t.Fatalf("%s: the stream ended", what)
				}
				return strings.Join(strings.Fields(ev), " ")
			case <-ctx.Done():
				t.Fatalf("%s: no event", what)
			}
			return ""
		}
		if got := next("ready"); !strings.HasPrefix(got, `ready { "conversationId": "ID", "lastUpdatedAt": "TIME", "messageCount": 1 }`) {
			t.Errorf("got %s, want ready with the state", got)
		}
		apitest.MustStatus(t, e.Do(t, "POST", "/v2/apps/"+app+"/conversations/"+conv+"/messages", e.Account(),
			map[string]any{"author": map[string]any{"type": "business"}, "content": map[string]any{"type": "text", "text": "hello"}}), 201)
		if got := next("the business message"); !strings.HasPrefix(got, `message { "conversationId": "ID", "lastUpdatedAt": "TIME", "messageCount": 2 }`) {
			t.Errorf("got %s, want message with 2 messages", got)
		}
		inboundText(t, e, app, "+15145550199", "Jane", "and again")
		if got := next("the simulated message"); !strings.HasPrefix(got, `message { "conversationId": "ID", "lastUpdatedAt": "TIME", "messageCount": 3 }`) {
			t.Errorf("got %s, want message with 3 messages", got)
		}
		apitest.MustStatus(t, e.Do(t, "POST", "/v2/apps/"+app+"/conversations/"+conv+"/activity", e.Account(),
			map[string]any{"author": map[string]any{"type": "business", "displayName": "Bot"}, "type": "typing:start"}), 200)
		if got := next("typing"); got != `typing { "name": "Bot", "role": "business", "type": "typing:start", "userId": "" }` {
			t.Errorf("got %s, want typing:start by Bot", got)
		}
	})
}

// TestConversationEventsAcrossProcesses: two servers on one PostgreSQL database; a stream opened
// on one sees the messages written through the other.
func TestConversationEventsAcrossProcesses(t *testing.T) {
	e := apitest.NewEnv(t, "postgres")
	st, err := sqlstore.Open(context.Background(), e.DSN)
	if err != nil {
		t.Fatal(err)
	}
	other := httptest.NewServer(api.NewServer(api.Config{Store: st}))
	t.Cleanup(func() {
		other.Close()
		st.Close()
	})
	app := e.MustCreateApp(t, "Two processes")
	conv := inboundText(t, e, app, "+15145550142", "Jane", "hi")

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.URL+"/_sunlamp/v1/apps/"+app+"/conversations/"+conv+"/events", nil)
	req.SetBasicAuth(e.AccountKey.ID, e.AccountKey.Secret)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	next := func() string {
		for sc.Scan() {
			if ev, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
				sc.Scan()
				return ev + " " + strings.TrimPrefix(sc.Text(), "data: ")
			}
		}
		t.Fatalf("the stream ended: %v", sc.Err())
		return ""
	}
	if got := next(); !strings.HasPrefix(got, "ready ") {
		t.Fatalf("got %s, want ready", got)
	}
	// Through the other process.
	body := strings.NewReader(`{"author":{"type":"business"},"content":{"type":"text","text":"from the other process"}}`)
	preq, _ := http.NewRequest("POST", other.URL+"/v2/apps/"+app+"/conversations/"+conv+"/messages", body)
	preq.SetBasicAuth(e.AccountKey.ID, e.AccountKey.Secret)
	preq.Header.Set("Content-Type", "application/json")
	presp, err := http.DefaultClient.Do(preq)
	if err != nil || presp.StatusCode != 201 {
		t.Fatalf("post through the other process: %v %v", presp, err)
	}
	presp.Body.Close()
	if got := next(); !strings.HasPrefix(got, "message ") || !strings.Contains(got, `"messageCount":2`) {
		t.Errorf("got %s, want message with 2 messages", got)
	}
}
