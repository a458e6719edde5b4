package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/sunlamp/sunlamp/internal/webhooktest"
)

// TestServeSendsWebhooksAtOnce: `sunlamp serve` wakes its webhook dispatcher when an outbox event
// commits (or one is removed), so webhooks go out without waiting for the dispatcher's poll: here
// the poll is an hour, and every message's webhook still arrives.
func TestServeSendsWebhooksAtOnce(t *testing.T) {
	env := map[string]string{"SUNLAMP_ACCOUNT_KEY_ID": "act_ci", "SUNLAMP_ACCOUNT_KEY_SECRET": "a-secret-of-enough-length",
		"SUNLAMP_DB": "sqlite:" + filepath.Join(t.TempDir(), "s.db"), "SUNLAMP_WEBHOOK_POLL": "1h"}
	url, _, _ := startRun(t, env)
	rc := webhooktest.NewReceiver(t, nil)
	call := func(method, path string, body any, want int) map[string]any {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, url+path, bytes.NewReader(b))
		req.SetBasicAuth("act_ci", "a-secret-of-enough-length")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		if resp.StatusCode != want {
			t.Fatalf("%s %s: got %d %v, want %d", method, path, resp.StatusCode, out, want)
		}
		return out
	}
	appID := call("POST", "/v2/apps", map[string]any{"displayName": "hooks"}, 201)["app"].(map[string]any)["id"].(string)
	call("POST", "/v2/apps/"+appID+"/integrations", map[string]any{"type": "custom", "displayName": "bot",
		"webhooks": []any{map[string]any{"target": rc.URL, "triggers": []string{"conversation:message"}}}}, 201)
	convID := call("POST", "/v2/apps/"+appID+"/conversations", map[string]any{"type": "sdkGroup"}, 201)["conversation"].(map[string]any)["id"].(string)
	for i := 1; i <= 5; i++ {
		call("POST", "/v2/apps/"+appID+"/conversations/"+convID+"/messages", map[string]any{
			"author": map[string]any{"type": "business"}, "content": map[string]any{"type": "text", "text": "hi"}}, 201)
		rc.WaitFor(t, 20*time.Second, func(got []webhooktest.Received) bool { return len(got) >= i })
	}
}
