package api_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/sunlamp/sunlamp/internal/apitest"
)

// Issue 12, part 2: NUL bytes and invalid UTF-8 in a key id, a path id, a query value or a JSON string
// gave 500s on PostgreSQL (which stores neither), even without credentials. TestSpecFuzz sends such
// values, and very long ones, in every place the spec's operations take text.

// fuzzSeed makes the values (and so the whole run) the same every time.
const fuzzSeed = 12

// specOp is one operation of the spec, and what Sunlamp makes of it.
type specOp struct {
	method, path string // "POST", "/v2/apps/{appId}/users"
	op           *openapi3.Operation
	params       []*openapi3.Parameter
	route        *apiRoute // Sunlamp's route of the operation; nil when it serves none
}

func (o *specOp) key() string { return o.method + " " + normalizePattern(o.path) }

// loadSpecOps returns every operation of ../shared/spec/openapi.yaml, sorted by path and method, each
// with its route in routes.go if there is one. It skips t when the spec folder is absent.
func loadSpecOps(t *testing.T, routes []apiRoute) []*specOp {
	t.Helper()
	dir := apitest.SpecDir()
	if dir == "" {
		t.Skip("../shared/spec/openapi.yaml is absent: the spec-driven fuzz test needs the spec (CI has it in ../shared/spec)")
	}
	data, err := os.ReadFile(filepath.Join(dir, "openapi.yaml"))
	if err != nil {
		t.Fatalf("read spec: %v", err)
	}
	// As internal/apitest/spec.go does: the spec declares `required: true` inside a property schema
	// of the ListUsers filter, which the loader refuses (required is a list there).
	data = regexp.MustCompile("(?m)(profile.email`\\.\n)\\s+required: true\n").ReplaceAll(data, []byte("$1"))
	doc, err := openapi3.NewLoader().LoadFromData(data)
	if err != nil {
		t.Fatalf("load spec: %v", err)
	}
	byKey := map[string]*apiRoute{}
	for i := range routes {
		byKey[routes[i].key()] = &routes[i]
	}
	var ops []*specOp
	for p, item := range doc.Paths.Map() {
		for m, op := range item.Operations() {
			o := &specOp{method: m, path: p, op: op}
			for _, ref := range append(append(openapi3.Parameters{}, item.Parameters...), op.Parameters...) {
				if ref.Value != nil {
					o.params = append(o.params, ref.Value)
				}
			}
			o.route = byKey[o.key()]
			ops = append(ops, o)
		}
	}
	sort.Slice(ops, func(i, j int) bool {
		if ops[i].path != ops[j].path {
			return ops[i].path < ops[j].path
		}
		return ops[i].method < ops[j].method
	})
	if len(ops) < 60 {
		t.Fatalf("found %d operations in the spec, want at least 60", len(ops))
	}
	return ops
}

// bodySchema returns the operation's application/json request body schema, or nil.
func (o *specOp) bodySchema() *openapi3.SchemaRef {
	if o.op.RequestBody == nil || o.op.RequestBody.Value == nil {
		return nil
	}
	mt := o.op.RequestBody.Value.Content.Get("application/json")
	if mt == nil {
		return nil
	}
	return mt.Schema
}

// multipart reports whether the operation takes a multipart/form-data body (UploadAttachment).
func (o *specOp) multipart() bool {
	return o.op.RequestBody != nil && o.op.RequestBody.Value != nil && o.op.RequestBody.Value.Content.Get("multipart/form-data") != nil
}

// bodyField is a place in a JSON body where a string goes: a path such as "content.actions[0].text".
// A free-form object (metadata) gets a member "fuzz"; key means the hostile text is the member's
// name rather than its value.
type bodyField struct {
	path string
	key  bool
}

