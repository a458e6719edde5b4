package client_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sunlamp/sunlamp/client"
)

// recorder is a server that records every request it gets and answers it with answer.
type recorder struct {
	answer func(w http.ResponseWriter, r *http.Request)

	mu   sync.Mutex
	seen []string // "METHOD escaped-path Authorization"
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec.mu.Lock()
	rec.seen = append(rec.seen, r.Method+" "+r.URL.EscapedPath()+" "+r.Header.Get("Authorization"))
	rec.mu.Unlock()
	rec.answer(w, r)
}

func (rec *recorder) requests() []string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]string(nil), rec.seen...)
}

// MustRecorder starts a recording server that answers with answer (a 404 in the error envelope when
// nil) and returns it and its URL.
func MustRecorder(tb testing.TB, answer func(w http.ResponseWriter, r *http.Request)) (*recorder, string) {
	tb.Helper()
	if answer == nil {
		answer = func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"errors":[{"code":"not_found","title":"Not found"}]}`)
		}
	}
	rec := &recorder{answer: answer}
	srv := httptest.NewServer(rec)
	tb.Cleanup(srv.Close)
	return rec, srv.URL
}

// MustNew returns a client of url authenticated with a fixed Basic key.
func MustNew(tb testing.TB, url string, opts ...client.Option) *client.Client {
	tb.Helper()
	c, err := client.New(url, client.Basic("app_key", "secret"), opts...)
	if err != nil {
		tb.Fatalf("got error %v, want a client", err)
	}
	return c
}

// TestRedirectsAreNotFollowed is issue 12: a server that answers a DELETE with a 307 to another
// path (as net/http's ServeMux did for ".." segments, to the parent resource) or to another server
// must not see the request carried out there, with the credentials or without.
func TestRedirectsAreNotFollowed(t *testing.T) {
	ctx := context.Background()
	target, targetURL := MustRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{}`)
	})
	type op struct {
		name, method string
		call         func(c *client.Client) error
	}
	ops := []op{
		{"DeleteUser", "DELETE", func(c *client.Client) error { return c.DeleteUser(ctx, "app1", "user1") }},
		{"DeleteApp", "DELETE", func(c *client.Client) error { return c.DeleteApp(ctx, "app1") }},
		{"UpdateApp", "PATCH", func(c *client.Client) error {
			_, err := c.UpdateApp(ctx, "app1", client.AppUpdate{})
			return err
		}},
		{"PostMessage", "POST", func(c *client.Client) error {
			_, err := c.PostMessage(ctx, "app1", "conv1", client.MessagePost{Author: client.Author{Type: "business"}, Content: client.Content{Type: "text", Text: "hi"}})
			return err
		}},
		{"GetApp", "GET", func(c *client.Client) error {
			_, err := c.GetApp(ctx, "app1")
			return err
		}},
	}
	// Where the redirect points: another server on the same host (net/http would resend the
	// Authorization header there, since only the port differs), and the cleaned path on the same
	// server, as ServeMux's redirect does.
	for _, where := range []string{"other server", "same server"} {
		for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
			for _, own := range []bool{false, true} {
				for _, o := range ops {
					name := fmt.Sprintf("%s/%d/own http.Client %v/%s", where, status, own, o.name)
					t.Run(name, func(t *testing.T) {
						before := len(target.requests())
						src, srcURL := MustRecorder(t, func(w http.ResponseWriter, r *http.Request) {
							if r.URL.Path == "/v2/apps" {
								// The parent: what following the redirect would reach.
								w.Header().Set("Content-Type", "application/json")
								fmt.Fprint(w, `{}`)
								return
							}
							to := "/v2/apps"
							if where == "other server" {
								to = targetURL + "/v2/apps"
							}
							http.Redirect(w, r, to, status)
						})
						var opts []client.Option
						hc := &http.Client{} // a caller's client: its CheckRedirect (nil) follows redirects
						if own {
							opts = append(opts, client.WithHTTPClient(hc))
						}
						c := MustNew(t, srcURL, opts...)

						err := o.call(c)

						var apiErr *client.Error
						if !errors.As(err, &apiErr) || apiErr.Status != status {
							t.Fatalf("got error %v (%T), want a *client.Error with status %d", err, err, status)
						}
						if !errors.Is(err, client.ErrRedirected) {
							t.Errorf("got error %v, want it to wrap ErrRedirected", err)
						}
						if got, want := len(src.requests()), 1; got != want {
							t.Errorf("got %d requests on the redirecting server %v, want %d (the request, not followed nor retried)", got, src.requests(), want)
						}
						if got := target.requests()[before:]; len(got) != 0 {
							t.Errorf("got requests %q on the redirect target, want none", got)
						}
						if hc.CheckRedirect != nil {
							t.Errorf("got the caller's http.Client changed (CheckRedirect set), want it left as it was")
						}
					})
				}
			}
		}
	}
	for _, r := range target.requests() {
		if strings.Contains(r, "Basic") {
			t.Errorf("the redirect target got the credentials: %q", r)
		}
	}
}

