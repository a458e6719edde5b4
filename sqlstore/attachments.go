package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/sunlamp/sunlamp"
	"github.com/sunlamp/sunlamp/blobstore"
)

// Where the bytes of attachments live:
//
//   - SQLite: files in a media directory (by default next to the database file: sunlamp.db-media),
//     through the blobstore package. A file is written to a temporary name, flushed, and renamed into
//     place in the transaction that inserts its row; if that transaction fails the file is removed.
//     A deleted row, however it goes (DeleteAttachment, or a cascade from its app, conversation,
//     message or user), leaves its id in attachment_trash by a trigger; the media janitor removes the
//     file and then the trash row, so that no bytes outlive their attachment.
//   - PostgreSQL: 1 MiB chunks in attachment_chunks. Several server processes share one PostgreSQL
//     database, usually on different machines: keeping the bytes in the database lets every one of
//     them serve every attachment with nothing else to set up (no shared file system), an upload is
//     one transaction (all or nothing), and the bytes go in the same transaction as their row,
//     cascades included. The cost is database size and throughput, measured by
//     BenchmarkAttachments in the api package.
//
// Either way an upload is first streamed to a temporary file (never held in memory whole): on
// PostgreSQL so that a slow client does not hold a connection and a transaction open while it sends.

// chunkSize is the size of an attachment chunk on PostgreSQL.
const chunkSize = 1 << 20

// mediaState is the Store's attachment storage and its janitor.
type mediaState struct {
	dir   string // SQLite: the media directory; "" means next to the database file
	once  sync.Once
	blobs *blobstore.Dir
	err   error

	wake chan struct{}
	stop chan struct{}
	done chan struct{}
	halt sync.Once
}

// WithMediaDir keeps the files of attachments in dir instead of next to the SQLite database file. It
// has no effect on PostgreSQL, which keeps them in the database.
func WithMediaDir(dir string) Option { return func(s *Store) { s.media.dir = dir } }

// MediaDir returns the directory of attachment files on SQLite, "" on PostgreSQL.
func (s *Store) MediaDir() string {
	if s.dialect != SQLite {
		return ""
	}
	if s.media.dir != "" {
		return s.media.dir
	}
	return s.path + "-media"
}

// blobDir opens the media directory on first use.
func (s *Store) blobDir() (*blobstore.Dir, error) {
	s.media.once.Do(func() {
		s.media.blobs, s.media.err = blobstore.Open(s.MediaDir())
	})
	return s.media.blobs, s.media.err
}

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
	var err error
	if s.dialect == Postgres {
		a, err = s.createAttachmentChunks(ctx, a, content)
	} else {
		a, err = s.createAttachmentFile(ctx, a, content)
	}
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

func (s *Store) createAttachmentFile(ctx context.Context, a sunlamp.Attachment, content io.Reader) (sunlamp.Attachment, error) {
	d, err := s.blobDir()
	if err != nil {
		return a, err
	}
	tmp, err := d.Create()
	if err != nil {
		return a, err
	}
	defer tmp.Abort()
	src := &sourceReader{r: content}
	n, err := io.Copy(tmp, src)
	if err != nil {
		if src.err != nil { // the upload failed, not the disk
			return a, readError{src.err}
		}
		return a, err
	}
	a.Size = n
	if err := tmp.Flush(); err != nil { // outside the write lock: it is the slow part
		return a, err
	}
	renamed := false
	err = s.inTx(ctx, func(t tx) error {
		if err := t.insertAttachment(ctx, a); err != nil {
			return err
		}
		if err := tmp.Commit(a.ID); err != nil {
			return err
		}
		renamed = true
		return nil
	})
	if err != nil && renamed {
		_ = d.Remove(a.ID)
	}
	s.wakeMediaJanitor()
	return a, err
}

func (s *Store) createAttachmentChunks(ctx context.Context, a sunlamp.Attachment, content io.Reader) (sunlamp.Attachment, error) {
	f, err := os.CreateTemp("", "sunlamp-upload-*")
	if err != nil {
		return a, err
	}
	defer func() {
		f.Close()
		os.Remove(f.Name())
	}()
	src := &sourceReader{r: content}
	n, err := io.Copy(f, src)
	if err != nil {
		if src.err != nil { // the upload failed, not the disk
			return a, readError{src.err}
		}
		return a, err
	}
	a.Size = n
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return a, err
	}
	buf := make([]byte, chunkSize)
	err = s.inTx(ctx, func(t tx) error {
		if err := t.insertAttachment(ctx, a); err != nil {
			return err
		}
		for seq := 0; ; seq++ {
			n, err := io.ReadFull(f, buf)
			if n > 0 {
				if _, err := t.exec(ctx, "INSERT INTO attachment_chunks (attachment_id, seq, data) VALUES (?, ?, ?)", a.ID, seq, buf[:n]); err != nil {
					return err
				}
			}
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return nil
			}
			if err != nil {
				return err
			}
		}
	})
	return a, err
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
	if s.dialect == Postgres {
		return a, &chunkReader{s: s, id: a.ID, size: a.Size, seq: -1}, nil
	}
	d, err := s.blobDir()
	if err != nil {
		return a, nil, fmt.Errorf("open attachment: %w", err)
	}
	f, err := d.Open(a.ID)
	if errors.Is(err, os.ErrNotExist) { // deleted since the row was read
		return a, nil, sunlamp.ErrAttachmentNotFound
	}
	if err != nil {
		return a, nil, fmt.Errorf("open attachment: %w", err)
	}
	return a, f, nil
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

