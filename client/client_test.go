package client_test

import (
	"context"
	"errors"
	"github.com/sunlamp/sunlamp/client"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sunlamp/sunlamp/internal/apitest"
)

// newClient returns a client of e with auth, its sleeps recorded instead of slept, and every request
// and response checked against the spec.
func newClient(t *testing.T, url string, auth client.Auth, opts ...client.Option) (*client.Client, *sleeps) {
	t.Helper()
	opts = append([]client.Option{client.WithHTTPClient(&http.Client{Transport: apitest.SpecTransport(t)})}, opts...)
	c, err := client.New(url, auth, opts...)
	if err != nil {
		t.Fatal(err)
	}
	s := &sleeps{}
	client.SetSleep(c, s.sleep)
	return c, s
}

// sleeps records the waits a client asked for, without waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	if d > 0 {
		s.d = append(s.d, d)
	}
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

func account(e *apitest.Env) client.Auth { return client.Basic(e.AccountKey.ID, e.AccountKey.Secret) }

func mustAPIError(t *testing.T, err error, status int, code, title string) {
	t.Helper()
	var e *client.Error
	if !errors.As(err, &e) {
		t.Fatalf("got error %v (%T), want an *client.Error %d %s", err, err, status, code)
	}
	if e.Status != status || e.Code() != code || title != "" && e.Title() != title {
		t.Errorf("got %d %q %q, want %d %q %q", e.Status, e.Code(), e.Title(), status, code, title)
	}
}

func TestAppsAndKeys(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		ctx := context.Background()
		c, _ := newClient(t, e.URL, account(e))
		yes := true
		app, err := c.CreateApp(ctx, client.AppCreate{DisplayName: "Client client.App", Settings: &client.AppSettings{UseAnimalNames: &yes}, Metadata: client.Metadata{"plan": "gold"}})
		if err != nil {
			t.Fatal(err)
		}
		if app.DisplayName != "Client client.App" || app.Metadata["plan"] != "gold" || app.Settings.UseAnimalNames == nil || !*app.Settings.UseAnimalNames {
			t.Errorf("got app %+v, want the created fields back", app)
		}
		got, err := c.GetApp(ctx, app.ID)
		if err != nil || got.ID != app.ID {
			t.Fatalf("GetApp: got %+v, %v", got, err)
		}
		upd, err := c.UpdateApp(ctx, app.ID, client.AppUpdate{DisplayName: client.Set("Renamed"), Metadata: client.Null[client.Metadata]()})
		if err != nil {
			t.Fatal(err)
		}
		if upd.DisplayName != "Renamed" || len(upd.Metadata) != 0 {
			t.Errorf("got %q %v after update, want Renamed and metadata cleared", upd.DisplayName, upd.Metadata)
		}

		key, err := c.CreateAppKey(ctx, app.ID, "cli")
		if err != nil || !strings.HasPrefix(key.ID, "app_") || key.Secret == "" {
			t.Fatalf("CreateAppKey: got %+v, %v", key, err)
		}
		keys, err := c.ListAppKeys(ctx, app.ID)
		if err != nil || len(keys) != 1 || keys[0].ID != key.ID {
			t.Fatalf("ListAppKeys: got %+v, %v", keys, err)
		}
		if k, err := c.GetAppKey(ctx, app.ID, key.ID); err != nil || k.DisplayName != "cli" {
			t.Fatalf("GetAppKey: got %+v, %v", k, err)
		}
		// The new key works, with client.Basic and with a client.JWT minted from it.
		jwtAuth, err := client.JWT(key.ID, key.Secret, client.ScopeApp, "")
		if err != nil {
			t.Fatal(err)
		}
		for name, a := range map[string]client.Auth{"basic": client.Basic(key.ID, key.Secret), "jwt": jwtAuth} {
			kc, _ := newClient(t, e.URL, a)
			if _, err := kc.GetApp(ctx, app.ID); err != nil {
				t.Errorf("%s app key: GetApp: %v", name, err)
			}
			// An app key is not an account key.
			_, err := kc.ListApps(ctx, client.Page{}, "")
			mustAPIError(t, err, 403, "forbidden", "")
		}
		if err := c.DeleteAppKey(ctx, app.ID, key.ID); err != nil {
			t.Fatal(err)
		}
		kc, _ := newClient(t, e.URL, client.Basic(key.ID, key.Secret))
		_, err = kc.GetApp(ctx, app.ID)
		mustAPIError(t, err, 401, "unauthorized", "")

		if err := c.DeleteApp(ctx, app.ID); err != nil {
			t.Fatal(err)
		}
		_, err = c.GetApp(ctx, app.ID)
		mustAPIError(t, err, 404, "app_not_found", "App not found")
		if !client.IsNotFound(err) || client.CodeOf(err) != "app_not_found" || client.StatusOf(err) != 404 {
			t.Errorf("got client.IsNotFound %v client.CodeOf %q client.StatusOf %d", client.IsNotFound(err), client.CodeOf(err), client.StatusOf(err))
		}
	})
}

