package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// recording wraps a handler and records every request that reaches it as "METHOD escaped-path".
type recording struct {
	h  http.Handler
	mu sync.Mutex
	rq []string
}

func (rc *recording) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc.mu.Lock()
	rc.rq = append(rc.rq, r.Method+" "+r.URL.EscapedPath())
	rc.mu.Unlock()
	rc.h.ServeHTTP(w, r)
}

func (rc *recording) requests() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]string(nil), rc.rq...)
}

// MustRecordRequests points the command line at a server that records every request and passes it
// on to h (the env's own server when nil).
func (c *cliEnv) MustRecordRequests(tb testing.TB, h http.Handler) *recording {
	tb.Helper()
	if h == nil {
		h = c.Handler
	}
	rc := &recording{h: h}
	srv := httptest.NewServer(rc)
	tb.Cleanup(srv.Close)
	c.env["SUNLAMP_URL"] = srv.URL
	return rc
}

// MustAppExist fails the test when the env's app is gone.
func (c *cliEnv) MustAppExist(tb testing.TB) {
	tb.Helper()
	if _, err := c.client.GetApp(context.Background(), c.app); err != nil {
		tb.Fatalf("got %v getting the app, want it still there", err)
	}
}

// TestUsersRefusesDotIDs is issue 12: `sunlamp users delete --app APP ..` with an account key
// deleted the app (the server redirected to /v2/apps/APP and the client followed). Such ids are
// refused with a usage error and nothing is sent.
func TestUsersRefusesDotIDs(t *testing.T) {
	c := newCLIEnv(t, "sqlite")
	c.env["SUNLAMP_KEY_ID"], c.env["SUNLAMP_KEY_SECRET"] = c.AccountKey.ID, c.AccountKey.Secret
	rec := c.MustRecordRequests(t, nil)
	ctx := context.Background()
	for _, cmd := range []string{"get", "delete", "erase-personal-info"} {
		for _, id := range []string{"..", ".", ""} {
			out, errOut, err := c.run(ctx, "", "users", cmd, "--app", c.app, id)
			if err == nil || exitCode(err) == 0 {
				t.Errorf("users %s %q: got error %v (exit %d), want a non-zero exit", cmd, id, err, exitCode(err))
			}
			if want := "refused, nothing sent"; !strings.Contains(errOut, want) {
				t.Errorf("users %s %q: got stderr %q, want it to contain %q", cmd, id, errOut, want)
			}
			if out != "" {
				t.Errorf("users %s %q: got stdout %q, want nothing", cmd, id, out)
			}
		}
		// The app id is held to the same rule.
		for _, app := range []string{"..", "."} {
			_, _, err := c.run(ctx, "", "users", cmd, "--app", app, "jane")
			if err == nil || !strings.Contains(err.Error(), "--app") {
				t.Errorf("users %s --app %q: got %v, want an error naming --app", cmd, app, err)
			}
		}
	}
	if got := rec.requests(); len(got) != 0 {
		t.Errorf("got requests %q, want none", got)
	}
	c.MustAppExist(t)
}

