// Package apitest runs Sunlamp's API suite: a real server over real HTTP on every store (SQLite
// always, PostgreSQL when SUNLAMP_TEST_POSTGRES_URL is set), with every response validated against
// ../shared/spec/openapi.yaml.
package apitest

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/sunlamp/sunlamp"
	"github.com/sunlamp/sunlamp/api"
	"github.com/sunlamp/sunlamp/sqlstore"
)

// PostgresURLEnv names the variable that enables the PostgreSQL half of the suite.
const PostgresURLEnv = "SUNLAMP_TEST_POSTGRES_URL"

// Env is a running Sunlamp for one test.
type Env struct {
	Name       string // "sqlite" or "postgres"
	URL        string // base URL of the server
	Store      *sqlstore.Store
	DSN        string
	Handler    *api.Server
	Server     *httptest.Server
	AccountKey sunlamp.Key
	Clock      *Clock
}

// Stores returns the names of the stores the suite runs on.
func Stores() []string { return []string{"sqlite", "postgres"} }

// ForEachStore runs fn as a subtest on every store. Without SUNLAMP_TEST_POSTGRES_URL the PostgreSQL
// subtest skips with a message; under CI=true it fails instead.
func ForEachStore(t *testing.T, fn func(t *testing.T, e *Env)) {
	t.Helper()
	for _, name := range Stores() {
		t.Run(name, func(t *testing.T) {
			e := NewEnv(t, name)
			fn(t, e)
		})
	}
}

// NewEnv starts a server on the named store, cleaned up when t ends.
func NewEnv(t testing.TB, name string) *Env {
	t.Helper()
	dsn := NewDSN(t, name)
	clock := NewClock()
	st, err := sqlstore.Open(context.Background(), dsn, sqlstore.WithClock(clock))
	if err != nil {
		t.Fatalf("open %s store: %v", name, err)
	}
	e := &Env{Name: name, Store: st, DSN: dsn, Clock: clock}
	ts := httptest.NewUnstartedServer(nil)
	ts.Start()
	e.URL = ts.URL
	e.Server = ts
	e.Handler = api.NewServer(api.Config{Store: st, BaseURL: ts.URL, Clock: clock})
	ts.Config.Handler = e.Handler
	t.Cleanup(func() {
		ts.Close()
		if err := st.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	e.AccountKey, err = st.CreateKey(context.Background(), sunlamp.Key{
		ID: sunlamp.NewKeyID(sunlamp.PrefixAccountKey), Scope: sunlamp.ScopeAccount,
		AccountID: sunlamp.DefaultAccountID, DisplayName: "test", Secret: sunlamp.NewSecret(),
	})
	if err != nil {
		t.Fatalf("create account key: %v", err)
	}
	return e
}

// NewDSN returns a fresh, empty database of the named store for t: a SQLite file in t's temp dir, or
// a new PostgreSQL schema dropped when t ends. It skips (or, under CI=true, fails) t when the store
// is PostgreSQL and SUNLAMP_TEST_POSTGRES_URL is not set.
func NewDSN(t testing.TB, name string) string {
	t.Helper()
	switch name {
	case "sqlite":
		return "sqlite:" + filepath.Join(t.TempDir(), "sunlamp.db")
	case "postgres":
		base := os.Getenv(PostgresURLEnv)
		if base == "" {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is not set: the PostgreSQL tests must run in CI", PostgresURLEnv)
			}
			t.Skipf("%s is not set: skipping the PostgreSQL half of the suite", PostgresURLEnv)
		}
		return newSchema(t, base)
	}
	t.Fatalf("unknown store %q", name)
	return ""
}

var pgAdmin struct {
	sync.Mutex
	db *sql.DB
}

// newSchema creates a schema of its own for t and returns base with search_path set to it.
func newSchema(t testing.TB, base string) string {
	t.Helper()
	pgAdmin.Lock()
	if pgAdmin.db == nil {
		db, err := sql.Open("pgx", base)
		if err != nil {
			pgAdmin.Unlock()
			t.Fatalf("open postgres: %v", err)
		}
		pgAdmin.db = db
	}
	db := pgAdmin.db
	pgAdmin.Unlock()
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("create schema: %v (is PostgreSQL at %s running?)", err, base)
	}
	t.Cleanup(func() {
		if _, err := db.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Logf("drop schema %s: %v", schema, err)
		}
	})
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema
}

