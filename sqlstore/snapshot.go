package sqlstore

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/sunlamp/sunlamp"
)

// This file is the schema of the event snapshots the store keeps: the data column of events, and
// user_purges.removed_event until the purge emits it. It is JSON with names of its own, one
// spelling, and a version, so that a domain struct can change without changing what is stored; the
// store encodes a sunlamp.EventData into it when it writes an event, and decodes it back when it
// hands events out (ClaimDeliveries), so that nothing outside this package reads it.
//
// The fan-out triggers of migration 0015 write activeSwitchboardIntegration and
// pendingSwitchboardIntegration into the snapshots of conversation events, with the fields of
// evSwitchboardRef.
//
// Every field is classified by its `personal` tag, and erasure works from those marks (erasure.go):
//
//   - personal:"owner" is the id of the user whose personal data the struct holds, with the
//     structs inside it that name no owner of their own (a user's profile);
//   - personal:"erase" is personal data of the owner that erasure clears
//     (DeleteUserPersonalInformation and DeleteUser);
//   - personal:"keep" can hold personal data that erasure keeps, as the spec's erasure does: the
//     identifiers of the user and its clients, and what people wrote in conversations and messages.
//
// An unmarked field holds no personal data: ids, types, statuses, times, counts, flags, and the
// structs that hold marked fields. TestSnapshotFieldsClassified lists every field with its mark, so
// that a field added without a classification fails.
//
// Fields are omitted when zero (omitzero keeps an empty map or slice apart from a missing one, as
// the payloads do). Times are Unix milliseconds.

// snapshotVersion is the version of the schema, stored in every snapshot. Version 1 is the first:
// the events written before it, as JSON of the domain structs, are not read (no release had shipped).
const snapshotVersion = 1

// messageEventHead and messageEventMid put the snapshot of a conversation:message event together from
// its encoded conversation and message (insertEventsStmt), as encodeEventData would write it:
// {"version":1,"conversation":...,"message":...} (TestMessageEventSnapshot).
const (
	messageEventHead = `{"version":1,"conversation":`
	messageEventMid  = `,"message":`
)

// snapshot is an event's snapshot: the stored form of sunlamp.EventData.
type snapshot struct {
	Version        int             `json:"version"`
	User           *evUser         `json:"user,omitzero"`
	Conversation   *evConversation `json:"conversation,omitzero"`
	Message        *evMessage      `json:"message,omitzero"`
	Client         *evClient       `json:"client,omitzero"`
	Device         *evDevice       `json:"device,omitzero"`
	Reason         string          `json:"reason,omitzero"`
	CreationReason string          `json:"creationReason,omitzero"`
	Activity       *evActivity     `json:"activity,omitzero"`
	// The switchboard state of the conversation: written by the fan-out triggers for conversation
	// events, by ApplySwitchboardAction for switchboard events.
	ActiveSwitchboardIntegration  *evSwitchboardRef `json:"activeSwitchboardIntegration,omitzero"`
	PendingSwitchboardIntegration *evSwitchboardRef `json:"pendingSwitchboardIntegration,omitzero"`
	ActionMetadata                map[string]any    `json:"actionMetadata,omitzero" personal:"keep"`
	ActionError                   *evError          `json:"actionError,omitzero"`
	// What channels report besides messages (issue 14).
	Source      *evSource      `json:"source,omitzero"`
	Postback    *evPostback    `json:"postback,omitzero"`
	Referral    *evReferral    `json:"referral,omitzero"`
	Delivery    *evDelivery    `json:"delivery,omitzero"`
	Merge       *evMerge       `json:"merge,omitzero"`
	Passthrough *evPassthrough `json:"passthrough,omitzero"`
}

// evPostback is the button of conversation:postback: the business's payload and metadata, and
// the button's text.
type evPostback struct {
	Payload   string         `json:"payload,omitzero" personal:"keep"`
	Metadata  map[string]any `json:"metadata,omitzero" personal:"keep"`
	MessageID string         `json:"messageId,omitzero"`
	Text      string         `json:"text,omitzero" personal:"keep"`
}

// evReferral is the referral of conversation:referral, as the channel gave it.
type evReferral struct {
	Code    string         `json:"code,omitzero" personal:"keep"`
	Details map[string]any `json:"details,omitzero" personal:"keep"`
}

