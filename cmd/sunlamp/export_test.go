package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sunlamp/sunlamp"
	"github.com/sunlamp/sunlamp/client"
	"github.com/sunlamp/sunlamp/internal/apitest"
	"github.com/sunlamp/sunlamp/sqlstore"
)

// exportDoc is the export document as a test reads it.
type exportDoc struct {
	Version    int    `json:"version"`
	ExportedAt string `json:"exportedAt"`
	Source     struct {
		URL   string `json:"url"`
		AppID string `json:"appId"`
	} `json:"source"`
	User          client.User         `json:"user"`
	Clients       []client.UserClient `json:"clients"`
	Devices       []client.Device     `json:"devices"`
	Conversations []struct {
		Conversation client.Conversation `json:"conversation"`
		Messages     []client.Message    `json:"messages"`
	} `json:"conversations"`
	Media []mediaEntry `json:"media"`
}

// MustReadExport reads and decodes an export document, and returns its bytes too.
func MustReadExport(tb testing.TB, path string) (exportDoc, string) {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("read the export: %v", err)
	}
	var d exportDoc
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		tb.Fatalf("decode the export %s: %v\n%.2000s", path, err, b)
	}
	return d, string(b)
}

// MustMode fails tb unless path has the permission bits want.
func MustMode(tb testing.TB, path string, want fs.FileMode) {
	tb.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		tb.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		tb.Errorf("%s: got mode %v, want %v", filepath.Base(path), got, want)
	}
}

// png is a 1x1 PNG image.
const png = "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"

// exportFixture is a user with something of everything an export must hold, and another user whose
// data it must not.
type exportFixture struct {
	user, other        string // ids
	personal, group    string // conversation ids
	ownInGroup         string // the user's message in the group conversation
	imageURL, otherURL string // the user's uploaded image, and the other user's
	offHost            string // an image URL on another host
	otherMarkers       []string
}

