package sunlamp

import (
	"context"
	"crypto/rand"
	"io"
	"strings"
	"time"
)

// Attachment is a file uploaded to an app (UploadAttachment). Its bytes are served without
// authentication at its media URL, as the service's CDN serves them, until it is deleted.
type Attachment struct {
	ID        string // a ULID (26 characters of Crockford base32), the media URL's path segment
	AppID     string
	Filename  string // the last segment of the media URL: the uploaded file's name, or one made up from MediaType
	MediaType string // detected from the bytes, never taken from the request
	Size      int64  // bytes
	// ForMessage is set by for=message: the attachment is deleted with the conversation it was
	// uploaded for, with the message that first uses it, and with the user who authored that message.
	ForMessage     bool
	ConversationID string // for=message only: the conversation it belongs to, "" when none yet
	MessageID      string // for=message only: the first message that used it, "" until then
	UserID         string // for=message only: the user who authored that message, "" when none
	CreatedAt      time.Time
}

// MaxAttachmentSize is the spec's limit on an uploaded file: 50 MB (taken as 50 MiB).
const MaxAttachmentSize = 50 << 20

// Attachment errors with the spec's codes and titles.
var (
	ErrAttachmentNotFound = &Error{Kind: KindNotFound, Code: "not_found", Title: "Attachment not found"}
)

// AttachmentStore keeps attachments: their records and their bytes.
type AttachmentStore interface {
	// CreateAttachment stores a (ID, Size and CreatedAt are set by the store) with the bytes read from
	// content until EOF, and returns it. The bytes are streamed to storage, never held in memory whole.
	// If reading content fails, nothing is kept and the read error is returned wrapped. It returns
	// app_not_found when the app does not exist, and conversation_not_found when a.ConversationID
	// names no conversation of the app.
	CreateAttachment(ctx context.Context, a Attachment, content io.Reader) (Attachment, error)
	// Attachment returns the attachment id of app appID, or ErrAttachmentNotFound.
	Attachment(ctx context.Context, appID, id string) (Attachment, error)
	// OpenAttachment returns the attachment id, whatever its app (media URLs are public), and a
	// reader of its bytes that the caller closes. It returns ErrAttachmentNotFound if there is none.
	OpenAttachment(ctx context.Context, id string) (Attachment, io.ReadSeekCloser, error)
	// DeleteAttachment removes the attachment id of app appID and its bytes, or returns
	// ErrAttachmentNotFound.
	DeleteAttachment(ctx context.Context, appID, id string) error
}

// crockford is the alphabet of ULIDs.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NewAttachmentID returns a new attachment id: a ULID, as in the service's media URLs
// (…/attachments/v2/01JK699PBZ645YAFJW2RF45F0B/my_file.jpeg). 48 bits of Unix milliseconds and 80
// random bits: media URLs are served without authentication, so their ids must not be guessable.
func NewAttachmentID() string {
	var b [16]byte
	ms := uint64(time.Now().UnixMilli())
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	if _, err := rand.Read(b[6:]); err != nil {
		panic("sunlamp: no randomness: " + err.Error())
	}
	// 128 bits as 26 base32 characters, most significant first, with 2 leading zero bits of padding.
	bit := func(n int) byte { // bit n of the padded 130-bit number, counted from the top
		if n < 2 {
			return 0
		}
		n -= 2
		return b[n/8] >> (7 - n%8) & 1
	}
	var out [26]byte
	for i := range out {
		var v byte
		for j := 0; j < 5; j++ {
			v = v<<1 | bit(i*5+j)
		}
		out[i] = crockford[v]
	}
	return string(out[:])
}

// IsAttachmentID reports whether s has the form of an attachment id.
func IsAttachmentID(s string) bool {
	if len(s) != 26 || s[0] > '7' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' && c != 'I' && c != 'L' && c != 'O' && c != 'U') {
			return false
		}
	}
	return true
}

// MediaPath is the path, under the server's base URL, of the media URLs of attachments:
// {base}/attachments/v2/{id}/{filename}. The service serves them at
// https://{subdomain}.zendesk.com/sc/attachments/v2/{id}/{filename} while its API is at
// https://{subdomain}.zendesk.com/sc/v2/...: the same place relative to the API's base URL.
const MediaPath = "/attachments/v2/"

// AttachmentIDOfURL returns the attachment id of a URL whose path ends in MediaPath + {id}/{filename},
// whatever its host: the store, which does not know the server's base URL, uses it to find the
// attachment an image or file message points at (ids are unguessable and looked up in the message's
// app only, so another host's look-alike URL matches nothing).
func AttachmentIDOfURL(mediaURL string) (string, bool) {
	p := mediaURL
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	i := strings.LastIndex(p, MediaPath)
	if i < 0 {
		return "", false
	}
	id, name, ok := strings.Cut(p[i+len(MediaPath):], "/")
	if !ok || name == "" || strings.Contains(name, "/") || !IsAttachmentID(id) {
		return "", false
	}
	return id, true
}
