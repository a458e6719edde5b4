package api_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sunlamp/sunlamp"
	"github.com/sunlamp/sunlamp/api"
	"github.com/sunlamp/sunlamp/client"
	"github.com/sunlamp/sunlamp/internal/apitest"
	"github.com/sunlamp/sunlamp/internal/webhooktest"
	"github.com/sunlamp/sunlamp/webhook"
)

// exportDocument is the export document as a test reads it: the command line's document (see
// cmd/sunlamp/export_test.go's exportDoc) and the server's sections of its own.
type exportDocument struct {
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
	Media []struct {
		URL       string `json:"url"`
		File      string `json:"file,omitempty"`
		SHA256    string `json:"sha256,omitempty"`
		Size      int64  `json:"size,omitempty"`
		MediaType string `json:"mediaType,omitempty"`
		Skipped   string `json:"skipped,omitempty"`
	} `json:"media"`
	PendingEvents []struct {
		ID                string         `json:"id"`
		Type              string         `json:"type"`
		CreatedAt         string         `json:"createdAt"`
		Payload           map[string]any `json:"payload"`
		PendingDeliveries int            `json:"pendingDeliveries"`
	} `json:"pendingEvents"`
	DeliveryAttempts []struct {
		ID          string         `json:"id"`
		EventID     string         `json:"eventId"`
		EventType   string         `json:"eventType"`
		WebhookID   string         `json:"webhookId"`
		Attempt     int            `json:"attempt"`
		Redelivery  bool           `json:"redelivery"`
		Outcome     string         `json:"outcome"`
		CreatedAt   string         `json:"createdAt"`
		Payload     map[string]any `json:"payload"`
		RequestBody string         `json:"requestBody"`
		Response    *struct {
			Status       int    `json:"status"`
			Body         string `json:"body"`
			BodyEncoding string `json:"bodyEncoding"`
		} `json:"response"`
	} `json:"deliveryAttempts"`
	ConversionEvents []struct {
		ID             string         `json:"id"`
		ConversationID string         `json:"conversationId"`
		Channel        string         `json:"channel"`
		IntegrationID  string         `json:"integrationId"`
		DatasetID      string         `json:"datasetId"`
		EventsReceived int            `json:"eventsReceived"`
		Payload        map[string]any `json:"payload"`
		CreatedAt      string         `json:"createdAt"`
	} `json:"conversionEvents"`
	InteractiveData []struct {
		ID            string            `json:"id"`
		IntegrationID string            `json:"integrationId"`
		Ref           map[string]string `json:"ref"`
		Content       map[string]any    `json:"content"`
		CreatedAt     string            `json:"createdAt"`
	} `json:"interactiveData"`
	VisitorSessions []struct {
		ID            string `json:"id"`
		IntegrationID string `json:"integrationId"`
		CreatedAt     string `json:"createdAt"`
	} `json:"visitorSessions"`
	Audit []struct {
		ID        string           `json:"id"`
		At        string           `json:"at"`
		Operation string           `json:"operation"`
		UserID    string           `json:"userId"`
		KeyID     string           `json:"keyId"`
		Outcome   string           `json:"outcome"`
		Counts    map[string]int64 `json:"counts"`
	} `json:"audit"`
}

// MustDecodeExport decodes an export document, refusing fields it does not know.
func MustDecodeExport(tb testing.TB, b []byte) exportDocument {
	tb.Helper()
	var d exportDocument
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		tb.Fatalf("decode the export: %v\n%.3000s", err, b)
	}
	if dec.More() {
		tb.Fatalf("the export has more than one JSON value")
	}
	return d
}

// exportPNG is a 1x1 PNG image.
const exportPNG = "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"

// exportSeed is a user with something of everything an export holds, and another user of the
// same app whose data it must not hold.
type exportSeed struct {
	app, user, other  string
	personal, group   string // conversations
	left              string // a group conversation the user wrote in and left
	ownInGroup        string // the user's message in the group conversation
	ownInLeft         string // the user's message in the conversation they left
	imageURL, offHost string
	otherMarkers      []string
	cl                *client.Client
}

