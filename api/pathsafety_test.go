package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sunlamp/sunlamp/internal/apitest"
)

// Issue 12, part 1: Go's ServeMux answered a path holding ".", ".." or an empty segment with a
// redirect to the cleaned path. A 307 keeps the method, and clients that follow it resend the
// credentials: DELETE .../users/{id}/clients/.. deleted the user, DELETE .../users/.. the app. These
// tests walk every route of routes.go with such segments in each path parameter.

// apiRoute is one line of routes.go.
type apiRoute struct {
	method  string
	pattern string // "/v2/apps/{appId}/users/{userIdOrExternalId}"
	policy  string // accountOnly, appAccess, ...; "" for s.route (no authentication)
}

// key is the route as "METHOD /path/{}/...", parameter names dropped, to match spec paths by.
func (r apiRoute) key() string { return r.method + " " + normalizePattern(r.pattern) }

var (
	reRouteLine = regexp.MustCompile(`s\.(handle|handleLimited|route)\("([A-Z]+) (/[^"]*)"(?:,\s*(\w+))?`)
	rePathParam = regexp.MustCompile(`\{([^}/]+)\}`)
)

func normalizePattern(p string) string { return rePathParam.ReplaceAllString(p, "{}") }

// parseRoutes reads the routes from routes.go's text, so that a route added there is walked without
// anyone remembering to list it here. It fails t when it finds fewer than 60, so that a change of
// routes.go's shape cannot make the walk pass by walking nothing.
func parseRoutes(t *testing.T) []apiRoute {
	t.Helper()
	src, err := os.ReadFile("routes.go")
	if err != nil {
		t.Fatalf("read routes.go: %v", err)
	}
	var routes []apiRoute
	for _, m := range reRouteLine.FindAllStringSubmatch(string(src), -1) {
		routes = append(routes, apiRoute{method: m[2], pattern: m[3], policy: m[4]})
	}
	if len(routes) < 60 {
		t.Fatalf("found %d routes in routes.go, want at least 60: has its shape changed? (pattern %s)", len(routes), reRouteLine)
	}
	return routes
}

// fixtures are real resources of one app, so that every path parameter of every route has a value
// that exists.
type fixtures struct {
	appID        string
	appKey       apitest.Basic // the app's key
	intKey       apitest.Basic // the custom integration's key
	userID       string
	externalID   string
	clientID     string // a whatsapp client of the user
	deviceID     string
	convID       string
	messageID    string
	customID     string // a custom integration, with a webhook
	whatsappID   string
	webID        string
	webhookID    string
	switchboard  string
	sbBot        string // the switchboard integration of the custom integration
	sbWeb        string // the switchboard integration of the web integration
	mediaURL     string
	attachmentID string
	filename     string
}

