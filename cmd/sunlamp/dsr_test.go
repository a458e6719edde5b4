package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sunlamp/sunlamp/client"
	"github.com/sunlamp/sunlamp/internal/apitest"
)

// counting wraps the real server: it counts, per user, the DSR requests that the server answered 200,
// and can answer some requests itself first (a rate limit).
type counting struct {
	h http.Handler
	// limit, when set, is asked before each DSR request reaches the server; a status other than 0
	// is sent instead (with Retry-After ra when not "").
	limit func(n int) (status int, ra string)
	// onOK is called after each 200 with the number of 200s so far.
	onOK func(n int)
	// down drops every connection without a response, as a lost network does.
	down atomic.Bool

	mu      sync.Mutex
	ok      map[string]int
	total   int
	seen    int
	arrived []time.Time // arrival of each DSR request that reached the server
	limited []time.Time // when each limited request was answered
}

func newCounting(h http.Handler) *counting { return &counting{h: h, ok: map[string]int{}} }

// dsrUser returns the user of a DSR request (erase or delete), "" for other requests.
func dsrUser(r *http.Request) string {
	if r.Method != http.MethodDelete {
		return ""
	}
	p := strings.TrimSuffix(r.URL.EscapedPath(), "/personalinformation")
	i := strings.Index(p, "/users/")
	if i < 0 {
		return ""
	}
	u, _ := url.PathUnescape(p[i+len("/users/"):])
	return u
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(s int) {
	w.status = s
	w.ResponseWriter.WriteHeader(s)
}

func (c *counting) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if c.down.Load() {
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close()
		return
	}
	user := dsrUser(r)
	if user == "" {
		c.h.ServeHTTP(w, r)
		return
	}
	c.mu.Lock()
	n := c.seen
	c.seen++
	c.mu.Unlock()
	if c.limit != nil {
		if status, ra := c.limit(n); status != 0 {
			c.mu.Lock()
			c.limited = append(c.limited, time.Now())
			c.mu.Unlock()
			if ra != "" {
				w.Header().Set("Retry-After", ra)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			fmt.Fprint(w, `{"errors":[{"code":"too_many_requests","title":"Too many requests"}]}`)
			return
		}
	}
	c.mu.Lock()
	c.arrived = append(c.arrived, time.Now())
	c.mu.Unlock()
	sw := &statusWriter{ResponseWriter: w, status: 200}
	c.h.ServeHTTP(sw, r)
	if sw.status == 200 {
		c.mu.Lock()
		c.ok[user]++
		c.total++
		n := c.total
		c.mu.Unlock()
		if c.onOK != nil {
			c.onOK(n)
		}
	}
}

func (c *counting) counts() (map[string]int, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := map[string]int{}
	for k, v := range c.ok {
		m[k] = v
	}
	return m, c.total
}

// wrap points the command line at a counting wrapper around the env's server.
func (c *cliEnv) wrap(t *testing.T) *counting {
	cnt := newCounting(c.Handler)
	srv := httptest.NewServer(cnt)
	t.Cleanup(srv.Close)
	c.env["SUNLAMP_URL"] = srv.URL
	return cnt
}

// users returns n externalIds: u001, u002, ...
func users(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("u%03d", i+1)
	}
	return out
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

var reSummary = regexp.MustCompile(`in [0-9.]+[µmn]?s \([0-9.]+ users/s\)`)

// summary returns the summary line of stdout with the time and rate replaced by T and R.
func summary(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return reSummary.ReplaceAllString(lines[len(lines)-1], "in T (R users/s)")
}

func readReport(t *testing.T, path string) []reportRow {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rows []reportRow
	if err := json.Unmarshal(b, &rows); err != nil {
		t.Fatalf("report %s: %v", b, err)
	}
	for i := range rows {
		if rows[i].Time != "" {
			rows[i].Time = "TIME"
		}
	}
	return rows
}

// TestDSRInterruptAndResume stops a run half-way (as Ctrl-C does), re-runs it, and checks on the
// server side that every user was erased exactly once.
func TestDSRInterruptAndResume(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		c := newCLIEnv(t, e.Name)
		ext := users(60)
		c.mustCreateUsers(t, ext...)
		cnt := c.wrap(t)
		input := writeFile(t, "users.txt", strings.Join(ext, "\n")+"\n")

		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		cnt.onOK = func(n int) {
			if n == 25 {
				cancel() // Ctrl-C
			}
		}
		out, errOut, err := c.run(ctx, "", "dsr", "erase", "--app", c.app, "--input", input, "--concurrency", "4")
		if err != errReported || !strings.Contains(errOut, "interrupted; run the same command again to resume") {
			t.Fatalf("interrupted run: got %v, stderr %q; want errReported and a resume hint", err, errOut)
		}
		_, first := cnt.counts()
		if first < 25 || first > 25+4 {
			t.Errorf("got %d erasures in the interrupted run, want 25 plus at most the 4 in flight", first)
		}
		want := fmt.Sprintf("dsr erase: 60 input lines in T (R users/s): %d erased, 0 not found, 0 failed, 0 already done, 0 invalid, %d not run; 0 rate-limited responses", first, 60-first)
		if got := summary(out); got != want {
			t.Errorf("got summary\n%s\nwant\n%s", got, want)
		}

		cnt.onOK = nil
		report := filepath.Join(t.TempDir(), "out.json")
		out, _, err = c.run(context.Background(), "", "dsr", "erase", "--app", c.app, "--input", input, "--report", report)
		if err != nil {
			t.Fatalf("resumed run: %v", err)
		}
		want = fmt.Sprintf("dsr erase: 60 input lines in T (R users/s): %d erased, 0 not found, 0 failed, %d already done, 0 invalid, 0 not run; 0 rate-limited responses", 60-first, first)
		if got := summary(out); got != want {
			t.Errorf("got summary\n%s\nwant\n%s", got, want)
		}
		counts, total := cnt.counts()
		if total != 60 {
			t.Errorf("got %d erasures over both runs, want 60", total)
		}
		for _, u := range ext {
			if counts[u] != 1 {
				t.Errorf("user %s erased %d times, want exactly once", u, counts[u])
			}
		}
		done := 0
		for _, r := range readReport(t, report) {
			switch r.Outcome {
			case outAlreadyDone:
				done++
				if r.Status != 200 || r.Detail != outErased {
					t.Errorf("got already_done row %+v, want status 200 and detail erased", r)
				}
			case outErased:
			default:
				t.Errorf("got row %+v, want erased or already_done", r)
			}
		}
		if done != first {
			t.Errorf("got %d already_done rows, want %d", done, first)
		}

		// A third run has nothing left to do and sends nothing.
		out, _, err = c.run(context.Background(), "", "dsr", "erase", "--app", c.app, "--input", input)
		if err != nil || !strings.Contains(out, "0 erased, 0 not found, 0 failed, 60 already done") {
			t.Errorf("third run: got %v and %q", err, out)
		}
		if _, total := cnt.counts(); total != 60 {
			t.Errorf("got %d erasures after the third run, want still 60", total)
		}
	})
}