// PlainRole is the PostgreSQL role of NewPlainRoleDSN: it may log in, and nothing else.
const PlainRole = "sunlamp_plain"

// NewPlainRoleDSN is NewDSN("postgres") for a role that is not a superuser (PlainRole), as a
// production database's role would be, with the right to use and create in the test's schema: the
// store's paths that depend on the role's privileges run as they would there. The server must let
// the role in without a password (trust, as on CI).
func NewPlainRoleDSN(t testing.TB) string {
	t.Helper()
	dsn := NewDSN(t, "postgres")
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	schema := u.Query().Get("search_path")
	pgAdmin.Lock()
	db := pgAdmin.db
	pgAdmin.Unlock()
	// Several test binaries may create the role at once: the loser's error is either of the two.
	if _, err := db.Exec(`DO $$ BEGIN CREATE ROLE ` + PlainRole + ` LOGIN NOSUPERUSER;
		EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$`); err != nil {
		t.Fatalf("create role %s: %v", PlainRole, err)
	}
	if _, err := db.Exec("GRANT USAGE, CREATE ON SCHEMA " + schema + " TO " + PlainRole); err != nil {
		t.Fatalf("grant schema %s to %s: %v", schema, PlainRole, err)
	}
	u.User = url.User(PlainRole)
	return u.String()
}

