package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sunlamp/sunlamp"
	"github.com/sunlamp/sunlamp/internal/apitest"
)

// BenchmarkDSRErase measures `sunlamp dsr erase` against a local Sunlamp (client and server in one
// process, over real HTTP on loopback): users erased per second at concurrency 1, 4 and 16, on
// every store. Each iteration erases SUNLAMP_BENCH_USERS users (default 1000; the figure
// uses 10000), each with a profile, metadata and an sdk client, created beforehand through the store.
//
//	SUNLAMP_BENCH_USERS=10000 go test ./cmd/sunlamp -run '^$' -bench DSRErase -benchtime 1x
func BenchmarkDSRErase(b *testing.B) {
	n := 1000
	if v := os.Getenv("SUNLAMP_BENCH_USERS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("SUNLAMP_BENCH_USERS=%q: want a positive integer", v)
		}
	}
	for _, store := range apitest.Stores() {
		for _, conc := range []int{1, 4, 16} {
			b.Run(fmt.Sprintf("%s/users=%d/concurrency=%d", store, n, conc), func(b *testing.B) {
				var users, secs float64
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					c := newCLIEnv(b, store)
					input := benchUsers(b, c.Env, c.app, n)
					b.StartTimer()
					start := time.Now()
					out, errOut, err := c.run(context.Background(), "", "dsr", "erase", "--app", c.app, "--input", input,
						"--concurrency", strconv.Itoa(conc), "--progress-interval", "0")
					secs += time.Since(start).Seconds()
					if err != nil || !strings.Contains(out, fmt.Sprintf(": %d erased, 0 not found, 0 failed", n)) {
						b.Fatalf("got %v\nstdout: %s\nstderr: %s", err, out, errOut)
					}
					users += float64(n)
				}
				b.ReportMetric(users/secs, "users/s")
			})
		}
	}
}

// benchUsers creates n users in app through the store, concurrently, and returns the input file.
func benchUsers(tb testing.TB, e *apitest.Env, app string, n int) string {
	tb.Helper()
	ctx := context.Background()
	var b strings.Builder
	b.WriteString("externalId\n")
	ext := make([]string, n)
	for i := range ext {
		ext[i] = fmt.Sprintf("bench-%06d", i)
		b.WriteString(ext[i] + "\n")
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	jobs := make(chan string)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for x := range jobs {
				_, err := e.Store.CreateUser(ctx, sunlamp.User{
					AppID: app, ExternalID: x, SignedUpAt: time.Now(),
					Profile:  sunlamp.Profile{GivenName: "Given", Surname: "Surname", Email: x + "@example.org", Locale: "en-US"},
					Metadata: sunlamp.Metadata{"plan": "gold", "seats": 3},
				})
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, x := range ext {
		jobs <- x
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		tb.Fatalf("create users: %v", firstErr)
	}
	p := filepath.Join(tb.TempDir(), "users.csv")
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		tb.Fatal(err)
	}
	return p
}
