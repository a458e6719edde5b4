package api

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/sunlamp/sunlamp"
)

// The data-subject export (issue 17): GET /_sunlamp/v1/apps/{appId}/users/{userIdOrExternalId}/export
// answers one JSON document with everything Sunlamp holds about the person, or with ?format=zip a
// zip of that document and the attachment files it lists.
//
// The document has the shape of the one `sunlamp dsr export` builds from v2 calls
// (cmd/sunlamp/export.go, version 1), so that a privacy team reads one format whichever made it:
//
//	{"version": 1, "exportedAt": TIME, "source": {"url": BASE_URL, "appId": APP},
//	 "user": USER, "clients": [CLIENT...], "devices": [DEVICE...],
//	 "conversations": [{"conversation": CONVERSATION, "messages": [MESSAGE...]}...],
//	 "media": [{"url", "file", "sha256", "size", "mediaType"} or {"url", "size", "mediaType", "skipped"} or {"url", "skipped"}...],
//	 "pendingEvents": [{"id", "type", "createdAt", "payload", "pendingDeliveries"}...],
//	 "deliveryAttempts": [{"id", "eventId", "eventType", "webhookId", "attempt", "redelivery", "outcome", "createdAt", "payload" or "requestBody", "response"}...],
//	 "conversionEvents": [{"id", "conversationId", "channel", "integrationId", "datasetId", "eventsReceived", "payload", "createdAt"}...],
//	 "interactiveData": [{"id", "integrationId", "ref": {"url", "bid", "owner"}, "content", "createdAt"}...],
//	 "visitorSessions": [{"id", "integrationId", "createdAt"}...],
//	 "audit": [{"id", "at", "operation", "userId", "keyId", "outcome", "counts"}...]}
//
// every object as the v2 API shows it (GetUser, ListClients, ListDevices, ListConversations,
// ListMessages), one record per line, messages oldest first: every message of the user's personal
// conversations, and in the others the messages the user wrote (the other participants' messages are
// their data, not the person's: GDPR art. 15(4)). The sections from pendingEvents on are the server's
// own: the v2 API cannot show them, so the command line's document has none. A media entry's file is
// a path in the zip, relative to the document; "skipped" says why a file is not there.
//
// The document is written as the store reads it, a page at a time, never held whole: memory does not
// grow with the history (BenchmarkExportUser). Once the first byte is out, a failure can no longer be
// answered with an error status: the connection is cut, so that a client never takes a truncated
// document for a whole one (its JSON, or the zip's central directory, is incomplete).

// exportVersion is the document's version, the command line's (cmd/sunlamp/export.go).
const exportVersion = 1

// exportWriteTimeout bounds how long a page of the export may take to reach a client that reads
// it: the deadline moves on with each page, so a long export of a reading client goes on.
var exportWriteTimeout = time.Minute // a variable for tests (SetExportWriteTimeout)