// stringFields walks a request body schema (properties, items, oneOf/anyOf/allOf, additional
// properties) and returns every place that takes a string, sorted.
func stringFields(s *openapi3.SchemaRef) []bodyField {
	seen := map[bodyField]bool{}
	var walk func(prefix string, s *openapi3.SchemaRef, depth int, onPath map[*openapi3.Schema]bool)
	walk = func(prefix string, s *openapi3.SchemaRef, depth int, onPath map[*openapi3.Schema]bool) {
		if s == nil || s.Value == nil || depth > 10 || onPath[s.Value] {
			return
		}
		v := s.Value
		onPath[v] = true
		defer delete(onPath, v)
		join := func(name string) string {
			if prefix == "" {
				return name
			}
			return prefix + "." + name
		}
		if prefix != "" && v.Type.Is("string") {
			seen[bodyField{path: prefix}] = true
		}
		for name, p := range v.Properties {
			walk(join(name), p, depth+1, onPath)
		}
		if v.Items != nil {
			walk(prefix+"[0]", v.Items, depth+1, onPath)
		}
		for _, list := range []openapi3.SchemaRefs{v.OneOf, v.AnyOf, v.AllOf} {
			for _, x := range list {
				walk(prefix, x, depth+1, onPath)
			}
		}
		if ap := v.AdditionalProperties.Schema; ap != nil {
			walk(join("fuzz"), ap, depth+1, onPath)
		}
		// A free-form object (metadata): any member, any value.
		if prefix != "" && v.Type.Is("object") && len(v.Properties) == 0 && v.AdditionalProperties.Schema == nil &&
			(v.AdditionalProperties.Has == nil || *v.AdditionalProperties.Has) {
			seen[bodyField{path: join("fuzz")}] = true
			seen[bodyField{path: prefix, key: true}] = true
		}
	}
	walk("", s, 0, map[*openapi3.Schema]bool{})
	var out []bodyField
	for f := range seen {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].path != out[j].path {
			return out[i].path < out[j].path
		}
		return !out[i].key
	})
	return out
}

// queryNames returns the query parameters of the operation as sent: a deepObject parameter as one
// name per property ("page[after]", "filter[identities.email]").
func (o *specOp) queryNames() []string {
	var names []string
	for _, p := range o.params {
		if p.In != "query" {
			continue
		}
		var props []string
		if p.Style == "deepObject" && p.Schema != nil && p.Schema.Value != nil {
			for name := range p.Schema.Value.Properties {
				props = append(props, name)
			}
		}
		sort.Strings(props)
		if len(props) == 0 {
			names = append(names, p.Name)
		}
		for _, prop := range props {
			names = append(names, p.Name+"["+prop+"]")
		}
	}
	return names
}

// setPath returns v with the value at path ("a.b[0].c") set to x, creating the objects and arrays on
// the way; v is not changed.
func setPath(v any, path string, x any) any {
	if path == "" {
		return x
	}
	var head, rest string
	if strings.HasPrefix(path, "[0]") {
		rest = strings.TrimPrefix(strings.TrimPrefix(path, "[0]"), ".")
		arr, _ := v.([]any)
		out := append([]any{}, arr...)
		if len(out) == 0 {
			out = []any{nil}
		}
		out[0] = setPath(out[0], rest, x)
		return out
	}
	i := strings.IndexAny(path, ".[")
	if i < 0 {
		head = path
	} else {
		head, rest = path[:i], strings.TrimPrefix(path[i:], ".")
	}
	m, _ := v.(map[string]any)
	out := map[string]any{}
	for k, val := range m {
		out[k] = val
	}
	out[head] = setPath(out[head], rest, x)
	return out
}

// hostile makes the values the test sends, from a fixed seed.
type hostile struct{ rng *rand.Rand }

const alnum = "abcdefghijklmnopqrstuvwxyz0123456789"

func (h *hostile) word() string {
	b := make([]byte, 4+h.rng.IntN(9))
	for i := range b {
		b[i] = alnum[h.rng.IntN(len(alnum))]
	}
	return string(b)
}