// MustSeedExport makes the fixture through the API and the inbound simulator.
func MustSeedExport(tb testing.TB, c *cliEnv, personalMessages int) exportFixture {
	tb.Helper()
	ctx := context.Background()
	cl := c.client
	var f exportFixture
	must := func(err error) {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
	}
	// A customer writes in on WhatsApp: a user with an identity, a client with channel data, and the
	// personal conversation with a first message.
	in, err := cl.Inbound(ctx, c.app, client.Inbound{Channel: "whatsapp",
		User:    &client.InboundUser{Identities: []client.Identity{{Type: "email", Value: "jane@example.org", Verification: "sso"}}},
		Client:  &client.InboundClient{ExternalID: "+15145550199", DisplayName: "Jane D.", AvatarURL: "https://example.org/jane.png", Info: map[string]any{"city": "Montreal"}, Raw: map[string]any{"From": "+15145550199"}},
		Content: &client.Content{Type: "text", Text: "hello from whatsapp"}})
	must(err)
	f.user, f.personal = in.User.ID, in.Conversation.ID
	_, err = cl.UpdateUser(ctx, c.app, f.user, client.UserUpdate{
		Profile:  &client.ProfileUpdate{GivenName: client.Set("Jane"), Surname: client.Set("Doe"), Email: client.Set("jane.doe@example.org"), Locale: client.Set("fr-CA")},
		Metadata: client.Set(client.Metadata{"plan": "gold", "seats": 3.0})})
	must(err)
	// The web messenger: an sdk client and its device.
	_, err = cl.Inbound(ctx, c.app, client.Inbound{Channel: "sdk", User: &client.InboundUser{ID: f.user},
		Device: &client.InboundDevice{Type: "web", GUID: "guid-jane-browser", AppVersion: "1.2.3", PushNotificationToken: "push-token-jane",
			Info: map[string]any{"currentUrl": "https://shop.example.org/cart", "browserLanguage": "fr-CA"}}})
	must(err)

	// The personal conversation gets business and user messages over several pages, concurrently.
	var wg sync.WaitGroup
	errs := make(chan error, personalMessages)
	jobs := make(chan int)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				author := client.Author{Type: "business", DisplayName: "Agent"}
				if i%2 == 0 {
					author = client.Author{Type: "user", UserID: f.user}
				}
				if _, err := cl.PostMessage(ctx, c.app, f.personal, client.MessagePost{Author: author, Content: client.Content{Type: "text", Text: fmt.Sprintf("personal message %d", i)}}); err != nil {
					errs <- err
				}
			}
		}()
	}
	for i := 0; i < personalMessages; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(errs)
	for err := range errs {
		tb.Fatal(err)
	}
	// An uploaded image the user sends, and an image on another host the business sends.
	att, err := cl.UploadAttachment(ctx, c.app, "holiday photo.png", strings.NewReader(png), client.UploadOptions{For: "message", ConversationID: f.personal})
	must(err)
	f.imageURL = att.MediaURL
	_, err = cl.PostMessage(ctx, c.app, f.personal, client.MessagePost{Author: client.Author{Type: "user", UserID: f.user}, Content: client.Content{Type: "image", MediaURL: f.imageURL, Text: "my photo"}})
	must(err)
	f.offHost = "https://cdn.example.org/catalog/shoe.png?size=large&v=2"
	_, err = cl.PostMessage(ctx, c.app, f.personal, client.MessagePost{Author: client.Author{Type: "business"}, Content: client.Content{Type: "image", MediaURL: f.offHost}})
	must(err)

	// Another user, with a personal conversation of their own.
	other, err := cl.CreateUser(ctx, c.app, client.UserCreate{ExternalID: "other-person", Profile: &client.Profile{GivenName: "Otto", Email: "otto@example.org"}})
	must(err)
	f.other = other.ID
	oc, err := cl.CreateConversation(ctx, c.app, client.ConversationCreate{Type: "personal", Participants: []client.ParticipantJoin{{UserID: f.other}}})
	must(err)
	_, err = cl.PostMessage(ctx, c.app, oc.ID, client.MessagePost{Author: client.Author{Type: "user", UserID: f.other}, Content: client.Content{Type: "text", Text: "otto's own conversation"}})
	must(err)

	// A group conversation: the user writes one message among the others'.
	no := false
	g, err := cl.CreateConversation(ctx, c.app, client.ConversationCreate{Type: "sdkGroup", DisplayName: "Book club",
		Participants: []client.ParticipantJoin{{UserID: f.user, SubscribeSDKClient: &no}, {UserID: f.other, SubscribeSDKClient: &no}}})
	must(err)
	f.group = g.ID
	oatt, err := cl.UploadAttachment(ctx, c.app, "otto.png", strings.NewReader(png+"otto"), client.UploadOptions{})
	must(err)
	f.otherURL = oatt.MediaURL
	post := func(a client.Author, ct client.Content) string {
		tb.Helper()
		ms, err := cl.PostMessage(ctx, c.app, f.group, client.MessagePost{Author: a, Content: ct})
		must(err)
		return ms[0].ID
	}
	post(client.Author{Type: "user", UserID: f.other}, client.Content{Type: "text", Text: "otto says something private"})
	post(client.Author{Type: "business", DisplayName: "Club bot"}, client.Content{Type: "text", Text: "welcome to the club"})
	f.ownInGroup = post(client.Author{Type: "user", UserID: f.user}, client.Content{Type: "text", Text: "jane in the group"})
	post(client.Author{Type: "user", UserID: f.other}, client.Content{Type: "image", MediaURL: f.otherURL})
	f.otherMarkers = []string{f.other, "other-person", "Otto", "otto@example.org", "otto says", "otto's own", f.otherURL, oc.ID}
	return f
}