// handleExportUser answers the user's export document (or its zip), and records the export in the
// audit trail with what it wrote, whether it ended well or not.
func (s *Server) handleExportUser(w http.ResponseWriter, r *http.Request) error {
	format := r.URL.Query().Get("format")
	switch format {
	case "", "json", "zip":
	default:
		return sunlamp.Invalid("format must be json or zip")
	}
	ctx := r.Context()
	appID := r.PathValue("appId")
	x := &userExporter{s: s, ctx: ctx, appID: appID, zip: format == "zip", rw: w, rc: http.NewResponseController(w), seen: map[string]bool{}}
	err := s.store.ExportUser(ctx, appID, r.PathValue("userIdOrExternalId"), x)
	if err == nil {
		err = x.finish()
	}
	outcome := sunlamp.AuditOK
	if err != nil {
		outcome = "internal_error"
		if se := (*sunlamp.Error)(nil); errors.As(err, &se) && se.Code != "" {
			outcome = se.Code
		} else if ctx.Err() != nil {
			outcome = "canceled" // the client went away before the end
		}
	}
	if x.userID != "" { // an export of nobody is no one's audit entry
		entry := sunlamp.AuditEntry{AppID: appID, Operation: sunlamp.AuditExport, UserID: x.userID, KeyID: principal(ctx).ID, Outcome: outcome,
			Counts: map[string]int64{sunlamp.CountMessagesExported: x.messages, sunlamp.CountConversationsExported: x.conversations, sunlamp.CountAttachmentsExported: x.files}}
		if aerr := s.store.RecordAudit(context.WithoutCancel(ctx), entry); aerr != nil {
			s.log.Error("export: record audit", "request_id", requestID(ctx), "error", aerr)
		}
	}
	if err == nil {
		return nil
	}
	if !x.started {
		return err
	}
	// Ids and the error only: the error of a store read or a write to the client holds no data of the
	// person's.
	level := slog.LevelError
	if ctx.Err() != nil {
		level = slog.LevelWarn // the client's doing, not the server's
	}
	s.log.Log(ctx, level, "export: cut short", "request_id", requestID(ctx), "appId", appID, "userId", x.userID, "error", err)
	panic(http.ErrAbortHandler)
}

// userExporter writes the document as the store hands it the user's data (sunlamp.UserExport).
type userExporter struct {
	s     *Server
	ctx   context.Context
	appID string
	zip   bool

	rw      http.ResponseWriter
	rc      *http.ResponseController
	started bool
	zw      *zip.Writer
	w       *bufio.Writer // the document: over the response, or the zip's entry
	buf     []byte
	render  func(sunlamp.Event, sunlamp.Webhook) (json.RawMessage, error)

	userID string
	sec    string // the list being written
	n      int    // its records so far
	inConv bool   // a conversation's messages are open
	conv   int    // its messages so far
	// media are the media URLs the user's messages name and the attachments tied to them, in the
	// order found, each once (seen): a few dozen bytes each, whatever the number of messages.
	media     []mediaItem
	seen      map[string]bool
	mediaDone bool

	messages, conversations, files int64
}

// mediaItem is a media URL of the document, with the attachment it names when it is one of this
// server's, and the attachment's file in the zip.
type mediaItem struct {
	url  string
	att  *sunlamp.Attachment
	file string
}

// exportMediaEntry is an entry of the document's media list (the command line's mediaEntry).
type exportMediaEntry struct {
	URL       string `json:"url"`
	File      string `json:"file,omitempty"`
	SHA256    string `json:"sha256,omitempty"`
	Size      int64  `json:"size,omitempty"`
	MediaType string `json:"mediaType,omitempty"`
	Skipped   string `json:"skipped,omitempty"`
}

// exportEventWire is a pending event of the document: as a webhook receives it (the dispatcher's
// events[] entry, rendered with the full user and source), and to how many webhooks it is still to go.
type exportEventWire struct {
	ID                string          `json:"id"`
	Type              string          `json:"type"`
	CreatedAt         string          `json:"createdAt"`
	Payload           json.RawMessage `json:"payload"`
	PendingDeliveries int             `json:"pendingDeliveries"`
}

// The skipped reasons of media entries.
const (
	skippedNotIncluded = "not included: the files are in format=zip"
	skippedElsewhere   = "not an attachment of this server"
	skippedGone        = "404 Not Found" // as the command line says of a deleted attachment
)

// docName is the document's name in the zip, and mediaDir the folder of its files: the names the
// command line gives them (USER.json, USER.json.media/).
func (x *userExporter) docName() string  { return x.userID + ".json" }
func (x *userExporter) mediaDir() string { return x.userID + ".json.media" }

