package api_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/sunlamp/sunlamp"
	"github.com/sunlamp/sunlamp/internal/apitest"
)

// Bytes of a few file types, as their first bytes give them away.
var (
	pngBytes = append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"), bytes.Repeat([]byte{0x5a}, 100)...)
	pdfBytes = []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
)

// part is one part of a multipart/form-data upload.
type part struct {
	name     string // form field name
	filename string // "" sends none, as the official client does for a Buffer
	ctype    string // the part's Content-Type; "" sends none
	data     []byte
}

// multipartBody encodes parts; it returns the body and its Content-Type.
func multipartBody(t testing.TB, parts ...part) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		cd := fmt.Sprintf(`form-data; name="%s"`, p.name)
		if p.filename != "" {
			cd += fmt.Sprintf(`; filename="%s"`, p.filename)
		}
		h.Set("Content-Disposition", cd)
		if p.ctype != "" {
			h.Set("Content-Type", p.ctype)
		}
		w, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(p.data)
	}
	mw.Close()
	return buf.Bytes(), mw.FormDataContentType()
}

// attEnv is an app with a key, for the attachment tests.
type attEnv struct {
	*apitest.Env
	appID string
	key   apitest.Basic
}

func newAttEnv(t *testing.T, e *apitest.Env) *attEnv {
	t.Helper()
	appID := e.MustCreateApp(t, "Attachments")
	return &attEnv{Env: e, appID: appID, key: apitest.KeyAuth(e.MustCreateAppKey(t, appID))}
}

// upload sends parts to UploadAttachment with query (without the leading ?).
func (a *attEnv) upload(t testing.TB, query string, parts ...part) *apitest.Response {
	t.Helper()
	body, ctype := multipartBody(t, parts...)
	return a.DoHeader(t, "POST", "/v2/apps/"+a.appID+"/attachments?"+query, a.key, body, http.Header{"Content-Type": {ctype}})
}

// mustUpload uploads one source part and returns the attachment's mediaUrl.
func (a *attEnv) mustUpload(t testing.TB, query, filename string, data []byte) string {
	t.Helper()
	r := a.upload(t, query, part{"source", filename, "application/octet-stream", data})
	apitest.MustStatus(t, r, http.StatusCreated)
	var out struct {
		Attachment struct{ MediaURL, MediaType string }
	}
	r.Decode(t, &out)
	return out.Attachment.MediaURL
}

var reULID = regexp.MustCompile(`/attachments/v2/[0-7][0-9A-HJKMNP-TV-Z]{25}/`)

// mustJSON is MustJSON with the attachment ids of media URLs replaced by ULID.
func (a *attEnv) mustJSON(t testing.TB, r *apitest.Response, status int, want string) {
	t.Helper()
	r = &apitest.Response{Status: r.Status, Header: r.Header, Body: reULID.ReplaceAll(r.Body, []byte("/attachments/v2/ULID/"))}
	a.MustJSON(t, r, status, want)
}

// fetch requests a media URL without credentials, as a browser or a channel would.
func fetch(t testing.TB, method, url string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// storedBlobs counts what holds attachment bytes: files in the media directory (temporary ones
// included) on SQLite, chunk rows on PostgreSQL; and the attachment rows.
func storedBlobs(t testing.TB, e *apitest.Env) (blobs, rows int) {
	t.Helper()
	ctx := context.Background()
	var db *sql.DB
	var err error
	if e.Name == "postgres" {
		db, err = sql.Open("pgx", e.DSN)
	} else {
		db, err = sql.Open("sqlite", "file:"+e.Store.Path()+"?mode=ro")
	}
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM attachments").Scan(&rows); err != nil {
		t.Fatalf("count attachments: %v", err)
	}
	if e.Name == "postgres" {
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM attachment_chunks").Scan(&blobs); err != nil {
			t.Fatalf("count chunks: %v", err)
		}
		return blobs, rows
	}
	if _, err := e.Store.PurgeMedia(ctx); err != nil {
		t.Fatalf("purge media: %v", err)
	}
	err = filepath.WalkDir(e.Store.MediaDir(), func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			blobs++
		}
		return err
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatalf("walk media dir: %v", err)
	}
	return blobs, rows
}

