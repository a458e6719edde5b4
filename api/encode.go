package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/sunlamp/sunlamp"
)

// maxJSONBody is the spec's limit on a JSON request body: 100 kb.
const maxJSONBody = 100 * 1024

// writeJSON writes v as the JSON body of a response with status. Every response of Sunlamp, errors
// included, is application/json: the official client only parses JSON media types.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		http.Error(w, `{"errors":[{"code":"internal_error","title":"An unexpected error occurred"}]}`, http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// writeRawJSON writes b, a JSON document already encoded, with status.
func writeRawJSON(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// errorBody is the Sunshine error envelope.
type errorBody struct {
	Errors []errorEntry `json:"errors"`
}

type errorEntry struct {
	Code  string `json:"code"`
	Title string `json:"title"`
}

// statusOf maps an error kind to its HTTP status.
func statusOf(k sunlamp.Kind) int {
	switch k {
	case sunlamp.KindInvalid:
		return http.StatusBadRequest
	case sunlamp.KindUnauthorized:
		return http.StatusUnauthorized
	case sunlamp.KindPayment:
		return http.StatusPaymentRequired
	case sunlamp.KindForbidden:
		return http.StatusForbidden
	case sunlamp.KindNotFound:
		return http.StatusNotFound
	case sunlamp.KindConflict:
		return http.StatusConflict
	case sunlamp.KindTooLarge:
		return http.StatusRequestEntityTooLarge
	case sunlamp.KindLocked:
		return http.StatusLocked
	case sunlamp.KindRateLimited:
		return http.StatusTooManyRequests
	}
	return http.StatusInternalServerError
}

// writeError writes err in the Sunshine envelope with the status of its kind. An unexpected error
// becomes a 500 with a generic title; its cause is logged with the request id, never sent.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var errs invalidErrors
	if errors.As(err, &errs) && len(errs) > 0 {
		body := errorBody{}
		for _, e := range errs {
			body.Errors = append(body.Errors, errorEntry{e.Code, e.Title})
		}
		writeJSON(w, http.StatusBadRequest, body)
		return
	}
	e := sunlamp.AsError(err)
	status := statusOf(e.Kind)
	if status >= 500 {
		s.log.ErrorContext(r.Context(), "request failed", "request_id", requestID(r.Context()), "route", r.Pattern, "error", err.Error())
	}
	if e.Kind == sunlamp.KindRateLimited {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, status, errorBody{Errors: []errorEntry{{e.Code, e.Title}}})
}

// invalidErrors carries several 400 errors at once (only a 400 may have more than one entry).
type invalidErrors []*sunlamp.Error

func (e invalidErrors) Error() string {
	var s []string
	for _, x := range e {
		s = append(s, x.Title)
	}
	return strings.Join(s, "; ")
}

// decodeJSON reads the request body as JSON into dst. An empty body is an empty object: the official
// client sends some POSTs with no body and no Content-Type. Unknown fields are ignored, as the
// official client's users expect. Malformed JSON and wrong types are 400 bad_request with a title that
// names the field; a body over 100 kb is 413.
func decodeJSON(r *http.Request, dst any) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return sunlamp.ErrRequestTooLarge
		}
		return sunlamp.Invalid("Could not read the request body")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	if err := checkJSONText(body); err != nil {
		return err
	}
	// The Content-Type is not checked: a body that parses as JSON is taken (curl -d sends a form type).
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return sunlamp.Invalid("Malformed JSON body: unexpected data after the JSON value")
	}
	return nil
}

// jsonError turns a decoding error into a 400 whose title names the field when there is one.
func jsonError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	var fieldErr *fieldError
	switch {
	case errors.As(err, &fieldErr):
		return sunlamp.Invalid("%s", fieldErr.Error())
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return sunlamp.Invalid("The request body should be %s", jsonTypeName(typeErr.Type.Kind().String()))
		}
		return sunlamp.Invalid("%s should be %s", typeErr.Field, jsonTypeName(typeErr.Type.Kind().String()))
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
		return sunlamp.Invalid("Malformed JSON body")
	}
	return sunlamp.Invalid("Malformed JSON body: %s", err.Error())
}

func jsonTypeName(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "integer"
	case "float32", "float64":
		return "number"
	case "slice", "array":
		return "array"
	case "map", "struct", "ptr":
		return "object"
	}
	return "of another type"
}

// fieldError is returned by custom unmarshalers to name a field in a 400 title.
type fieldError struct {
	field, msg string
}

func (e *fieldError) Error() string { return e.field + " " + e.msg }