// User starts the response: headers, then the document's head.
func (x *userExporter) User(u sunlamp.User) error {
	x.userID = u.ID
	h := x.rw.Header()
	h.Set("Cache-Control", "no-store")
	var out io.Writer = x.rw
	if x.zip {
		h.Set("Content-Type", "application/zip")
		h.Set("Content-Disposition", `attachment; filename="`+u.ID+`.zip"`)
		x.zw = zip.NewWriter(x.rw)
		f, err := x.zw.CreateHeader(x.zipHeader(x.docName(), zip.Deflate))
		if err != nil {
			return err
		}
		out = f
	} else {
		h.Set("Content-Type", "application/json; charset=utf-8")
	}
	x.rw.WriteHeader(http.StatusOK)
	x.started = true
	x.w = bufio.NewWriterSize(out, 64<<10)
	source, err := json.Marshal(map[string]string{"url": x.s.baseURL, "appId": x.appID})
	if err != nil {
		return err
	}
	fmt.Fprintf(x.w, "{\"version\": %d,\n\"exportedAt\": %q,\n\"source\": %s,\n\"user\": ", exportVersion, formatTime(x.s.clock.Now()), source)
	if err := x.value(userOut(u)); err != nil {
		return err
	}
	return x.page()
}

// zipHeader is the header of a zip entry: readable by its owner alone once unpacked (personal data).
func (x *userExporter) zipHeader(name string, method uint16) *zip.FileHeader {
	fh := &zip.FileHeader{Name: name, Method: method, Modified: x.s.clock.Now()}
	fh.SetMode(0o600)
	return fh
}

// value writes v as compact JSON, encoded as writeJSON encodes it (HTML characters unescaped).
func (x *userExporter) value(v any) error {
	b := bytes.NewBuffer(x.buf[:0])
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	x.buf = b.Bytes()
	_, err := x.w.Write(bytes.TrimSuffix(x.buf, []byte("\n")))
	return err
}

// section closes the list being written, if it is another, and opens the list name.
func (x *userExporter) section(name string) {
	if x.sec == name {
		return
	}
	if x.sec != "" {
		x.endList()
	}
	x.w.WriteString(",\n\"" + name + "\": [")
	x.sec, x.n = name, 0
}

// endList closes the list being written.
func (x *userExporter) endList() {
	if x.n > 0 {
		x.w.WriteByte('\n')
	}
	x.w.WriteByte(']')
}

// item starts the next record of the list on a line of its own.
func (x *userExporter) item() {
	if x.n > 0 {
		x.w.WriteByte(',')
	}
	x.w.WriteByte('\n')
	x.n++
}

// page ends a page: the write deadline moves on, and the export stops when the request is gone.
func (x *userExporter) page() error {
	_ = x.rc.SetWriteDeadline(time.Now().Add(exportWriteTimeout)) // errors mean the connection cannot take deadlines
	return x.ctx.Err()
}

func (x *userExporter) Clients(page []sunlamp.Client) error {
	x.section("clients")
	for _, c := range page {
		x.item()
		if err := x.value(clientOut(c)); err != nil {
			return err
		}
	}
	return x.page()
}

func (x *userExporter) Devices(page []sunlamp.Device) error {
	x.section("devices")
	for _, d := range page {
		x.item()
		if err := x.value(deviceOut(d)); err != nil {
			return err
		}
	}
	return x.page()
}

// Conversation writes a conversation as ListConversations shows it, and opens its messages.
func (x *userExporter) Conversation(c sunlamp.Conversation, all bool) error {
	x.section("conversations")
	x.endConversation()
	cw := []conversationWire{conversationOut(c)}
	if err := x.s.withSwitchboardStates(x.ctx, x.appID, cw); err != nil {
		return err
	}
	x.item()
	x.w.WriteString(`{"conversation": `)
	if err := x.value(cw[0]); err != nil {
		return err
	}
	x.w.WriteString(`, "messages": [`)
	x.inConv, x.conv = true, 0
	x.conversations++
	return x.page()
}

// endConversation closes the open conversation's messages, if any.
func (x *userExporter) endConversation() {
	if !x.inConv {
		return
	}
	if x.conv > 0 {
		x.w.WriteByte('\n')
	}
	x.w.WriteString("]}")
	x.inConv = false
}

