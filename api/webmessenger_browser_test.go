package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/golang-jwt/jwt/v5"

	"github.com/sunlamp/sunlamp"
	"github.com/sunlamp/sunlamp/internal/apitest"
	"github.com/sunlamp/sunlamp/internal/browsertest"
	"github.com/sunlamp/sunlamp/internal/webhooktest"
)

// screenshotDir is where the browser tests save their screenshots ($SUNLAMP_SCREENSHOTS, else
// the test's temp dir): the README's picture is one of them.
func screenshotDir(t *testing.T) string {
	if d := os.Getenv("SUNLAMP_SCREENSHOTS"); d != "" {
		return d
	}
	return t.TempDir()
}

// botEnv is an app with a web integration, a webhook subscribed to every trigger, and a running
// webhook dispatcher: a bot developer's loop, as the browser tests drive it.
type botEnv struct {
	e        *apitest.Env
	appID    string
	key      apitest.Basic
	webID    string
	receiver *webhooktest.Receiver
}

func newBotEnv(t *testing.T, e *apitest.Env, webConfig map[string]any) *botEnv {
	b := &botEnv{e: e, appID: e.MustCreateApp(t, "Browser")}
	b.key = apitest.KeyAuth(e.MustCreateAppKey(t, b.appID))
	b.receiver = webhooktest.NewReceiver(t, nil)
	createIntegration(t, e, b.appID, b.key, customBody(b.receiver.URL, sunlamp.Triggers...))
	body := map[string]any{"type": "web"}
	for k, v := range webConfig {
		body[k] = v
	}
	b.webID = createIntegration(t, e, b.appID, b.key, body)
	d := newDispatcher(e)
	e.Store.OnOutbox(d.Wake)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = d.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return b
}

