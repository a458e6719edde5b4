package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var reMetrics = regexp.MustCompile(`metrics on (http://\S+)`)

const (
	testKeyID     = "act_ops"
	testKeySecret = "an-ops-secret-of-enough-length"
)

// opsDo sends a request with the test's account key and returns the status and body.
func opsDo(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.SetBasicAuth(testKeyID, testKeySecret)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestMetrics(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"SUNLAMP_ACCOUNT_KEY_ID": testKeyID, "SUNLAMP_ACCOUNT_KEY_SECRET": testKeySecret}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--db", "sqlite:" + filepath.Join(dir, "s.db")},
			func(k string) string { return env[k] }, strings.NewReader(""), stdout, stderr)
	}()
	var url, murl string
	for deadline := time.Now().Add(20 * time.Second); url == "" || murl == ""; time.Sleep(10 * time.Millisecond) {
		if m := reListening.FindStringSubmatch(stdout.String()); m != nil {
			url = m[1]
		}
		if m := reMetrics.FindStringSubmatch(stdout.String()); m != nil {
			murl = m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not start; stdout %s stderr %s", stdout.String(), stderr.String())
		}
	}
	if strings.HasPrefix(murl, url) {
		t.Fatalf("got metrics at %s, want a listener of their own (API at %s)", murl, url)
	}

	// An app, a user with an externalId and personal data, a message, an erasure, a deletion.
	status, body := opsDo(t, "POST", url+"/v2/apps", `{"displayName":"Metrics"}`)
	if status != 201 {
		t.Fatalf("create app: got %d %s", status, body)
	}
	var app struct{ App struct{ ID string } }
	json.Unmarshal([]byte(body), &app)
	appURL := url + "/v2/apps/" + app.App.ID
	const ext, given = "ext-personal-4711", "Personalname"
	if status, body = opsDo(t, "POST", appURL+"/users", `{"externalId":"`+ext+`","profile":{"givenName":"`+given+`"}}`); status != 201 {
		t.Fatalf("create user: got %d %s", status, body)
	}
	var user struct{ User struct{ ID string } }
	json.Unmarshal([]byte(body), &user)
	if status, body = opsDo(t, "GET", appURL+"/users/"+ext, ""); status != 200 {
		t.Fatalf("get user: got %d %s", status, body)
	}
	if status, body = opsDo(t, "POST", appURL+"/conversations", `{"type":"personal","participants":[{"userExternalId":"`+ext+`"}]}`); status != 201 {
		t.Fatalf("create conversation: got %d %s", status, body)
	}
	var conv struct{ Conversation struct{ ID string } }
	json.Unmarshal([]byte(body), &conv)
	// A webhook that takes the message's event: one delivery, delivered.
	hooked := make(chan struct{}, 10)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		hooked <- struct{}{}
	}))
	defer receiver.Close()
	if status, body = opsDo(t, "POST", appURL+"/integrations", `{"type":"custom","displayName":"hook","webhooks":[{"target":"`+receiver.URL+`","triggers":["conversation:message"]}]}`); status != 201 {
		t.Fatalf("create integration: got %d %s", status, body)
	}
	if status, body = opsDo(t, "POST", appURL+"/conversations/"+conv.Conversation.ID+"/messages", `{"author":{"type":"business"},"content":{"type":"text","text":"hi"}}`); status != 201 {
		t.Fatalf("post message: got %d %s", status, body)
	}
	select {
	case <-hooked:
	case <-time.After(20 * time.Second):
		t.Fatal("the webhook got no delivery")
	}
	if status, body = opsDo(t, "DELETE", appURL+"/users/"+ext+"/personalinformation", ""); status != 200 {
		t.Fatalf("erase: got %d %s", status, body)
	}
	if status, body = opsDo(t, "DELETE", appURL+"/users/"+ext, ""); status != 200 {
		t.Fatalf("delete: got %d %s", status, body)
	}
	opsDo(t, "GET", appURL+"/users/"+ext, "")     // 404 now
	opsDo(t, "GET", url+"/no/such/"+ext, "")      // unrouted
	opsDo(t, "GET", appURL+"/users/"+ext+"/", "") // unrouted too

	var text string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		resp, err := http.Get(murl)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		text = string(b)
		if resp.StatusCode != 200 {
			t.Fatalf("got metrics %d: %s", resp.StatusCode, text)
		}
		if strings.Contains(text, `sunlamp_webhook_deliveries_total{outcome="delivered"} 1`) || time.Now().After(deadline) {
			break
		}
	}
	for _, want := range []string{
		`sunlamp_http_requests_total{operationId="CreateApp",status="201"} 1`,
		`sunlamp_http_requests_total{operationId="GetUser",status="200"} 1`,
		`sunlamp_http_requests_total{operationId="GetUser",status="404"} 1`,
		`sunlamp_http_requests_total{operationId="PostMessage",status="201"} 1`,
		`sunlamp_http_requests_total{operationId="unrouted",status="404"} 2`,
		`sunlamp_http_request_duration_seconds_count{operationId="PostMessage"} 1`,
		`sunlamp_http_request_duration_seconds_bucket{operationId="GetUser",le="+Inf"} 2`,
		`sunlamp_erasures_total 1`,
		`sunlamp_user_deletions_total{stage="requested"} 1`,
		`sunlamp_user_deletions_total{stage="completed"}`,
		`sunlamp_message_batch_size_bucket{le="1"}`,
		`sunlamp_webhook_deliveries_total{outcome="delivered"} 1`,
		`sunlamp_webhook_deliveries_pending 0`,
		`sunlamp_webhook_oldest_pending_seconds 0`,
		`sunlamp_purge_backlog_users`,
		`sunlamp_store_errors_total{operation="PostMessage"} 0`,
		`go_goroutines`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	// No personal data in any label: not the externalId (which was in paths), the user's id or its name.
	for _, secret := range []string{ext, user.User.ID, given} {
		if strings.Contains(text, secret) {
			t.Errorf("metrics hold %q:\n%s", secret, text)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	// The metrics listener stopped with the server.
	if _, err := http.Get(murl); err == nil {
		t.Errorf("the metrics listener still answers after the stop")
	}
}

func TestMetricsOffByDefault(t *testing.T) {
	_, _, stop := startRun(t, nil, "--db", "sqlite:"+filepath.Join(t.TempDir(), "s.db"))
	stop()
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // serve starts, finds its context done and stops
	_ = run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--db", "sqlite:" + filepath.Join(t.TempDir(), "t.db")}, func(string) string { return "" }, strings.NewReader(""), &out, &errOut)
	if strings.Contains(out.String(), "metrics on") {
		t.Errorf("got a metrics listener without --metrics-addr: %s", out.String())
	}
}

func TestLogFormatJSON(t *testing.T) {
	for _, c := range []struct {
		name string
		env  map[string]string
		args []string
	}{
		{"flag", nil, []string{"--log-format", "json"}},
		{"environment", map[string]string{"SUNLAMP_LOG_FORMAT": "json"}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			url, stderr, stop := startRun(t, c.env, append([]string{"--db", "sqlite:" + filepath.Join(t.TempDir(), "s.db")}, c.args...)...)
			get(t, url+"/healthz", "", "")
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			var requests int
			for _, line := range strings.Split(stderr.String(), "\n") {
				if !strings.HasPrefix(line, "{") {
					continue // the generated key's notice is text for a person
				}
				var rec map[string]any
				if err := json.Unmarshal([]byte(line), &rec); err != nil {
					t.Errorf("got a log line that is not JSON: %q: %v", line, err)
					continue
				}
				if rec["msg"] == "request" && rec["route"] == "GET /healthz" && rec["status"] == float64(200) {
					requests++
				}
			}
			if requests != 1 {
				t.Errorf("got %d JSON access-log lines for GET /healthz, want 1; stderr:\n%s", requests, stderr.String())
			}
		})
	}
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--log-format", "xml", "--db", "sqlite:" + filepath.Join(t.TempDir(), "x.db")},
		func(string) string { return "" }, strings.NewReader(""), &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "--log-format") {
		t.Errorf("got %v for --log-format xml, want an error naming --log-format", err)
	}
}
