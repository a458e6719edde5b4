package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sunlamp/sunlamp"
	"github.com/sunlamp/sunlamp/api"
	"github.com/sunlamp/sunlamp/client"
	"github.com/sunlamp/sunlamp/internal/apitest"
	"github.com/sunlamp/sunlamp/sqlstore"
)

// history gives the user with externalId ext n messages in its conversation (inbound messages, as a
// customer's channel sends them).
func history(t *testing.T, st *sqlstore.Store, appID, ext string, n int) {
	t.Helper()
	for i := range n {
		text := sunlamp.TextContent(fmt.Sprintf("message %d of %s", i, ext))
		if _, err := st.Inbound(context.Background(), sunlamp.Inbound{AppID: appID, Channel: "sdk", UserExternalID: ext, Content: &text}); err != nil {
			t.Fatalf("inbound: %v", err)
		}
	}
}

// TestDSRDeleteWait deletes users by id and externalId with --wait against a real server: the run
// ends once every deletion's receipt is complete, and reports what each removed.
func TestDSRDeleteWait(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		c := newCLIEnv(t, e.Name)
		ids := c.mustCreateUsers(t, "w1", "w2", "w3")
		history(t, c.Store, c.app, "w1", 3)
		history(t, c.Store, c.app, "w2", 600) // more than one purge batch
		report := filepath.Join(t.TempDir(), "report.json")
		input := writeFile(t, "users.txt", "w1\n"+ids["w2"]+"\nw3\nnobody\n")
		out, errOut, err := c.run(context.Background(), "", "dsr", "delete", "--app", c.app, "--input", input, "--wait", "--wait-timeout", "60s", "--report", report)
		if err != nil {
			t.Fatalf("got %v; stdout %q, stderr %q", err, out, errOut)
		}
		if !strings.Contains(out, "dsr delete --wait: 3 deletions complete in ") || !strings.Contains(out, "(603 messages, 2 conversations, 0 files removed), 0 still pending, 0 without a receipt") {
			t.Errorf("got stdout %q, want 3 deletions complete with 603 messages and 2 conversations removed", out)
		}
		if got, want := summary(out), "dsr delete: 4 input lines in T (R users/s): 3 deleted, 1 not found, 0 failed, 0 already done, 0 invalid, 0 not run; 0 rate-limited responses"; got != want {
			t.Errorf("got summary %q, want %q", got, want)
		}
		rows := readReport(t, report)
		want := []string{
			"userId " + ids["w1"] + "; deletion complete: 3 messages, 1 conversations, 0 files removed",
			"userId " + ids["w2"] + "; deletion complete: 600 messages, 1 conversations, 0 files removed",
			"userId " + ids["w3"] + "; deletion complete: 0 messages, 0 conversations, 0 files removed",
			"User not found",
		}
		for i, r := range rows {
			if r.Detail != want[i] {
				t.Errorf("report line %d: got detail %q, want %q", r.Line, r.Detail, want[i])
			}
		}
		// The server agrees: every receipt is complete, and the users are gone.
		for _, x := range []string{"w1", "w2", "w3"} {
			resp, err := c.client.Do(context.Background(), "GET", "/_sunlamp/v1/apps/"+c.app+"/deletions/"+ids[x], nil, nil)
			if err != nil || !strings.Contains(string(resp.Body), `"status":"complete"`) {
				t.Errorf("receipt of %s: got %v %s, want complete", x, err, bodyOf(resp))
			}
			if _, err := c.client.GetUser(context.Background(), c.app, x); client.CodeOf(err) != "user_not_found" {
				t.Errorf("user %s: got %v after delete, want user_not_found", x, err)
			}
		}
	})
}

func bodyOf(r *client.Response) string {
	if r == nil {
		return ""
	}
	return string(r.Body)
}

// TestDSRDeleteWaitTimeout: when the deletions do not complete within --wait-timeout (a server
// whose background purge is stopped), the run says which are still pending and exits non-zero.
func TestDSRDeleteWaitTimeout(t *testing.T) {
	dsn := apitest.NewDSN(t, "sqlite")
	st, err := sqlstore.Open(context.Background(), dsn, sqlstore.WithoutBackgroundPurge())
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(nil)
	h := api.NewServer(api.Config{Store: st, BaseURL: ts.URL})
	ts.Config.Handler = h
	t.Cleanup(func() { ts.Close(); st.Close() })
	acct, err := st.CreateKey(context.Background(), sunlamp.Key{ID: sunlamp.NewKeyID(sunlamp.PrefixAccountKey), Scope: sunlamp.ScopeAccount,
		AccountID: sunlamp.DefaultAccountID, DisplayName: "test", Secret: sunlamp.NewSecret()})
	if err != nil {
		t.Fatal(err)
	}
	e := &apitest.Env{Name: "sqlite", URL: ts.URL, Store: st, DSN: dsn, Handler: h, Server: ts, AccountKey: acct}
	app := e.MustCreateApp(t, "CLI")
	key := e.MustCreateAppKey(t, app)
	c := &cliEnv{Env: e, app: app, client: apitest.NewClient(t, e.URL, client.Basic(key.ID, key.Secret)),
		env: map[string]string{"SUNLAMP_URL": e.URL, "SUNLAMP_KEY_ID": key.ID, "SUNLAMP_KEY_SECRET": key.Secret}}
	ids := c.mustCreateUsers(t, "p1", "p2")
	history(t, st, app, "p1", 2)
	report := filepath.Join(t.TempDir(), "report.json")
	input := writeFile(t, "users.txt", "p1\np2\n")

	out, errOut, err := c.run(context.Background(), "", "dsr", "delete", "--app", app, "--input", input, "--wait", "--wait-timeout", "1500ms", "--wait-poll", "100ms", "--report", report)
	if err != errReported {
		t.Fatalf("got %v, want errReported; stdout %q, stderr %q", err, out, errOut)
	}
	if !strings.Contains(out, "0 deletions complete in ") || !strings.Contains(out, "2 still pending") {
		t.Errorf("got stdout %q, want 2 deletions still pending", out)
	}
	if !strings.Contains(errOut, "2 deletions still pending after 1.5s (--wait-timeout)") || !strings.Contains(errOut, "GET /_sunlamp/v1/apps/"+app+"/deletions/USERID") {
		t.Errorf("got stderr %q, want the pending deletions explained", errOut)
	}
	for i, r := range readReport(t, report) {
		x := []string{"p1", "p2"}[i]
		if want := "userId " + ids[x] + "; deletion still pending after 1.5s (--wait-timeout)"; r.Outcome != outDeleted || r.Detail != want {
			t.Errorf("report of %s: got %s %q, want deleted %q", x, r.Outcome, r.Detail, want)
		}
	}
	if _, _, err := c.run(context.Background(), "", "dsr", "delete", "--app", app, "--input", input, "--wait", "--wait-timeout", "0s"); err == nil || !strings.Contains(err.Error(), "--wait-timeout 0s") {
		t.Errorf("got %v, want --wait-timeout 0s refused", err)
	}
}
