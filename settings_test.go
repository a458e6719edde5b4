package sunlamp_test

import (
	"testing"

	"github.com/sunlamp/sunlamp"
)

func TestMaskCardNumbers(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"my card is 4111 1111 1111 1111", "my card is ************1111"},
		{"4111111111111111", "************1111"},
		{"4111-1111-1111-1111 exp 12/30", "************1111 exp 12/30"},
		{"amex 378282246310005.", "amex ***********0005."},
		{"diners 30569309025904 and visa 4012888888881881", "diners **********5904 and visa ************1881"},
		{"19 digits 6011000990139424 ok", "19 digits ************9424 ok"},
		// The service's own output (zendesk/sunshine-conversations-web#676): one card per run.
		{"4501-0136-5373-6750-3770-1005-3736-3900-1440-2401-0720-19", "************6750-3770-1005-3736-3900-1440-2401-0720-19"},
		// A number before the card in the same run: the card starts at a later group.
		{"order 12 4111 1111 1111 1111", "order 12 ************1111"},
		// Not Luhn-valid, too short, too long, glued to letters, or split by two separators.
		{"4111 1111 1111 1112", "4111 1111 1111 1112"},
		{"411111111111", "411111111111"},
		{"41111111111111111111", "41111111111111111111"},
		{"ref A4111111111111111", "ref A4111111111111111"},
		{"4111111111111111x", "4111111111111111x"},
		{"4111  1111  1111  1111", "4111  1111  1111  1111"},
		{"été 4111111111111111 €", "été ************1111 €"},
		{"", ""},
		{"no digits at all", "no digits at all"},
	} {
		if got := sunlamp.MaskCardNumbers(tc.in); got != tc.want {
			t.Errorf("MaskCardNumbers(%q): got %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestAnimalName(t *testing.T) {
	g1, s1 := sunlamp.AnimalName("5e4af71a81966a0ab4a4a6b3")
	g2, s2 := sunlamp.AnimalName("5e4af71a81966a0ab4a4a6b3")
	if g1 == "" || s1 == "" || g1 != g2 || s1 != s2 {
		t.Fatalf("got %q %q then %q %q, want the same non-empty name twice", g1, s1, g2, s2)
	}
	seen := map[string]bool{}
	for i := range 200 {
		g, s := sunlamp.AnimalName(sunlamp.NewID() + string(rune('a'+i%26)))
		seen[g+" "+s] = true
	}
	if len(seen) < 100 {
		t.Errorf("got %d distinct names of 200 users, want them spread", len(seen))
	}
}

func TestAppSettingsDefaults(t *testing.T) {
	on, off := true, false
	var unset sunlamp.AppSettings
	if !unset.MasksCardNumbers() || unset.EchoesPostbacks() || unset.GivesAnimalNames() || unset.AllowsManyConversations() {
		t.Errorf("unset settings: got mask %v echo %v animals %v multi %v, want true false false false",
			unset.MasksCardNumbers(), unset.EchoesPostbacks(), unset.GivesAnimalNames(), unset.AllowsManyConversations())
	}
	set := sunlamp.AppSettings{MaskCreditCardNumbers: &off, EchoPostback: &on, UseAnimalNames: &on, MultiConvoEnabled: &on}
	if set.MasksCardNumbers() || !set.EchoesPostbacks() || !set.GivesAnimalNames() || !set.AllowsManyConversations() {
		t.Errorf("set settings: got the defaults back")
	}
}

func TestFindPostback(t *testing.T) {
	carousel := sunlamp.Content{Type: "carousel", Doc: []byte(`{"type":"carousel","items":[{"title":"A","actions":[{"type":"link","text":"L","uri":"https://a.example"}]},
		{"title":"B","actions":[{"type":"postback","text":"Order B","payload":"ORDER_B","metadata":{"sku":"b-1"}}]}]}`)}
	text := sunlamp.Content{Type: "text", Doc: []byte(`{"type":"text","text":"?","actions":[{"type":"postback","text":"Yes","payload":"YES"},{"type":"reply","text":"No","payload":"NO"}]}`)}
	for _, tc := range []struct {
		c             sunlamp.Content
		payload, want string
		ok            bool
	}{
		{carousel, "ORDER_B", "Order B", true},
		{carousel, "ORDER_A", "", false},
		{text, "YES", "Yes", true},
		{text, "NO", "", false}, // a reply is no postback
	} {
		got, meta, ok := sunlamp.FindPostback(tc.c, tc.payload)
		if got != tc.want || ok != tc.ok {
			t.Errorf("FindPostback(%s): got %q %v, want %q %v", tc.payload, got, ok, tc.want, tc.ok)
		}
		if tc.payload == "ORDER_B" && meta["sku"] != "b-1" {
			t.Errorf("FindPostback(ORDER_B): got metadata %v, want sku b-1", meta)
		}
	}
}
