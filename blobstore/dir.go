// Package blobstore keeps the bytes of attachments as files in a directory: the storage of
// attachments when the database is SQLite (the sqlstore package keeps them in PostgreSQL itself when
// several server processes share a PostgreSQL database).
//
// A blob is personal data (a user's upload): removing one overwrites its content with zeros, flushes
// them to disk, and only then unlinks it, so that its bytes are not left in the file system's free
// blocks (shred). That holds on file systems that write in place (ext4, xfs); a copy-on-write file
// system (btrfs, ZFS) or an SSD's wear levelling may keep the old blocks anyway: see the README.
//
// A blob is written to a temporary file in the directory's tmp folder, flushed to disk, and only then
// renamed to its name, so that a blob either exists whole or not at all; a failed or interrupted write
// removes its temporary file. Blobs are spread over 1024 sub-folders by the last two characters of
// their id, so that no folder grows too large.
package blobstore

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Dir is a directory of blobs.
type Dir struct {
	path string

	mu      sync.Mutex
	readers map[string]int    // the blobs open through Open, by id, and how many times
	doomed  map[string]string // removed blobs still open: where each was moved, shredded at the last Close
}

// Open returns the blob directory at path, creating it (readable by the owner only) if needed.
func Open(path string) (*Dir, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open blob directory: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(abs, "tmp"), 0o700); err != nil {
		return nil, fmt.Errorf("open blob directory: %w", err)
	}
	return &Dir{path: abs, readers: map[string]int{}, doomed: map[string]string{}}, nil
}

// Path returns the directory's absolute path.
func (d *Dir) Path() string { return d.path }

