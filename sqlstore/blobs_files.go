package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"os"
	"sync"
	"time"

	"github.com/sunlamp/sunlamp"
	"github.com/sunlamp/sunlamp/blobstore"
)

// filesBackend keeps the bytes of attachments as files in a media directory (by default next to the
// database file: sunlamp.db-media), through the blobstore package. A file is written to a temporary
// name, flushed, and renamed into place in the transaction that inserts its row; if that transaction
// fails the file is removed. A deleted row, however it goes (DeleteAttachment, or a cascade from its
// app, conversation, message or user), leaves its id in attachment_trash by a trigger; the media
// janitor removes the file and then the trash row, so that no bytes outlive their attachment. Every
// removal (the janitor's, a failed upload's, the sweep of orphans) overwrites the file with zeros and
// flushes them before unlinking it (blobstore's shred), so that a deleted user's uploads are not left
// intact in the file system's free blocks.
type filesBackend struct {
	s    *Store
	path string // the media directory

	once  sync.Once
	blobs *blobstore.Dir
	err   error
}

func newFilesBackend(s *Store) blobBackend {
	dir := s.media.dir
	if dir == "" {
		dir = s.path + "-media"
	}
	return &filesBackend{s: s, path: dir}
}

func (b *filesBackend) dir() string        { return b.path }
func (b *filesBackend) needsJanitor() bool { return true }

// blobDir opens the media directory on first use.
func (b *filesBackend) blobDir() (*blobstore.Dir, error) {
	b.once.Do(func() {
		b.blobs, b.err = blobstore.Open(b.path)
	})
	return b.blobs, b.err
}

func (b *filesBackend) create(ctx context.Context, a sunlamp.Attachment, content io.Reader, insert func(tx, sunlamp.Attachment) error) (sunlamp.Attachment, error) {
	d, err := b.blobDir()
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
	err = b.s.inTx(ctx, func(t tx) error {
		if err := insert(t, a); err != nil {
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
	b.s.wakeMediaJanitor()
	return a, err
}

func (b *filesBackend) open(_ context.Context, a sunlamp.Attachment) (io.ReadSeekCloser, error) {
	d, err := b.blobDir()
	if err != nil {
		return nil, err
	}
	f, err := d.Open(a.ID)
	if errors.Is(err, os.ErrNotExist) { // deleted since the row was read
		return nil, sunlamp.ErrAttachmentNotFound
	}
	return f, err
}

// purge removes the files listed in attachment_trash, then their trash rows.
func (b *filesBackend) purge(ctx context.Context) (int, error) {
	d, err := b.blobDir()
	if err != nil {
		return 0, err
	}
	removed := 0
	for {
		rows, err := b.s.query(ctx, "SELECT id FROM attachment_trash LIMIT 200")
		if err != nil {
			return removed, err
		}
		var ids []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return removed, err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return removed, err
		}
		if len(ids) == 0 {
			return removed, nil
		}
		for _, id := range ids {
			if err := d.Remove(id); err != nil {
				return removed, err
			}
		}
		err = b.s.inTx(ctx, func(t tx) error {
			for _, id := range ids {
				if _, err := t.exec(ctx, "DELETE FROM attachment_trash WHERE id = ?", id); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return removed, err
		}
		removed += len(ids)
	}
}

// orphanAge is how old a file must be before the janitor takes it for the leftover of a crash: a
// temporary file of an interrupted upload, or a file whose row was never committed.
const orphanAge = time.Hour

// sweep removes temporary files of interrupted uploads and files with no attachment row, once they
// are older than orphanAge.
func (b *filesBackend) sweep(ctx context.Context) (int, error) {
	d, err := b.blobDir()
	if err != nil {
		return 0, err
	}
	removed, err := d.RemoveStaleTemps(orphanAge)
	if err != nil {
		return removed, err
	}
	cutoff := time.Now().Add(-orphanAge)
	err = d.Walk(func(id string, mod time.Time) error {
		if mod.After(cutoff) {
			return nil
		}
		var one int
		err := b.s.queryRow(ctx, "SELECT 1 FROM attachments WHERE id = ?", id).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			if err := d.Remove(id); err != nil {
				return err
			}
			removed++
			return nil
		}
		return err
	})
	return removed, err
}