// MustSeedExportUser makes the seed through the API and the inbound simulator: profile, metadata,
// an identity, a channel client (WhatsApp) and an SDK client with its device, a personal conversation
// of messages pages long with an uploaded image and an image on another host, a group conversation
// with the other user's messages, a conversation the user left, and a webhook whose deliveries stay
// pending (no dispatcher runs in the test).
func MustSeedExportUser(tb testing.TB, e *apitest.Env, personalMessages int) exportSeed {
	tb.Helper()
	ctx := context.Background()
	must := func(err error) {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
	}
	var f exportSeed
	f.app = e.MustCreateApp(tb, "export")
	key := e.MustCreateAppKey(tb, f.app)
	cl := e.Client(tb, client.Basic(key.ID, key.Secret))
	f.cl = cl

	integ, err := cl.CreateIntegration(ctx, f.app, client.Integration{Type: "custom", DisplayName: "crm",
		Webhooks: []client.Webhook{{Target: "https://hooks.example.org/sunlamp", Triggers: []string{"conversation:message", "client:add", "conversation:create"}}}})
	must(err)
	_ = integ

	in, err := cl.Inbound(ctx, f.app, client.Inbound{Channel: "whatsapp",
		User:    &client.InboundUser{Identities: []client.Identity{{Type: "email", Value: "jane@example.org", Verification: "sso"}}},
		Client:  &client.InboundClient{ExternalID: "+15145550199", DisplayName: "Jane D.", AvatarURL: "https://example.org/jane.png", Info: map[string]any{"city": "Montreal"}, Raw: map[string]any{"From": "+15145550199"}},
		Content: &client.Content{Type: "text", Text: "hello from whatsapp"}})
	must(err)
	f.user, f.personal = in.User.ID, in.Conversation.ID
	_, err = cl.UpdateUser(ctx, f.app, f.user, client.UserUpdate{
		Profile:  &client.ProfileUpdate{GivenName: client.Set("Jane"), Surname: client.Set("Doe"), Email: client.Set("jane.doe@example.org"), Locale: client.Set("fr-CA")},
		Metadata: client.Set(client.Metadata{"plan": "gold", "seats": 3.0})})
	must(err)
	_, err = cl.Inbound(ctx, f.app, client.Inbound{Channel: "sdk", User: &client.InboundUser{ID: f.user},
		Device: &client.InboundDevice{Type: "web", GUID: "guid-jane-browser", AppVersion: "1.2.3", PushNotificationToken: "push-token-jane",
			Info: map[string]any{"currentUrl": "https://shop.example.org/cart"}}})
	must(err)

	for i := 0; i < personalMessages; i++ {
		author := client.Author{Type: "business", DisplayName: "Agent"}
		if i%2 == 0 {
			author = client.Author{Type: "user", UserID: f.user}
		}
		_, err := cl.PostMessage(ctx, f.app, f.personal, client.MessagePost{Author: author, Content: client.Content{Type: "text", Text: fmt.Sprintf("personal message %d", i)}})
		must(err)
	}
	att, err := cl.UploadAttachment(ctx, f.app, "holiday photo.png", strings.NewReader(exportPNG), client.UploadOptions{For: "message", ConversationID: f.personal})
	must(err)
	f.imageURL = att.MediaURL
	_, err = cl.PostMessage(ctx, f.app, f.personal, client.MessagePost{Author: client.Author{Type: "user", UserID: f.user}, Content: client.Content{Type: "image", MediaURL: f.imageURL, Text: "my photo"}})
	must(err)
	f.offHost = "https://cdn.example.org/catalog/shoe.png?size=large&v=2"
	_, err = cl.PostMessage(ctx, f.app, f.personal, client.MessagePost{Author: client.Author{Type: "business"}, Content: client.Content{Type: "image", MediaURL: f.offHost}})
	must(err)

	other, err := cl.CreateUser(ctx, f.app, client.UserCreate{ExternalID: "other-person", Profile: &client.Profile{GivenName: "Otto", Email: "otto@example.org"}})
	must(err)
	f.other = other.ID
	oc, err := cl.CreateConversation(ctx, f.app, client.ConversationCreate{Type: "personal", Participants: []client.ParticipantJoin{{UserID: f.other}}})
	must(err)
	_, err = cl.PostMessage(ctx, f.app, oc.ID, client.MessagePost{Author: client.Author{Type: "user", UserID: f.other}, Content: client.Content{Type: "text", Text: "otto's own conversation"}})
	must(err)
	oatt, err := cl.UploadAttachment(ctx, f.app, "otto.png", strings.NewReader(exportPNG+"otto"), client.UploadOptions{})
	must(err)

	no := false
	group := func(name string) string {
		g, err := cl.CreateConversation(ctx, f.app, client.ConversationCreate{Type: "sdkGroup", DisplayName: name,
			Participants: []client.ParticipantJoin{{UserID: f.user, SubscribeSDKClient: &no}, {UserID: f.other, SubscribeSDKClient: &no}}})
		must(err)
		return g.ID
	}
	post := func(conv string, a client.Author, ct client.Content) string {
		tb.Helper()
		ms, err := cl.PostMessage(ctx, f.app, conv, client.MessagePost{Author: a, Content: ct})
		must(err)
		return ms[0].ID
	}
	f.group = group("Book club")
	post(f.group, client.Author{Type: "user", UserID: f.other}, client.Content{Type: "text", Text: "otto says something private"})
	post(f.group, client.Author{Type: "business", DisplayName: "Club bot"}, client.Content{Type: "text", Text: "welcome to the club"})
	f.ownInGroup = post(f.group, client.Author{Type: "user", UserID: f.user}, client.Content{Type: "text", Text: "jane in the group"})
	post(f.group, client.Author{Type: "user", UserID: f.other}, client.Content{Type: "image", MediaURL: oatt.MediaURL})

	f.left = group("Chess club")
	f.ownInLeft = post(f.left, client.Author{Type: "user", UserID: f.user}, client.Content{Type: "text", Text: "jane leaves the chess club"})
	post(f.left, client.Author{Type: "user", UserID: f.other}, client.Content{Type: "text", Text: "otto stays at chess"})
	must(cl.LeaveConversation(ctx, f.app, f.left, client.ParticipantLeave{UserID: f.user}))

	f.otherMarkers = []string{f.other, "other-person", "Otto", "otto@example.org", "otto says", "otto's own", "otto stays", oatt.MediaURL, oc.ID}
	return f
}