// TestDSRRateLimited runs against a server that answers the first requests 429 with Retry-After: 1:
// every worker pauses, the run finishes, and every user is erased once.
func TestDSRRateLimited(t *testing.T) {
	c := newCLIEnv(t, "sqlite")
	ext := users(20)
	c.mustCreateUsers(t, ext...)
	cnt := c.wrap(t)
	cnt.limit = func(n int) (int, string) {
		if n < 3 {
			return http.StatusTooManyRequests, "1"
		}
		return 0, ""
	}
	input := writeFile(t, "users.txt", strings.Join(ext, "\n"))
	out, _, err := c.run(context.Background(), "", "dsr", "erase", "--app", c.app, "--input", input, "--concurrency", "4")
	if err != nil {
		t.Fatal(err)
	}
	want := "dsr erase: 20 input lines in T (R users/s): 20 erased, 0 not found, 0 failed, 0 already done, 0 invalid, 0 not run; 3 rate-limited responses"
	if got := summary(out); got != want {
		t.Errorf("got summary\n%s\nwant\n%s", got, want)
	}
	counts, total := cnt.counts()
	if total != 20 || len(counts) != 20 {
		t.Errorf("got %d erasures of %d users, want 20 of 20", total, len(counts))
	}
	// The 429 slowed the whole run down: apart from the requests already on their way when it was
	// answered, no request reached the server until a second after it (its Retry-After), not even
	// those of the workers that did not get it.
	cnt.mu.Lock()
	defer cnt.mu.Unlock()
	firstLimited := cnt.limited[0]
	inFlight := 0
	for i, a := range cnt.arrived {
		switch d := a.Sub(firstLimited); {
		case d < 0:
		case d < 300*time.Millisecond:
			inFlight++
		case d < 900*time.Millisecond:
			t.Errorf("request %d reached the server %v after the first 429, want ≥ 1s (Retry-After)", i, d)
		}
	}
	if inFlight > 4 {
		t.Errorf("got %d requests right after the first 429, want at most the 4 in flight", inFlight)
	}
}

