// Command sunlamp-load drives a running Sunlamp server over HTTP and reports throughput and
// latency: concurrent PostMessage, ListMessages or GetConversation calls for a fixed time, on
// loopback. It creates an app, an app key and one conversation per client with the account key.
//
//	SUNLAMP_ACCOUNT_KEY_ID=act_... SUNLAMP_ACCOUNT_KEY_SECRET=... sunlamp-load -url http://127.0.0.1:8090 -op post -clients 32 -duration 10s
//
// With -webhook, the app's webhook subscribes to conversation:message and the load generator
// serves it: the run then includes writing each message's event and delivering it.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "sunlamp-load:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("sunlamp-load", flag.ContinueOnError)
	url := fs.String("url", "http://127.0.0.1:8090", "base URL of the server (loopback)")
	op := fs.String("op", "post", "post (PostMessage), list (ListMessages of a full conversation) or get (GetConversation)")
	clients := fs.Int("clients", 32, "concurrent clients")
	duration := fs.Duration("duration", 10*time.Second, "how long to run (at most 5m)")
	fill := fs.Int("fill", 30000, "list: messages to post into the conversation first")
	hook := fs.Bool("webhook", false, "post: subscribe a webhook to conversation:message, served by the load generator on loopback, and count its deliveries")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *duration > 5*time.Minute {
		return errors.New("-duration is limited to 5m")
	}
	if getenv("GOGC") == "" { // the load generator shares the machine's CPUs: keep its share small
		debug.SetGCPercent(400)
	}
	c := &client{base: strings.TrimRight(*url, "/"), http: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}, Timeout: 30 * time.Second}}
	c.auth = basic(getenv("SUNLAMP_ACCOUNT_KEY_ID"), getenv("SUNLAMP_ACCOUNT_KEY_SECRET"))
	if err := c.setup(ctx, *clients); err != nil {
		return err
	}
	var rc *receiver
	if *hook {
		if *op != "post" {
			return errors.New("-webhook goes with -op post")
		}
		var err error
		if rc, err = c.subscribe(ctx); err != nil {
			return err
		}
		defer rc.Close()
	}
	var call func(ctx context.Context, i int, n int64) error
	switch *op {
	case "post":
		call = func(ctx context.Context, i int, n int64) error {
			_, err := c.post(ctx, c.convs[i], fmt.Sprintf("load message %d", n))
			return err
		}
	case "list":
		if _, err := c.postMany(ctx, c.convs[0], *fill, 64); err != nil {
			return err
		}
		call = func(ctx context.Context, i int, n int64) error {
			return c.get(ctx, "/conversations/"+c.convs[0]+"/messages")
		}
	case "get":
		call = func(ctx context.Context, i int, n int64) error { return c.get(ctx, "/conversations/"+c.convs[i]) }
	default:
		return fmt.Errorf("unknown -op %q", *op)
	}
	r := measure(ctx, *clients, *duration, call)
	fmt.Fprintf(stdout, "%s: %d clients, %v: %d ok, %d errors, %.0f/s, p50 %.2f ms, p99 %.2f ms\n",
		*op, *clients, *duration, r.ok, r.errors, r.rate, r.p50, r.p99)
	if r.firstErr != nil {
		fmt.Fprintln(stdout, "first error:", r.firstErr)
	}
	if rc != nil {
		during := rc.events.Load()
		deadline := time.Now().Add(30 * time.Second)
		for rc.events.Load() < r.ok && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		fmt.Fprintf(stdout, "webhook: %d conversation:message events delivered during the run, %d of %d within 30 s after it\n", during, rc.events.Load(), r.ok)
	}
	return nil
}

// receiver is the webhook target of -webhook: it answers 200 and counts the events it receives.
type receiver struct {
	*http.Server
	events atomic.Int64
}

// subscribe starts a receiver on loopback and subscribes it to the app's conversation:message.
func (c *client) subscribe(ctx context.Context) (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	rc := &receiver{}
	rc.Server = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Events []json.RawMessage }
		if err := json.NewDecoder(r.Body).Decode(&body); err == nil {
			rc.events.Add(int64(len(body.Events)))
		}
	})}
	go func() { _ = rc.Serve(ln) }()
	err = c.do(ctx, "POST", "/v2/apps/"+c.appID+"/integrations", c.appAuth, map[string]any{"type": "custom", "displayName": "sunlamp-load",
		"webhooks": []any{map[string]any{"target": "http://" + ln.Addr().String() + "/", "triggers": []string{"conversation:message"}}}}, 201, nil)
	if err != nil {
		rc.Close()
		return nil, err
	}
	return rc, nil
}

