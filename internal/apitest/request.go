package apitest

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
)

// ValidateRequest checks a request a client sends against the spec: its path, query parameters and
// body must match the operation's (authentication is not checked). The Go client's tests use it so
// that what the client sends is what the real service accepts.
func ValidateRequest(tb testing.TB, req *http.Request, body []byte) {
	tb.Helper()
	router := specRouter(tb)
	if router == nil || !strings.HasPrefix(req.URL.Path, "/v2/") {
		return
	}
	specReq, route, params, err := specRoute(router, req, body)
	if err != nil {
		tb.Errorf("%s %s: no operation of the spec matches: %v", req.Method, req.URL.Path, err)
		return
	}
	in := &openapi3filter.RequestValidationInput{
		Request: specReq, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true},
	}
	err = openapi3filter.ValidateRequest(context.Background(), in)
	var errs []error
	var multi openapi3.MultiError
	if errors.As(err, &multi) {
		errs = multi
	} else if err != nil {
		errs = []error{err}
	}
	for _, e := range errs {
		// Some oneOf schemas of the spec (participantLeaveBody, integrationUpdate) have members with
		// no required property, so that every body matches several of them: not the client's fault.
		if strings.Contains(e.Error(), "input matches more than one oneOf schemas") {
			continue
		}
		tb.Errorf("%s %s: request does not match the spec's %s: %v\nbody: %s", req.Method, req.URL.Path, route.Operation.OperationID, e, body)
	}
}
