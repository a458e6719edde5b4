package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/sunlamp/sunlamp"
)

// The bytes of attachments live where the dialect's blobBackend keeps them (blobs_files.go,
// blobs_chunks.go); this file keeps their rows and their lifecycle.

// mediaState is the Store's attachment storage and its janitor.
type mediaState struct {
	dir     string // WithMediaDir; "" means next to the database file
	blobs   blobBackend
	janitor *job
}

// WithMediaDir keeps the files of attachments in dir instead of next to the SQLite database file. It
// has no effect where the bytes are kept in the database (PostgreSQL).
func WithMediaDir(dir string) Option { return func(s *Store) { s.media.dir = dir } }

// MediaDir returns the directory of attachment files, "" where the bytes are kept in the database.
func (s *Store) MediaDir() string { return s.media.blobs.dir() }

const attachmentColumns = "id, app_id, filename, media_type, size, for_message, conversation_id, message_id, user_id, created_at"

func scanAttachment(r scanner) (sunlamp.Attachment, error) {
	var a sunlamp.Attachment
	var forMessage, created int64
	var conv, msg, user sql.NullString
	if err := r.Scan(&a.ID, &a.AppID, &a.Filename, &a.MediaType, &a.Size, &forMessage, &conv, &msg, &user, &created); err != nil {
		return a, err
	}
	a.ForMessage = forMessage != 0
	a.ConversationID, a.MessageID, a.UserID = conv.String, msg.String, user.String
	a.CreatedAt = sunlamp.FromMillis(created)
	return a, nil
}

// sourceReader remembers the error of the reader it passes through, to tell a failed upload from a
// failed disk.
type sourceReader struct {
	r   io.Reader
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		s.err = err
	}
	return n, err
}

// readError marks an error of the content reader, so that the caller gets it back as it was.
type readError struct{ err error }

func (e readError) Error() string { return "read attachment: " + e.err.Error() }
func (e readError) Unwrap() error { return e.err }

// CreateAttachment stores a and the bytes of content; see sunlamp.AttachmentStore.
func (s *Store) CreateAttachment(ctx context.Context, a sunlamp.Attachment, content io.Reader) (sunlamp.Attachment, error) {
	a.ID = sunlamp.NewAttachmentID()
	a.CreatedAt = s.now()
	a.MessageID, a.UserID = "", ""
	a, err := s.media.blobs.create(ctx, a, content, func(t tx, a sunlamp.Attachment) error { return t.insertAttachment(ctx, a) })
	if err != nil {
		var re readError
		if errors.As(err, &re) {
			return a, re.err
		}
		return a, fmt.Errorf("create attachment: %w", err)
	}
	if !a.ForMessage {
		a.ConversationID = ""
	}
	return a, nil
}

// insertAttachment inserts a's row after checking its app and conversation.
func (t tx) insertAttachment(ctx context.Context, a sunlamp.Attachment) error {
	if _, err := t.app(ctx, a.AppID); err != nil {
		return err
	}
	if a.ConversationID != "" {
		var one int
		err := t.queryRow(ctx, "SELECT 1 FROM conversations WHERE app_id = ? AND id = ?", a.AppID, a.ConversationID).Scan(&one)
		if err != nil {
			return notFound(err, errConversationNotFound, "find conversation")
		}
	}
	// Only for=message ties an attachment to its conversation (the spec: `for` "enables automatic
	// attachment deletion"); a conversationId alone is checked and has no other effect.
	forMessage, conv := 0, ""
	if a.ForMessage {
		forMessage, conv = 1, a.ConversationID
	}
	_, err := t.exec(ctx, "INSERT INTO attachments ("+attachmentColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		a.ID, a.AppID, a.Filename, a.MediaType, a.Size, forMessage, nullStr(conv), nil, nil, a.CreatedAt.UnixMilli())
	if errors.Is(err, errForeignKey) { // the app or conversation went meanwhile
		return sunlamp.ErrAppNotFound
	}
	return err
}

// errConversationNotFound is the spec's conversation_not_found (errors.Is-equal to the one the
// conversations code declares).
var errConversationNotFound = sunlamp.NotFound("conversation_not_found", "Conversation not found")

// Attachment returns the attachment id of app appID.
func (s *Store) Attachment(ctx context.Context, appID, id string) (sunlamp.Attachment, error) {
	a, err := scanAttachment(s.queryRow(ctx, "SELECT "+attachmentColumns+" FROM attachments WHERE app_id = ? AND id = ?", appID, id))
	if err != nil {
		return a, notFound(err, sunlamp.ErrAttachmentNotFound, "get attachment")
	}
	return a, nil
}

// OpenAttachment returns the attachment id and a reader of its bytes.
func (s *Store) OpenAttachment(ctx context.Context, id string) (sunlamp.Attachment, io.ReadSeekCloser, error) {
	a, err := scanAttachment(s.queryRow(ctx, "SELECT "+attachmentColumns+" FROM attachments WHERE id = ?", id))
	if err != nil {
		return a, nil, notFound(err, sunlamp.ErrAttachmentNotFound, "open attachment")
	}
	content, err := s.media.blobs.open(ctx, a)
	if err != nil {
		if errors.Is(err, sunlamp.ErrAttachmentNotFound) {
			return a, nil, err
		}
		return a, nil, fmt.Errorf("open attachment: %w", err)
	}
	return a, content, nil
}

