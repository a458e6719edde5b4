package api

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/sunlamp/sunlamp"
)

// parsePage reads page[after], page[before] and page[size]. Both cursors, a cursor that is not an id,
// or a size outside 1..100 are 400 "Invalid page query parameters".
func parsePage(r *http.Request) (sunlamp.Page, error) {
	q := r.URL.Query()
	p := sunlamp.Page{After: q.Get("page[after]"), Before: q.Get("page[before]"), Size: sunlamp.DefaultPageSize}
	if p.After != "" && p.Before != "" {
		return p, sunlamp.ErrInvalidPage
	}
	for _, c := range []string{p.After, p.Before} {
		if c != "" && len(c) != 24 {
			return p, sunlamp.ErrInvalidPage
		}
	}
	if s := q.Get("page[size]"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > sunlamp.MaxPageSize {
			return p, sunlamp.ErrInvalidPage
		}
		p.Size = n
	}
	return p, nil
}

// pageEnvelope returns the meta and links of a list page. Links are absolute: the server's base URL,
// the request's path, its filters and the cursor.
func (s *Server) pageEnvelope(r *http.Request, cur sunlamp.Cursor) (metaWire, *linksWire) {
	meta := metaWire{HasMore: cur.HasMore, AfterCursor: cur.After, BeforeCursor: cur.Before}
	if cur.After == "" && cur.Before == "" {
		return meta, nil
	}
	link := func(param, id string) string {
		q := url.Values{}
		for k, v := range r.URL.Query() {
			if strings.HasPrefix(k, "filter[") || k == "page[size]" {
				q[k] = v
			}
		}
		q.Set(param, id)
		// Brackets stay readable, as in the spec's examples.
		enc := strings.NewReplacer("%5B", "[", "%5D", "]").Replace(q.Encode())
		return s.baseURL + r.URL.EscapedPath() + "?" + enc
	}
	links := &linksWire{}
	if cur.Before != "" {
		links.Prev = link("page[before]", cur.Before)
	}
	if cur.After != "" {
		links.Next = link("page[after]", cur.After)
	}
	return meta, links
}

// writeList answers a list page of the console's and the emulator's own lists: its items under key,
// its meta, and its links when there is a page before or after (none otherwise, as the v2 lists).
func (s *Server) writeList(w http.ResponseWriter, r *http.Request, key string, items any, cur sunlamp.Cursor) {
	meta, links := s.pageEnvelope(r, cur)
	body := map[string]any{key: items, "meta": meta}
	if links != nil {
		body["links"] = links
	}
	writeJSON(w, http.StatusOK, body)
}
