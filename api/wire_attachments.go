package api

import (
	"net/url"
	"strings"

	"github.com/sunlamp/sunlamp"
)

// attachmentWire is the spec's attachment: what an upload answers, and nothing else.
type attachmentWire struct {
	MediaURL  string `json:"mediaUrl"`
	MediaType string `json:"mediaType"`
}

func (s *Server) attachmentOut(a sunlamp.Attachment) attachmentWire {
	return attachmentWire{MediaURL: s.mediaURL(a), MediaType: a.MediaType}
}

// deleteAttachmentBody is DeleteAttachment's body.
type deleteAttachmentBody struct {
	MediaURL Nullable[string] `json:"mediaUrl"`
}

// mediaPath is where attachments are served, under the base URL (see sunlamp.MediaPath).
const mediaPath = sunlamp.MediaPath

// mediaURL returns the public URL of an attachment's bytes.
func (s *Server) mediaURL(a sunlamp.Attachment) string {
	return s.baseURL + mediaPath + a.ID + "/" + url.PathEscape(a.Filename)
}

// parseMediaURL returns the attachment id and file name of one of this server's media URLs: same host
// as the base URL (the scheme is not compared: a proxy may terminate TLS), path under the base URL's
// path. ok is false for any other URL.
//
// The messages code uses it for image and file messages: an id it returns names an attachment whose
// mediaType and mediaSize the message gets (see sqlstore's attachmentForMessage and claimAttachment).
func (s *Server) parseMediaURL(raw string) (id, filename string, ok bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil {
		return "", "", false
	}
	base, err := url.Parse(s.baseURL)
	if err != nil || !strings.EqualFold(u.Host, base.Host) {
		return "", "", false
	}
	rest, found := strings.CutPrefix(u.EscapedPath(), strings.TrimRight(base.EscapedPath(), "/")+mediaPath)
	if !found {
		return "", "", false
	}
	id, escName, found := strings.Cut(rest, "/")
	if !found || !sunlamp.IsAttachmentID(id) || escName == "" || strings.Contains(escName, "/") {
		return "", "", false
	}
	filename, err = url.PathUnescape(escName)
	if err != nil {
		return "", "", false
	}
	return id, filename, true
}
