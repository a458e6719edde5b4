package sqlstore

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sunlamp/sunlamp"
)

// TestSnapshotFieldsClassified lists every field of the stored event snapshot with its personal
// mark (snapshot.go), so that a field added to the schema fails here until it is classified: owner,
// erase (cleared by erasure), keep (personal, kept by erasure), or "" (holds no personal data).
func TestSnapshotFieldsClassified(t *testing.T) {
	want := map[string]string{
		"version": "",

		"user": "", "user.id": "owner", "user.appId": "", "user.externalId": "keep", "user.brandId": "", "user.zendeskId": "keep",
		"user.signedUpAt": "", "user.toBeRetained": "", "user.profile": "", "user.profile.givenName": "erase",
		"user.profile.surname": "erase", "user.profile.email": "erase", "user.profile.avatarUrl": "erase",
		"user.profile.locale": "erase", "user.metadata": "erase", "user.identities": "erase",
		"user.identities[].type": "", "user.identities[].value": "erase", "user.identities[].verification": "", "user.authenticated": "",

		"conversation": "", "conversation.id": "", "conversation.appId": "", "conversation.type": "",
		"conversation.isDefault": "", "conversation.displayName": "keep", "conversation.description": "keep",
		"conversation.iconUrl": "keep", "conversation.metadata": "keep", "conversation.businessLastRead": "",
		"conversation.lastUpdatedAt": "", "conversation.createdAt": "", "conversation.messageCount": "",

		"message": "", "message.id": "", "message.appId": "", "message.conversationId": "", "message.received": "",
		"message.author": "", "message.author.type": "", "message.author.subtypes": "", "message.author.userId": "owner",
		"message.author.displayName": "erase", "message.author.avatarUrl": "erase",
		"message.content": "", "message.content.type": "", "message.content.doc": "keep",
		"message.source": "", "message.source.type": "", "message.source.integrationId": "",
		"message.source.originalMessageId": "", "message.source.originalMessageTimestamp": "",
		"message.metadata": "keep", "message.references": "keep",

		"client": "", "client.id": "", "client.appId": "", "client.userId": "owner", "client.type": "", "client.status": "",
		"client.integrationId": "", "client.externalId": "keep", "client.lastSeen": "", "client.linkedAt": "",
		"client.displayName": "erase", "client.avatarUrl": "erase", "client.info": "erase", "client.raw": "erase",
		"client.primary": "", "client.targetConversationId": "",

		"device": "", "device.id": "", "device.appId": "", "device.userId": "owner", "device.clientId": "", "device.type": "",
		"device.guid": "keep", "device.status": "", "device.integrationId": "", "device.lastSeen": "",
		"device.pushNotificationToken": "erase", "device.info": "erase", "device.appVersion": "erase",

		"reason": "", "creationReason": "",
		"activity": "", "activity.type": "", "activity.author": "", "activity.author.type": "", "activity.author.subtypes": "",
		"activity.author.userId": "owner", "activity.author.displayName": "erase", "activity.author.avatarUrl": "erase",

		"activeSwitchboardIntegration": "", "activeSwitchboardIntegration.id": "", "activeSwitchboardIntegration.name": "",
		"activeSwitchboardIntegration.integrationId": "", "activeSwitchboardIntegration.integrationType": "",
		"pendingSwitchboardIntegration": "", "pendingSwitchboardIntegration.id": "", "pendingSwitchboardIntegration.name": "",
		"pendingSwitchboardIntegration.integrationId": "", "pendingSwitchboardIntegration.integrationType": "",
		"actionMetadata": "keep", "actionError": "", "actionError.code": "", "actionError.message": "",

		"source": "", "source.type": "", "source.integrationId": "", "source.originalMessageId": "", "source.originalMessageTimestamp": "",
		"postback": "", "postback.payload": "keep", "postback.metadata": "keep", "postback.messageId": "", "postback.text": "keep",
		"referral": "", "referral.code": "keep", "referral.details": "keep",
		"delivery": "", "delivery.messageId": "", "delivery.status": "", "delivery.destinationType": "", "delivery.destinationIntegrationId": "",
		"delivery.externalMessages": "keep", "delivery.isFinal": "", "delivery.error": "", "delivery.error.code": "", "delivery.error.message": "",
		"merge": "", "merge.reason": "",
		"merge.surviving": "", "merge.surviving.id": "owner", "merge.surviving.appId": "", "merge.surviving.externalId": "keep", "merge.surviving.brandId": "", "merge.surviving.zendeskId": "keep",
		"merge.surviving.signedUpAt": "", "merge.surviving.toBeRetained": "", "merge.surviving.profile": "", "merge.surviving.profile.givenName": "erase",
		"merge.surviving.profile.surname": "erase", "merge.surviving.profile.email": "erase", "merge.surviving.profile.avatarUrl": "erase",
		"merge.surviving.profile.locale": "erase", "merge.surviving.metadata": "erase", "merge.surviving.identities": "erase",
		"merge.surviving.identities[].type": "", "merge.surviving.identities[].value": "erase", "merge.surviving.identities[].verification": "", "merge.surviving.authenticated": "",
		"merge.discarded": "", "merge.discarded.survivorId": "owner", "merge.discarded.id": "", "merge.discarded.appId": "", "merge.discarded.externalId": "keep",
		"merge.discarded.brandId": "", "merge.discarded.zendeskId": "keep", "merge.discarded.signedUpAt": "", "merge.discarded.toBeRetained": "", "merge.discarded.profile": "",
		"merge.discarded.profile.givenName": "erase", "merge.discarded.profile.surname": "erase", "merge.discarded.profile.email": "erase",
		"merge.discarded.profile.avatarUrl": "erase", "merge.discarded.profile.locale": "erase", "merge.discarded.metadata": "erase",
		"merge.discarded.identities": "erase", "merge.discarded.identities[].type": "", "merge.discarded.identities[].value": "erase",
		"merge.discarded.identities[].verification": "", "merge.discarded.discardedMetadata": "erase", "merge.discarded.authenticated": "",
		"passthrough": "", "passthrough.userId": "owner", "passthrough.data": "erase",
	}
	for _, side := range []string{"surviving", "discarded"} {
		for k, v := range map[string]string{"": "", ".id": "", ".appId": "", ".type": "", ".isDefault": "", ".displayName": "keep", ".description": "keep",
			".iconUrl": "keep", ".metadata": "keep", ".businessLastRead": "", ".lastUpdatedAt": "", ".createdAt": "", ".messageCount": ""} {
			want["merge."+side+"Conversation"+k] = v
		}
		for k, v := range map[string]string{"": "", ".id": "", ".appId": "", ".userId": "owner", ".type": "", ".status": "", ".integrationId": "",
			".externalId": "keep", ".lastSeen": "", ".linkedAt": "", ".displayName": "erase", ".avatarUrl": "erase", ".info": "erase", ".raw": "erase",
			".primary": "", ".targetConversationId": ""} {
			want["merge."+side+"Client"+k] = v
		}
	}
	got := map[string]string{}
	var walk func(typ reflect.Type, prefix string, owned bool)
	walk = func(typ reflect.Type, prefix string, owned bool) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			if f.Tag.Get("personal") == "owner" {
				if f.Type.Kind() != reflect.String {
					t.Errorf("%s%s: an owner field must be a string (a user id), got %s", prefix, f.Name, f.Type)
				}
				owned = true
			}
		}
		for i := range typ.NumField() {
			f := typ.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			path := prefix + name
			mark := f.Tag.Get("personal")
			got[path] = mark
			switch mark {
			case "", "owner", "keep":
			case "erase":
				// scrub clears a field only in a struct that belongs to the erased user.
				if !owned {
					t.Errorf("%s is marked erase but neither its struct nor one around it has an owner field: erasure would never clear it", path)
				}
			default:
				t.Errorf("%s: unknown mark personal:%q", path, mark)
			}
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct {
				walk(ft.Elem(), path+"[].", owned)
			} else if ft.Kind() == reflect.Struct {
				walk(ft, path+".", owned)
			}
		}
	}
	walk(reflect.TypeFor[snapshot](), "", false)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the schema's fields and marks differ from the list (-want +got): classify a new field here and in snapshot.go:\n%s", diff)
	}
}

