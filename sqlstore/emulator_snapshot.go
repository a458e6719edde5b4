package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/sunlamp/sunlamp"
)

// App snapshots (issue 15): one JSON document with everything an app holds, which loads into a
// fresh app with every id kept, so that fixtures are reproducible and a snapshot round-trips byte
// for byte (export, load into a new database, export again: the same bytes).
//
// The document is its own schema, version 1, declared below: one record type per table, its JSON
// names the columns' in camelCase, with a `db` tag naming the column. Every column of those tables
// is in it (TestSnapshotCoversEveryColumn fails when a migration adds one), so a load restores
// the rows exactly. Times are the wire's YYYY-MM-DDThh:mm:ss.SSSZ (the stored milliseconds), JSON
// columns are embedded as JSON, an attachment's bytes are base64 in "content". The app and account
// ids of rows are implied by the document's app and the loading account. Not in a snapshot: the
// outbox (events, deliveries), the flight recorder, web messenger sessions, conversion events,
// interactive data references and OAuth installs, which are the app's traffic and sessions rather
// than its state.

// SnapshotVersion is the version of the snapshot documents Sunlamp writes and reads.
const SnapshotVersion = 1

type snapshotDoc struct {
	Version                  int                           `json:"version"`
	App                      snapApp                       `json:"app"`
	Keys                     []snapKey                     `json:"keys"`
	Integrations             []snapIntegration             `json:"integrations"`
	Webhooks                 []snapWebhook                 `json:"webhooks"`
	Switchboards             []snapSwitchboard             `json:"switchboards"`
	SwitchboardIntegrations  []snapSwitchboardIntegration  `json:"switchboardIntegrations"`
	Users                    []snapUser                    `json:"users"`
	UserPurges               []snapUserPurge               `json:"userPurges"`
	Clients                  []snapClient                  `json:"clients"`
	Devices                  []snapDevice                  `json:"devices"`
	Conversations            []snapConversation            `json:"conversations"`
	ConversationSwitchboards []snapConversationSwitchboard `json:"conversationSwitchboards"`
	Participants             []snapParticipant             `json:"participants"`
	Messages                 []snapMessage                 `json:"messages"`
	Attachments              []snapAttachment              `json:"attachments"`
}

type snapApp struct {
	ID          string          `json:"id" db:"id"`
	AccountID   string          `json:"-" db:"account_id"`
	DisplayName string          `json:"displayName" db:"display_name"`
	Settings    json.RawMessage `json:"settings" db:"settings"`
	Metadata    json.RawMessage `json:"metadata,omitempty" db:"metadata"`
	CreatedAt   snapTime        `json:"createdAt" db:"created_at"`
}

type snapKey struct {
	ID            string   `json:"id" db:"id"`
	Scope         string   `json:"scope" db:"scope"`
	AccountID     string   `json:"-" db:"account_id"`
	AppID         string   `json:"-" db:"app_id"`
	IntegrationID *string  `json:"integrationId,omitempty" db:"integration_id"`
	DisplayName   string   `json:"displayName" db:"display_name"`
	Secret        string   `json:"secret" db:"secret"`
	CreatedAt     snapTime `json:"createdAt" db:"created_at"`
}

type snapIntegration struct {
	ID                 string          `json:"id" db:"id"`
	AppID              string          `json:"-" db:"app_id"`
	Type               string          `json:"type" db:"type"`
	Status             string          `json:"status" db:"status"`
	DisplayName        *string         `json:"displayName,omitempty" db:"display_name"`
	Config             json.RawMessage `json:"config" db:"config"`
	Credentials        json.RawMessage `json:"credentials" db:"credentials"`
	DefaultResponderID *string         `json:"defaultResponderId,omitempty" db:"default_responder_id"`
	CreatedAt          snapTime        `json:"createdAt" db:"created_at"`
}