// TestDSRReportsDotIDsInvalid: input lines "..", "." and an empty id are reported invalid by line
// number and never sent; the valid lines around them are processed.
func TestDSRReportsDotIDsInvalid(t *testing.T) {
	c := newCLIEnv(t, "sqlite")
	ids := c.mustCreateUsers(t, "alice", "bob", "carol", "dave")
	rec := c.MustRecordRequests(t, nil)
	ctx := context.Background()
	dotDetail := `"." and ".." cannot be sent as an id (in a URL path they name another resource)`

	input := writeFile(t, "users.csv", "email,externalId\n"+
		"a@example.org,alice\n"+
		"x@example.org,..\n"+
		"y@example.org,.\n"+
		"z@example.org,\n"+
		"w@example.org, .. \n"+
		"b@example.org,bob\n")
	report := filepath.Join(t.TempDir(), "out.json")
	out, errOut, err := c.run(ctx, "", "dsr", "delete", "--app", c.app, "--input", input, "--report", report)
	if err != nil {
		t.Fatalf("got error %v, want nil (bad lines do not change the exit status)", err)
	}
	want := "dsr delete: 6 input lines in T (R users/s): 2 deleted, 0 not found, 0 failed, 0 already done, 4 invalid, 0 not run; 0 rate-limited responses"
	if got := summary(out); got != want {
		t.Errorf("got summary\n%s\nwant\n%s", got, want)
	}
	wantRows := []reportRow{
		{Line: 2, User: "alice", Outcome: outDeleted, Status: 200, Time: "TIME"},
		{Line: 3, Outcome: outInvalid, Detail: dotDetail},
		{Line: 4, Outcome: outInvalid, Detail: dotDetail},
		{Line: 5, Outcome: outInvalid, Detail: "empty externalId"},
		{Line: 6, Outcome: outInvalid, Detail: dotDetail},
		{Line: 7, User: "bob", Outcome: outDeleted, Status: 200, Time: "TIME"},
	}
	if diff := cmp.Diff(wantRows, readReport(t, report)); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
	for _, line := range []string{"3", "4", "5", "6"} {
		if !strings.Contains(errOut, "input line "+line+" skipped") {
			t.Errorf("got stderr %q, want input line %s reported", errOut, line)
		}
	}
	wantReq := []string{"DELETE /v2/apps/" + c.app + "/users/alice", "DELETE /v2/apps/" + c.app + "/users/bob"}
	if diff := cmp.Diff(wantReq, rec.requests(), cmpSorted); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}

	// One value per line, with the erasure.
	input = writeFile(t, "users.txt", "..\ncarol\n.\n\n"+ids["dave"]+"\n")
	report = filepath.Join(t.TempDir(), "out.json")
	out, _, err = c.run(ctx, "", "dsr", "erase", "--app", c.app, "--input", input, "--report", report)
	if err != nil {
		t.Fatalf("got error %v, want nil", err)
	}
	want = "dsr erase: 4 input lines in T (R users/s): 2 erased, 0 not found, 0 failed, 0 already done, 2 invalid, 0 not run; 0 rate-limited responses"
	if got := summary(out); got != want {
		t.Errorf("got summary\n%s\nwant\n%s", got, want)
	}
	wantRows = []reportRow{
		{Line: 1, Outcome: outInvalid, Detail: dotDetail},
		{Line: 2, User: "carol", Outcome: outErased, Status: 200, Time: "TIME"},
		{Line: 3, Outcome: outInvalid, Detail: dotDetail},
		{Line: 5, User: ids["dave"], Outcome: outErased, Status: 200, Time: "TIME"},
	}
	if diff := cmp.Diff(wantRows, readReport(t, report)); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
	wantReq = append(wantReq, "DELETE /v2/apps/"+c.app+"/users/carol/personalinformation", "DELETE /v2/apps/"+c.app+"/users/"+ids["dave"]+"/personalinformation")
	if diff := cmp.Diff(wantReq, rec.requests(), cmpSorted); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}

	// An --app that is "." or ".." stops the run before anything is sent.
	for _, app := range []string{"..", "."} {
		_, _, err := c.run(ctx, "", "dsr", "delete", "--app", app, "--input", input, "--journal", filepath.Join(t.TempDir(), "j"))
		if err == nil || !strings.Contains(err.Error(), "--app") {
			t.Errorf("dsr delete --app %q: got %v, want an error naming --app", app, err)
		}
	}
	if got := len(rec.requests()); got != len(wantReq) {
		t.Errorf("got %d requests after the runs with a bad --app, want %d (none more)", got, len(wantReq))
	}
	c.MustAppExist(t)
}

// cmpSorted compares lists of requests in any order (the dsr workers run concurrently).
var cmpSorted = cmpopts.SortSlices(func(a, b string) bool { return a < b })

// TestRedirectIsNotFollowed points the command line at a server that redirects every request to
// the real one, as a path-cleaning server or a misconfigured proxy would: nothing reaches the real
// server, `users` prints the 307 and fails, and `dsr` stops at the first redirect.
func TestRedirectIsNotFollowed(t *testing.T) {
	c := newCLIEnv(t, "sqlite")
	c.mustCreateUsers(t, users(30)...)
	target := &recording{h: c.Handler}
	targetSrv := httptest.NewServer(target)
	t.Cleanup(targetSrv.Close)
	redirecting := c.MustRecordRequests(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, targetSrv.URL+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	}))
	ctx := context.Background()

	out, errOut, err := c.run(ctx, "", "users", "delete", "--app", c.app, "u001")
	if err != errReported || exitCode(err) != 1 {
		t.Errorf("users delete: got error %v, want errReported (exit 1)", err)
	}
	if !strings.HasSuffix(out, "307 Temporary Redirect\n") {
		t.Errorf("users delete: got stdout %q, want the 307 status last", out)
	}
	if !strings.Contains(errOut, "does not follow") || !strings.Contains(errOut, "--url") {
		t.Errorf("users delete: got stderr %q, want the redirect explained", errOut)
	}

	input := writeFile(t, "users.txt", strings.Join(users(30), "\n"))
	out, _, err = c.run(ctx, "", "dsr", "delete", "--app", c.app, "--input", input, "--concurrency", "2")
	if err == nil || !strings.Contains(err.Error(), "redirect") {
		t.Errorf("dsr delete: got error %v, want the run stopped by the redirect", err)
	}
	if !strings.Contains(out, "not run") {
		t.Errorf("dsr delete: got stdout %q, want a summary", out)
	}
	if got := len(redirecting.requests()); got > 1+4 {
		t.Errorf("got %d requests to the redirecting server, want the dsr run stopped after the first ones", got)
	}
	if got := target.requests(); len(got) != 0 {
		t.Errorf("got requests %q on the redirect target, want none", got)
	}
	for _, x := range users(30) {
		if _, err := c.client.GetUser(ctx, c.app, x); err != nil {
			t.Fatalf("user %s: got %v, want it still there", x, err)
		}
	}
}
