package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sunlamp/sunlamp/internal/apitest"
)

// TestAcknowledgedMessagesSurviveKill9 posts messages from concurrent clients to a real sunlamp
// process, kills it with SIGKILL while posts are in flight, restarts it on the same database and
// checks that every message the server answered 201 for is there. (SQLite also fsyncs the WAL
// before each 201, synchronous=FULL, so the guarantee extends to power loss; a kill cannot test
// that.)
func TestAcknowledgedMessagesSurviveKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the sunlamp binary")
	}
	bin := filepath.Join(t.TempDir(), "sunlamp")
	build := exec.Command("go", "build", "-o", bin, "github.com/sunlamp/sunlamp/cmd/sunlamp")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build sunlamp: %v\n%s", err, out)
	}
	for _, store := range apitest.Stores() {
		t.Run(store, func(t *testing.T) {
			dsn := apitest.NewDSN(t, store)
			var b [12]byte
			_, _ = rand.Read(b[:])
			keyID, secret := "act_"+hex.EncodeToString(b[:]), "crash-test-secret-"+hex.EncodeToString(b[:4])
			srv := startServer(t, bin, dsn, keyID, secret)
			c := &client{base: srv.url, http: &http.Client{Timeout: 10 * time.Second}, auth: basic(keyID, secret)}
			ctx := context.Background()
			if err := c.setup(ctx, 1); err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			var acked []string
			var wg sync.WaitGroup
			stop := make(chan struct{})
			for w := 0; w < 16; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; ; i++ {
						select {
						case <-stop:
							return
						default:
						}
						id, err := c.post(ctx, c.convs[0], "survive")
						if err != nil {
							continue // the server is gone: unacknowledged, so it may be lost
						}
						mu.Lock()
						acked = append(acked, id)
						mu.Unlock()
					}
				}()
			}
			// Kill while posts are in flight.
			for {
				time.Sleep(50 * time.Millisecond)
				mu.Lock()
				n := len(acked)
				mu.Unlock()
				if n >= 300 {
					break
				}
			}
			if err := srv.cmd.Process.Kill(); err != nil { // SIGKILL
				t.Fatal(err)
			}
			_ = srv.cmd.Wait()
			close(stop)
			wg.Wait()

			srv = startServer(t, bin, dsn, keyID, secret)
			c.base = srv.url
			stored := map[string]bool{}
			path := "/v2/apps/" + c.appID + "/conversations/" + c.convs[0] + "/messages"
			for {
				var page struct {
					Messages []struct{ ID string }
					Meta     struct {
						HasMore      bool
						BeforeCursor string
					}
				}
				if err := c.do(ctx, "GET", path, c.appAuth, nil, 200, &page); err != nil {
					t.Fatal(err)
				}
				for _, m := range page.Messages {
					stored[m.ID] = true
				}
				if !page.Meta.HasMore {
					break
				}
				path = "/v2/apps/" + c.appID + "/conversations/" + c.convs[0] + "/messages?page[before]=" + page.Meta.BeforeCursor
			}
			lost := 0
			for _, id := range acked {
				if !stored[id] {
					lost++
				}
			}
			if lost > 0 {
				t.Fatalf("got %d of %d acknowledged messages lost after kill -9", lost, len(acked))
			}
			t.Logf("%d acknowledged messages, all there after kill -9 (%d stored)", len(acked), len(stored))
			_ = srv.cmd.Process.Kill()
			_ = srv.cmd.Wait()
		})
	}
}

type server struct {
	cmd *exec.Cmd
	url string
}

// startServer runs the sunlamp binary on a free loopback port and waits until it answers.
func startServer(t *testing.T, bin, dsn, keyID, secret string) server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "serve", "--addr", addr, "--db", dsn, "--log-level", "error")
	cmd.Env = append(os.Environ(), "SUNLAMP_ACCOUNT_KEY_ID="+keyID, "SUNLAMP_ACCOUNT_KEY_SECRET="+secret)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	url := "http://" + addr
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(url + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return server{cmd: cmd, url: url}
			}
		}
	}
	t.Fatalf("sunlamp did not start on %s", addr)
	return server{}
}