// value returns a value of class: "nul" (a NUL somewhere in a word), "utf8" (a 0xFF byte somewhere
// in a word) or "long" (10,000 characters, one in 50 of them not ASCII).
func (h *hostile) value(class string) string {
	switch class {
	case "nul", "utf8":
		w := h.word()
		i := h.rng.IntN(len(w) + 1)
		bad := "\x00"
		if class == "utf8" {
			bad = "\xff"
		}
		return w[:i] + bad + w[i:]
	}
	var b strings.Builder
	for range 10000 {
		if h.rng.IntN(50) == 0 {
			b.WriteString("é")
		} else {
			b.WriteByte(alnum[h.rng.IntN(len(alnum))])
		}
	}
	return b.String()
}

var hostileClasses = []string{"nul", "utf8", "long"}

// show returns a short printable form of a value for failure messages.
func show(v string) string {
	if len(v) > 40 {
		return fmt.Sprintf("%q...(%d bytes)", v[:40], len(v))
	}
	return fmt.Sprintf("%q", v)
}

// jsonText returns v as JSON string contents (without quotes), keeping an invalid UTF-8 byte as the
// raw byte (json.Marshal would replace it) and NUL as \u0000.
func jsonText(v string) []byte {
	if !utf8.ValidString(v) {
		return []byte(v) // a word with a 0xFF byte: nothing else in it needs escaping
	}
	b, _ := json.Marshal(v)
	return b[1 : len(b)-1]
}

// jwtWithKid returns an HS256 token whose header's kid is kidJSON (JSON string contents, as raw
// bytes: they may hold \u0000 or a raw 0xFF).
func jwtWithKid(kidJSON string) string {
	enc := base64.RawURLEncoding
	head := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT","kid":"` + kidJSON + `"}`))
	claims := enc.EncodeToString([]byte(`{"scope":"app"}`))
	mac := hmac.New(sha256.New, []byte("not-the-secret"))
	mac.Write([]byte(head + "." + claims))
	return head + "." + claims + "." + enc.EncodeToString(mac.Sum(nil))
}

// fuzzCase is one request of the fuzz test and what it must get.
type fuzzCase struct {
	op          *specOp
	where       string // "path appId", "query page[after]", "body content.text", "basic key id", "jwt kid"
	value       string
	rawPath     string
	rawQuery    string
	body        []byte
	ctype       string
	auth        func(*http.Request)
	want        int    // the status it must get; 0: any below 500
	wantCode    string // the error code it must get, when want is set ("" is not checked)
	wantInTitle string // text the error title must hold ("" is not checked)
}

// placeholder stands for the hostile value in a marshalled body.
const placeholder = "\u2063fuzz-value\u2063"

