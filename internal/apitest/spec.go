package apitest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// SpecDir returns ../shared/spec relative to the module root, or "" when it is absent.
func SpecDir() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			spec := filepath.Join(filepath.Dir(dir), "shared", "spec")
			if _, err := os.Stat(filepath.Join(spec, "openapi.yaml")); err == nil {
				return spec
			}
			return ""
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

var spec struct {
	once   sync.Once
	router routers.Router
	err    error
	absent bool
}

func loadSpec() {
	dir := SpecDir()
	if dir == "" {
		spec.absent = true
		return
	}
	data, err := os.ReadFile(filepath.Join(dir, "openapi.yaml"))
	if err != nil {
		spec.err = err
		return
	}
	// The spec declares `required: true` inside a property schema of the ListUsers filter, which a
	// strict loader refuses (required is a list there). Drop that one line in memory.
	data = regexp.MustCompile("(?m)(profile.email`\\.\n)\\s+required: true\n").ReplaceAll(data, []byte("$1"))
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(data)
	if err != nil {
		spec.err = err
		return
	}
	implicitDiscriminatorMappings(doc)
	spec.router, spec.err = gorillamux.NewRouter(doc)
}

// ImplicitDiscriminatorMappings is implicitDiscriminatorMappings, for the other validators of the
// spec (webhook bodies).
func ImplicitDiscriminatorMappings(doc *openapi3.T) { implicitDiscriminatorMappings(doc) }

// implicitDiscriminatorMappings gives every oneOf discriminator without a mapping (the spec's
// action and actionSubset) the implicit one OpenAPI 3.0 defines: the discriminator value is the
// name of a oneOf schema. The validator applies explicit mappings only; without this, a reply
// action also matches postback (same required fields) and fails oneOf.
func implicitDiscriminatorMappings(doc *openapi3.T) {
	for _, ref := range doc.Components.Schemas {
		s := ref.Value
		if s == nil || s.Discriminator == nil || len(s.Discriminator.Mapping) > 0 || len(s.OneOf) == 0 {
			continue
		}
		m := map[string]openapi3.MappingRef{}
		for _, item := range s.OneOf {
			name := item.Ref[strings.LastIndex(item.Ref, "/")+1:]
			if name != "" {
				m[name] = openapi3.MappingRef(*item)
			}
		}
		s.Discriminator.Mapping = m
	}
}

// specRouter returns the router of ../shared/spec/openapi.yaml. When the spec folder is absent it
// returns nil after logging why (and fails under CI=true, where the spec must be there).
func specRouter(tb testing.TB) routers.Router {
	tb.Helper()
	spec.once.Do(loadSpec)
	if spec.absent {
		if os.Getenv("CI") == "true" {
			tb.Fatal("../shared/spec/openapi.yaml is absent: responses cannot be validated against the spec")
		}
		tb.Log("../shared/spec/openapi.yaml is absent: responses are not validated against the spec")
		return nil
	}
	if spec.err != nil {
		tb.Fatalf("load spec: %v", spec.err)
	}
	return spec.router
}

// ValidateResponse checks a response against the spec: a documented status must have a body of its
// documented schema; every error response must be the {"errors":[{"code","title"}]} envelope; every
// response must be JSON.
func ValidateResponse(tb testing.TB, req *http.Request, reqBody []byte, status int, header http.Header, body []byte) {
	tb.Helper()
	if ct := header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		tb.Errorf("%s %s: Content-Type %q, want application/json", req.Method, req.URL.Path, ct)
	}
	if status >= 400 {
		checkErrorEnvelope(tb, req, status, body)
	}
	router := specRouter(tb)
	if router == nil || !strings.HasPrefix(req.URL.Path, "/v2/") {
		return
	}
	specReq, route, params, err := specRoute(router, req, reqBody)
	if err != nil {
		if status == http.StatusNotFound || status == http.StatusMethodNotAllowed {
			return // a route the spec does not have, refused as it should be
		}
		tb.Errorf("%s %s: no operation of the spec matches: %v", req.Method, req.URL.Path, err)
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: specReq, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		},
		Status:  status,
		Header:  header,
		Body:    io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		tb.Errorf("%s %s: %d response does not match the spec's %s: %v\nbody: %s", req.Method, req.URL.Path, status, route.Operation.OperationID, err, body)
	}
}

func checkErrorEnvelope(tb testing.TB, req *http.Request, status int, body []byte) {
	tb.Helper()
	var env struct {
		Errors []struct {
			Code  *string `json:"code"`
			Title *string `json:"title"`
		} `json:"errors"`
	}
	if err := jsonUnmarshal(body, &env); err != nil || len(env.Errors) == 0 {
		tb.Errorf("%s %s: %d body %s is not the error envelope", req.Method, req.URL.Path, status, body)
		return
	}
	if len(env.Errors) > 1 && status != 400 {
		tb.Errorf("%s %s: %d with %d errors; only a 400 may carry more than one", req.Method, req.URL.Path, status, len(env.Errors))
	}
	for _, e := range env.Errors {
		if e.Code == nil || *e.Code == "" || e.Title == nil || *e.Title == "" {
			tb.Errorf("%s %s: error entry without code or title: %s", req.Method, req.URL.Path, body)
		}
	}
}

// PathEscape escapes a path segment as the official client does (encodeURIComponent).
func PathEscape(s string) string {
	return strings.ReplaceAll(url.PathEscape(s), "@", "%40")
}

// specRoute finds the spec's operation for req, routed as if it went to one of the spec's servers,
// and returns the request as sent there (with body as its body).
func specRoute(router routers.Router, req *http.Request, body []byte) (*http.Request, *routers.Route, map[string]string, error) {
	u := *req.URL
	u.Scheme, u.Host = "https", "api.smooch.io"
	specReq := req.Clone(context.Background())
	specReq.URL = &u
	specReq.Host = u.Host
	specReq.Body = io.NopCloser(bytes.NewReader(body))
	route, params, err := router.FindRoute(specReq)
	return specReq, route, params, err
}