// fillSnapshot sets every field of v, recursively, to a value that names its mark and path
// ("erase:user.profile.email", "keep:...", "plain:..."), owner fields to owner, numbers and flags
// to non-zero values; slices get one element.
func fillSnapshot(v reflect.Value, path, mark, owner string) {
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fillSnapshot(v.Elem(), path, mark, owner)
	case reflect.Struct:
		for i := range v.NumField() {
			f := v.Type().Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			m := f.Tag.Get("personal")
			switch {
			case m == "" && mark == "erase": // inside an erased field (identities): erased with it
				m = "erase"
			case m == "":
				m = "plain"
			}
			fillSnapshot(v.Field(i), strings.TrimPrefix(path+"."+name, "."), m, owner)
		}
	case reflect.String:
		if mark == "owner" {
			v.SetString(owner)
		} else {
			v.SetString(mark + ":" + path)
		}
	case reflect.Int, reflect.Int64:
		v.SetInt(1_700_000_000_000)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Map:
		v.Set(reflect.ValueOf(map[string]any{"k": mark + ":" + path}))
	case reflect.Slice:
		if v.Type() == reflect.TypeFor[json.RawMessage]() {
			v.SetBytes([]byte(`"` + mark + ":" + path + `"`))
			return
		}
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fillSnapshot(v.Index(0), path+"[]", mark, owner)
	default:
		panic(fmt.Sprintf("fillSnapshot: %s has a kind the schema should not use: %s", path, v.Kind()))
	}
}