type snapWebhook struct {
	ID                string          `json:"id" db:"id"`
	AppID             string          `json:"-" db:"app_id"`
	IntegrationID     string          `json:"integrationId" db:"integration_id"`
	Version           string          `json:"version" db:"version"`
	Target            string          `json:"target" db:"target"`
	Triggers          json.RawMessage `json:"triggers" db:"triggers"`
	Secret            string          `json:"secret" db:"secret"`
	IncludeFullUser   bool            `json:"includeFullUser" db:"include_full_user"`
	IncludeFullSource bool            `json:"includeFullSource" db:"include_full_source"`
	CreatedAt         snapTime        `json:"createdAt" db:"created_at"`
}

type snapSwitchboard struct {
	ID        string   `json:"id" db:"id"`
	AppID     string   `json:"-" db:"app_id"`
	Enabled   bool     `json:"enabled" db:"enabled"`
	DefaultID *string  `json:"defaultSwitchboardIntegrationId,omitempty" db:"default_id"`
	CreatedAt snapTime `json:"createdAt" db:"created_at"`
}

type snapSwitchboardIntegration struct {
	ID                   string   `json:"id" db:"id"`
	AppID                string   `json:"-" db:"app_id"`
	SwitchboardID        string   `json:"switchboardId" db:"switchboard_id"`
	Name                 string   `json:"name" db:"name"`
	IntegrationID        string   `json:"integrationId" db:"integration_id"`
	IntegrationType      string   `json:"integrationType" db:"integration_type"`
	DeliverStandbyEvents bool     `json:"deliverStandbyEvents" db:"deliver_standby_events"`
	NextID               *string  `json:"nextSwitchboardIntegrationId,omitempty" db:"next_id"`
	MessageHistoryCount  *int64   `json:"messageHistoryCount,omitempty" db:"message_history_count"`
	CreatedAt            snapTime `json:"createdAt" db:"created_at"`
}

type snapUser struct {
	ID           string          `json:"id" db:"id"`
	AppID        string          `json:"-" db:"app_id"`
	ExternalID   *string         `json:"externalId,omitempty" db:"external_id"`
	BrandID      *string         `json:"brandId,omitempty" db:"brand_id"`
	ZendeskID    *string         `json:"zendeskId,omitempty" db:"zendesk_id"`
	SignedUpAt   snapTime        `json:"signedUpAt" db:"signed_up_at"`
	ToBeRetained bool            `json:"toBeRetained" db:"to_be_retained"`
	GivenName    *string         `json:"givenName,omitempty" db:"given_name"`
	Surname      *string         `json:"surname,omitempty" db:"surname"`
	Email        *string         `json:"email,omitempty" db:"email"`
	AvatarURL    *string         `json:"avatarUrl,omitempty" db:"avatar_url"`
	Locale       *string         `json:"locale,omitempty" db:"locale"`
	Metadata     json.RawMessage `json:"metadata,omitempty" db:"metadata"`
	Identities   json.RawMessage `json:"identities,omitempty" db:"identities"`
	DeletedAt    *snapTime       `json:"deletedAt,omitempty" db:"deleted_at"`
	// Authenticated: logged in with a user JWT (migration 0017, issue 14).
	Authenticated bool `json:"authenticated,omitempty" db:"authenticated"`
}

type snapUserPurge struct {
	UserID       string          `json:"userId" db:"user_id"`
	AppID        string          `json:"-" db:"app_id"`
	CreatedAt    snapTime        `json:"createdAt" db:"created_at"`
	RemovedEvent json.RawMessage `json:"removedEvent,omitempty" db:"removed_event"`
}

type snapClient struct {
	ID                   string          `json:"id" db:"id"`
	AppID                string          `json:"-" db:"app_id"`
	UserID               string          `json:"userId" db:"user_id"`
	Type                 string          `json:"type" db:"type"`
	Status               string          `json:"status" db:"status"`
	IntegrationID        *string         `json:"integrationId,omitempty" db:"integration_id"`
	ExternalID           *string         `json:"externalId,omitempty" db:"external_id"`
	LastSeen             *snapTime       `json:"lastSeen,omitempty" db:"last_seen"`
	LinkedAt             *snapTime       `json:"linkedAt,omitempty" db:"linked_at"`
	DisplayName          *string         `json:"displayName,omitempty" db:"display_name"`
	AvatarURL            *string         `json:"avatarUrl,omitempty" db:"avatar_url"`
	Info                 json.RawMessage `json:"info,omitempty" db:"info"`
	Raw                  json.RawMessage `json:"raw,omitempty" db:"raw"`
	Primary              bool            `json:"primary" db:"is_primary"`
	TargetConversationID *string         `json:"targetConversationId,omitempty" db:"target_conversation_id"`
}