// mustListAll returns every message of a conversation, oldest first, as ListMessages shows them.
func mustListAll(tb testing.TB, cl *client.Client, app, conv string) []client.Message {
	tb.Helper()
	var out []client.Message
	for m, err := range cl.Messages(context.Background(), app, conv, client.Page{}) {
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b client.Message) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// exportGet sends GET .../export with auth and answers the response (not validated against the
// spec, which does not have the extension; the error envelope is checked by the callers).
func exportGet(tb testing.TB, e *apitest.Env, app, user, query string, auth func(*http.Request)) (int, http.Header, []byte) {
	tb.Helper()
	u := e.URL + "/_sunlamp/v1/apps/" + app + "/users/" + user + "/export" + query
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if auth != nil {
		auth(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("read the export: %v", err)
	}
	return resp.StatusCode, resp.Header, b
}

func basic(id, secret string) func(*http.Request) {
	return func(r *http.Request) { r.SetBasicAuth(id, secret) }
}

// TestExportUser exports a user over HTTP on every store: the document holds exactly what the v2 API
// shows of them (user, clients, devices, the conversations they take part in or wrote in, every
// message of their personal conversation and their own messages elsewhere, oldest first), their media,
// the webhook events about them still pending and the audit entries about them, and nothing of
// another user of the app. The export is audited; after Delete User Personal Information the next
// export shows the erased profile. format=zip holds the same document and the file bytes.
func TestExportUser(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		f := MustSeedExportUser(t, e, 260) // the personal conversation spans several pages of ListMessages
		ctx := context.Background()
		key := e.MustCreateAppKey(t, f.app)
		status, h, body := exportGet(t, e, f.app, f.user, "", basic(key.ID, key.Secret))
		if status != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
			t.Fatalf("got status %d, Content-Type %q, want 200 JSON; body %.500s", status, h.Get("Content-Type"), body)
		}
		doc := MustDecodeExport(t, body)
		text := string(body)

		if doc.Version != 1 || doc.Source.URL != e.URL || doc.Source.AppID != f.app || doc.ExportedAt == "" {
			t.Errorf("got version %d, source %+v, exportedAt %q; want 1, the server's URL and app, a time", doc.Version, doc.Source, doc.ExportedAt)
		}
		user, err := f.cl.GetUser(ctx, f.app, f.user)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(*user, doc.User); diff != "" {
			t.Errorf("user (-GetUser +export):\n%s", diff)
		}
		if len(doc.User.Identities) != 1 || doc.User.Profile.Surname != "Doe" || doc.User.Metadata["plan"] != "gold" {
			t.Errorf("got user %+v, want the identity, profile and metadata", doc.User)
		}
		cls, err := f.cl.ListClients(ctx, f.app, f.user, client.Page{})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(cls.Clients, doc.Clients); diff != "" || len(doc.Clients) != 2 {
			t.Errorf("clients (-ListClients +export), want 2 (whatsapp and sdk):\n%s", diff)
		}
		devs, err := f.cl.ListDevices(ctx, f.app, f.user)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(devs, doc.Devices); diff != "" || len(doc.Devices) != 1 || doc.Devices[0].PushNotificationToken != "push-token-jane" {
			t.Errorf("devices (-ListDevices +export), want the one with its token:\n%s", diff)
		}

		var convs []string
		for _, cv := range doc.Conversations {
			convs = append(convs, cv.Conversation.ID)
			var want []client.Message
			all := mustListAll(t, f.cl, f.app, cv.Conversation.ID)
			switch cv.Conversation.ID {
			case f.personal:
				want = all
			case f.group, f.left:
				for _, m := range all {
					if m.ID == f.ownInGroup || m.ID == f.ownInLeft {
						want = append(want, m)
					}
				}
			}
			if diff := cmp.Diff(want, cv.Messages); diff != "" || len(want) == 0 {
				t.Errorf("messages of %s conversation %q (-want +export):\n%s", cv.Conversation.Type, cv.Conversation.DisplayName, diff)
			}
		}
		wantConvs := []string{f.personal, f.group, f.left}
		slices.Sort(convs)
		slices.Sort(wantConvs)
		if diff := cmp.Diff(wantConvs, convs); diff != "" {
			t.Errorf("conversations (-want +got): the personal one, the group, the one left:\n%s", diff)
		}
		if n := len(doc.Conversations[0].Messages); doc.Conversations[0].Conversation.ID == f.personal && n != 263 {
			t.Errorf("got %d messages in the personal conversation, want 263", n)
		}
		for _, m := range f.otherMarkers {
			if strings.Contains(text, m) {
				t.Errorf("the export holds %q, of another user", m)
			}
		}

		type media struct{ URL, File, Skipped, MediaType string }
		var gotMedia []media
		for _, m := range doc.Media {
			gotMedia = append(gotMedia, media{m.URL, m.File, m.Skipped, m.MediaType})
			if m.URL == f.imageURL && m.Size != int64(len(exportPNG)) {
				t.Errorf("got size %d for the image, want %d", m.Size, len(exportPNG))
			}
		}
		wantMedia := []media{
			{URL: f.imageURL, Skipped: "not included: the files are in format=zip", MediaType: "image/png"},
			{URL: f.offHost, Skipped: "not an attachment of this server"},
		}
		if diff := cmp.Diff(wantMedia, gotMedia); diff != "" {
			t.Errorf("media (-want +got):\n%s", diff)
		}
		if !strings.Contains(text, `"url":"`+f.offHost+`"`) {
			t.Errorf("the media list escapes the off-host URL, want it as it is")
		}

		// The webhook's deliveries are pending: the user's events are there (their messages, their
		// clients, their conversations), each about them, none about the other user.
		types := map[string]int{}
		for _, ev := range doc.PendingEvents {
			types[ev.Type]++
			if ev.PendingDeliveries != 1 || ev.ID == "" || ev.CreatedAt == "" || ev.Payload == nil {
				t.Errorf("got pending event %+v, want one pending delivery, an id, a time and a payload", ev)
			}
		}
		// 130 of the 260 personal messages, the WhatsApp one, the photo, one in each group.
		if types["conversation:message"] != 130+1+1+1+1 || types["client:add"] != 1 || types["conversation:create"] != 1 {
			t.Errorf("got pending events by type %v, want the user's 134 messages, their client:add and conversation:create", types)
		}

		// The export is audited: ids and counts, no personal data.
		entries, _, err := e.Store.AuditEntries(ctx, f.app, sunlamp.AuditFilter{UserID: f.user, Operation: sunlamp.AuditExport}, sunlamp.Page{})
		if err != nil {
			t.Fatal(err)
		}
		wantCounts := map[string]int64{sunlamp.CountMessagesExported: 265, sunlamp.CountConversationsExported: 3, sunlamp.CountAttachmentsExported: 1}
		if len(entries) != 1 || entries[0].KeyID != key.ID || entries[0].Outcome != sunlamp.AuditOK || !cmp.Equal(entries[0].Counts, wantCounts) {
			t.Errorf("got audit entries %+v, want one export by %s with counts %v", entries, key.ID, wantCounts)
		}

		// format=zip: the same document (but the files' names and hashes) and the file's bytes.
		status, h, zbody := exportGet(t, e, f.app, "other-person", "?format=zip", basic(e.AccountKey.ID, e.AccountKey.Secret))
		if status != http.StatusOK || h.Get("Content-Type") != "application/zip" {
			t.Fatalf("zip of another user: got status %d, Content-Type %q", status, h.Get("Content-Type"))
		}
		status, h, zbody = exportGet(t, e, f.app, f.user, "?format=zip", basic(e.AccountKey.ID, e.AccountKey.Secret))
		if status != http.StatusOK || h.Get("Content-Type") != "application/zip" || !strings.Contains(h.Get("Content-Disposition"), f.user+".zip") {
			t.Fatalf("got status %d, headers %v, want 200 application/zip; body %.300s", status, h, zbody)
		}
		zr, err := zip.NewReader(bytes.NewReader(zbody), int64(len(zbody)))
		if err != nil {
			t.Fatalf("read the zip: %v", err)
		}
		files := map[string][]byte{}
		var names []string
		for _, zf := range zr.File {
			names = append(names, zf.Name)
			if zf.Mode().Perm() != 0o600 {
				t.Errorf("%s: got mode %v, want 0600", zf.Name, zf.Mode().Perm())
			}
			rc, err := zf.Open()
			if err != nil {
				t.Fatal(err)
			}
			files[zf.Name], err = io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatalf("%s: %v", zf.Name, err)
			}
		}
		attID, _, _ := strings.Cut(strings.TrimPrefix(f.imageURL, e.URL+"/attachments/v2/"), "/")
		imageFile := f.user + ".json.media/" + attID + "-holiday_photo.png"
		if diff := cmp.Diff([]string{f.user + ".json", imageFile}, names); diff != "" {
			t.Fatalf("zip entries (-want +got):\n%s", diff)
		}
		if string(files[imageFile]) != exportPNG {
			t.Errorf("got the image's bytes %q, want the uploaded file", files[imageFile])
		}
		zdoc := MustDecodeExport(t, files[f.user+".json"])
		sum := sha256.Sum256([]byte(exportPNG))
		if m := zdoc.Media[0]; m.File != imageFile || m.SHA256 != hex.EncodeToString(sum[:]) || m.Skipped != "" || m.Size != int64(len(exportPNG)) {
			t.Errorf("got the image's media entry %+v, want file %s with its sha256 and size", m, imageFile)
		}
		zdoc.Media[0].File, zdoc.Media[0].SHA256, zdoc.Media[0].Skipped = "", "", doc.Media[0].Skipped
		zdoc.ExportedAt, zdoc.Audit = doc.ExportedAt, doc.Audit // the first export is audited since
		if diff := cmp.Diff(doc, zdoc); diff != "" {
			t.Errorf("the zip's document differs from the JSON one (-json +zip):\n%s", diff)
		}

		// Erasure: the next export shows the erased profile and names it in its audit section.
		if _, err := f.cl.DeleteUserPersonalInformation(ctx, f.app, f.user); err != nil {
			t.Fatal(err)
		}
		status, _, body = exportGet(t, e, f.app, f.user, "", basic(key.ID, key.Secret))
		if status != http.StatusOK {
			t.Fatalf("after erasure: got status %d, body %.300s", status, body)
		}
		after := MustDecodeExport(t, body)
		if after.User.Profile != (client.Profile{}) || len(after.User.Metadata) != 0 {
			t.Errorf("after erasure: got profile %+v, metadata %v, want both empty", after.User.Profile, after.User.Metadata)
		}
		for _, c := range after.Clients {
			if c.DisplayName != "" || c.AvatarURL != "" || len(c.Info) != 0 || len(c.Raw) != 0 {
				t.Errorf("after erasure: got client %+v, want no displayName, avatarUrl, info, raw", c)
			}
		}
		for _, m := range []string{"Jane", "Doe", "jane.doe@example.org", "gold", "Montreal", "jane.png"} {
			if strings.Contains(string(body), m) {
				t.Errorf("after erasure: the export holds %q", m)
			}
		}
		var ops []string
		for _, a := range after.Audit {
			ops = append(ops, a.Operation)
			if a.UserID != f.user {
				t.Errorf("got audit entry %+v about another user", a)
			}
		}
		if diff := cmp.Diff([]string{"export", "export", "deleteUserPersonalInformation"}, ops); diff != "" {
			t.Errorf("audit section (-want +got), oldest first:\n%s", diff)
		}
		if len(after.Audit) > 0 && !cmp.Equal(after.Audit[0].Counts, wantCounts) {
			t.Errorf("got counts %v of the first export, want %v", after.Audit[0].Counts, wantCounts)
		}
	})
}