// evDelivery is a channel's receipt for a message.
type evDelivery struct {
	MessageID                string   `json:"messageId,omitzero"`
	Status                   string   `json:"status,omitzero"`
	DestinationType          string   `json:"destinationType,omitzero"`
	DestinationIntegrationID string   `json:"destinationIntegrationId,omitzero"`
	ExternalMessages         []string `json:"externalMessages,omitzero" personal:"keep"`
	IsFinal                  bool     `json:"isFinal,omitzero"`
	Error                    *evError `json:"error,omitzero"`
}

// evMerge is what user:merge reports. The surviving user is its own owner; the discarded user,
// deleted by the merge, is a copy of data that the surviving user now holds, so it belongs to the
// surviving user too (evMergedUser.SurvivorID), and so does the discarded client (its UserID is
// the surviving user's).
type evMerge struct {
	Surviving             *evUser         `json:"surviving,omitzero"`
	Discarded             *evMergedUser   `json:"discarded,omitzero"`
	SurvivingConversation *evConversation `json:"survivingConversation,omitzero"`
	DiscardedConversation *evConversation `json:"discardedConversation,omitzero"`
	SurvivingClient       *evClient       `json:"survivingClient,omitzero"`
	DiscardedClient       *evClient       `json:"discardedClient,omitzero"`
	Reason                string          `json:"reason,omitzero"`
}

// evMergedUser is the discarded user of a merge, owned by the surviving one.
type evMergedUser struct {
	SurvivorID        string         `json:"survivorId" personal:"owner"`
	ID                string         `json:"id,omitzero"`
	AppID             string         `json:"appId,omitzero"`
	ExternalID        string         `json:"externalId,omitzero" personal:"keep"`
	BrandID           string         `json:"brandId,omitzero"`
	ZendeskID         string         `json:"zendeskId,omitzero" personal:"keep"`
	SignedUpAt        int64          `json:"signedUpAt,omitzero"`
	ToBeRetained      bool           `json:"toBeRetained,omitzero"`
	Profile           evProfile      `json:"profile,omitzero"`
	Metadata          map[string]any `json:"metadata,omitzero" personal:"erase"`
	Identities        []evIdentity   `json:"identities,omitzero" personal:"erase"`
	DiscardedMetadata map[string]any `json:"discardedMetadata,omitzero" personal:"erase"`
	Authenticated     bool           `json:"authenticated,omitzero"`
}

// evPassthrough is the channel data of passthrough:messaging, which may name the user.
type evPassthrough struct {
	UserID string         `json:"userId,omitzero" personal:"owner"`
	Data   map[string]any `json:"data,omitzero" personal:"erase"`
}

type evUser struct {
	ID           string         `json:"id" personal:"owner"`
	AppID        string         `json:"appId,omitzero"`
	ExternalID   string         `json:"externalId,omitzero" personal:"keep"`
	BrandID      string         `json:"brandId,omitzero"`
	ZendeskID    string         `json:"zendeskId,omitzero" personal:"keep"`
	SignedUpAt   int64          `json:"signedUpAt,omitzero"`
	ToBeRetained bool           `json:"toBeRetained,omitzero"`
	Profile      evProfile      `json:"profile,omitzero"`
	Metadata     map[string]any `json:"metadata,omitzero" personal:"erase"`
	// Identities are erased whole, beyond the spec's list of profile fields: an email identity is
	// personal data wherever it is kept (issue 17).
	Identities []evIdentity `json:"identities,omitzero" personal:"erase"`
	// Authenticated: the user logged in with a user JWT (issue 14).
	Authenticated bool `json:"authenticated,omitzero"`
}

type evProfile struct {
	GivenName string `json:"givenName,omitzero" personal:"erase"`
	Surname   string `json:"surname,omitzero" personal:"erase"`
	Email     string `json:"email,omitzero" personal:"erase"`
	AvatarURL string `json:"avatarUrl,omitzero" personal:"erase"`
	Locale    string `json:"locale,omitzero" personal:"erase"`
}

type evIdentity struct {
	Type         string `json:"type,omitzero"`
	Value        string `json:"value,omitzero" personal:"erase"`
	Verification string `json:"verification,omitzero"`
}

