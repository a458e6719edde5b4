package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sunlamp/sunlamp/api"
	"github.com/sunlamp/sunlamp/internal/apitest"
	"github.com/sunlamp/sunlamp/internal/webhooktest"
	"github.com/sunlamp/sunlamp/sqlstore"
)

// visitor is a web messenger visitor of the tests: the page's calls, made by hand.
type visitor struct {
	e     *apitest.Env
	base  string // /_sunlamp/v1/web/{integrationId}/
	token string
	user  string
	conv  string
}

func (v *visitor) auth() apitest.Auth {
	if v.token == "" {
		return apitest.NoAuth{}
	}
	return apitest.Bearer(v.token)
}

func (v *visitor) do(t *testing.T, method, path string, body any) *apitest.Response {
	t.Helper()
	return v.e.Do(t, method, v.base+path, v.auth(), body)
}

// mustStart makes the visitor's user with a first message.
func mustStartVisitor(t *testing.T, e *apitest.Env, webID, guid, text string) *visitor {
	t.Helper()
	v := &visitor{e: e, base: "/_sunlamp/v1/web/" + webID + "/"}
	r := v.do(t, "POST", "visitors", map[string]any{"guid": guid, "locale": "fr-CA",
		"info":    map[string]any{"currentUrl": "https://shop.example/help", "userAgent": "Mozilla/5.0", "evil": "dropped"},
		"content": map[string]any{"type": "text", "text": text}})
	apitest.MustStatus(t, r, http.StatusCreated)
	var out struct {
		Token        string
		User         struct{ ID string }
		Conversation struct{ ID string }
	}
	r.Decode(t, &out)
	v.token, v.user, v.conv = out.Token, out.User.ID, out.Conversation.ID
	return v
}