type snapDevice struct {
	ID                    string          `json:"id" db:"id"`
	AppID                 string          `json:"-" db:"app_id"`
	UserID                string          `json:"userId" db:"user_id"`
	ClientID              string          `json:"clientId" db:"client_id"`
	Type                  string          `json:"type" db:"type"`
	GUID                  string          `json:"guid" db:"guid"`
	Status                string          `json:"status" db:"status"`
	IntegrationID         *string         `json:"integrationId,omitempty" db:"integration_id"`
	LastSeen              snapTime        `json:"lastSeen" db:"last_seen"`
	PushNotificationToken *string         `json:"pushNotificationToken,omitempty" db:"push_notification_token"`
	Info                  json.RawMessage `json:"info,omitempty" db:"info"`
	AppVersion            *string         `json:"appVersion,omitempty" db:"app_version"`
}

type snapConversation struct {
	ID               string          `json:"id" db:"id"`
	AppID            string          `json:"-" db:"app_id"`
	Type             string          `json:"type" db:"type"`
	DefaultUserID    *string         `json:"defaultUserId,omitempty" db:"default_user_id"`
	DisplayName      *string         `json:"displayName,omitempty" db:"display_name"`
	Description      *string         `json:"description,omitempty" db:"description"`
	IconURL          *string         `json:"iconUrl,omitempty" db:"icon_url"`
	Metadata         json.RawMessage `json:"metadata,omitempty" db:"metadata"`
	BusinessLastRead *snapTime       `json:"businessLastRead,omitempty" db:"business_last_read"`
	LastUpdatedAt    snapTime        `json:"lastUpdatedAt" db:"last_updated_at"`
	CreatedAt        snapTime        `json:"createdAt" db:"created_at"`
	MessageCount     int64           `json:"messageCount" db:"message_count"`
}

type snapConversationSwitchboard struct {
	ConversationID string   `json:"conversationId" db:"conversation_id"`
	AppID          string   `json:"-" db:"app_id"`
	SwitchboardID  string   `json:"switchboardId" db:"switchboard_id"`
	ActiveID       *string  `json:"activeSwitchboardIntegrationId,omitempty" db:"active_id"`
	PendingID      *string  `json:"pendingSwitchboardIntegrationId,omitempty" db:"pending_id"`
	UpdatedAt      snapTime `json:"updatedAt" db:"updated_at"`
}

type snapParticipant struct {
	ID                 string          `json:"id" db:"id"`
	AppID              string          `json:"-" db:"app_id"`
	ConversationID     string          `json:"conversationId" db:"conversation_id"`
	UserID             string          `json:"userId" db:"user_id"`
	UnreadCount        int64           `json:"unreadCount" db:"unread_count"`
	LastRead           *snapTime       `json:"lastRead,omitempty" db:"last_read"`
	ClientAssociations json.RawMessage `json:"clientAssociations,omitempty" db:"client_associations"`
	CreatedAt          snapTime        `json:"createdAt" db:"created_at"`
}

