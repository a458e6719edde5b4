// Package client is a Go client for the Sunshine Conversations REST API v2, as served by Sunlamp and
// by the real service: the same code works against either by changing only the base URL and key.
//
// Every operation is a method named after the spec's operationId (GetUser for GetUser), takes a
// context.Context, and returns the spec's response shape. Requests that fail with 429 or a 5xx are
// retried with exponential backoff and jitter, honouring Retry-After; other 4xx are never retried.
// A failed call returns an *Error with the status and the errors[] codes and titles.
//
// Names: in this package Client is the API client; the spec's Client (a user's connection on a
// channel, sunlamp.Client in the server) is UserClient. A variable holding a *Client is c, never
// client, which would hide the package.
//
// The client never follows a redirect: a 3xx comes back as an *Error wrapping ErrRedirected. A call
// with a path id that is "", "." or ".." is refused before anything is sent (ErrInvalidID).
//
//	c, err := client.New("http://127.0.0.1:8090", client.Basic(keyID, secret))
//	user, err := c.DeleteUserPersonalInformation(ctx, appID, "customer-42")
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// UserAgent is sent with every request unless WithUserAgent says otherwise.
const UserAgent = "sunlamp-go-client/1"

// maxResponseBytes bounds what the client reads of one response body.
const maxResponseBytes = 64 << 20