// idOp is a call with n path ids.
type idOp struct {
	name string
	n    int
	call func(ctx context.Context, c *client.Client, id []string) error
}

// idOps returns every operation of the client that takes a path id, and Inbound and the uploads.
func idOps() []idOp {
	e1 := func(_ any, err error) error { return err }
	text := client.MessagePost{Author: client.Author{Type: "business"}, Content: client.Content{Type: "text", Text: "x"}}
	return []idOp{
		// Apps and app keys.
		{"GetApp", 1, func(ctx context.Context, c *client.Client, id []string) error { return e1(c.GetApp(ctx, id[0])) }},
		{"UpdateApp", 1, func(ctx context.Context, c *client.Client, id []string) error {
			return e1(c.UpdateApp(ctx, id[0], client.AppUpdate{}))
		}},
		{"DeleteApp", 1, func(ctx context.Context, c *client.Client, id []string) error { return c.DeleteApp(ctx, id[0]) }},
		{"CreateAppKey", 1, func(ctx context.Context, c *client.Client, id []string) error {
			return e1(c.CreateAppKey(ctx, id[0], "k"))
		}},
		{"ListAppKeys", 1, func(ctx context.Context, c *client.Client, id []string) error { return e1(c.ListAppKeys(ctx, id[0])) }},
		{"GetAppKey", 2, func(ctx context.Context, c *client.Client, id []string) error {
			return e1(c.GetAppKey(ctx, id[0], id[1]))
		}},
		{"DeleteAppKey", 2, func(ctx context.Context, c *client.Client, id []string) error {
			return c.DeleteAppKey(ctx, id[0], id[1])
		}},
		// Users, clients, devices.
		{"CreateUser", 1, func(ctx context.Context, c *client.Client, id []string) error {
			return e1(c.CreateUser(ctx, id[0], client.UserCreate{ExternalID: "x"}))
		}},
		{"ListUsers", 1, func(ctx context.Context, c *client.Client, id []string) error {
			return e1(c.ListUsers(ctx, id[0], "a@b.c"))
		}},
		{"GetUser", 2, func(ctx context.Context, c *client.Client, id []string) error {
			return e1(c.GetUser(ctx, id[0], id[1]))
		}},
		{"UpdateUser", 2, func(ctx context.Context, c *client.Client, id []string) error {
			return e1(c.UpdateUser(ctx, id[0], id[1], client.UserUpdate{}))
		}},
		{"DeleteUser", 2, func(ctx context.Context, c *client.Client, id []string) error { return c.DeleteUser(ctx, id[0], id[1]) }},
		{"DeleteUserPersonalInformation", 2, func(ctx context.Context, c *client.Client, id []string) error {
			return e1(c.DeleteUserPersonalInformation(ctx, id[0], id[1]))
		}},
		{"CreateClient", 2, func(ctx context.Context, c *client.Client, id []string) error {
			return e1(c.CreateClient(ctx, id[0], id[1], client.ClientCreate{}))
		}},
		{"ListClients", 2, func(ctx context.Context, c *client.Client, id []string) error {
			return e1(c.ListClients(ctx, id[0], id[1], client.Page{}))
		}},
		{"RemoveClient", 3, func(ctx context.Context, c *client.Client, id []string) error {
			return c.RemoveClient(ctx, id[0], id[1], id[2])
		}},
		{"ListDevices", 2, func(ctx context.Context, c *client.Client, id []string) error {
			return e1(c.ListDevices(ctx, id[0], id[1]))
		}},
		{"GetDevice", 3, func(ctx context.Context, c *client.Client, id []string) error {
			return e1(c.GetDevice(ctx, id[0], id[1], id[2]))
		}},
		// Conversations, participants, messages, activity.
		{"CreateConversation", 1, func(ctx context.Context, c *client.Client, id []string) error {
			return e1(c.CreateConversation(ctx, id[0], client.ConversationCreate{}))
		}},
		{"ListConversations", 1, func(ctx context.Context, c *client.Client, id []string) error {
			return e1(c.ListConversations(ctx, id[0], client.ConversationFilter{UserID: "u"}, client.Page{}))
		}},
		{"GetConversation", 2, func(ctx context.Context, c *client.Client, id []string) error {
			return e1(c.GetConversation(ctx, id[0], id[1]))
		}},
		{"UpdateConversation", 2, func(ctx context.Context, c *client.Client, id []string) error {
			return e1(c.UpdateConversation(ctx, id[0], id[1], client.ConversationUpdate{}))
		}},
		{"DeleteConversation", 2, func(ctx context.Context, c *client.Client, id []string) error {
			return c.DeleteConversation(ctx, id[0], id[1])
		}},
		{"JoinConversation", 2, func(ctx context.Context, c *client.Client, id []string) error {
			return e1(c.JoinConversation(ctx, id[0], id[1], client.ParticipantJoin{}))
		}},
		{"ListParticipants", 2, func(ctx context.Context, c *client.Client, id []string) error {
			return e1(c.ListParticipants(ctx, id[0], id[1], client.Page{}))
		}},
		{"LeaveConversation", 2, func(ctx context.Context, c *client.Client, id []string) error {
			return c.LeaveConversation(ctx, id[0], id[1], client.ParticipantLeave{})
		}},
		{"PostMessage", 2, func(ctx context.Context, c *client.Client, id []string) error {
			return e1(c.PostMessage(ctx, id[0], id[1], text))
		}},
		{"ListMessages", 2, func(ctx context.Context, c *client.Client, id []string) error {
			return e1(c.ListMessages(ctx, id[0], id[1], client.Page{}))
		}},
		{"DeleteAllMessages", 2, func(ctx context.Context, c *client.Client, id []string) error {
			return c.DeleteAllMessages(ctx, id[0], id[1])
		}},
		{"DeleteMessage", 3, func(ctx context.Context, c *client.Client, id []string) error {
			return c.DeleteMessage(ctx, id[0], id[1], id[2])
		}},
		{"PostActivity", 2, func(ctx context.Context, c *client.Client, id []string) error {
			return c.PostActivity(ctx, id[0], id[1], client.ActivityPost{})
		}},
		// Integrations, their keys and webhooks.
		{"CreateIntegration", 1, func(ctx context.Context, c *client.Client, id []string) error {
			return e1(c.CreateIntegration(ctx, id[0], client.Integration{Type: "custom"}))
		}},
		{"ListIntegrations", 1, func(ctx context.Context, c *client.Client, id []string) error {
			return e1(c.ListIntegrations(ctx, id[0], nil, client.Page{}))
		}},
		{"GetIntegration", 2, func(ctx context.Context, c *client.Client, id []string) error {
			return e1(c.GetIntegration(ctx, id[0], id[1]))
		}},
		{"UpdateIntegration", 2, func(ctx context.Context, c *client.Client, id []string) error {
			return e1(c.UpdateIntegration(ctx, id[0], id[1], client.IntegrationUpdate{}))
		}},
		{"DeleteIntegration", 2, func(ctx context.Context, c *client.Client, id []string) error {
			return c.DeleteIntegration(ctx, id[0], id[1])
		}},
		{"CreateCustomIntegrationKey", 2, func(ctx context.Context, c *client.Client, id []string) error {
			return e1(c.CreateCustomIntegrationKey(ctx, id[0], id[1], "k"))
		}},
		{"ListCustomIntegrationKeys", 2, func(ctx context.Context, c *client.Client, id []string) error {
			return e1(c.ListCustomIntegrationKeys(ctx, id[0], id[1]))
		}},
		{"GetCustomIntegrationKey", 3, func(ctx context.Context, c *client.Client, id []string) error {
			return e1(c.GetCustomIntegrationKey(ctx, id[0], id[1], id[2]))
		}},
		{"DeleteCustomIntegrationKey", 3, func(ctx context.Context, c *client.Client, id []string) error {
			return c.DeleteCustomIntegrationKey(ctx, id[0], id[1], id[2])
		}},
		{"CreateWebhook", 2, func(ctx context.Context, c *client.Client, id []string) error {
			return e1(c.CreateWebhook(ctx, id[0], id[1], client.Webhook{}))
		}},
		{"ListWebhooks", 2, func(ctx context.Context, c *client.Client, id []string) error {
			return e1(c.ListWebhooks(ctx, id[0], id[1]))
		}},
		{"GetWebhook", 3, func(ctx context.Context, c *client.Client, id []string) error {
			return e1(c.GetWebhook(ctx, id[0], id[1], id[2]))
		}},
		{"UpdateWebhook", 3, func(ctx context.Context, c *client.Client, id []string) error {
			return e1(c.UpdateWebhook(ctx, id[0], id[1], id[2], client.WebhookUpdate{}))
		}},
		{"DeleteWebhook", 3, func(ctx context.Context, c *client.Client, id []string) error {
			return c.DeleteWebhook(ctx, id[0], id[1], id[2])
		}},
		// Switchboards and switchboard integrations, and the switchboard actions.
		{"CreateSwitchboard", 1, func(ctx context.Context, c *client.Client, id []string) error {
			return e1(c.CreateSwitchboard(ctx, id[0]))
		}},
		{"ListSwitchboards", 1, func(ctx context.Context, c *client.Client, id []string) error {
			return e1(c.ListSwitchboards(ctx, id[0]))
		}},
		{"UpdateSwitchboard", 2, func(ctx context.Context, c *client.Client, id []string) error {
			return e1(c.UpdateSwitchboard(ctx, id[0], id[1], client.SwitchboardUpdate{}))
		}},
		{"DeleteSwitchboard", 2, func(ctx context.Context, c *client.Client, id []string) error {
			return c.DeleteSwitchboard(ctx, id[0], id[1])
		}},
		{"CreateSwitchboardIntegration", 2, func(ctx context.Context, c *client.Client, id []string) error {
			return e1(c.CreateSwitchboardIntegration(ctx, id[0], id[1], client.SwitchboardIntegrationCreate{}))
		}},
		{"ListSwitchboardIntegrations", 2, func(ctx context.Context, c *client.Client, id []string) error {
			return e1(c.ListSwitchboardIntegrations(ctx, id[0], id[1]))
		}},
		{"UpdateSwitchboardIntegration", 3, func(ctx context.Context, c *client.Client, id []string) error {
			return e1(c.UpdateSwitchboardIntegration(ctx, id[0], id[1], id[2], client.SwitchboardIntegrationUpdate{}))
		}},
		{"DeleteSwitchboardIntegration", 3, func(ctx context.Context, c *client.Client, id []string) error {
			return c.DeleteSwitchboardIntegration(ctx, id[0], id[1], id[2])
		}},
		{"PassControl", 2, func(ctx context.Context, c *client.Client, id []string) error {
			return c.PassControl(ctx, id[0], id[1], client.ControlBody{})
		}},
		{"OfferControl", 2, func(ctx context.Context, c *client.Client, id []string) error {
			return c.OfferControl(ctx, id[0], id[1], client.ControlBody{})
		}},
		{"AcceptControl", 2, func(ctx context.Context, c *client.Client, id []string) error {
			return c.AcceptControl(ctx, id[0], id[1], nil)
		}},
		{"ReleaseControl", 2, func(ctx context.Context, c *client.Client, id []string) error {
			return c.ReleaseControl(ctx, id[0], id[1], nil)
		}},
		// Attachments and the channel simulator.
		{"UploadAttachment", 1, func(ctx context.Context, c *client.Client, id []string) error {
			return e1(c.UploadAttachment(ctx, id[0], "a.txt", strings.NewReader("a"), client.UploadOptions{}))
		}},
		{"DeleteAttachment", 1, func(ctx context.Context, c *client.Client, id []string) error {
			return c.DeleteAttachment(ctx, id[0], "https://example.org/a.txt")
		}},
		{"Inbound", 1, func(ctx context.Context, c *client.Client, id []string) error {
			return e1(c.Inbound(ctx, id[0], client.Inbound{}))
		}},
		// Iterators go through the List operations.
		{"Clients iterator", 2, func(ctx context.Context, c *client.Client, id []string) error {
			for _, err := range c.Clients(ctx, id[0], id[1], client.Page{}) {
				return err
			}
			return nil
		}},
	}
}

