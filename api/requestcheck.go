package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sunlamp/sunlamp"
)

// This file is the one place that decides which request text Sunlamp takes at all, before any
// handler or store sees it: the path, query values, JSON strings, key ids and header size. Text that
// is not valid UTF-8 or holds NUL can exist in no resource (PostgreSQL refuses to store it), so it is
// refused here alike on both stores, not left to fail as a 500 somewhere below.

// cleanText reports whether s is valid UTF-8 without NUL characters.
func cleanText(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

// routablePath reports whether u's path is one that the routes may see: every segment non-empty,
// neither "." nor ".." (raw or percent-encoded, nor made of such parts around an encoded slash),
// valid UTF-8 without NUL, and the path already in the form ServeMux would clean it to, so that the
// mux never answers it with a redirect.
func routablePath(u *url.URL) bool {
	p := u.EscapedPath()
	if p == "" || p[0] != '/' {
		return false
	}
	if p != "/" {
		for seg := range strings.SplitSeq(p[1:], "/") {
			if seg == "" {
				return false
			}
			v, err := url.PathUnescape(seg)
			if err != nil || !cleanText(v) {
				return false
			}
			for part := range strings.SplitSeq(v, "/") {
				if part == "." || part == ".." {
					return false
				}
			}
		}
	}
	return u.Path == muxCleanPath(u.Path)
}

// muxCleanPath is the cleaning ServeMux redirects to when a path differs from it.
func muxCleanPath(p string) string {
	if p == "" {
		return "/"
	}
	if p[0] != '/' {
		p = "/" + p
	}
	np := path.Clean(p)
	if p[len(p)-1] == '/' && np != "/" {
		np += "/"
	}
	return np
}

// plainRequestID reports whether a client's X-Request-Id may be echoed and logged as it is: 1 to 64
// characters of printable ASCII.
func plainRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

// maxHeaderBytes is the size of a request's line and headers that Sunlamp answers itself with a 431
// in its envelope. `sunlamp serve` lets net/http read up to serveMaxHeaderBytes, so that what lies
// between is answered here; only a request over that gets net/http's plain-text 431.
const maxHeaderBytes = 64 << 10

// ServeMaxHeaderBytes is the http.Server.MaxHeaderBytes that `sunlamp serve` uses: large enough that
// the envelope's 431 (above maxHeaderBytes) answers all but absurd requests.
const ServeMaxHeaderBytes = 1 << 20

// headersTooLarge reports whether r's request line and headers exceed maxHeaderBytes.
func headersTooLarge(r *http.Request) bool {
	n := len(r.Method) + len(r.RequestURI) + len(r.Proto) + 4
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
		if n > maxHeaderBytes {
			return true
		}
	}
	return n > maxHeaderBytes
}

// checkQuery refuses query parameters (names or values) that are not valid UTF-8 or hold NUL: no
// resource or filter can match them.
func checkQuery(r *http.Request) error {
	if r.URL.RawQuery == "" {
		return nil
	}
	for k, vs := range r.URL.Query() {
		if !cleanText(k) {
			return sunlamp.Invalid("Query parameter names must be valid UTF-8 without NUL characters")
		}
		for _, v := range vs {
			if !cleanText(v) {
				return sunlamp.Invalid("%s must be valid UTF-8 without NUL characters", k)
			}
		}
	}
	return nil
}

// checkJSONText refuses a JSON body with a string (a value or a member name) that is not valid UTF-8,
// holds NUL (\u0000) or an unpaired surrogate escape, naming the first such field. Bodies that hold
// none of those bytes (nearly all) are passed over after two scans.
func checkJSONText(body []byte) error {
	if utf8.Valid(body) && !bytes.Contains(body, []byte(`\u`)) {
		return nil
	}
	if field, bad := badJSONString(body); bad {
		if field == "" {
			return sunlamp.Invalid("The request body must be valid UTF-8 without NUL characters")
		}
		return sunlamp.Invalid("%s must be valid UTF-8 without NUL characters", field)
	}
	return nil
}

// badJSONString walks body's tokens and returns the path ("content.actions[0].text") of the first
// string that is not clean text. Malformed JSON is not its business: it reports nothing, and the
// decoding that follows answers it.
func badJSONString(body []byte) (string, bool) {
	type frame struct {
		array   bool
		index   int
		key     string
		wantKey bool
	}
	var stack []frame
	// where names the position being read: each object by the member being read, each array by the
	// index; an object whose member name is being read adds nothing.
	where := func() string {
		var b strings.Builder
		for _, f := range stack {
			switch {
			case f.array:
				b.WriteString("[" + strconv.Itoa(f.index) + "]")
			case !f.wantKey:
				if b.Len() > 0 {
					b.WriteByte('.')
				}
				b.WriteString(f.key)
			}
		}
		return b.String()
	}
	// valueDone moves the innermost container past the value just read.
	valueDone := func() {
		if len(stack) == 0 {
			return
		}
		top := &stack[len(stack)-1]
		if top.array {
			top.index++
		} else {
			top.wantKey = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		raw := body[start:dec.InputOffset()]
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{':
				stack = append(stack, frame{wantKey: true})
			case '[':
				stack = append(stack, frame{array: true})
			default:
				stack = stack[:len(stack)-1]
				valueDone()
			}
		case string:
			if len(stack) > 0 && !stack[len(stack)-1].array && stack[len(stack)-1].wantKey {
				top := &stack[len(stack)-1]
				if !cleanJSONToken(raw, v) {
					return where(), true // a member name: name its object
				}
				top.key, top.wantKey = v, false
				continue
			}
			if !cleanJSONToken(raw, v) {
				return where(), true
			}
			valueDone()
		default:
			valueDone()
		}
	}
}

// cleanJSONToken reports whether a string token is clean: raw is its text in the body (with the
// separators before it), decoded what encoding/json made of it (which replaces invalid UTF-8 and
// unpaired surrogates with U+FFFD, so those are looked for in raw).
func cleanJSONToken(raw []byte, decoded string) bool {
	if strings.IndexByte(decoded, 0) >= 0 || !utf8.Valid(raw) {
		return false
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' || i+1 >= len(raw) {
			continue
		}
		if raw[i+1] != 'u' {
			i++ // an escape of one character, \\ included
			continue
		}
		r, ok := hex4(raw, i+2)
		if !ok {
			return false
		}
		switch {
		case r >= 0xD800 && r < 0xDC00: // a high surrogate must be followed by a low one
			if i+11 >= len(raw) || raw[i+6] != '\\' || raw[i+7] != 'u' {
				return false
			}
			lo, ok := hex4(raw, i+8)
			if !ok || lo < 0xDC00 || lo > 0xDFFF {
				return false
			}
			i += 11
		case r >= 0xDC00 && r <= 0xDFFF:
			return false
		default:
			i += 5
		}
	}
	return true
}

func hex4(b []byte, at int) (rune, bool) {
	if at+4 > len(b) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(b[at:at+4]), 16, 32)
	return rune(n), err == nil
}