// Client calls one Sunshine Conversations v2 endpoint with one set of credentials. It is safe for
// concurrent use.
type Client struct {
	base      *url.URL
	http      *http.Client
	auth      Auth
	retry     RetryPolicy
	pacer     *Pacer
	userAgent string
	sleep     func(context.Context, time.Duration) error
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient makes the client send its requests through hc's transport, timeout and cookie jar
// (default: a client with a 60s timeout). The client uses a copy of hc whose CheckRedirect refuses
// every redirect (see refuseRedirect); hc itself is left as it is.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.http = hc } }

// WithRetry replaces the default retry policy.
func WithRetry(p RetryPolicy) Option { return func(c *Client) { c.retry = p } }

// WithPacer makes the client share p with every other client using it: a 429 seen by one request
// slows all of them down. See Pacer.
func WithPacer(p *Pacer) Option { return func(c *Client) { c.pacer = p } }

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// New returns a client for the API at baseURL (for example "https://api.smooch.io" or
// "http://127.0.0.1:8090"; a path such as "/sc" is kept) authenticating with auth.
func New(baseURL string, auth Auth, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil {
		return nil, fmt.Errorf("client: base URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("client: base URL %q: want http(s)://host[:port][/path]", baseURL)
	}
	c := &Client{
		base:      u,
		http:      &http.Client{Timeout: 60 * time.Second},
		auth:      auth,
		retry:     DefaultRetryPolicy(),
		userAgent: UserAgent,
		sleep:     sleepCtx,
	}
	for _, o := range opts {
		o(c)
	}
	if err := checkPath(u.EscapedPath(), true); err != nil {
		return nil, fmt.Errorf("client: base URL %q: %w", baseURL, err)
	}
	// A copy, so that a caller's http.Client keeps its own redirect policy for its other uses.
	hc := *c.http
	hc.CheckRedirect = refuseRedirect
	c.http = &hc
	return c, nil
}

// refuseRedirect is the CheckRedirect of every Client: no redirect is followed, whatever the method,
// and the 3xx comes back to send as the response, which makes it an *Error (see ErrRedirected).
//
// Why every redirect and not only those of unsafe methods: neither the v2 API nor Sunlamp ever
// answers with a redirect, so one means that something between the caller and the API is rewriting
// the request. The case that made this rule was net/http's ServeMux answering a path with "." or ".."
// segments by a 307 to the cleaned path: following it sent "DELETE /v2/apps/A/users/.." on as
// "DELETE /v2/apps/A", with the same credentials, and deleted the app. A GET followed the same way
// reads another resource than the one asked for (and net/http would resend the Authorization header
// to the same host on another port, or over plain http). The other cause, a base URL that redirects
// (http to https, a moved host), is better fixed in the base URL than silently followed with the
// key. Nothing is lost: a redirect never leads to the resource the caller named.
func refuseRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// BaseURL returns the base URL the client calls.
func (c *Client) BaseURL() string { return c.base.String() }

// seg percent-encodes one path segment as the official JavaScript client's encodeURIComponent does,
// so that an externalId such as "a/b c" stays one segment.
func seg(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || strings.IndexByte("-_.!~*'()", ch) >= 0 {
			b.WriteByte(ch)
		} else {
			fmt.Fprintf(&b, "%%%02X", ch)
		}
	}
	return b.String()
}

// ErrInvalidID is wrapped by the error of a call one of whose path ids (an appId, a user id or
// externalId, a conversation, message, client, device, integration, key, webhook, switchboard or
// switchboard integration id) is "", "." or "..". Such a call is refused before anything is sent:
// a "." or ".." segment, or an empty one, makes the URL name another resource (the parent of the one
// meant, once the path is cleaned by a server or a proxy), so no such id can be sent safely.
var ErrInvalidID = errors.New(`an id in the path is "", "." or ".."`)

// checkPath returns an error wrapping ErrInvalidID when the escaped path p has a segment that is
// empty, "." or ".." (also when percent-encoded, as "%2E%2E"), and an error when p does not begin
// with "/". The path of a base URL (base true) may also be empty. Every request's path goes through
// it in send, so this one check covers every operation and every caller of Do: seg, which escapes
// one id, cannot fail, and the paths are built by joining its results.
func checkPath(p string, base bool) error {
	if base {
		p = strings.TrimSuffix(p, "/")
		if p == "" {
			return nil
		}
	}
	if !strings.HasPrefix(p, "/") {
		return fmt.Errorf("path %q does not begin with /", p)
	}
	for i, s := range strings.Split(p[1:], "/") {
		d, err := url.PathUnescape(s)
		if err != nil {
			return fmt.Errorf("path segment %d: %w", i+1, err)
		}
		if d == "" || d == "." || d == ".." {
			return fmt.Errorf("path segment %d is %q: %w", i+1, d, ErrInvalidID)
		}
	}
	return nil
}

// appPath is /v2/apps/{appId} followed by rest, segments already escaped.
func appPath(appID string, rest ...string) string {
	var b strings.Builder
	b.WriteString("/v2/apps/")
	b.WriteString(seg(appID))
	for _, r := range rest {
		b.WriteByte('/')
		b.WriteString(r)
	}
	return b.String()
}

// request is one call: method, escaped path, query, and a JSON body (nil for none).
type request struct {
	method string
	path   string
	query  url.Values
	body   any
	// raw, when set, makes the body sent with contentType (a multipart upload, or the encoded body);
	// it is called for every attempt.
	raw         func() (io.Reader, error)
	contentType string
	// target, when set, is the absolute URL to call instead of the base URL followed by path (a
	// media URL); path is then its escaped path.
	target *url.URL
	// anonymous sends no credentials (a media URL outside the base URL).
	anonymous bool
	// sink, when set, receives the body of a 2xx response instead of Response.Body; it is called
	// again for each attempt (see GetAttachmentMedia).
	sink func() (io.Writer, error)
}

// Response is what a call returned, for callers that need more than the decoded body (the CLI prints
// the status and the body as they came).
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	size   int64 // bytes streamed to a request's sink, whose Body is nil
}

// do sends r with retries and decodes a successful JSON body into out (unless out is nil).
func (c *Client) do(ctx context.Context, r request, out any) error {
	resp, err := c.send(ctx, r)
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if len(resp.Body) == 0 {
		return fmt.Errorf("client: %s %s: %d: %w", r.method, r.path, resp.Status, errNoBody)
	}
	if err := json.Unmarshal(resp.Body, out); err != nil {
		return fmt.Errorf("client: %s %s: decode %d response: %w", r.method, r.path, resp.Status, err)
	}
	return nil
}