// Messages writes a page of messages as ListMessages shows them, and notes the media they name.
func (x *userExporter) Messages(page []sunlamp.Message) error {
	b := x.buf[:0]
	for i := range page {
		m := &page[i]
		if x.conv > 0 {
			b = append(b, ',')
		}
		b = append(b, '\n')
		b = appendMessageJSON(b, *m)
		x.conv++
		x.noteMedia(m.Content.Doc)
	}
	x.buf = b
	x.messages += int64(len(page))
	if _, err := x.w.Write(b); err != nil {
		return err
	}
	return x.page()
}

// noteMedia adds the media URLs a message's content names (mediaUrl, and its items' for carousels
// and lists) to the media list.
func (x *userExporter) noteMedia(doc []byte) {
	if !bytes.Contains(doc, []byte(`"mediaUrl"`)) {
		return
	}
	var c struct {
		MediaURL string `json:"mediaUrl"`
		Items    []struct {
			MediaURL string `json:"mediaUrl"`
		} `json:"items"`
	}
	if json.Unmarshal(doc, &c) != nil {
		return
	}
	x.noteURL(c.MediaURL, nil)
	for _, it := range c.Items {
		x.noteURL(it.MediaURL, nil)
	}
}

func (x *userExporter) noteURL(u string, a *sunlamp.Attachment) {
	if u == "" || x.seen[u] {
		return
	}
	x.seen[u] = true
	x.media = append(x.media, mediaItem{url: u, att: a})
}

func (x *userExporter) ConversationsDone() error {
	x.section("conversations")
	x.endConversation()
	return x.page()
}

// Attachments notes the attachments tied to the user that no message of theirs names.
func (x *userExporter) Attachments(page []sunlamp.Attachment) error {
	for _, a := range page {
		a := a
		x.noteURL(x.s.mediaURL(a), &a)
	}
	return x.ctx.Err()
}

// writeMedia writes the media list: each of this server's attachments with its metadata (and in a
// zip its file and SHA-256), any other URL as skipped.
func (x *userExporter) writeMedia() error {
	if x.mediaDone {
		return nil
	}
	x.mediaDone = true
	x.section("media")
	for i := range x.media {
		it := &x.media[i]
		e := exportMediaEntry{URL: it.url}
		if it.att == nil {
			if id, _, ok := x.s.parseMediaURL(it.url); !ok {
				e.Skipped = skippedElsewhere
			} else if a, err := x.s.store.Attachment(x.ctx, x.appID, id); sunlamp.KindOf(err) == sunlamp.KindNotFound {
				e.Skipped = skippedGone
			} else if err != nil {
				return err
			} else {
				it.att = &a
			}
		}
		if a := it.att; a != nil {
			e.Size, e.MediaType = a.Size, a.MediaType
			x.files++
			if x.zip {
				sum, err := x.hash(a.ID)
				if err != nil {
					return err
				}
				if err := x.page(); err != nil { // reading many files takes time too
					return err
				}
				it.file = x.mediaDir() + "/" + a.ID + "-" + safeFileName(a.Filename)
				e.File, e.SHA256 = it.file, sum
			} else {
				e.Skipped = skippedNotIncluded
			}
		}
		x.item()
		if err := x.value(e); err != nil {
			return err
		}
	}
	return x.page()
}