func TestWebMessengerEndpoints(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		appID := e.MustCreateApp(t, "Web")
		key := apitest.KeyAuth(e.MustCreateAppKey(t, appID))
		app := "/v2/apps/" + appID
		webID := createIntegration(t, e, appID, key, map[string]any{"type": "web", "businessName": "Acme", "brandColor": "112233",
			"originWhitelist": []string{"https://shop.example"}})
		otherWeb := createIntegration(t, e, appID, key, map[string]any{"type": "web"})
		telegram := createIntegration(t, e, appID, key, map[string]any{"type": "telegram", "token": "t"})

		// The page and its files, with a strict CSP; only web integrations have one.
		resp, body := fetch(t, "GET", e.URL+"/web/"+webID, nil)
		if resp.StatusCode != 200 || !strings.Contains(string(body), `data-integration-id="`+webID+`"`) || !strings.Contains(string(body), "<title>Acme</title>") {
			t.Fatalf("page: got %d %s", resp.StatusCode, body)
		}
		csp := resp.Header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'self' https://shop.example"} {
			if !strings.Contains(csp, want) {
				t.Errorf("page CSP %q lacks %q", csp, want)
			}
		}
		if strings.Contains(string(body), "<script>") || strings.Contains(string(body), "style=") {
			t.Errorf("page has inline code: %s", body)
		}
		resp, _ = fetch(t, "GET", e.URL+"/web/assets/app.js", nil)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") {
			t.Errorf("app.js: got %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		for _, p := range []string{"/web/" + telegram, "/web/5e4af71a81966cfff3ef6550", "/web/assets/index.html", "/web/assets/nope.js"} {
			if resp, _ := fetch(t, "GET", e.URL+p, nil); resp.StatusCode != 404 {
				t.Errorf("GET %s: got %d, want 404", p, resp.StatusCode)
			}
		}

		anon := &visitor{e: e, base: "/_sunlamp/v1/web/" + webID + "/"}
		e.MustJSON(t, anon.do(t, "GET", "config", nil), 200, `{"integration":{"id":"ID","type":"web","businessName":"Acme","brandColor":"112233",
			"actionColor":"0099ff","conversationColor":"0099ff","displayStyle":"button","fixedIntroPane":false},
			"app":{"multiConvoEnabled":false}}`)
		// Without a credential nothing but the configuration and the first message.
		apitest.MustError(t, anon.do(t, "GET", "session", nil), 401, "unauthorized", "")

		// The first message makes the user, its sdk client and web device, and the conversation.
		v := mustStartVisitor(t, e, webID, "0f1e2d3c4b5a69788796a5b4c3d2e1f0", "my card is 4111 1111 1111 1111")
		if !strings.HasPrefix(v.token, "svt_") {
			t.Fatalf("got token %q", v.token)
		}
		e.MustJSON(t, v.do(t, "GET", "session", nil), 200, `{"user":{"id":"ID","locale":"fr-CA","authenticated":false},
			"conversations":[{"id":"ID","type":"personal","isDefault":true,"lastUpdatedAt":"TIME"}]}`)
		r := v.do(t, "GET", "conversations/"+v.conv+"/messages", nil)
		e.MustJSON(t, r, 200, `{"conversation":{"id":"ID","type":"personal","isDefault":true,"lastUpdatedAt":"TIME"},
			"messages":[{"id":"ID","received":"TIME","author":{"type":"user","userId":"ID"},
			"content":{"type":"text","text":"my card is ************1111"},"source":{"type":"web","integrationId":"ID"}}],"hasMore":false}`)
		e.MustJSON(t, e.Do(t, "GET", usersPath(appID, v.user, "devices"), key, nil), 200, `{"devices":[{"id":"ID","guid":"0f1e2d3c4b5a69788796a5b4c3d2e1f0",
			"clientId":"ID","integrationId":"ID","type":"web","status":"active","lastSeen":"TIME",
			"info":{"currentUrl":"https://shop.example/help","userAgent":"Mozilla/5.0"}}]}`)

		// What the visitor writes: a quick reply's text with its payload, a location, a form's answers.
		for _, c := range []map[string]any{
			{"type": "text", "text": "Large", "payload": "SIZE_L"},
			{"type": "location", "coordinates": map[string]any{"lat": 45.5, "long": -73.6}},
			{"type": "formResponse", "fields": []any{map[string]any{"type": "email", "name": "email", "label": "Email", "email": "a@b.example", "quotedMessageId": "x"},
				map[string]any{"type": "select", "name": "size", "label": "Size", "select": []any{map[string]any{"name": "l", "label": "Large"}}}}},
		} {
			apitest.MustStatus(t, v.do(t, "POST", "conversations/"+v.conv+"/messages", map[string]any{"content": c}), 201)
		}
		r = e.Do(t, "GET", app+"/conversations/"+v.conv+"/messages", key, nil)
		if !strings.Contains(string(r.Body), `{"type":"formResponse","fields":[{"type":"email","name":"email","label":"Email","email":"a@b.example"},{"type":"select","name":"size","label":"Size","select":[{"name":"l","label":"Large"}]}],"textFallback":"Email: a@b.example\nSize: Large"}`) &&
			!strings.Contains(string(r.Body), `"textFallback":"Email: a@b.example\nSize: Large"`) {
			t.Errorf("formResponse: got %s", r.Body)
		}
		for _, c := range []struct {
			content any
			title   string
		}{
			{map[string]any{"type": "carousel", "items": []any{}}, "content.type should be equal to one of the allowed values: text, image, file, location, formResponse"},
			{map[string]any{"type": "text", "text": "x", "actions": []any{map[string]any{"type": "link", "text": "a", "uri": "https://a.example"}}}, "content.actions are not supported in a visitor's message"},
			{map[string]any{"type": "formResponse", "fields": []any{}}, "content.fields should have at least 1 item"},
		} {
			apitest.MustError(t, v.do(t, "POST", "conversations/"+v.conv+"/messages", map[string]any{"content": c.content}), 400, "bad_request", c.title)
		}

		// A credential speaks for one user of one integration: not another integration, not /v2,
		// not with a changed secret, not another user's conversation.
		other := &visitor{e: e, base: "/_sunlamp/v1/web/" + otherWeb + "/", token: v.token}
		apitest.MustError(t, other.do(t, "GET", "session", nil), 401, "unauthorized", "")
		apitest.MustError(t, e.Do(t, "GET", app, apitest.Bearer(v.token), nil), 401, "unauthorized", "")
		forged := &visitor{e: e, base: v.base, token: v.token[:len(v.token)-2] + "xx"}
		apitest.MustError(t, forged.do(t, "GET", "session", nil), 401, "unauthorized", "")
		w := mustStartVisitor(t, e, webID, "aaaabbbbccccddddeeeeffff00001111", "hello")
		apitest.MustError(t, v.do(t, "GET", "conversations/"+w.conv+"/messages", nil), 404, "conversation_not_found", "")
		apitest.MustError(t, v.do(t, "POST", "conversations/"+w.conv+"/activity", map[string]any{"type": "typing:start"}), 404, "conversation_not_found", "")

		// A guid that names a visitor already cannot be taken over without its credential.
		apitest.MustError(t, anon.do(t, "POST", "visitors", map[string]any{"guid": "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
			"content": map[string]any{"type": "text", "text": "it's me"}}), 409, "conflict", "The device guid belongs to another visitor")

		// originWhitelist: another site's page is refused; a listed one gets CORS.
		r = e.DoHeader(t, "GET", v.base+"session", v.auth(), nil, http.Header{"Origin": {"https://evil.example"}})
		apitest.MustError(t, r, 403, "forbidden", "Origin not allowed")
		r = e.DoHeader(t, "GET", v.base+"session", v.auth(), nil, http.Header{"Origin": {"https://shop.example"}})
		if r.Status != 200 || r.Header.Get("Access-Control-Allow-Origin") != "https://shop.example" {
			t.Errorf("whitelisted origin: got %d, Access-Control-Allow-Origin %q", r.Status, r.Header.Get("Access-Control-Allow-Origin"))
		}
		r = e.DoHeader(t, "GET", v.base+"session", v.auth(), nil, http.Header{"Origin": {e.URL}})
		apitest.MustStatus(t, r, 200)

		// Activities become the events of the user.
		apitest.MustStatus(t, v.do(t, "POST", "conversations/"+v.conv+"/activity", map[string]any{"type": "conversation:read"}), 200)
		apitest.MustError(t, v.do(t, "POST", "conversations/"+v.conv+"/activity", map[string]any{"type": "typing"}), 400, "bad_request", "")

		// An image upload goes through the attachments store and becomes an image message.
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		fw, _ := mw.CreateFormFile("source", "latte.png")
		_, _ = fw.Write(tinyPNG)
		_ = mw.Close()
		req, _ := http.NewRequest("POST", e.URL+v.base+"attachments?conversationId="+v.conv, &buf)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("Authorization", "Bearer "+v.token)
		resp, body = doRequest(t, req)
		if resp.StatusCode != 201 || !strings.Contains(string(body), `"mediaType":"image/png"`) {
			t.Fatalf("upload: got %d %s", resp.StatusCode, body)
		}
		var up struct{ Attachment struct{ MediaURL string } }
		_ = json.Unmarshal(body, &up)
		r = v.do(t, "POST", "conversations/"+v.conv+"/messages", map[string]any{"content": map[string]any{"type": "image", "mediaUrl": up.Attachment.MediaURL}})
		if r.Status != 201 || !strings.Contains(string(r.Body), `"mediaSize":`) {
			t.Errorf("image message: got %d %s", r.Status, r.Body)
		}
		req, _ = http.NewRequest("POST", e.URL+v.base+"attachments?conversationId="+w.conv, bytes.NewReader(nil))
		req.Header.Set("Authorization", "Bearer "+v.token)
		if resp, _ := doRequest(t, req); resp.StatusCode != 404 {
			t.Errorf("upload to another's conversation: got %d, want 404", resp.StatusCode)
		}

		// Deleting the user ends its sessions.
		apitest.MustStatus(t, e.Do(t, "DELETE", usersPath(appID, w.user), key, nil), 200)
		apitest.MustError(t, w.do(t, "GET", "session", nil), 401, "unauthorized", "")
		// Logging out ends the session.
		apitest.MustStatus(t, v.do(t, "DELETE", "session", nil), 200)
		apitest.MustError(t, v.do(t, "GET", "session", nil), 401, "unauthorized", "")

		// Anonymous calls that make users are rate limited by address.
		limited := false
		for range 40 {
			if r := anon.do(t, "POST", "visitors", map[string]any{}); r.Status == 429 {
				limited = true
				break
			}
		}
		if !limited {
			t.Errorf("40 anonymous POST visitors at once: got no 429")
		}
	})
}