// mustFixtures creates the fixtures through the API.
func mustFixtures(t *testing.T, e *apitest.Env) *fixtures {
	t.Helper()
	f := &fixtures{externalID: "steve"}
	f.appID = e.MustCreateApp(t, "Fixtures")
	f.appKey = apitest.KeyAuth(e.MustCreateAppKey(t, f.appID))
	app := "/v2/apps/" + f.appID

	f.customID = createIntegration(t, e, f.appID, f.appKey, customBody("https://example.com/hook", "conversation:message"))
	f.intKey = integrationKey(t, e, f.appID, f.appKey, f.customID)
	r := e.Do(t, "POST", app+"/integrations/"+f.customID+"/webhooks", f.appKey,
		map[string]any{"target": "https://example.com/second", "triggers": []string{"conversation:message"}})
	apitest.MustStatus(t, r, http.StatusCreated)
	f.webhookID = r.JSON(t)["webhook"].(map[string]any)["id"].(string)
	f.whatsappID = createIntegration(t, e, f.appID, f.appKey, map[string]any{"type": "whatsapp"})
	f.webID = createIntegration(t, e, f.appID, f.appKey, map[string]any{"type": "web"})

	f.userID = mustCreate(t, e, usersPath(f.appID), "user", map[string]any{"externalId": f.externalID,
		"profile": map[string]any{"givenName": "Steve", "email": "steve@example.com"}})
	f.convID = mustCreate(t, e, app+"/conversations", "conversation", map[string]any{
		"type": "personal", "participants": []any{map[string]any{"userId": f.userID}}})
	for _, text := range []string{"Hello", "Anyone there?"} {
		r := e.Do(t, "POST", app+"/conversations/"+f.convID+"/messages", f.appKey, business(text))
		apitest.MustStatus(t, r, http.StatusCreated)
		f.messageID = r.JSON(t)["messages"].([]any)[0].(map[string]any)["id"].(string)
	}
	f.clientID = mustCreate(t, e, usersPath(f.appID, f.externalID, "clients"), "client", whatsappClientBody(f))
	apitest.MustStatus(t, e.Do(t, "POST", "/_sunlamp/v1/apps/"+f.appID+"/inbound", f.appKey, map[string]any{
		"channel": "sdk", "integrationId": f.webID, "user": map[string]any{"externalId": f.externalID},
		"device": map[string]any{"type": "web", "guid": "f1c7abea2d49429db10094be820d5f80"}}), http.StatusCreated)
	r = e.Do(t, "GET", usersPath(f.appID, f.externalID, "devices"), f.appKey, nil)
	apitest.MustStatus(t, r, http.StatusOK)
	f.deviceID = r.JSON(t)["devices"].([]any)[0].(map[string]any)["id"].(string)

	f.switchboard = createSwitchboard(t, e, f.appID, f.appKey)
	sis := app + "/switchboards/" + f.switchboard + "/switchboardIntegrations"
	f.sbBot = createSwitchboardIntegration(t, e, sis, f.appKey, map[string]any{"name": "bot", "integrationId": f.customID})
	f.sbWeb = createSwitchboardIntegration(t, e, sis, f.appKey, map[string]any{"name": "agent", "integrationId": f.webID})

	body, ctype := multipartBody(t, part{"source", "cat.png", "image/png", pngBytes})
	r = e.DoHeader(t, "POST", app+"/attachments?access=public", f.appKey, body, http.Header{"Content-Type": {ctype}})
	apitest.MustStatus(t, r, http.StatusCreated)
	f.mediaURL = r.JSON(t)["attachment"].(map[string]any)["mediaUrl"].(string)
	m := regexp.MustCompile(`/attachments/v2/([^/]+)/([^/]+)$`).FindStringSubmatch(f.mediaURL)
	if m == nil {
		t.Fatalf("got mediaUrl %q, want .../attachments/v2/{attachmentId}/{filename}", f.mediaURL)
	}
	f.attachmentID, f.filename = m[1], m[2]
	return f
}

func whatsappClientBody(f *fixtures) map[string]any {
	return map[string]any{
		"matchCriteria": map[string]any{"type": "whatsapp", "integrationId": f.whatsappID, "phoneNumber": "+1 212-555-2368"},
		"confirmation":  map[string]any{"type": "immediate"},
		"target":        map[string]any{"conversationId": f.convID},
	}
}

// param returns the real value of a path parameter of the route with pattern, or "" if there is none.
func (f *fixtures) param(pattern, name string) string {
	switch name {
	case "appId":
		return f.appID
	case "keyId":
		if strings.Contains(pattern, "/integrations/{integrationId}/keys/") {
			return f.intKey.ID
		}
		return f.appKey.ID
	case "userIdOrExternalId":
		return f.externalID
	case "userId": // a deletion receipt's: the internal id the user has
		return f.userID
	case "clientId":
		return f.clientID
	case "deviceId":
		return f.deviceID
	case "conversationId":
		return f.convID
	case "messageId":
		return f.messageID
	case "integrationId":
		return f.customID
	case "webhookId":
		return f.webhookID
	case "switchboardId":
		return f.switchboard
	case "switchboardIntegrationId":
		return f.sbBot
	case "attachmentId":
		return f.attachmentID
	case "filename":
		return f.filename
	case "file": // the web messenger's files (issue 14)
		return "app.js"
	case "oauthClientId": // an OAuth client (issue 18): the built-in one always exists
		return "zd:agentWorkspace"
	case "asset": // the OAuth consent page's stylesheet
		return "consent.css"
	case "zendeskId": // SyncUser: no user of the fixtures is linked to a core Zendesk user
		return "zendesk-1"
	}
	return ""
}

