package api

import (
	"bytes"
	"encoding/json"

	"github.com/sunlamp/sunlamp"
)

// maskedTextFields are the fields of a content whose text a user writes: they are masked when the
// app's maskCreditCardNumbers is on. (Payloads, URLs and names of buttons are not a user's text.)
var maskedTextFields = []string{"text", "htmlText", "textFallback", "altText"}

// maskUserContent returns c with the card numbers in its text masked (sunlamp.MaskCardNumbers),
// and c itself when there was none to mask. It is applied to messages a user authors, before they
// are stored, when the app's settings ask for it.
func maskUserContent(settings sunlamp.AppSettings, c sunlamp.Content) sunlamp.Content {
	if !settings.MasksCardNumbers() || !bytes.ContainsAny(c.Doc, "0123456789") {
		return c
	}
	var doc obj
	d := json.NewDecoder(bytes.NewReader(c.Doc))
	d.UseNumber()
	if err := d.Decode(&doc); err != nil {
		return c
	}
	changed := maskFields(doc)
	// A formResponse's answers are text the user wrote too.
	if fields, ok := doc["fields"].([]any); ok && c.Type == "formResponse" {
		for _, f := range fields {
			if f, ok := f.(obj); ok && maskFields(f) {
				changed = true
			}
		}
	}
	if !changed {
		return c
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return c
	}
	c.Doc = bytes.TrimRight(buf.Bytes(), "\n")
	return c
}

// maskFields masks the text fields of o in place and reports whether any changed.
func maskFields(o obj) bool {
	changed := false
	for _, k := range maskedTextFields {
		if s, ok := o[k].(string); ok {
			if m := sunlamp.MaskCardNumbers(s); m != s {
				o[k] = m
				changed = true
			}
		}
	}
	return changed
}
