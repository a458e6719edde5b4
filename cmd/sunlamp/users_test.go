package main

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sunlamp/sunlamp/client"
	"github.com/sunlamp/sunlamp/internal/apitest"
)

// cliEnv is a running server with an app, and the environment that points the command line at it.
type cliEnv struct {
	*apitest.Env
	app    string
	env    map[string]string
	client *client.Client
}

func newCLIEnv(t testing.TB, store string) *cliEnv {
	t.Helper()
	e := apitest.NewEnv(t, store)
	app := e.MustCreateApp(t, "CLI")
	key := e.MustCreateAppKey(t, app)
	c := apitest.NewClient(t, e.URL, client.Basic(key.ID, key.Secret))
	return &cliEnv{Env: e, app: app, client: c, env: map[string]string{
		"SUNLAMP_URL": e.URL, "SUNLAMP_KEY_ID": key.ID, "SUNLAMP_KEY_SECRET": key.Secret,
	}}
}

// run runs the command line with the env's environment and returns its stdout, stderr and error.
func (c *cliEnv) run(ctx context.Context, stdin string, args ...string) (string, string, error) {
	var out, errOut syncBuffer
	err := run(ctx, args, func(k string) string { return c.env[k] }, strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), err
}

// mustCreateUsers creates users with the given externalIds, each with a profile and metadata.
func (c *cliEnv) mustCreateUsers(t testing.TB, ext ...string) map[string]string {
	t.Helper()
	ids := map[string]string{}
	for _, x := range ext {
		u, err := c.client.CreateUser(context.Background(), c.app, client.UserCreate{
			ExternalID: x, Profile: &client.Profile{GivenName: "Given " + x, Email: "someone@example.org"}, Metadata: client.Metadata{"k": "v"},
		})
		if err != nil {
			t.Fatalf("create user: %v", err)
		}
		ids[x] = u.ID
	}
	return ids
}

var (
	reOutID   = regexp.MustCompile(`"[0-9a-f]{24}"`)
	reOutTime = regexp.MustCompile(`"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"`)
)

func normalizeOut(s string) string {
	return reOutTime.ReplaceAllString(reOutID.ReplaceAllString(s, `"ID"`), `"TIME"`)
}

// TestUsersErasePersonalInfo is the seed's program: erase one user, print the body and the status.
func TestUsersErasePersonalInfo(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		c := newCLIEnv(t, e.Name)
		ext := "a/b c@x?y#z"
		c.mustCreateUsers(t, ext)
		ctx := context.Background()

		out, _, err := c.run(ctx, "", "users", "erase-personal-info", "--app", c.app, ext)
		if err != nil {
			t.Fatalf("got error %v, want nil", err)
		}
		want := `{
  "user": {
    "id": "ID",
    "externalId": "a/b c@x?y#z",
    "signedUpAt": "TIME",
    "profile": {},
    "metadata": {},
    "identities": []
  }
}
200 OK
`
		if diff := cmp.Diff(want, normalizeOut(out)); diff != "" {
			t.Errorf("stdout (-want +got):\n%s", diff)
		}
		u, err := c.client.GetUser(ctx, c.app, ext)
		if err != nil || u.Profile != (client.Profile{}) || len(u.Metadata) != 0 {
			t.Errorf("got %+v, %v after the erasure, want no profile and no metadata", u, err)
		}

		// Flags after the user, a JWT, and an unknown user: the error body, the status, a non-zero exit.
		out, _, err = c.run(ctx, "", "users", "erase-personal-info", "nobody", "--app", c.app, "--auth", "jwt")
		if err != errReported || exitCode(err) != 1 {
			t.Errorf("got error %v, want errReported (exit 1)", err)
		}
		want = `{
  "errors": [
    {
      "code": "user_not_found",
      "title": "User not found"
    }
  ]
}
404 Not Found
`
		if diff := cmp.Diff(want, out); diff != "" {
			t.Errorf("stdout for an unknown user (-want +got):\n%s", diff)
		}
	})
}

func TestUsersGetAndDelete(t *testing.T) {
	c := newCLIEnv(t, "sqlite")
	ctx := context.Background()
	ids := c.mustCreateUsers(t, "jane")
	out, _, err := c.run(ctx, "", "users", "get", "--app", c.app, ids["jane"])
	if err != nil || !strings.Contains(out, `"givenName": "Given jane"`) || !strings.HasSuffix(out, "\n200 OK\n") {
		t.Errorf("get: got %v and\n%s", err, out)
	}
	out, _, err = c.run(ctx, "", "users", "delete", "--app", c.app, "jane")
	if err != nil || out != "{}\n200 OK\n" {
		t.Errorf("delete: got %v and %q, want {} and 200 OK", err, out)
	}
	out, _, err = c.run(ctx, "", "users", "get", "--app", c.app, "jane")
	if err != errReported || !strings.HasSuffix(out, "404 Not Found\n") {
		t.Errorf("get after delete: got %v and %q, want a 404", err, out)
	}
	// A wrong secret is a 401, printed like any error status.
	c.env["SUNLAMP_KEY_SECRET"] = "wrong"
	out, _, err = c.run(ctx, "", "users", "get", "--app", c.app, "jane")
	if err != errReported || !strings.Contains(out, `"code": "unauthorized"`) || !strings.HasSuffix(out, "401 Unauthorized\n") {
		t.Errorf("wrong secret: got %v and %q, want the 401 body and status", err, out)
	}
}

func TestUsersUsage(t *testing.T) {
	c := newCLIEnv(t, "sqlite")
	ctx := context.Background()
	for _, args := range [][]string{{"users", "--help"}, {"users", "erase-personal-info", "--help"}, {"dsr", "--help"}, {"dsr", "erase", "--help"}, {"dsr", "delete", "-h"}} {
		out, _, err := c.run(ctx, "", args...)
		if err != nil || !strings.Contains(out, "Example:") || !strings.Contains(out, "sunlamp "+args[0]) {
			t.Errorf("%v: got %v and\n%s\nwant a usage with an example on stdout", args, err, out)
		}
		if strings.Contains(out, c.env["SUNLAMP_KEY_SECRET"]) {
			t.Errorf("%v: the key secret from the environment is in the help", args)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"users", "erase-personal-info", "--app", c.app}, "want exactly one USER"},
		{[]string{"users", "erase-personal-info", "--app", c.app, "a", "b"}, "want exactly one USER"},
		{[]string{"users", "frobnicate", "x"}, "unknown command"},
		{[]string{"users", "get", "--bogus", "x"}, "flag provided but not defined"},
		{[]string{"dsr", "erase", "--app", c.app}, "--input is required"},
	} {
		_, errOut, err := c.run(ctx, "", tc.args...)
		if err != errUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: got %v and stderr %q, want errUsage and %q", tc.args, err, errOut, tc.want)
		}
	}
	delete(c.env, "SUNLAMP_KEY_ID")
	_, _, err := c.run(ctx, "", "users", "get", "--app", c.app, "x")
	if err == nil || !strings.Contains(err.Error(), "--key-id") {
		t.Errorf("got %v without a key, want an error naming --key-id", err)
	}
}