type evConversation struct {
	ID               string         `json:"id"`
	AppID            string         `json:"appId,omitzero"`
	Type             string         `json:"type,omitzero"`
	IsDefault        bool           `json:"isDefault,omitzero"`
	DisplayName      string         `json:"displayName,omitzero" personal:"keep"`
	Description      string         `json:"description,omitzero" personal:"keep"`
	IconURL          string         `json:"iconUrl,omitzero" personal:"keep"`
	Metadata         map[string]any `json:"metadata,omitzero" personal:"keep"`
	BusinessLastRead int64          `json:"businessLastRead,omitzero"`
	LastUpdatedAt    int64          `json:"lastUpdatedAt,omitzero"`
	CreatedAt        int64          `json:"createdAt,omitzero"`
	MessageCount     int            `json:"messageCount,omitzero"`
}

type evMessage struct {
	ID             string          `json:"id"`
	AppID          string          `json:"appId,omitzero"`
	ConversationID string          `json:"conversationId,omitzero"`
	Received       int64           `json:"received,omitzero"`
	Author         evAuthor        `json:"author,omitzero"`
	Content        evContent       `json:"content,omitzero"`
	Source         evSource        `json:"source,omitzero"`
	Metadata       map[string]any  `json:"metadata,omitzero" personal:"keep"`
	References     json.RawMessage `json:"references,omitzero" personal:"keep"`
}

// evAuthor is the author of a message or an activity. A user author's display name and avatar are
// not stored (see snapshotMessage); they are marked for any copy that would be.
type evAuthor struct {
	Type        string   `json:"type,omitzero"`
	Subtypes    []string `json:"subtypes,omitzero"`
	UserID      string   `json:"userId,omitzero" personal:"owner"`
	DisplayName string   `json:"displayName,omitzero" personal:"erase"`
	AvatarURL   string   `json:"avatarUrl,omitzero" personal:"erase"`
}

type evContent struct {
	Type string          `json:"type,omitzero"`
	Doc  json.RawMessage `json:"doc,omitzero" personal:"keep"`
}

type evSource struct {
	Type                     string `json:"type,omitzero"`
	IntegrationID            string `json:"integrationId,omitzero"`
	OriginalMessageID        string `json:"originalMessageId,omitzero"`
	OriginalMessageTimestamp int64  `json:"originalMessageTimestamp,omitzero"`
}

type evClient struct {
	ID                   string         `json:"id"`
	AppID                string         `json:"appId,omitzero"`
	UserID               string         `json:"userId,omitzero" personal:"owner"`
	Type                 string         `json:"type,omitzero"`
	Status               string         `json:"status,omitzero"`
	IntegrationID        string         `json:"integrationId,omitzero"`
	ExternalID           string         `json:"externalId,omitzero" personal:"keep"`
	LastSeen             int64          `json:"lastSeen,omitzero"`
	LinkedAt             int64          `json:"linkedAt,omitzero"`
	DisplayName          string         `json:"displayName,omitzero" personal:"erase"`
	AvatarURL            string         `json:"avatarUrl,omitzero" personal:"erase"`
	Info                 map[string]any `json:"info,omitzero" personal:"erase"`
	Raw                  map[string]any `json:"raw,omitzero" personal:"erase"`
	Primary              bool           `json:"primary,omitzero"`
	TargetConversationID string         `json:"targetConversationId,omitzero"`
}

type evDevice struct {
	ID                    string         `json:"id"`
	AppID                 string         `json:"appId,omitzero"`
	UserID                string         `json:"userId,omitzero" personal:"owner"`
	ClientID              string         `json:"clientId,omitzero"`
	Type                  string         `json:"type,omitzero"`
	GUID                  string         `json:"guid,omitzero" personal:"keep"`
	Status                string         `json:"status,omitzero"`
	IntegrationID         string         `json:"integrationId,omitzero"`
	LastSeen              int64          `json:"lastSeen,omitzero"`
	PushNotificationToken string         `json:"pushNotificationToken,omitzero" personal:"erase"`
	Info                  map[string]any `json:"info,omitzero" personal:"erase"`
	AppVersion            string         `json:"appVersion,omitzero" personal:"erase"`
}

type evActivity struct {
	Type   string   `json:"type,omitzero"`
	Author evAuthor `json:"author,omitzero"`
}

// evSwitchboardRef is a switchboard integration in a switchboard state. The fan-out triggers
// write it too (migration 0015): its JSON names are theirs.
type evSwitchboardRef struct {
	ID              string `json:"id"`
	Name            string `json:"name,omitzero"`
	IntegrationID   string `json:"integrationId,omitzero"`
	IntegrationType string `json:"integrationType,omitzero"`
}

