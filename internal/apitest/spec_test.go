package apitest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	failures []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
}
func (r *recorder) Helper() {}

// The validator must reject responses that break the spec, or the suite proves nothing.
func TestValidateResponseCatchesViolations(t *testing.T) {
	if SpecDir() == "" {
		t.Skip("../shared/spec is absent")
	}
	json := http.Header{"Content-Type": {"application/json"}}
	cases := []struct {
		name   string
		method string
		path   string
		status int
		header http.Header
		body   string
		bad    bool
	}{
		{"valid app", "GET", "/v2/apps/5d8cff3cd55b040010928b5b", 200, json, `{"app":{"id":"5d8cff3cd55b040010928b5b","displayName":"x"}}`, false},
		{"id of the wrong type", "GET", "/v2/apps/5d8cff3cd55b040010928b5b", 200, json, `{"app":{"id":5}}`, true},
		{"error not in the envelope", "GET", "/v2/apps/5d8cff3cd55b040010928b5b", 404, json, `{"error":"nope"}`, true},
		{"not JSON", "GET", "/v2/apps/5d8cff3cd55b040010928b5b", 200, http.Header{"Content-Type": {"text/plain"}}, `{}`, true},
		{"unknown operation", "GET", "/v2/nothing", 200, json, `{}`, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := &recorder{TB: t}
			req := httptest.NewRequest(c.method, c.path, nil)
			ValidateResponse(rec, req, nil, c.status, c.header, []byte(c.body))
			if got := len(rec.failures) > 0; got != c.bad {
				t.Errorf("got failures %v, want failing=%v", rec.failures, c.bad)
			}
		})
	}
}
