package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// do sends a request with the configured account key and returns the status and body.
func do(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.SetBasicAuth("act_ci", "a-secret-of-enough-length")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestServeEmulator: --emulator turns the controls on, --load loads a snapshot at start (once: a
// restart keeps what the app became), --rate-limit throttles; without --emulator the controls are
// not found.
func TestServeEmulator(t *testing.T) {
	dir := t.TempDir()
	snapshot := filepath.Join(dir, "fixture.json")
	if err := os.WriteFile(snapshot, []byte(`{"version":1,"app":{"id":"0123456789abcdef01234567","displayName":"Fixture","settings":{},
		"createdAt":"2026-01-01T00:00:00.000Z"},"users":[{"id":"0123456789abcdef01234568","externalId":"ann","signedUpAt":"2026-01-01T00:00:00.000Z",
		"toBeRetained":false,"givenName":"Ann"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"SUNLAMP_ACCOUNT_KEY_ID": "act_ci", "SUNLAMP_ACCOUNT_KEY_SECRET": "a-secret-of-enough-length",
		"SUNLAMP_DB": "sqlite:" + filepath.Join(dir, "s.db"), "SUNLAMP_EMULATOR": "true"}
	url, _, stop := startRun(t, env, "--load", snapshot)
	app := url + "/v2/apps/0123456789abcdef01234567"
	if status, body := do(t, "GET", app+"/users/ann", ""); status != 200 || !strings.Contains(body, `"givenName":"Ann"`) {
		t.Fatalf("got %d %s, want the snapshot's user", status, body)
	}
	if status, body := do(t, "POST", url+"/_sunlamp/v1/clock", `{"advance":"1h"}`); status != 200 {
		t.Errorf("POST clock: got %d %s, want 200", status, body)
	}
	if status, _ := do(t, "DELETE", app+"/users/ann", ""); status != 200 {
		t.Fatalf("DELETE user: got %d", status)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	// Restarted with the same --load: the app exists, so it is left as it became, and the clock
	// kept its offset.
	url, _, stop = startRun(t, env, "--load", snapshot)
	if status, _ := do(t, "GET", url+"/v2/apps/0123456789abcdef01234567/users/ann", ""); status != 404 {
		t.Errorf("got %d for the deleted user after a restart, want 404 (the snapshot is not loaded again)", status)
	}
	if _, body := do(t, "GET", url+"/_sunlamp/v1/clock", ""); !strings.Contains(body, `"offsetMs":36`) {
		t.Errorf("got clock %s after a restart, want the offset of an hour kept", body)
	}
	stop()

	// Without --emulator: the controls are not found, the recorder is there.
	delete(env, "SUNLAMP_EMULATOR")
	url, _, stop = startRun(t, env, "--rate-limit", "1")
	if status, _ := do(t, "POST", url+"/_sunlamp/v1/reset", ""); status != 404 {
		t.Errorf("POST reset without --emulator: got %d, want 404", status)
	}
	throttled := false
	for i := 0; i < 5 && !throttled; i++ {
		status, _ := do(t, "GET", url+"/_sunlamp/v1/apps/0123456789abcdef01234567/deliveries", "")
		throttled = status == 429
	}
	if !throttled {
		t.Error("got no 429 in 5 quick requests with --rate-limit 1")
	}
	stop()

	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--db", "sqlite:" + filepath.Join(dir, "x.db"), "--load", snapshot},
		func(string) string { return "" }, strings.NewReader(""), &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "--load needs --emulator") {
		t.Errorf("got %v for --load without --emulator, want an error", err)
	}
}
