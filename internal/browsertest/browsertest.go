// Package browsertest drives Debian's Chromium from Go tests through chromedp: a headless browser
// per test, started with the flags this machine's closed network needs, and closed at cleanup.
// Without a Chromium the test skips (and fails under CI=true, where .ci/run installs one).
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Chromium returns the path of the browser: $SUNLAMP_CHROMIUM, else chromium on the PATH.
func Chromium(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv("SUNLAMP_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		tb.Fatal("no Chromium: .ci/run installs Debian's chromium package; the browser tests must run in CI")
	}
	tb.Skip("no Chromium on this machine (apt-get install chromium, or set SUNLAMP_CHROMIUM): skipping the browser tests")
	return ""
}

// New starts a headless Chromium for tb and returns a browser context (one tab) that ends with tb.
func New(tb testing.TB) context.Context {
	tb.Helper()
	// The profile is not tb.TempDir(): Chromium's helper processes may still write to it for a
	// moment after the browser is stopped, and TempDir's cleanup fails the test when a removal
	// races them. It is removed on a best-effort basis instead.
	profile, err := os.MkdirTemp("", "sunlamp-chromium-")
	if err != nil {
		tb.Fatalf("chromium profile: %v", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(Chromium(tb)),
		chromedp.UserDataDir(profile),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("headless", "new"),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	tb.Cleanup(func() {
		cancel()
		cancelAlloc()
		for i := 0; i < 20 && os.RemoveAll(profile) != nil; i++ {
			time.Sleep(50 * time.Millisecond)
		}
	})
	// Start the browser now, so that its start-up is not counted in a step's timeout (with ctx
	// itself: the context of the first run owns the browser).
	if err := chromedp.Do(ctx); err != nil {
		tb.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// Do runs actions in the tab with a timeout, failing tb with what on error.
func Do(tb testing.TB, ctx context.Context, timeout time.Duration, what string, actions ...chromedp.Action[chromedp.Void]) {
	tb.Helper()
	c, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := chromedp.Do(c, actions...); err != nil {
		tb.Fatalf("%s: %v", what, err)
	}
}

// Eval evaluates a JavaScript expression in the page (awaiting a promise) and returns its value.
func Eval[T any](tb testing.TB, ctx context.Context, expr string) T {
	tb.Helper()
	c, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(c, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// WaitFor polls a JavaScript expression until it is truthy, failing tb with what after timeout.
func WaitFor(tb testing.TB, ctx context.Context, timeout time.Duration, what, expr string) {
	tb.Helper()
	c, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if _, err := chromedp.Run(c, chromedp.Poll[any](expr)); err != nil {
		tb.Fatalf("waiting for %s (%s): %v", what, expr, err)
	}
}

// Screenshot saves a PNG of the whole page to dir/name (dir created if need be) and returns its path.
func Screenshot(tb testing.TB, ctx context.Context, dir, name string) string {
	tb.Helper()
	c, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(c, chromedp.CaptureScreenshot())
	if err != nil {
		tb.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		tb.Fatal(err)
	}
	return p
}