// mustStored fails t unless the store holds exactly rows attachments and has bytes for exactly
// those (none when rows is 0).
func mustStored(t testing.TB, e *apitest.Env, wantRows int) {
	t.Helper()
	blobs, rows := storedBlobs(t, e)
	if rows != wantRows {
		t.Errorf("got %d attachment rows, want %d", rows, wantRows)
	}
	if wantRows == 0 && blobs != 0 {
		t.Errorf("got %d blobs (files or chunks) with no attachment left, want 0", blobs)
	}
	if wantRows > 0 && blobs < wantRows {
		t.Errorf("got %d blobs for %d attachments", blobs, wantRows)
	}
}

func TestUploadAttachment(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		a := newAttEnv(t, e)

		t.Run("stream with a filename", func(t *testing.T) {
			// The official client sends an fs.ReadStream with its basename and application/octet-stream.
			r := a.upload(t, "access=public", part{"source", "my photo.png", "application/octet-stream", pngBytes})
			a.mustJSON(t, r, 201, `{"attachment":{"mediaUrl":"BASE/attachments/v2/ULID/my%20photo.png","mediaType":"image/png"}}`)
			var out struct{ Attachment struct{ MediaURL string } }
			r.Decode(t, &out)
			resp, body := fetch(t, "GET", out.Attachment.MediaURL, nil)
			if resp.StatusCode != 200 || !bytes.Equal(body, pngBytes) {
				t.Fatalf("GET mediaUrl: got %d with %d bytes, want 200 with the %d uploaded", resp.StatusCode, len(body), len(pngBytes))
			}
			for k, want := range map[string]string{
				"Content-Type":           "image/png",
				"Content-Length":         fmt.Sprint(len(pngBytes)),
				"Accept-Ranges":          "bytes",
				"X-Content-Type-Options": "nosniff",
				"Content-Disposition":    `inline; filename="my photo.png"`,
			} {
				if got := resp.Header.Get(k); got != want {
					t.Errorf("got %s %q, want %q", k, got, want)
				}
			}
		})

		t.Run("buffer without a filename", func(t *testing.T) {
			// The official client sends a Buffer with no filename; the part's type is not believed.
			r := a.upload(t, "access=public", part{"source", "", "image/png", pdfBytes})
			a.mustJSON(t, r, 201, `{"attachment":{"mediaUrl":"BASE/attachments/v2/ULID/file.pdf","mediaType":"application/pdf"}}`)
			// Postman sends source as a text field: no filename, no Content-Type.
			r = a.upload(t, "access=public", part{"source", "", "", []byte("hello, world\n")})
			a.mustJSON(t, r, 201, `{"attachment":{"mediaUrl":"BASE/attachments/v2/ULID/file.txt","mediaType":"text/plain; charset=utf-8"}}`)
		})

		t.Run("media type from the bytes", func(t *testing.T) {
			for _, c := range []struct {
				name string
				data []byte
				want string
			}{
				{"a.jpg", []byte("\xFF\xD8\xFF\xE0\x00\x10JFIF\x00"), "image/jpeg"},
				{"page.png", []byte("<!DOCTYPE html><html><script>alert(1)</script></html>"), "text/html; charset=utf-8"},
				{"x.heic", []byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"), "image/heic"},
				{"clip.mov", []byte("\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  "), "video/quicktime"},
				{"report.docx", []byte("PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00"), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
				{"report.docx.exe", []byte("MZ\x90\x00\x03\x00\x00\x00"), "application/octet-stream"},
				{"data.csv", []byte("a,b\n1,2\n"), "text/csv; charset=utf-8"},
				{"logo.svg", []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"></svg>`), "image/svg+xml"},
			} {
				r := a.upload(t, "access=public", part{"source", c.name, "image/png", c.data})
				apitest.MustStatus(t, r, 201)
				var out struct {
					Attachment struct{ MediaURL, MediaType string }
				}
				r.Decode(t, &out)
				if out.Attachment.MediaType != c.want {
					t.Errorf("%s: got mediaType %q, want %q", c.name, out.Attachment.MediaType, c.want)
				}
				resp, _ := fetch(t, "GET", out.Attachment.MediaURL, nil)
				if got := resp.Header.Get("Content-Type"); got != c.want {
					t.Errorf("%s: served as %q, want %q", c.name, got, c.want)
				}
			}
			// Active content is served for download, sandboxed.
			url := a.mustUpload(t, "access=public", "page.html", []byte("<html><body>hi</body></html>"))
			resp, _ := fetch(t, "GET", url, nil)
			if got := resp.Header.Get("Content-Disposition"); got != `attachment; filename=page.html` {
				t.Errorf("got Content-Disposition %q for HTML, want attachment", got)
			}
			if got := resp.Header.Get("Content-Security-Policy"); !strings.Contains(got, "sandbox") {
				t.Errorf("got Content-Security-Policy %q for HTML, want a sandbox", got)
			}
		})

		t.Run("path in the filename", func(t *testing.T) {
			url := a.mustUpload(t, "access=public", `C:\Users\me\..\secret/../../cat.png`, pngBytes)
			if !strings.HasSuffix(url, "/cat.png") {
				t.Errorf("got mediaUrl %s, want only the last element of the name", url)
			}
		})

		t.Run("validation", func(t *testing.T) {
			src := part{"source", "a.png", "", pngBytes}
			apitest.MustError(t, a.upload(t, "", src), 400, "bad_request", "querystring should have required property 'access'")
			apitest.MustError(t, a.upload(t, "access=private", src), 400, "bad_request", "access should be equal to one of the allowed values: public")
			apitest.MustError(t, a.upload(t, "access=public&for=user", src), 400, "bad_request", "for should be equal to one of the allowed values: message")
			apitest.MustError(t, a.upload(t, "access=public", part{"file", "a.png", "", pngBytes}), 400, "bad_request", "should have required property 'source'")
			apitest.MustError(t, a.upload(t, "access=public", part{"source", "a.png", "", nil}), 400, "bad_request", "source should not be empty")
			r := a.Do(t, "POST", "/v2/apps/"+a.appID+"/attachments?access=public", a.key, map[string]any{"source": "x"})
			apitest.MustError(t, r, 400, "bad_request", "The request body should be multipart/form-data with a part named source")
			r = a.upload(t, "access=public&for=message&conversationId=5e4af71a81966cfff3ef6550", src)
			apitest.MustError(t, r, 404, "conversation_not_found", "Conversation not found")
			r = a.upload(t, "access=public&conversationId=5e4af71a81966cfff3ef6550", src)
			apitest.MustError(t, r, 404, "conversation_not_found", "Conversation not found")
			// A body cut short is refused and leaves nothing.
			body, ctype := multipartBody(t, src)
			r = a.DoHeader(t, "POST", "/v2/apps/"+a.appID+"/attachments?access=public", a.key, body[:len(body)-20], http.Header{"Content-Type": {ctype}})
			apitest.MustError(t, r, 400, "bad_request", "source could not be read: the multipart body is malformed or ended early")
			// Other parts before source are skipped.
			r = a.upload(t, "access=public", part{"note", "", "", []byte("x")}, src)
			apitest.MustStatus(t, r, 201)
		})

		t.Run("auth", func(t *testing.T) {
			body, ctype := multipartBody(t, part{"source", "a.png", "", pngBytes})
			h := http.Header{"Content-Type": {ctype}}
			apitest.MustError(t, a.DoHeader(t, "POST", "/v2/apps/"+a.appID+"/attachments?access=public", apitest.NoAuth{}, body, h), 401, "unauthorized", "")
			other := e.MustCreateApp(t, "Other")
			otherKey := apitest.KeyAuth(e.MustCreateAppKey(t, other))
			apitest.MustError(t, a.DoHeader(t, "POST", "/v2/apps/"+a.appID+"/attachments?access=public", otherKey, body, h), 403, "forbidden", "")
			apitest.MustStatus(t, a.DoHeader(t, "POST", "/v2/apps/"+a.appID+"/attachments?access=public", e.Account(), body, h), 201)
		})
	})
}

func TestAttachmentMedia(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		a := newAttEnv(t, e)
		data := make([]byte, 3<<20+12345) // several PostgreSQL chunks
		for i := range data {
			data[i] = byte(i * 7 % 251)
		}
		copy(data, pdfBytes)
		url := a.mustUpload(t, "access=public", "big.pdf", data)

		t.Run("ranges", func(t *testing.T) {
			for _, c := range []struct {
				rng        string
				from, to   int // inclusive
				contentRng string
			}{
				{"bytes=10-19", 10, 19, fmt.Sprintf("bytes 10-19/%d", len(data))},
				{"bytes=1048570-1048585", 1048570, 1048585, fmt.Sprintf("bytes 1048570-1048585/%d", len(data))}, // across a chunk boundary
				{"bytes=-5", len(data) - 5, len(data) - 1, fmt.Sprintf("bytes %d-%d/%d", len(data)-5, len(data)-1, len(data))},
				{fmt.Sprintf("bytes=%d-", len(data)-3), len(data) - 3, len(data) - 1, fmt.Sprintf("bytes %d-%d/%d", len(data)-3, len(data)-1, len(data))},
			} {
				resp, body := fetch(t, "GET", url, map[string]string{"Range": c.rng})
				if resp.StatusCode != 206 {
					t.Fatalf("Range %s: got status %d, want 206", c.rng, resp.StatusCode)
				}
				if got := resp.Header.Get("Content-Range"); got != c.contentRng {
					t.Errorf("Range %s: got Content-Range %q, want %q", c.rng, got, c.contentRng)
				}
				if !bytes.Equal(body, data[c.from:c.to+1]) {
					t.Errorf("Range %s: got %d bytes that differ from the file's", c.rng, len(body))
				}
			}
			resp, _ := fetch(t, "GET", url, map[string]string{"Range": fmt.Sprintf("bytes=%d-", len(data)+10)})
			if resp.StatusCode != http.StatusRequestedRangeNotSatisfiable {
				t.Errorf("range past the end: got %d, want 416", resp.StatusCode)
			}
			// A range still applies when the validator matches, and is ignored when it does not.
			resp, _ = fetch(t, "HEAD", url, nil)
			etag := resp.Header.Get("ETag")
			resp, body := fetch(t, "GET", url, map[string]string{"Range": "bytes=0-3", "If-Range": etag})
			if resp.StatusCode != 206 || string(body) != "%PDF" {
				t.Errorf("If-Range with the ETag: got %d %q, want 206 %%PDF", resp.StatusCode, body)
			}
			resp, body = fetch(t, "GET", url, map[string]string{"Range": "bytes=0-3", "If-Range": `"other"`})
			if resp.StatusCode != 200 || len(body) != len(data) {
				t.Errorf("If-Range with another ETag: got %d with %d bytes, want 200 with all", resp.StatusCode, len(body))
			}
			resp, _ = fetch(t, "GET", url, map[string]string{"If-None-Match": etag})
			if resp.StatusCode != http.StatusNotModified {
				t.Errorf("If-None-Match: got %d, want 304", resp.StatusCode)
			}
		})

		t.Run("whole and HEAD", func(t *testing.T) {
			resp, body := fetch(t, "GET", url, nil)
			if resp.StatusCode != 200 || !bytes.Equal(body, data) || resp.Header.Get("Content-Length") != fmt.Sprint(len(data)) {
				t.Fatalf("GET: got %d, %d bytes, Content-Length %s; want 200 and the %d bytes", resp.StatusCode, len(body), resp.Header.Get("Content-Length"), len(data))
			}
			resp, body = fetch(t, "HEAD", url, nil)
			if resp.StatusCode != 200 || len(body) != 0 || resp.Header.Get("Content-Length") != fmt.Sprint(len(data)) || resp.Header.Get("Content-Type") != "application/pdf" {
				t.Errorf("HEAD: got %d, Content-Length %s, Content-Type %s", resp.StatusCode, resp.Header.Get("Content-Length"), resp.Header.Get("Content-Type"))
			}
		})

		t.Run("not found", func(t *testing.T) {
			i := strings.Index(url, "/attachments/v2/")
			id := url[i+len("/attachments/v2/") : i+len("/attachments/v2/")+26]
			for _, u := range []string{
				url[:strings.LastIndex(url, "/")] + "/other.pdf", // right id, wrong name
				a.URL + "/attachments/v2/01JK699PBZ645YAFJW2RF45F0B/big.pdf",
				a.URL + "/attachments/v2/not-an-id/big.pdf",
				a.URL + "/attachments/v2/" + strings.ToLower(id) + "/big.pdf",
			} {
				resp, body := fetch(t, "GET", u, nil)
				if resp.StatusCode != 404 || !strings.Contains(string(body), `"not_found"`) {
					t.Errorf("GET %s: got %d %s, want a JSON 404", u, resp.StatusCode, body)
				}
			}
		})
	})
}