// mustList returns every message of a conversation, oldest first, as the typed client reads them.
func mustList(tb testing.TB, c *cliEnv, conv string) []client.Message {
	tb.Helper()
	var pages [][]client.Message
	before := ""
	for {
		l, err := c.client.ListMessages(context.Background(), c.app, conv, client.Page{Before: before})
		if err != nil {
			tb.Fatal(err)
		}
		pages = append(pages, l.Messages)
		if !l.Meta.HasMore {
			break
		}
		before = l.Meta.BeforeCursor
	}
	var out []client.Message
	for i := len(pages) - 1; i >= 0; i-- {
		out = append(out, pages[i]...)
	}
	return out
}

// TestDSRExportOneUser exports a user with a profile, metadata, identities, two clients, a device, a
// personal conversation over three pages with an uploaded image, and a group conversation: the
// document holds exactly what the API returns about them, the group's other messages and the other
// user's data are absent, the image is beside it with its sha256, and the files are private.
func TestDSRExportOneUser(t *testing.T) {
	for _, store := range apitest.Stores() {
		t.Run(store, func(t *testing.T) {
			c := newCLIEnv(t, store)
			f := MustSeedExport(t, c, 250)
			ctx := context.Background()
			dir := filepath.Join(t.TempDir(), "exports")
			out := filepath.Join(dir, "jane.json")
			report := filepath.Join(t.TempDir(), "report.json")
			stdout, stderr, err := c.run(ctx, "", "dsr", "export", f.user, "--app", c.app, "--out", out, "--report", report)
			if err != nil {
				t.Fatalf("got %v\nstdout: %s\nstderr: %s", err, stdout, stderr)
			}
			want := "dsr export: 1 input lines in T (R users/s): 1 exported, 0 not found, 0 failed, 0 already done, 0 invalid, 0 not run; 0 rate-limited responses; 254 messages and 1 media files written"
			if got := summary(stdout); got != want {
				t.Errorf("got summary\n%s\nwant\n%s", got, want)
			}
			doc, text := MustReadExport(t, out)

			if doc.Version != 1 || doc.Source.URL != c.env["SUNLAMP_URL"] || doc.Source.AppID != c.app || doc.ExportedAt == "" {
				t.Errorf("got version %d, source %+v, exportedAt %q; want 1, the URL and app, a time", doc.Version, doc.Source, doc.ExportedAt)
			}
			user, err := c.client.GetUser(ctx, c.app, f.user)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(*user, doc.User); diff != "" {
				t.Errorf("user (-GetUser +export):\n%s", diff)
			}
			if len(doc.User.Identities) != 1 || doc.User.Profile.Surname != "Doe" || doc.User.Metadata["plan"] != "gold" {
				t.Errorf("got user %+v, want the identity, profile and metadata", doc.User)
			}
			cls, err := c.client.ListClients(ctx, c.app, f.user, client.Page{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(cls.Clients, doc.Clients); diff != "" || len(doc.Clients) != 2 {
				t.Errorf("clients (-ListClients +export), want 2:\n%s", diff)
			}
			devs, err := c.client.ListDevices(ctx, c.app, f.user)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(devs, doc.Devices); diff != "" || len(doc.Devices) != 1 || doc.Devices[0].PushNotificationToken != "push-token-jane" {
				t.Errorf("devices (-ListDevices +export), want the one with its token:\n%s", diff)
			}

			var convs []string
			for _, cv := range doc.Conversations {
				convs = append(convs, cv.Conversation.ID)
				var wantMsgs []client.Message
				switch cv.Conversation.ID {
				case f.personal:
					wantMsgs = mustList(t, c, f.personal)
				case f.group:
					for _, m := range mustList(t, c, f.group) {
						if m.ID == f.ownInGroup {
							wantMsgs = append(wantMsgs, m)
						}
					}
				}
				if diff := cmp.Diff(wantMsgs, cv.Messages); diff != "" {
					t.Errorf("messages of %s conversation (-want +export):\n%s", cv.Conversation.Type, diff)
				}
			}
			slices.Sort(convs)
			wantConvs := []string{f.personal, f.group}
			slices.Sort(wantConvs)
			if diff := cmp.Diff(wantConvs, convs); diff != "" {
				t.Errorf("conversations (-want +got):\n%s", diff)
			}
			for _, m := range f.otherMarkers {
				if strings.Contains(text, m) {
					t.Errorf("the export holds %q, of another user", m)
				}
			}

			sum := sha256.Sum256([]byte(png))
			id := strings.Split(strings.TrimPrefix(f.imageURL, c.env["SUNLAMP_URL"]+"/attachments/v2/"), "/")[0]
			wantMedia := []mediaEntry{
				{URL: f.imageURL, File: "jane.json.media/" + id + "-holiday_photo.png", SHA256: hex.EncodeToString(sum[:]), Size: int64(len(png)), MediaType: "image/png"},
				{URL: f.offHost, Skipped: "not on the API's host (see --media-host)"},
			}
			less := func(a, b mediaEntry) bool { return a.URL < b.URL }
			if diff := cmp.Diff(wantMedia, doc.Media, cmpSortMedia(less)); diff != "" {
				t.Errorf("media (-want +got):\n%s", diff)
			}
			if !strings.Contains(text, `"url":"`+f.offHost+`"`) {
				t.Errorf("the media list escapes the off-host URL, want it as it is")
			}
			b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(wantMedia[0].File)))
			if err != nil || string(b) != png {
				t.Errorf("got media file %q, %v; want the uploaded image", b, err)
			}
			MustMode(t, dir, 0o700)
			MustMode(t, out, 0o600)
			MustMode(t, out+".media", 0o700)
			MustMode(t, filepath.Join(dir, filepath.FromSlash(wantMedia[0].File)), 0o600)
			MustMode(t, out+".export.journal", 0o600)
			entries, _ := os.ReadDir(dir)
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			if diff := cmp.Diff([]string{"jane.json", "jane.json.export.journal", "jane.json.media"}, names); diff != "" {
				t.Errorf("files (-want +got), no partial or spill file left:\n%s", diff)
			}
			rows := readReport(t, report)
			wantDetail := out + ": 2 conversations, 254 messages, 1 media files"
			if len(rows) != 1 || rows[0].Outcome != outExported || rows[0].Status != 200 || rows[0].Detail != wantDetail {
				t.Errorf("got report %+v, want one exported row with detail %q", rows, wantDetail)
			}

			// Run again: the journal has it, nothing is fetched.
			stdout, _, err = c.run(ctx, "", "dsr", "export", f.user, "--app", c.app, "--out", out)
			if err != nil || !strings.Contains(stdout, "0 exported, 0 not found, 0 failed, 1 already done") {
				t.Errorf("second run: got %v, %q; want already done", err, stdout)
			}
		})
	}
}

