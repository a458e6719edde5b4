package api

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/sunlamp/sunlamp"
)

func decodeContent(t *testing.T, s string) any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("bad test content %s: %v", s, err)
	}
	return v
}

// TestValidateContentErrors checks that invalid content is refused with a title naming the field.
func TestValidateContentErrors(t *testing.T) {
	long := strings.Repeat("x", 4097)
	item := `{"title":"T","actions":[{"type":"postback","text":"S","payload":"P"}]}`
	items := func(n int) string { return "[" + strings.TrimSuffix(strings.Repeat(item+",", n), ",") + "]" }
	tests := []struct{ content, schema, title string }{
		{`"text"`, "", "content should be object"},
		{`{}`, "", "content should have required property 'type'"},
		{`{"type":"video"}`, "", "content.type should be equal to one of the allowed values: text, image, file, carousel, list, location, form, template"},
		{`{"type":"text"}`, "", "content should have required property 'text'"},
		{`{"type":"text","text":12}`, "", "content.text should be string"},
		{`{"type":"text","text":"` + long + `"}`, "", "content.text should NOT be longer than 4096 characters"},
		{`{"type":"text","htmlText":"` + long + `"}`, "", "content.htmlText should NOT be longer than 4096 characters"},
		{`{"type":"text","markdownText":"a","htmlText":"<b>a</b>"}`, "", "content.markdownText cannot be used with content.htmlText"},
		{`{"type":"text","markdownText":"` + strings.Repeat("<", 1100) + `"}`, "", "content.markdownText converted to HTML should NOT be longer than 4096 characters"},
		{`{"type":"text","text":"a","blockChatInput":"yes"}`, "", "content.blockChatInput should be boolean"},
		{`{"type":"text","text":"a","actions":{}}`, "", "content.actions should be array"},
		{`{"type":"text","text":"a","actions":[{"type":"share","text":"x"}]}`, "", "content.actions[0].type should be equal to one of the allowed values: buy, link, locationRequest, postback, reply, webview"},
		{`{"type":"text","text":"a","actions":[{"type":"postback","payload":"x"}]}`, "", "content.actions[0] should have required property 'text'"},
		{`{"type":"text","text":"a","actions":[{"type":"postback","text":"x"}]}`, "", "content.actions[0] should have required property 'payload'"},
		{`{"type":"text","text":"a","actions":[{"type":"reply","text":"x"}]}`, "", "content.actions[0] should have required property 'payload'"},
		{`{"type":"text","text":"a","actions":[{"type":"buy","text":"x"}]}`, "", "content.actions[0] should have required property 'amount'"},
		{`{"type":"text","text":"a","actions":[{"type":"buy","text":"x","amount":9.99}]}`, "", "content.actions[0].amount should be integer"},
		{`{"type":"text","text":"a","actions":[{"type":"link","text":"x"}]}`, "", "content.actions[0] should have required property 'uri'"},
		{`{"type":"text","text":"a","actions":[{"type":"link","text":"x","uri":"not a uri"}]}`, "", `content.actions[0].uri should match format "uri"`},
		{`{"type":"text","text":"a","actions":[{"type":"webview","text":"x","uri":"https://a.b"}]}`, "", "content.actions[0] should have required property 'fallback'"},
		{`{"type":"text","text":"a","actions":[{"type":"webview","text":"x","uri":"https://a.b","fallback":"https://a.b","size":"huge"}]}`, "", "content.actions[0].size should be equal to one of the allowed values: compact, tall, full"},
		{`{"type":"text","text":"a","actions":[{"type":"webview","text":"x","uri":"https://a.b","fallback":"https://a.b","openOnReceive":true},{"type":"webview","text":"y","uri":"https://a.b","fallback":"https://a.b","openOnReceive":true}]}`, "", "content.actions should have at most one webview action with openOnReceive"},
		{`{"type":"text","text":"a","actions":[{"type":"link","text":"x","uri":"https://a.b","extraChannelOptions":{"messenger":{"webview_share_button":"show"}}}]}`, "", "content.actions[0].extraChannelOptions.messenger.webview_share_button should be equal to one of the allowed values: hide"},
		{`{"type":"text","text":"a","actions":[{"type":"postback","text":"x","payload":"p","metadata":{"n":{"deep":1}}}]}`, "", "content.actions[0].metadata.n should be a string, number or boolean: content.actions[0] metadata is a flat object"},
		{`{"type":"image"}`, "", "content should have required property 'mediaUrl'"},
		{`{"type":"image","mediaUrl":"https://a.b/i.png","altText":"` + strings.Repeat("a", 129) + `"}`, "", "content.altText should NOT be longer than 128 characters"},
		{`{"type":"file","mediaUrl":"relative/path.pdf"}`, "", `content.mediaUrl should match format "uri"`},
		{`{"type":"carousel"}`, "", "content should have required property 'items'"},
		{`{"type":"carousel","items":[]}`, "", "content.items should have at least 1 item"},
		{`{"type":"carousel","items":` + items(11) + `}`, "", "content.items should NOT have more than 10 items"},
		{`{"type":"carousel","items":[{"actions":[{"type":"postback","text":"S","payload":"P"}]}]}`, "", "content.items[0] should have required property 'title'"},
		{`{"type":"carousel","items":[{"title":"T","actions":[]}]}`, "", "content.items[0].actions should have at least 1 item"},
		{`{"type":"carousel","items":[{"title":"T"}]}`, "", "content.items[0] should have required property 'actions'"},
		{`{"type":"carousel","items":[{"title":"T","actions":[{"type":"reply","text":"S","payload":"P"}]}]}`, "", "content.items[0].actions[0].type should be equal to one of the allowed values: buy, link, postback, webview"},
		{`{"type":"carousel","items":[{"title":"T","actions":[{"type":"postback","text":"S","payload":"P"},{"type":"postback","text":"S","payload":"P"},{"type":"postback","text":"S","payload":"P"},{"type":"postback","text":"S","payload":"P"}]}]}`, "", "content.items[0].actions should NOT have more than 3 items"},
		{`{"type":"carousel","items":[{"title":"","actions":[{"type":"postback","text":"S","payload":"P"}]}]}`, "", "content.items[0].title should NOT be shorter than 1 characters"},
		{`{"type":"carousel","items":[{"title":"T","size":"medium","actions":[{"type":"postback","text":"S","payload":"P"}]}]}`, "", "content.items[0].size should be equal to one of the allowed values: compact, large"},
		{`{"type":"carousel","items":` + items(1) + `,"displaySettings":{"imageAspectRatio":"wide"}}`, "", "content.displaySettings.imageAspectRatio should be equal to one of the allowed values: horizontal, square"},
		{`{"type":"list","items":` + items(1) + `,"actions":[]}`, "", "content.actions should have at least 1 item"},
		{`{"type":"list","items":` + items(1) + `,"actions":[{"type":"locationRequest","text":"x"}]}`, "", "content.actions[0].type should be equal to one of the allowed values: buy, link, postback, webview"},
		{`{"type":"location"}`, "", "content should have required property 'coordinates'"},
		{`{"type":"location","coordinates":{"lat":1}}`, "", "content.coordinates should have required property 'long'"},
		{`{"type":"location","coordinates":{"lat":"1","long":2}}`, "", "content.coordinates.lat should be number"},
		{`{"type":"location","coordinates":{"lat":91,"long":2}}`, "", "content.coordinates.lat should be between -90 and 90"},
		{`{"type":"form"}`, "", "content should have required property 'fields'"},
		{`{"type":"form","fields":[]}`, "", "content.fields should have at least 1 item"},
		{`{"type":"form","fields":[{"type":"text","name":"a"}]}`, "", "content.fields[0] should have required property 'label'"},
		{`{"type":"form","fields":[{"type":"date","name":"a","label":"A"}]}`, "", "content.fields[0].type should be equal to one of the allowed values: email, select, text"},
		{`{"type":"form","fields":[{"type":"text","name":"a","label":"A","maxSize":257}]}`, "", "content.fields[0].maxSize should be <= 256"},
		{`{"type":"form","fields":[{"type":"text","name":"a","label":"A"},{"type":"text","name":"a","label":"B"}]}`, "", "content.fields[1].name should be unique within the form"},
		{`{"type":"form","fields":[{"type":"select","name":"a","label":"A"}]}`, "", "content.fields[0].options should have at least 1 item for a select field"},
		{`{"type":"form","fields":[{"type":"select","name":"a","label":"A","options":[{"label":"x"}]}]}`, "", "content.fields[0].options[0] should have required property 'name'"},
		{`{"type":"formResponse","fields":[]}`, "", "content.type formResponse cannot be sent through the API: it only comes from Web Messenger replies to forms"},
		{`{"type":"template","template":{}}`, "", "schema should be equal to 'whatsapp' when content.type is template"},
		{`{"type":"template"}`, "whatsapp", "content should have required property 'template'"},
	}
	for _, tc := range tests {
		_, err := validateContent(decodeContent(t, tc.content), tc.schema)
		if err == nil {
			t.Errorf("content %.80s: got no error, want %q", tc.content, tc.title)
			continue
		}
		e := sunlamp.AsError(err)
		if e.Kind != sunlamp.KindInvalid || e.Code != "bad_request" || e.Title != tc.title {
			t.Errorf("content %.80s: got %d %s %q, want 400 bad_request %q", tc.content, e.Kind, e.Code, e.Title, tc.title)
		}
	}
}

