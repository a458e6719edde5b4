package client

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/url"
)

// Attachment is an uploaded file: its public URL and media type.
type Attachment struct {
	MediaURL  string `json:"mediaUrl"`
	MediaType string `json:"mediaType"`
}

// UploadOptions qualify an upload: For "message" deletes the file with its message, conversation or
// user; ConversationID ties it to a conversation.
type UploadOptions struct {
	For            string
	ConversationID string
}

// maxUpload is the spec's upload limit.
const maxUpload = 50 << 20

// UploadAttachment uploads the content of r (at most 50 MB, read into memory so that a retry can
// resend it) as a public attachment named filename.
func (c *Client) UploadAttachment(ctx context.Context, appID, filename string, r io.Reader, o UploadOptions) (*Attachment, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxUpload+1))
	if err != nil {
		return nil, fmt.Errorf("client: read attachment: %w", err)
	}
	if len(data) > maxUpload {
		return nil, fmt.Errorf("client: attachment is larger than 50 MB")
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	part, err := mw.CreateFormFile("source", filename)
	if err != nil {
		return nil, err
	}
	part.Write(data)
	if err := mw.Close(); err != nil {
		return nil, err
	}
	q := url.Values{"access": {"public"}}
	if o.For != "" {
		q.Set("for", o.For)
	}
	if o.ConversationID != "" {
		q.Set("conversationId", o.ConversationID)
	}
	raw := body.Bytes()
	var out struct{ Attachment Attachment }
	err = c.do(ctx, request{
		method: "POST", path: appPath(appID, "attachments"), query: q,
		raw:         func() (io.Reader, error) { return bytes.NewReader(raw), nil },
		contentType: mw.FormDataContentType(),
	}, &out)
	if err != nil {
		return nil, err
	}
	return &out.Attachment, nil
}

// DeleteAttachment deletes an uploaded attachment by its media URL.
func (c *Client) DeleteAttachment(ctx context.Context, appID, mediaURL string) error {
	return c.do(ctx, request{method: "POST", path: appPath(appID, "attachments", "remove"), body: map[string]string{"mediaUrl": mediaURL}}, nil)
}
