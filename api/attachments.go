package api

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/sunlamp/sunlamp"
)

// maxUploadBody bounds the body of an upload: the 50 MB file and its multipart framing. The file
// itself is held to sunlamp.MaxAttachmentSize exactly.
const maxUploadBody = sunlamp.MaxAttachmentSize + 1<<20

// mediaWriteTimeout is how long a media download may take to be sent.
const mediaWriteTimeout = 10 * time.Minute

// sniffLen is how much of a file the media type is detected from (http.DetectContentType reads 512).
const sniffLen = 512

// handleUploadAttachment stores the `source` part of a multipart/form-data body. The part is streamed
// to storage as it arrives, so that a 50 MB file never sits in memory; a part with or without a
// filename is taken (the official client sends a Buffer without one). The media type is detected from
// the bytes; the part's Content-Type header is not trusted.
func (s *Server) handleUploadAttachment(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	switch {
	case !q.Has("access"):
		return sunlamp.Invalid("querystring should have required property 'access'")
	case q.Get("access") != "public": // the spec: "Private is not supported."
		return sunlamp.Invalid("access should be equal to one of the allowed values: public")
	case q.Has("for") && q.Get("for") != "message":
		return sunlamp.Invalid("for should be equal to one of the allowed values: message")
	}
	forMessage := q.Get("for") == "message"
	mr, err := r.MultipartReader()
	if err != nil {
		return sunlamp.Invalid("The request body should be multipart/form-data with a part named source")
	}
	var part io.Reader
	var filename string
	for part == nil {
		p, err := mr.NextPart()
		if err == io.EOF {
			return required("source")
		}
		if err != nil {
			return uploadError(err)
		}
		if p.FormName() == "source" {
			part, filename = p, p.FileName()
		}
	}
	br := bufio.NewReaderSize(part, 64<<10)
	head, err := br.Peek(sniffLen)
	if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
		return uploadError(err)
	}
	if len(head) == 0 {
		return sunlamp.Invalid("source should not be empty")
	}
	filename = cleanFilename(filename)
	mediaType := detectMediaType(head, filename)
	if filename == "" {
		filename = "file" + extensionOf(mediaType)
	}
	content := &limitedUpload{r: br, limit: sunlamp.MaxAttachmentSize}
	a, err := s.store.CreateAttachment(r.Context(), sunlamp.Attachment{
		AppID:          r.PathValue("appId"),
		Filename:       filename,
		MediaType:      mediaType,
		ForMessage:     forMessage,
		ConversationID: q.Get("conversationId"),
	}, content)
	if err != nil {
		if content.err != nil { // the upload failed, not the store: nothing was kept
			return uploadError(content.err)
		}
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"attachment": s.attachmentOut(a)})
	return nil
}

// limitedUpload passes an upload through and fails it once it passes limit bytes. It remembers the
// first error it returned, so that the handler can tell a failed upload from a failed store.
type limitedUpload struct {
	r     io.Reader
	n     int64
	limit int64
	err   error
}

func (u *limitedUpload) Read(p []byte) (int, error) {
	if u.err != nil {
		return 0, u.err
	}
	n, err := u.r.Read(p)
	u.n += int64(n)
	if u.n > u.limit {
		u.err = sunlamp.ErrRequestTooLarge
		return 0, u.err
	}
	if err != nil && err != io.EOF {
		u.err = err
	}
	return n, err
}

// uploadError turns an error reading an upload into the client's error: 413 past the limits, 400 for
// a body that ends early or is not well-formed multipart.
func uploadError(err error) error {
	var tooLarge *http.MaxBytesError
	var se *sunlamp.Error
	switch {
	case errors.As(err, &tooLarge):
		return sunlamp.ErrRequestTooLarge
	case errors.As(err, &se):
		return se
	}
	return &sunlamp.Error{Kind: sunlamp.KindInvalid, Code: "bad_request", Title: "source could not be read: the multipart body is malformed or ended early", Cause: err}
}