// TestExportUserRefused: the export is the app's (account key or that app's key; another app's
// key, an integration's key or none is refused in the envelope, the same whether the user exists), an unknown user is user_not_found,
// and a format other than json or zip is a 400, each before anything is read or audited.
func TestExportUserRefused(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		ctx := context.Background()
		appA, appB := e.MustCreateApp(t, "a"), e.MustCreateApp(t, "b")
		keyA, keyB := e.MustCreateAppKey(t, appA), e.MustCreateAppKey(t, appB)
		clA := e.Client(t, client.Basic(keyA.ID, keyA.Secret))
		u, err := clA.CreateUser(ctx, appA, client.UserCreate{ExternalID: "alice", Profile: &client.Profile{GivenName: "Alice"}})
		if err != nil {
			t.Fatal(err)
		}
		integ, err := clA.CreateIntegration(ctx, appA, client.Integration{Type: "custom", DisplayName: "bot",
			Webhooks: []client.Webhook{{Target: "https://hooks.example.org/bot", Triggers: []string{"conversation:message"}}}})
		if err != nil {
			t.Fatal(err)
		}
		ik, err := clA.CreateCustomIntegrationKey(ctx, appA, integ.ID, "bot key")
		if err != nil {
			t.Fatal(err)
		}
		errorOf := func(b []byte) string {
			var env struct {
				Errors []struct{ Code, Title string } `json:"errors"`
			}
			if json.Unmarshal(b, &env) != nil || len(env.Errors) != 1 {
				return "not the envelope: " + string(b)
			}
			return env.Errors[0].Code
		}
		for _, tc := range []struct {
			name, app, user, query string
			auth                   func(*http.Request)
			status                 int
			code                   string
		}{
			// As every app route answers another app's key (TestAuth): 403, whether the user exists or not.
			{"app B's key on app A", appA, u.ID, "", basic(keyB.ID, keyB.Secret), http.StatusForbidden, "forbidden"},
			{"app B's key on app A by externalId", appA, "alice", "", basic(keyB.ID, keyB.Secret), http.StatusForbidden, "forbidden"},
			{"app B's key on app A, an unknown user", appA, "nobody", "", basic(keyB.ID, keyB.Secret), http.StatusForbidden, "forbidden"},
			{"app B's key on its own app, app A's user", appB, u.ID, "", basic(keyB.ID, keyB.Secret), http.StatusNotFound, "user_not_found"},
			{"an integration's key", appA, u.ID, "", basic(ik.ID, ik.Secret), http.StatusForbidden, "forbidden"},
			{"no key", appA, u.ID, "", nil, http.StatusUnauthorized, "unauthorized"},
			{"a wrong secret", appA, u.ID, "", basic(keyA.ID, "wrong"), http.StatusUnauthorized, "unauthorized"},
			{"an unknown user", appA, "nobody", "", basic(keyA.ID, keyA.Secret), http.StatusNotFound, "user_not_found"},
			{"format=xml", appA, u.ID, "?format=xml", basic(keyA.ID, keyA.Secret), http.StatusBadRequest, "bad_request"},
			{"format=xml of an unknown user", appA, "nobody", "?format=xml", basic(keyA.ID, keyA.Secret), http.StatusBadRequest, "bad_request"},
		} {
			status, h, b := exportGet(t, e, tc.app, tc.user, tc.query, tc.auth)
			if status != tc.status || errorOf(b) != tc.code || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
				t.Errorf("%s: got %d %s, want %d %s in the envelope", tc.name, status, b, tc.status, tc.code)
			}
			if strings.Contains(string(b), "Alice") {
				t.Errorf("%s: the answer holds the user's name", tc.name)
			}
		}
		entries, _, err := e.Store.AuditEntries(ctx, appA, sunlamp.AuditFilter{Operation: sunlamp.AuditExport}, sunlamp.Page{})
		if err != nil || len(entries) != 0 {
			t.Errorf("got audit entries %+v, %v; want none for refused exports", entries, err)
		}
		// The right keys: the app's and the account's.
		for _, auth := range []func(*http.Request){basic(keyA.ID, keyA.Secret), basic(e.AccountKey.ID, e.AccountKey.Secret)} {
			status, _, b := exportGet(t, e, appA, "alice", "?format=json", auth)
			if status != http.StatusOK || MustDecodeExport(t, b).User.ID != u.ID {
				t.Errorf("got %d %.200s, want alice's export", status, b)
			}
		}
	})
}