// TestDSRBadInput reports bad input lines (by line number, never by value) and unknown users, and
// processes the rest.
func TestDSRBadInput(t *testing.T) {
	c := newCLIEnv(t, "sqlite")
	ids := c.mustCreateUsers(t, "alice", "bob", "carol")
	long := strings.Repeat("x", 1025)
	input := writeFile(t, "users.csv", "email,externalId\n"+
		"a@example.org,alice\n"+
		"b@example.org,\"bob\"\n"+
		"\n"+
		"g@example.org,ghost\n"+
		"z@example.org,\"unterminated\n"+
		"")
	_ = long
	report := filepath.Join(t.TempDir(), "out.json")
	out, errOut, err := c.run(context.Background(), "", "dsr", "erase", "--app", c.app, "--input", input, "--report", report)
	if err != nil {
		t.Fatal(err)
	}
	want := "dsr erase: 4 input lines in T (R users/s): 2 erased, 1 not found, 0 failed, 0 already done, 1 invalid, 0 not run; 0 rate-limited responses"
	if got := summary(out); got != want {
		t.Errorf("got summary\n%s\nwant\n%s", got, want)
	}
	wantRows := []reportRow{
		{Line: 2, User: "alice", Outcome: outErased, Status: 200, Time: "TIME"},
		{Line: 3, User: "bob", Outcome: outErased, Status: 200, Time: "TIME"},
		{Line: 5, User: "ghost", Outcome: outNotFound, Status: 404, Code: "user_not_found", Detail: "User not found", Time: "TIME"},
		{Line: 6, Outcome: outInvalid, Detail: `malformed CSV: extraneous or missing " in quoted-field`},
	}
	if diff := cmp.Diff(wantRows, readReport(t, report)); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
	if !strings.Contains(errOut, "input line 6 skipped: malformed CSV") || strings.Contains(errOut, "unterminated") || strings.Contains(errOut, "ghost") {
		t.Errorf("got stderr %q, want line 6 reported without its value, and no ids", errOut)
	}
	_ = ids

	// One value per line: duplicates, overlong values and control characters are reported too.
	input = writeFile(t, "users.txt", "carol\n"+long+"\nbad\x01id\n\ncarol\n  alice  \n")
	report = filepath.Join(t.TempDir(), "out.csv")
	out, _, err = c.run(context.Background(), "", "dsr", "erase", "--app", c.app, "--input", input, "--report", report, "--journal", filepath.Join(t.TempDir(), "j"))
	if err != nil {
		t.Fatal(err)
	}
	want = "dsr erase: 5 input lines in T (R users/s): 2 erased, 0 not found, 0 failed, 0 already done, 3 invalid, 0 not run; 0 rate-limited responses"
	if got := summary(out); got != want {
		t.Errorf("got summary\n%s\nwant\n%s", got, want)
	}
	b, _ := os.ReadFile(report)
	got := regexp.MustCompile(`\d{4}-\d\d-\d\dT[0-9:.]+Z`).ReplaceAllString(string(b), "TIME")
	wantCSV := "line,id,outcome,status,code,detail,time\n" +
		"1,carol,erased,200,,,TIME\n" +
		"2,,invalid,0,,longer than 1024 bytes,\n" +
		"3,,invalid,0,,contains control characters,\n" +
		"5,carol,duplicate,0,,duplicate of line 1,\n" +
		"6,alice,erased,200,,,TIME\n"
	if diff := cmp.Diff(wantCSV, got); diff != "" {
		t.Errorf("CSV report (-want +got):\n%s", diff)
	}

	// A CSV without a usable column is refused before anything is sent.
	input = writeFile(t, "bad.csv", "email,name\na@example.org,A\n")
	_, _, err = c.run(context.Background(), "", "dsr", "erase", "--app", c.app, "--input", input)
	if err == nil || !strings.Contains(err.Error(), "no id, userId or externalId column") {
		t.Errorf("got %v, want the missing column named", err)
	}
}

