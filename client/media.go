package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// maxMediaBytes bounds one media download: well above the spec's 50 MB upload limit and the
// channels' media limits, it only stops a misbehaving server from filling the disk.
const maxMediaBytes = 256 << 20

// Media is what GetAttachmentMedia downloaded.
type Media struct {
	MediaType string // the response's Content-Type
	Size      int64  // bytes written to the sink
}

// ErrMediaTooLarge is returned by GetAttachmentMedia for a body over 256 MB.
var ErrMediaTooLarge = errors.New("media file larger than 256 MB")

// GetAttachmentMedia downloads the file at mediaURL (the mediaUrl of a message or of an uploaded
// attachment) into the writer that open returns. It is not an operation of the spec: media URLs are
// plain HTTPS URLs (Sunlamp serves them at {base}/attachments/v2/{id}/{filename}, as the service
// does under its /sc path).
//
// The client's credentials go with the request only when mediaURL is under the client's base URL
// (same scheme and host, below its path), as the service's private attachments need them; any
// other URL is fetched without them. Retries are as for every call; open is called again for each
// attempt that gets a 2xx, and the writer it returns must start empty (truncate the file). A 3xx is
// an *Error wrapping ErrRedirected, never followed; any other non-2xx is an *Error.
func (c *Client) GetAttachmentMedia(ctx context.Context, mediaURL string, open func() (io.Writer, error)) (*Media, error) {
	u, err := url.Parse(mediaURL)
	switch {
	case err != nil:
		return nil, fmt.Errorf("client: media URL: %w", err)
	case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
		return nil, fmt.Errorf("client: media URL: want http(s)://host/path")
	case u.User != nil:
		return nil, fmt.Errorf("client: media URL: a URL with a user name or password is refused")
	}
	u.Fragment, u.RawFragment = "", ""
	if u.EscapedPath() == "" {
		u.Path, u.RawPath = "/", ""
	}
	resp, err := c.send(ctx, request{method: http.MethodGet, path: u.EscapedPath(), target: u, anonymous: !c.IsUnderBaseURL(u), sink: open})
	if err != nil {
		return nil, err
	}
	return &Media{MediaType: resp.Header.Get("Content-Type"), Size: resp.size}, nil
}

// IsUnderBaseURL reports whether u is on the client's scheme and host (port included) and below the
// base URL's path: a URL the client sends its credentials to.
func (c *Client) IsUnderBaseURL(u *url.URL) bool {
	if !strings.EqualFold(u.Scheme, c.base.Scheme) || !strings.EqualFold(u.Host, c.base.Host) || u.User != nil {
		return false
	}
	return strings.HasPrefix(u.EscapedPath(), strings.TrimSuffix(c.base.EscapedPath(), "/")+"/")
}

// readErr remembers an error of the reader it wraps, so that a failed read (the network) can be
// told from a failed write (the sink).
type readErr struct {
	r   io.Reader
	err error
}

func (e *readErr) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}

// stream copies a 2xx body into the request's sink. A body cut short is a *NetworkError, so that a
// GET is retried (into a fresh sink); the sink's own failure is not retried.
func (r request) stream(ctx context.Context, resp *http.Response) (*Response, error) {
	w, err := r.sink()
	if err != nil {
		return nil, fmt.Errorf("client: %s %s: open the destination: %w", r.method, r.path, err)
	}
	body := &readErr{r: io.LimitReader(resp.Body, maxMediaBytes+1)}
	n, err := io.Copy(w, body)
	switch {
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case body.err != nil:
		return nil, &NetworkError{Method: r.method, Path: r.path, Err: body.err}
	case err != nil:
		return nil, fmt.Errorf("client: %s %s: write: %w", r.method, r.path, err)
	case n > maxMediaBytes:
		return nil, fmt.Errorf("client: %s %s: %w", r.method, r.path, ErrMediaTooLarge)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, size: n}, nil
}

// AppPath returns the escaped path /v2/apps/{appId} followed by rest (segments already escaped),
// for callers of Do: AppPath(app, "conversations") lists conversations.
func AppPath(appID string, rest ...string) string { return appPath(appID, rest...) }

// ConversationPath returns the escaped path of a conversation operation, for callers of Do:
// ConversationPath(app, conv, "messages") is "/v2/apps/{app}/conversations/{conv}/messages".
func ConversationPath(appID, convID string, rest ...string) string {
	return convPath(appID, convID, rest...)
}
