package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/sunlamp/sunlamp/internal/apitest"
	"github.com/sunlamp/sunlamp/internal/browsertest"
)

// The console's browser test (issue 16): a developer's session in Debian's Chromium, through the
// page only, against a server running as `serve --emulator` does (webhook dispatcher and recorder
// on). Every step finds controls by their accessible names, as assistive technology does, and each
// view is checked for unnamed controls and saved as a screenshot.

// console drives the console page in one tab.
type console struct {
	t   *testing.T
	ctx context.Context
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
	browsertest.WaitFor(c.t, c.ctx, 10*time.Second, "the page to show "+text,
		fmt.Sprintf(`document.body.innerText.includes(%s)`, jsString(text)))
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
	browsertest.Eval[string](c.t, c.ctx, `location.hash = `+jsString(hash))
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
	c.click("Sign in")
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
}
