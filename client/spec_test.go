package client

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/sunlamp/sunlamp/internal/apitest"
)

// specTransport checks every request the client sends, and every response it gets, against the
// spec (../shared/spec/openapi.yaml): the client's request shapes are the service's.
type specTransport struct {
	tb testing.TB
}

func (s specTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	apitest.ValidateRequest(s.tb, req, body)
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
	apitest.ValidateResponse(s.tb, req, body, resp.StatusCode, resp.Header, out)
	return resp, nil
}