func TestAppsIterator(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		ctx := context.Background()
		c, _ := newClient(t, e.URL, account(e))
		var want []string
		for i := 0; i < 5; i++ {
			a, err := c.CreateApp(ctx, client.AppCreate{DisplayName: "A"})
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, a.ID)
		}
		var got []string
		for a, err := range c.Apps(ctx, client.Page{Size: 2}) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, a.ID)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Apps in pages of 2 (-want +got):\n%s", diff)
		}
		// Stopping early stops fetching.
		n := 0
		for range c.Apps(ctx, client.Page{Size: 2}) {
			n++
			if n == 3 {
				break
			}
		}
		if n != 3 {
			t.Errorf("got %d apps before break, want 3", n)
		}
		// A bad page is the iterator's error (a client that does not check its requests against the spec).
		raw, err := client.New(e.URL, account(e))
		if err != nil {
			t.Fatal(err)
		}
		for _, err := range raw.Apps(ctx, client.Page{After: "short"}) {
			mustAPIError(t, err, 400, "bad_request", "Invalid page query parameters")
		}
	})
}

func TestUsers(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		ctx := context.Background()
		appID := e.MustCreateApp(t, "Users")
		k := e.MustCreateAppKey(t, appID)
		c, _ := newClient(t, e.URL, client.Basic(k.ID, k.Secret))
		ext := "a/b c@x?y#z%"
		u, err := c.CreateUser(ctx, appID, client.UserCreate{
			ExternalID: ext,
			Profile:    &client.Profile{GivenName: "Jane", Surname: "Doe", Email: "jane@example.org", Locale: "fr-CA"},
			Metadata:   client.Metadata{"plan": "gold"},
		})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.CreateUser(ctx, appID, client.UserCreate{ExternalID: ext})
		mustAPIError(t, err, 409, "conflict", "User already exists")

		for _, ref := range []string{u.ID, ext} {
			got, err := c.GetUser(ctx, appID, ref)
			if err != nil || got.ID != u.ID {
				t.Fatalf("GetUser(%q): got %+v, %v", ref, got, err)
			}
		}
		upd, err := c.UpdateUser(ctx, appID, ext, client.UserUpdate{Profile: &client.ProfileUpdate{GivenName: client.Set("Janet"), Email: client.Null[string]()}})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(client.Profile{GivenName: "Janet", Surname: "Doe", Locale: "fr-CA"}, upd.Profile); diff != "" {
			t.Errorf("profile after update (-want +got):\n%s", diff)
		}
		erased, err := c.DeleteUserPersonalInformation(ctx, appID, ext)
		if err != nil {
			t.Fatal(err)
		}
		if erased.ID != u.ID || erased.ExternalID != ext || erased.Profile != (client.Profile{}) || len(erased.Metadata) != 0 {
			t.Errorf("got erased user %+v, want the same id and externalId with no profile or metadata", erased)
		}
		if users, err := c.ListUsers(ctx, appID, "nobody@example.org"); err != nil || len(users) != 0 {
			t.Errorf("ListUsers: got %v, %v; want none", users, err)
		}
		if devs, err := c.ListDevices(ctx, appID, ext); err != nil || len(devs) != 0 {
			t.Errorf("ListDevices: got %v, %v; want none", devs, err)
		}
		if list, err := c.ListClients(ctx, appID, ext, client.Page{}); err != nil || len(list.Clients) != 0 {
			t.Errorf("ListClients: got %+v, %v; want none", list, err)
		}
		if err := c.DeleteUser(ctx, appID, ext); err != nil {
			t.Fatal(err)
		}
		_, err = c.GetUser(ctx, appID, ext)
		mustAPIError(t, err, 404, "user_not_found", "User not found")
		_, err = c.DeleteUserPersonalInformation(ctx, appID, ext)
		mustAPIError(t, err, 404, "user_not_found", "User not found")
	})
}

