package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sunlamp/sunlamp"
	"github.com/sunlamp/sunlamp/internal/apitest"
	"github.com/sunlamp/sunlamp/sqlstore"
)

// BenchmarkDSRExport measures `sunlamp dsr export USER --out FILE` of a user whose personal
// conversation holds 3,000 and 30,000 messages (the service's limit per conversation): messages
// written per second, and the peak heap of the exporting process, sampled every 5 ms. The server
// is the built binary in a process of its own, so that the heap measured is the command's alone;
// the database is filled through the store beforehand. The heap staying the same for ten times the
// messages is the point: the document is streamed, one page in memory.
//
//	flock /tmp/bench.lock go test ./cmd/sunlamp -run '^$' -bench DSRExport -benchtime 3x
func BenchmarkDSRExport(b *testing.B) {
	bin := MustBuild(b)
	for _, store := range apitest.Stores() {
		for _, n := range []int{3000, 30000} {
			b.Run(fmt.Sprintf("%s/messages=%d", store, n), func(b *testing.B) {
				env, app, user := MustBenchExportServer(b, bin, store, n)
				getenv := func(k string) string { return env[k] }
				var peak uint64
				var secs float64
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					out := filepath.Join(b.TempDir(), "export.json")
					runtime.GC()
					stop := sampleHeap(&peak)
					start := time.Now()
					var stdout, stderr strings.Builder
					err := run(context.Background(), []string{"dsr", "export", user, "--app", app, "--out", out, "--progress-interval", "0"}, getenv, strings.NewReader(""), &stdout, &stderr)
					secs += time.Since(start).Seconds()
					stop()
					if err != nil || !strings.Contains(stdout.String(), fmt.Sprintf("; %d messages and 0 media files written", n)) {
						b.Fatalf("got %v\nstdout: %s\nstderr: %s", err, stdout.String(), stderr.String())
					}
				}
				b.ReportMetric(float64(n*b.N)/secs, "messages/s")
				b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
			})
		}
	}
}

// sampleHeap records the largest HeapInuse seen into peak until the returned function is called.
func sampleHeap(peak *uint64) func() {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > *peak {
				*peak = ms.HeapInuse
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// MustBenchExportServer fills a database of the named store with an app, its key, and a user with
// a personal conversation of n messages, then serves it with the binary bin in a process of its
// own. It returns the command line's environment, the app id and the user id.
func MustBenchExportServer(tb testing.TB, bin, store string, n int) (map[string]string, string, string) {
	tb.Helper()
	ctx := context.Background()
	dsn := apitest.NewDSN(tb, store)
	st, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	app, err := st.CreateApp(ctx, sunlamp.App{AccountID: sunlamp.DefaultAccountID, DisplayName: "Export bench"})
	if err != nil {
		tb.Fatal(err)
	}
	key, err := st.CreateKey(ctx, sunlamp.Key{ID: sunlamp.NewKeyID(sunlamp.PrefixAppKey), Scope: sunlamp.ScopeApp,
		AccountID: sunlamp.DefaultAccountID, AppID: app.ID, DisplayName: "bench", Secret: sunlamp.NewSecret()})
	if err != nil {
		tb.Fatal(err)
	}
	u, err := st.CreateUser(ctx, sunlamp.User{AppID: app.ID, ExternalID: "bench-user", SignedUpAt: time.Now(),
		Profile: sunlamp.Profile{GivenName: "Given", Surname: "Surname", Email: "bench@example.org"}})
	if err != nil {
		tb.Fatal(err)
	}
	conv, err := st.CreateConversation(ctx, sunlamp.Conversation{AppID: app.ID, Type: sunlamp.ConversationPersonal}, []sunlamp.ParticipantRef{{UserID: u.ID}})
	if err != nil {
		tb.Fatal(err)
	}
	MustFillConversation(tb, st, app.ID, conv.ID, u.ID, n)
	if err := st.Close(); err != nil {
		tb.Fatal(err)
	}

	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--db", dsn, "--log-level", "error")
	cmd.Env = append(os.Environ(), "SUNLAMP_ACCOUNT_KEY_ID=", "SUNLAMP_ACCOUNT_KEY_SECRET=")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	})
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := reListening.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			}
		}
	}()
	select {
	case url := <-urls:
		return map[string]string{"SUNLAMP_URL": url, "SUNLAMP_KEY_ID": key.ID, "SUNLAMP_KEY_SECRET": key.Secret}, app.ID, u.ID
	case <-time.After(30 * time.Second):
		tb.Fatal("the server did not start")
	}
	return nil, "", ""
}