// waitEvent waits for a delivered event of type typ whose body holds every one of want, and
// returns its payload.
func (b *botEnv) waitEvent(t *testing.T, typ string, want ...string) map[string]any {
	t.Helper()
	got := b.receiver.WaitFor(t, 15*time.Second, func(all []webhooktest.Received) bool {
		for _, g := range all {
			if g.EventType == typ && containsAll(string(g.Body), want) {
				return true
			}
		}
		return false
	})
	for _, g := range got {
		if g.EventType == typ && containsAll(string(g.Body), want) {
			webhooktest.ValidateBody(t, g.Body)
			return g.Payload(t)
		}
	}
	return nil
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// post posts a business message and returns the moment its 201 arrived.
func (b *botEnv) post(t *testing.T, conv string, content map[string]any) time.Time {
	t.Helper()
	r := b.e.Do(t, "POST", "/v2/apps/"+b.appID+"/conversations/"+conv+"/messages", b.key,
		map[string]any{"author": map[string]any{"type": "business", "displayName": "Sunny Bot"}, "content": content})
	apitest.MustStatus(t, r, http.StatusCreated)
	return time.Now()
}

// articleWith is a JavaScript expression: the page shows a message (role article) holding text.
func articleWith(text string) string {
	q, _ := json.Marshal(text)
	return fmt.Sprintf(`[...document.querySelectorAll('article')].some(a => a.textContent.includes(%s))`, q)
}

// byName is a JavaScript expression: the first button or link whose accessible text is name.
func byName(name string) string {
	q, _ := json.Marshal(name)
	return fmt.Sprintf(`[...document.querySelectorAll('button, a')].find(e => e.textContent.trim() === %s)`, q)
}

// TestWebMessengerBrowser is the bot developer's loop in Debian's Chromium: a visitor writes, the
// bot's webhook gets conversation:message; the bot replies with text, quick replies and a carousel
// with a postback; the page shows them; the visitor taps the postback and the webhook gets
// conversation:postback; typing and read go both ways; an image upload goes round.
func TestWebMessengerBrowser(t *testing.T) {
	e := apitest.NewEnv(t, "sqlite")
	b := newBotEnv(t, e, map[string]any{"brandColor": "1f6f5c", "actionColor": "1f6f5c", "conversationColor": "2b7de9",
		"businessName": "Sunlamp Coffee", "displayName": "Web"})
	ctx := browsertest.New(t)
	dir := screenshotDir(t)
	page := e.URL + "/web/" + b.webID

	browsertest.Do(t, ctx, 20*time.Second, "open the page on a phone",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile),
		chromedp.Navigate(page))
	browsertest.WaitFor(t, ctx, 10*time.Second, "the page to be ready", `document.body.dataset.ready === 'true'`)

	// The visitor writes: the user, the conversation and the message are made now, not on load.
	browsertest.Do(t, ctx, 10*time.Second, "write",
		chromedp.SendKeys(chromedp.CSS(`textarea[aria-label="Type a message"]`), "Hi! Do you have oat milk?"),
		chromedp.Click(chromedp.CSS(`#send`)))
	msg := b.waitEvent(t, "conversation:message", "Hi! Do you have oat milk?")
	conv := msg["conversation"].(map[string]any)["id"].(string)
	if src := msg["message"].(map[string]any)["source"].(map[string]any); src["type"] != "web" || src["integrationId"] != b.webID {
		t.Errorf("got source %v, want web and the integration", src)
	}

	// The business replies: text in markdown, quick replies, a carousel with a postback.
	sent := b.post(t, conv, map[string]any{"type": "text", "markdownText": "We do! **Oat, soy and almond**, see [our menu](https://example.org/menu)."})
	browsertest.WaitFor(t, ctx, 15*time.Second, "the business's text", articleWith("Oat, soy and almond"))
	t.Logf("a business message appeared on the page %v after its 201", time.Since(sent).Round(time.Millisecond))
	b.post(t, conv, map[string]any{"type": "text", "text": "Which size?", "actions": []any{
		map[string]any{"type": "reply", "text": "Small", "payload": "SIZE_S"},
		map[string]any{"type": "reply", "text": "Large", "payload": "SIZE_L"},
	}})
	browsertest.WaitFor(t, ctx, 15*time.Second, "the quick replies", byName("Large"))
	browsertest.Do(t, ctx, 15*time.Second, "tap a quick reply", chromedp.Click(chromedp.CSS(`#quick-replies button:nth-child(2)`)))
	b.waitEvent(t, "conversation:message", `"content":{"payload":"SIZE_L","text":"Large","type":"text"}`)

	b.post(t, conv, map[string]any{"type": "carousel", "items": []any{
		map[string]any{"title": "Flat white", "description": "Double ristretto, silky milk", "mediaUrl": e.URL + "/web/assets/missing.png",
			"actions": []any{map[string]any{"type": "postback", "text": "Order flat white", "payload": "ORDER_FLAT_WHITE"},
				map[string]any{"type": "link", "text": "Nutrition", "uri": "https://example.org/flat-white"}}},
		map[string]any{"title": "Cortado", "description": "Equal parts espresso and milk",
			"actions": []any{map[string]any{"type": "postback", "text": "Order cortado", "payload": "ORDER_CORTADO"}}},
	}})
	browsertest.WaitFor(t, ctx, 15*time.Second, "the carousel", byName("Order flat white"))
	// The visitor taps the postback: the bot gets conversation:postback, from the web.
	browsertest.Do(t, ctx, 15*time.Second, "tap the postback", chromedp.Evaluate[chromedp.Void](byName("Order flat white")+`.click()`))
	pb := b.waitEvent(t, "conversation:postback", `"payload":"ORDER_FLAT_WHITE"`)
	if src := pb["source"].(map[string]any); src["type"] != "web" || src["integrationId"] != b.webID {
		t.Errorf("postback: got source %v, want web and the integration", src)
	}
	// The page told the business it read the conversation.
	b.waitEvent(t, "conversation:read", `"type":"user"`)

	// Typing, both ways.
	activity := "/v2/apps/" + b.appID + "/conversations/" + conv + "/activity"
	apitest.MustStatus(t, e.Do(t, "POST", activity, b.key, map[string]any{"author": map[string]any{"type": "business", "displayName": "Sunny Bot"}, "type": "typing:start"}), 200)
	browsertest.WaitFor(t, ctx, 15*time.Second, "the business typing", `document.getElementById('typing').textContent.includes('Sunny Bot is typing')`)
	apitest.MustStatus(t, e.Do(t, "POST", activity, b.key, map[string]any{"author": map[string]any{"type": "business"}, "type": "typing:stop"}), 200)
	browsertest.WaitFor(t, ctx, 15*time.Second, "the business to stop typing", `document.getElementById('typing').textContent === ''`)
	browsertest.Do(t, ctx, 15*time.Second, "type", chromedp.SendKeys(chromedp.CSS(`textarea[aria-label="Type a message"]`), "A cortado, please"))
	b.waitEvent(t, "conversation:typing", `"type":"typing:start"`, `"type":"user"`)
	browsertest.Do(t, ctx, 15*time.Second, "send", chromedp.Click(chromedp.CSS(`#send`)))
	b.waitEvent(t, "conversation:typing", `"type":"typing:stop"`)
	b.waitEvent(t, "conversation:message", "A cortado, please")

	// The business reads: the page shows it under the visitor's last message.
	apitest.MustStatus(t, e.Do(t, "POST", activity, b.key, map[string]any{"author": map[string]any{"type": "business"}, "type": "conversation:read"}), 200)
	browsertest.WaitFor(t, ctx, 15*time.Second, "the business's read receipt", `document.querySelector('.seen') !== null`)

	// An image upload goes round: attachments store, image message, webhook.
	picture := lattePNG(t)
	file := filepath.Join(t.TempDir(), "latte.png")
	if err := os.WriteFile(file, picture, 0o600); err != nil {
		t.Fatal(err)
	}
	browsertest.Do(t, ctx, 10*time.Second, "attach an image", chromedp.SetUploadFiles(chromedp.CSS(`#attach`), []string{file}))
	img := b.waitEvent(t, "conversation:message", `"type":"image"`, `latte.png`)
	mediaURL := img["message"].(map[string]any)["content"].(map[string]any)["mediaUrl"].(string)
	if resp, body := fetch(t, "GET", mediaURL, nil); resp.StatusCode != 200 || !bytes.Equal(body, picture) {
		t.Errorf("the uploaded image: got %d, %d bytes", resp.StatusCode, len(body))
	}
	browsertest.WaitFor(t, ctx, 15*time.Second, "the image on the page", `document.querySelector('article.msg-image img.media') !== null`)

	// The bot answers with quick replies, for the picture.
	b.post(t, conv, map[string]any{"type": "text", "text": "Anything else? Our beans: _single origin_, roasted in town.", "actions": []any{
		map[string]any{"type": "reply", "text": "That's all", "payload": "DONE"},
		map[string]any{"type": "reply", "text": "A croissant", "payload": "CROISSANT"},
		map[string]any{"type": "reply", "text": "Opening hours?", "payload": "HOURS"},
	}})
	browsertest.WaitFor(t, ctx, 15*time.Second, "the quick replies", byName("A croissant"))
	browsertest.Screenshot(t, ctx, dir, "webmessenger-phone.png")
	// The README's picture (docs/webmessenger.png): the same at 1x, to stay small.
	browsertest.Do(t, ctx, 10*time.Second, "phone at 1x", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(1), chromedp.EmulateMobile))
	browsertest.WaitFor(t, ctx, 15*time.Second, "the page at 1x", `window.devicePixelRatio === 1`)
	browsertest.Screenshot(t, ctx, dir, "webmessenger-readme.png")
	browsertest.Do(t, ctx, 10*time.Second, "desktop size", chromedp.EmulateViewport(1280, 860))
	browsertest.WaitFor(t, ctx, 15*time.Second, "the page at desktop size", `window.innerWidth === 1280`)
	browsertest.Screenshot(t, ctx, dir, "webmessenger-desktop.png")
	t.Logf("screenshots in %s", dir)
}