// ---- Lifecycle helpers for messages, conversations and users ----

// fillMessageMedia is called by the code that inserts messages (insertMessage, insertMessages), in
// the message's transaction, before m's row is inserted: an image or file message whose mediaUrl is
// one of its app's attachments gets the attachment's mediaType and mediaSize (response-only fields
// of the spec). Any other message is left as it is.
func (t tx) fillMessageMedia(ctx context.Context, m *sunlamp.Message) error {
	id := messageAttachmentID(*m)
	if id == "" {
		return nil
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(m.Content.Doc, &doc); err != nil || doc == nil {
		return nil
	}
	if _, has := doc["mediaSize"]; has {
		return nil // filled already (a retried transaction)
	}
	a, err := scanAttachment(t.queryRow(ctx, "SELECT "+attachmentColumns+" FROM attachments WHERE app_id = ? AND id = ?", m.AppID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil // a deleted attachment, or a look-alike URL: the message keeps its URL as given
	}
	if err != nil {
		return fmt.Errorf("find message attachment: %w", err)
	}
	// Append the two fields so that the content keeps its key order.
	extra, err := json.Marshal(struct {
		MediaType string `json:"mediaType"`
		MediaSize int64  `json:"mediaSize"`
	}{a.MediaType, a.Size})
	if err != nil {
		return err
	}
	body := bytes.TrimSpace(m.Content.Doc)
	body = body[:len(body)-1] // the object's closing brace (Unmarshal proved it is an object)
	if _, has := doc["mediaType"]; has {
		doc["mediaType"], _ = json.Marshal(a.MediaType)
		doc["mediaSize"], _ = json.Marshal(a.Size)
		m.Content.Doc, err = json.Marshal(doc)
		return err
	}
	sep := ","
	if len(doc) == 0 {
		sep = ""
	}
	m.Content.Doc = append(append(append([]byte{}, body...), sep...), extra[1:]...)
	return nil
}

// claimMessageMedia is called after m's row is inserted, in the same transaction: a for=message
// attachment that m points at, not yet owned by a message, and uploaded for m's conversation or for
// none, now belongs to m, its conversation, and its author when the author is a user. The foreign keys
// then delete it with any of them. An attachment may be sent in several messages; only the first owns
// it.
func (t tx) claimMessageMedia(ctx context.Context, m sunlamp.Message) error {
	id := messageAttachmentID(m)
	if id == "" {
		return nil
	}
	_, err := t.exec(ctx, "UPDATE attachments SET conversation_id = ?, message_id = ?, user_id = ? WHERE app_id = ? AND id = ? AND for_message = 1 AND message_id IS NULL AND (conversation_id IS NULL OR conversation_id = ?)",
		m.ConversationID, m.ID, nullStr(m.Author.UserID), m.AppID, id, m.ConversationID)
	if err != nil {
		return fmt.Errorf("claim attachment: %w", err)
	}
	return nil
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

// ---- Reading chunks (PostgreSQL) ----

// chunkReader reads an attachment's chunks one at a time, so that serving a 50 MB file holds 1 MiB
// in memory; Seek lets http.ServeContent answer range requests.
type chunkReader struct {
	s    *Store
	id   string
	size int64
	pos  int64
	seq  int64 // the chunk in buf, -1 when none
	buf  []byte
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if r.pos >= r.size {
		return 0, io.EOF
	}
	seq := r.pos / chunkSize
	if r.seq != seq {
		if err := r.load(seq); err != nil {
			return 0, err
		}
	}
	off := r.pos - seq*chunkSize
	if off >= int64(len(r.buf)) {
		return 0, io.ErrUnexpectedEOF
	}
	n := copy(p, r.buf[off:])
	r.pos += int64(n)
	return n, nil
}

// load reads chunk seq into buf, reusing its memory.
func (r *chunkReader) load(seq int64) error {
	rows, err := r.s.read.QueryContext(context.Background(), r.s.q("SELECT data FROM attachment_chunks WHERE attachment_id = ? AND seq = ?"), r.id, seq)
	if err != nil {
		return fmt.Errorf("read attachment: %w", err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read attachment: %w", err)
		}
		return fmt.Errorf("read attachment: chunk %d is gone (deleted meanwhile)", seq)
	}
	var data sql.RawBytes
	if err := rows.Scan(&data); err != nil {
		return fmt.Errorf("read attachment: %w", err)
	}
	r.buf = append(r.buf[:0], data...)
	r.seq = seq
	return rows.Close()
}

func (r *chunkReader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.pos
	case io.SeekEnd:
		offset += r.size
	default:
		return 0, errors.New("seek attachment: bad whence")
	}
	if offset < 0 {
		return 0, errors.New("seek attachment: negative position")
	}
	r.pos = offset
	return offset, nil
}

func (r *chunkReader) Close() error {
	r.buf, r.seq = nil, -1
	return nil
}

// ---- Removing the files of deleted attachments (SQLite) ----

// mediaJanitorEvery is how often the janitor looks for files to remove when nobody wakes it.
const mediaJanitorEvery = 5 * time.Second

// orphanAge is how old a file must be before the janitor takes it for the leftover of a crash: a
// temporary file of an interrupted upload, or a file whose row was never committed.
const orphanAge = time.Hour

// startMediaJanitor starts the background removal of deleted attachments' files (SQLite only).
func (s *Store) startMediaJanitor() {
	if s.dialect != SQLite {
		return
	}
	s.media.wake = make(chan struct{}, 1)
	s.media.stop = make(chan struct{})
	s.media.done = make(chan struct{})
	go s.runMediaJanitor()
}

// stopMediaJanitor stops the janitor and waits for it; files left to remove stay in attachment_trash.
func (s *Store) stopMediaJanitor() {
	if s.media.stop == nil {
		return
	}
	s.media.halt.Do(func() { close(s.media.stop) })
	<-s.media.done
}

// wakeMediaJanitor asks the janitor for a round now; code that deletes messages, conversations or
// users may call it after its transaction commits so that files go at once.
func (s *Store) wakeMediaJanitor() {
	if s.media.wake == nil {
		return
	}
	select {
	case s.media.wake <- struct{}{}:
	default:
	}
}

func (s *Store) runMediaJanitor() {
	defer close(s.media.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-s.media.stop
		cancel()
	}()
	tick := time.NewTicker(mediaJanitorEvery)
	defer tick.Stop()
	lastSweep := time.Time{}
	for {
		select {
		case <-s.media.stop:
			return
		case <-s.media.wake:
		case <-tick.C:
		}
		_, _ = s.PurgeMedia(ctx) // what fails stays in attachment_trash for the next round
		if time.Since(lastSweep) > orphanAge {
			lastSweep = time.Now()
			_, _ = s.SweepOrphanMedia(ctx)
		}
	}
}

// PurgeMedia removes the files of deleted attachments (those listed in attachment_trash) and returns
// how many it removed. It does nothing on PostgreSQL, where the bytes go with their rows. The janitor
// calls it every few seconds; tests call it to see that no bytes remain.
func (s *Store) PurgeMedia(ctx context.Context) (int, error) {
	if s.dialect != SQLite {
		return 0, nil
	}
	d, err := s.blobDir()
	if err != nil {
		return 0, fmt.Errorf("purge media: %w", err)
	}
	removed := 0
	for {
		rows, err := s.query(ctx, "SELECT id FROM attachment_trash LIMIT 200")
		if err != nil {
			return removed, fmt.Errorf("purge media: %w", err)
		}
		var ids []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return removed, fmt.Errorf("purge media: %w", err)
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return removed, fmt.Errorf("purge media: %w", err)
		}
		if len(ids) == 0 {
			return removed, nil
		}
		for _, id := range ids {
			if err := d.Remove(id); err != nil {
				return removed, fmt.Errorf("purge media: %w", err)
			}
		}
		err = s.inTx(ctx, func(t tx) error {
			for _, id := range ids {
				if _, err := t.exec(ctx, "DELETE FROM attachment_trash WHERE id = ?", id); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return removed, fmt.Errorf("purge media: %w", err)
		}
		removed += len(ids)
	}
}

// SweepOrphanMedia removes what a crash may leave in the media directory (SQLite): temporary files of
// interrupted uploads, and files with no attachment row, once they are older than an hour. It returns
// how many files it removed.
func (s *Store) SweepOrphanMedia(ctx context.Context) (int, error) {
	if s.dialect != SQLite {
		return 0, nil
	}
	d, err := s.blobDir()
	if err != nil {
		return 0, fmt.Errorf("sweep media: %w", err)
	}
	removed, err := d.RemoveStaleTemps(orphanAge)
	if err != nil {
		return removed, fmt.Errorf("sweep media: %w", err)
	}
	cutoff := time.Now().Add(-orphanAge)
	err = d.Walk(func(id string, mod time.Time) error {
		if mod.After(cutoff) {
			return nil
		}
		var one int
		err := s.queryRow(ctx, "SELECT 1 FROM attachments WHERE id = ?", id).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			if err := d.Remove(id); err != nil {
				return err
			}
			removed++
			return nil
		}
		return err
	})
	if err != nil {
		return removed, fmt.Errorf("sweep media: %w", err)
	}
	return removed, nil
}