// auth returns the credentials that may call a route of policy with real parameters: the account
// key, but the app's key for the Webhooks operations, which the spec does not open to the account.
func (f *fixtures) auth(e *apitest.Env, policy string) apitest.Basic {
	if policy == "appOrOwnIntegration" {
		return f.appKey
	}
	return e.Account()
}

// body returns a body that the operation "METHOD /path/{}/..." would take with real parameters, so
// that a request reaches as far as it can; "{}" for operations without one here.
func (f *fixtures) body(op string) map[string]any {
	switch op {
	case "POST /v2/apps":
		return map[string]any{"displayName": "Another"}
	case "PATCH /v2/apps/{}":
		return map[string]any{"displayName": "Renamed"}
	case "POST /v2/apps/{}/keys", "POST /v2/apps/{}/integrations/{}/keys":
		return map[string]any{"displayName": "another key"}
	case "POST /v2/apps/{}/users":
		return map[string]any{"externalId": "newcomer", "profile": map[string]any{"givenName": "New"}}
	case "PATCH /v2/apps/{}/users/{}":
		return map[string]any{"profile": map[string]any{"givenName": "Changed"}, "metadata": map[string]any{"a": "b"}}
	case "POST /v2/apps/{}/users/{}/clients":
		return whatsappClientBody(f)
	case "POST /_sunlamp/v1/apps/{}/inbound":
		return map[string]any{"channel": "sdk", "integrationId": f.webID, "user": map[string]any{"externalId": f.externalID}}
	case "POST /v2/apps/{}/conversations":
		return map[string]any{"type": "sdkGroup", "displayName": "Group", "participants": []any{map[string]any{"userId": f.userID, "subscribeSDKClient": false}}}
	case "PATCH /v2/apps/{}/conversations/{}":
		return map[string]any{"displayName": "Renamed", "metadata": map[string]any{"a": "b"}}
	case "POST /v2/apps/{}/conversations/{}/join", "POST /v2/apps/{}/conversations/{}/leave":
		return map[string]any{"userId": f.userID}
	case "POST /v2/apps/{}/conversations/{}/messages":
		return business("Hi")
	case "POST /v2/apps/{}/conversations/{}/activity":
		return map[string]any{"author": map[string]any{"type": "user", "userId": f.userID}, "type": "conversation:read"}
	case "POST /v2/apps/{}/conversations/{}/passControl", "POST /v2/apps/{}/conversations/{}/offerControl":
		return map[string]any{"switchboardIntegration": "next", "metadata": map[string]any{"a": "b"}}
	case "POST /v2/apps/{}/integrations":
		return customBody("https://example.com/other", "conversation:message")
	case "PATCH /v2/apps/{}/integrations/{}":
		return map[string]any{"displayName": "Renamed"}
	case "POST /v2/apps/{}/integrations/{}/webhooks":
		return map[string]any{"target": "https://example.com/third", "triggers": []string{"conversation:message"}}
	case "PATCH /v2/apps/{}/integrations/{}/webhooks/{}":
		return map[string]any{"target": "https://example.com/moved"}
	case "PATCH /v2/apps/{}/switchboards/{}":
		return map[string]any{"enabled": false}
	case "POST /v2/apps/{}/switchboards/{}/switchboardIntegrations":
		return map[string]any{"name": "another", "integrationType": "whatsapp"}
	case "PATCH /v2/apps/{}/switchboards/{}/switchboardIntegrations/{}":
		return map[string]any{"name": "renamed", "nextSwitchboardIntegrationId": f.sbWeb}
	case "POST /v2/apps/{}/attachments/remove":
		return map[string]any{"mediaUrl": f.mediaURL}
	}
	return map[string]any{}
}