func TestDeleteAttachment(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		a := newAttEnv(t, e)
		remove := func(body any) *apitest.Response {
			return a.Do(t, "POST", "/v2/apps/"+a.appID+"/attachments/remove", a.key, body)
		}
		keep := a.mustUpload(t, "access=public", "keep.png", pngBytes)
		url := a.mustUpload(t, "access=public", "doomed.png", pngBytes)
		mustStored(t, e, 2)

		a.MustJSON(t, remove(map[string]any{"mediaUrl": url}), 200, `{}`)
		if resp, _ := fetch(t, "GET", url, nil); resp.StatusCode != 404 {
			t.Errorf("GET a deleted mediaUrl: got %d, want 404", resp.StatusCode)
		}
		if resp, _ := fetch(t, "GET", keep, nil); resp.StatusCode != 200 {
			t.Errorf("GET the other mediaUrl: got %d, want 200", resp.StatusCode)
		}
		mustStored(t, e, 1)
		apitest.MustError(t, remove(map[string]any{"mediaUrl": url}), 404, "not_found", "Attachment not found")

		apitest.MustError(t, remove(map[string]any{"mediaUrl": "https://badhost.com/image.png"}), 400, "bad_request",
			"Unsupported media URL for attachment deletion: https://badhost.com/image.png")
		apitest.MustError(t, remove(map[string]any{"mediaUrl": "https://badhost.com" + keep[len(a.URL):]}), 400, "bad_request", "")
		apitest.MustError(t, remove(map[string]any{"mediaUrl": a.URL + "/v2/apps"}), 400, "bad_request", "Unsupported media URL for attachment deletion: "+a.URL+"/v2/apps")
		apitest.MustError(t, remove(map[string]any{}), 400, "bad_request", "should have required property 'mediaUrl'")
		apitest.MustError(t, remove(map[string]any{"mediaUrl": 12}), 400, "bad_request", "mediaUrl should be string")
		apitest.MustError(t, remove(map[string]any{"mediaUrl": nil}), 400, "bad_request", "mediaUrl should be string")
		apitest.MustError(t, remove(map[string]any{"mediaUrl": a.URL + "/attachments/v2/01JK699PBZ645YAFJW2RF45F0B/my_file.jpeg"}), 404, "not_found", "Attachment not found")
		apitest.MustError(t, remove(map[string]any{"mediaUrl": keep[:strings.LastIndex(keep, "/")] + "/other.png"}), 404, "not_found", "Attachment not found")

		// Another app's key cannot delete it, nor learn that it exists.
		other := e.MustCreateApp(t, "Other")
		otherKey := apitest.KeyAuth(e.MustCreateAppKey(t, other))
		r := a.Do(t, "POST", "/v2/apps/"+other+"/attachments/remove", otherKey, map[string]any{"mediaUrl": keep})
		apitest.MustError(t, r, 404, "not_found", "Attachment not found")
		if resp, _ := fetch(t, "GET", keep, nil); resp.StatusCode != 200 {
			t.Errorf("GET after another app's delete: got %d, want 200", resp.StatusCode)
		}

		// Deleting the app deletes its attachments and their bytes.
		a.MustJSON(t, a.Do(t, "DELETE", "/v2/apps/"+a.appID, e.Account(), nil), 200, `{}`)
		if resp, _ := fetch(t, "GET", keep, nil); resp.StatusCode != 404 {
			t.Errorf("GET after DeleteApp: got %d, want 404", resp.StatusCode)
		}
		mustStored(t, e, 0)
	})
}

