package webhook_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sunlamp/sunlamp/internal/apitest"
)

// These tests run the sunlamp program as processes: built once per test binary.
var program struct {
	once sync.Once
	path string
	err  error
	out  []byte
}

func buildProgram(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the sunlamp program: skipped with -short")
	}
	program.once.Do(func() {
		dir, err := os.MkdirTemp("", "sunlamp-bin-")
		if err != nil {
			program.err = err
			return
		}
		program.path = filepath.Join(dir, "sunlamp")
		cmd := exec.Command("go", "build", "-o", program.path, "github.com/sunlamp/sunlamp/cmd/sunlamp")
		program.out, program.err = cmd.CombinedOutput()
	})
	if program.err != nil {
		t.Fatalf("build sunlamp: %v\n%s", program.err, program.out)
	}
	return program.path
}

const (
	testKeyID     = "act_0123456789abcdef01234567"
	testKeySecret = "a-secret-of-the-account-key-for-tests"
)

// server is a running sunlamp process.
type server struct {
	cmd    *exec.Cmd
	url    string
	stderr *bytes.Buffer
	done   chan struct{}
}

var listening = regexp.MustCompile(`listening on (http://[0-9.:]+)`)

func startServer(t *testing.T, bin, dsn string) *server {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--db", dsn, "--log-level", "warn")
	cmd.Env = append(os.Environ(), "SUNLAMP_ACCOUNT_KEY_ID="+testKeyID, "SUNLAMP_ACCOUNT_KEY_SECRET="+testKeySecret)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, stderr: &bytes.Buffer{}, done: make(chan struct{})}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sunlamp: %v", err)
	}
	go func() { cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
		}
	})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	select {
	case s.url = <-found:
	case <-s.done:
		t.Fatalf("sunlamp exited: %s", s.stderr)
	case <-time.After(30 * time.Second):
		t.Fatalf("sunlamp did not start: %s", s.stderr)
	}
	return s
}

// kill ends the process with SIGKILL: no shutdown, no cleanup.
func (s *server) kill(t *testing.T) {
	t.Helper()
	s.cmd.Process.Kill()
	<-s.done
}

// do sends a request with the account key and decodes the answer into out.
func (s *server) do(t *testing.T, method, path string, body any, want int, out any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, s.url+path, bytes.NewReader(b))
	req.SetBasicAuth(testKeyID, testKeySecret)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var raw json.RawMessage
	json.NewDecoder(resp.Body).Decode(&raw)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: got %d, want %d: %s", method, path, resp.StatusCode, want, raw)
	}
	if out != nil {
		json.Unmarshal(raw, out)
	}
}

// setUpApp creates an app and a custom integration whose webhook posts conversation:create to
// target; it returns the app id.
func setUpApp(t *testing.T, s *server, target string) string {
	var app struct{ App struct{ ID string } }
	s.do(t, "POST", "/v2/apps", map[string]any{"displayName": "app"}, 201, &app)
	s.do(t, "POST", "/v2/apps/"+app.App.ID+"/integrations", map[string]any{"type": "custom",
		"webhooks": []any{map[string]any{"target": target, "triggers": []string{"conversation:create"}}}}, 201, nil)
	return app.App.ID
}

// conversationIDs reads the conversation ids out of conversation:create deliveries, counting them.
type tally struct {
	mu     sync.Mutex
	counts map[string]int
	added  chan struct{}
}

func newTally() *tally { return &tally{counts: map[string]int{}, added: make(chan struct{}, 1)} }

func (ta *tally) add(body []byte) {
	var env struct {
		Events []struct {
			Payload struct {
				Conversation struct{ ID string }
			}
		}
	}
	json.Unmarshal(body, &env)
	ta.mu.Lock()
	for _, e := range env.Events {
		ta.counts[e.Payload.Conversation.ID]++
	}
	ta.mu.Unlock()
	select {
	case ta.added <- struct{}{}:
	default:
	}
}