// Clock is a settable clock for tests; it starts at the current time and moves only when told.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock at the current time.
func NewClock() *Clock { return &Clock{now: time.Now().UTC().Truncate(time.Millisecond)} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// Auth is how a request authenticates.
type Auth interface{ apply(*http.Request) }

// Basic authenticates with a key id and secret.
type Basic struct{ ID, Secret string }

func (b Basic) apply(r *http.Request) { r.SetBasicAuth(b.ID, b.Secret) }

// Bearer sends a ready-made token.
type Bearer string

func (b Bearer) apply(r *http.Request) { r.Header.Set("Authorization", "Bearer "+string(b)) }

// NoAuth sends no credentials.
type NoAuth struct{}

func (NoAuth) apply(*http.Request) {}

// KeyAuth authenticates with Basic and k's id and secret.
func KeyAuth(k sunlamp.Key) Basic { return Basic{k.ID, k.Secret} }

// Response is what a request got back.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a generic value.
func (r *Response) JSON(tb testing.TB) map[string]any {
	tb.Helper()
	var v map[string]any
	if err := jsonUnmarshal(r.Body, &v); err != nil {
		tb.Fatalf("decode response %s: %v", r.Body, err)
	}
	return v
}

// Decode decodes the body into dst.
func (r *Response) Decode(tb testing.TB, dst any) {
	tb.Helper()
	if err := json.Unmarshal(r.Body, dst); err != nil {
		tb.Fatalf("decode response %s: %v", r.Body, err)
	}
}

func jsonUnmarshal(b []byte, dst any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(dst)
}

// Do sends a request to the server and validates the response against the spec. body may be nil,
// a string or []byte (sent as is), or anything else (sent as JSON). path is the escaped path and query.
func (e *Env) Do(tb testing.TB, method, path string, auth Auth, body any) *Response {
	tb.Helper()
	return e.DoHeader(tb, method, path, auth, body, nil)
}

// DoHeader is Do with extra request headers.
func (e *Env) DoHeader(tb testing.TB, method, path string, auth Auth, body any, header http.Header) *Response {
	tb.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			tb.Fatalf("encode body: %v", err)
		}
	}
	req, err := http.NewRequest(method, e.URL+path, bytes.NewReader(raw))
	if err != nil {
		tb.Fatalf("new request: %v", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if auth != nil {
		auth.apply(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("%s %s: read body: %v", method, path, err)
	}
	ValidateResponse(tb, req, raw, resp.StatusCode, resp.Header, out)
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: out}
}

// Account returns Basic auth with the env's account key.
func (e *Env) Account() Basic { return KeyAuth(e.AccountKey) }

// MustStatus fails tb unless r has status want.
func MustStatus(tb testing.TB, r *Response, want int) {
	tb.Helper()
	if r.Status != want {
		tb.Fatalf("got status %d, want %d; body: %s", r.Status, want, r.Body)
	}
}

// MustError fails tb unless r is an error response with status, code and title (title "" is not checked).
func MustError(tb testing.TB, r *Response, status int, code, title string) {
	tb.Helper()
	MustStatus(tb, r, status)
	var env struct {
		Errors []struct{ Code, Title string } `json:"errors"`
	}
	r.Decode(tb, &env)
	if len(env.Errors) == 0 {
		tb.Fatalf("got no errors in %s", r.Body)
	}
	if env.Errors[0].Code != code {
		tb.Errorf("got code %q, want %q (title %q)", env.Errors[0].Code, code, env.Errors[0].Title)
	}
	if title != "" && env.Errors[0].Title != title {
		tb.Errorf("got title %q, want %q", env.Errors[0].Title, title)
	}
}

var (
	reKeyID  = regexp.MustCompile(`\b(act|app|int)_[0-9a-f]{24}\b`)
	reID     = regexp.MustCompile(`\b[0-9a-f]{24}\b`)
	reTime   = regexp.MustCompile(`\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\b`)
	reSecret = regexp.MustCompile(`"secret":"[^"]*"`)
)

// Normalize replaces what changes from run to run in a JSON text (ids, times, secrets, the server's
// URL) with placeholders, and re-indents it, so that tests can pin exact bodies.
func (e *Env) Normalize(tb testing.TB, body []byte) string {
	tb.Helper()
	var v any
	if err := jsonUnmarshal(body, &v); err != nil {
		tb.Fatalf("normalize %s: %v", body, err)
	}
	b, _ := json.Marshal(v)
	s := string(b)
	s = strings.ReplaceAll(s, e.URL, "BASE")
	s = reSecret.ReplaceAllString(s, `"secret":"SECRET"`)
	s = reKeyID.ReplaceAllString(s, "${1}_ID")
	s = reID.ReplaceAllString(s, "ID")
	s = reTime.ReplaceAllString(s, "TIME")
	var out any
	_ = json.Unmarshal([]byte(s), &out)
	pretty, _ := json.MarshalIndent(out, "", "  ")
	return string(pretty)
}

// MustJSON fails tb unless r has status and a body equal to want once both are normalized.
func (e *Env) MustJSON(tb testing.TB, r *Response, status int, want string) {
	tb.Helper()
	MustStatus(tb, r, status)
	got := e.Normalize(tb, r.Body)
	w := e.Normalize(tb, []byte(want))
	if diff := cmp.Diff(w, got); diff != "" {
		tb.Errorf("body mismatch (-want +got):\n%s", diff)
	}
}

// MustCreateApp creates an app and returns its id.
func (e *Env) MustCreateApp(tb testing.TB, name string) string {
	tb.Helper()
	r := e.Do(tb, "POST", "/v2/apps", e.Account(), map[string]any{"displayName": name})
	MustStatus(tb, r, http.StatusCreated)
	var out struct{ App struct{ ID string } }
	r.Decode(tb, &out)
	return out.App.ID
}

// MustCreateAppKey creates an app key and returns it.
func (e *Env) MustCreateAppKey(tb testing.TB, appID string) sunlamp.Key {
	tb.Helper()
	r := e.Do(tb, "POST", "/v2/apps/"+appID+"/keys", e.Account(), map[string]any{"displayName": "key"})
	MustStatus(tb, r, http.StatusCreated)
	var out struct{ Key struct{ ID, Secret string } }
	r.Decode(tb, &out)
	return sunlamp.Key{ID: out.Key.ID, Secret: out.Key.Secret, Scope: sunlamp.ScopeApp, AppID: appID}
}

// BasicHeader returns the Authorization header value for Basic auth.
func BasicHeader(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))
}

// Sprintf is fmt.Sprintf, for building JSON texts in tests.
func Sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