// TestValidateContentNormalises checks the stored form: only schema fields, writeOnly turned into
// their stored form, readOnly generated.
func TestValidateContentNormalises(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"type":"text","text":"hi","unknown":1,"mediaSize":3}`, `{"text":"hi","type":"text"}`},
		{`{"type":"text","htmlText":"<p>Fish &amp; chips</p><p>today</p>"}`, `{"htmlText":"<p>Fish &amp; chips</p><p>today</p>","text":"Fish & chips\ntoday","type":"text"}`},
		{`{"type":"text","markdownText":"# Menu\n- **tacos**\n- [ramen](https://example.org)\n\n<script>"}`,
			`{"htmlText":"<h1>Menu</h1><ul><li><strong>tacos</strong></li><li><a href=\"https://example.org\">ramen</a></li></ul><p>&lt;script&gt;</p>","text":"Menu\ntacos\nramen\n\n<script>","type":"text"}`},
		{`{"type":"text","text":"plain","markdownText":"*rich*"}`, `{"htmlText":"<p><em>rich</em></p>","text":"plain","type":"text"}`},
		{`{"type":"text","actions":[{"type":"locationRequest","text":"Where?"}]}`, `{"actions":[{"text":"Where?","type":"locationRequest"}],"type":"text"}`},
		{`{"type":"file","mediaUrl":"https://example.org/docs/FAQ.pdf","mediaType":"x/y"}`, `{"altText":"FAQ.pdf","mediaUrl":"https://example.org/docs/FAQ.pdf","type":"file"}`},
		{`{"type":"location","coordinates":{"lat":-1.5,"long":2}}`, `{"coordinates":{"lat":-1.5,"long":2},"text":"Location shared:\nhttps://maps.google.com/maps?q=-1.5,2","type":"location"}`},
		{`{"type":"list","items":[{"title":"A","actions":[{"type":"webview","text":"Open","uri":"https://a.b","fallback":"https://a.c"}]},{"title":"B","description":"d","actions":[{"type":"buy","text":"Buy","amount":5}]}]}`,
			`{"items":[{"actions":[{"fallback":"https://a.c","text":"Open","type":"webview","uri":"https://a.b"}],"title":"A"},{"actions":[{"amount":5,"text":"Buy","type":"buy"}],"description":"d","title":"B"}],"text":"1. A\nOpen: https://a.b\n\n2. B\nd","type":"list"}`},
	}
	for _, tc := range tests {
		c, err := validateContent(decodeContent(t, tc.in), "")
		if err != nil {
			t.Errorf("content %s: got error %v", tc.in, err)
			continue
		}
		var got bytes.Buffer
		_ = json.Compact(&got, c.Doc)
		if got.String() != tc.want {
			t.Errorf("content %s:\ngot  %s\nwant %s", tc.in, got.String(), tc.want)
		}
	}
}