// TestInvalidIDsAreRefusedBeforeSending calls every operation with "", "." and ".." in each of its
// path ids in turn: each call fails with ErrInvalidID and no request reaches the server. The same
// calls with good ids do reach it, so that the table is known to be sending.
func TestInvalidIDsAreRefusedBeforeSending(t *testing.T) {
	ctx := context.Background()
	srv, url := MustRecorder(t, nil)
	c := MustNew(t, url, client.WithRetry(client.NoRetry()))
	cases := 0
	for _, o := range idOps() {
		for pos := 0; pos < o.n; pos++ {
			for _, bad := range []string{"", ".", ".."} {
				ids := []string{"5d8cff3cd55b040010928b5b", "x-1", "a.b"}[:o.n]
				ids = append([]string(nil), ids...)
				ids[pos] = bad
				err := o.call(ctx, c, ids)
				cases++
				if !errors.Is(err, client.ErrInvalidID) {
					t.Errorf("%s with id %d %q: got error %v, want ErrInvalidID", o.name, pos+1, bad, err)
				}
			}
		}
	}
	if got := srv.requests(); len(got) != 0 {
		t.Errorf("got %d requests for invalid ids (the first: %q), want none", len(got), got[:min(len(got), 5)])
	}

	// Do is held to the same rule, percent-encoded dots included.
	for _, path := range []string{
		"/v2/apps/a/users/..", "/v2/apps/a/users/.", "/v2/apps/a/users/%2E%2E", "/v2/apps/a/users/.%2e",
		"/v2/apps//users/x", "/v2/apps/a/users/x/", "/v2/apps/a/users/../../b",
	} {
		for _, method := range []string{"GET", "DELETE", "PATCH", "POST"} {
			_, err := c.Do(ctx, method, path, nil, nil)
			cases++
			if !errors.Is(err, client.ErrInvalidID) {
				t.Errorf("Do %s %s: got error %v, want ErrInvalidID", method, path, err)
			}
		}
	}
	if got := srv.requests(); len(got) != 0 {
		t.Errorf("got %d requests for invalid ids and paths (the first: %q), want none", len(got), got[:min(len(got), 5)])
	}
	t.Logf("%d calls with an invalid id refused", cases)

	// Good ids reach the server, including ids that only look like dots.
	ops := idOps()
	for _, o := range ops {
		ids := []string{"...", ".a", "a."}[:o.n]
		err := o.call(ctx, c, ids)
		if errors.Is(err, client.ErrInvalidID) || client.StatusOf(err) != http.StatusNotFound {
			t.Errorf("%s with ids %q: got error %v, want the server's 404", o.name, ids, err)
		}
	}
	if got, want := len(srv.requests()), len(ops); got != want {
		t.Errorf("got %d requests for good ids, want %d (one per operation)", got, want)
	}
}