func TestJWTScopes(t *testing.T) {
	e := apitest.NewEnv(t, "sqlite")
	ctx := context.Background()
	a, err := client.JWT(e.AccountKey.ID, e.AccountKey.Secret, client.ScopeAccount, "")
	if err != nil {
		t.Fatal(err)
	}
	c, _ := newClient(t, e.URL, a)
	if _, err := c.ListApps(ctx, client.Page{}, ""); err != nil {
		t.Errorf("account JWT: %v", err)
	}
	// A token claiming another scope than its key's, or signed with another secret, is refused.
	for name, tok := range map[string]client.Auth{
		"wrong scope":  mustJWT(t, e.AccountKey.ID, e.AccountKey.Secret, client.ScopeApp, ""),
		"wrong secret": mustJWT(t, e.AccountKey.ID, "not-the-secret", client.ScopeAccount, ""),
	} {
		c, _ := newClient(t, e.URL, tok)
		_, err := c.ListApps(ctx, client.Page{}, "")
		if client.StatusOf(err) != 401 {
			t.Errorf("%s: got %v, want 401", name, err)
		}
	}
	if _, err := client.JWT("int_x", "s", client.ScopeIntegration, ""); err == nil {
		t.Error("an integration client.JWT without an app id was minted")
	}
}

func mustJWT(t *testing.T, id, secret string, s client.Scope, app string) client.Auth {
	t.Helper()
	a, err := client.JWT(id, secret, s, app)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// failing wraps h: the first n requests matching match get status (with Retry-After when ra is not
// ""), the rest go through. It counts the requests that matched.
type failing struct {
	h      http.Handler
	match  func(*http.Request) bool
	n      int
	status int
	ra     string

	mu    sync.Mutex
	seen  int
	calls int
}

func (f *failing) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.match == nil || f.match(r) {
		f.mu.Lock()
		f.calls++
		fail := f.seen < f.n
		f.seen++
		f.mu.Unlock()
		if fail {
			if f.status == -1 { // drop the connection: no response at all
				hj, _ := w.(http.Hijacker)
				conn, _, _ := hj.Hijack()
				conn.Close()
				return
			}
			if f.ra != "" {
				w.Header().Set("Retry-After", f.ra)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(f.status)
			w.Write([]byte(`{"errors":[{"code":"too_many_requests","title":"Slow down"}]}`))
			return
		}
	}
	f.h.ServeHTTP(w, r)
}

func (f *failing) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func TestRetries(t *testing.T) {
	e := apitest.NewEnv(t, "sqlite")
	ctx := context.Background()
	appID := e.MustCreateApp(t, "Retries")
	seed, _ := newClient(t, e.URL, account(e))
	if _, err := seed.CreateUser(ctx, appID, client.UserCreate{ExternalID: "u1", Profile: &client.Profile{GivenName: "Ann"}}); err != nil {
		t.Fatal(err)
	}
	erase := func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/personalinformation") }
	policy := client.RetryPolicy{MaxAttempts: 4, BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second, MaxRetryAfter: time.Minute}

	t.Run("429 honours Retry-After", func(t *testing.T) {
		f := &failing{h: e.Handler, match: erase, n: 2, status: 429, ra: "7"}
		srv := httptest.NewServer(f)
		defer srv.Close()
		c, s := newClient(t, srv.URL, account(e), client.WithRetry(policy))
		u, err := c.DeleteUserPersonalInformation(ctx, appID, "u1")
		if err != nil || u.ExternalID != "u1" {
			t.Fatalf("got %+v, %v; want the erased user after two 429s", u, err)
		}
		if f.count() != 3 {
			t.Errorf("got %d attempts, want 3", f.count())
		}
		waits := s.all()
		if len(waits) != 2 {
			t.Fatalf("got waits %v, want 2", waits)
		}
		for _, w := range waits {
			if w < 7*time.Second || w > 7700*time.Millisecond {
				t.Errorf("got a wait of %v after Retry-After: 7, want 7s plus at most 10%% jitter", w)
			}
		}
	})

	t.Run("5xx backs off exponentially then gives up", func(t *testing.T) {
		f := &failing{h: e.Handler, match: erase, n: 100, status: 503}
		srv := httptest.NewServer(f)
		defer srv.Close()
		c, s := newClient(t, srv.URL, account(e), client.WithRetry(policy))
		_, err := c.DeleteUserPersonalInformation(ctx, appID, "u1")
		mustAPIError(t, err, 503, "too_many_requests", "Slow down")
		if f.count() != 4 {
			t.Errorf("got %d attempts, want MaxAttempts 4", f.count())
		}
		waits := s.all()
		if len(waits) != 3 {
			t.Fatalf("got waits %v, want 3", waits)
		}
		for i, w := range waits {
			if limit := policy.BaseDelay << i; w <= 0 || w > limit {
				t.Errorf("wait %d: got %v, want within (0, %v] (full jitter)", i, w, limit)
			}
		}
	})

	t.Run("4xx is never retried", func(t *testing.T) {
		f := &failing{h: e.Handler, match: erase, n: 100, status: 400}
		srv := httptest.NewServer(f)
		defer srv.Close()
		c, s := newClient(t, srv.URL, account(e), client.WithRetry(policy))
		_, err := c.DeleteUserPersonalInformation(ctx, appID, "u1")
		mustAPIError(t, err, 400, "too_many_requests", "")
		if f.count() != 1 || len(s.all()) != 0 {
			t.Errorf("got %d attempts and waits %v, want 1 attempt and no wait", f.count(), s.all())
		}
		// A real 404 from the server is not retried either.
		c2, _ := newClient(t, e.URL, account(e), client.WithRetry(policy))
		_, err = c2.DeleteUserPersonalInformation(ctx, appID, "nobody")
		mustAPIError(t, err, 404, "user_not_found", "User not found")
	})

	t.Run("POST is not retried on 5xx", func(t *testing.T) {
		f := &failing{h: e.Handler, match: func(r *http.Request) bool { return r.Method == "POST" }, n: 1, status: 500}
		srv := httptest.NewServer(f)
		defer srv.Close()
		c, _ := newClient(t, srv.URL, account(e), client.WithRetry(policy))
		_, err := c.CreateUser(ctx, appID, client.UserCreate{ExternalID: "u2"})
		if client.StatusOf(err) != 500 || f.count() != 1 {
			t.Errorf("got %v after %d attempts, want a 500 after 1", err, f.count())
		}
		// ... but on 429 it is: the server did not act.
		f = &failing{h: e.Handler, match: func(r *http.Request) bool { return r.Method == "POST" }, n: 1, status: 429}
		srv2 := httptest.NewServer(f)
		defer srv2.Close()
		c, _ = newClient(t, srv2.URL, account(e), client.WithRetry(policy))
		if _, err := c.CreateUser(ctx, appID, client.UserCreate{ExternalID: "u2"}); err != nil || f.count() != 2 {
			t.Errorf("got %v after %d attempts, want success after 2", err, f.count())
		}
	})

	t.Run("a lost connection is retried for DELETE", func(t *testing.T) {
		f := &failing{h: e.Handler, match: erase, n: 1, status: -1}
		srv := httptest.NewServer(f)
		defer srv.Close()
		c, _ := newClient(t, srv.URL, account(e), client.WithRetry(policy))
		if _, err := c.DeleteUserPersonalInformation(ctx, appID, "u1"); err != nil || f.count() != 2 {
			t.Errorf("got %v after %d attempts, want success after 2", err, f.count())
		}
		c, _ = newClient(t, srv.URL, account(e), client.WithRetry(client.NoRetry()))
		f.mu.Lock()
		f.seen, f.calls = 0, 0
		f.mu.Unlock()
		_, err := c.DeleteUserPersonalInformation(ctx, appID, "u1")
		var ne *client.NetworkError
		if !errors.As(err, &ne) {
			t.Errorf("got %v (%T), want a *client.NetworkError", err, err)
		}
	})

	t.Run("a cancelled context stops the retries", func(t *testing.T) {
		f := &failing{h: e.Handler, match: erase, n: 100, status: 429, ra: "1"}
		srv := httptest.NewServer(f)
		defer srv.Close()
		c, err := client.New(srv.URL, account(e), client.WithRetry(policy))
		if err != nil {
			t.Fatal(err)
		}
		cctx, cancel := context.WithCancel(ctx)
		go func() {
			for f.count() == 0 {
				time.Sleep(time.Millisecond)
			}
			cancel()
		}()
		_, err = c.DeleteUserPersonalInformation(cctx, appID, "u1")
		if !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", err)
		}
	})
}

