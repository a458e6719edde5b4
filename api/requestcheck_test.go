package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/sunlamp/sunlamp"
)

func TestRoutablePath(t *testing.T) {
	for _, tc := range []struct {
		path string
		want bool
	}{
		{"/v2/apps/a/users/u", true},
		{"/v2/apps/a/users/john.doe", true},
		{"/v2/apps/a/users/a%2Fb", true}, // an encoded slash is an id like any other: not found below
		{"/v2/apps/a/users/..", false},
		{"/v2/apps/a/users/.", false},
		{"/v2/apps/a/users/%2E%2E", false},
		{"/v2/apps/a/users/%2e", false},
		{"/v2/apps/a/users/x%2F..", false},
		{"/v2/apps/a/users/..%2Fx", false},
		{"/v2/apps/a/users/a%2F%2Fb/clients", false}, // the mux would clean the decoded "//"
		{"/v2/apps/a/users//clients", false},
		{"/v2//apps", false},
		{"/v2/apps/a/", false},
		{"/v2/apps/a/users/%00", false},
		{"/v2/apps/a/users/%FF", false},
		{"/", true},
		{"/healthz", true},
	} {
		u, err := url.Parse("http://h" + tc.path)
		if err != nil {
			t.Fatalf("parse %s: %v", tc.path, err)
		}
		if got := routablePath(u); got != tc.want {
			t.Errorf("routablePath(%s): got %v, want %v", tc.path, got, tc.want)
		}
	}
}

func TestCheckJSONText(t *testing.T) {
	for _, tc := range []struct {
		body string
		want string // the error's title, "" for none
	}{
		{`{"externalId":"a"}`, ""},
		{`{"externalId":"caf\u00e9 \ud83d\ude00 \\u0000"}`, ""}, // an escaped backslash then text "u0000"
		{`{"externalId":"a\u0000b"}`, "externalId must be valid UTF-8 without NUL characters"},
		{"{\"externalId\":\"a\xffb\"}", "externalId must be valid UTF-8 without NUL characters"},
		{`{"profile":{"givenName":"\ud800"}}`, "profile.givenName must be valid UTF-8 without NUL characters"},
		{`{"profile":{"givenName":"\udc00x"}}`, "profile.givenName must be valid UTF-8 without NUL characters"},
		{`{"content":{"type":"text","actions":[{"text":"ok"},{"text":"\u0000"}]}}`, "content.actions[1].text must be valid UTF-8 without NUL characters"},
		{`{"metadata":{"a\u0000":1}}`, "metadata must be valid UTF-8 without NUL characters"},
		{`{"metadata":{"a":1,"b":["x",{"c":"\u0000"}]}}`, "metadata.b[1].c must be valid UTF-8 without NUL characters"},
		{`["\u0000"]`, "[0] must be valid UTF-8 without NUL characters"},
		{`"\u0000"`, "The request body must be valid UTF-8 without NUL characters"},
		{`{"a":`, ""}, // malformed: the decoder's business
	} {
		err := checkJSONText([]byte(tc.body))
		got := ""
		if err != nil {
			got = sunlamp.AsError(err).Title
		}
		if got != tc.want {
			t.Errorf("checkJSONText(%q): got %q, want %q", tc.body, got, tc.want)
		}
	}
}

// TestServerAnswersBeforeRouting: what ServeHTTP refuses before any route runs is answered in the
// envelope, never by the mux (a redirect, plain text).
func TestServerAnswersBeforeRouting(t *testing.T) {
	s := NewServer(Config{}) // no store: nothing here may reach one
	for _, tc := range []struct {
		name   string
		req    func() *http.Request
		status int
		code   string
	}{
		{"headers over 64 KiB", func() *http.Request {
			r := httptest.NewRequest("GET", "/v2/apps/a", nil)
			r.Header.Set("X-Big", strings.Repeat("a", maxHeaderBytes))
			return r
		}, http.StatusRequestHeaderFieldsTooLarge, "request_header_fields_too_large"},
		{"dot-dot segment", func() *http.Request {
			r := httptest.NewRequest("DELETE", "/v2/apps/a/users/x", nil)
			r.URL.Path, r.URL.RawPath = "/v2/apps/a/users/..", ""
			return r
		}, http.StatusNotFound, "not_found"},
		{"empty segment", func() *http.Request {
			r := httptest.NewRequest("DELETE", "/v2/apps//users", nil)
			return r
		}, http.StatusNotFound, "not_found"},
	} {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, tc.req())
		var body errorBody
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || len(body.Errors) != 1 {
			t.Errorf("%s: got body %q, want the JSON envelope", tc.name, rec.Body.String())
			continue
		}
		if rec.Code != tc.status || body.Errors[0].Code != tc.code || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
			t.Errorf("%s: got %d %s %q, want %d %s in JSON", tc.name, rec.Code, body.Errors[0].Code, rec.Header().Get("Content-Type"), tc.status, tc.code)
		}
	}
}