// failingExport is a store whose export fails after the first page of messages, as a database that
// goes away in the middle of an export would.
type failingExport struct {
	sunlamp.Store
}

func (f failingExport) ExportUser(ctx context.Context, appID, user string, x sunlamp.UserExport) error {
	return f.Store.ExportUser(ctx, appID, user, &failAfterMessages{UserExport: x})
}

type failAfterMessages struct {
	sunlamp.UserExport
	pages int
}

func (f *failAfterMessages) Messages(page []sunlamp.Message) error {
	if f.pages++; f.pages > 1 {
		return fmt.Errorf("the database went away")
	}
	return f.UserExport.Messages(page)
}

// TestExportUserCutShort: a failure after the document has begun cuts the connection, so that the
// client sees a broken response rather than a document that looks whole, and the audit entry
// records the failure.
func TestExportUserCutShort(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		ctx := context.Background()
		appID := e.MustCreateApp(t, "cut")
		u, err := e.Store.CreateUser(ctx, sunlamp.User{AppID: appID, ExternalID: "cut-user"})
		if err != nil {
			t.Fatal(err)
		}
		seedMessages(t, e.Store, appID, u.ID, sunlamp.Client{ExternalID: "+15145550100"}, 1200) // three pages of the store's export
		ts := httptest.NewServer(api.NewServer(api.Config{Store: failingExport{e.Store}, BaseURL: e.URL}))
		defer ts.Close()
		req, _ := http.NewRequest(http.MethodGet, ts.URL+"/_sunlamp/v1/apps/"+appID+"/users/cut-user/export", nil)
		req.SetBasicAuth(e.AccountKey.ID, e.AccountKey.Secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil {
			t.Errorf("got status %d and a whole body of %d bytes (valid JSON: %v), want the connection cut", resp.StatusCode, len(b), json.Valid(b))
		}
		entries, _, err := e.Store.AuditEntries(ctx, appID, sunlamp.AuditFilter{Operation: sunlamp.AuditExport}, sunlamp.Page{})
		if err != nil || len(entries) != 1 || entries[0].Outcome != "internal_error" || entries[0].Counts[sunlamp.CountMessagesExported] != 500 {
			t.Errorf("got audit entries %+v, %v; want one export with outcome internal_error and the 500 messages written", entries, err)
		}
	})
}