// repeatReader gives n bytes of a pattern, without holding them.
type repeatReader struct{ n, off int64 }

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.off >= r.n {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), r.n-r.off)]
	for i := range p {
		p[i] = byte((r.off + int64(i)) % 253)
	}
	r.off += int64(len(p))
	return len(p), nil
}

// streamUpload sends a multipart upload of size bytes generated on the fly. With known set, the
// request has a Content-Length; otherwise it is chunked, as a stream of unknown length is.
func (a *attEnv) streamUpload(t testing.TB, size int64, known bool) *apitest.Response {
	t.Helper()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		w, err := mw.CreateFormFile("source", "big.bin")
		if err == nil {
			_, err = io.Copy(w, &repeatReader{n: size})
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	u := a.URL + "/v2/apps/" + a.appID + "/attachments?access=public"
	req, err := http.NewRequest("POST", u, pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if known {
		// The framing around the part: measure it on an empty upload with the same boundary.
		var frame bytes.Buffer
		fw := multipart.NewWriter(&frame)
		fw.SetBoundary(mw.Boundary())
		fw.CreateFormFile("source", "big.bin")
		fw.Close()
		req.ContentLength = int64(frame.Len()) + size
	}
	req.SetBasicAuth(a.key.ID, a.key.Secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("upload %d bytes: %v", size, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	pr.CloseWithError(io.ErrClosedPipe)
	apitest.ValidateResponse(t, req, nil, resp.StatusCode, resp.Header, body)
	return &apitest.Response{Status: resp.StatusCode, Header: resp.Header, Body: body}
}

func TestAttachmentSizeLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("uploads 50 MB files")
	}
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		a := newAttEnv(t, e)
		const max = sunlamp.MaxAttachmentSize

		r := a.streamUpload(t, max, true)
		apitest.MustStatus(t, r, 201)
		var out struct{ Attachment struct{ MediaURL string } }
		r.Decode(t, &out)
		req, _ := http.NewRequest("GET", out.Attachment.MediaURL, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || n != max || resp.ContentLength != max {
			t.Errorf("GET a 50 MB file: got %d, %d bytes, Content-Length %d; want 200 and %d", resp.StatusCode, n, resp.ContentLength, max)
		}
		mustStored(t, e, 1)

		// One byte more is refused, whether the length is announced or not, and leaves nothing.
		apitest.MustError(t, a.streamUpload(t, max+1, true), 413, "request_too_large", "")
		apitest.MustError(t, a.streamUpload(t, max+1, false), 413, "request_too_large", "")
		// A body announced far over the limit is refused before it is read.
		apitest.MustError(t, a.streamUpload(t, max+2<<20, true), 413, "request_too_large", "")
		mustStored(t, e, 1)
	})
}

func TestAttachmentInterruptedUpload(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		a := newAttEnv(t, e)
		// On PostgreSQL uploads are spooled to the temporary directory first: watch a private one.
		tmp := t.TempDir()
		t.Setenv("TMPDIR", tmp)
		spool := tmp
		if e.Name == "sqlite" {
			spool = filepath.Join(e.Store.MediaDir(), "tmp")
		}
		count := func() int {
			entries, _ := os.ReadDir(spool)
			return len(entries)
		}
		conn, err := net.Dial("tcp", a.Server.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		body, ctype := multipartBody(t, part{"source", "cut.bin", "", bytes.Repeat([]byte("x"), 1<<20)})
		fmt.Fprintf(conn, "POST /v2/apps/%s/attachments?access=public HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n",
			a.appID, apitest.BasicHeader(a.key.ID, a.key.Secret), ctype, len(body))
		conn.Write(body[:len(body)/2])
		// Wait until the server is writing the upload, then hang up.
		waitFor(t, "the upload to start", func() bool { return count() > 0 })
		conn.Close()
		waitFor(t, "the interrupted upload to be removed", func() bool { return count() == 0 })
		mustStored(t, e, 0)
		// The server goes on.
		a.mustUpload(t, "access=public", "after.png", pngBytes)
		mustStored(t, e, 1)
	})
}