// tinyPNG is a 1×1 PNG.
var tinyPNG = []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R', 0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1f, 0x15, 0xc4,
	0x89, 0, 0, 0, 13, 'I', 'D', 'A', 'T', 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0, 0x1f, 0, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d,
	0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 'B', 0x60, 0x82}

func doRequest(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// sseEvents opens a conversation's event stream and returns a channel of its event names.
func sseEvents(t *testing.T, url, token string) <-chan string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("event stream: got %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	ch := make(chan string, 16)
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if name, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
				ch <- name
			}
		}
	}()
	return ch
}

func waitSSE(t *testing.T, ch <-chan string, want string) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case name := <-ch:
			if name == want {
				return time.Since(start)
			}
		case <-deadline:
			t.Fatalf("no %q event on the stream within 10s", want)
		}
	}
}

// TestWebMessengerLive: a business message or activity reaches the page's event stream at once,
// and on PostgreSQL through another server process sharing the database (LISTEN/NOTIFY).
func TestWebMessengerLive(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		appID := e.MustCreateApp(t, "Live")
		key := apitest.KeyAuth(e.MustCreateAppKey(t, appID))
		webID := createIntegration(t, e, appID, key, map[string]any{"type": "web"})
		v := mustStartVisitor(t, e, webID, "1234567890abcdef1234567890abcdef", "hi")
		events := sseEvents(t, e.URL+v.base+"conversations/"+v.conv+"/events", v.token)
		waitSSE(t, events, "ready")
		conv := "/v2/apps/" + appID + "/conversations/" + v.conv
		apitest.MustStatus(t, e.Do(t, "POST", conv+"/messages", key, map[string]any{"author": map[string]any{"type": "business"},
			"content": map[string]any{"type": "text", "text": "hello"}}), 201)
		t.Logf("same process: message event %v after the 201", waitSSE(t, events, "message"))
		apitest.MustStatus(t, e.Do(t, "POST", conv+"/activity", key, map[string]any{"author": map[string]any{"type": "business"}, "type": "typing:start"}), 200)
		waitSSE(t, events, "typing")
		apitest.MustStatus(t, e.Do(t, "POST", conv+"/activity", key, map[string]any{"author": map[string]any{"type": "business"}, "type": "conversation:read"}), 200)
		waitSSE(t, events, "read")

		if e.Name != "postgres" {
			return
		}
		// A second server process on the same database: the business posts through it.
		st, err := sqlstore.Open(context.Background(), e.DSN)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		other := httptest.NewServer(api.NewServer(api.Config{Store: st}))
		t.Cleanup(other.Close)
		body, _ := json.Marshal(map[string]any{"author": map[string]any{"type": "business"}, "content": map[string]any{"type": "text", "text": "from afar"}})
		req, _ := http.NewRequest("POST", other.URL+conv+"/messages", bytes.NewReader(body))
		req.SetBasicAuth(key.ID, key.Secret)
		req.Header.Set("Content-Type", "application/json")
		if resp, b := doRequest(t, req); resp.StatusCode != 201 {
			t.Fatalf("post through the second process: %d %s", resp.StatusCode, b)
		}
		t.Logf("another process: message event %v after the 201", waitSSE(t, events, "message"))
	})
}