// TestScrubClearsMarkedFields fills every field of a snapshot with a value that names its mark, and
// erases its user: no erase value may remain, and every other value must.
func TestScrubClearsMarkedFields(t *testing.T) {
	const userID = "user-being-erased"
	var s snapshot
	fillSnapshot(reflect.ValueOf(&s).Elem(), "", "plain", userID)
	before, err := json.Marshal(&s)
	if err != nil {
		t.Fatal(err)
	}
	count := func(b []byte, mark string) int { return strings.Count(string(b), `"`+mark+":") }
	if count(before, "erase") == 0 || count(before, "keep") == 0 || count(before, "plain") == 0 {
		t.Fatalf("the filled snapshot lacks a kind of value: %s", before)
	}

	other := s
	fillSnapshot(reflect.ValueOf(&other).Elem(), "", "plain", "someone-else")
	if scrubSnapshot(&other, userID) {
		t.Errorf("erasing %s changed a snapshot of someone else", userID)
	}

	if !scrubSnapshot(&s, userID) {
		t.Fatal("erasure reported no change")
	}
	after, err := json.Marshal(&s)
	if err != nil {
		t.Fatal(err)
	}
	if n := count(after, "erase"); n != 0 {
		t.Errorf("got %d values marked erase after the erasure, want 0: %s", n, after)
	}
	for _, mark := range []string{"keep", "plain"} {
		if got, want := count(after, mark), count(before, mark); got != want {
			t.Errorf("got %d %s values after the erasure, want the %d before it: %s", got, mark, want, after)
		}
	}
	if scrubSnapshot(&s, userID) {
		t.Error("a second erasure reported a change")
	}
}

// fillDomain sets every field of v, recursively, to a distinct non-zero value; slices get one
// element, times whole milliseconds.
func fillDomain(v reflect.Value, n *int) {
	*n++
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fillDomain(v.Elem(), n)
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.UnixMilli(1_700_000_000_000 + int64(*n)*1001).UTC()))
			return
		}
		for i := range v.NumField() {
			fillDomain(v.Field(i), n)
		}
	case reflect.String:
		v.SetString(fmt.Sprintf("s%d", *n))
	case reflect.Int, reflect.Int64:
		v.SetInt(int64(*n))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		v.SetMapIndex(reflect.ValueOf(fmt.Sprintf("k%d", *n)), reflect.ValueOf(fmt.Sprintf("v%d", *n)))
	case reflect.Slice:
		if v.Type() == reflect.TypeFor[json.RawMessage]() {
			v.SetBytes(fmt.Appendf(nil, `{"raw":%d}`, *n))
			return
		}
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fillDomain(v.Index(0), n)
	default:
		panic(fmt.Sprintf("fillDomain: unexpected kind %s", v.Kind()))
	}
}