type snapMessage struct {
	ConversationID      string          `json:"conversationId" db:"conversation_id"`
	ID                  string          `json:"id" db:"id"`
	AppID               string          `json:"-" db:"app_id"`
	Received            snapTime        `json:"received" db:"received"`
	AuthorType          string          `json:"authorType" db:"author_type"`
	AuthorSubtypes      json.RawMessage `json:"authorSubtypes,omitempty" db:"author_subtypes"`
	AuthorUserID        *string         `json:"authorUserId,omitempty" db:"author_user_id"`
	AuthorDisplayName   *string         `json:"authorDisplayName,omitempty" db:"author_display_name"`
	AuthorAvatarURL     *string         `json:"authorAvatarUrl,omitempty" db:"author_avatar_url"`
	ContentType         string          `json:"contentType" db:"content_type"`
	Content             json.RawMessage `json:"content" db:"content"`
	SourceType          string          `json:"sourceType" db:"source_type"`
	SourceIntegrationID *string         `json:"sourceIntegrationId,omitempty" db:"source_integration_id"`
	SourceOriginalID    *string         `json:"sourceOriginalId,omitempty" db:"source_original_id"`
	SourceOriginalTS    *snapTime       `json:"sourceOriginalTimestamp,omitempty" db:"source_original_ts"`
	Metadata            json.RawMessage `json:"metadata,omitempty" db:"metadata"`
	References          json.RawMessage `json:"references,omitempty" db:"refs"`
}

type snapAttachment struct {
	ID             string   `json:"id" db:"id"`
	AppID          string   `json:"-" db:"app_id"`
	Filename       string   `json:"filename" db:"filename"`
	MediaType      string   `json:"mediaType" db:"media_type"`
	Size           int64    `json:"size" db:"size"`
	ForMessage     bool     `json:"forMessage" db:"for_message"`
	ConversationID *string  `json:"conversationId,omitempty" db:"conversation_id"`
	MessageID      *string  `json:"messageId,omitempty" db:"message_id"`
	UserID         *string  `json:"userId,omitempty" db:"user_id"`
	CreatedAt      snapTime `json:"createdAt" db:"created_at"`
	Content        []byte   `json:"content"` // base64 in the document; the bytes the blob backend keeps
}

// snapshotTables are the tables of a snapshot in the order a load writes them (parents first), each
// with its rows' condition on the app and the order of its rows in the document.
var snapshotTables = []struct {
	table, where, order string
	rows                func(d *snapshotDoc) any // a pointer to the document's list
}{
	{"apps", "id = ?", "id", nil},
	{"integrations", "app_id = ?", "id", func(d *snapshotDoc) any { return &d.Integrations }},
	{"api_keys", "app_id = ?", "id", func(d *snapshotDoc) any { return &d.Keys }},
	{"webhooks", "app_id = ?", "id", func(d *snapshotDoc) any { return &d.Webhooks }},
	{"switchboards", "app_id = ?", "id", func(d *snapshotDoc) any { return &d.Switchboards }},
	{"switchboard_integrations", "app_id = ?", "id", func(d *snapshotDoc) any { return &d.SwitchboardIntegrations }},
	{"users", "app_id = ?", "id", func(d *snapshotDoc) any { return &d.Users }},
	{"user_purges", "app_id = ?", "user_id", func(d *snapshotDoc) any { return &d.UserPurges }},
	{"clients", "user_id IN (SELECT id FROM users WHERE app_id = ?)", "id", func(d *snapshotDoc) any { return &d.Clients }},
	{"devices", "app_id = ?", "id", func(d *snapshotDoc) any { return &d.Devices }},
	{"conversations", "app_id = ?", "id", func(d *snapshotDoc) any { return &d.Conversations }},
	{"conversation_switchboards", "conversation_id IN (SELECT id FROM conversations WHERE app_id = ?)", "conversation_id", func(d *snapshotDoc) any { return &d.ConversationSwitchboards }},
	{"participants", "conversation_id IN (SELECT id FROM conversations WHERE app_id = ?)", "id", func(d *snapshotDoc) any { return &d.Participants }},
	{"messages", "conversation_id IN (SELECT id FROM conversations WHERE app_id = ?)", "conversation_id, id", func(d *snapshotDoc) any { return &d.Messages }},
	{"attachments", "app_id = ?", "id", func(d *snapshotDoc) any { return &d.Attachments }},
}

