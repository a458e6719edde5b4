package api

import (
	"net/url"
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