// query returns the query that the operation "METHOD /path/{}/..." needs with real parameters ("" for
// most): ListUsers and ListConversations require a filter.
func (f *fixtures) query(op string) string {
	switch op {
	case "GET /v2/apps/{}/users":
		return "filter[identities.email]=steve%40example.com"
	case "GET /v2/apps/{}/conversations":
		return "filter[userId]=" + f.userID
	}
	return ""
}

// noRedirects is a client that shows a redirect instead of following it: following one is how a
// DELETE of .../clients/.. became a DELETE of the user.
var noRedirects = &http.Client{
	Timeout:       30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// rawRequest returns a request whose request line carries rawPath exactly as given: dot segments,
// empty segments and escapes are neither cleaned nor re-escaped on the way. It fails t if the
// request target would differ from rawPath (and query).
func rawRequest(t *testing.T, method, base, rawPath, rawQuery string, auth apitest.Auth, body []byte, ctype string) *http.Request {
	t.Helper()
	target := base + rawPath
	if rawQuery != "" {
		target += "?" + rawQuery
	}
	req, err := http.NewRequest(method, target, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("new request %s %s: %v", method, rawPath, err)
	}
	// Opaque is written as the request target as it is; a target starting with "//" would be taken
	// for a scheme-relative URL there, but then the parsed path is written unchanged anyway.
	if !strings.HasPrefix(rawPath, "//") {
		req.URL.Opaque = rawPath
	}
	want := rawPath
	if rawQuery != "" {
		want += "?" + rawQuery
	}
	if got := req.URL.RequestURI(); got != want {
		t.Fatalf("request target %q, want %q: the test would not send what it means to", got, want)
	}
	if body != nil {
		req.Header.Set("Content-Type", ctype)
	}
	if a, ok := auth.(apitest.Basic); ok {
		req.SetBasicAuth(a.ID, a.Secret)
	} else if auth != nil {
		t.Fatalf("rawRequest takes Basic auth, got %T", auth)
	}
	return req
}

// send sends req with noRedirects and returns the response with its body read.
func send(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Opaque, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", req.Method, req.URL.Opaque, err)
	}
	return resp, b
}

// errorCode returns the code of the first entry of an error envelope, and whether b is one.
func errorCode(b []byte) (string, bool) {
	var env struct {
		Errors []struct{ Code, Title string } `json:"errors"`
	}
	if err := json.Unmarshal(b, &env); err != nil || len(env.Errors) == 0 || env.Errors[0].Code == "" || env.Errors[0].Title == "" {
		return "", false
	}
	return env.Errors[0].Code, true
}

