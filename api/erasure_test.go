package api_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sunlamp/sunlamp"
	"github.com/sunlamp/sunlamp/api"
	"github.com/sunlamp/sunlamp/internal/apitest"
	"github.com/sunlamp/sunlamp/sqlstore"
)

// server is a Sunlamp whose store the test closes and reopens itself (apitest.NewEnv closes its
// store only when the test ends), with its logs kept for inspection.
type server struct {
	*apitest.Env
	logs   *syncBuffer
	closed bool
}

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

// accountKey is the same across restarts of one test's server.
var accountKey = sunlamp.Key{ID: "act_000000000000000000000001", Scope: sunlamp.ScopeAccount, AccountID: sunlamp.DefaultAccountID,
	DisplayName: "test", Secret: "erasure-test-account-secret"}

func startServer(t *testing.T, name, dsn string, opts ...sqlstore.Option) *server {
	t.Helper()
	clock := apitest.NewClock()
	st, err := sqlstore.Open(context.Background(), dsn, append(opts, sqlstore.WithClock(clock))...)
	if err != nil {
		t.Fatalf("open %s store: %v", name, err)
	}
	logs := &syncBuffer{}
	ts := httptest.NewServer(nil)
	h := api.NewServer(api.Config{Store: st, BaseURL: ts.URL, Clock: clock, Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	ts.Config.Handler = h
	key, err := st.EnsureKey(context.Background(), accountKey)
	if err != nil {
		t.Fatalf("account key: %v", err)
	}
	s := &server{Env: &apitest.Env{Name: name, URL: ts.URL, Store: st, DSN: dsn, Handler: h, Server: ts, AccountKey: key, Clock: clock}, logs: logs}
	t.Cleanup(func() { s.stop(t) })
	return s
}

// stop shuts the server down cleanly, as `sunlamp serve` does on SIGTERM.
func (s *server) stop(t *testing.T) {
	t.Helper()
	if s.closed {
		return
	}
	s.closed = true
	s.Server.Close()
	if err := s.Store.Close(); err != nil {
		t.Errorf("close store: %v", err)
	}
}

// openRawDB opens the database behind a store directly, to look at what is stored.
func openRawDB(t *testing.T, name, dsn string) *sql.DB {
	t.Helper()
	var db *sql.DB
	var err error
	if name == "sqlite" {
		db, err = sql.Open("sqlite", "file:"+strings.TrimPrefix(dsn, "sqlite:")+"?_query_only=1")
	} else {
		db, err = sql.Open("pgx", dsn)
	}
	if err != nil {
		t.Fatalf("open database: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// storedText returns every value of every table of the database as text, one row per line.
func storedText(t *testing.T, db *sql.DB, name string) string {
	t.Helper()
	q := "SELECT name FROM sqlite_master WHERE type = 'table'"
	if name == "postgres" {
		q = "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
	}
	rows, err := db.Query(q)
	if err != nil {
		t.Fatalf("list tables: %v", err)
	}
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, n)
	}
	rows.Close()
	var b strings.Builder
	for _, table := range tables {
		rows, err := db.Query(`SELECT * FROM "` + table + `"`)
		if err != nil {
			t.Fatalf("read %s: %v", table, err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatalf("read %s: %v", table, err)
			}
			fmt.Fprintf(&b, "%s:", table)
			for _, v := range vals {
				if bs, ok := v.([]byte); ok {
					v = string(bs)
				}
				fmt.Fprintf(&b, " %v", v)
			}
			b.WriteByte('\n')
		}
		rows.Close()
	}
	return b.String()
}

// sqliteFiles returns the bytes of the SQLite database file and of its -wal, -shm and -journal files.
func sqliteFiles(t *testing.T, path string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
		b, err := os.ReadFile(path + suffix)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		files[path+suffix] = b
	}
	return files
}

// mustNotContain fails t for each secret found in text.
func mustNotContain(t *testing.T, where, text string, secrets []string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(text, s) {
			t.Errorf("%s still holds erased value %q", where, s)
		}
	}
}

// personalData makes a user with distinctive personal data everywhere it can be: the profile,
// metadata, a WhatsApp client and an SDK client with a device (through the inbound simulator),
// messages in its default conversation, and the outbox snapshots those calls wrote. It returns the
// values that erasure must remove, and those it must keep.
func personalData(t *testing.T, e *apitest.Env, appID, externalID string) (secrets, kept []string) {
	t.Helper()
	acct := e.Account()
	tag := sunlamp.NewID()[12:]
	secrets = []string{
		"Givenname" + tag, "Surname" + tag, "mail" + tag + "@example.org", "https://avatars.example.org/" + tag + ".png",
		"metavalue" + tag, "Channelname" + tag, "https://channel.example.org/" + tag + ".jpg", "Cityinfo" + tag, "Rawfrom" + tag,
		"Sdkname" + tag,
	}
	kept = []string{externalID, "+1514555" + tag[:4], "message text " + tag}
	apitest.MustStatus(t, e.Do(t, "POST", usersPath(appID), acct, map[string]any{
		"externalId": externalID,
		"profile":    map[string]any{"givenName": secrets[0], "surname": secrets[1], "email": secrets[2], "avatarUrl": secrets[3], "locale": "fr-CA"},
		"metadata":   map[string]any{"secret": secrets[4], "n": 1},
	}), 201)
	inbound := "/_sunlamp/v1/apps/" + appID + "/inbound"
	for i := 0; i < 3; i++ {
		apitest.MustStatus(t, e.Do(t, "POST", inbound, acct, map[string]any{
			"channel": "whatsapp", "user": map[string]any{"externalId": externalID},
			"client":  map[string]any{"externalId": kept[1], "displayName": secrets[5], "avatarUrl": secrets[6], "info": map[string]any{"city": secrets[7]}, "raw": map[string]any{"From": secrets[8]}},
			"content": map[string]any{"type": "text", "text": kept[2]},
		}), 201)
	}
	// A message posted through the API by the user: the API answers it with the author's name.
	r := e.Do(t, "GET", "/v2/apps/"+appID+"/conversations?filter[userExternalId]="+externalID, acct, nil)
	convID := r.JSON(t)["conversations"].([]any)[0].(map[string]any)["id"].(string)
	r = e.Do(t, "POST", "/v2/apps/"+appID+"/conversations/"+convID+"/messages", acct, map[string]any{
		"author": map[string]any{"type": "user", "userExternalId": externalID}, "content": map[string]any{"type": "text", "text": kept[2]}})
	if apitest.MustStatus(t, r, 201); !strings.Contains(string(r.Body), secrets[0]) {
		t.Fatalf("PostMessage answered no author name: %s", r.Body)
	}
	// An activity of the user: its webhook event carries the user and the author's name.
	apitest.MustStatus(t, e.Do(t, "POST", "/v2/apps/"+appID+"/conversations/"+convID+"/activity", acct, map[string]any{
		"author": map[string]any{"type": "user", "userExternalId": externalID}, "type": "conversation:read"}), 200)
	apitest.MustStatus(t, e.Do(t, "POST", inbound, acct, map[string]any{
		"channel": "sdk", "user": map[string]any{"externalId": externalID},
		"client":  map[string]any{"displayName": secrets[9]},
		"device":  map[string]any{"type": "web", "guid": "guid" + tag, "info": map[string]any{"sdkVersion": "1.0"}},
		"content": map[string]any{"type": "text", "text": kept[2]},
	}), 201)
	return secrets, kept
}

// apiText returns every response a client could get about the user: the user, its clients and
// devices, its conversations, their participants and messages.
func apiText(t *testing.T, e *apitest.Env, appID, ref string) string {
	t.Helper()
	acct := e.Account()
	var b strings.Builder
	get := func(path string) map[string]any {
		r := e.Do(t, "GET", path, acct, nil)
		apitest.MustStatus(t, r, 200)
		b.Write(r.Body)
		return r.JSON(t)
	}
	u := get(usersPath(appID, ref))["user"].(map[string]any)
	get(usersPath(appID, ref, "clients"))
	get(usersPath(appID, ref, "devices"))
	convs := get("/v2/apps/" + appID + "/conversations?filter[userId]=" + u["id"].(string))["conversations"].([]any)
	if len(convs) == 0 {
		t.Fatal("got no conversation of the user")
	}
	for _, c := range convs {
		id := c.(map[string]any)["id"].(string)
		get("/v2/apps/" + appID + "/conversations/" + id)
		get("/v2/apps/" + appID + "/conversations/" + id + "/participants")
		get("/v2/apps/" + appID + "/conversations/" + id + "/messages")
	}
	return b.String()
}

func TestDeleteUserPersonalInformation(t *testing.T) {
	for _, name := range apitest.Stores() {
		t.Run(name, func(t *testing.T) {
			s := startServer(t, name, apitest.NewDSN(t, name))
			e := s.Env
			appID := e.MustCreateApp(t, "Erasure")
			key := e.MustCreateAppKey(t, appID)
			externalID := "customer-42"
			secrets, kept := personalData(t, e, appID, externalID)
			before := apiText(t, e, appID, externalID)
			for _, v := range append(secrets[:4:4], secrets[5], secrets[7], kept[2]) {
				if !strings.Contains(before, v) {
					t.Fatalf("before erasure, the API does not show %q: the test would prove nothing", v)
				}
			}
			db := openRawDB(t, name, e.DSN)
			if stored := storedText(t, db, name); !strings.Contains(stored, secrets[0]) || !strings.Contains(stored, "events:") {
				t.Fatalf("before erasure, the database holds no copy of the profile or no events: the test would prove nothing")
			}

			// The seed, verbatim: curl -X DELETE -u 'KEYID:SECRET' BASE/v2/apps/APPID/users/EXTERNALID/personalinformation
			want := `{"user":{"id":"ID","externalId":"customer-42","signedUpAt":"TIME","profile":{},"metadata":{},"identities":[]}}`
			url := e.URL + "/v2/apps/" + appID + "/users/" + externalID + "/personalinformation"
			if curl, err := exec.LookPath("curl"); err == nil {
				out, err := exec.Command(curl, "-sS", "-w", "\n%{http_code}", "-X", "DELETE", "-u", key.ID+":"+key.Secret, url).Output()
				if err != nil {
					t.Fatalf("curl: %v", err)
				}
				body, code, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
				e.MustJSON(t, &apitest.Response{Status: atoi(t, code), Body: []byte(body)}, 200, want)
			} else {
				t.Log("curl is not installed: sending the same request from Go")
			}
			// The same request again, validated against the spec: a second call is fine.
			r := e.DoHeader(t, "DELETE", "/v2/apps/"+appID+"/users/"+externalID+"/personalinformation", apitest.KeyAuth(key), nil,
				http.Header{"Accept": {"*/*"}, "User-Agent": {"curl/8.5.0"}})
			e.MustJSON(t, r, 200, want)
			apitest.MustError(t, e.Do(t, "DELETE", usersPath(appID, "nobody", "personalinformation"), apitest.KeyAuth(key), nil), 404, "user_not_found", "User not found")

			// 2. No API response returns an erased value; what is kept is still there.
			after := apiText(t, e, appID, externalID)
			mustNotContain(t, "the API", after, secrets)
			for _, v := range kept {
				if !strings.Contains(after, v) {
					t.Errorf("the API lost %q, which erasure keeps", v)
				}
			}
			r = e.Do(t, "GET", usersPath(appID, externalID, "clients"), e.Account(), nil)
			e.MustJSON(t, r, 200, `{"clients":[
				{"id":"ID","type":"whatsapp","status":"active","externalId":"`+kept[1]+`","lastSeen":"TIME","linkedAt":"TIME"},
				{"id":"ID","type":"sdk","status":"active","lastSeen":"TIME","linkedAt":"TIME"}],"meta":{"hasMore":false}}`)

			// 3. No stored row holds an erased value (the event outbox included).
			mustNotContain(t, "the database", storedText(t, db, name), secrets)
			db.Close()
			if name == "sqlite" {
				path := s.Store.Path()
				// While running: the erasure checkpointed the write-ahead log.
				for f, b := range sqliteFiles(t, path) {
					mustNotContain(t, f+" (running)", string(b), secrets)
				}
				s.stop(t)
				files := sqliteFiles(t, path)
				if len(files) == 0 {
					t.Fatal("found no database file")
				}
				for f, b := range files {
					mustNotContain(t, f, string(b), secrets)
				}
				// The scan can find what it looks for: kept values are on disk.
				if !bytes.Contains(files[path], []byte(kept[2])) {
					t.Errorf("the database file does not hold the kept message text: the scan proves nothing")
				}
			}
			// Logs never hold personal data.
			mustNotContain(t, "the logs", s.logs.String(), append(secrets, externalID))
		})
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return n
}

// count runs a COUNT(*) query on the raw database.
func count(t *testing.T, db *sql.DB, name, query string, args ...any) int {
	t.Helper()
	if name == "postgres" {
		for i := 1; strings.Contains(query, "?"); i++ {
			query = strings.Replace(query, "?", fmt.Sprintf("$%d", i), 1)
		}
	}
	var n int
	if err := db.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// userHistory gives the user (external id ext) n messages in its default conversation, through the
// store (as the inbound simulator does, without HTTP), each with text prefix+i.
func userHistory(t testing.TB, st *sqlstore.Store, appID, ext, prefix string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		_, err := st.Inbound(context.Background(), sunlamp.Inbound{AppID: appID, Channel: "sdk", UserExternalID: ext,
			Content: ptr(sunlamp.TextContent(fmt.Sprintf("%s %d", prefix, i)))})
		if err != nil {
			t.Fatalf("inbound: %v", err)
		}
	}
}

func TestDeleteUser(t *testing.T) {
	for _, name := range apitest.Stores() {
		t.Run(name, func(t *testing.T) {
			s := startServer(t, name, apitest.NewDSN(t, name))
			e := s.Env
			acct := e.Account()
			appID := e.MustCreateApp(t, "Deletion")
			secrets, _ := personalData(t, e, appID, "leaving")
			tag := sunlamp.NewID()[12:]
			// More messages than one background batch removes.
			userHistory(t, e.Store, appID, "leaving", "history"+tag, 700)
			r := e.Do(t, "GET", usersPath(appID, "leaving"), acct, nil)
			leaving := r.JSON(t)["user"].(map[string]any)["id"].(string)
			// A group conversation with a message of the user and one of a user who stays.
			stays := mustCreate(t, e, usersPath(appID), "user", map[string]any{"externalId": "stays"})
			group := mustCreate(t, e, "/v2/apps/"+appID+"/conversations", "conversation", map[string]any{"type": "sdkGroup", "participants": []any{
				map[string]any{"userId": leaving, "subscribeSDKClient": false}, map[string]any{"userId": stays, "subscribeSDKClient": false}}})
			post := func(userID, text string) {
				apitest.MustStatus(t, e.Do(t, "POST", "/v2/apps/"+appID+"/conversations/"+group+"/messages", acct, map[string]any{
					"author": map[string]any{"type": "user", "userId": userID}, "content": map[string]any{"type": "text", "text": text}}), 201)
			}
			post(leaving, "group words "+tag)
			post(stays, "group reply "+tag)

			e.MustJSON(t, e.Do(t, "DELETE", usersPath(appID, "leaving"), acct, nil), 200, `{}`)
			// Gone at once, its externalId free, its group membership gone.
			apitest.MustError(t, e.Do(t, "GET", usersPath(appID, leaving), acct, nil), 404, "user_not_found", "User not found")
			apitest.MustError(t, e.Do(t, "GET", usersPath(appID, "leaving"), acct, nil), 404, "user_not_found", "User not found")
			apitest.MustError(t, e.Do(t, "DELETE", usersPath(appID, "leaving"), acct, nil), 404, "user_not_found", "User not found")
			apitest.MustError(t, e.Do(t, "GET", usersPath(appID, leaving, "clients"), acct, nil), 404, "user_not_found", "User not found")
			r = e.Do(t, "GET", "/v2/apps/"+appID+"/conversations/"+group+"/participants", acct, nil)
			if strings.Contains(string(r.Body), leaving) {
				t.Errorf("the group still lists the deleted user: %s", r.Body)
			}
			apitest.MustStatus(t, e.Do(t, "POST", usersPath(appID), acct, map[string]any{"externalId": "leaving"}), 201)

			// The history goes in the background; wait for it.
			if err := e.Store.PurgeDeletedUsers(context.Background()); err != nil {
				t.Fatal(err)
			}
			db := openRawDB(t, name, e.DSN)
			for _, q := range []string{
				"SELECT COUNT(*) FROM users WHERE id = ?", "SELECT COUNT(*) FROM clients WHERE user_id = ?",
				"SELECT COUNT(*) FROM devices WHERE user_id = ?", "SELECT COUNT(*) FROM participants WHERE user_id = ?",
				"SELECT COUNT(*) FROM messages WHERE author_user_id = ?", "SELECT COUNT(*) FROM conversations WHERE default_user_id = ?",
				"SELECT COUNT(*) FROM user_purges WHERE user_id = ?", "SELECT COUNT(*) FROM events WHERE user_id = ? AND type <> 'user:remove'",
			} {
				if n := count(t, db, name, q, leaving); n != 0 {
					t.Errorf("%s: got %d, want 0", q, n)
				}
			}
			if n := count(t, db, name, "SELECT COUNT(*) FROM events WHERE user_id = ? AND type = 'user:remove'", leaving); n != 1 {
				t.Errorf("got %d user:remove events, want 1", n)
			}
			r = e.Do(t, "GET", "/v2/apps/"+appID+"/conversations/"+group+"/messages", acct, nil)
			e.MustJSON(t, r, 200, `{"messages":[{"id":"ID","received":"TIME","author":{"type":"user","userId":"ID"},
				"content":{"type":"text","text":"group reply `+tag+`"},"source":{"type":"api:conversations"}}],"meta":{"hasMore":false}}`)
			gone := append(secrets, "history"+tag, "group words "+tag)
			mustNotContain(t, "the database", storedText(t, db, name), gone)
			db.Close()
			if name == "sqlite" {
				path := s.Store.Path()
				s.stop(t)
				for f, b := range sqliteFiles(t, path) {
					mustNotContain(t, f, string(b), gone)
				}
			}
			mustNotContain(t, "the logs", s.logs.String(), append(secrets, "leaving"))
		})
	}
}

// TestDeleteUserResumes shows that the removal of a deleted user's history survives a restart.
func TestDeleteUserResumes(t *testing.T) {
	for _, name := range apitest.Stores() {
		t.Run(name, func(t *testing.T) {
			dsn := apitest.NewDSN(t, name)
			s := startServer(t, name, dsn, sqlstore.WithoutBackgroundPurge())
			appID := s.MustCreateApp(t, "Restart")
			apitest.MustStatus(t, s.Do(t, "POST", usersPath(appID), s.Account(), map[string]any{"externalId": "gone"}), 201)
			userHistory(t, s.Store, appID, "gone", "words", 20)
			apitest.MustStatus(t, s.Do(t, "DELETE", usersPath(appID, "gone"), s.Account(), nil), 200)
			s.stop(t)
			db := openRawDB(t, name, dsn)
			if n := count(t, db, name, "SELECT COUNT(*) FROM messages"); n != 20 {
				t.Fatalf("got %d messages before the restart, want 20 (the purge was to wait)", n)
			}
			startServer(t, name, dsn) // resumes the purge in the background
			deadline := time.Now().Add(20 * time.Second)
			for count(t, db, name, "SELECT COUNT(*) FROM user_purges") != 0 {
				if time.Now().After(deadline) {
					t.Fatal("the purge did not resume after the restart")
				}
				time.Sleep(20 * time.Millisecond)
			}
			if n := count(t, db, name, "SELECT COUNT(*) FROM messages"); n != 0 {
				t.Errorf("got %d messages after the purge, want 0", n)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
