package api_test

import (
	"bytes"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/sunlamp/sunlamp"
	"github.com/sunlamp/sunlamp/internal/apitest"
	"github.com/sunlamp/sunlamp/internal/webhooktest"
)

// TestConversationRetention: an app's conversationRetentionSeconds deletes the messages of its
// conversations inactive for longer than that, by the store's clock (here the emulator's, moved over
// HTTP), with their attachments' bytes; conversations active within the period, apps without
// retention (unset or 0) and other apps keep everything; the conversations themselves stay, emptied
// as by Delete All Messages; each app's sweep that removed something is audited.
func TestConversationRetention(t *testing.T) {
	apitest.ForEachStoreEmulated(t, func(t *testing.T, em *apitest.EmulatorEnv) {
		e := em.Env
		acct := e.Account()
		type app struct {
			id  string
			key apitest.Basic
		}
		newApp := func(t *testing.T, name string, settings map[string]any) app {
			t.Helper()
			a := app{id: e.MustCreateApp(t, name)}
			if settings != nil {
				apitest.MustStatus(t, e.Do(t, "PATCH", "/v2/apps/"+a.id, acct, map[string]any{"settings": settings}), http.StatusOK)
			}
			a.key = apitest.KeyAuth(e.MustCreateAppKey(t, a.id))
			return a
		}
		newConv := func(t *testing.T, a app) string {
			t.Helper()
			r := e.Do(t, "POST", "/v2/apps/"+a.id+"/conversations", a.key, map[string]any{"type": "sdkGroup"})
			apitest.MustStatus(t, r, http.StatusCreated)
			var out struct{ Conversation struct{ ID string } }
			r.Decode(t, &out)
			return out.Conversation.ID
		}
		post := func(t *testing.T, a app, conv string, content map[string]any) {
			t.Helper()
			apitest.MustStatus(t, e.Do(t, "POST", "/v2/apps/"+a.id+"/conversations/"+conv+"/messages", a.key,
				map[string]any{"author": map[string]any{"type": "business"}, "content": content}), http.StatusCreated)
		}
		text := func(s string) map[string]any { return map[string]any{"type": "text", "text": s} }
		messages := func(t *testing.T, a app, conv string) int {
			t.Helper()
			r := e.Do(t, "GET", "/v2/apps/"+a.id+"/conversations/"+conv+"/messages", a.key, nil)
			apitest.MustStatus(t, r, http.StatusOK)
			var out struct{ Messages []any }
			r.Decode(t, &out)
			return len(out.Messages)
		}
		advance := func(t *testing.T, d string) {
			t.Helper()
			apitest.MustStatus(t, e.Do(t, "POST", "/_sunlamp/v1/clock", acct, map[string]any{"advance": d}), http.StatusOK)
		}

		hour := newApp(t, "Retention 1h", map[string]any{"conversationRetentionSeconds": 3600})
		second := newApp(t, "Retention 1s", map[string]any{"conversationRetentionSeconds": 1})
		zero := newApp(t, "Retention 0", map[string]any{"conversationRetentionSeconds": 0})
		none := newApp(t, "No retention", nil)

		// hour's events (every trigger) go to a webhook, whose deliveries the emulator's flight recorder keeps.
		rc := webhooktest.NewReceiver(t, nil)
		createIntegration(t, e, hour.id, hour.key, customBody(rc.URL+"/hour", sunlamp.Triggers...))

		// hour: an inactive conversation with three messages, one an image whose file is uploaded.
		idle := newConv(t, hour)
		body, ctype := multipartBody(t, part{"source", "cat.png", "image/png", pngBytes})
		r := e.DoHeader(t, "POST", "/v2/apps/"+hour.id+"/attachments?access=public&for=message&conversationId="+idle, hour.key, body, http.Header{"Content-Type": {ctype}})
		apitest.MustStatus(t, r, http.StatusCreated)
		var up struct{ Attachment struct{ MediaURL string } }
		r.Decode(t, &up)
		post(t, hour, idle, text("retained-marker-one"))
		post(t, hour, idle, map[string]any{"type": "image", "mediaUrl": up.Attachment.MediaURL})
		post(t, hour, idle, text("retained-marker-two"))
		active := newConv(t, hour)
		post(t, hour, active, text("early"))
		others := map[string]app{}
		for _, a := range []app{second, zero, none} {
			c := newConv(t, a)
			post(t, a, c, text("kept?"))
			others[c] = a
		}
		filesBefore := mediaFiles(t, em)
		waitDelivered(t, em)
		db := openRawDB(t, em.Name, em.DSN)
		recorded := func(text string) int {
			return count(t, db, em.Name, "SELECT COUNT(*) FROM delivery_attempts WHERE request_body LIKE ?", "%"+text+"%")
		}
		if recorded("retained-marker-one") == 0 {
			t.Fatal("the recorder kept no delivery of the idle conversation's messages: the test would prove nothing")
		}
		onDisk := func() bool {
			for _, b := range sqliteFiles(t, em.Store.Path()) {
				if bytes.Contains(b, []byte("retained-marker-")) {
					return true
				}
			}
			return false
		}
		if em.Name == "sqlite" && !onDisk() {
			t.Fatal("the messages' text is in none of the database files before the sweep: the test would prove nothing")
		}

		// 40 minutes later, a message keeps the active conversation alive; 30 more, the idle one has
		// been inactive for 70 minutes, the active one for 30.
		advance(t, "40m")
		post(t, hour, active, text("later"))
		waitDelivered(t, em)
		sent := len(rc.All())
		advance(t, "30m")
		waitFor(t, "the idle conversation's messages to be deleted", func() bool { return messages(t, hour, idle) == 0 })
		waitDelivered(t, em)
		// The service documents no webhook for retention's deletions, and none is sent.
		if got := len(rc.All()); got != sent {
			t.Errorf("the webhook received %d requests during the sweep, want none", got-sent)
		}
		if got := messages(t, hour, active); got != 2 {
			t.Errorf("the conversation active 30 minutes ago lists %d messages, want 2", got)
		}
		// The 1-second app lost its message too (70 minutes of inactivity); unset and 0 keep theirs.
		for c, a := range others {
			want := 1
			if a == second {
				want = 0
				waitFor(t, "the 1-second app's messages to be deleted", func() bool { return messages(t, a, c) == 0 })
			}
			if got := messages(t, a, c); got != want {
				t.Errorf("app %s lists %d messages, want %d", a.id, got, want)
			}
		}

		// The conversation stays, emptied as Delete All Messages empties it; the media URL is gone,
		// and so are its bytes (SQLite: the file in the media directory, removed by the janitor).
		r = e.Do(t, "GET", "/v2/apps/"+hour.id+"/conversations/"+idle, hour.key, nil)
		apitest.MustStatus(t, r, http.StatusOK)
		waitFor(t, "the attachment's media URL to answer 404", func() bool {
			resp, _ := fetch(t, "GET", up.Attachment.MediaURL, nil)
			return resp.StatusCode == http.StatusNotFound
		})
		if em.Name == "sqlite" {
			waitFor(t, "the attachment's file to be removed", func() bool { return mediaFiles(t, em) == filesBefore-1 })
		} else if n := count(t, db, em.Name, "SELECT COUNT(*) FROM attachment_chunks c JOIN attachments a ON a.id = c.attachment_id WHERE a.conversation_id = ?", idle); n != 0 {
			t.Errorf("got %d chunks of the idle conversation's attachments, want 0", n)
		}
		// Their outbox events and the recorder's copies of what was sent go too; the active
		// conversation's stay.
		if n := count(t, db, em.Name, "SELECT COUNT(*) FROM events WHERE conversation_id = ?", idle); n != 0 {
			t.Errorf("got %d events of the idle conversation in the outbox (conversation:create, its messages'), want 0", n)
		}
		if n := recorded("retained-marker-one"); n != 0 {
			t.Errorf("the recorder keeps %d deliveries of the deleted messages, want 0", n)
		}
		if recorded("early") == 0 {
			t.Error("the recorder lost the deliveries of the active conversation's messages")
		}
		// On disk (SQLite), as after Delete User: the deleted text is in none of the database's files
		// (secure_delete zeroes the rows, and the sweep truncates the write-ahead log).
		if em.Name == "sqlite" {
			waitFor(t, "the deleted messages' text to leave the database files", func() bool { return !onDisk() })
		}

		// A conversation emptied by retention takes new messages, which the next period deletes again.
		post(t, hour, idle, text("back again"))
		if got := messages(t, hour, idle); got != 1 {
			t.Errorf("the emptied conversation lists %d messages after a new one, want 1", got)
		}

		// One retentionSweep entry for the app's sweep, with its counts, by no key; none for the apps
		// whose sweep removed nothing.
		type entry struct {
			Operation, UserID, KeyID, Outcome string
			Counts                            map[string]int64
		}
		audit := func(t *testing.T, a app) []entry {
			t.Helper()
			r := e.Do(t, "GET", "/_sunlamp/v1/apps/"+a.id+"/audit?filter[operation]=retentionSweep", a.key, nil)
			apitest.MustStatus(t, r, http.StatusOK)
			var out struct{ AuditEntries []entry }
			r.Decode(t, &out)
			return out.AuditEntries
		}
		entries := audit(t, hour)
		if len(entries) != 1 {
			t.Fatalf("got %d retentionSweep entries for the 1-hour app, want 1: %+v", len(entries), entries)
		}
		got := entries[0]
		if got.KeyID != sunlamp.AuditSystemActor || got.Outcome != sunlamp.AuditOK || got.UserID != "" {
			t.Errorf("got entry key %q outcome %q user %q, want %q %q and no user", got.KeyID, got.Outcome, got.UserID, sunlamp.AuditSystemActor, sunlamp.AuditOK)
		}
		want := map[string]int64{sunlamp.CountMessagesRemoved: 3, sunlamp.CountConversationsRemoved: 0, sunlamp.CountFilesRemoved: 1}
		for k, v := range want {
			if got.Counts[k] != v {
				t.Errorf("got %s = %d, want %d (counts %v)", k, got.Counts[k], v, got.Counts)
			}
		}
		for _, a := range []app{zero, none} {
			if got := audit(t, a); len(got) != 0 {
				t.Errorf("got %d retentionSweep entries for app %s, which keeps everything, want 0", len(got), a.id)
			}
		}

		// Keys stay in their app: the 1-hour app's key reaches no conversation of another app.
		for c, a := range others {
			apitest.MustError(t, e.Do(t, "GET", "/v2/apps/"+a.id+"/conversations/"+c+"/messages", hour.key, nil), http.StatusForbidden, "forbidden", "Forbidden")
			apitest.MustStatus(t, e.Do(t, "GET", "/v2/apps/"+hour.id+"/conversations/"+c+"/messages", hour.key, nil), http.StatusNotFound)
		}
	})
}

// mediaFiles counts the files in an SQLite store's media directory (0 on PostgreSQL).
func mediaFiles(t *testing.T, em *apitest.EmulatorEnv) int {
	t.Helper()
	dir := em.Store.MediaDir()
	if dir == "" {
		return 0
	}
	n := 0
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			n++
		}
		return err
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatalf("walk media dir: %v", err)
	}
	return n
}
