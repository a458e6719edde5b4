package sqlstore

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/sunlamp/sunlamp"
)

// TestRecorderScrubFollowsMarks: the flight recorder's scrub of a recorded payload clears every
// field that the snapshot schema marks personal:"erase", wherever the payload carries it for the
// user (profile, user, client, device, user author), and keeps what erasure keeps; its field lists
// are read from the marks, so a field marked later is scrubbed without a change here.
func TestRecorderScrubFollowsMarks(t *testing.T) {
	for _, want := range []struct {
		list []string
		has  []string
	}{
		{wireErase.profile, []string{"givenName", "surname", "email", "avatarUrl", "locale"}},
		{wireErase.user, []string{"metadata", "identities"}},
		{wireErase.channel, []string{"displayName", "avatarUrl", "info", "raw", "pushNotificationToken", "appVersion"}},
	} {
		for _, h := range want.has {
			if !slices.Contains(want.list, h) {
				t.Errorf("%v lacks %s", want.list, h)
			}
		}
	}

	const user = "5963c0d619a30a2e00de36b8"
	planted := func(prefix string, names []string) map[string]any {
		m := map[string]any{}
		for _, n := range names {
			m[n] = "PLANTED-" + prefix + "-" + n
		}
		return m
	}
	withID := func(m map[string]any, kv ...any) map[string]any {
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	userWire := withID(map[string]any{}, "id", user, "externalId", "kept-external-id",
		"profile", planted("profile", wireErase.profile))
	for _, n := range wireErase.user {
		userWire[n] = map[string]any{"k": "PLANTED-user-" + n}
	}
	userWire["identities"] = []any{map[string]any{"type": "email", "value": "PLANTED-identity"}}
	payload := map[string]any{"events": []any{map[string]any{"type": "conversation:message", "payload": map[string]any{
		"user":    userWire,
		"client":  withID(planted("client", wireErase.channel), "id", "c1", "externalId", "kept-client-id"),
		"message": map[string]any{"author": withID(planted("author", wireErase.channel), "type", "user", "userId", user), "content": map[string]any{"text": "kept text"}},
		"source":  map[string]any{"device": withID(planted("device", wireErase.channel), "guid", "kept-guid")},
	}}}}
	body, _ := json.Marshal(payload)
	a := scrubAttempt(sunlamp.DeliveryAttempt{UserID: user, RequestBody: body, ResponseBody: []byte("PLANTED-response")})
	if strings.Contains(string(a.RequestBody), "PLANTED") || a.ResponseBody != nil {
		t.Errorf("scrubbed payload still holds erased values: %s (response %q)", a.RequestBody, a.ResponseBody)
	}
	for _, kept := range []string{"kept-external-id", "kept-client-id", "kept text", "kept-guid", `"metadata":{}`, `"identities":[]`} {
		if !strings.Contains(string(a.RequestBody), kept) {
			t.Errorf("scrubbed payload lost %s: %s", kept, a.RequestBody)
		}
	}
}