type evError struct {
	Code    string `json:"code,omitzero"`
	Message string `json:"message,omitzero"`
}

// encodeEventData returns the stored JSON of d.
func encodeEventData(d sunlamp.EventData) ([]byte, error) {
	return json.Marshal(snapshotOf(d))
}

// decodeEventData returns the EventData of a stored snapshot, with metadata numbers as json.Number
// so that they are sent as they were received.
func decodeEventData(data string) (sunlamp.EventData, error) {
	s, err := decodeSnapshot(data)
	if err != nil {
		return sunlamp.EventData{}, err
	}
	return s.eventData(), nil
}

func decodeSnapshot(data string) (*snapshot, error) {
	var s snapshot
	d := json.NewDecoder(strings.NewReader(data))
	d.UseNumber()
	if err := d.Decode(&s); err != nil {
		return nil, fmt.Errorf("decode event snapshot: %w", err)
	}
	if s.Version != snapshotVersion {
		return nil, fmt.Errorf("decode event snapshot: version %d, want %d", s.Version, snapshotVersion)
	}
	return &s, nil
}

// snapshotOf returns the snapshot of d.
func snapshotOf(d sunlamp.EventData) *snapshot {
	s := &snapshot{Version: snapshotVersion, Reason: d.Reason, CreationReason: d.CreationReason,
		ActionMetadata: d.ActionMetadata, ActiveSwitchboardIntegration: evSwitchboardRefOf(d.Switchboard.Active),
		PendingSwitchboardIntegration: evSwitchboardRefOf(d.Switchboard.Pending)}
	s.User = evUserOf(d.User)
	if c := d.Conversation; c != nil {
		s.Conversation = evConversationOf(c)
	}
	if d.Message != nil {
		s.Message = snapshotMessage(*d.Message)
	}
	if c := d.Client; c != nil {
		s.Client = &evClient{ID: c.ID, AppID: c.AppID, UserID: c.UserID, Type: c.Type, Status: c.Status, IntegrationID: c.IntegrationID,
			ExternalID: c.ExternalID, LastSeen: millis(c.LastSeen), LinkedAt: millis(c.LinkedAt), DisplayName: c.DisplayName,
			AvatarURL: c.AvatarURL, Info: c.Info, Raw: c.Raw, Primary: c.Primary, TargetConversationID: c.TargetConversationID}
	}
	if v := d.Device; v != nil {
		s.Device = &evDevice{ID: v.ID, AppID: v.AppID, UserID: v.UserID, ClientID: v.ClientID, Type: v.Type, GUID: v.GUID,
			Status: v.Status, IntegrationID: v.IntegrationID, LastSeen: millis(v.LastSeen),
			PushNotificationToken: v.PushNotificationToken, Info: v.Info, AppVersion: v.AppVersion}
	}
	if a := d.Activity; a != nil {
		s.Activity = &evActivity{Type: a.Type, Author: evAuthorOf(a.Author)}
	}
	if e := d.ActionError; e != nil {
		s.ActionError = &evError{Code: e.Code, Message: e.Message}
	}
	if src := d.Source; src != nil {
		s.Source = &evSource{Type: src.Type, IntegrationID: src.IntegrationID, OriginalMessageID: src.OriginalMessageID,
			OriginalMessageTimestamp: millis(src.OriginalMessageTimestamp)}
	}
	if p := d.Postback; p != nil {
		s.Postback = &evPostback{Payload: p.Payload, Metadata: p.Metadata, MessageID: p.MessageID, Text: p.Text}
	}
	if r := d.Referral; r != nil {
		s.Referral = &evReferral{Code: r.Code, Details: r.Details}
	}
	if dl := d.Delivery; dl != nil {
		s.Delivery = &evDelivery{MessageID: dl.MessageID, Status: dl.Status, DestinationType: dl.DestinationType,
			DestinationIntegrationID: dl.DestinationIntegrationID, ExternalMessages: dl.ExternalMessages, IsFinal: dl.IsFinal}
		if e := dl.Error; e != nil {
			s.Delivery.Error = &evError{Code: e.Code, Message: e.Message}
		}
	}
	if m := d.Merge; m != nil {
		s.Merge = evMergeOf(m)
	}
	if d.Passthrough != nil {
		s.Passthrough = &evPassthrough{Data: d.Passthrough}
		if d.User != nil {
			s.Passthrough.UserID = d.User.ID
		}
	}
	return s
}

