package client_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sunlamp/sunlamp/client"
	"github.com/sunlamp/sunlamp/internal/apitest"
)

// MustDownload downloads mediaURL with c into a buffer and returns its bytes and what the call said.
func MustDownload(tb testing.TB, c *client.Client, mediaURL string) ([]byte, *client.Media) {
	tb.Helper()
	var buf bytes.Buffer
	m, err := c.GetAttachmentMedia(context.Background(), mediaURL, func() (io.Writer, error) { buf.Reset(); return &buf, nil })
	if err != nil {
		tb.Fatalf("GetAttachmentMedia: got error %v, want the file", err)
	}
	return buf.Bytes(), m
}

// TestGetAttachmentMedia downloads an uploaded attachment from Sunlamp by its media URL, and gets a
// 404 *Error once it is deleted.
func TestGetAttachmentMedia(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		ctx := context.Background()
		appID := e.MustCreateApp(t, "Media")
		k := e.MustCreateAppKey(t, appID)
		c, err := client.New(e.URL, client.Basic(k.ID, k.Secret)) // no spec check: media is not JSON
		if err != nil {
			t.Fatal(err)
		}
		png := "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
		att, err := c.UploadAttachment(ctx, appID, "dot.png", strings.NewReader(png), client.UploadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got, m := MustDownload(t, c, att.MediaURL)
		if string(got) != png || m.Size != int64(len(png)) || m.MediaType != "image/png" {
			t.Errorf("got %d bytes (%+v), want the %d bytes of the image/png uploaded", len(got), m, len(png))
		}
		if err := c.DeleteAttachment(ctx, appID, att.MediaURL); err != nil {
			t.Fatal(err)
		}
		_, err = c.GetAttachmentMedia(ctx, att.MediaURL, func() (io.Writer, error) { return io.Discard, nil })
		if got := client.StatusOf(err); got != http.StatusNotFound {
			t.Errorf("got %v after DeleteAttachment, want a 404 *Error", err)
		}
	})
}

// TestGetAttachmentMediaCredentials sends the key only to URLs under the base URL, never to another
// host or another path of the same host.
func TestGetAttachmentMediaCredentials(t *testing.T) {
	ok := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, "bytes")
	}
	rec, base := MustRecorder(t, ok)
	other, otherURL := MustRecorder(t, ok)
	c := MustNew(t, base+"/sc")
	for _, u := range []string{base + "/sc/attachments/v2/a/f.txt", base + "/elsewhere/f.txt", otherURL + "/sc/attachments/v2/a/f.txt"} {
		if got, _ := MustDownload(t, c, u); string(got) != "bytes" {
			t.Errorf("%s: got %q, want bytes", u, got)
		}
	}
	want := []string{"GET /sc/attachments/v2/a/f.txt Basic YXBwX2tleTpzZWNyZXQ=", "GET /elsewhere/f.txt "}
	if diff := cmp.Diff(want, rec.requests()); diff != "" {
		t.Errorf("requests to the API's host (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"GET /sc/attachments/v2/a/f.txt "}, other.requests()); diff != "" {
		t.Errorf("requests to another host (-want +got):\n%s", diff)
	}
}

// TestGetAttachmentMediaRetries retries a 503 and a body cut short, each time into a fresh sink,
// and follows no redirect.
func TestGetAttachmentMediaRetries(t *testing.T) {
	var n atomic.Int32
	_, base := MustRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		switch n.Add(1) {
		case 1:
			w.WriteHeader(http.StatusServiceUnavailable)
		case 2:
			w.Header().Set("Content-Length", "100")
			w.WriteHeader(http.StatusOK)
			fmt.Fprint(w, "partial") // and the connection closes with 93 bytes missing
		default:
			fmt.Fprint(w, "whole")
		}
	})
	c := MustNew(t, base)
	client.SetSleep(c, func(ctx context.Context, _ time.Duration) error { return ctx.Err() })
	opens := 0
	var buf bytes.Buffer
	m, err := c.GetAttachmentMedia(context.Background(), base+"/attachments/v2/a/f", func() (io.Writer, error) {
		opens++
		buf.Reset()
		return &buf, nil
	})
	if err != nil || buf.String() != "whole" || m.Size != 5 {
		t.Fatalf("got %q, %+v, %v; want whole after retries", buf.String(), m, err)
	}
	if opens != 2 || n.Load() != 3 {
		t.Errorf("got %d opens for %d requests, want 2 for 3 (the 503 opens nothing)", opens, n.Load())
	}

	_, redirect := MustRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://example.org/elsewhere", http.StatusFound)
	})
	_, err = MustNew(t, redirect).GetAttachmentMedia(context.Background(), redirect+"/attachments/v2/a/f", func() (io.Writer, error) { return io.Discard, nil })
	if !errors.Is(err, client.ErrRedirected) {
		t.Errorf("got %v, want ErrRedirected", err)
	}
	for _, u := range []string{base + "/attachments/v2/../../v2/apps/x", "ftp://example.org/f", "http://user:pw@example.org/f"} {
		if _, err := c.GetAttachmentMedia(context.Background(), u, func() (io.Writer, error) { return io.Discard, nil }); err == nil {
			t.Errorf("%s: got no error, want it refused", u)
		}
	}
	if got := n.Load(); got != 3 {
		t.Errorf("got %d requests, want none for the refused URLs", got)
	}
}