func (s *Server) handleDeleteAttachment(w http.ResponseWriter, r *http.Request) error {
	var b deleteAttachmentBody
	if err := decodeJSON(r, &b); err != nil {
		return err
	}
	switch {
	case !b.MediaURL.Set:
		return required("mediaUrl")
	case b.MediaURL.Null:
		return sunlamp.Invalid("mediaUrl should be string")
	}
	id, filename, ok := s.parseMediaURL(b.MediaURL.Value)
	if !ok {
		return sunlamp.Invalid("Unsupported media URL for attachment deletion: %s", b.MediaURL.Value)
	}
	// An attachment of another app is not found, like one that never existed: a key learns nothing
	// of other apps.
	appID := r.PathValue("appId")
	a, err := s.store.Attachment(r.Context(), appID, id)
	if err != nil {
		return err
	}
	if a.Filename != filename {
		return sunlamp.ErrAttachmentNotFound
	}
	if err := s.store.DeleteAttachment(r.Context(), appID, id); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct{}{})
	return nil
}

// handleGetAttachmentMedia serves an attachment's bytes at its media URL, without authentication, as
// the service's CDN does: Content-Type is the detected media type; ranges, HEAD and conditional
// requests are answered by http.ServeContent. An unknown or deleted attachment is a 404.
func (s *Server) handleGetAttachmentMedia(w http.ResponseWriter, r *http.Request) {
	// 50 MB to a slow reader may take minutes, but not forever (errors: no deadlines on this conn).
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(mediaWriteTimeout))
	id := r.PathValue("attachmentId")
	if !sunlamp.IsAttachmentID(id) {
		s.writeError(w, r, sunlamp.ErrNotFound)
		return
	}
	a, content, err := s.store.OpenAttachment(r.Context(), id)
	if err != nil {
		if sunlamp.KindOf(err) == sunlamp.KindNotFound {
			err = sunlamp.ErrNotFound
		}
		s.writeError(w, r, err)
		return
	}
	defer content.Close()
	if r.PathValue("filename") != a.Filename {
		s.writeError(w, r, sunlamp.ErrNotFound)
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.MediaType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("ETag", `"`+a.ID+`"`) // the bytes of an id never change
	// A deleted attachment may stay in shared caches this long (the service's CDN: up to 15 minutes).
	h.Set("Cache-Control", "public, max-age=300")
	disposition := "inline"
	if activeContent(a.MediaType) {
		// Uploaded HTML or SVG must not run as a page of this origin: download it, and sandbox it if
		// a browser renders it anyway.
		disposition = "attachment"
		h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	}
	h.Set("Content-Disposition", mime.FormatMediaType(disposition, map[string]string{"filename": a.Filename}))
	http.ServeContent(w, r, "", a.CreatedAt, content)
}

// activeContent reports whether a browser may run scripts in a document of mediaType.
func activeContent(mediaType string) bool {
	base, _, _ := strings.Cut(mediaType, ";")
	switch strings.TrimSpace(base) {
	case "text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml",
		"text/javascript", "application/javascript":
		return true
	}
	return false
}