func TestBaseURLWithDotSegmentsIsRefused(t *testing.T) {
	for _, base := range []string{"http://127.0.0.1:1/sc/..", "http://127.0.0.1:1/./sc", "http://127.0.0.1:1/a//b"} {
		_, err := client.New(base, client.Basic("k", "s"))
		if !errors.Is(err, client.ErrInvalidID) {
			t.Errorf("New(%q): got error %v, want ErrInvalidID", base, err)
		}
	}
	for _, base := range []string{"http://127.0.0.1:1", "http://127.0.0.1:1/", "http://127.0.0.1:1/sc/"} {
		if _, err := client.New(base, client.Basic("k", "s")); err != nil {
			t.Errorf("New(%q): got error %v, want nil", base, err)
		}
	}
}

// TestRedirectErrorSaysSo pins the text of a redirect's error, which the command line prints.
func TestRedirectErrorSaysSo(t *testing.T) {
	_, url := MustRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/v2/apps/app1", http.StatusTemporaryRedirect)
	})
	c := MustNew(t, url)
	err := c.DeleteUser(context.Background(), "app1", "u")
	want := "DELETE /v2/apps/app1/users/u: 307 Temporary Redirect; the server answered with a redirect, which the client does not follow (check the base URL)"
	if diff := cmp.Diff(want, fmt.Sprint(err)); diff != "" {
		t.Errorf("error text (-want +got):\n%s", diff)
	}
}
