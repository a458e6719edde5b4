package api_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/sunlamp/sunlamp"
	"github.com/sunlamp/sunlamp/internal/apitest"
	"github.com/sunlamp/sunlamp/internal/browsertest"
	"github.com/sunlamp/sunlamp/internal/webhooktest"
)

// The console's browser test (issue 16): a developer's session in Debian's Chromium, through the
// page only, against a server running as `serve --emulator` does (webhook dispatcher and recorder
// on). Every step finds controls by their accessible names, as assistive technology does, and each
// view is checked for unnamed controls and saved as a screenshot.

// console drives the console page in one tab.
type console struct {
	t     *testing.T
	ctx   context.Context
	dir   string
	start time.Time
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// named is a JavaScript expression: the visible control whose accessible name is name (a label's
// text, aria-label, or a button's or link's text).
func named(name string) string {
	return fmt.Sprintf(`(() => {
		const want = %s;
		const visible = (e) => e && e.getClientRects().length > 0;
		const dlg = document.querySelector('dialog[open]');
		const root = dlg || document;
		for (const l of root.querySelectorAll('label')) {
			if (l.textContent.trim() === want && visible(l.control)) return l.control;
		}
		for (const e of root.querySelectorAll('[aria-label]')) {
			if (e.getAttribute('aria-label') === want && visible(e)) return e;
		}
		for (const e of root.querySelectorAll('button, a, summary')) {
			if (e.textContent.trim() === want && visible(e)) return e;
		}
		return null;
	})()`, jsString(name))
}

func (c *console) waitNamed(name string) {
	c.t.Helper()
	browsertest.WaitFor(c.t, c.ctx, 10*time.Second, "a control named "+name, named(name)+` !== null`)
}

// fill types text into the control named name (clearing it first).
func (c *console) fill(name, text string) {
	c.t.Helper()
	c.waitNamed(name)
	// Focus, select what it holds, and type over it: Input.insertText, one event for the text (as
	// an input method sends it) rather than a round trip per key.
	browsertest.Eval[bool](c.t, c.ctx, `((e) => { e.focus(); e.select(); return true })(`+named(name)+`)`)
	if _, err := chromedp.Call(c.ctx, input.InsertText, input.InsertTextParams{Text: text}); err != nil {
		c.t.Fatalf("fill %s: %v", name, err)
	}
}

// click clicks the control named name.
func (c *console) click(name string) {
	c.t.Helper()
	c.waitNamed(name)
	browsertest.Do(c.t, c.ctx, 10*time.Second, "click "+name, chromedp.Click(chromedp.JSPath(named(name))))
}

// eval evaluates a JavaScript expression and returns its value.
func (c *console) eval(expr string) string {
	c.t.Helper()
	return browsertest.Eval[string](c.t, c.ctx, expr)
}

// waitText waits until the main area shows text.
func (c *console) waitText(text string) {
	c.t.Helper()
	c.waitFor("the page to show "+text, fmt.Sprintf(`document.body.innerText.includes(%s)`, jsString(text)))
}

// waitFor waits until a JavaScript expression is true; on failure it saves a screenshot of the page.
func (c *console) waitFor(what, expr string) {
	c.t.Helper()
	wctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
	defer cancel()
	if _, err := chromedp.Run(wctx, chromedp.Poll[any](expr)); err != nil {
		p := browsertest.Screenshot(c.t, c.ctx, c.dir, "console-failed.png")
		c.t.Fatalf("waiting for %s (%s): %v; the page: %s", what, expr, err, p)
	}
}

// ready waits for the view to have loaded.
func (c *console) ready(view string) {
	c.t.Helper()
	browsertest.WaitFor(c.t, c.ctx, 10*time.Second, "the "+view+" view",
		fmt.Sprintf(`document.body.dataset.view === %s && document.body.dataset.ready === 'true'`, jsString(view)))
}

// go opens an address of the console.
func (c *console) open(hash string) {
	c.t.Helper()
	// The view is not ready until the address's view has drawn (the hashchange comes after).
	browsertest.Eval[string](c.t, c.ctx, `(document.body.dataset.ready = 'false', location.hash = `+jsString(hash)+`)`)
}

// checkNames fails the test for every visible control without an accessible name.
func (c *console) checkNames(view string) {
	c.t.Helper()
	bad := c.eval(`(() => {
		const out = [];
		for (const e of document.querySelectorAll('input, select, textarea, button, a[href], summary')) {
			if (!e.getClientRects().length || e.type === 'hidden') continue;
			const name = (e.getAttribute('aria-label') || '').trim() || (e.labels && [...e.labels].map(l => l.textContent).join('').trim())
				|| (e.getAttribute('aria-labelledby') && document.getElementById(e.getAttribute('aria-labelledby'))?.textContent.trim())
				|| (['BUTTON', 'A', 'SUMMARY'].includes(e.tagName) && e.textContent.trim()) || (e.title || '').trim();
			if (!name) out.push(e.outerHTML.slice(0, 120));
		}
		return out.join('\n');
	})()`)
	if bad != "" {
		c.t.Errorf("%s: controls without an accessible name:\n%s", view, bad)
	}
}

// shot saves a screenshot of the view.
func (c *console) shot(name string) {
	c.t.Helper()
	p := browsertest.Screenshot(c.t, c.ctx, c.dir, name)
	c.t.Logf("%v screenshot %s", time.Since(c.start).Round(time.Millisecond), p)
}

// TestConsoleBrowser is the developer's loop in the console.
func TestConsoleBrowser(t *testing.T) {
	e := apitest.NewEmulatorEnv(t, "sqlite")
	ctx := browsertest.New(t)
	start := time.Now()
	c := &console{t: t, ctx: ctx, dir: screenshotDir(t), start: start}

	// Sign in with the account key.
	browsertest.Do(t, ctx, 20*time.Second, "open the console",
		chromedp.EmulateViewport(1280, 800),
		chromedp.Navigate(e.URL+"/console"))
	c.ready("signin")
	c.checkNames("sign-in")
	c.shot("console-signin.png")
	c.fill("Key id", e.AccountKey.ID)
	c.fill("Secret", "wrong secret")
	c.click("Sign in")
	c.waitText("Sign-in failed")
	c.fill("Secret", e.AccountKey.Secret)
	browsertest.Do(t, ctx, 5*time.Second, "press Enter", chromedp.KeyEvent("\r")) // the keyboard signs in
	c.ready("apps")
	if got := c.eval(`JSON.stringify([location.href, document.cookie])`); strings.Contains(got, e.AccountKey.Secret) {
		t.Errorf("the secret is in the address or a cookie: %s", got)
	}

	// Create an app and a key: the secret shows once.
	c.fill("Display name", "Coffee Bot")
	c.click("Create app")
	c.ready("app")
	c.waitText("Coffee Bot")
	c.fill("Key name", "bot backend")
	c.click("Create key")
	c.waitText("Copy its secret now")
	secret := c.eval(`document.querySelector('.secret-value').textContent`)
	appID := c.eval(`location.hash.split('/')[2]`)
	keyID := c.eval(`document.querySelector('.secret code').textContent`)
	if r := e.Do(t, "GET", "/v2/apps/"+appID, apitest.Basic{ID: keyID, Secret: secret}, nil); r.Status != 200 {
		t.Fatalf("the key the console showed: GET app answered %d", r.Status)
	}
	c.checkNames("app")
	c.shot("console-app.png")
	t.Logf("sign-in, app and key in %v", time.Since(start).Round(time.Millisecond))
	app := "#/apps/" + appID

	// A custom integration with a webhook to a loopback receiver.
	receiver := webhooktest.NewReceiver(t, nil)
	c.open(app + "/webhooks")
	c.ready("webhooks")
	c.fill("Integration name", "Coffee bot")
	c.fill("Webhook URL", receiver.URL)
	c.click("Create integration")
	c.waitText("Integration created")
	c.waitText(receiver.URL)
	c.checkNames("webhooks")
	c.shot("console-webhooks.png")

	// A user, who writes in through the simulator from the user's page.
	c.open(app + "/users")
	c.ready("users")
	c.click("Create a user")
	c.fill("externalId", "jane-1")
	c.fill("Given name", "Jane")
	c.fill("Surname", "Doe")
	c.fill("Email", "jane@example.org")
	c.click("Create user")
	c.waitText("Write in as this user")
	c.fill("Message as Jane Doe", "Hi! Do you deliver?")
	c.click("Send as customer")
	c.click("Open the conversation")
	c.ready("conversations")
	c.waitArticle("Hi! Do you deliver?")
	browsertest.WaitFor(t, ctx, 10*time.Second, "the live stream", `document.querySelector('.live.on') !== null`)
	msg := consoleDelivered(t, receiver, "conversation:message", "Hi! Do you deliver?")
	userID := msg["message"].(map[string]any)["author"].(map[string]any)["userId"].(string)

	// The business answers from the page, with quick replies; the customer writes and the bot
	// answers through the API, not the page: every message shows without a reload.
	c.fill("Message as the business", "We do! **Which size?**")
	c.click("Add quick reply")
	c.fill("Action 1 text", "Large")
	c.fill("Action 1 payload or URL", "SIZE_L")
	c.click("Send as business")
	c.waitArticle("Which size?")
	consoleDelivered(t, receiver, "conversation:message", `"payload":"SIZE_L"`)
	page := c.eval(`String(performance.timeOrigin)`)
	apitest.MustStatus(t, e.Do(t, "POST", "/_sunlamp/v1/apps/"+appID+"/inbound", e.Account(), map[string]any{
		"channel": "whatsapp", "user": map[string]any{"id": userID}, "client": map[string]any{"externalId": "console-jane-1"},
		"content": map[string]any{"type": "text", "text": "Large, please. And a croissant?"}}), 201)
	c.waitArticle("And a croissant?")
	conv := msg["conversation"].(map[string]any)["id"].(string)
	apitest.MustStatus(t, e.Do(t, "POST", "/v2/apps/"+appID+"/conversations/"+conv+"/messages", e.Account(), map[string]any{
		"author": map[string]any{"type": "business", "displayName": "Coffee bot"},
		"content": map[string]any{"type": "carousel", "items": []any{
			map[string]any{"title": "Butter croissant", "description": "Baked this morning", "actions": []any{map[string]any{"type": "postback", "text": "Add croissant", "payload": "ADD_CROISSANT"}}},
			map[string]any{"title": "Almond croissant", "description": "With frangipane", "actions": []any{map[string]any{"type": "link", "text": "See the menu", "uri": "https://example.org/menu"}}},
		}}}), 201)
	c.waitArticle("Almond croissant")
	if again := c.eval(`String(performance.timeOrigin)`); again != page {
		t.Errorf("the page was reloaded")
	}
	// Where the simulator takes a customer's postbacks, the carousel's button is pressed as Jane.
	if c.eval(`String(`+named("Mark as read")+` !== null)`) == "true" {
		c.click("Add croissant")
		c.waitText("Postback “Add croissant” sent as Jane Doe")
		consoleDelivered(t, receiver, "conversation:postback", `"payload":"ADD_CROISSANT"`)
	} else {
		c.waitText("takes no postbacks or activities")
		t.Log("the simulator takes no postbacks yet: not pressed")
	}
	c.waitFor("the conversion events' empty state", `document.querySelector('.conversion-events')?.innerText.includes('No conversion events.')`)
	c.checkNames("conversation")
	c.eval(`(window.scrollTo(0, 0), 'ok')`)
	c.shot("console-conversation.png")

	// A switchboard (made through the API): the conversation passes control to the agent and
	// releases it from the page.
	acct := e.Account()
	sb := createSwitchboard(t, e.Env, appID, acct)
	sis := "/v2/apps/" + appID + "/switchboards/" + sb + "/switchboardIntegrations"
	var ints struct{ Integrations []struct{ ID, Type string } }
	e.Do(t, "GET", "/v2/apps/"+appID+"/integrations", acct, nil).Decode(t, &ints)
	bot := createSwitchboardIntegration(t, e.Env, sis, acct, map[string]any{"name": "bot", "integrationId": ints.Integrations[0].ID})
	agent := createIntegration(t, e.Env, appID, acct, map[string]any{"type": "web", "displayName": "Website"})
	createSwitchboardIntegration(t, e.Env, sis, acct, map[string]any{"name": "agent", "integrationId": agent})
	apitest.MustStatus(t, e.Do(t, "PATCH", "/v2/apps/"+appID+"/switchboards/"+sb, acct, map[string]any{"enabled": true, "defaultSwitchboardIntegrationId": bot}), 200)
	c.open(app + "/conversations")
	c.ready("conversations")
	c.open(app + "/conversations/" + conv)
	c.ready("conversations")
	c.waitNamed("Switchboard integration")
	browsertest.Eval[string](t, ctx, `(() => { const s = `+named("Switchboard integration")+`; s.value = 'agent'; return 'ok' })()`)
	c.click("Pass control")
	c.waitFor("the agent in control", `[...document.querySelectorAll('dl.props dd')].some(d => d.textContent === 'agent')`)
	c.click("Release control")
	c.waitText("nobody (released)")

	// The flight recorder shows the deliveries; one is delivered again.
	c.open(app + "/deliveries")
	c.ready("deliveries")
	c.waitText("conversation:message")
	browsertest.Eval[bool](t, ctx, `(() => { document.querySelector('details.attempt').open = true; return true })()`)
	c.waitText("Response 200")
	c.checkNames("deliveries")
	c.shot("console-deliveries.png")
	first := c.eval(`document.querySelector('details.attempt dd code').textContent`)
	c.click("Redeliver")
	c.waitText("Redelivered conversation:")
	receiver.WaitFor(t, 10*time.Second, func(all []webhooktest.Received) bool { return receiver.Tries(first) >= 2 })

	// Erase the user: a confirmation naming the user, a receipt, the cleared profile.
	c.open(app + "/users/" + userID)
	c.ready("users")
	c.waitText("jane@example.org")
	// Escape cancels the confirmation, which has the focus on Cancel: nothing is erased.
	c.click("Erase personal information")
	c.waitFor("the confirmation", `document.querySelector('dialog[open]') !== null && document.activeElement.textContent === 'Cancel'`)
	browsertest.Do(t, ctx, 5*time.Second, "press Escape", chromedp.KeyEvent(kb.Escape))
	c.waitFor("the confirmation to close", `document.querySelector('dialog') === null`)
	c.waitText("jane@example.org")
	c.click("Erase personal information")
	browsertest.WaitFor(t, ctx, 5*time.Second, "the confirmation", `document.querySelector('dialog[open] h2')?.textContent.includes('Jane Doe (externalId jane-1)')`)
	c.shot("console-erase-confirm.png")
	c.click("Erase personal information")
	c.waitText("Personal information erased")
	c.waitText("Profile: givenName, surname, email")
	c.waitText("No profile fields are set.")
	// The receipt is the erasure's audit entry: its id, key and counts, as the API lists it.
	erasure := consoleAudit(t, e, appID, userID, "deleteUserPersonalInformation")
	receipt := c.eval(`document.querySelector('.receipt').innerText`)
	for _, want := range []string{e.AccountKey.ID, erasure.ID, "ok"} {
		if !strings.Contains(receipt, want) {
			t.Errorf("the erasure's receipt does not show %q:\n%s", want, receipt)
		}
	}
	if len(erasure.Counts) == 0 || erasure.Counts["clientsCleared"] < 1 {
		t.Errorf("the erasure's audit entry counts %v, want clientsCleared ≥ 1 (Jane wrote in on WhatsApp)", erasure.Counts)
	}
	for k, n := range erasure.Counts {
		if want := fmt.Sprintf("%s: %d", consoleWords(k), n); !strings.Contains(receipt, want) {
			t.Errorf("the erasure's receipt does not show %q:\n%s", want, receipt)
		}
	}
	c.waitFor("the erasure in the user's audit history", `document.querySelector('.audit-section tr[data-operation="deleteUserPersonalInformation"]') !== null`)
	r := e.Do(t, "GET", "/v2/apps/"+appID+"/users/"+userID, e.Account(), nil)
	if strings.Contains(string(r.Body), "Jane") || strings.Contains(string(r.Body), "jane@example.org") {
		t.Errorf("the user after erasure: %s", r.Body)
	}
	c.checkNames("user")
	c.shot("console-user-erased.png")

	// The emulator: move the clock.
	c.open(app + "/emulator")
	c.ready("emulator")
	c.fill("Advance by", "15m")
	c.click("Advance clock")
	c.waitText("15.0 minutes")
	c.checkNames("emulator")
	c.shot("console-emulator.png")

	// The conversations list, and a conversation at phone width.
	c.open(app + "/conversations")
	c.ready("conversations")
	c.waitText("Coffee bot: 1. Butter croissant")
	c.shot("console-conversations.png")
	browsertest.Do(t, ctx, 10*time.Second, "phone size", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	c.open(app + "/conversations/" + conv)
	c.ready("conversations")
	c.waitArticle("Almond croissant")
	c.checkNames("conversation (phone)")
	c.shot("console-conversation-phone.png")
	for _, v := range []struct{ hash, view, name string }{
		{app + "/users/" + userID, "users", "user"}, {app + "/deliveries", "deliveries", "deliveries"}, {app + "/webhooks", "webhooks", "webhooks"},
		{app + "/audit", "audit", "audit"},
	} {
		c.open(v.hash)
		c.ready(v.view)
		c.checkNames(v.name + " (phone)")
		if w := c.eval(`String(document.documentElement.scrollWidth)`); w != "390" {
			t.Errorf("%s at phone width: the page is %s px wide, want 390 (no sideways scrolling)", v.name, w)
		}
		c.shot("console-" + v.name + "-phone.png")
		if v.name == "user" {
			c.waitFor("the user's audit history", `document.querySelector('.audit-section tr[data-operation]') !== null`)
			c.eval(`(document.querySelector('.audit-section').scrollIntoView(), 'ok')`)
			c.shot("console-user-audit-phone.png")
		}
	}

	// Sign out, and in again with the app key: the console opens that app's conversations and
	// offers nothing of the account's.
	c.click("Sign out")
	c.ready("signin")
	if got := c.eval(`String(sessionStorage.length)`); got != "0" {
		t.Errorf("after signing out, sessionStorage holds %s items", got)
	}
	c.fill("Key id", keyID)
	c.fill("Secret", secret)
	c.click("Sign in")
	c.ready("conversations")
	c.waitText("jane-1")
	if got := c.eval(`document.getElementById('nav').innerText`); strings.Contains(got, "All apps") || strings.Contains(got, "Emulator") {
		t.Errorf("an app key's navigation offers the account's views: %q", got)
	}
	browsertest.Do(t, ctx, 10*time.Second, "desktop size", chromedp.EmulateViewport(1280, 800))

	// Jane writes in on Instagram, and a conversion reported through /v2 (PostConversionEvents, which
	// needs the conversation's client on that channel) shows in the conversation's panel.
	instagram := createIntegration(t, e.Env, appID, acct, map[string]any{"type": "instagram", "pageAccessToken": "token", "appId": "meta-app", "appSecret": "secret"})
	apitest.MustStatus(t, e.Do(t, "POST", "/_sunlamp/v1/apps/"+appID+"/inbound", acct, map[string]any{
		"channel": "instagram", "integrationId": instagram, "user": map[string]any{"id": userID}, "client": map[string]any{"externalId": "igsid-jane"},
		"content": map[string]any{"type": "text", "text": "Bought two croissants on your site!"}}), 201)
	apitest.MustStatus(t, e.Do(t, "POST", "/v2/apps/"+appID+"/conversations/"+conv+"/conversionEvents", apitest.Basic{ID: keyID, Secret: secret}, map[string]any{
		"instagram": map[string]any{"payload": map[string]any{"data": []any{
			map[string]any{"action_source": "business_messaging", "event_name": "Purchase", "event_time": 1752161233, "custom_data": map[string]any{"currency": "CAD", "value": 42.5}},
			map[string]any{"action_source": "business_messaging", "event_name": "AddToCart", "event_time": 1752161200},
		}}}}), 200)
	c.open(app + "/conversations/" + conv)
	c.ready("conversations")
	c.waitFor("the conversion event", `(() => { const p = document.querySelector('.conversion-events'); return p && p.innerText.includes('Purchase') && p.innerText.includes('42.5 CAD, business_messaging') && p.innerText.includes('AddToCart') && p.innerText.includes('instagram') })()`)
	c.eval(`(document.querySelector('.conversion-events').scrollIntoView(), 'ok')`)
	c.checkNames("conversation with conversion events")
	c.shot("console-conversion-events.png")

	// Export Jane with the app key, as JSON and as a zip: the browser saves the files the page
	// hands it (the key went in a header), and each holds Jane's document.
	downloads := t.TempDir()
	if _, err := chromedp.CallBrowser(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
		Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads}); err != nil {
		t.Fatalf("download behaviour: %v", err)
	}
	c.open(app + "/users/" + userID)
	c.ready("users")
	c.click("Export")
	browsertest.WaitFor(t, ctx, 5*time.Second, "the export's confirmation", `document.querySelector('dialog[open] h2')?.textContent.includes('jane-1')`)
	c.click("Download export")
	c.waitText("User exported (JSON)")
	doc := consoleDownload(t, downloads, "export-"+userID+".json", "")
	if doc.User.ID != userID || len(doc.Conversations) == 0 || len(doc.Conversations[0].Messages) < 4 {
		t.Errorf("the downloaded export: user %q, %d conversations; want %s with its conversation", doc.User.ID, len(doc.Conversations), userID)
	}
	receipt = c.eval(`document.querySelector('.receipt').innerText`)
	for _, want := range []string{fmt.Sprintf("Messages: %d", len(doc.Conversations[0].Messages)), "Conversations: 1", "export-" + userID + ".json", keyID,
		consoleAudit(t, e, appID, userID, "export").ID} {
		if !strings.Contains(receipt, want) {
			t.Errorf("the export's receipt does not show %q:\n%s", want, receipt)
		}
	}
	c.click("Export")
	c.waitFor("the export's confirmation", `document.querySelector('dialog[open] input[value="zip"]') !== null`)
	c.eval(`(document.querySelector('dialog[open] input[value="zip"]').click(), 'ok')`)
	c.shot("console-export-confirm.png")
	c.click("Download export")
	c.waitText("User exported (zip)")
	if doc := consoleDownload(t, downloads, "export-"+userID+".zip", userID+".json"); doc.User.ID != userID {
		t.Errorf("the zip's document is about %q, want %s", doc.User.ID, userID)
	}
	// The page read the document back from the zip for its receipt.
	if receipt = c.eval(`document.querySelector('.receipt').innerText`); !strings.Contains(receipt, fmt.Sprintf("Messages: %d", len(doc.Conversations[0].Messages))) || strings.Contains(receipt, "could not be read back") {
		t.Errorf("the zip export's receipt:\n%s", receipt)
	}
	c.waitFor("both exports in the audit history", `document.querySelectorAll('.audit-section tr[data-operation="export"]').length === 2`)
	if got := c.eval(`(() => { const u = performance.getEntriesByType('resource').map(r => r.name).filter(n => n.includes('/export')); return u.join(' ') })()`); strings.Contains(got, secret) || strings.Contains(got, keyID) {
		t.Errorf("the key is in an export's address: %s", got)
	}
	c.checkNames("user exported")
	c.shot("console-user-exported.png")

	// Delete Jane: the receipt follows the deletion handle until the history is removed.
	c.click("Delete user")
	browsertest.WaitFor(t, ctx, 5*time.Second, "the deletion's confirmation", `document.querySelector('dialog[open] h2')?.textContent.includes('jane-1')`)
	c.click("Delete user")
	c.waitText("The deletion handle is read every second")
	c.waitFor("the deletion to complete", `document.querySelector('.receipt [data-status="complete"]') !== null`)
	var del struct {
		Deletion struct {
			Status          string
			MessagesRemoved int
		}
	}
	e.Do(t, "GET", "/_sunlamp/v1/apps/"+appID+"/deletions/"+userID, e.Account(), nil).Decode(t, &del)
	receipt = c.eval(`document.querySelector('.receipt').innerText`)
	if del.Deletion.Status != "complete" || del.Deletion.MessagesRemoved < 1 || !strings.Contains(receipt, fmt.Sprintf("Messages removed\n%d", del.Deletion.MessagesRemoved)) {
		t.Errorf("the deletion handle %+v; the receipt:\n%s", del.Deletion, receipt)
	}
	c.waitFor("the deletion's completion in the audit history", `document.querySelector('.audit-section tr[data-operation="deleteUserCompleted"]') !== null`)
	c.checkNames("user deleted")
	c.shot("console-user-deleted.png")

	// The deleted user's id, typed into the find box, finds its deletion handle and audit history.
	c.open(app + "/users")
	c.ready("users")
	c.fill("User id, externalId or email", userID)
	c.click("Find user")
	c.waitText("Deleted user " + userID)
	c.waitFor("the deleted user's audit history", `['deleteUser', 'deleteUserCompleted', 'export', 'deleteUserPersonalInformation'].every(op => document.querySelector('.audit-section tr[data-operation="' + op + '"]'))`)
	if got := c.eval(`document.querySelector('.audit-section').innerText`); strings.Contains(got, "jane") || strings.Contains(got, "Jane") {
		t.Errorf("the audit history shows personal data:\n%s", got)
	}
	c.checkNames("deleted user")
	c.shot("console-user-deleted-found.png")

	// The app's audit trail, filtered by operation.
	c.open(app + "/audit")
	c.ready("audit")
	c.waitFor("the audit trail", `document.querySelectorAll('table.audit tbody tr').length >= 5`)
	browsertest.Eval[string](t, ctx, `(() => { const s = `+named("Operation")+`; s.value = 'export'; return 'ok' })()`)
	c.click("Filter")
	c.waitFor("the exports only", `(() => { const rows = [...document.querySelectorAll('table.audit tbody tr')]; return rows.length === 2 && rows.every(r => r.dataset.operation === 'export') })()`)
	c.checkNames("audit")
	c.shot("console-audit.png")
	// The API's refusal shows in the page with its code and title.
	browsertest.Eval[string](t, ctx, `(() => { `+named("Since")+`.value = '2030-01-02T10:00'; `+named("Until")+`.value = '2030-01-01T10:00'; return 'ok' })()`)
	c.click("Filter")
	c.waitFor("the API's error", `(() => { const e = document.querySelector('.audit-browser .error'); return e && e.innerText.includes('bad_request') && e.innerText.includes('filter[since] should be before filter[until]') })()`)
	c.click("Clear filters")
	c.waitFor("the whole trail again", `document.querySelectorAll('table.audit tbody tr').length >= 5`)
	t.Logf("done in %v", time.Since(start).Round(time.Millisecond))
}

// consoleAuditEntry is an audit entry as GET /_sunlamp/v1/apps/{appId}/audit lists it.
type consoleAuditEntry struct {
	ID, Operation, KeyID, Outcome string
	Counts                        map[string]int64
}

// consoleAudit returns the newest audit entry of operation about userID, read through the API.
func consoleAudit(t *testing.T, e *apitest.EmulatorEnv, appID, userID, operation string) consoleAuditEntry {
	t.Helper()
	var out struct{ AuditEntries []consoleAuditEntry }
	r := e.Do(t, "GET", "/_sunlamp/v1/apps/"+appID+"/audit?filter[userId]="+userID+"&filter[operation]="+operation, e.Account(), nil)
	apitest.MustStatus(t, r, 200)
	r.Decode(t, &out)
	if len(out.AuditEntries) == 0 {
		t.Fatalf("no %s audit entry about %s", operation, userID)
	}
	return out.AuditEntries[len(out.AuditEntries)-1]
}

// consoleWords is how the console names a count (clientsCleared: Clients cleared).
func consoleWords(name string) string {
	var b strings.Builder
	for i, r := range name {
		switch {
		case i == 0:
			b.WriteRune(unicode.ToUpper(r))
		case unicode.IsUpper(r):
			b.WriteRune(' ')
			b.WriteRune(unicode.ToLower(r))
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// consoleExport is the part of an export document the test reads.
type consoleExport struct {
	User          struct{ ID string }
	Conversations []struct{ Messages []json.RawMessage }
}

// consoleDownload waits for the browser to save name in dir and returns the export document it
// holds (inZip names the document's entry when the file is a zip).
func consoleDownload(t *testing.T, dir, name, inZip string) consoleExport {
	t.Helper()
	p := filepath.Join(dir, name)
	var b []byte
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var err error
		if b, err = os.ReadFile(p); err == nil && len(b) > 0 {
			if _, err := os.Stat(p + ".crdownload"); err != nil {
				break
			}
		}
		if time.Now().After(deadline) {
			entries, _ := os.ReadDir(dir)
			t.Fatalf("the browser did not save %s (the folder holds %v)", name, entries)
		}
	}
	if inZip != "" {
		zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		f, err := zr.Open(inZip)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		defer f.Close()
		if b, err = io.ReadAll(f); err != nil {
			t.Fatalf("%s: %s: %v", name, inZip, err)
		}
	}
	var doc consoleExport
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return doc
}

// waitArticle waits until the page shows a message (role article) holding text.
func (c *console) waitArticle(text string) {
	c.t.Helper()
	c.waitFor("a message with "+text, articleWith(text))
}

// consoleDelivered waits for the receiver to get an event of type typ whose body holds want, and
// returns its payload.
func consoleDelivered(t *testing.T, r *webhooktest.Receiver, typ, want string) map[string]any {
	t.Helper()
	var got map[string]any
	r.WaitFor(t, 15*time.Second, func(all []webhooktest.Received) bool {
		for _, g := range all {
			if g.EventType == typ && strings.Contains(string(g.Body), want) {
				got = g.Payload(t)
				return true
			}
		}
		return false
	})
	return got
}

// BenchmarkConsolePages measures, in Chromium, how long the console takes from navigation to a
// drawn view on an app with 10,000 conversations: the conversation list (its first page), and a
// conversation of 30,000 messages (its latest page, participants, the live stream opened). The
// console's budget is 300 ms. Seeding takes a minute or two.
func BenchmarkConsolePages(b *testing.B) {
	e := apitest.NewEmulatorEnv(b, "sqlite")
	ctx := context.Background()
	app, err := e.Store.CreateApp(ctx, sunlamp.App{AccountID: sunlamp.DefaultAccountID, DisplayName: "Busy"})
	if err != nil {
		b.Fatal(err)
	}
	seedStart := time.Now()
	var wg sync.WaitGroup
	var next atomic.Int64
	var big sunlamp.InboundResult
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= 10_000 {
					return
				}
				text := sunlamp.TextContent(fmt.Sprintf("Hello, this is customer %d", i))
				res, err := e.Store.Inbound(ctx, sunlamp.Inbound{AppID: app.ID, Channel: "whatsapp", Client: sunlamp.Client{ExternalID: fmt.Sprintf("+1514555%05d", i)},
					Profile: sunlamp.Profile{GivenName: fmt.Sprintf("Customer%d", i), Surname: "Test"}, Content: &text})
				if err != nil {
					b.Error(err)
					return
				}
				if i == 0 {
					big = res
				}
			}
		}()
	}
	wg.Wait()
	next.Store(0)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= 30_000-1 {
					return
				}
				author := sunlamp.Author{Type: sunlamp.AuthorBusiness, DisplayName: "Agent"}
				if i%2 == 0 {
					author = sunlamp.Author{Type: sunlamp.AuthorUser, UserID: big.User.ID}
				}
				if _, err := e.Store.PostMessage(ctx, sunlamp.Message{AppID: app.ID, ConversationID: big.Conversation.ID, Author: author,
					Content: sunlamp.TextContent(fmt.Sprintf("message %d of a long history, long enough to look like a real one", i)),
					Source:  sunlamp.Source{Type: sunlamp.SourceAPI}}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if b.Failed() {
		return
	}
	b.Logf("seeded 10,000 conversations and a conversation of 30,000 messages in %v", time.Since(seedStart).Round(time.Second))

	bctx := browsertest.New(b)
	browsertest.Do(b, bctx, 20*time.Second, "open the console", chromedp.EmulateViewport(1280, 800), chromedp.Navigate(e.URL+"/console"))
	browsertest.WaitFor(b, bctx, 10*time.Second, "the sign-in", `document.body.dataset.ready === 'true'`)
	who, _ := json.Marshal(map[string]any{"id": e.AccountKey.ID, "secret": e.AccountKey.Secret,
		"who": map[string]any{"key": map[string]any{"id": e.AccountKey.ID, "type": "account"}, "emulator": true}})
	browsertest.Eval[string](b, bctx, `(sessionStorage.setItem('sunlamp.console.session', `+jsString(string(who))+`), 'ok')`)
	// measure opens the address and returns the milliseconds until the view is drawn.
	measure := func(hash, view, drawn string) float64 {
		b.Helper()
		browsertest.Eval[string](b, bctx, `(location.hash = '#/', 'ok')`)
		browsertest.WaitFor(b, bctx, 10*time.Second, "the apps view", `document.body.dataset.view === 'apps' && document.body.dataset.ready === 'true'`)
		browsertest.Eval[string](b, bctx, `(window.__t0 = performance.now(), location.hash = `+jsString(hash)+`, 'ok')`)
		browsertest.WaitFor(b, bctx, 20*time.Second, "the view", fmt.Sprintf(`document.body.dataset.view === %s && document.body.dataset.ready === 'true' && (%s)`, jsString(view), drawn))
		return browsertest.Eval[float64](b, bctx, `performance.now() - window.__t0`)
	}
	var list, conv []float64
	for b.Loop() {
		list = append(list, measure("#/apps/"+app.ID+"/conversations", "conversations", `document.querySelectorAll('ul.rows > li').length === 25`))
		conv = append(conv, measure("#/apps/"+app.ID+"/conversations/"+big.Conversation.ID, "conversations", `document.querySelectorAll('article.msg').length === 100`))
	}
	median := func(v []float64) float64 {
		s := append([]float64(nil), v...)
		sort.Float64s(s)
		return s[len(s)/2]
	}
	b.Logf("list ms %.0f; conversation ms %.0f", list, conv)
	b.ReportMetric(median(list), "list-ms")
	b.ReportMetric(median(conv), "conversation-ms")
	b.ReportMetric(0, "ns/op")
}
