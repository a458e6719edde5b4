package api_test

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sunlamp/sunlamp/api"
	"github.com/sunlamp/sunlamp/client"
	"github.com/sunlamp/sunlamp/internal/apitest"
)

// TestExportZipToSlowClient: a zip export whose file takes a slow client longer than the export's
// write deadline (one page's, shortened here to 1.5 s) still arrives whole: the deadline moves on
// with every write of the file, so only a client that stops reading is cut off.
func TestExportZipToSlowClient(t *testing.T) {
	defer api.SetExportWriteTimeout(1500 * time.Millisecond)()
	e := apitest.NewEnv(t, "sqlite")
	ctx := context.Background()
	app := e.MustCreateApp(t, "Slow export")
	key := e.MustCreateAppKey(t, app)
	cl := e.Client(t, client.Basic(key.ID, key.Secret))
	apitest.MustStatus(t, e.Do(t, "POST", usersPath(app), apitest.KeyAuth(key), map[string]any{"externalId": "slow-reader"}), http.StatusCreated)
	in, err := cl.Inbound(ctx, app, client.Inbound{Channel: "sdk", User: &client.InboundUser{ExternalID: "slow-reader"},
		Device: &client.InboundDevice{Type: "web", GUID: "guid-slow"}, Content: &client.Content{Type: "text", Text: "hi"}})
	if err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("sunlamp "), 3<<20) // 24 MiB
	att, err := cl.UploadAttachment(ctx, app, "big.bin", bytes.NewReader(big), client.UploadOptions{For: "message", ConversationID: in.Conversation.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.PostMessage(ctx, app, in.Conversation.ID, client.MessagePost{Author: client.Author{Type: "user", UserID: in.User.ID},
		Content: client.Content{Type: "file", MediaURL: att.MediaURL}}); err != nil {
		t.Fatal(err)
	}

	req, _ := http.NewRequest("GET", e.URL+"/_sunlamp/v1/apps/"+app+"/users/slow-reader/export?format=zip", nil)
	req.SetBasicAuth(key.ID, key.Secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	// Read 64 KiB every 10 ms: the 24 MiB take about 4 s, well past the deadline, while what the
	// sockets buffer drains within it.
	var got bytes.Buffer
	start := time.Now()
	for {
		_, err := io.CopyN(&got, resp.Body, 64<<10)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("after %d bytes in %v: %v", got.Len(), time.Since(start), err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	zr, err := zip.NewReader(bytes.NewReader(got.Bytes()), int64(got.Len()))
	if err != nil {
		t.Fatalf("the zip read in %v (%d bytes) is not whole: %v", time.Since(start), got.Len(), err)
	}
	attID, _, _ := strings.Cut(strings.TrimPrefix(att.MediaURL, e.URL+"/attachments/v2/"), "/")
	for _, f := range zr.File {
		if !strings.Contains(f.Name, attID) {
			continue
		}
		r, _ := f.Open()
		b, _ := io.ReadAll(r)
		if !bytes.Equal(b, big) {
			t.Errorf("the file in the zip has %d bytes, want the %d uploaded", len(b), len(big))
		}
		return
	}
	t.Errorf("no file of attachment %s in the zip", attID)
}
