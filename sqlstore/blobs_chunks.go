package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/sunlamp/sunlamp"
)

// chunksBackend keeps the bytes of attachments in the database, in 1 MiB chunks (attachment_chunks).
// Several server processes share one PostgreSQL database, usually on different machines: keeping
// the bytes in the database lets every one of them serve every attachment with nothing else to set
// up (no shared file system), an upload is one transaction (all or nothing), and the bytes go in the
// same transaction as their row, cascades included. The cost is database size and throughput,
// measured by BenchmarkAttachments in the api package.
//
// An upload is first streamed to a temporary file (never held in memory whole), so that a slow
// client does not hold a connection and a transaction open while it sends.
type chunksBackend struct{ s *Store }

// chunkSize is the size of an attachment chunk.
const chunkSize = 1 << 20

func newChunksBackend(s *Store) blobBackend { return chunksBackend{s} }

func (chunksBackend) dir() string                        { return "" }
func (chunksBackend) needsJanitor() bool                 { return false }
func (chunksBackend) purge(context.Context) (int, error) { return 0, nil } // the bytes went with their rows
func (chunksBackend) sweep(context.Context) (int, error) { return 0, nil }

func (b chunksBackend) open(_ context.Context, a sunlamp.Attachment) (io.ReadSeekCloser, error) {
	return &chunkReader{s: b.s, id: a.ID, size: a.Size, seq: -1}, nil
}

func (b chunksBackend) create(ctx context.Context, a sunlamp.Attachment, content io.Reader, insert func(tx, sunlamp.Attachment) error) (sunlamp.Attachment, error) {
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
	err = b.s.inTx(ctx, func(t tx) error {
		if err := insert(t, a); err != nil {
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
