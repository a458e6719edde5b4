package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/sunlamp/sunlamp"
)

// This file validates message content against the spec's content schemas (text, image, file,
// carousel, list, location, form, template, and every action type) and normalises it into the
// document that is stored and returned: only the schema's fields, writeOnly fields turned into their
// stored form (markdownText into htmlText), readOnly fields generated (fallback texts, submitted).
// Titles name the offending field as AJV does in the spec's examples, with the path from the body:
// "content.items[0].actions should have at least 1 item". The Markdown and HTML conversions it
// applies live in markdown.go.

// Content limits of the spec.
const (
	maxTextLength    = 4096
	maxItems         = 10
	maxItemActions   = 3
	maxListActions   = 10
	maxFormFields    = 20
	maxSelectOptions = 200
)

// obj is a decoded JSON object.
type obj = map[string]any

func typeName(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case bool:
		return "boolean"
	case json.Number, float64:
		return "number"
	case []any:
		return "array"
	case obj:
		return "object"
	case nil:
		return "null"
	}
	return "value"
}

// field reads key of m: present says whether it was there (null counts as absent for optional
// fields, as the service's validator treats them).
func field(m obj, key string) (any, bool) {
	v, ok := m[key]
	if !ok || v == nil {
		return nil, false
	}
	return v, true
}

// getString reads an optional string of min..max characters (max 0: no limit).
func getString(m obj, p, key string, min, max int, required bool) (string, bool, error) {
	v, ok := field(m, key)
	if !ok {
		if required {
			return "", false, missing(p, key)
		}
		return "", false, nil
	}
	s, isStr := v.(string)
	if !isStr {
		return "", false, sunlamp.Invalid("%s.%s should be string", p, key)
	}
	n := utf8.RuneCountInString(s)
	if n < min {
		if min == 1 {
			return "", false, sunlamp.Invalid("%s.%s should NOT be shorter than 1 characters", p, key)
		}
		return "", false, sunlamp.Invalid("%s.%s should NOT be shorter than %d characters", p, key, min)
	}
	if max > 0 && n > max {
		return "", false, sunlamp.Invalid("%s.%s should NOT be longer than %d characters", p, key, max)
	}
	return s, true, nil
}

func missing(p, key string) error {
	if p == "" {
		return required(key)
	}
	return sunlamp.Invalid("%s should have required property '%s'", p, key)
}

func getURI(m obj, p, key string, max int, required bool) (string, bool, error) {
	s, ok, err := getString(m, p, key, 1, max, required)
	if err != nil || !ok {
		return s, ok, err
	}
	if !isURI(s) {
		return "", false, sunlamp.Invalid("%s.%s should match format \"uri\"", p, key)
	}
	return s, true, nil
}

// isURI reports whether s is an absolute URI, as the spec's format: uri demands.
func isURI(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Scheme != "" && (u.Host != "" || u.Opaque != "" || u.Path != "")
}

func getBool(m obj, p, key string) (bool, bool, error) {
	v, ok := field(m, key)
	if !ok {
		return false, false, nil
	}
	b, isBool := v.(bool)
	if !isBool {
		return false, false, sunlamp.Invalid("%s.%s should be boolean", p, key)
	}
	return b, true, nil
}

func getNumber(m obj, p, key string, required bool) (json.Number, bool, error) {
	v, ok := field(m, key)
	if !ok {
		if required {
			return "", false, missing(p, key)
		}
		return "", false, nil
	}
	switch n := v.(type) {
	case json.Number:
		return n, true, nil
	case float64:
		return json.Number(fmt.Sprint(n)), true, nil
	}
	return "", false, sunlamp.Invalid("%s.%s should be number", p, key)
}

func getInteger(m obj, p, key string, required bool, min, max int64) (int64, bool, error) {
	n, ok, err := getNumber(m, p, key, required)
	if err != nil || !ok {
		return 0, ok, err
	}
	i, err := n.Int64()
	if err != nil {
		return 0, false, sunlamp.Invalid("%s.%s should be integer", p, key)
	}
	if i < min {
		return 0, false, sunlamp.Invalid("%s.%s should be >= %d", p, key, min)
	}
	if i > max {
		return 0, false, sunlamp.Invalid("%s.%s should be <= %d", p, key, max)
	}
	return i, true, nil
}