// serverOnlySections are the sections of the server's export that the v2 API cannot show, so that
// the command line's document has none.
var serverOnlySections = []string{"pendingEvents", "deliveryAttempts", "conversionEvents", "interactiveData", "visitorSessions", "audit"}

// TestExportUserMatchesCLI runs `sunlamp dsr export` (which builds the document from v2 calls only)
// and the server's export on the same user: every section they share holds the same records, byte
// for byte once decoded, so that a privacy team reads one format whichever made it. The differences
// are the server's on purpose: the conversations the user wrote in and left (ListConversations does
// not list them), its sections of what the v2 API cannot show (serverOnlySections), and the reason
// a media entry that is not a file of the API's host was skipped.
func TestExportUserMatchesCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the sunlamp binary")
	}
	bin := filepath.Join(t.TempDir(), "sunlamp")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/sunlamp").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		f := MustSeedExportUser(t, e, 120)
		key := e.MustCreateAppKey(t, f.app)
		out := filepath.Join(t.TempDir(), f.user+".json")
		cmd := exec.Command(bin, "dsr", "export", f.user, "--app", f.app, "--out", out)
		cmd.Env = append(os.Environ(), "SUNLAMP_URL="+e.URL, "SUNLAMP_KEY_ID="+key.ID, "SUNLAMP_KEY_SECRET="+key.Secret)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("sunlamp dsr export: %v\n%s", err, b)
		}
		cliBody, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		status, _, zbody := exportGet(t, e, f.app, f.user, "?format=zip", basic(key.ID, key.Secret))
		if status != http.StatusOK {
			t.Fatalf("export: got status %d", status)
		}
		zr, err := zip.NewReader(bytes.NewReader(zbody), int64(len(zbody)))
		if err != nil {
			t.Fatal(err)
		}
		rc, err := zr.Open(f.user + ".json")
		if err != nil {
			t.Fatal(err)
		}
		srvBody, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}

		var cli, srv map[string]any
		if err := json.Unmarshal(cliBody, &cli); err != nil {
			t.Fatalf("the command line's document: %v", err)
		}
		if err := json.Unmarshal(srvBody, &srv); err != nil {
			t.Fatalf("the server's document: %v", err)
		}
		for _, k := range serverOnlySections {
			if _, ok := srv[k]; !ok {
				t.Errorf("the server's document has no %s", k)
			}
			delete(srv, k)
		}
		for _, d := range []map[string]any{cli, srv} {
			d["exportedAt"] = "TIME"
			for _, m := range d["media"].([]any) {
				if m := m.(map[string]any); m["url"] == f.offHost {
					m["skipped"] = "SKIPPED"
				}
			}
		}
		// The conversation the user left is the server's alone.
		var kept []any
		for _, c := range srv["conversations"].([]any) {
			if c.(map[string]any)["conversation"].(map[string]any)["id"] != f.left {
				kept = append(kept, c)
			}
		}
		srv["conversations"] = kept
		// The conversations and the media in one order (each document lists them in the order it
		// found them); messages keep theirs, oldest first.
		for _, d := range []map[string]any{cli, srv} {
			for _, k := range []string{"conversations", "media"} {
				list, _ := d[k].([]any)
				slices.SortStableFunc(list, func(a, b any) int {
					key := func(v any) string {
						m, _ := v.(map[string]any)
						if c, ok := m["conversation"].(map[string]any); ok {
							s, _ := c["id"].(string)
							return s
						}
						s, _ := m["url"].(string)
						return s
					}
					return strings.Compare(key(a), key(b))
				})
			}
		}
		if diff := cmp.Diff(cli, srv); diff != "" {
			t.Errorf("documents (-sunlamp dsr export +server):\n%s", diff)
		}
		if !strings.Contains(string(cliBody), `"clients": [`) || !strings.Contains(string(srvBody), `"clients": [`) {
			t.Errorf("want both documents laid out alike, one record per line")
		}
	})
}