// cmpSortMedia compares media lists in any order.
func cmpSortMedia(less func(a, b mediaEntry) bool) cmp.Option {
	return cmp.Transformer("sorted", func(in []mediaEntry) []mediaEntry {
		out := slices.Clone(in)
		slices.SortFunc(out, func(a, b mediaEntry) int {
			if less(a, b) {
				return -1
			}
			if less(b, a) {
				return 1
			}
			return 0
		})
		return out
	})
}

// TestDSRExportInput exports the users of an input file into a folder: bad lines ("", ".", "..")
// are reported invalid by number, an unknown user not_found, ids that are not plain file names get a
// hashed name, and the journal refuses another destination.
func TestDSRExportInput(t *testing.T) {
	c := newCLIEnv(t, "sqlite")
	ids := c.mustCreateUsers(t, "alice", "Bob/Smith")
	ctx := context.Background()
	input := writeFile(t, "users.csv", "name,externalId\nA,alice\nB,.\nC,..\nD,\"\"\nE,ghost\nF,Bob/Smith\nG,"+ids["alice"]+"\n")
	dir := filepath.Join(t.TempDir(), "out")
	report := filepath.Join(t.TempDir(), "report.json")
	stdout, stderr, err := c.run(ctx, "", "dsr", "export", "--app", c.app, "--input", input, "--out-dir", dir, "--report", report)
	if err != nil {
		t.Fatalf("got %v\n%s\n%s", err, stdout, stderr)
	}
	want := "dsr export: 7 input lines in T (R users/s): 3 exported, 1 not found, 0 failed, 0 already done, 3 invalid, 0 not run; 0 rate-limited responses; 0 messages and 0 media files written"
	if got := summary(stdout); got != want {
		t.Errorf("got summary\n%s\nwant\n%s", got, want)
	}
	bob := "Bob_Smith." + hex.EncodeToString(func() []byte { s := sha256.Sum256([]byte("Bob/Smith")); return s[:6] }())
	dot := `"." and ".." cannot be sent as an id (in a URL path they name another resource)`
	wantRows := []reportRow{
		{Line: 2, User: "alice", Outcome: outExported, Status: 200, Detail: filepath.Join(dir, "alice.json") + ": 0 conversations, 0 messages, 0 media files", Time: "TIME"},
		{Line: 3, Outcome: outInvalid, Detail: dot},
		{Line: 4, Outcome: outInvalid, Detail: dot},
		{Line: 5, Outcome: outInvalid, Detail: "empty externalId"},
		{Line: 6, User: "ghost", Outcome: outNotFound, Status: 404, Code: "user_not_found", Detail: "User not found", Time: "TIME"},
		{Line: 7, User: "Bob/Smith", Outcome: outExported, Status: 200, Detail: filepath.Join(dir, bob+".json") + ": 0 conversations, 0 messages, 0 media files", Time: "TIME"},
		{Line: 8, User: ids["alice"], Outcome: outExported, Status: 200, Detail: filepath.Join(dir, ids["alice"]+".json") + ": 0 conversations, 0 messages, 0 media files", Time: "TIME"},
	}
	if diff := cmp.Diff(wantRows, readReport(t, report)); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
	for _, l := range []string{"input line 3 skipped", "input line 4 skipped", "input line 5 skipped"} {
		if !strings.Contains(stderr, l) {
			t.Errorf("got stderr %q, want %q", stderr, l)
		}
	}
	if strings.Contains(stderr, "ghost") || strings.Contains(stderr, "Bob") {
		t.Errorf("got stderr %q, want no ids", stderr)
	}
	doc, _ := MustReadExport(t, filepath.Join(dir, bob+".json"))
	if doc.User.ExternalID != "Bob/Smith" || doc.Clients == nil || doc.Devices == nil || doc.Conversations == nil || doc.Media == nil {
		t.Errorf("got %+v, want Bob/Smith with empty lists (not null)", doc)
	}
	MustMode(t, dir, 0o700)

	// The journal is tied to the folder it says the exports are in.
	_, _, err = c.run(ctx, "", "dsr", "export", "--app", c.app, "--input", input, "--out-dir", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "give another --journal") {
		t.Errorf("got %v, want the journal of another folder refused", err)
	}
}