// TestEventDataRoundTrip: every field of sunlamp.EventData is stored and read back, so that a field
// added to a domain struct fails here until the schema keeps it; an empty map or list stays apart
// from a missing one, since the payloads tell them apart.
func TestEventDataRoundTrip(t *testing.T) {
	var full sunlamp.EventData
	n := 0
	fillDomain(reflect.ValueOf(&full).Elem(), &n)
	empty := sunlamp.EventData{
		User:           &sunlamp.User{ID: "u", Metadata: sunlamp.Metadata{}, Identities: []sunlamp.Identity{}},
		Conversation:   &sunlamp.Conversation{ID: "c", Metadata: sunlamp.Metadata{}},
		Message:        &sunlamp.Message{ID: "m", Metadata: sunlamp.Metadata{}, Author: sunlamp.Author{Subtypes: []string{}}},
		Client:         &sunlamp.Client{ID: "cl", Info: map[string]any{}, Raw: map[string]any{}},
		Device:         &sunlamp.Device{ID: "d", Info: map[string]any{}},
		ActionMetadata: sunlamp.Metadata{},
	}
	for name, d := range map[string]sunlamp.EventData{"every field": full, "empty maps and lists": empty, "nothing": {}} {
		t.Run(name, func(t *testing.T) {
			b, err := encodeEventData(d)
			if err != nil {
				t.Fatal(err)
			}
			got, err := decodeEventData(string(b))
			if err != nil {
				t.Fatal(err)
			}
			// A switchboard state keeps what the payloads show of a switchboard integration.
			ref := func(si *sunlamp.SwitchboardIntegration) *sunlamp.SwitchboardIntegration {
				if si == nil {
					return nil
				}
				return &sunlamp.SwitchboardIntegration{ID: si.ID, Name: si.Name, IntegrationID: si.IntegrationID, IntegrationType: si.IntegrationType}
			}
			want := d
			want.Switchboard = sunlamp.SwitchboardState{Active: ref(d.Switchboard.Active), Pending: ref(d.Switchboard.Pending)}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("read back a different snapshot (-want +got); does the schema keep every field?\n%s\nstored: %s", diff, b)
			}
		})
	}
}

// TestUserAuthorNotStored: the author of a user's message or activity is stored without the
// user's name and avatar, which the payloads render from the user.
func TestUserAuthorNotStored(t *testing.T) {
	author := sunlamp.Author{Type: sunlamp.AuthorUser, UserID: "u1", DisplayName: "Ada Lovelace", AvatarURL: "https://example.com/ada.png"}
	d := sunlamp.EventData{Message: &sunlamp.Message{ID: "m1", Author: author}, Activity: &sunlamp.Activity{Type: sunlamp.ActivityRead, Author: author}}
	b, err := encodeEventData(d)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "Ada") || strings.Contains(string(b), "ada.png") {
		t.Errorf("a user author's name or avatar was stored: %s", b)
	}
	business := sunlamp.Author{Type: sunlamp.AuthorBusiness, DisplayName: "Support", AvatarURL: "https://example.com/s.png"}
	if got := evAuthorOf(business).author(); !cmp.Equal(got, business) {
		t.Errorf("got business author %+v, want %+v kept whole", got, business)
	}
}

// TestMessageSnapshotHoldsNothingToErase: the snapshot of a conversation:message event (a
// conversation and a user's message) holds nothing that erasure would clear, which is why
// scrubEvents can leave those events out.
func TestMessageSnapshotHoldsNothingToErase(t *testing.T) {
	var d sunlamp.EventData
	n := 0
	fillDomain(reflect.ValueOf(&d).Elem(), &n)
	d.Message.Author.Type = sunlamp.AuthorUser
	s := snapshotOf(sunlamp.EventData{Conversation: d.Conversation, Message: d.Message})
	if scrubSnapshot(s, d.Message.Author.UserID) {
		b, _ := json.Marshal(s)
		t.Errorf("erasing the author of a message changed its event's snapshot: %s", b)
	}
}

// TestMessageEventSnapshot: the group commit's snapshot of a conversation:message event, put
// together from the encoded conversation and message, is the one encodeEventData writes.
func TestMessageEventSnapshot(t *testing.T) {
	var d sunlamp.EventData
	n := 0
	fillDomain(reflect.ValueOf(&d).Elem(), &n)
	d.Message.ConversationID = d.Conversation.ID
	event, err := json.Marshal(snapshotMessage(*d.Message))
	if err != nil {
		t.Fatal(err)
	}
	r := &postRequest{m: *d.Message, event: event}
	convJSON, err := conversationsJSON([]*postRequest{r}, map[string]*sunlamp.Conversation{d.Conversation.ID: d.Conversation})
	if err != nil {
		t.Fatal(err)
	}
	got := insertEventsStmt([]*postRequest{r}, convJSON).args[6].(string)
	want, err := encodeEventData(sunlamp.EventData{Conversation: d.Conversation, Message: d.Message})
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("got snapshot\n%s\nwant\n%s", got, want)
	}
}

// TestDecodeRefusesOtherVersions: a snapshot of another version (or of none: the JSON of domain
// structs written before the schema) is an error, not a silently empty event.
func TestDecodeRefusesOtherVersions(t *testing.T) {
	for _, data := range []string{`{"Conversation":{"ID":"c1"}}`, `{"version":2,"conversation":{"id":"c1"}}`, `not json`} {
		if _, err := decodeEventData(data); err == nil {
			t.Errorf("decoded %s, want an error", data)
		}
	}
}