func TestPacerSharesA429(t *testing.T) {
	e := apitest.NewEnv(t, "sqlite")
	ctx := context.Background()
	appID := e.MustCreateApp(t, "Pacer")
	f := &failing{h: e.Handler, match: func(r *http.Request) bool { return r.Method == "GET" }, n: 1, status: 429, ra: "5"}
	srv := httptest.NewServer(f)
	defer srv.Close()
	p := client.NewPacer()
	a, sa := newClient(t, srv.URL, account(e), client.WithPacer(p), client.WithRetry(client.NoRetry()))
	b, sb := newClient(t, srv.URL, account(e), client.WithPacer(p), client.WithRetry(client.NoRetry()))
	_, err := a.GetApp(ctx, appID)
	mustAPIError(t, err, 429, "too_many_requests", "")
	if len(sa.all()) != 0 {
		t.Errorf("got waits %v before the first request, want none", sa.all())
	}
	// b never saw the 429, but waits out its Retry-After before its next request.
	if _, err := b.GetApp(ctx, appID); err != nil {
		t.Fatal(err)
	}
	if w := sb.all(); len(w) != 1 || w[0] < 4*time.Second || w[0] > 5*time.Second {
		t.Errorf("got b's waits %v, want one of about 5s", w)
	}
	if p.Throttled() != 1 || p.Gap() == 0 {
		t.Errorf("got %d throttles and gap %v, want 1 and a gap", p.Throttled(), p.Gap())
	}
	for i := 0; i < 200 && p.Gap() > 0; i++ {
		p.Succeeded()
	}
	if p.Gap() != 0 {
		t.Errorf("got gap %v after many successes, want it gone", p.Gap())
	}
}

func TestPathSegmentsAreEncodedLikeEncodeURIComponent(t *testing.T) {
	for in, want := range map[string]string{
		"a/b c@x?y#z": "a%2Fb%20c%40x%3Fy%23z",
		"it's(ok)!~*": "it's(ok)!~*",
		"é%":          "%C3%A9%25",
	} {
		if got := client.Seg(in); got != want {
			t.Errorf("Seg(%q) = %q, want %q", in, got, want)
		}
	}
}