// cleanFilename keeps the last element of an uploaded file's name (clients may send a path), without
// control characters, at most 128 characters (the spec's altText limit). "" when nothing is left.
func cleanFilename(name string) string {
	if !utf8.ValidString(name) {
		name = strings.ToValidUTF8(name, "_")
	}
	name = path.Base(strings.ReplaceAll(name, `\`, "/"))
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	if name == "." || name == ".." || name == "/" {
		return ""
	}
	if r := []rune(name); len(r) > 128 {
		ext := []rune(path.Ext(name))
		if len(ext) > 16 {
			ext = nil
		}
		name = string(r[:128-len(ext)]) + string(ext)
	}
	return name
}

// detectMediaType returns the media type of a file from its first bytes. http.DetectContentType
// (the WHATWG sniffing algorithm) is completed with signatures it lacks (HEIC, AVIF, QuickTime, FLAC,
// TIFF, RTF, 7z, MP3 and AAC without tags). The file name's extension only refines a family the bytes
// prove (a zip that is a .docx, a text that is a .csv); it never decides alone.
func detectMediaType(head []byte, filename string) string {
	ext := strings.ToLower(path.Ext(filename))
	if t := sniffMore(head, ext); t != "" {
		return t
	}
	t := http.DetectContentType(head)
	switch t {
	case "application/zip":
		if z, ok := zipTypes[ext]; ok {
			return z
		}
	case "text/plain; charset=utf-8", "text/xml; charset=utf-8":
		if bytes.Contains(bytes.ToLower(head), []byte("<svg")) {
			return "image/svg+xml"
		}
		if t == "text/plain; charset=utf-8" {
			if x, ok := textTypes[ext]; ok {
				return x
			}
		}
	}
	return t
}

// sniffMore recognises signatures that http.DetectContentType does not know.
func sniffMore(b []byte, ext string) string {
	has := func(off int, sig string) bool { return len(b) >= off+len(sig) && string(b[off:off+len(sig)]) == sig }
	switch {
	case has(4, "ftyp") && len(b) >= 12:
		switch string(b[8:12]) {
		case "heic", "heix", "hevc", "hevx", "heim", "heis", "hevm", "hevs":
			return "image/heic"
		case "mif1", "msf1":
			return "image/heif"
		case "avif", "avis":
			return "image/avif"
		case "qt  ":
			return "video/quicktime"
		case "M4A ", "M4B ":
			return "audio/mp4"
		case "3gp4", "3gp5", "3gp6", "3gp7", "3ge6", "3ge7", "3gg6":
			return "video/3gpp"
		}
	case has(0, "fLaC"):
		return "audio/flac"
	case has(0, "II*\x00"), has(0, "MM\x00*"):
		return "image/tiff"
	case has(0, `{\rtf`):
		return "application/rtf"
	case has(0, "7z\xBC\xAF\x27\x1C"):
		return "application/x-7z-compressed"
	case has(0, "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1"): // OLE compound file: legacy Office documents
		if t, ok := oleTypes[ext]; ok {
			return t
		}
		return "application/x-ole-storage"
	case len(b) >= 2 && b[0] == 0xFF && (b[1] == 0xF1 || b[1] == 0xF9):
		return "audio/aac"
	case len(b) >= 2 && b[0] == 0xFF && (b[1] == 0xFB || b[1] == 0xF3 || b[1] == 0xF2):
		return "audio/mpeg"
	}
	return ""
}

var zipTypes = map[string]string{
	".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
	".odt":  "application/vnd.oasis.opendocument.text",
	".ods":  "application/vnd.oasis.opendocument.spreadsheet",
	".odp":  "application/vnd.oasis.opendocument.presentation",
	".epub": "application/epub+zip",
}

var oleTypes = map[string]string{
	".doc": "application/msword",
	".xls": "application/vnd.ms-excel",
	".ppt": "application/vnd.ms-powerpoint",
	".msg": "application/vnd.ms-outlook",
}

var textTypes = map[string]string{
	".csv":  "text/csv; charset=utf-8",
	".md":   "text/markdown; charset=utf-8",
	".ics":  "text/calendar; charset=utf-8",
	".vcf":  "text/vcard; charset=utf-8",
	".json": "application/json",
}

// extensionOf returns the usual file extension of a media type, "" when there is none to give; used
// to name files uploaded without a name.
func extensionOf(mediaType string) string {
	base, _, _ := strings.Cut(mediaType, ";")
	switch base {
	case "image/jpeg":
		return ".jpg"
	case "image/png":
		return ".png"
	case "image/gif":
		return ".gif"
	case "image/webp":
		return ".webp"
	case "image/bmp":
		return ".bmp"
	case "image/heic":
		return ".heic"
	case "image/heif":
		return ".heif"
	case "image/avif":
		return ".avif"
	case "image/tiff":
		return ".tiff"
	case "image/svg+xml":
		return ".svg"
	case "application/pdf":
		return ".pdf"
	case "application/zip":
		return ".zip"
	case "video/mp4":
		return ".mp4"
	case "video/webm":
		return ".webm"
	case "video/quicktime":
		return ".mov"
	case "audio/mpeg":
		return ".mp3"
	case "audio/wave":
		return ".wav"
	case "audio/ogg", "application/ogg":
		return ".ogg"
	case "audio/aac":
		return ".aac"
	case "audio/flac":
		return ".flac"
	case "audio/mp4":
		return ".m4a"
	case "text/plain":
		return ".txt"
	case "text/html":
		return ".html"
	}
	return ""
}