// lattePNG draws a 320×200 picture of a cup of coffee from above: a saucer, the cup, the crema.
func lattePNG(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 320, 200))
	for y := range 200 {
		for x := range 320 {
			dx, dy := float64(x-160), float64(y-100)
			d := math.Sqrt(dx*dx + dy*dy)
			c := color.RGBA{R: uint8(214 - y/8), G: uint8(200 - y/8), B: uint8(180 - y/8), A: 255} // the table
			switch {
			case d < 52:
				c = color.RGBA{R: uint8(190 - d), G: uint8(140 - d), B: uint8(90 - d/2), A: 255} // crema
			case d < 64:
				c = color.RGBA{R: 250, G: 250, B: 248, A: 255} // the cup
			case d < 90:
				c = color.RGBA{R: 236, G: 236, B: 232, A: 255} // the saucer
			}
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestWebMessengerContent shows every content and action type the spec has on the page, fills and
// submits a form, and saves a screenshot of each, at phone width; then a prechat capture, several
// conversations and a login with a user JWT.
func TestWebMessengerContent(t *testing.T) {
	e := apitest.NewEnv(t, "sqlite")
	b := newBotEnv(t, e, map[string]any{"businessName": "Sunlamp Books", "brandColor": "3d348b", "actionColor": "3d348b",
		"prechatCapture": map[string]any{"enabled": true, "fields": []any{
			map[string]any{"type": "text", "name": "name", "label": "Your name"},
			map[string]any{"type": "email", "name": "email", "label": "Your email"},
		}}})
	apitest.MustStatus(t, e.Do(t, "PATCH", "/v2/apps/"+b.appID, b.key, map[string]any{"settings": map[string]any{"multiConvoEnabled": true}}), 200)
	ctx := browsertest.New(t)
	dir := screenshotDir(t)
	browsertest.Do(t, ctx, 20*time.Second, "open the page on a phone",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile),
		chromedp.Navigate(e.URL+"/web/"+b.webID))
	browsertest.WaitFor(t, ctx, 10*time.Second, "the prechat form", `document.querySelector('#prechat label') !== null && !document.getElementById('prechat').hidden`)

	// Prechat capture: the answers are the first message, and fill the profile.
	browsertest.Do(t, ctx, 10*time.Second, "fill the prechat form",
		chromedp.SendKeys(chromedp.CSS(`#prechat-0`), "Ada Lovelace"),
		chromedp.SendKeys(chromedp.CSS(`#prechat-1`), "ada@example.org"),
		chromedp.Click(chromedp.CSS(`#prechat button[type=submit]`)))
	msg := b.waitEvent(t, "conversation:message", `"type":"formResponse"`, "ada@example.org")
	conv := msg["conversation"].(map[string]any)["id"].(string)
	b.waitEvent(t, "conversation:create", `"creationReason":"prechatCapture"`, conv)
	userID := msg["message"].(map[string]any)["author"].(map[string]any)["userId"].(string)
	r := e.Do(t, "GET", usersPath(b.appID, userID), b.key, nil)
	if !strings.Contains(string(r.Body), `"givenName":"Ada","surname":"Lovelace","email":"ada@example.org"`) {
		t.Errorf("prechat profile: got %s", r.Body)
	}

	media := e.URL + "/web/assets/none.png"
	b.post(t, conv, map[string]any{"type": "list", "items": []any{
		map[string]any{"title": "Dune", "description": "Frank Herbert, 1965", "mediaUrl": media, "actions": []any{map[string]any{"type": "postback", "text": "Reserve Dune", "payload": "R_DUNE"}}},
		map[string]any{"title": "Solaris", "description": "Stanisław Lem, 1961", "actions": []any{map[string]any{"type": "link", "text": "Read a sample", "uri": "https://example.org/solaris"}}},
	}, "actions": []any{map[string]any{"type": "webview", "text": "Browse the shelves", "uri": "https://example.org/shelves", "fallback": "https://example.org/shelves"}}})
	b.post(t, conv, map[string]any{"type": "location", "coordinates": map[string]any{"lat": 45.5262, "long": -73.5953}, "location": map[string]any{"name": "Our shop", "address": "5333 Av. Casgrain, Montréal"}})
	b.post(t, conv, map[string]any{"type": "file", "mediaUrl": "https://example.org/catalogue.pdf", "altText": "Catalogue (spring).pdf"})
	b.post(t, conv, map[string]any{"type": "text", "text": "Gift card?", "actions": []any{
		map[string]any{"type": "buy", "text": "Gift card", "amount": 2500, "currency": "cad"},
		map[string]any{"type": "locationRequest", "text": "Find the nearest shop"},
	}})
	b.post(t, conv, map[string]any{"type": "form", "fields": []any{
		map[string]any{"type": "text", "name": "title", "label": "Which book?", "placeholder": "Title or author"},
		map[string]any{"type": "select", "name": "format", "label": "Format", "options": []any{
			map[string]any{"name": "paper", "label": "Paperback"}, map[string]any{"name": "ebook", "label": "E-book"}}},
	}})
	browsertest.WaitFor(t, ctx, 15*time.Second, "every message", `document.querySelectorAll('article').length === 6`)
	for _, name := range []string{"Reserve Dune", "Read a sample", "Browse the shelves", "Gift card · CA$25.00", "Find the nearest shop", "Submit"} {
		browsertest.WaitFor(t, ctx, 15*time.Second, "the action "+name, byName(name))
	}
	browsertest.WaitFor(t, ctx, 15*time.Second, "the location", articleWith("5333 Av. Casgrain"))
	browsertest.WaitFor(t, ctx, 15*time.Second, "the file", articleWith("Catalogue (spring).pdf"))
	browsertest.Screenshot(t, ctx, dir, "webmessenger-content-phone.png")
	browsertest.Do(t, ctx, 15*time.Second, "scroll up", chromedp.Evaluate[chromedp.Void](`document.getElementById('log').scrollTop = 0`))
	browsertest.Screenshot(t, ctx, dir, "webmessenger-content-top-phone.png")

	// The form is filled and answered.
	browsertest.Do(t, ctx, 10*time.Second, "fill the form",
		chromedp.SendKeys(chromedp.CSS(`form.form input`), "The Left Hand of Darkness"),
		chromedp.SetValue(chromedp.CSS(`form.form select`), "ebook"),
		chromedp.Click(chromedp.CSS(`form.form button[type=submit]`)))
	b.waitEvent(t, "conversation:message", `"type":"formResponse"`, "The Left Hand of Darkness", `"name":"ebook"`)
	browsertest.WaitFor(t, ctx, 15*time.Second, "the form answered", byName("Submitted"))
	browsertest.Screenshot(t, ctx, dir, "webmessenger-form-phone.png")

	// Several conversations: a new one from the list.
	browsertest.Do(t, ctx, 15*time.Second, "the conversation list", chromedp.Click(chromedp.CSS(`#back`)))
	browsertest.WaitFor(t, ctx, 15*time.Second, "the new conversation button", byName("New conversation"))
	browsertest.Do(t, ctx, 15*time.Second, "start another conversation", chromedp.Evaluate[chromedp.Void](byName("New conversation")+`.click()`))
	b.waitEvent(t, "conversation:create", `"creationReason":"none"`)
	browsertest.WaitFor(t, ctx, 15*time.Second, "the new, empty conversation", `document.querySelectorAll('article').length === 0 && !document.getElementById('conversation').hidden`)

	// Login with a user JWT signed by an app key.
	appKey := e.MustCreateAppKey(t, b.appID)
	jwtText := string(token(t, jwt.SigningMethodHS256, appKey.ID, []byte(appKey.Secret), jwt.MapClaims{"scope": "user", "external_id": "ada-42"}))
	q, _ := json.Marshal(jwtText)
	browsertest.Do(t, ctx, 10*time.Second, "log in", chromedp.Evaluate[chromedp.Void](`window.sunlamp.login(`+string(q)+`)`, chromedp.EvalAwaitPromise))
	upd := b.waitEvent(t, "user:update", `"reason":"authentication"`)
	if u := upd["user"].(map[string]any); u["externalId"] != "ada-42" || u["id"] != userID {
		t.Errorf("login: got user %v, want the visitor's user with externalId ada-42", u)
	}
}