// TestDSRExportArguments refuses what cannot be run before sending anything.
func TestDSRExportArguments(t *testing.T) {
	c := newCLIEnv(t, "sqlite")
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"u1"}, "USER is exported to --out FILE"},
		{[]string{"u1", "--out-dir", dir}, "USER is exported to --out FILE"},
		{[]string{"--input", "x", "--out", filepath.Join(dir, "x.json")}, "exported to --out-dir DIR"},
		{[]string{"u1", "--input", "x", "--out", "y"}, "USER or --input, not both"},
		{[]string{"..", "--out", filepath.Join(dir, "x.json")}, `USER refused, nothing sent: "." and ".."`},
		{[]string{"u1", "--out", dir}, "is a folder"},
		{[]string{"--out-dir", dir}, "--input is required"},
	} {
		_, stderr, err := c.run(context.Background(), "", append([]string{"dsr", "export", "--app", c.app}, tc.args...)...)
		if err != errUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: got %v, %q; want a usage error saying %q", tc.args, err, stderr, tc.want)
		}
	}
}

func TestExportSafeName(t *testing.T) {
	h := func(v string) string { s := sha256.Sum256([]byte(v)); return hex.EncodeToString(s[:6]) }
	for v, want := range map[string]string{
		"5d8cff3cd55b040010928b5b": "5d8cff3cd55b040010928b5b",
		"customer-42_a":            "customer-42_a",
		"Customer-42":              "Customer-42." + h("Customer-42"),
		"a/b":                      "a_b." + h("a/b"),
		"../etc":                   "___etc." + h("../etc"),
		"jane@example.org":         "jane_example_org." + h("jane@example.org"),
		"nul":                      "nul." + h("nul"),
		"名前":                       "__." + h("名前"),
		strings.Repeat("x", 101):   strings.Repeat("x", 64) + "." + h(strings.Repeat("x", 101)),
	} {
		if got := safeName(v); got != want {
			t.Errorf("safeName(%q): got %q, want %q", v, got, want)
		}
	}
}