// fuzzCases returns every request of the test for one store's fixtures.
func fuzzCases(t *testing.T, e *apitest.Env, f *fixtures, ops []*specOp) []*fuzzCase {
	t.Helper()
	h := &hostile{rng: rand.New(rand.NewPCG(fuzzSeed, fuzzSeed))}
	var cases []*fuzzCase
	for _, o := range ops {
		implemented := o.route != nil
		policy := ""
		if implemented {
			policy = o.route.policy
		}
		cred := f.auth(e, policy)
		basic := func(r *http.Request) { r.SetBasicAuth(cred.ID, cred.Secret) }

		// The request with every value real, which each case changes in one place.
		var pathNames []string
		for _, p := range o.params {
			if p.In == "path" {
				pathNames = append(pathNames, p.Name)
			}
		}
		pathWith := func(sub, raw string) string {
			return rePathParam.ReplaceAllStringFunc(o.path, func(m string) string {
				name := m[1 : len(m)-1]
				if name == sub {
					return raw
				}
				return url.PathEscape(f.param(o.path, name))
			})
		}
		baseQuery := [][2]string{} // name, escaped value
		if q := f.query(o.key()); q != "" {
			name, val, _ := strings.Cut(q, "=")
			baseQuery = append(baseQuery, [2]string{name, val})
		}
		if o.multipart() {
			baseQuery = append(baseQuery, [2]string{"access", "public"})
		}
		queryWith := func(sub, escaped string) string {
			var parts []string
			done := false
			for _, kv := range baseQuery {
				if kv[0] == sub {
					kv[1], done = escaped, true
				}
				parts = append(parts, kv[0]+"="+kv[1])
			}
			if sub != "" && !done {
				parts = append(parts, sub+"="+escaped)
			}
			return strings.Join(parts, "&")
		}
		var baseBody []byte
		ctype := ""
		var baseJSON any
		switch {
		case o.multipart():
			baseBody, ctype = multipartBody(t, part{"source", "fuzz.png", "image/png", pngBytes})
		case o.bodySchema() != nil:
			baseBody, _ = json.Marshal(f.body(o.key()))
			_ = json.Unmarshal(baseBody, &baseJSON)
			ctype = "application/json"
		}
		newCase := func(where, value string) *fuzzCase {
			c := &fuzzCase{op: o, where: where, value: value, rawPath: pathWith("", ""), rawQuery: queryWith("", ""),
				body: baseBody, ctype: ctype, auth: basic}
			cases = append(cases, c)
			return c
		}

		for _, name := range pathNames {
			for _, class := range hostileClasses {
				v := h.value(class)
				c := newCase("path "+name, v)
				c.rawPath = pathWith(name, url.PathEscape(v))
				if implemented && class != "long" {
					c.want = http.StatusNotFound // no resource can have such an id
				}
			}
		}
		for _, name := range o.queryNames() {
			for _, class := range hostileClasses {
				v := h.value(class)
				c := newCase("query "+name, v)
				c.rawQuery = queryWith(name, url.QueryEscape(v))
			}
		}
		if s := o.bodySchema(); s != nil {
			for _, fld := range stringFields(s) {
				for _, class := range hostileClasses {
					v := h.value(class)
					var b []byte
					if fld.key {
						b, _ = json.Marshal(setPath(baseJSON, fld.path, map[string]any{placeholder: "value"}))
					} else {
						b, _ = json.Marshal(setPath(baseJSON, fld.path, placeholder))
					}
					if !bytes.Contains(b, []byte(placeholder)) {
						t.Fatalf("%s %s: no placeholder in the body made for %s: %s", o.method, o.path, fld.path, b)
					}
					where := "body " + fld.path
					if fld.key {
						where = "body member name in " + fld.path
					}
					c := newCase(where, v)
					c.body = bytes.Replace(b, []byte(placeholder), jsonText(v), 1)
					if implemented && class != "long" {
						// The field is named in the title; a member name by its object.
						c.want, c.wantCode, c.wantInTitle = http.StatusBadRequest, "bad_request", fld.path
					}
				}
			}
		}
		// Key ids that no key can have, with any secret: Basic, and the kid of a JWT. Operations
		// whose security the spec declares empty (the OAuth endpoints) are not pinned to 401.
		keyed := implemented && (o.op.Security == nil || len(*o.op.Security) > 0)
		for _, id := range []string{"app_\x00x", "int_\xff", "act_" + h.value("nul"), "app_" + h.value("utf8"), "app_" + h.value("long")} {
			c := newCase("basic key id", id)
			c.auth = func(r *http.Request) { r.SetBasicAuth(id, "any-secret") }
			if keyed {
				c.want, c.wantCode = http.StatusUnauthorized, "unauthorized"
			}
		}
		for _, kid := range []string{`app_\u0000x`, "int_\xff", `act_\u0000`} {
			tok := jwtWithKid(kid)
			c := newCase("jwt kid", kid)
			c.auth = func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
			if keyed {
				c.want, c.wantCode = http.StatusUnauthorized, "unauthorized"
			}
		}
	}
	// A case that succeeds changes the fixtures: DELETEs go last, and last of all the query cases of
	// DELETEs (an ignored query value lets the DELETE happen), so that every other case meets the
	// fixtures as they were made.
	rank := func(c *fuzzCase) int {
		switch {
		case c.op.method != "DELETE":
			return 0
		case !strings.HasPrefix(c.where, "query "):
			return 1
		}
		return 2
	}
	sort.SliceStable(cases, func(i, j int) bool { return rank(cases[i]) < rank(cases[j]) })
	return cases
}

