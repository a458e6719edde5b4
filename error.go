package sunlamp

import (
	"errors"
	"fmt"
)

// Kind classifies an Error; the api package maps each kind to one HTTP status.
type Kind int

// The kinds of Error.
const (
	KindInternal     Kind = iota // 500: anything unexpected
	KindInvalid                  // 400
	KindUnauthorized             // 401
	KindPayment                  // 402
	KindForbidden                // 403
	KindNotFound                 // 404
	KindConflict                 // 409
	KindTooLarge                 // 413
	KindLocked                   // 423
	KindRateLimited              // 429
)

// Error is the one error type of Sunlamp. Code and Title are safe to show to a client (they are the
// Sunshine `code` and `title`); Cause is never sent, only logged.
type Error struct {
	Kind  Kind
	Code  string
	Title string
	Cause error
}

// Error returns the code, title and cause for logs.
func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Title, e.Cause)
	}
	return e.Code + ": " + e.Title
}

// Unwrap returns the hidden cause.
func (e *Error) Unwrap() error { return e.Cause }

// Is reports whether target is an *Error of the same kind and code, so that
// errors.Is(err, sunlamp.ErrUserNotFound) works on wrapped errors.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Kind == e.Kind && t.Code == e.Code
}

// Errorf returns a new Error of kind with code and a formatted title.
func Errorf(kind Kind, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Title: fmt.Sprintf(format, args...)}
}

// Invalid returns a 400 bad_request error whose title is the formatted message.
func Invalid(format string, args ...any) *Error {
	return Errorf(KindInvalid, "bad_request", format, args...)
}

// NotFound returns a 404 error with the given code and title.
func NotFound(code, title string) *Error { return &Error{Kind: KindNotFound, Code: code, Title: title} }

// Internal wraps an unexpected error as a 500 with a generic title.
func Internal(cause error) *Error {
	return &Error{Kind: KindInternal, Code: "internal_error", Title: "An unexpected error occurred", Cause: cause}
}

// AsError returns err as an *Error: err itself if it is (or wraps) one, an internal error otherwise.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Internal(err)
}

// KindOf returns the kind of err, KindInternal when err is not an *Error.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// Errors that several packages return or compare with errors.Is. Their titles are the spec's.
var (
	ErrUnauthorized    = &Error{Kind: KindUnauthorized, Code: "unauthorized", Title: "Authorization is required"}
	ErrForbidden       = &Error{Kind: KindForbidden, Code: "forbidden", Title: "Forbidden"}
	ErrNotFound        = &Error{Kind: KindNotFound, Code: "not_found", Title: "Resource not found"}
	ErrAppNotFound     = &Error{Kind: KindNotFound, Code: "app_not_found", Title: "App not found"}
	ErrInvalidPage     = &Error{Kind: KindInvalid, Code: "bad_request", Title: "Invalid page query parameters"}
	ErrTooManyAppKeys  = &Error{Kind: KindInvalid, Code: "bad_request", Title: "An app can have at most 10 API keys"}
	ErrRequestTooLarge = &Error{Kind: KindTooLarge, Code: "request_too_large", Title: "Request body is too large"}
	ErrBusy            = &Error{Kind: KindRateLimited, Code: "too_many_requests", Title: "The server is busy, retry later"}
)