// hash returns the SHA-256 of an attachment's bytes, read from the attachment store. (The zip
// holds the file after the document that lists it, so the file is read twice: once here, once into
// the zip.)
func (x *userExporter) hash(id string) (string, error) {
	_, r, err := x.s.store.OpenAttachment(x.ctx, id)
	if err != nil {
		return "", fmt.Errorf("read attachment: %w", err)
	}
	defer r.Close()
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", fmt.Errorf("read attachment: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// PendingEvents writes the events about the user still to be delivered, as a webhook that asked for
// the full user and source would receive them.
func (x *userExporter) PendingEvents(page []sunlamp.PendingEvent) error {
	if err := x.writeMedia(); err != nil {
		return err
	}
	x.section("pendingEvents")
	if x.render == nil {
		x.render = EventRenderer(x.s.store)
	}
	for _, ev := range page {
		payload, err := x.render(ev.Event, sunlamp.Webhook{IncludeFullUser: true, IncludeFullSource: true})
		if err != nil {
			return err
		}
		x.item()
		if err := x.value(exportEventWire{ID: ev.ID, Type: ev.Type, CreatedAt: formatTime(ev.CreatedAt), Payload: payload, PendingDeliveries: ev.PendingDeliveries}); err != nil {
			return err
		}
	}
	return x.page()
}

// exportAttemptWire is an attempt of the webhook flight recorder about the user: the payload as it
// was sent (scrubbed if the user was erased since) and what the target answered. The target URL and
// the headers are the business's configuration, not the person's data, and are left out; the rest is
// as GET /_sunlamp/v1/apps/{appId}/deliveries shows it.
type exportAttemptWire struct {
	ID         string `json:"id"`
	EventID    string `json:"eventId"`
	EventType  string `json:"eventType"`
	WebhookID  string `json:"webhookId"`
	Attempt    int    `json:"attempt"`
	Redelivery bool   `json:"redelivery"`
	Outcome    string `json:"outcome"`
	CreatedAt  string `json:"createdAt"`
	// Payload is the request body when it is JSON (every payload Sunlamp sends), RequestBody
	// otherwise.
	Payload     json.RawMessage     `json:"payload,omitempty"`
	RequestBody string              `json:"requestBody,omitempty"`
	Response    *exportResponseWire `json:"response,omitempty"`
}

// exportResponseWire is what a webhook target answered (requestWire without the headers).
type exportResponseWire struct {
	Status       int    `json:"status"`
	Body         string `json:"body"`
	BodyEncoding string `json:"bodyEncoding,omitempty"`
}

// exportInteractiveDataWire is Apple interactive data recorded for the user: its content is what the
// customer sent. The reference's key and signature (which decrypt the data) are not in it.
type exportInteractiveDataWire struct {
	ID            string `json:"id"`
	IntegrationID string `json:"integrationId"`
	Ref           struct {
		URL   string `json:"url"`
		Bid   string `json:"bid"`
		Owner string `json:"owner"`
	} `json:"ref"`
	Content   json.RawMessage `json:"content"`
	CreatedAt string          `json:"createdAt"`
}

// exportVisitorSessionWire is a web messenger session of the user: which web integration it is for
// and since when. Its secret's hash never leaves the store.
type exportVisitorSessionWire struct {
	ID            string `json:"id"`
	IntegrationID string `json:"integrationId"`
	CreatedAt     string `json:"createdAt"`
}

// DeliveryAttempts writes the flight recorder's attempts of events about the user.
func (x *userExporter) DeliveryAttempts(page []sunlamp.DeliveryAttempt) error {
	x.section("deliveryAttempts")
	for _, a := range page {
		w := exportAttemptWire{ID: a.ID, EventID: a.EventID, EventType: a.EventType, WebhookID: a.WebhookID, Attempt: a.Attempt,
			Redelivery: a.Redeliver, Outcome: outcomeWire[a.Outcome], CreatedAt: formatTime(a.CreatedAt)}
		if json.Valid(a.RequestBody) {
			w.Payload = a.RequestBody
		} else {
			w.RequestBody = string(a.RequestBody) // stored as text (request_body)
		}
		if a.ResponseStatus != 0 {
			body, enc := bodyOut(a.ResponseBody)
			w.Response = &exportResponseWire{Status: a.ResponseStatus, Body: body, BodyEncoding: enc}
		}
		x.item()
		if err := x.value(w); err != nil {
			return err
		}
	}
	return x.page()
}

// ConversionEvents writes the conversion events about the user as GET
// /_sunlamp/v1/apps/{appId}/conversionEvents shows them.
func (x *userExporter) ConversionEvents(page []sunlamp.ConversionEvent) error {
	x.section("conversionEvents")
	for _, e := range page {
		x.item()
		if err := x.value(conversionEventWire{ID: e.ID, ConversationID: e.ConversationID, Channel: e.Channel, IntegrationID: e.IntegrationID,
			DatasetID: e.DatasetID, EventsReceived: e.EventsReceived, Payload: e.Payload, CreatedAt: formatTime(e.CreatedAt)}); err != nil {
			return err
		}
	}
	return x.page()
}

// InteractiveData writes the Apple interactive data recorded for the user.
func (x *userExporter) InteractiveData(page []sunlamp.InteractiveData) error {
	x.section("interactiveData")
	for _, d := range page {
		w := exportInteractiveDataWire{ID: d.ID, IntegrationID: d.IntegrationID, Content: d.Content, CreatedAt: formatTime(d.CreatedAt)}
		w.Ref.URL, w.Ref.Bid, w.Ref.Owner = d.Ref.URL, d.Ref.Bid, d.Ref.Owner
		x.item()
		if err := x.value(w); err != nil {
			return err
		}
	}
	return x.page()
}

// VisitorSessions writes the user's web messenger sessions.
func (x *userExporter) VisitorSessions(page []sunlamp.VisitorSession) error {
	x.section("visitorSessions")
	for _, v := range page {
		x.item()
		if err := x.value(exportVisitorSessionWire{ID: v.ID, IntegrationID: v.IntegrationID, CreatedAt: formatTime(v.CreatedAt)}); err != nil {
			return err
		}
	}
	return x.page()
}

func (x *userExporter) AuditEntries(page []sunlamp.AuditEntry) error {
	x.section("audit")
	for _, e := range page {
		x.item()
		if err := x.value(auditEntryOut(e)); err != nil { // as GET /_sunlamp/v1/apps/{appId}/audit shows it
			return err
		}
	}
	return x.page()
}

// finish closes the document and, in a zip, adds the attachment files after it.
func (x *userExporter) finish() error {
	if err := x.writeMedia(); err != nil {
		return err
	}
	x.section("audit")
	x.endList()
	x.w.WriteString("}\n")
	if err := x.w.Flush(); err != nil {
		return err
	}
	if !x.zip {
		return nil
	}
	for _, it := range x.media {
		if it.file == "" {
			continue
		}
		if err := x.zipFile(it); err != nil {
			return err
		}
	}
	return x.zw.Close()
}

// zipFile copies an attachment's bytes into the zip, stored as they are (media are compressed
// formats already).
func (x *userExporter) zipFile(it mediaItem) error {
	_, r, err := x.s.store.OpenAttachment(x.ctx, it.att.ID)
	if err != nil {
		return fmt.Errorf("read attachment: %w", err)
	}
	defer r.Close()
	f, err := x.zw.CreateHeader(x.zipHeader(it.file, zip.Store))
	if err != nil {
		return err
	}
	if _, err := io.Copy(pacedWriter{f, x}, r); err != nil {
		return fmt.Errorf("copy attachment: %w", err)
	}
	return x.page()
}

// pacedWriter moves the export's write deadline on after each write it passes on, so that a large
// file going to a slow client is not cut off by the deadline of one page.
type pacedWriter struct {
	w io.Writer
	x *userExporter
}

func (p pacedWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	if err == nil {
		err = p.x.page()
	}
	return n, err
}

// safeFileName keeps a file name in the zip readable and harmless, as the command line does: a-z,
// A-Z, 0-9, '.', '_' and '-' (others become _), no leading dot, at most 80 bytes.
func safeFileName(v string) string {
	b := make([]byte, 0, len(v))
	for _, c := range v {
		if len(b) >= 80 {
			break
		}
		if c < 128 && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			b = append(b, byte(c))
		} else {
			b = append(b, '_')
		}
	}
	b = bytes.TrimLeft(b, ".")
	if len(b) == 0 {
		return "file"
	}
	return string(b)
}