// TestExportUserServerRecords: what Sunlamp keeps about a person beyond what the v2 API shows is in
// their export, in the JSON document and in the zip's: the webhook flight recorder's attempts of
// events about them (the payloads as sent), the conversion events of their conversation, the Apple
// interactive data recorded for them, and their web messenger sessions (id, integration and time:
// never the secret or its hash). Another user's, planted the same way, are not; they are in that
// user's own export. After Delete User Personal Information the recorded payloads hold no profile.
func TestExportUserServerRecords(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		appID := e.MustCreateApp(t, "records")
		appKey := e.MustCreateAppKey(t, appID)
		key := apitest.KeyAuth(appKey)
		rc := webhooktest.NewReceiver(t, nil)
		createIntegration(t, e, appID, key, map[string]any{"type": "custom", "displayName": "crm", "webhooks": []any{map[string]any{
			"target": rc.URL, "triggers": []string{"conversation:message"}, "includeFullUser": true}}})
		web := createIntegration(t, e, appID, key, map[string]any{"type": "web"})
		whatsapp := createIntegration(t, e, appID, key, map[string]any{"type": "whatsapp"})
		apple := createIntegration(t, e, appID, key, map[string]any{"type": "apple", "businessId": "biz", "apiSecret": "secret", "mspId": "msp"})

		type person struct {
			user, conv, session, secret, name string
			ref                               map[string]string
		}
		// plant makes a web visitor (a session), gives them a WhatsApp and an Apple client, records
		// interactive data for them and conversion events on their conversation; every value
		// carries name.
		plant := func(name, guid, phone string) person {
			t.Helper()
			v := mustStartVisitor(t, e, web, guid, name+" writes on the web")
			p := person{user: v.user, name: name}
			var ok bool
			p.session, p.secret, ok = strings.Cut(strings.TrimPrefix(v.token, "svt_"), ".")
			if !ok {
				t.Fatalf("got visitor token %q, want svt_ID.SECRET", v.token)
			}
			apitest.MustStatus(t, e.Do(t, "PATCH", usersPath(appID, v.user), key, map[string]any{"profile": map[string]any{"givenName": name + "-given"}}), http.StatusOK)
			r := e.Do(t, "POST", "/_sunlamp/v1/apps/"+appID+"/inbound", key, map[string]any{"channel": "whatsapp", "integrationId": whatsapp,
				"user": map[string]any{"id": v.user}, "client": map[string]any{"externalId": phone},
				"content": map[string]any{"type": "text", "text": name + "-whatsapp-text"}})
			apitest.MustStatus(t, r, http.StatusCreated)
			var in struct{ Conversation struct{ ID string } }
			r.Decode(t, &in)
			p.conv = in.Conversation.ID
			apitest.MustStatus(t, e.Do(t, "POST", "/_sunlamp/v1/apps/"+appID+"/inbound", key, map[string]any{"channel": "apple", "integrationId": apple,
				"user": map[string]any{"id": v.user}, "client": map[string]any{"externalId": "urn:mbid:" + name},
				"content": map[string]any{"type": "text", "text": name + "-apple-text"}}), http.StatusCreated)
			r = e.Do(t, "POST", "/_sunlamp/v1/apps/"+appID+"/interactiveData", key, map[string]any{"integrationId": apple, "userId": v.user,
				"content": map[string]any{"version": "1.0", "data": map[string]any{"replyMessage": map[string]any{"title": name + "-interactive"}}}})
			apitest.MustStatus(t, r, http.StatusCreated)
			var rec struct{ InteractiveDataRef map[string]string }
			r.Decode(t, &rec)
			p.ref = rec.InteractiveDataRef
			r = e.Do(t, "POST", "/v2/apps/"+appID+"/conversations/"+p.conv+"/conversionEvents", key, map[string]any{"whatsapp": map[string]any{
				"payload": map[string]any{"data": []any{map[string]any{"event_name": "Purchase", "custom_data": map[string]any{"order": name + "-conversion"}}}}}})
			apitest.MustStatus(t, r, http.StatusOK)
			return p
		}
		jane := plant("jane", "1f1e2d3c4b5a69788796a5b4c3d2e1f0", "+15145550111")
		otto := plant("otto", "2f1e2d3c4b5a69788796a5b4c3d2e1f0", "+15145550122")
		d := webhook.New(webhook.Config{Store: e.Store, Render: api.EventRenderer(e.Store), Clock: e.Clock, Timeout: 5 * time.Second, Recorder: e.Store})
		deliverDue(t, d)
		if len(rc.All()) == 0 {
			t.Fatal("no webhook was delivered: the recorder holds nothing to export")
		}

		export := func(p person, query string) (exportDocument, string) {
			t.Helper()
			status, _, body := exportGet(t, e, appID, p.user, query, basic(appKey.ID, appKey.Secret))
			if status != http.StatusOK {
				t.Fatalf("export of %s: got status %d, body %.300s", p.name, status, body)
			}
			if query == "?format=zip" {
				zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
				if err != nil {
					t.Fatal(err)
				}
				f, err := zr.Open(p.user + ".json")
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				if body, err = io.ReadAll(f); err != nil {
					t.Fatal(err)
				}
			}
			return MustDecodeExport(t, body), string(body)
		}
		check := func(p, other person, doc exportDocument, text string) {
			t.Helper()
			// The recorder: the user's messages as sent, with the full user.
			sent := map[string]bool{}
			for _, a := range doc.DeliveryAttempts {
				msg, _ := a.Payload["events"].([]any)
				if a.EventType != "conversation:message" || a.Outcome != "delivered" || a.Attempt != 1 || a.Response == nil || a.Response.Status != 200 || len(msg) != 1 {
					t.Errorf("%s: got attempt %+v, want a delivered conversation:message with its payload and response", p.name, a)
					continue
				}
				ev, _ := msg[0].(map[string]any)
				pl, _ := ev["payload"].(map[string]any)
				m, _ := pl["message"].(map[string]any)
				c, _ := m["content"].(map[string]any)
				txt, _ := c["text"].(string)
				sent[txt] = true
				if u, _ := pl["conversation"].(map[string]any); u["id"] == nil {
					t.Errorf("%s: attempt %s has no conversation in its payload", p.name, a.ID)
				}
			}
			for _, want := range []string{p.name + " writes on the web", p.name + "-whatsapp-text", p.name + "-apple-text"} {
				if !sent[want] {
					t.Errorf("%s: the recorded attempts hold the messages %v, want %q among them", p.name, sent, want)
				}
			}
			if !strings.Contains(text, p.name+"-given") {
				t.Errorf("%s: the export holds no payload with the full user's profile", p.name)
			}
			if len(doc.ConversionEvents) != 1 || doc.ConversionEvents[0].ConversationID != p.conv || doc.ConversionEvents[0].Channel != "whatsapp" ||
				doc.ConversionEvents[0].IntegrationID != whatsapp || doc.ConversionEvents[0].EventsReceived != 1 ||
				!strings.Contains(fmt.Sprint(doc.ConversionEvents[0].Payload), p.name+"-conversion") {
				t.Errorf("%s: got conversion events %+v, want the one posted on their conversation", p.name, doc.ConversionEvents)
			}
			if len(doc.InteractiveData) != 1 || doc.InteractiveData[0].IntegrationID != apple ||
				!strings.Contains(fmt.Sprint(doc.InteractiveData[0].Content), p.name+"-interactive") ||
				!cmp.Equal(doc.InteractiveData[0].Ref, map[string]string{"url": p.ref["url"], "bid": p.ref["bid"], "owner": p.ref["owner"]}) {
				t.Errorf("%s: got interactive data %+v, want the one recorded, with its url, bid and owner", p.name, doc.InteractiveData)
			}
			if len(doc.VisitorSessions) != 1 || doc.VisitorSessions[0].ID != p.session || doc.VisitorSessions[0].IntegrationID != web || doc.VisitorSessions[0].CreatedAt == "" {
				t.Errorf("%s: got visitor sessions %+v, want their session %s of the web integration", p.name, doc.VisitorSessions, p.session)
			}
			sum := sha256.Sum256([]byte(p.secret))
			for _, secret := range []string{p.secret, hex.EncodeToString(sum[:]), p.ref["key"], p.ref["signature"]} {
				if strings.Contains(text, secret) {
					t.Errorf("%s: the export holds a secret (%.8s...): a session's secret or hash, or the reference's key or signature", p.name, secret)
				}
			}
			for _, m := range []string{other.user, other.name, other.session, other.ref["url"], other.conv} {
				if strings.Contains(text, m) {
					t.Errorf("%s: the export holds %q, of another user", p.name, m)
				}
			}
		}
		for _, c := range []struct {
			p, other person
			query    string
		}{{jane, otto, ""}, {jane, otto, "?format=zip"}, {otto, jane, ""}} {
			doc, text := export(c.p, c.query)
			check(c.p, c.other, doc, text)
		}

		// A group conversation's conversion event is a user's only when no other participant has a
		// client of its integration: the store does not record which client it went to.
		group := func(users ...string) string {
			t.Helper()
			var parts []any
			for _, u := range users {
				parts = append(parts, map[string]any{"userId": u, "subscribeSDKClient": false})
			}
			r := e.Do(t, "POST", "/v2/apps/"+appID+"/conversations", key, map[string]any{"type": "sdkGroup", "participants": parts})
			apitest.MustStatus(t, r, http.StatusCreated)
			return r.JSON(t)["conversation"].(map[string]any)["id"].(string)
		}
		loner := mustCreate(t, e, usersPath(appID), "user", map[string]any{"externalId": "no-channel"})
		for conv, order := range map[string]string{group(jane.user, otto.user): "shared-conversion", group(jane.user, loner): "janes-group-conversion"} {
			apitest.MustStatus(t, e.Do(t, "POST", "/v2/apps/"+appID+"/conversations/"+conv+"/conversionEvents", key, map[string]any{"whatsapp": map[string]any{
				"payload": map[string]any{"data": []any{map[string]any{"event_name": "Purchase", "custom_data": map[string]any{"order": order}}}}}}), http.StatusOK)
		}
		for _, c := range []struct {
			p          person
			has, hasNo []string
		}{{jane, []string{"janes-group-conversion"}, []string{"shared-conversion"}}, {otto, nil, []string{"shared-conversion", "janes-group-conversion"}}} {
			_, text := export(c.p, "")
			for _, v := range c.has {
				if !strings.Contains(text, v) {
					t.Errorf("%s: the export lacks the group's conversion event %q, attributable to them alone", c.p.name, v)
				}
			}
			for _, v := range c.hasNo {
				if strings.Contains(text, v) {
					t.Errorf("%s: the export holds the group's conversion event %q, which another participant's client may have had", c.p.name, v)
				}
			}
		}

		// Erasure scrubs the recorded payloads: the next export shows none of the profile.
		apitest.MustStatus(t, e.Do(t, "DELETE", usersPath(appID, jane.user, "personalinformation"), key, nil), http.StatusOK)
		doc, text := export(jane, "")
		if len(doc.DeliveryAttempts) == 0 || strings.Contains(text, "jane-given") {
			t.Errorf("after erasure: got %d attempts, the profile's given name present: %v; want the attempts, scrubbed", len(doc.DeliveryAttempts), strings.Contains(text, "jane-given"))
		}
	})
}
