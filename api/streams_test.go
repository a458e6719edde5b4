package api_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sunlamp/sunlamp/internal/apitest"
)

// TestEndStreams: at a graceful shutdown the Server-Sent Event streams, which last minutes, end at
// once (EndStreams, which `sunlamp serve` registers with http.Server.RegisterOnShutdown), so that
// the shutdown does not wait for them; a stream opened afterwards ends at once too.
func TestEndStreams(t *testing.T) {
	e := apitest.NewEnv(t, "sqlite")
	appID := e.MustCreateApp(t, "Streams")
	key := apitest.KeyAuth(e.MustCreateAppKey(t, appID))
	webID := createIntegration(t, e, appID, key, map[string]any{"type": "web"})
	v := mustStartVisitor(t, e, webID, "abcdefabcdefabcdefabcdefabcdef12", "hi")

	// open returns a stream's body once its "ready" event was read.
	open := func(path string, auth func(*http.Request)) io.ReadCloser {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		req, _ := http.NewRequestWithContext(ctx, "GET", e.URL+path, nil)
		req.Header.Set("Accept", "text/event-stream")
		auth(req)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 {
			t.Fatalf("%s: got %d", path, resp.StatusCode)
		}
		r := bufio.NewReader(resp.Body)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("%s: %v before the ready event", path, err)
			}
			if strings.HasPrefix(line, "event: ready") {
				break
			}
		}
		return struct {
			io.Reader
			io.Closer
		}{r, resp.Body}
	}
	// ended reports whether the stream's body ends within d.
	ended := func(body io.ReadCloser, d time.Duration) bool {
		done := make(chan struct{})
		go func() {
			_, _ = io.Copy(io.Discard, body)
			close(done)
		}()
		select {
		case <-done:
			return true
		case <-time.After(d):
			body.Close()
			return false
		}
	}
	visitor := func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+v.token) }
	business := func(r *http.Request) { r.SetBasicAuth(key.ID, key.Secret) }
	web := "/_sunlamp/v1/web/" + webID + "/conversations/" + v.conv + "/events"
	console := "/_sunlamp/v1/apps/" + appID + "/conversations/" + v.conv + "/events"

	if ended(open(web, visitor), 500*time.Millisecond) {
		t.Fatal("the web messenger's stream ended on its own within 0.5s; it should last minutes")
	}
	streams := []io.ReadCloser{open(web, visitor), open(console, business)}
	start := time.Now()
	e.Handler.EndStreams()
	for i, s := range streams {
		if !ended(s, 5*time.Second) {
			t.Errorf("stream %d still open 5s after EndStreams", i)
		}
	}
	t.Logf("streams ended %v after EndStreams", time.Since(start))
	if !ended(open(console, business), 5*time.Second) {
		t.Error("a stream opened after EndStreams did not end")
	}
}