// TestDSRDeleteFromStdin deletes users read from standard input, with a journal given explicitly.
func TestDSRDeleteFromStdin(t *testing.T) {
	c := newCLIEnv(t, "sqlite")
	ids := c.mustCreateUsers(t, "d1", "d2", "d3")
	journal := filepath.Join(t.TempDir(), "delete.journal")
	stdin := "id\n" + ids["d1"] + "\n" + ids["d2"] + "\nd3\n"
	_, _, err := c.run(context.Background(), stdin, "dsr", "delete", "--app", c.app, "--input", "-")
	if err == nil || !strings.Contains(err.Error(), "--journal is required") {
		t.Errorf("got %v, want --journal required for stdin", err)
	}
	out, _, err := c.run(context.Background(), stdin, "dsr", "delete", "--app", c.app, "--input", "-", "--journal", journal, "--concurrency", "2")
	if err != nil || !strings.Contains(out, "3 deleted, 0 not found, 0 failed") {
		t.Fatalf("got %v and %q", err, out)
	}
	for _, x := range []string{"d1", "d2", "d3"} {
		if _, err := c.client.GetUser(context.Background(), c.app, x); client.CodeOf(err) != "user_not_found" {
			t.Errorf("user %s: got %v after delete, want user_not_found", x, err)
		}
	}
	// The journal belongs to this command: an erase run may not reuse it.
	_, _, err = c.run(context.Background(), stdin, "dsr", "erase", "--app", c.app, "--input", "-", "--journal", journal)
	if err == nil || !strings.Contains(err.Error(), "give another --journal") {
		t.Errorf("got %v, want the journal of another command refused", err)
	}
}

// TestDSRStopsOnBadCredentials stops at the first 401 instead of failing every user.
func TestDSRStopsOnBadCredentials(t *testing.T) {
	c := newCLIEnv(t, "sqlite")
	ext := users(50)
	cnt := c.wrap(t)
	c.env["SUNLAMP_KEY_SECRET"] = "wrong"
	input := writeFile(t, "users.txt", strings.Join(ext, "\n"))
	out, _, err := c.run(context.Background(), "", "dsr", "erase", "--app", c.app, "--input", input, "--concurrency", "2")
	if err == nil || !strings.Contains(err.Error(), "401 unauthorized") {
		t.Errorf("got %v, want a 401 that stops the run", err)
	}
	cnt.mu.Lock()
	seen := cnt.seen
	cnt.mu.Unlock()
	if seen > 4 {
		t.Errorf("got %d requests with a bad key, want the run stopped after the first ones", seen)
	}
	if !strings.Contains(out, "not run") {
		t.Errorf("got %q, want a summary", out)
	}
}

