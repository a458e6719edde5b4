package apitest

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/sunlamp/sunlamp/client"
)

// Client returns a Go client (package client) of the env's server authenticating with auth, whose
// every request and response is checked against the spec. API tests use it where a typed call reads
// better than a raw request, so that the client is exercised on every run.
func (e *Env) Client(tb testing.TB, auth client.Auth, opts ...client.Option) *client.Client {
	tb.Helper()
	return NewClient(tb, e.URL, auth, opts...)
}

// NewClient returns a client of the server at url (a wrapper around an Env's handler, say) whose
// every request and response is checked against the spec.
func NewClient(tb testing.TB, url string, auth client.Auth, opts ...client.Option) *client.Client {
	tb.Helper()
	opts = append([]client.Option{client.WithHTTPClient(&http.Client{Transport: SpecTransport(tb)})}, opts...)
	c, err := client.New(url, auth, opts...)
	if err != nil {
		tb.Fatalf("new client: %v", err)
	}
	return c
}

// AccountClient returns a client of the env's server with its account key (Basic).
func (e *Env) AccountClient(tb testing.TB, opts ...client.Option) *client.Client {
	tb.Helper()
	return e.Client(tb, client.Basic(e.AccountKey.ID, e.AccountKey.Secret), opts...)
}

// SpecTransport returns an HTTP transport that checks every request it sends (ValidateRequest) and
// every response it gets (ValidateResponse) against the spec.
func SpecTransport(tb testing.TB) http.RoundTripper { return specTransport{tb} }

type specTransport struct{ tb testing.TB }

// RoundTrip validates the request, sends it, and validates the response.
func (s specTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	ValidateRequest(s.tb, req, body)
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	out, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(out))
	ValidateResponse(s.tb, req, body, resp.StatusCode, resp.Header, out)
	return resp, nil
}