// Snapshot returns the app's snapshot document; see sunlamp.SnapshotStore.
func (s *Store) Snapshot(ctx context.Context, appID, baseURL string) ([]byte, error) {
	doc := snapshotDoc{Version: SnapshotVersion}
	// One view of the app: a repeatable read on PostgreSQL (SQLite's read transactions are one
	// snapshot already and take no isolation level).
	sqlTx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: s.d.readOnlyViews, Isolation: sql.LevelRepeatableRead})
	if err != nil {
		return nil, fmt.Errorf("snapshot: begin: %w", s.classify(err))
	}
	defer sqlTx.Rollback()
	t := tx{sqlTx, s, nil}
	apps, err := selectRecords[snapApp](ctx, t, "apps", "id = ?", "id", appID)
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	if len(apps) == 0 {
		return nil, sunlamp.ErrAppNotFound
	}
	doc.App = apps[0]
	for _, tb := range snapshotTables[1:] {
		list := reflect.ValueOf(tb.rows(&doc)).Elem()
		rows, err := selectRecordsOf(ctx, t, list.Type().Elem(), tb.table, tb.where, tb.order, appID)
		if err != nil {
			return nil, fmt.Errorf("snapshot %s: %w", tb.table, err)
		}
		list.Set(rows)
	}
	for i := range doc.Messages {
		doc.Messages[i].Content = mediaURLs(doc.Messages[i].Content, baseURL+mediaPath, mediaPath)
	}
	for i := range doc.Attachments {
		a := &doc.Attachments[i]
		r, err := s.media.blobs.open(ctx, sunlamp.Attachment{ID: a.ID, AppID: appID, Size: a.Size})
		if err != nil {
			return nil, fmt.Errorf("snapshot: attachment %s: %w", a.ID, err)
		}
		var buf bytes.Buffer
		_, err = buf.ReadFrom(r)
		r.Close()
		if err != nil {
			return nil, fmt.Errorf("snapshot: attachment %s: %w", a.ID, err)
		}
		a.Content = buf.Bytes()
	}
	return encodeSnapshot(doc)
}

// encodeSnapshot writes doc as its document: indented by two spaces, HTML left unescaped, a final
// newline.
func encodeSnapshot(doc snapshotDoc) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("snapshot: encode: %w", err)
	}
	return buf.Bytes(), nil
}