// exportCounter wraps the server: it counts GetUser requests per user and can slow ListMessages.
type exportCounter struct {
	h    http.Handler
	slow func()

	mu      sync.Mutex
	getUser map[string]int
}

func (x *exportCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.EscapedPath()
	if r.Method == http.MethodGet {
		if i := strings.Index(p, "/users/"); i >= 0 && !strings.Contains(p[i+len("/users/"):], "/") {
			x.mu.Lock()
			x.getUser[p[i+len("/users/"):]]++
			x.mu.Unlock()
		}
		if strings.HasSuffix(p, "/messages") && x.slow != nil {
			x.slow()
		}
	}
	x.h.ServeHTTP(w, r)
}

// wrapExport points the command line at an exportCounter around the env's server.
func (c *cliEnv) wrapExport(t *testing.T) *exportCounter {
	x := &exportCounter{h: c.Handler, getUser: map[string]int{}}
	srv := httptest.NewServer(x)
	t.Cleanup(srv.Close)
	c.env["SUNLAMP_URL"] = srv.URL
	return x
}

// MustFillConversation posts n text messages to a conversation through the store, every other one
// by user (a user id) and the others by the business, concurrently so that the group commit batches
// them.
func MustFillConversation(tb testing.TB, st *sqlstore.Store, app, conv, user string, n int) {
	tb.Helper()
	var wg sync.WaitGroup
	var next atomic.Int64
	var failed atomic.Value
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				author := sunlamp.Author{Type: sunlamp.AuthorBusiness, DisplayName: "Agent"}
				if i%2 == 0 {
					author = sunlamp.Author{Type: sunlamp.AuthorUser, UserID: user}
				}
				_, err := st.PostMessage(context.Background(), sunlamp.Message{AppID: app, ConversationID: conv, Author: author,
					Content: sunlamp.TextContent(fmt.Sprintf("message %d of the history, long enough to look like a real one", i)),
					Source:  sunlamp.Source{Type: sunlamp.SourceAPI}})
				if err != nil {
					failed.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, ok := failed.Load().(error); ok {
		tb.Fatalf("post messages: %v", err)
	}
}

// MustUserWithHistory creates a user with externalId ext and a personal conversation of n messages,
// and returns the user's id.
func MustUserWithHistory(tb testing.TB, c *cliEnv, ext string, n int) string {
	tb.Helper()
	ctx := context.Background()
	u, err := c.client.CreateUser(ctx, c.app, client.UserCreate{ExternalID: ext, Profile: &client.Profile{GivenName: "Given " + ext}})
	if err != nil {
		tb.Fatal(err)
	}
	conv, err := c.client.CreateConversation(ctx, c.app, client.ConversationCreate{Type: "personal", Participants: []client.ParticipantJoin{{UserID: u.ID}}})
	if err != nil {
		tb.Fatal(err)
	}
	MustFillConversation(tb, c.Store, c.app, conv.ID, u.ID, n)
	return u.ID
}

// MustBuild builds the sunlamp binary into a temporary folder and returns its path.
func MustBuild(tb testing.TB) string {
	tb.Helper()
	bin := filepath.Join(tb.TempDir(), "sunlamp")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		tb.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// TestDSRExportKilledAndResumed kills the real binary (SIGKILL) in the middle of a user's export:
// the re-run skips the users the journal has, rewrites the partial document, and leaves complete
// documents and no partial or spill file.
func TestDSRExportKilledAndResumed(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	tmp := t.TempDir()
	bin := MustBuild(t)
	c := newCLIEnv(t, "sqlite")
	ext := users(6)
	for _, x := range ext {
		MustUserWithHistory(t, c, x, 150)
	}
	cnt := c.wrapExport(t)
	cnt.slow = func() { time.Sleep(150 * time.Millisecond) } // a user takes two pages: ~300 ms
	input := filepath.Join(tmp, "users.txt")
	if err := os.WriteFile(input, []byte(strings.Join(ext, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(tmp, "out")
	journal := input + ".export.journal"
	partials := func() []string {
		m, _ := filepath.Glob(filepath.Join(dir, "*.partial"))
		return m
	}

	cmd := exec.Command(bin, "dsr", "export", "--app", c.app, "--input", input, "--out-dir", dir, "--concurrency", "1", "--progress-interval", "0")
	cmd.Env = append(os.Environ(), "SUNLAMP_URL="+c.env["SUNLAMP_URL"], "SUNLAMP_KEY_ID="+c.env["SUNLAMP_KEY_ID"], "SUNLAMP_KEY_SECRET="+c.env["SUNLAMP_KEY_SECRET"])
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for len(journaled(t, journal)) < 2 || len(partials()) == 0 {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("the journal did not reach 2 users with a third under way")
		}
		time.Sleep(time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	before := journaled(t, journal)
	left := partials()
	if len(left) != 1 || len(before) >= len(ext) {
		t.Fatalf("after the kill: got partial files %v and %d journaled; want one partial document and the run unfinished", left, len(before))
	}

	cnt.slow = nil
	out, stderr, err := c.run(context.Background(), "", "dsr", "export", "--app", c.app, "--input", input, "--out-dir", dir)
	if err != nil {
		t.Fatalf("resumed run: %v\n%s\n%s", err, out, stderr)
	}
	want := fmt.Sprintf("dsr export: 6 input lines in T (R users/s): %d exported, 0 not found, 0 failed, %d already done, 0 invalid, 0 not run; 0 rate-limited responses; %d messages and 0 media files written", 6-len(before), len(before), 150*(6-len(before)))
	if got := summary(out); got != want {
		t.Errorf("got summary\n%s\nwant\n%s", got, want)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	var wantNames []string
	for _, x := range ext {
		wantNames = append(wantNames, x+".json")
	}
	if diff := cmp.Diff(wantNames, names); diff != "" {
		t.Errorf("files (-want +got), no partial or spill file left:\n%s", diff)
	}
	for _, x := range ext {
		doc, _ := MustReadExport(t, filepath.Join(dir, x+".json"))
		if len(doc.Conversations) != 1 || len(doc.Conversations[0].Messages) != 150 {
			t.Errorf("%s: got %d conversations, want one of 150 messages", x, len(doc.Conversations))
			continue
		}
		ms := doc.Conversations[0].Messages
		if !slices.IsSortedFunc(ms, func(a, b client.Message) int { return strings.Compare(a.ID, b.ID) }) {
			t.Errorf("%s: messages not oldest first", x)
		}
		cnt.mu.Lock()
		n := cnt.getUser[x]
		cnt.mu.Unlock()
		if before[x] && n != 1 {
			t.Errorf("%s: journaled before the kill, got %d GetUser requests, want 1 (not exported again)", x, n)
		}
	}
}

// TestDSRExportMediaHosts downloads from a --media-host without the key, lists a deleted attachment
// of the API's host as skipped with its status, and fails the user (to be retried) when the media
// host answers 503.
func TestDSRExportMediaHosts(t *testing.T) {
	c := newCLIEnv(t, "sqlite")
	ctx := context.Background()
	var mu sync.Mutex
	var auths []string
	status := http.StatusOK
	cdn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auths = append(auths, r.Header.Get("Authorization"))
		s := status
		mu.Unlock()
		w.Header().Set("Content-Type", "image/jpeg")
		w.WriteHeader(s)
		fmt.Fprint(w, "jpeg bytes")
	}))
	defer cdn.Close()
	u, err := c.client.CreateUser(ctx, c.app, client.UserCreate{ExternalID: "media-user"})
	if err != nil {
		t.Fatal(err)
	}
	conv, err := c.client.CreateConversation(ctx, c.app, client.ConversationCreate{Type: "personal", Participants: []client.ParticipantJoin{{UserID: u.ID}}})
	if err != nil {
		t.Fatal(err)
	}
	att, err := c.client.UploadAttachment(ctx, c.app, "gone.png", strings.NewReader(png), client.UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cdnURL := cdn.URL + "/files/photo%201.jpg"
	for _, m := range []string{cdnURL, att.MediaURL, cdnURL} {
		if _, err := c.client.PostMessage(ctx, c.app, conv.ID, client.MessagePost{Author: client.Author{Type: "user", UserID: u.ID}, Content: client.Content{Type: "image", MediaURL: m}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.client.DeleteAttachment(ctx, c.app, att.MediaURL); err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(cdn.URL, "http://")
	out := filepath.Join(t.TempDir(), "m.json")
	stdout, stderr, err := c.run(ctx, "", "dsr", "export", "media-user", "--app", c.app, "--out", out, "--media-host", host)
	if err != nil {
		t.Fatalf("got %v\n%s\n%s", err, stdout, stderr)
	}
	doc, _ := MustReadExport(t, out)
	key := sha256.Sum256([]byte(cdnURL))
	sum := sha256.Sum256([]byte("jpeg bytes"))
	want := []mediaEntry{
		{URL: cdnURL, File: "m.json.media/" + hex.EncodeToString(key[:8]) + "-photo_1.jpg", SHA256: hex.EncodeToString(sum[:]), Size: 10, MediaType: "image/jpeg"},
		{URL: att.MediaURL, Skipped: "404 Not Found"},
	}
	if diff := cmp.Diff(want, doc.Media, cmpSortMedia(func(a, b mediaEntry) bool { return a.URL < b.URL })); diff != "" {
		t.Errorf("media (-want +got):\n%s", diff)
	}
	mu.Lock()
	if diff := cmp.Diff([]string{""}, auths); diff != "" {
		t.Errorf("requests to the media host, once and without credentials (-want +got):\n%s", diff)
	}
	status = http.StatusServiceUnavailable
	mu.Unlock()

	// The media host fails: the user fails (retried by a re-run) and nothing is left behind.
	out2 := filepath.Join(t.TempDir(), "m2.json")
	report := filepath.Join(t.TempDir(), "r.json")
	_, _, err = c.run(ctx, "", "dsr", "export", "media-user", "--app", c.app, "--out", out2, "--media-host", host, "--max-attempts", "2", "--report", report)
	if err != errReported {
		t.Errorf("got %v, want the failed user reported", err)
	}
	rows := readReport(t, report)
	if len(rows) != 1 || rows[0].Outcome != outFailed || rows[0].Detail != "media download: 503 Service Unavailable" {
		t.Errorf("got report %+v, want the user failed on the media download", rows)
	}
	left, _ := os.ReadDir(filepath.Dir(out2))
	for _, e := range left {
		if e.Name() != "r.json" && e.Name() != "m2.json.export.journal" {
			t.Errorf("got %s left after a failed export, want nothing", e.Name())
		}
	}
}