// evUserOf returns the snapshot of u.
func evUserOf(u *sunlamp.User) *evUser {
	if u == nil {
		return nil
	}
	s := &evUser{ID: u.ID, AppID: u.AppID, ExternalID: u.ExternalID, BrandID: u.BrandID, ZendeskID: u.ZendeskID, SignedUpAt: millis(u.SignedUpAt),
		ToBeRetained: u.ToBeRetained, Profile: evProfile(u.Profile), Metadata: u.Metadata, Authenticated: u.Authenticated}
	if u.Identities != nil {
		s.Identities = make([]evIdentity, len(u.Identities))
		for i, id := range u.Identities {
			s.Identities[i] = evIdentity(id)
		}
	}
	return s
}

// userOf returns the user of a snapshot.
func (u *evUser) user() *sunlamp.User {
	if u == nil {
		return nil
	}
	d := &sunlamp.User{ID: u.ID, AppID: u.AppID, ExternalID: u.ExternalID, BrandID: u.BrandID, ZendeskID: u.ZendeskID, SignedUpAt: timeOf(u.SignedUpAt),
		ToBeRetained: u.ToBeRetained, Profile: sunlamp.Profile(u.Profile), Metadata: u.Metadata, Authenticated: u.Authenticated}
	if u.Identities != nil {
		d.Identities = make([]sunlamp.Identity, len(u.Identities))
		for i, id := range u.Identities {
			d.Identities[i] = sunlamp.Identity(id)
		}
	}
	return d
}

func evClientOf(c *sunlamp.Client) *evClient {
	if c == nil {
		return nil
	}
	return &evClient{ID: c.ID, AppID: c.AppID, UserID: c.UserID, Type: c.Type, Status: c.Status, IntegrationID: c.IntegrationID,
		ExternalID: c.ExternalID, LastSeen: millis(c.LastSeen), LinkedAt: millis(c.LinkedAt), DisplayName: c.DisplayName,
		AvatarURL: c.AvatarURL, Info: c.Info, Raw: c.Raw, Primary: c.Primary, TargetConversationID: c.TargetConversationID}
}

func (c *evClient) client() *sunlamp.Client {
	if c == nil {
		return nil
	}
	return &sunlamp.Client{ID: c.ID, AppID: c.AppID, UserID: c.UserID, Type: c.Type, Status: c.Status, IntegrationID: c.IntegrationID,
		ExternalID: c.ExternalID, LastSeen: timeOf(c.LastSeen), LinkedAt: timeOf(c.LinkedAt), DisplayName: c.DisplayName,
		AvatarURL: c.AvatarURL, Info: c.Info, Raw: c.Raw, Primary: c.Primary, TargetConversationID: c.TargetConversationID}
}

func (c *evConversation) conversation() *sunlamp.Conversation {
	if c == nil {
		return nil
	}
	return &sunlamp.Conversation{ID: c.ID, AppID: c.AppID, Type: c.Type, IsDefault: c.IsDefault, DisplayName: c.DisplayName,
		Description: c.Description, IconURL: c.IconURL, Metadata: c.Metadata, BusinessLastRead: timeOf(c.BusinessLastRead),
		LastUpdatedAt: timeOf(c.LastUpdatedAt), CreatedAt: timeOf(c.CreatedAt), MessageCount: c.MessageCount}
}

// evMergeOf returns the snapshot of a merge: the discarded user and client owned by the survivor.
func evMergeOf(m *sunlamp.UserMerge) *evMerge {
	s := &evMerge{Surviving: evUserOf(&m.Surviving), SurvivingClient: evClientOf(m.SurvivingClient),
		DiscardedClient: evClientOf(m.DiscardedClient), Reason: m.Reason}
	if c := m.SurvivingConversation; c != nil {
		s.SurvivingConversation = evConversationOf(c)
	}
	if c := m.DiscardedConversation; c != nil {
		s.DiscardedConversation = evConversationOf(c)
	}
	u := evUserOf(&m.Discarded)
	s.Discarded = &evMergedUser{SurvivorID: m.Surviving.ID, ID: u.ID, AppID: u.AppID, ExternalID: u.ExternalID, BrandID: u.BrandID, ZendeskID: u.ZendeskID,
		SignedUpAt: u.SignedUpAt, ToBeRetained: u.ToBeRetained, Profile: u.Profile, Metadata: u.Metadata, Identities: u.Identities,
		DiscardedMetadata: m.DiscardedMetadata, Authenticated: u.Authenticated}
	return s
}