// waitFor polls cond until it holds, for at most 10 seconds (the server works in another goroutine).
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestAttachmentLifecycle(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		a := newAttEnv(t, e)
		p := func(s string) string { return "/v2/apps/" + a.appID + s }
		mustID := func(t *testing.T, r *apitest.Response, key string) string {
			t.Helper()
			apitest.MustStatus(t, r, 201)
			var out map[string]struct{ ID string }
			r.Decode(t, &out)
			return out[key].ID
		}
		userID := mustID(t, a.Do(t, "POST", p("/users"), a.key, map[string]any{"externalId": "att-user"}), "user")
		newGroup := func(t *testing.T) string {
			return mustID(t, a.Do(t, "POST", p("/conversations"), a.key, map[string]any{"type": "sdkGroup",
				"participants": []any{map[string]any{"userId": userID, "subscribeSDKClient": false}}}), "conversation")
		}
		post := func(t *testing.T, conv string, author map[string]any, typ, mediaURL string) *apitest.Response {
			return a.Do(t, "POST", p("/conversations/"+conv+"/messages"), a.key, map[string]any{
				"author": author, "content": map[string]any{"type": typ, "mediaUrl": mediaURL}})
		}
		business := map[string]any{"type": "business"}
		gone := func(t *testing.T, url string) bool {
			resp, _ := fetch(t, "GET", url, nil)
			return resp.StatusCode == 404
		}
		conv := newGroup(t)

		t.Run("messages get mediaType and mediaSize", func(t *testing.T) {
			url := a.mustUpload(t, "access=public&for=message&conversationId="+conv, "photo.png", pngBytes)
			r := post(t, conv, business, "image", url)
			apitest.MustStatus(t, r, 201)
			var out struct {
				Messages []struct{ Content map[string]any }
			}
			r.Decode(t, &out)
			got := a.Normalize(t, mustMarshal(t, out.Messages[0].Content))
			want := a.Normalize(t, []byte(fmt.Sprintf(`{"type":"image","mediaUrl":%q,"altText":"photo.png","mediaType":"image/png","mediaSize":%d}`, url, len(pngBytes))))
			if got != want {
				t.Errorf("got content %s, want %s", got, want)
			}
			// A URL that only looks like a media URL gets nothing.
			r = post(t, conv, business, "file", "https://elsewhere.example/attachments/v2/01JK699PBZ645YAFJW2RF45F0B/x.pdf")
			apitest.MustStatus(t, r, 201)
			if strings.Contains(string(r.Body), "mediaSize") {
				t.Errorf("a foreign URL got a mediaSize: %s", r.Body)
			}
		})

		t.Run("deleted with its message", func(t *testing.T) {
			owned := a.mustUpload(t, "access=public&for=message", "owned.pdf", pdfBytes)
			kept := a.mustUpload(t, "access=public", "kept.pdf", pdfBytes) // not for=message
			apitest.MustStatus(t, post(t, conv, business, "file", owned), 201)
			var out struct{ Messages []struct{ ID string } }
			post(t, conv, business, "file", owned).Decode(t, &out) // sent again: the first message owns it
			r := post(t, conv, business, "file", kept)
			var keptMsg struct{ Messages []struct{ ID string } }
			r.Decode(t, &keptMsg)

			apitest.MustStatus(t, a.Do(t, "DELETE", p("/conversations/"+conv+"/messages/"+keptMsg.Messages[0].ID), a.key, nil), 200)
			apitest.MustStatus(t, a.Do(t, "DELETE", p("/conversations/"+conv+"/messages/"+out.Messages[0].ID), a.key, nil), 200)
			if gone(t, owned) || gone(t, kept) {
				t.Fatalf("deleting messages that do not own an attachment deleted it")
			}
			firstID := firstMessageWith(t, a, conv, owned)
			apitest.MustStatus(t, a.Do(t, "DELETE", p("/conversations/"+conv+"/messages/"+firstID), a.key, nil), 200)
			if !gone(t, owned) {
				t.Errorf("GET after its message was deleted: want 404")
			}
			if gone(t, kept) {
				t.Errorf("an attachment uploaded without for=message went with a message")
			}
		})

		t.Run("deleted with its conversation", func(t *testing.T) {
			c := newGroup(t)
			unsent := a.mustUpload(t, "access=public&for=message&conversationId="+c, "unsent.png", pngBytes)
			sent := a.mustUpload(t, "access=public&for=message", "sent.png", pngBytes)
			apitest.MustStatus(t, post(t, c, business, "image", sent), 201)
			before, _ := storedBlobs(t, e)
			apitest.MustStatus(t, a.Do(t, "DELETE", p("/conversations/"+c), a.key, nil), 200)
			if !gone(t, unsent) || !gone(t, sent) {
				t.Errorf("after DeleteConversation: unsent gone %v, sent gone %v; want both gone", gone(t, unsent), gone(t, sent))
			}
			after, _ := storedBlobs(t, e)
			if after >= before {
				t.Errorf("got %d blobs after DeleteConversation, %d before: the bytes stayed", after, before)
			}
		})

		t.Run("deleted with the user", func(t *testing.T) {
			c := newGroup(t)
			byUser := a.mustUpload(t, "access=public&for=message", "mine.png", pngBytes)
			r := post(t, c, map[string]any{"type": "user", "userId": userID}, "image", byUser)
			apitest.MustStatus(t, r, 201)
			apitest.MustStatus(t, a.Do(t, "DELETE", p("/users/"+userID), a.key, nil), 200)
			if err := e.Store.PurgeDeletedUsers(context.Background()); err != nil {
				t.Fatal(err)
			}
			if !gone(t, byUser) {
				t.Errorf("GET an attachment of a deleted user's message: want 404")
			}
		})

		// Only attachments not tied to anything deleted remain, with their bytes and no others.
		_, rows := storedBlobs(t, e)
		mustStored(t, e, rows)
		a.MustJSON(t, a.Do(t, "DELETE", "/v2/apps/"+a.appID, e.Account(), nil), 200, `{}`)
		mustStored(t, e, 0)
	})
}

// firstMessageWith returns the id of the oldest message of conv whose content names url.
func firstMessageWith(t *testing.T, a *attEnv, conv, url string) string {
	t.Helper()
	r := a.Do(t, "GET", "/v2/apps/"+a.appID+"/conversations/"+conv+"/messages", a.key, nil)
	apitest.MustStatus(t, r, 200)
	var out struct {
		Messages []struct {
			ID      string
			Content struct{ MediaURL string }
		}
	}
	r.Decode(t, &out)
	for _, m := range out.Messages {
		if m.Content.MediaURL == url {
			return m.ID
		}
	}
	t.Fatalf("no message with %s", url)
	return ""
}

func mustMarshal(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
