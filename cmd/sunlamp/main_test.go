package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the server goroutine to write while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var reListening = regexp.MustCompile(`listening on (http://\S+)`)

// startRun calls run("serve", ...) in a goroutine and returns the server's URL, its stderr, and a
// stop function that cancels the context and returns run's error.
func startRun(t *testing.T, env map[string]string, args ...string) (string, *syncBuffer, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	getenv := func(k string) string { return env[k] }
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...), getenv, strings.NewReader(""), stdout, stderr)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if m := reListening.FindStringSubmatch(stdout.String()); m != nil {
			stopped := false
			var stopErr error
			stop := func() error {
				if !stopped {
					cancel()
					stopErr, stopped = <-done, true
				}
				return stopErr
			}
			t.Cleanup(func() { _ = stop() })
			return m[1], stderr, stop
		}
		select {
		case err := <-done:
			cancel()
			t.Fatalf("run returned before listening: %v\nstderr: %s", err, stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("server did not start; stderr: %s", stderr.String())
		}
	}
}

func get(t *testing.T, url, id, secret string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if id != "" {
		req.SetBasicAuth(id, secret)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func TestServeWithConfiguredAccountKey(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "s.db")
	env := map[string]string{"SUNLAMP_ACCOUNT_KEY_ID": "act_ci", "SUNLAMP_ACCOUNT_KEY_SECRET": "a-secret-of-enough-length", "SUNLAMP_DB": db}
	url, stderr, stop := startRun(t, env)
	if got := get(t, url+"/healthz", "", ""); got != 200 {
		t.Errorf("got /healthz %d, want 200", got)
	}
	if got := get(t, url+"/v2/apps", "act_ci", "a-secret-of-enough-length"); got != 200 {
		t.Errorf("got %d with the configured key, want 200", got)
	}
	if strings.Contains(stderr.String(), "a-secret-of-enough-length") {
		t.Errorf("the configured secret was logged: %s", stderr.String())
	}
	if err := stop(); err != nil {
		t.Fatalf("got run error %v on shutdown, want nil", err)
	}
	// Idempotent across restarts, and a changed secret replaces the old one.
	env["SUNLAMP_ACCOUNT_KEY_SECRET"] = "another-secret-of-length"
	url, _, stop = startRun(t, env)
	if got := get(t, url+"/v2/apps", "act_ci", "another-secret-of-length"); got != 200 {
		t.Errorf("got %d after restart with the new secret, want 200", got)
	}
	if got := get(t, url+"/v2/apps", "act_ci", "a-secret-of-enough-length"); got != 401 {
		t.Errorf("got %d with the old secret, want 401", got)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

func TestServeGeneratesAccountKeyOnce(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "s.db")
	url, stderr, stop := startRun(t, nil, "--db", db)
	m := regexp.MustCompile(`key id:\s+(act_[0-9a-f]{24})\s+secret:\s+(\S+)`).FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("no generated key on stderr: %s", stderr.String())
	}
	if !strings.Contains(stderr.String(), "curl -u '"+m[1]+":"+m[2]+"'") {
		t.Errorf("no curl line with the key on stderr: %s", stderr.String())
	}
	if got := get(t, url+"/v2/apps", m[1], m[2]); got != 200 {
		t.Errorf("got %d with the generated key, want 200", got)
	}
	stop()
	_, stderr, stop = startRun(t, nil, "--db", db)
	if strings.Contains(stderr.String(), "key id:") {
		t.Errorf("a key was generated again on restart: %s", stderr.String())
	}
	stop()
}

func TestFlagsBeatEnvironment(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"SUNLAMP_DB": "sqlite:" + filepath.Join(dir, "env.db"), "SUNLAMP_BASE_URL": "https://env.example"}
	_, _, stop := startRun(t, env, "--db", "sqlite:"+filepath.Join(dir, "flag.db"))
	stop()
	if _, err := os.Stat(filepath.Join(dir, "flag.db")); err != nil {
		t.Errorf("the --db flag was not used: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "env.db")); err == nil {
		t.Errorf("SUNLAMP_DB was used although --db was given")
	}
}

func TestBadConfiguration(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"key id without act_", map[string]string{"SUNLAMP_ACCOUNT_KEY_ID": "app_x", "SUNLAMP_ACCOUNT_KEY_SECRET": "0123456789abcdef"}, nil, "must start with"},
		{"key id without secret", map[string]string{"SUNLAMP_ACCOUNT_KEY_ID": "act_x"}, nil, "together"},
		{"unknown database", nil, []string{"--db", "mysql://x"}, "unknown database"},
		{"bad base url", nil, []string{"--base-url", "ftp://x"}, "--base-url"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			args := append([]string{"serve", "--addr", "127.0.0.1:0", "--db", "sqlite:" + filepath.Join(t.TempDir(), "x.db")}, c.args...)
			err := run(context.Background(), args, func(k string) string { return c.env[k] }, strings.NewReader(""), &out, &errOut)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got error %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"version"}, os.Getenv, strings.NewReader(""), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "sunlamp ") {
		t.Errorf("got %q, want it to start with 'sunlamp '", out.String())
	}
}

// TestSIGTERM runs the real binary and stops it with SIGTERM: it must exit 0 after finishing.
func TestSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "sunlamp")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--db", "sqlite:"+filepath.Join(dir, "s.db"))
	stdout := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = stdout, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !reListening.MatchString(stdout.String()) {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("server did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	url := reListening.FindStringSubmatch(stdout.String())[1]
	if got := get(t, url+"/healthz", "", ""); got != 200 {
		t.Fatalf("got /healthz %d", got)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("got exit %v after SIGTERM, want 0", err)
	}
	// A clean stop leaves no write-ahead log behind.
	if fi, err := os.Stat(filepath.Join(dir, "s.db-wal")); err == nil && fi.Size() > 0 {
		t.Errorf("got a %d-byte WAL after a clean stop, want it checkpointed and truncated", fi.Size())
	}
}