func (s *evMerge) merge() *sunlamp.UserMerge {
	m := &sunlamp.UserMerge{SurvivingConversation: s.SurvivingConversation.conversation(), DiscardedConversation: s.DiscardedConversation.conversation(),
		SurvivingClient: s.SurvivingClient.client(), DiscardedClient: s.DiscardedClient.client(), Reason: s.Reason}
	if u := s.Surviving.user(); u != nil {
		m.Surviving = *u
	}
	if d := s.Discarded; d != nil {
		u := (&evUser{ID: d.ID, AppID: d.AppID, ExternalID: d.ExternalID, BrandID: d.BrandID, ZendeskID: d.ZendeskID, SignedUpAt: d.SignedUpAt,
			ToBeRetained: d.ToBeRetained, Profile: d.Profile, Metadata: d.Metadata, Identities: d.Identities, Authenticated: d.Authenticated}).user()
		m.Discarded, m.DiscardedMetadata = *u, d.DiscardedMetadata
	}
	return m
}

// evConversationOf returns the snapshot of c.
func evConversationOf(c *sunlamp.Conversation) *evConversation {
	return &evConversation{ID: c.ID, AppID: c.AppID, Type: c.Type, IsDefault: c.IsDefault, DisplayName: c.DisplayName,
		Description: c.Description, IconURL: c.IconURL, Metadata: c.Metadata, BusinessLastRead: millis(c.BusinessLastRead),
		LastUpdatedAt: millis(c.LastUpdatedAt), CreatedAt: millis(c.CreatedAt), MessageCount: c.MessageCount}
}

// snapshotMessage returns the snapshot of m, which the group commit encodes for the
// conversation:message event of each message.
func snapshotMessage(m sunlamp.Message) *evMessage {
	return &evMessage{ID: m.ID, AppID: m.AppID, ConversationID: m.ConversationID, Received: millis(m.Received),
		Author: evAuthorOf(m.Author), Content: evContent{Type: m.Content.Type, Doc: m.Content.Doc},
		Source: evSource{Type: m.Source.Type, IntegrationID: m.Source.IntegrationID, OriginalMessageID: m.Source.OriginalMessageID,
			OriginalMessageTimestamp: millis(m.Source.OriginalMessageTimestamp)},
		Metadata: m.Metadata, References: m.References}
}

// evAuthorOf returns the snapshot of the author of a message or an activity. A user author's
// displayName and avatarUrl are not copied: they are the user's, rendered from the user when the
// event is sent, so that erasing the user's profile needs no visit to its message events.
func evAuthorOf(a sunlamp.Author) evAuthor {
	s := evAuthor{Type: a.Type, Subtypes: a.Subtypes, UserID: a.UserID}
	if a.Type != sunlamp.AuthorUser {
		s.DisplayName, s.AvatarURL = a.DisplayName, a.AvatarURL
	}
	return s
}

func evSwitchboardRefOf(si *sunlamp.SwitchboardIntegration) *evSwitchboardRef {
	if si == nil {
		return nil
	}
	return &evSwitchboardRef{ID: si.ID, Name: si.Name, IntegrationID: si.IntegrationID, IntegrationType: si.IntegrationType}
}