// LoadSnapshot creates the app of a snapshot document in accountID, keeping every id; see
// sunlamp.SnapshotStore. The rows are written in one transaction, then the attachments' bytes (each
// with its row, as an upload does); should one fail, the app is deleted again.
func (s *Store) LoadSnapshot(ctx context.Context, accountID, baseURL string, data []byte) (string, error) {
	var doc snapshotDoc
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return "", snapshotDecodeError(err)
	}
	if doc.Version != SnapshotVersion {
		return "", sunlamp.Invalid("version should be %d, the snapshot version this Sunlamp reads", SnapshotVersion)
	}
	if doc.App.ID == "" || !cleanID(doc.App.ID) {
		return "", sunlamp.Invalid("app.id should be an id of 24 lowercase hexadecimal characters")
	}
	if doc.App.Settings == nil {
		doc.App.Settings = json.RawMessage("{}")
	}
	appID := doc.App.ID
	doc.App.AccountID = accountID
	for i := range doc.Messages {
		doc.Messages[i].Content = mediaURLs(doc.Messages[i].Content, mediaPath, baseURL+mediaPath)
	}
	for i := range doc.Keys {
		doc.Keys[i].AccountID = accountID
		if doc.Keys[i].Scope != string(sunlamp.ScopeApp) && doc.Keys[i].Scope != string(sunlamp.ScopeIntegration) {
			return "", sunlamp.Invalid("keys[%d].scope should be app or integration", i)
		}
	}
	// The switchboard and its integrations name each other: their references are set once both
	// exist.
	defaults := make([]*string, len(doc.Switchboards))
	for i := range doc.Switchboards {
		defaults[i], doc.Switchboards[i].DefaultID = doc.Switchboards[i].DefaultID, nil
	}
	nexts := make([]*string, len(doc.SwitchboardIntegrations))
	for i := range doc.SwitchboardIntegrations {
		nexts[i], doc.SwitchboardIntegrations[i].NextID = doc.SwitchboardIntegrations[i].NextID, nil
	}
	err := s.inTx(ctx, func(t tx) error {
		var one int
		switch err := t.queryRow(ctx, "SELECT 1 FROM apps WHERE id = ?", appID).Scan(&one); {
		case err == nil:
			return sunlamp.Errorf(sunlamp.KindConflict, "conflict", "App %s exists: a snapshot loads into a new app", appID)
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		if err := insertRecord(ctx, t, "apps", doc.App); err != nil {
			return fmt.Errorf("app: %w", err)
		}
		for _, tb := range snapshotTables[1:] {
			if tb.table == "attachments" {
				continue // with their bytes, below
			}
			list := reflect.ValueOf(tb.rows(&doc)).Elem()
			for i := 0; i < list.Len(); i++ {
				rec := list.Index(i)
				rec.FieldByName("AppID").SetString(appID)
				if err := insertRecord(ctx, t, tb.table, rec.Interface()); err != nil {
					return fmt.Errorf("%s[%d]: %w", jsonName(tb.table), i, err)
				}
			}
		}
		for i, sb := range doc.Switchboards {
			if defaults[i] != nil {
				if _, err := t.exec(ctx, "UPDATE switchboards SET default_id = ? WHERE id = ?", *defaults[i], sb.ID); err != nil {
					return fmt.Errorf("switchboards[%d]: %w", i, err)
				}
			}
		}
		for i, si := range doc.SwitchboardIntegrations {
			if nexts[i] != nil {
				if _, err := t.exec(ctx, "UPDATE switchboard_integrations SET next_id = ? WHERE id = ?", *nexts[i], si.ID); err != nil {
					return fmt.Errorf("switchboardIntegrations[%d]: %w", i, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return "", snapshotLoadError(err)
	}
	for i, a := range doc.Attachments {
		a.AppID = appID
		content := a.Content
		_, err := s.media.blobs.create(ctx, sunlamp.Attachment{ID: a.ID, AppID: appID}, bytes.NewReader(content), func(t tx, got sunlamp.Attachment) error {
			if got.Size != a.Size {
				return sunlamp.Invalid("attachments[%d].size should be the length of its content (%d bytes)", i, got.Size)
			}
			return insertRecord(ctx, t, "attachments", a)
		})
		if err != nil {
			_ = s.DeleteApp(context.WithoutCancel(ctx), appID)
			_ = s.purgeMedia(context.WithoutCancel(ctx))
			return "", snapshotLoadError(fmt.Errorf("attachments[%d]: %w", i, err))
		}
	}
	if len(doc.UserPurges) > 0 {
		s.wakePurger()
	}
	return appID, nil
}

// mediaPath begins the path of the server's own media URLs (api's GetAttachmentMedia).
const mediaPath = "/attachments/v2/"

// mediaURLs replaces, in a message's content, the JSON strings that begin with from by strings
// that begin with to: a snapshot holds the server's own media URLs relative to the server
// ("/attachments/v2/ID/name"), so that it loads into a server at another address.
func mediaURLs(content json.RawMessage, from, to string) json.RawMessage {
	if from == to || !bytes.Contains(content, []byte(from)) {
		return content
	}
	return bytes.ReplaceAll(content, []byte(`"`+from), []byte(`"`+to))
}

// cleanID reports whether id is a record id: 24 lowercase hexadecimal characters.
func cleanID(id string) bool {
	if len(id) != 24 {
		return false
	}
	for _, c := range id {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// jsonName is the document's name of a table's list.
func jsonName(table string) string {
	parts := strings.Split(table, "_")
	for i := 1; i < len(parts); i++ {
		parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
	}
	name := strings.Join(parts, "")
	switch name {
	case "apiKeys":
		return "keys"
	}
	return name
}

// snapshotDecodeError is a 400 naming the field that did not decode.
func snapshotDecodeError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var timeErr *snapTimeError
	switch {
	case errors.As(err, &timeErr):
		return sunlamp.Invalid("%s should be a time such as 2027-01-01T00:00:00.000Z", timeErr.field)
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return sunlamp.Invalid("%s should be %s", typeErr.Field, typeErr.Type.Kind())
	}
	return sunlamp.Invalid("The snapshot is not a JSON document of its schema")
}

// snapshotLoadError says why rows did not load: a 409 for ids that are taken, a 400 for rows that
// name rows the document does not hold or lack a required value.
func snapshotLoadError(err error) error {
	var se *sunlamp.Error
	switch {
	case errors.As(err, &se):
		return err
	case errors.Is(err, errUnique):
		return sunlamp.Errorf(sunlamp.KindConflict, "conflict", "An id of the snapshot is taken (%s)", where(err))
	case errors.Is(err, errForeignKey):
		return sunlamp.Invalid("%s names a record that the snapshot does not hold", where(err))
	}
	var re *recordError
	if errors.As(err, &re) {
		return sunlamp.Invalid("%s.%s should be %s", where(err), re.field, re.want)
	}
	return fmt.Errorf("load snapshot: %w", err)
}

// where returns the list and index a load error happened at ("users[3]"), from its message.
func where(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, ":"); i > 0 && (strings.HasSuffix(msg[:i], "]") || msg[:i] == "app") {
		return msg[:i]
	}
	return "the document"
}

// snapTime is a time of a snapshot: stored as integer milliseconds, written as the wire's
// YYYY-MM-DDThh:mm:ss.SSSZ.
type snapTime int64

func (t snapTime) MarshalJSON() ([]byte, error) {
	return json.Marshal(sunlamp.FromMillis(int64(t)).Format("2006-01-02T15:04:05.000Z"))
}

type snapTimeError struct{ field string }

func (e *snapTimeError) Error() string { return e.field + ": not a time" }

func (t *snapTime) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return &snapTimeError{"a time"}
	}
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return &snapTimeError{fmt.Sprintf("%q", s)}
	}
	*t = snapTime(tm.UnixMilli())
	return nil
}

// recordError is a record's field that cannot be written.
type recordError struct{ field, want string }

func (e *recordError) Error() string { return e.field + " should be " + e.want }

// The records' columns are read and written through their `db` tags.

// recordColumns returns the columns of a record type, in field order.
func recordColumns(t reflect.Type) []string {
	var cols []string
	for i := 0; i < t.NumField(); i++ {
		if c := t.Field(i).Tag.Get("db"); c != "" {
			cols = append(cols, c)
		}
	}
	return cols
}

func selectRecords[T any](ctx context.Context, t tx, table, where, order string, args ...any) ([]T, error) {
	v, err := selectRecordsOf(ctx, t, reflect.TypeFor[T](), table, where, order, args...)
	if err != nil {
		return nil, err
	}
	return v.Interface().([]T), nil
}

// selectRecordsOf reads the rows of table that match where, in order, as a slice of records of
// type rt (never nil, so that an empty list is [] in the document).
func selectRecordsOf(ctx context.Context, t tx, rt reflect.Type, table, where, order string, args ...any) (reflect.Value, error) {
	cols := recordColumns(rt)
	out := reflect.MakeSlice(reflect.SliceOf(rt), 0, 0)
	rows, err := t.query(ctx, "SELECT "+strings.Join(cols, ", ")+" FROM "+table+" WHERE "+where+" ORDER BY "+order, args...)
	if err != nil {
		return out, err
	}
	defer rows.Close()
	for rows.Next() {
		holders := make([]any, len(cols))
		rec := reflect.New(rt).Elem()
		var fields []reflect.Value
		for i := 0; i < rt.NumField(); i++ {
			if rt.Field(i).Tag.Get("db") != "" {
				fields = append(fields, rec.Field(i))
			}
		}
		for i, f := range fields {
			holders[i] = holderFor(f.Type())
		}
		if err := rows.Scan(holders...); err != nil {
			return out, err
		}
		for i, f := range fields {
			if err := setField(f, holders[i], cols[i]); err != nil {
				return out, err
			}
		}
		out = reflect.Append(out, rec)
	}
	return out, rows.Err()
}

var (
	rawType      = reflect.TypeFor[json.RawMessage]()
	timeType     = reflect.TypeFor[snapTime]()
	timePtrType  = reflect.TypeFor[*snapTime]()
	stringPtrTyp = reflect.TypeFor[*string]()
	intPtrType   = reflect.TypeFor[*int64]()
)

// holderFor returns what a column of a field of type ft is scanned into.
func holderFor(ft reflect.Type) any {
	switch ft {
	case rawType, stringPtrTyp:
		return new(sql.NullString)
	case timeType, timePtrType, intPtrType:
		return new(sql.NullInt64)
	}
	switch ft.Kind() {
	case reflect.String:
		return new(string)
	case reflect.Int64:
		return new(int64)
	case reflect.Bool:
		return new(int64)
	}
	panic("snapshot: no column type for " + ft.String())
}

// setField sets a record's field from its scanned column.
func setField(f reflect.Value, h any, col string) error {
	switch f.Type() {
	case rawType:
		ns := h.(*sql.NullString)
		if ns.Valid {
			if !json.Valid([]byte(ns.String)) {
				return fmt.Errorf("column %s holds no JSON", col)
			}
			f.SetBytes([]byte(ns.String))
		}
		return nil
	case stringPtrTyp:
		if ns := h.(*sql.NullString); ns.Valid {
			f.Set(reflect.ValueOf(&ns.String))
		}
		return nil
	case timeType:
		f.SetInt(h.(*sql.NullInt64).Int64)
		return nil
	case timePtrType:
		if n := h.(*sql.NullInt64); n.Valid {
			t := snapTime(n.Int64)
			f.Set(reflect.ValueOf(&t))
		}
		return nil
	case intPtrType:
		if n := h.(*sql.NullInt64); n.Valid {
			f.Set(reflect.ValueOf(&n.Int64))
		}
		return nil
	}
	switch f.Kind() {
	case reflect.String:
		f.SetString(*h.(*string))
	case reflect.Int64:
		f.SetInt(*h.(*int64))
	case reflect.Bool:
		f.SetBool(*h.(*int64) != 0)
	}
	return nil
}

// insertRecord inserts a record's columns into table. JSON is stored compacted, as Sunlamp writes
// it.
func insertRecord(ctx context.Context, t tx, table string, rec any) error {
	rv := reflect.ValueOf(rec)
	rt := rv.Type()
	var cols []string
	var args []any
	for i := 0; i < rt.NumField(); i++ {
		col := rt.Field(i).Tag.Get("db")
		if col == "" {
			continue
		}
		f := rv.Field(i)
		var arg any
		switch f.Type() {
		case rawType:
			name, opts, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
			if f.Len() > 0 {
				var buf bytes.Buffer
				if err := json.Compact(&buf, f.Bytes()); err != nil {
					return &recordError{name, "JSON"}
				}
				arg = buf.String()
			} else if opts != "omitempty" { // a column that must hold JSON
				return &recordError{name, "present"}
			}
		case stringPtrTyp, timePtrType, intPtrType:
			if !f.IsNil() {
				arg = f.Elem().Interface()
				if tv, ok := arg.(snapTime); ok {
					arg = int64(tv)
				}
			}
		case timeType:
			arg = f.Int()
		default:
			switch f.Kind() {
			case reflect.String:
				arg = f.String()
			case reflect.Int64:
				arg = f.Int()
			case reflect.Bool:
				arg = boolInt(f.Bool())
			}
		}
		cols = append(cols, col)
		args = append(args, arg)
	}
	_, err := t.exec(ctx, "INSERT INTO "+table+" ("+strings.Join(cols, ", ")+") VALUES ("+placeholders(len(cols))+")", args...)
	return err
}