// TestWebMessengerLogin: a visitor logs in with a user JWT; their anonymous user is merged into
// the known one (user:merge), the login is a user:update (authentication), and the browser's
// language a user:update (localeDetection).
func TestWebMessengerLogin(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		appID := e.MustCreateApp(t, "Login")
		appKey := e.MustCreateAppKey(t, appID)
		key := apitest.KeyAuth(appKey)
		rc := webhooktest.NewReceiver(t, nil)
		createIntegration(t, e, appID, key, customBody(rc.URL, "user:merge", "user:update"))
		webID := createIntegration(t, e, appID, key, map[string]any{"type": "web"})
		app := "/v2/apps/" + appID
		userJWT := func(kid, secret string, claims jwt.MapClaims) string {
			return string(token(t, jwt.SigningMethodHS256, kid, []byte(secret), claims))
		}
		login := func(v *visitor, jwtText string) *apitest.Response {
			return v.do(t, "POST", "login", map[string]any{"jwt": jwtText})
		}

		// The known user has a conversation with a message of the business.
		r := e.Do(t, "POST", app+"/users", key, map[string]any{"externalId": "ext-1", "profile": map[string]any{"givenName": "Kim"}})
		apitest.MustStatus(t, r, 201)
		knownID := r.JSON(t)["user"].(map[string]any)["id"].(string)
		r = e.Do(t, "POST", app+"/conversations", key, map[string]any{"type": "personal", "participants": []any{map[string]any{"userId": knownID}}})
		apitest.MustStatus(t, r, 201)
		knownConv := r.JSON(t)["conversation"].(map[string]any)["id"].(string)
		apitest.MustStatus(t, e.Do(t, "POST", app+"/conversations/"+knownConv+"/messages", key, map[string]any{"author": map[string]any{"type": "business"},
			"content": map[string]any{"type": "text", "text": "welcome back"}}), 201)

		v := mustStartVisitor(t, e, webID, "feedfacefeedfacefeedfacefeedface", "hi, it's Kim")
		good := jwt.MapClaims{"scope": "user", "external_id": "ext-1"}
		otherApp := e.MustCreateAppKey(t, e.MustCreateApp(t, "Other"))
		for name, tok := range map[string]string{
			"scope app":        userJWT(appKey.ID, appKey.Secret, jwt.MapClaims{"scope": "app", "external_id": "ext-1"}),
			"no external_id":   userJWT(appKey.ID, appKey.Secret, jwt.MapClaims{"scope": "user"}),
			"wrong secret":     userJWT(appKey.ID, "nope", good),
			"another app":      userJWT(otherApp.ID, otherApp.Secret, good),
			"the account key":  userJWT(e.AccountKey.ID, e.AccountKey.Secret, good),
			"not a JWT at all": "hello",
		} {
			apitest.MustError(t, login(v, tok), 401, "unauthorized", "Invalid user token")
			_ = name
		}
		// A token's expiry is checked against the server's clock, which the emulator moves.
		expiring := userJWT(appKey.ID, appKey.Secret, jwt.MapClaims{"scope": "user", "external_id": "ext-1", "exp": e.Clock.Now().Add(time.Hour).Unix()})
		e.Clock.Advance(2 * time.Hour)
		apitest.MustError(t, login(v, expiring), 401, "unauthorized", "Invalid user token")

		r = login(v, userJWT(appKey.ID, appKey.Secret, good))
		e.MustJSON(t, r, 200, `{"token":"`+r.JSON(t)["token"].(string)+`","user":{"id":"`+knownID+`","externalId":"ext-1","givenName":"Kim","locale":"fr-CA","authenticated":true},
			"conversations":[{"id":"`+knownConv+`","type":"personal","isDefault":true,"lastUpdatedAt":"TIME"}]}`)
		old := v.token
		v.token = r.JSON(t)["token"].(string)
		apitest.MustError(t, (&visitor{e: e, base: v.base, token: old}).do(t, "GET", "session", nil), 401, "unauthorized", "")
		// The anonymous user is gone; its message, device and client are the known user's.
		apitest.MustError(t, e.Do(t, "GET", usersPath(appID, v.user), key, nil), 404, "user_not_found", "")
		r = e.Do(t, "GET", app+"/conversations/"+knownConv+"/messages", key, nil)
		if !strings.Contains(string(r.Body), `"text":"hi, it's Kim"`) || !strings.Contains(string(r.Body), `"userId":"`+knownID+`"`) {
			t.Errorf("merged conversation: got %s", r.Body)
		}
		r = e.Do(t, "GET", usersPath(appID, "ext-1", "devices"), key, nil)
		if !strings.Contains(string(r.Body), "feedfacefeedfacefeedfacefeedface") {
			t.Errorf("merged devices: got %s", r.Body)
		}
		apitest.MustStatus(t, v.do(t, "POST", "conversations/"+knownConv+"/messages", map[string]any{"content": map[string]any{"type": "text", "text": "thanks"}}), 201)

		// A login without an anonymous user, and one that makes the user.
		fresh := &visitor{e: e, base: v.base}
		apitest.MustStatus(t, login(fresh, userJWT(appKey.ID, appKey.Secret, good)), 200)
		r = login(fresh, userJWT(appKey.ID, appKey.Secret, jwt.MapClaims{"scope": "user", "external_id": "ext-new"}))
		e.MustJSON(t, r, 200, `{"token":"`+r.JSON(t)["token"].(string)+`","user":{"id":"ID","externalId":"ext-new","authenticated":true},"conversations":[]}`)

		deliverDue(t, newDispatcher(e))
		var types []string
		for _, g := range rc.All() {
			webhooktest.ValidateBody(t, g.Body)
			p := g.Payload(t)
			types = append(types, g.EventType+" "+fmt.Sprint(p["reason"]))
			if p["reason"] == "authentication" && p["user"].(map[string]any)["authenticated"] != true {
				t.Errorf("user:update (authentication): got user %v, want authenticated", p["user"])
			}
		}
		slices.Sort(types)
		want := []string{"user:merge sdkLogin", "user:update authentication", "user:update authentication", "user:update authentication", "user:update localeDetection"}
		if !slices.Equal(types, want) {
			t.Errorf("got events %v, want %v", types, want)
		}
	})
}