// recorder is a testing.TB that keeps the failures apitest.ValidateResponse reports.
type recorder struct {
	testing.TB
	failures []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
}
func (r *recorder) Helper() {}

// TestSpecFuzz sends, for every operation of the spec, requests whose path parameters, query
// parameters, JSON body strings (every string the request body schema has, nested ones included)
// and key ids hold NUL, invalid UTF-8 or 10,000 characters, the rest real, on both stores. No answer
// may be a 500 or leave the JSON envelope; where the answer is unambiguous it is pinned: such a path
// id is 404, such a key id 401, such a JSON string 400 bad_request naming the field. Operations that
// Sunlamp does not serve must still answer in the envelope.
func TestSpecFuzz(t *testing.T) {
	routes := parseRoutes(t)
	ops := loadSpecOps(t, routes)
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		f := mustFixtures(t, e)
		cases := fuzzCases(t, e, f, ops)
		var failures []string
		statuses := map[string]int{}
		for _, c := range cases {
			req := rawRequest(t, c.op.method, e.URL, c.rawPath, c.rawQuery, nil, c.body, c.ctype)
			c.auth(req)
			resp, out := send(t, req)
			status := resp.StatusCode
			statuses[strconv.Itoa(status)]++
			var env struct {
				Errors []struct{ Code, Title string } `json:"errors"`
			}
			_ = json.Unmarshal(out, &env)
			var problems []string
			switch {
			case status >= 500:
				problems = append(problems, "want below 500")
			case status >= 300 && status < 400:
				problems = append(problems, "want no redirect")
			case c.want != 0 && status != c.want:
				problems = append(problems, fmt.Sprintf("want %d", c.want))
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				problems = append(problems, fmt.Sprintf("Content-Type %q, want application/json", ct))
			}
			if status >= 400 && (len(env.Errors) == 0 || env.Errors[0].Code == "" || env.Errors[0].Title == "") {
				problems = append(problems, "want the error envelope")
			}
			if c.want != 0 && status == c.want && len(env.Errors) > 0 {
				if c.wantCode != "" && env.Errors[0].Code != c.wantCode {
					problems = append(problems, fmt.Sprintf("code %q, want %q", env.Errors[0].Code, c.wantCode))
				}
				if c.wantInTitle != "" && !strings.Contains(env.Errors[0].Title, c.wantInTitle) {
					problems = append(problems, fmt.Sprintf("title %q, want it to name %s", env.Errors[0].Title, c.wantInTitle))
				}
			}
			rec := &recorder{TB: t}
			apitest.ValidateResponse(rec, req, c.body, status, resp.Header, out)
			for _, v := range rec.failures {
				if len(v) > 300 {
					v = v[:300] + "..."
				}
				problems = append(problems, "spec: "+v)
			}
			if len(problems) > 0 {
				failures = append(failures, fmt.Sprintf("%s %s %s %s: got status %d body %.300s (%s)",
					c.op.method, c.op.path, c.where, show(c.value), status, out, strings.Join(problems, "; ")))
			}
		}
		const shown = 100
		for i, msg := range failures {
			if i == shown {
				t.Errorf("... and %d more failures", len(failures)-shown)
				break
			}
			t.Error(msg)
		}
		served := 0
		for _, o := range ops {
			if o.route != nil {
				served++
			}
		}
		kinds := map[string]int{}
		pinned := 0
		for _, c := range cases {
			kinds[strings.SplitN(c.where, " ", 2)[0]]++
			if c.want != 0 {
				pinned++
			}
		}
		t.Logf("%s: %d requests over %d operations of the spec (%d served by Sunlamp), %d of them with the status pinned; by place %v; statuses %v; %d failed",
			e.Name, len(cases), len(ops), served, pinned, kinds, statuses, len(failures))
	})
}