func getEnum(m obj, p, key string, required bool, allowed ...string) (string, bool, error) {
	s, ok, err := getString(m, p, key, 0, 0, required)
	if err != nil || !ok {
		return s, ok, err
	}
	for _, a := range allowed {
		if s == a {
			return s, true, nil
		}
	}
	return "", false, sunlamp.Invalid("%s.%s should be equal to one of the allowed values: %s", p, key, strings.Join(allowed, ", "))
}

func getObject(m obj, p, key string, required bool) (obj, bool, error) {
	v, ok := field(m, key)
	if !ok {
		if required {
			return nil, false, missing(p, key)
		}
		return nil, false, nil
	}
	o, isObj := v.(obj)
	if !isObj {
		return nil, false, sunlamp.Invalid("%s.%s should be object", p, key)
	}
	return o, true, nil
}

func getArray(m obj, p, key string, required bool, min, max int) ([]any, bool, error) {
	v, ok := field(m, key)
	if !ok {
		if required {
			return nil, false, missing(p, key)
		}
		return nil, false, nil
	}
	a, isArr := v.([]any)
	if !isArr {
		return nil, false, sunlamp.Invalid("%s.%s should be array", p, key)
	}
	if len(a) < min {
		return nil, false, sunlamp.Invalid("%s.%s should have at least %d item%s", p, key, min, plural(min))
	}
	if max > 0 && len(a) > max {
		return nil, false, sunlamp.Invalid("%s.%s should NOT have more than %d item%s", p, key, max, plural(max))
	}
	return a, true, nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// copier copies validated fields from an input object to the output in one place.
type copier struct {
	in  obj
	out obj
	p   string
	err error
}

func (c *copier) str(key string, min, max int, required bool) string {
	if c.err != nil {
		return ""
	}
	s, ok, err := getString(c.in, c.p, key, min, max, required)
	c.err = err
	if ok {
		c.out[key] = s
	}
	return s
}

func (c *copier) uri(key string, max int, required bool) string {
	if c.err != nil {
		return ""
	}
	s, ok, err := getURI(c.in, c.p, key, max, required)
	c.err = err
	if ok {
		c.out[key] = s
	}
	return s
}

func (c *copier) boolean(key string) {
	if c.err != nil {
		return
	}
	b, ok, err := getBool(c.in, c.p, key)
	c.err = err
	if ok {
		c.out[key] = b
	}
}

func (c *copier) enum(key string, required bool, allowed ...string) {
	if c.err != nil {
		return
	}
	s, ok, err := getEnum(c.in, c.p, key, required, allowed...)
	c.err = err
	if ok {
		c.out[key] = s
	}
}

func (c *copier) metadata(key string) {
	if c.err != nil {
		return
	}
	m, ok, err := getObject(c.in, c.p, key, false)
	if err != nil {
		c.err = err
		return
	}
	if ok {
		if _, err := validateMetadata(c.p, c.p+"."+key, m); err != nil {
			c.err = err
			return
		}
		c.out[key] = m
	}
}

// validateContent checks the content of a PostMessage body and returns the stored form. schema is
// the body's `schema` ("" when absent).
func validateContent(v any, schema string) (sunlamp.Content, error) {
	const p = "content"
	in, ok := v.(obj)
	if !ok {
		if v == nil {
			return sunlamp.Content{}, required("content")
		}
		return sunlamp.Content{}, sunlamp.Invalid("content should be object")
	}
	typ, _, err := getString(in, p, "type", 0, 0, true)
	if err != nil {
		return sunlamp.Content{}, err
	}
	c := &copier{in: in, out: obj{"type": typ}, p: p}
	switch typ {
	case "text":
		err = textContent(c)
	case "image", "file":
		err = mediaContent(c, typ)
	case "carousel":
		err = itemsContent(c, false)
	case "list":
		err = itemsContent(c, true)
	case "location":
		err = locationContent(c)
	case "form":
		err = formContent(c)
	case "template":
		if schema != "whatsapp" {
			return sunlamp.Content{}, sunlamp.Invalid("schema should be equal to 'whatsapp' when content.type is template")
		}
		c.boolean("blockChatInput")
		if c.err == nil {
			var t obj
			t, _, c.err = getObject(in, p, "template", true)
			c.out["template"] = t
		}
		err = c.err
	case "formResponse":
		return sunlamp.Content{}, sunlamp.Invalid("content.type formResponse cannot be sent through the API: it only comes from Web Messenger replies to forms")
	default:
		return sunlamp.Content{}, sunlamp.Invalid("content.type should be equal to one of the allowed values: text, image, file, carousel, list, location, form, template")
	}
	if err != nil {
		return sunlamp.Content{}, err
	}
	var doc bytes.Buffer
	enc := json.NewEncoder(&doc)
	enc.SetEscapeHTML(false) // htmlText stays readable in the stored document
	if err := enc.Encode(c.out); err != nil {
		return sunlamp.Content{}, sunlamp.Invalid("content is not valid JSON")
	}
	return sunlamp.Content{Type: typ, Doc: bytes.TrimRight(doc.Bytes(), "\n")}, nil
}

// richText validates text, htmlText and markdownText: markdownText becomes htmlText (and cannot
// come with it), and a missing text is derived from the rich text. It returns whether any was given.
func richText(c *copier) bool {
	text := c.str("text", 0, maxTextLength, false)
	htmlText := c.str("htmlText", 0, maxTextLength, false)
	md, hasMD, err := getString(c.in, c.p, "markdownText", 0, maxTextLength, false)
	if c.err == nil {
		c.err = err
	}
	if c.err != nil {
		return false
	}
	_, hasHTML := c.out["htmlText"]
	if hasMD {
		if hasHTML {
			c.err = sunlamp.Invalid("content.markdownText cannot be used with content.htmlText")
			return false
		}
		htmlText = markdownToHTML(md)
		if utf8.RuneCountInString(htmlText) > maxTextLength {
			c.err = sunlamp.Invalid("content.markdownText converted to HTML should NOT be longer than %d characters", maxTextLength)
			return false
		}
		c.out["htmlText"] = htmlText
		hasHTML = true
	}
	_, hasText := c.out["text"]
	if !hasText && hasHTML {
		text = htmlToText(htmlText)
		if utf8.RuneCountInString(text) > maxTextLength {
			text = string([]rune(text)[:maxTextLength])
		}
		c.out["text"] = text
		hasText = true
	}
	return hasText || hasHTML
}

func textContent(c *copier) error {
	hasText := richText(c)
	c.boolean("blockChatInput")
	c.str("payload", 0, 0, false)
	hasActions := c.actions("actions", true, 0, 0)
	if c.err != nil {
		return c.err
	}
	if !hasText && !hasActions {
		return sunlamp.Invalid("content should have required property 'text'")
	}
	return nil
}

func mediaContent(c *copier, typ string) error {
	mediaURL := c.uri("mediaUrl", 2048, true)
	alt := c.str("altText", 0, 128, false)
	richText(c)
	c.boolean("blockChatInput")
	if typ == "image" {
		c.actions("actions", true, 0, 0)
	}
	c.str("attachmentId", 0, 0, false)
	if c.err != nil {
		return c.err
	}
	// The spec: altText "will be saved by default with the file name as the value".
	if alt == "" {
		if u, err := url.Parse(mediaURL); err == nil {
			if name := path.Base(u.Path); name != "." && name != "/" && name != "" {
				c.out["altText"] = truncate(name, 128)
			}
		}
	}
	return nil
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// actions validates an array of actions at key: all six types when full, the ActionSubset (buy,
// link, postback, webview) otherwise. It returns whether any action was given.
func (c *copier) actions(key string, full bool, min, max int) bool {
	if c.err != nil {
		return false
	}
	arr, ok, err := getArray(c.in, c.p, key, min > 0, min, max)
	if err != nil || !ok {
		c.err = err
		return false
	}
	out := make([]any, 0, len(arr))
	opens := 0
	for i, v := range arr {
		p := fmt.Sprintf("%s.%s[%d]", c.p, key, i)
		a, err := validateAction(v, p, full)
		if err != nil {
			c.err = err
			return false
		}
		if a["openOnReceive"] == true {
			opens++
		}
		out = append(out, a)
	}
	if opens > 1 {
		c.err = sunlamp.Invalid("%s.%s should have at most one webview action with openOnReceive", c.p, key)
		return false
	}
	c.out[key] = out
	return len(out) > 0
}

func validateAction(v any, p string, full bool) (obj, error) {
	in, ok := v.(obj)
	if !ok {
		return nil, sunlamp.Invalid("%s should be object", p)
	}
	typ, _, err := getString(in, p, "type", 0, 0, true)
	if err != nil {
		return nil, err
	}
	c := &copier{in: in, out: obj{"type": typ}, p: p}
	allowed := "buy, link, postback, webview"
	if full {
		allowed = "buy, link, locationRequest, postback, reply, webview"
	}
	c.str("text", 0, 0, true)
	switch typ {
	case "buy":
		if c.err == nil {
			var amount int64
			var ok bool
			amount, ok, c.err = getInteger(in, p, "amount", true, 0, 1<<53)
			if ok {
				c.out["amount"] = amount
			}
		}
		c.str("currency", 0, 0, false)
	case "link":
		c.uri("uri", 2048, true)
		c.boolean("default")
		c.extraChannelOptions()
	case "postback":
		c.str("payload", 0, 0, true)
	case "webview":
		c.uri("uri", 2048, true)
		c.uri("fallback", 2048, true)
		c.enum("size", false, "compact", "tall", "full")
		c.boolean("openOnReceive")
		c.boolean("default")
		c.extraChannelOptions()
	case "reply", "locationRequest":
		if !full {
			return nil, sunlamp.Invalid("%s.type should be equal to one of the allowed values: %s", p, allowed)
		}
		if typ == "reply" {
			c.str("payload", 0, 0, true)
			c.str("iconUrl", 0, 0, false)
		}
	default:
		return nil, sunlamp.Invalid("%s.type should be equal to one of the allowed values: %s", p, allowed)
	}
	c.metadata("metadata")
	return c.out, c.err
}

func (c *copier) extraChannelOptions() {
	if c.err != nil {
		return
	}
	o, ok, err := getObject(c.in, c.p, "extraChannelOptions", false)
	if err != nil || !ok {
		c.err = err
		return
	}
	out := obj{}
	if m, ok, err := getObject(o, c.p+".extraChannelOptions", "messenger", false); err != nil {
		c.err = err
		return
	} else if ok {
		mc := &copier{in: m, out: obj{}, p: c.p + ".extraChannelOptions.messenger"}
		mc.boolean("messenger_extensions")
		mc.enum("webview_share_button", false, "hide")
		if mc.err != nil {
			c.err = mc.err
			return
		}
		out["messenger"] = mc.out
	}
	c.out["extraChannelOptions"] = out
}

// itemsContent validates a carousel or (list true) a list, and generates the fallback text.
func itemsContent(c *copier, list bool) error {
	arr, _, err := getArray(c.in, c.p, "items", true, 1, maxItems)
	if err != nil {
		return err
	}
	items := make([]any, 0, len(arr))
	var fallback []string
	for i, v := range arr {
		p := fmt.Sprintf("content.items[%d]", i)
		in, ok := v.(obj)
		if !ok {
			return sunlamp.Invalid("%s should be object", p)
		}
		ic := &copier{in: in, out: obj{}, p: p}
		title := ic.str("title", 1, 128, true)
		desc := ic.str("description", 0, 128, false)
		ic.uri("mediaUrl", 2048, false)
		ic.str("mediaType", 0, 128, false)
		ic.str("altText", 0, 128, false)
		ic.enum("size", false, "compact", "large")
		ic.actions("actions", false, 1, maxItemActions)
		ic.metadata("metadata")
		if ic.err != nil {
			return ic.err
		}
		items = append(items, ic.out)
		// The fallback of the spec's examples: "1. Tacos\nGet your tacos today!\nMore info: https://example.org".
		lines := []string{fmt.Sprintf("%d. %s", i+1, title)}
		if desc != "" {
			lines = append(lines, desc)
		}
		for _, a := range ic.out["actions"].([]any) {
			a := a.(obj)
			if a["type"] == "link" || a["type"] == "webview" {
				lines = append(lines, fmt.Sprintf("%s: %s", a["text"], a["uri"]))
			}
		}
		fallback = append(fallback, strings.Join(lines, "\n"))
	}
	c.out["items"] = items
	c.boolean("blockChatInput")
	if list {
		c.actions("actions", false, 0, maxListActions)
		if c.err == nil {
			if a, ok := c.out["actions"].([]any); ok && len(a) == 0 {
				return sunlamp.Invalid("content.actions should have at least 1 item")
			}
		}
	} else if c.err == nil {
		d, ok, err := getObject(c.in, c.p, "displaySettings", false)
		if err != nil {
			return err
		}
		if ok {
			dc := &copier{in: d, out: obj{}, p: "content.displaySettings"}
			dc.enum("imageAspectRatio", false, "horizontal", "square")
			if dc.err != nil {
				return dc.err
			}
			c.out["displaySettings"] = dc.out
		}
	}
	c.out["text"] = strings.Join(fallback, "\n\n")
	return c.err
}

func locationContent(c *copier) error {
	coords, _, err := getObject(c.in, c.p, "coordinates", true)
	if err != nil {
		return err
	}
	lat, _, err := getNumber(coords, "content.coordinates", "lat", true)
	if err != nil {
		return err
	}
	long, _, err := getNumber(coords, "content.coordinates", "long", true)
	if err != nil {
		return err
	}
	if f, _ := lat.Float64(); f < -90 || f > 90 {
		return sunlamp.Invalid("content.coordinates.lat should be between -90 and 90")
	}
	if f, _ := long.Float64(); f < -180 || f > 180 {
		return sunlamp.Invalid("content.coordinates.long should be between -180 and 180")
	}
	c.out["coordinates"] = obj{"lat": lat, "long": long}
	loc, ok, err := getObject(c.in, c.p, "location", false)
	if err != nil {
		return err
	}
	if ok {
		lc := &copier{in: loc, out: obj{}, p: "content.location"}
		lc.str("address", 0, 0, false)
		lc.str("name", 0, 0, false)
		if lc.err != nil {
			return lc.err
		}
		c.out["location"] = lc.out
	}
	c.boolean("blockChatInput")
	// The fallback of the spec's example.
	c.out["text"] = "Location shared:\nhttps://maps.google.com/maps?q=" + lat.String() + "," + long.String()
	return c.err
}

func formContent(c *copier) error {
	arr, _, err := getArray(c.in, c.p, "fields", true, 1, maxFormFields)
	if err != nil {
		return err
	}
	fields := make([]any, 0, len(arr))
	names := map[string]bool{}
	for i, v := range arr {
		p := fmt.Sprintf("content.fields[%d]", i)
		in, ok := v.(obj)
		if !ok {
			return sunlamp.Invalid("%s should be object", p)
		}
		fc := &copier{in: in, out: obj{}, p: p}
		fc.enum("type", true, "email", "select", "text")
		name := fc.str("name", 1, 128, true)
		fc.str("label", 1, 128, true)
		fc.str("placeholder", 1, 128, false)
		fc.enum("format", false, "integer", "decimal")
		for _, k := range []string{"minSize", "maxSize"} {
			if fc.err == nil {
				n, ok, err := getInteger(in, p, k, false, 1, 256)
				fc.err = err
				if ok {
					fc.out[k] = n
				}
			}
		}
		if fc.err == nil {
			if mn, ok := fc.out["minSize"].(int64); ok {
				if mx, ok := fc.out["maxSize"].(int64); ok && mn > mx {
					fc.err = sunlamp.Invalid("%s.minSize should be <= %s.maxSize", p, p)
				}
			}
		}
		if fc.err == nil {
			opts, ok, err := getArray(in, p, "options", false, 0, maxSelectOptions)
			fc.err = err
			if ok {
				out := make([]any, 0, len(opts))
				for j, o := range opts {
					op := fmt.Sprintf("%s.options[%d]", p, j)
					om, isObj := o.(obj)
					if !isObj {
						return sunlamp.Invalid("%s should be object", op)
					}
					oc := &copier{in: om, out: obj{}, p: op}
					oc.str("label", 1, 128, true)
					oc.str("name", 1, 128, true)
					if oc.err != nil {
						return oc.err
					}
					out = append(out, oc.out)
				}
				fc.out["options"] = out
			}
		}
		if fc.err != nil {
			return fc.err
		}
		if fc.out["type"] == "select" {
			if o, _ := fc.out["options"].([]any); len(o) == 0 {
				return sunlamp.Invalid("%s.options should have at least 1 item for a select field", p)
			}
		}
		if names[name] {
			return sunlamp.Invalid("%s.name should be unique within the form", p)
		}
		names[name] = true
		fields = append(fields, fc.out)
	}
	c.out["fields"] = fields
	c.boolean("blockChatInput")
	c.str("text", 0, maxTextLength, false)
	c.out["submitted"] = false
	return c.err
}