// The request builder must put the path on the wire as written; a server that sees it proves it.
func mustSendRawPaths(t *testing.T) {
	t.Helper()
	var got []string
	probe := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.RequestURI)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{}`))
	}))
	defer probe.Close()
	paths := []string{"/v2/apps/a/users/..", "/v2/apps/a/./users", "/v2//apps/%2E%2E/%2e/x%2F..", "/v2/apps/a/", "//healthz", "/%00/%FF"}
	for _, p := range paths {
		send(t, rawRequest(t, "DELETE", probe.URL, p, "", nil, nil, ""))
	}
	if diff := cmp.Diff(paths, got); diff != "" {
		t.Fatalf("the server received other paths than were sent (-sent +received):\n%s", diff)
	}
}

// notPlainGETs are the GET routes that answer something else than 200 with the fixtures' values,
// and why; their own tests walk them.
var notPlainGETs = map[string]string{
	"/oauth/authorize": "Authorize answers 302 to the consent page, as the spec documents (TestOAuthFlow)",
	"/oauth/consent":   "the consent page needs a registered OAuth client (TestOAuthFlow, TestOAuthConsentInChromium)",
	"/v2/tokenInfo":    "GetTokenInfo needs an OAuth integration's token (TestOAuthFlow)",

	"/_sunlamp/v1/zendesk/users/{zendeskUserId}": "needs a core user of the simulated Zendesk directory (TestSyncUser)",

	"/_sunlamp/v1/apps/{appId}/deletions/{userId}": "the fixtures' user is not deleted, so it has no receipt: 404 deletion_not_found (TestAuditTrail)",

	// The emulator's controls answer 404 without --emulator, as the suite's server runs (their own
	// tests run them: TestFaults, TestClock); the recorder's one attempt needs a delivery.
	"/_sunlamp/v1/clock":                                "an emulator control: 404 without --emulator (TestClock)",
	"/_sunlamp/v1/apps/{appId}/faults":                  "an emulator control: 404 without --emulator (TestFaults)",
	"/_sunlamp/v1/apps/{appId}/deliveries/{deliveryId}": "the fixtures record no delivery attempt (TestRecorder)",
}

// dotValues are the path parameter values that name no resource because the path cannot hold them
// as a segment: after cleaning, they would name another resource. Each must be 404 in the envelope.
var dotValues = []string{".", "..", "%2E%2E", "%2e", "%2e%2E", ".%2E", ""}

// slashValues hold an encoded slash: one segment on the wire, a value with "/" (and dots) once
// decoded. No resource has such an id here, so a 4xx in the envelope, never a 500 or a redirect.
var slashValues = []string{"%2F", "x%2F..", "..%2Fx", "%2F..%2F..", "%2f."}

// TestPathSafety walks every route of routes.go with every path parameter in turn replaced by a dot
// segment, an empty segment or an encoded slash, the other parameters real, with credentials that
// may call the route; then a few paths that are no route. Nothing may redirect, every answer is an
// error in the JSON envelope, and the database is the same after the walk as before.
func TestPathSafety(t *testing.T) {
	routes := parseRoutes(t)
	mustSendRawPaths(t)
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		f := mustFixtures(t, e)

		// The fixtures are real: every GET with real parameters answers 200.
		for _, r := range routes {
			if _, other := notPlainGETs[r.pattern]; r.method != "GET" || other {
				continue
			}
			resp, b := send(t, rawRequest(t, "GET", e.URL, r.fill(f, "", ""), f.query(r.key()), f.auth(e, r.policy), nil, ""))
			if resp.StatusCode != http.StatusOK {
				t.Errorf("GET %s with real parameters: got status %d, want 200; body %.300s", r.pattern, resp.StatusCode, b)
			}
		}

		before := e.MustDumpState(t)
		cases := 0
		// check sends method rawPath, with the body that the route of pattern takes ("{}" when
		// pattern is ""), and checks the answer: 404 not_found when dot, else a 4xx.
		check := func(method, pattern, rawPath string, auth apitest.Auth, dot bool) {
			t.Helper()
			cases++
			var body []byte
			ctype := ""
			if method == "POST" || method == "PATCH" {
				body, _ = json.Marshal(f.body(method + " " + normalizePattern(pattern)))
				ctype = "application/json"
			}
			req := rawRequest(t, method, e.URL, rawPath, f.query(method+" "+normalizePattern(pattern)), auth, body, ctype)
			resp, out := send(t, req)
			status := resp.StatusCode
			switch {
			case status >= 300 && status < 400:
				t.Errorf("%s %s: got status %d (Location %q), want no redirect ever", method, rawPath, status, resp.Header.Get("Location"))
				return
			case !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json"):
				t.Errorf("%s %s: got status %d with Content-Type %q, want application/json; body %.200s", method, rawPath, status, resp.Header.Get("Content-Type"), out)
				return
			}
			code, isErr := errorCode(out)
			if dot {
				if status != http.StatusNotFound || code != "not_found" {
					t.Errorf("%s %s: got status %d body %.200s, want 404 not_found in the envelope", method, rawPath, status, out)
					return
				}
			} else if status < 400 || status >= 500 || !isErr {
				t.Errorf("%s %s: got status %d body %.200s, want a 4xx (404 or 400) in the envelope", method, rawPath, status, out)
				return
			}
			apitest.ValidateResponse(t, req, body, status, resp.Header, out)
		}

		for _, r := range routes {
			for _, name := range r.params() {
				for _, v := range dotValues {
					check(r.method, r.pattern, r.fill(f, name, v), f.auth(e, r.policy), true)
				}
				for _, v := range slashValues {
					check(r.method, r.pattern, r.fill(f, name, v), f.auth(e, r.policy), false)
				}
			}
		}

		// Paths that are no route, each with every method: dot and empty segments anywhere.
		app := "/v2/apps/" + f.appID
		user := app + "/users/" + f.externalID
		media := "/attachments/v2/" + f.attachmentID + "/" + f.filename
		extra := []string{
			user + "/clients/..", user + "/clients/.", user + "/clients/%2E%2E", user + "/clients/" + f.clientID + "/..",
			"/v2//apps", "/v2/apps/", app + "/", app + "//users", app + "/./users", app + "/users/./", app + "/users/..",
			user + "/../../..", user + "/..%2F..", app + "/conversations/" + f.convID + "/messages/.",
			app + "/conversations/" + f.convID + "/messages/" + f.messageID + "/..",
			"/v2/apps/..", "/v2/..", "/..", "/.", "//", "/v2/.", "/v2/./apps",
			"/_sunlamp/v1/apps/" + f.appID + "/inbound/..", "/_sunlamp/v1/apps/" + f.appID + "/../" + f.appID + "/inbound", "/_sunlamp//v1",
			media + "/..", "/attachments/v2/" + f.attachmentID + "/./" + f.filename, "/attachments/v2/" + f.attachmentID + "//" + f.filename,
			"/attachments/v2/../" + f.attachmentID + "/" + f.filename, media + "/",
			"/healthz/", "/healthz/..", "/./healthz", "//healthz", "/healthz/.", "/%2E/healthz",
		}
		routeCases := cases
		for _, p := range extra {
			for _, m := range []string{"GET", "POST", "PATCH", "DELETE"} {
				check(m, "", p, e.Account(), true)
			}
		}

		after := e.MustDumpState(t)
		if diff := cmp.Diff(before, after); diff != "" {
			t.Errorf("the walk changed the database (-before +after):\n%s", diff)
		}
		// The walk sent nothing that may change state; the routes still answer with real values.
		resp, b := send(t, rawRequest(t, "GET", e.URL, "/healthz", "", nil, nil, ""))
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET /healthz: got status %d body %s, want 200", resp.StatusCode, b)
		}
		t.Logf("%s: %d routes, %d path cases tried: %d with a route's parameter replaced, %d of paths that are no route (plus %d GETs with real parameters)",
			e.Name, len(routes), cases, routeCases, cases-routeCases, countGETs(routes))
	})
}

func countGETs(routes []apiRoute) int {
	n := 0
	for _, r := range routes {
		if r.method == "GET" {
			n++
		}
	}
	return n
}

// params returns the names of r's path parameters, in order.
func (r apiRoute) params() []string {
	var names []string
	for _, m := range rePathParam.FindAllStringSubmatch(r.pattern, -1) {
		names = append(names, m[1])
	}
	return names
}

// fill returns r's path with every parameter real, but the one named sub, which is raw (already
// escaped as it is to be sent).
func (r apiRoute) fill(f *fixtures, sub, raw string) string {
	return rePathParam.ReplaceAllStringFunc(r.pattern, func(m string) string {
		name := m[1 : len(m)-1]
		if name == sub {
			return raw
		}
		return url.PathEscape(f.param(r.pattern, name))
	})
}