func basic(id, secret string) string {
	req, _ := http.NewRequest("GET", "/", nil)
	req.SetBasicAuth(id, secret)
	return req.Header.Get("Authorization")
}

// client talks to one app of a server.
type client struct {
	base, auth, appAuth, appID string
	convs                      []string
	http                       *http.Client
}

func (c *client) do(ctx context.Context, method, path, auth string, body any, want int, out any) error {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", auth)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: got %d: %s", method, path, resp.StatusCode, data)
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

// setup creates an app, an app key and n conversations.
func (c *client) setup(ctx context.Context, n int) error {
	var app struct{ App struct{ ID string } }
	if err := c.do(ctx, "POST", "/v2/apps", c.auth, map[string]any{"displayName": "sunlamp-load"}, 201, &app); err != nil {
		return err
	}
	c.appID = app.App.ID
	var key struct{ Key struct{ ID, Secret string } }
	if err := c.do(ctx, "POST", "/v2/apps/"+c.appID+"/keys", c.auth, map[string]any{"displayName": "load"}, 201, &key); err != nil {
		return err
	}
	c.appAuth = basic(key.Key.ID, key.Key.Secret)
	for i := 0; i < n; i++ {
		var conv struct{ Conversation struct{ ID string } }
		if err := c.do(ctx, "POST", "/v2/apps/"+c.appID+"/conversations", c.appAuth, map[string]any{"type": "sdkGroup"}, 201, &conv); err != nil {
			return err
		}
		c.convs = append(c.convs, conv.Conversation.ID)
	}
	return nil
}

// post posts a business text message and returns its id once the server acknowledged it.
func (c *client) post(ctx context.Context, conv, text string) (string, error) {
	var out struct{ Messages []struct{ ID string } }
	err := c.do(ctx, "POST", "/v2/apps/"+c.appID+"/conversations/"+conv+"/messages", c.appAuth,
		map[string]any{"author": map[string]any{"type": "business"}, "content": map[string]any{"type": "text", "text": text}}, 201, &out)
	if err != nil {
		return "", err
	}
	return out.Messages[0].ID, nil
}

// postMany posts n messages with workers concurrent clients and returns the acknowledged ids.
func (c *client) postMany(ctx context.Context, conv string, n, workers int) ([]string, error) {
	var mu sync.Mutex
	var ids []string
	var next atomic.Int64
	var firstErr error
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= int64(n); i = next.Add(1) {
				id, err := c.post(ctx, conv, fmt.Sprintf("message %d", i))
				mu.Lock()
				if err != nil {
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				ids = append(ids, id)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return ids, firstErr
}

func (c *client) get(ctx context.Context, path string) error {
	return c.do(ctx, "GET", "/v2/apps/"+c.appID+path, c.appAuth, nil, 200, nil)
}

type result struct {
	ok, errors int64
	rate       float64
	p50, p99   float64
	firstErr   error
}

// measure runs call from clients goroutines for d and summarises the latencies.
func measure(ctx context.Context, clients int, d time.Duration, call func(ctx context.Context, i int, n int64) error) result {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var mu sync.Mutex
	var lat []time.Duration
	var res result
	var n atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for ctx.Err() == nil {
				t := time.Now()
				err := call(context.WithoutCancel(ctx), i, n.Add(1))
				mu.Lock()
				if err != nil {
					res.errors++
					if res.firstErr == nil {
						res.firstErr = err
					}
				} else {
					res.ok++
				}
				mu.Unlock()
				mine = append(mine, time.Since(t))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	res.rate = float64(res.ok) / elapsed.Seconds()
	if len(lat) > 0 {
		slices.Sort(lat)
		res.p50 = float64(lat[len(lat)/2].Microseconds()) / 1000
		res.p99 = float64(lat[(len(lat)-1)*99/100].Microseconds()) / 1000
	}
	return res
}
