package client

import (
	"encoding/json"
	"net/url"
	"strconv"
)

// Field is an optional request field that can also be sent as null: the zero Field is left out of
// the body (tag it `json:",omitzero"`), Null() sends null (which unsets the value on the server), and
// Set(v) sends v.
type Field[T any] struct {
	set, null bool
	value     T
}

// Set returns a field holding v.
func Set[T any](v T) Field[T] { return Field[T]{set: true, value: v} }

// Null returns a field sent as null.
func Null[T any]() Field[T] { return Field[T]{set: true, null: true} }

// IsZero reports whether the field is absent, so that omitzero leaves it out.
func (f Field[T]) IsZero() bool { return !f.set }

// Value returns the field's value and whether it holds one (false when absent or null).
func (f Field[T]) Value() (T, bool) { return f.value, f.set && !f.null }

// MarshalJSON encodes the value, or null.
func (f Field[T]) MarshalJSON() ([]byte, error) {
	if f.null || !f.set {
		return []byte("null"), nil
	}
	return json.Marshal(f.value)
}

// UnmarshalJSON decodes a value or null.
func (f *Field[T]) UnmarshalJSON(b []byte) error {
	f.set = true
	if string(b) == "null" {
		f.null = true
		return nil
	}
	return json.Unmarshal(b, &f.value)
}

// Metadata is a flat object of string, number and boolean values.
type Metadata map[string]any

// Page asks for one page of a cursor-paginated list: at most one of After and Before (record ids),
// and Size (1..100; 0 leaves the server's default of 25).
type Page struct {
	After  string
	Before string
	Size   int
}

func (p Page) query(q url.Values) url.Values {
	if q == nil {
		q = url.Values{}
	}
	if p.After != "" {
		q.Set("page[after]", p.After)
	}
	if p.Before != "" {
		q.Set("page[before]", p.Before)
	}
	if p.Size > 0 {
		q.Set("page[size]", strconv.Itoa(p.Size))
	}
	return q
}

// Meta is the cursor part of a list response.
type Meta struct {
	HasMore      bool   `json:"hasMore"`
	AfterCursor  string `json:"afterCursor,omitempty"`
	BeforeCursor string `json:"beforeCursor,omitempty"`
}

// Links are the absolute URLs of the previous and next pages.
type Links struct {
	Prev string `json:"prev,omitempty"`
	Next string `json:"next,omitempty"`
}