// waitAll waits until every id was counted at least once.
func (ta *tally) waitAll(t *testing.T, ids []string, timeout time.Duration) map[string]int {
	t.Helper()
	deadline := time.After(timeout)
	for {
		ta.mu.Lock()
		missing := 0
		for _, id := range ids {
			if ta.counts[id] == 0 {
				missing++
			}
		}
		snapshot := make(map[string]int, len(ta.counts))
		for k, v := range ta.counts {
			snapshot[k] = v
		}
		ta.mu.Unlock()
		if missing == 0 {
			return snapshot
		}
		select {
		case <-ta.added:
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatalf("timed out: %d of %d events never delivered", missing, len(ids))
		}
	}
}

// TestKill9 kills the server with SIGKILL right after events were committed (some of them in the
// middle of being sent) and checks that the restarted server delivers every one.
func TestKill9(t *testing.T) {
	bin := buildProgram(t)
	dsn := apitest.NewDSN(t, "sqlite")
	var mu sync.Mutex
	hang := true
	hung := make(chan struct{}, 100)
	ta := newTally()
	rc := http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var buf bytes.Buffer
		buf.ReadFrom(r.Body)
		mu.Lock()
		h := hang
		mu.Unlock()
		if h { // the first server never gets an answer: it is killed while waiting
			hung <- struct{}{}
			<-r.Context().Done()
			return
		}
		ta.add(buf.Bytes())
	})}
	ln := listenLoopback(t)
	go rc.Serve(ln)
	t.Cleanup(func() { rc.Close() })
	target := "http://" + ln.Addr().String() + "/hook"

	first := startServer(t, bin, dsn)
	appID := setUpApp(t, first, target)
	var ids []string
	for range 30 {
		var c struct{ Conversation struct{ ID string } }
		first.do(t, "POST", "/v2/apps/"+appID+"/conversations", map[string]any{"type": "sdkGroup"}, 201, &c)
		ids = append(ids, c.Conversation.ID)
	}
	select { // make sure that the killed server holds claims on deliveries it was sending
	case <-hung:
	case <-time.After(10 * time.Second):
		t.Fatal("the first server sent nothing")
	}
	first.kill(t)

	mu.Lock()
	hang = false
	mu.Unlock()
	startServer(t, bin, dsn)
	counts := ta.waitAll(t, ids, 30*time.Second)
	t.Logf("all %d events committed before the kill were delivered after the restart (%d deliveries)", len(ids), sum(counts))
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// TestTwoProcessesNoDuplicates runs two servers on one PostgreSQL database, writes events through
// both, and checks that each event reaches the webhook exactly once.
func TestTwoProcessesNoDuplicates(t *testing.T) {
	bin := buildProgram(t)
	dsn := apitest.NewDSN(t, "postgres")
	ta := newTally()
	rc := http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var buf bytes.Buffer
		buf.ReadFrom(r.Body)
		ta.add(buf.Bytes())
	})}
	ln := listenLoopback(t)
	go rc.Serve(ln)
	t.Cleanup(func() { rc.Close() })

	a := startServer(t, bin, dsn)
	b := startServer(t, bin, dsn)
	appID := setUpApp(t, a, "http://"+ln.Addr().String()+"/hook")
	const n = 300
	ids := make([]string, n)
	var wg sync.WaitGroup
	for w, s := range []*server{a, b, a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 4 {
				var c struct{ Conversation struct{ ID string } }
				s.do(t, "POST", "/v2/apps/"+appID+"/conversations", map[string]any{"type": "sdkGroup"}, 201, &c)
				ids[i] = c.Conversation.ID
			}
		}()
	}
	wg.Wait()
	ta.waitAll(t, ids, 60*time.Second)
	time.Sleep(2 * time.Second) // time for a duplicate to arrive, if there were one
	ta.mu.Lock()
	defer ta.mu.Unlock()
	dups := 0
	for _, id := range ids {
		if ta.counts[id] != 1 {
			dups++
			t.Errorf("event of conversation %s delivered %d times, want 1", id, ta.counts[id])
		}
	}
	t.Logf("%d events written through two processes, each delivered once (%d duplicates)", n, dups)
}

func listenLoopback(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}
