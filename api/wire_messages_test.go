package api

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/sunlamp/sunlamp"
)

// TestAppendMessageJSON checks the hand-written ListMessages encoding against encoding/json.
func TestAppendMessageJSON(t *testing.T) {
	tricky := "quote \" backslash \\ newline \n tab \t bell \a nul \x00 html <b>&</b> é 😀 \u2028 bad \xff end"
	msgs := []sunlamp.Message{
		{ID: "5f748c1a2b5315fc007e7977", Received: time.UnixMilli(1601473562733), Author: sunlamp.Author{Type: "business", AvatarURL: "https://example.org/a.png"},
			Content: sunlamp.TextContent("Hello!"), Source: sunlamp.Source{Type: sunlamp.SourceAPI}},
		{ID: "5f748c1a2b5315fc007e7978", Received: time.UnixMilli(1601473562734), Author: sunlamp.Author{Type: "user", UserID: "u1", DisplayName: tricky, Subtypes: []string{"AI"}},
			Content: sunlamp.TextContent(tricky), Source: sunlamp.Source{Type: "messenger", IntegrationID: "i1", OriginalMessageID: "o1", OriginalMessageTimestamp: time.UnixMilli(5)},
			Metadata: sunlamp.Metadata{"k": tricky, "n": json.Number("1.5")}, References: json.RawMessage(`[{"uri":"https://a.b"}]`)},
	}
	for _, m := range msgs {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(messageOut(m)); err != nil {
			t.Fatal(err)
		}
		got := appendMessageJSON(nil, m)
		// encoding/json escapes map values with HTML escaping inside Marshal; compare decoded values.
		var g, w any
		if err := json.Unmarshal(got, &g); err != nil {
			t.Fatalf("invalid JSON %s: %v", got, err)
		}
		_ = json.Unmarshal(want.Bytes(), &w)
		gb, _ := json.Marshal(g)
		wb, _ := json.Marshal(w)
		if !bytes.Equal(gb, wb) {
			t.Errorf("got  %s\nwant %s", got, want.Bytes())
		}
	}
}