// validName keeps ids from naming anything outside the directory.
func validName(id string) bool {
	if len(id) < 3 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func (d *Dir) file(id string) string {
	return filepath.Join(d.path, strings.ToLower(id[len(id)-2:]), id)
}

// Temp is a blob being written. Write to it, then Commit or Abort it; Abort after Commit does nothing,
// so `defer t.Abort()` cleans up every failure path.
type Temp struct {
	d       *Dir
	f       *os.File
	n       int64
	flushed bool
	done    bool
}

// Create starts writing a new blob.
func (d *Dir) Create() (*Temp, error) {
	f, err := os.CreateTemp(filepath.Join(d.path, "tmp"), "upload-*")
	if err != nil {
		return nil, fmt.Errorf("create blob: %w", err)
	}
	return &Temp{d: d, f: f}, nil
}

// Write appends p to the blob.
func (t *Temp) Write(p []byte) (int, error) {
	n, err := t.f.Write(p)
	t.n += int64(n)
	return n, err
}

// ReadFrom appends everything r gives until EOF, and returns the number of bytes read.
func (t *Temp) ReadFrom(r io.Reader) (int64, error) {
	buf := make([]byte, 256<<10)
	var total int64
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if _, werr := t.Write(buf[:n]); werr != nil {
				return total, werr
			}
			total += int64(n)
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// Size returns the number of bytes written so far.
func (t *Temp) Size() int64 { return t.n }

// Flush writes the blob's bytes to disk and closes it; Commit calls it when it was not called. Call
// it before taking a lock that Commit runs under: it is the slow part.
func (t *Temp) Flush() error {
	if t.flushed {
		return nil
	}
	t.flushed = true
	err := t.f.Sync()
	if cerr := t.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("flush blob: %w", err)
	}
	return nil
}

// Commit flushes the blob to disk and gives it its name id, replacing any blob of that name.
func (t *Temp) Commit(id string) error {
	if t.done {
		return errors.New("commit blob: already committed or aborted")
	}
	if !validName(id) {
		t.Abort()
		return fmt.Errorf("commit blob: bad name %q", id)
	}
	err := t.Flush()
	if err == nil {
		err = os.MkdirAll(filepath.Dir(t.d.file(id)), 0o700)
	}
	if err == nil {
		err = os.Rename(t.f.Name(), t.d.file(id))
	}
	if err != nil {
		t.Abort()
		return fmt.Errorf("commit blob: %w", err)
	}
	t.done = true
	syncDir(filepath.Dir(t.d.file(id)))
	return nil
}

// Abort removes the blob being written, unless it was committed.
func (t *Temp) Abort() {
	if t.done {
		return
	}
	t.done = true
	if !t.flushed {
		t.f.Close()
	}
	_ = shred(t.f.Name()) // a partial upload is personal data too
}

// syncDir flushes a directory entry change (a rename, a removal) to disk; best effort.
func syncDir(path string) {
	if f, err := os.Open(path); err == nil {
		_ = f.Sync()
		f.Close()
	}
}

// Open opens the blob id for reading. It returns an error satisfying errors.Is(err, fs.ErrNotExist)
// when there is none. Close the Reader: a blob removed while it is open is overwritten only then.
func (d *Dir) Open(id string) (*Reader, error) {
	if !validName(id) {
		return nil, fs.ErrNotExist
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	f, err := os.Open(d.file(id))
	if err != nil {
		return nil, err
	}
	d.readers[id]++
	return &Reader{File: f, d: d, id: id}, nil
}

// Reader is an open blob.
type Reader struct {
	*os.File
	d    *Dir
	id   string
	once sync.Once
}

// Close closes the blob, and overwrites it if it was removed meanwhile and this was its last reader.
func (r *Reader) Close() error {
	err := r.File.Close()
	r.once.Do(func() { r.d.release(r.id) })
	return err
}

func (d *Dir) release(id string) {
	d.mu.Lock()
	d.readers[id]--
	if d.readers[id] > 0 {
		d.mu.Unlock()
		return
	}
	delete(d.readers, id)
	moved, removed := d.doomed[id]
	delete(d.doomed, id)
	d.mu.Unlock()
	if removed {
		_ = shred(moved) // if it fails, the stale-temporary sweep (RemoveStaleTemps) tries again
	}
}

// Remove deletes the blob id, its content overwritten with zeros on disk first (see shred); a blob
// that does not exist is not an error. The blob is gone for Open at once; while a Reader has it open
// (a download in flight), it is moved aside and overwritten when the last one closes, so that no
// reader is served zeros in place of the file.
func (d *Dir) Remove(id string) error {
	if !validName(id) {
		return nil
	}
	// Moved aside under the lock, so that no Open can take it between the decision and the shred.
	d.mu.Lock()
	if _, already := d.doomed[id]; already {
		d.mu.Unlock()
		return nil
	}
	moved := filepath.Join(d.path, "tmp", "removed-"+id)
	if err := os.Rename(d.file(id), moved); errors.Is(err, fs.ErrNotExist) {
		d.mu.Unlock()
		return nil
	} else if err != nil {
		d.mu.Unlock()
		return fmt.Errorf("remove blob: %w", err)
	}
	if d.readers[id] > 0 {
		d.doomed[id] = moved
		d.mu.Unlock()
		return nil
	}
	d.mu.Unlock()
	if err := shred(moved); err != nil {
		return fmt.Errorf("remove blob: %w", err)
	}
	return nil
}

// zeros is what shred writes, a block at a time.
var zeros = make([]byte, 64<<10)

// shred overwrites the file at path with zeros over its whole length, flushes that to disk, and
// removes it; a file that does not exist is not an error. The file is unlinked even when the
// overwrite fails (the error is returned), so that a removal never leaves it reachable.
//
// The zeros go over the same blocks (no truncation first, which would free them with their bytes,
// and no O_TRUNC), and the fsync makes them reach the disk before the unlink frees the blocks.
func shred(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	var werr error
	if err != nil {
		werr = err
	} else {
		werr = overwrite(f)
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return errors.Join(werr, err)
	}
	if werr != nil {
		return fmt.Errorf("overwrite: %w", werr)
	}
	return nil
}

// overwrite writes zeros over the whole length of f and flushes them to disk.
func overwrite(f *os.File) error {
	info, err := f.Stat()
	if err != nil {
		return err
	}
	for off, n := int64(0), info.Size(); off < n; {
		chunk := zeros[:min(int64(len(zeros)), n-off)]
		w, err := f.WriteAt(chunk, off)
		if err != nil {
			return err
		}
		off += int64(w)
	}
	return f.Sync()
}

// RemoveStaleTemps removes temporary files older than age: writes interrupted by a crash. It returns
// how many it removed.
func (d *Dir) RemoveStaleTemps(age time.Duration) (int, error) {
	entries, err := os.ReadDir(filepath.Join(d.path, "tmp"))
	if err != nil {
		return 0, err
	}
	n := 0
	cutoff := time.Now().Add(-age)
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || info.ModTime().After(cutoff) {
			continue
		}
		if shred(filepath.Join(d.path, "tmp", e.Name())) == nil {
			n++
		}
	}
	return n, nil
}

// Walk calls fn with the id and modification time of every blob, in no particular order, and stops at
// the first error fn returns.
func (d *Dir) Walk(fn func(id string, modTime time.Time) error) error {
	shards, err := os.ReadDir(d.path)
	if err != nil {
		return err
	}
	for _, s := range shards {
		if !s.IsDir() || s.Name() == "tmp" || len(s.Name()) != 2 {
			continue
		}
		entries, err := os.ReadDir(filepath.Join(d.path, s.Name()))
		if err != nil {
			return err
		}
		for _, e := range entries {
			info, err := e.Info()
			if err != nil {
				continue // removed meanwhile
			}
			if err := fn(e.Name(), info.ModTime()); err != nil {
				return err
			}
		}
	}
	return nil
}