// DeleteAttachment removes the attachment id of app appID and its bytes.
func (s *Store) DeleteAttachment(ctx context.Context, appID, id string) error {
	err := s.inTx(ctx, func(t tx) error {
		res, err := t.exec(ctx, "DELETE FROM attachments WHERE app_id = ? AND id = ?", appID, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return sunlamp.ErrAttachmentNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete attachment: %w", err)
	}
	// The file goes now, not at the janitor's next round.
	if _, err := s.PurgeMedia(ctx); err != nil {
		return fmt.Errorf("delete attachment: %w", err)
	}
	return nil
}

// ---- Attachments of messages (see messagePlan) ----

// fillMessageMedia gives an image or file message whose mediaUrl is attachment a the attachment's
// mediaType and mediaSize (response-only fields of the spec), appended so that the content keeps its
// key order, and reports whether it changed m. Content that has them already (a retried
// transaction) is left as it is.
func fillMessageMedia(m *sunlamp.Message, a sunlamp.Attachment) (bool, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(m.Content.Doc, &doc); err != nil || doc == nil {
		return false, nil
	}
	if _, has := doc["mediaSize"]; has {
		return false, nil
	}
	extra, err := json.Marshal(struct {
		MediaType string `json:"mediaType"`
		MediaSize int64  `json:"mediaSize"`
	}{a.MediaType, a.Size})
	if err != nil {
		return false, err
	}
	if _, has := doc["mediaType"]; has {
		doc["mediaType"], _ = json.Marshal(a.MediaType)
		doc["mediaSize"], _ = json.Marshal(a.Size)
		m.Content.Doc, err = json.Marshal(doc)
		return err == nil, err
	}
	body := bytes.TrimSpace(m.Content.Doc)
	body = body[:len(body)-1] // the object's closing brace (Unmarshal proved it is an object)
	sep := ","
	if len(doc) == 0 {
		sep = ""
	}
	m.Content.Doc = append(append(append([]byte{}, body...), sep...), extra[1:]...)
	return true, nil
}

// claimMediaStmt is the statement, run after m's row is inserted in the same transaction, by which
// m's for=message attachment id, not yet owned by a message and uploaded for m's conversation or for
// none, comes to belong to m, its conversation, and its author when the author is a user. The
// foreign keys then delete it with any of them. An attachment may be sent in several messages; only
// the first owns it.
func claimMediaStmt(m sunlamp.Message, id string) stmt {
	return stmt{"UPDATE attachments SET conversation_id = ?, message_id = ?, user_id = ? WHERE app_id = ? AND id = ? AND for_message = 1 AND message_id IS NULL AND (conversation_id IS NULL OR conversation_id = ?)",
		[]any{m.ConversationID, m.ID, nullStr(m.Author.UserID), m.AppID, id, m.ConversationID}}
}

// messageAttachmentID returns the attachment id of an image or file message's mediaUrl when it has
// the form of a media URL, "" otherwise.
func messageAttachmentID(m sunlamp.Message) string {
	if m.Content.Type != "image" && m.Content.Type != "file" {
		return ""
	}
	var c struct {
		MediaURL string `json:"mediaUrl"`
	}
	if json.Unmarshal(m.Content.Doc, &c) != nil {
		return ""
	}
	id, _ := sunlamp.AttachmentIDOfURL(c.MediaURL)
	return id
}

// ---- Removing the bytes of deleted attachments ----

// mediaJanitorEvery is how often the janitor looks for bytes to remove when nobody wakes it.
const mediaJanitorEvery = 5 * time.Second

// startMediaJanitor starts the background removal of deleted attachments' bytes, where the backend
// needs one (files).
func (s *Store) startMediaJanitor() {
	if !s.media.blobs.needsJanitor() {
		return
	}
	lastSweep := time.Time{}
	s.media.janitor = startJob(everyOrWoken(mediaJanitorEvery, func(ctx context.Context) {
		_, _ = s.PurgeMedia(ctx) // what fails stays in attachment_trash for the next round
		if time.Since(lastSweep) > orphanAge {
			lastSweep = time.Now()
			_, _ = s.SweepOrphanMedia(ctx)
		}
	}))
}

// stopMediaJanitor stops the janitor and waits for it; files left to remove stay in attachment_trash.
func (s *Store) stopMediaJanitor() { s.media.janitor.stop() }

// wakeMediaJanitor asks the janitor for a round now; code that deletes messages, conversations or
// users may call it after its transaction commits so that files go at once.
func (s *Store) wakeMediaJanitor() { s.media.janitor.wake() }

// PurgeMedia removes the bytes of deleted attachments that their rows did not take with them (files
// listed in attachment_trash) and returns how many it removed. The janitor calls it every few
// seconds; tests call it to see that no bytes remain.
func (s *Store) PurgeMedia(ctx context.Context) (int, error) {
	n, err := s.media.blobs.purge(ctx)
	if err != nil {
		return n, fmt.Errorf("purge media: %w", err)
	}
	return n, nil
}

// SweepOrphanMedia removes what a crash may leave among the files of attachments: temporary files of
// interrupted uploads, and files with no attachment row, once they are older than an hour. It
// returns how many files it removed.
func (s *Store) SweepOrphanMedia(ctx context.Context) (int, error) {
	n, err := s.media.blobs.sweep(ctx)
	if err != nil {
		return n, fmt.Errorf("sweep media: %w", err)
	}
	return n, nil
}