func TestReadInput(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []inputItem
	}{
		{"lines", "a\n\n b \r\nc", []inputItem{{line: 1, user: "a"}, {line: 3, user: "b"}, {line: 4, user: "c"}}},
		{"header line", "\ufeffexternalId\nx\n", []inputItem{{line: 2, user: "x"}}},
		{"csv prefers id", "externalId,id\ne1,i1\n", []inputItem{{line: 2, user: "i1"}}},
		{"csv userId", "name,UserId\n\"Doe, J\",5d8cff3cd55b040010928b5b\nshort\n", []inputItem{{line: 2, user: "5d8cff3cd55b040010928b5b"}, {line: 3, bad: "no column 2 (UserId)"}}},
		{"csv comma in value", "externalId\n\"a,b\"\n", []inputItem{{line: 2, user: "a,b"}}},
		{"csv empty value", "id,x\n,1\n", []inputItem{{line: 2, bad: "empty id"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readInput(strings.NewReader(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(inputItem{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestJournalSurvivesATornLine(t *testing.T) {
	p := filepath.Join(t.TempDir(), "j")
	h := journalHeader{Op: "erase", URL: "http://x", App: "a"}
	j, err := openJournal(p, h)
	if err != nil {
		t.Fatal(err)
	}
	j.add(journalRecord{User: "u1", Outcome: outErased, Status: 200, Time: "t"})
	if err := j.close(); err != nil {
		t.Fatal(err)
	}
	// The process died in the middle of the next record.
	f, _ := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"user":"u2","outc`)
	f.Close()
	j, err = openJournal(p, h)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := j.done["u2"]; ok || len(j.done) != 1 {
		t.Errorf("got done %v, want only u1", j.done)
	}
	j.add(journalRecord{User: "u3", Outcome: outErased, Status: 200, Time: "t"})
	j.close()
	j, _ = openJournal(p, h)
	defer j.close()
	if _, ok := j.done["u3"]; !ok || len(j.done) != 2 {
		t.Errorf("got done %v after appending past a torn line, want u1 and u3", j.done)
	}
	// While this run holds it, another run cannot open it.
	if _, err := openJournal(p, h); err == nil || !strings.Contains(err.Error(), "in use by another sunlamp dsr run") {
		t.Errorf("got %v opening a journal in use, want it refused", err)
	}
}

// TestDSRLostNetwork runs against a server that is gone: the run stops after a few users in a row
// fail instead of spending its retries on every user, names no user on stderr, and a re-run once the
// server is back finishes the job.
func TestDSRLostNetwork(t *testing.T) {
	c := newCLIEnv(t, "sqlite")
	ext := users(40)
	c.mustCreateUsers(t, ext...)
	cnt := c.wrap(t)
	cnt.down.Store(true)
	input := writeFile(t, "users.txt", strings.Join(ext, "\n"))
	journal := filepath.Join(t.TempDir(), "j")
	out, errOut, err := c.run(context.Background(), "", "dsr", "erase", "--app", c.app, "--input", input, "--journal", journal, "--max-attempts", "2", "--concurrency", "2")
	if err == nil || !strings.Contains(err.Error(), "users in a row failed") || !strings.Contains(err.Error(), "no response") {
		t.Fatalf("got %v, want the run stopped after users failed in a row", err)
	}
	if !strings.Contains(out, "0 erased") || !strings.Contains(out, "not run") || strings.Contains(out, " 0 not run") {
		t.Errorf("got summary %q, want nothing erased and users not run", out)
	}
	if strings.Contains(errOut+err.Error(), "u0") {
		t.Errorf("a user id leaked into stderr or the error: %s %v", errOut, err)
	}
	// The network is back: every user is erased once.
	cnt.down.Store(false)
	out, _, err = c.run(context.Background(), "", "dsr", "erase", "--app", c.app, "--input", input, "--journal", journal)
	if err != nil || !strings.Contains(out, "40 erased, 0 not found, 0 failed, 0 already done") {
		t.Fatalf("got %v and %q, want all 40 erased", err, out)
	}
	if counts, total := cnt.counts(); total != 40 || len(counts) != 40 {
		t.Errorf("got %d erasures of %d users, want 40 of 40", total, len(counts))
	}
}

// TestDSRProgressLines prints plain progress lines when stderr is not a terminal, with no ids.
func TestDSRProgressLines(t *testing.T) {
	c := newCLIEnv(t, "sqlite")
	ext := users(30)
	c.mustCreateUsers(t, ext...)
	cnt := c.wrap(t)
	cnt.limit = func(int) (int, string) {
		time.Sleep(5 * time.Millisecond)
		return 0, ""
	}
	input := writeFile(t, "users.txt", strings.Join(ext, "\n"))
	_, errOut, err := c.run(context.Background(), "", "dsr", "erase", "--app", c.app, "--input", input, "--concurrency", "1", "--progress-interval", "20ms")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^dsr erase: \d+/30 done \(\d+%\), [0-9.]+ users/s, ETA (\d+:\d\d|--) \(\d+ not found, 0 failed, 0 throttled\)$`)
	if !re.MatchString(errOut) {
		t.Errorf("got stderr\n%s\nwant progress lines like %s", errOut, re)
	}
	if strings.Contains(errOut, "\r") || strings.Contains(errOut, "u0") {
		t.Errorf("got stderr %q, want plain lines without ids", errOut)
	}
}

func TestProgressBarOnATerminal(t *testing.T) {
	var b syncBuffer
	p := newProgress(&b, true, "dsr erase", 200, 0, func() string { return "(0 not found, 0 failed, 0 throttled)" })
	p.start = time.Now().Add(-10 * time.Second)
	p.add(50)
	p.print(false)
	want := "\r\x1b[Kdsr erase [=======>                      ] 50/200  25% 5.0/s ETA 0:30 (0 not found, 0 failed, 0 throttled)"
	if got := b.String(); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestDSRWithAnIntegrationJWT erases with a custom integration's key, sent as an integration-scope JWT.
func TestDSRWithAnIntegrationJWT(t *testing.T) {
	c := newCLIEnv(t, "sqlite")
	ext := users(5)
	c.mustCreateUsers(t, ext...)
	ctx := context.Background()
	in, err := c.client.CreateIntegration(ctx, c.app, client.Integration{Type: "custom", DisplayName: "DSR bot",
		Webhooks: []client.Webhook{{Target: "https://example.org/hook", Triggers: []string{"conversation:message"}}}})
	if err != nil {
		t.Fatal(err)
	}
	key, err := c.client.CreateCustomIntegrationKey(ctx, c.app, in.ID, "dsr")
	if err != nil {
		t.Fatal(err)
	}
	c.env["SUNLAMP_KEY_ID"], c.env["SUNLAMP_KEY_SECRET"], c.env["SUNLAMP_AUTH"] = key.ID, key.Secret, "jwt"
	input := writeFile(t, "users.txt", strings.Join(ext, "\n"))
	out, _, err := c.run(ctx, "", "dsr", "erase", "--app", c.app, "--input", input)
	if err != nil || !strings.Contains(out, ": 5 erased, 0 not found, 0 failed") {
		t.Fatalf("got %v and %q, want 5 erased", err, out)
	}
	u, err := c.client.GetUser(ctx, c.app, ext[0])
	if err != nil || u.Profile != (client.Profile{}) {
		t.Errorf("got %+v, %v; want the profile erased", u, err)
	}
}