// eventData returns the EventData s holds.
func (s *snapshot) eventData() sunlamp.EventData {
	d := sunlamp.EventData{Reason: s.Reason, CreationReason: s.CreationReason, ActionMetadata: s.ActionMetadata}
	d.User = s.User.user()
	if c := s.Conversation; c != nil {
		d.Conversation = &sunlamp.Conversation{ID: c.ID, AppID: c.AppID, Type: c.Type, IsDefault: c.IsDefault, DisplayName: c.DisplayName,
			Description: c.Description, IconURL: c.IconURL, Metadata: c.Metadata, BusinessLastRead: timeOf(c.BusinessLastRead),
			LastUpdatedAt: timeOf(c.LastUpdatedAt), CreatedAt: timeOf(c.CreatedAt), MessageCount: c.MessageCount}
	}
	if m := s.Message; m != nil {
		d.Message = &sunlamp.Message{ID: m.ID, AppID: m.AppID, ConversationID: m.ConversationID, Received: timeOf(m.Received),
			Author: m.Author.author(), Content: sunlamp.Content{Type: m.Content.Type, Doc: m.Content.Doc},
			Source: sunlamp.Source{Type: m.Source.Type, IntegrationID: m.Source.IntegrationID, OriginalMessageID: m.Source.OriginalMessageID,
				OriginalMessageTimestamp: timeOf(m.Source.OriginalMessageTimestamp)},
			Metadata: m.Metadata, References: m.References}
	}
	if c := s.Client; c != nil {
		d.Client = &sunlamp.Client{ID: c.ID, AppID: c.AppID, UserID: c.UserID, Type: c.Type, Status: c.Status, IntegrationID: c.IntegrationID,
			ExternalID: c.ExternalID, LastSeen: timeOf(c.LastSeen), LinkedAt: timeOf(c.LinkedAt), DisplayName: c.DisplayName,
			AvatarURL: c.AvatarURL, Info: c.Info, Raw: c.Raw, Primary: c.Primary, TargetConversationID: c.TargetConversationID}
	}
	if v := s.Device; v != nil {
		d.Device = &sunlamp.Device{ID: v.ID, AppID: v.AppID, UserID: v.UserID, ClientID: v.ClientID, Type: v.Type, GUID: v.GUID,
			Status: v.Status, IntegrationID: v.IntegrationID, LastSeen: timeOf(v.LastSeen),
			PushNotificationToken: v.PushNotificationToken, Info: v.Info, AppVersion: v.AppVersion}
	}
	if a := s.Activity; a != nil {
		d.Activity = &sunlamp.Activity{Type: a.Type, Author: a.Author.author()}
	}
	d.Switchboard = sunlamp.SwitchboardState{Active: s.ActiveSwitchboardIntegration.switchboardIntegration(),
		Pending: s.PendingSwitchboardIntegration.switchboardIntegration()}
	if e := s.ActionError; e != nil {
		d.ActionError = &sunlamp.EventError{Code: e.Code, Message: e.Message}
	}
	if src := s.Source; src != nil {
		d.Source = &sunlamp.Source{Type: src.Type, IntegrationID: src.IntegrationID, OriginalMessageID: src.OriginalMessageID,
			OriginalMessageTimestamp: timeOf(src.OriginalMessageTimestamp)}
	}
	if p := s.Postback; p != nil {
		d.Postback = &sunlamp.Postback{Payload: p.Payload, Metadata: p.Metadata, MessageID: p.MessageID, Text: p.Text}
	}
	if r := s.Referral; r != nil {
		d.Referral = &sunlamp.Referral{Code: r.Code, Details: r.Details}
	}
	if dl := s.Delivery; dl != nil {
		d.Delivery = &sunlamp.DeliveryReceipt{MessageID: dl.MessageID, Status: dl.Status, DestinationType: dl.DestinationType,
			DestinationIntegrationID: dl.DestinationIntegrationID, ExternalMessages: dl.ExternalMessages, IsFinal: dl.IsFinal}
		if e := dl.Error; e != nil {
			d.Delivery.Error = &sunlamp.EventError{Code: e.Code, Message: e.Message}
		}
	}
	if m := s.Merge; m != nil {
		d.Merge = m.merge()
	}
	if p := s.Passthrough; p != nil {
		d.Passthrough = p.Data
	}
	return d
}

func (a evAuthor) author() sunlamp.Author {
	return sunlamp.Author{Type: a.Type, Subtypes: a.Subtypes, UserID: a.UserID, DisplayName: a.DisplayName, AvatarURL: a.AvatarURL}
}

func (r *evSwitchboardRef) switchboardIntegration() *sunlamp.SwitchboardIntegration {
	if r == nil {
		return nil
	}
	return &sunlamp.SwitchboardIntegration{ID: r.ID, Name: r.Name, IntegrationID: r.IntegrationID, IntegrationType: r.IntegrationType}
}

// millis returns t in Unix milliseconds, 0 for the zero time.
func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// timeOf returns the time of Unix milliseconds, the zero time for 0.
func timeOf(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return sunlamp.FromMillis(ms)
}
