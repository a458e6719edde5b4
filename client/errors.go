package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// ErrorItem is one entry of an error response's errors[]: a snake_case code and a human title.
type ErrorItem struct {
	Code  string `json:"code"`
	Title string `json:"title"`
}

// Error is a response with a status other than 2xx. Errors holds the body's errors[] (empty when the
// body was not the Sunshine error envelope, as a proxy's 502 page would be).
type Error struct {
	Method   string
	Path     string
	Status   int
	Errors   []ErrorItem
	Response *Response
}

func newError(method, path string, resp *Response) *Error {
	e := &Error{Method: method, Path: path, Status: resp.Status, Response: resp}
	var env struct {
		Errors []ErrorItem `json:"errors"`
	}
	if json.Unmarshal(resp.Body, &env) == nil {
		e.Errors = env.Errors
	}
	return e
}

// ErrRedirected is wrapped by the *Error of a response with a 3xx status. The client never follows
// a redirect (the API never answers with one; see New), so the request was not carried out.
var ErrRedirected = errors.New("the server answered with a redirect, which the client does not follow")

// Error returns the method, path, status and the errors' codes and titles.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %d %s", e.Method, e.Path, e.Status, http.StatusText(e.Status))
	for _, it := range e.Errors {
		fmt.Fprintf(&b, "; %s: %s", it.Code, it.Title)
	}
	if e.redirect() {
		fmt.Fprintf(&b, "; %v (check the base URL)", ErrRedirected)
	}
	return b.String()
}

// Unwrap returns ErrRedirected for a 3xx response, nil otherwise.
func (e *Error) Unwrap() error {
	if e.redirect() {
		return ErrRedirected
	}
	return nil
}

func (e *Error) redirect() bool { return e.Status >= 300 && e.Status <= 399 }

// Code returns the code of the first entry of errors[], "" when there is none.
func (e *Error) Code() string {
	if len(e.Errors) == 0 {
		return ""
	}
	return e.Errors[0].Code
}

// Title returns the title of the first entry of errors[], "" when there is none.
func (e *Error) Title() string {
	if len(e.Errors) == 0 {
		return ""
	}
	return e.Errors[0].Title
}

// StatusOf returns the HTTP status of err when it is (or wraps) an *Error, 0 otherwise.
func StatusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// CodeOf returns the first errors[] code of err when it is (or wraps) an *Error, "" otherwise.
func CodeOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return ""
}

// IsNotFound reports whether err is a 404 response (any code: user_not_found, app_not_found, ...).
func IsNotFound(err error) bool { return StatusOf(err) == http.StatusNotFound }