// Do sends a request to path (escaped, beginning with /v2/...) with query and body (JSON-encoded
// unless nil) and returns the response when its status is 2xx; otherwise an *Error, which also
// carries the response. It retries as the client's policy says. Do is the escape hatch for
// operations this package does not wrap, and what the command line uses to print bodies as they came.
func (c *Client) Do(ctx context.Context, method, path string, query url.Values, body any) (*Response, error) {
	return c.send(ctx, request{method: method, path: path, query: query, body: body})
}

// send performs r, retrying on 429, 5xx and (for idempotent methods) network errors.
func (c *Client) send(ctx context.Context, r request) (*Response, error) {
	if r.body != nil && r.raw == nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return nil, fmt.Errorf("client: encode %s %s body: %w", r.method, r.path, err)
		}
		r.raw = func() (io.Reader, error) { return bytes.NewReader(b), nil }
		r.contentType = "application/json"
	}
	// Before anything is sent: an id that is "", "." or ".." would make the path name another
	// resource. Here rather than in seg so that Do's callers are held to it as well.
	if err := checkPath(r.path, false); err != nil {
		return nil, fmt.Errorf("client: %s %s: %w", r.method, r.path, err)
	}
	var target string
	if r.target != nil {
		target = r.target.String()
	} else {
		u := *c.base
		u.RawPath = c.base.EscapedPath() + r.path
		p, err := url.PathUnescape(u.RawPath)
		if err != nil {
			return nil, fmt.Errorf("client: bad path %q: %w", r.path, err)
		}
		u.Path = p
		u.RawQuery = encodeQuery(r.query)
		target = u.String()
	}
	for attempt := 1; ; attempt++ {
		if c.pacer != nil {
			if err := c.pacer.wait(ctx, c.sleep); err != nil {
				return nil, err
			}
		}
		resp, err := c.once(ctx, r, target)
		retryable, wait := c.retry.decide(r.method, attempt, resp, err)
		if resp != nil && resp.Status == http.StatusTooManyRequests && c.pacer != nil {
			c.pacer.throttled(retryAfter(resp.Header, time.Now()))
		} else if err == nil && resp.Status < 300 && c.pacer != nil {
			c.pacer.succeeded()
		}
		if !retryable {
			if err != nil {
				return nil, err
			}
			if resp.Status >= 300 {
				return resp, newError(r.method, r.path, resp)
			}
			return resp, nil
		}
		if err := c.sleep(ctx, wait); err != nil {
			if err2 := ctx.Err(); err2 != nil {
				return nil, err2
			}
			return nil, err
		}
	}
}

// once sends one attempt.
func (c *Client) once(ctx context.Context, r request, target string) (*Response, error) {
	var body io.Reader
	if r.raw != nil {
		b, err := r.raw()
		if err != nil {
			return nil, err
		}
		body = b
	}
	req, err := http.NewRequestWithContext(ctx, r.method, target, body)
	if err != nil {
		return nil, fmt.Errorf("client: %s %s: %w", r.method, r.path, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	if c.auth != nil && !r.anonymous {
		if err := c.auth.Apply(req); err != nil {
			return nil, fmt.Errorf("client: authenticate: %w", err)
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its text repeats the URL, which NetworkError has already
		}
		return nil, &NetworkError{Method: r.method, Path: r.path, Err: err}
	}
	defer resp.Body.Close()
	if r.sink != nil && resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return r.stream(ctx, resp)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &NetworkError{Method: r.method, Path: r.path, Err: err}
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// NetworkError is a request that got no HTTP response: connection refused or reset, a timeout, a
// body cut short. Whether the server acted on the request is unknown. Err's text does not name the
// URL, whose path may hold an externalId; Error's does.
type NetworkError struct {
	Method, Path string
	Err          error
}

// Error describes the failure.
func (e *NetworkError) Error() string {
	return fmt.Sprintf("%s %s: %v", e.Method, e.Path, e.Err)
}

// Unwrap returns the transport's error.
func (e *NetworkError) Unwrap() error { return e.Err }

// encodeQuery encodes q with readable brackets (page[after]=...), as the spec's links show them.
func encodeQuery(q url.Values) string {
	if len(q) == 0 {
		return ""
	}
	return strings.NewReplacer("%5B", "[", "%5D", "]").Replace(q.Encode())
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

var errNoBody = errors.New("empty response body")
