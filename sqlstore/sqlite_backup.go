package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/sunlamp/sunlamp/blobstore"
)

// BackupResult says what Backup copied.
type BackupResult struct {
	Path     string // the copy of the database
	Bytes    int64  // its size
	MediaDir string // the copy of the media directory ("" when the store had none)
	// Attachments is how many attachments' bytes were copied; Missing how many attachments of the
	// copy had no file any more (deleted while the backup ran: the restored server answers their
	// media URLs 404, as it would have a moment later).
	Attachments, Missing int
}

// ErrBackupNotSQLite is Backup's error for a DSN that does not name a SQLite database: a PostgreSQL
// database is backed up with PostgreSQL's tools (pg_dump, or base backups and WAL archiving).
var ErrBackupNotSQLite = errors.New("backup copies SQLite stores only: back up PostgreSQL with pg_dump or base backups")

// Backup makes a consistent copy of the SQLite store of dsn ("sqlite:PATH") at out while servers
// may be writing to it: VACUUM INTO writes one read snapshot of the database to a new, compact file
// (no free pages, so none of the erased or deleted content that the source's free pages might hold
// until reused; with secure_delete they hold zeros anyway). The copy is written to a temporary name
// next to out, created 0600 before SQLite writes to it, flushed to disk, checked (quick_check), and
// only then renamed to out, so that out either is a whole, checked copy or does not exist. out must
// not exist.
//
// The bytes of attachments live in the media directory (mediaDir, or PATH-media when ""): each
// attachment of the copy has its file copied to out + "-media", where `sunlamp serve --db
// sqlite:OUT` looks for it, the directory 0700 and its files 0600 as the server makes them.
//
// Temporary storage stays in memory (temp_store = MEMORY), as in the server, so that no temporary
// file holds personal data.
func Backup(ctx context.Context, dsn, out, mediaDir string) (BackupResult, error) {
	var res BackupResult
	scheme, _, _ := strings.Cut(dsn, ":")
	if scheme != "sqlite" {
		return res, ErrBackupNotSQLite
	}
	src, err := filepath.Abs(strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite:"), "//"))
	if err != nil {
		return res, fmt.Errorf("backup: %w", err)
	}
	if _, err := os.Stat(src); err != nil {
		return res, fmt.Errorf("backup: %w", err) // never create an empty database where one was expected
	}
	if out, err = filepath.Abs(out); err != nil {
		return res, fmt.Errorf("backup: %w", err)
	}
	if mediaDir == "" {
		mediaDir = src + "-media"
	}
	for _, p := range []string{out, out + "-wal", out + "-media"} {
		if _, err := os.Lstat(p); err == nil {
			return res, fmt.Errorf("backup: %s exists: choose a new name, a backup never overwrites", p)
		}
	}

	tmp, err := privateTempFile(out)
	if err != nil {
		return res, fmt.Errorf("backup: %w", err)
	}
	defer os.Remove(tmp) // after the rename, a no-op

	// mode=rw: the source must exist (never created here); the connection writes nothing to it.
	v := url.Values{}
	v.Set("mode", "rw")
	v.Set("_busy_timeout", fmt.Sprint(sqliteBusyTimeoutMS))
	v.Add("_pragma", "secure_delete(on)")
	v.Add("_pragma", "temp_store(MEMORY)")
	db, err := sql.Open(sqliteDriver, "file:"+sqliteURIPath(src)+"?"+v.Encode())
	if err != nil {
		return res, fmt.Errorf("backup: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", tmp); err != nil {
		return res, fmt.Errorf("backup: vacuum into %s: %w", tmp, err)
	}
	if err := db.Close(); err != nil {
		return res, fmt.Errorf("backup: %w", err)
	}
	if err := syncFile(tmp); err != nil { // VACUUM INTO does not sync what it wrote
		return res, fmt.Errorf("backup: %w", err)
	}

	// Check the copy, and list its attachments, before it takes its name.
	ids, err := checkBackup(ctx, tmp)
	if err != nil {
		return res, err
	}
	if len(ids) > 0 || dirExists(mediaDir) {
		res.MediaDir = out + "-media"
		res.Attachments, res.Missing, err = copyMedia(mediaDir, res.MediaDir, ids)
		if err != nil {
			return res, fmt.Errorf("backup: media: %w", err)
		}
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		return res, fmt.Errorf("backup: %w", err)
	}
	if err := os.Rename(tmp, out); err != nil {
		return res, fmt.Errorf("backup: %w", err)
	}
	syncDirectory(filepath.Dir(out))
	fi, err := os.Stat(out)
	if err != nil {
		return res, fmt.Errorf("backup: %w", err)
	}
	res.Path, res.Bytes = out, fi.Size()
	return res, nil
}

// privateTempFile creates an empty file, 0600 whatever the umask, next to out (so that the rename
// into place stays on one file system). VACUUM INTO writes into an empty file and keeps its mode.
func privateTempFile(out string) (string, error) {
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := out + ".tmp-" + hex.EncodeToString(b[:])
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	if err := f.Close(); err != nil {
		os.Remove(name)
		return "", err
	}
	if err := os.Chmod(name, 0o600); err != nil {
		os.Remove(name)
		return "", err
	}
	return name, nil
}

// checkBackup opens the copy read-only, runs quick_check, and returns the ids of its attachments.
func checkBackup(ctx context.Context, path string) ([]string, error) {
	db, err := sql.Open(sqliteDriver, "file:"+sqliteURIPath(path)+"?mode=ro&_pragma=temp_store(MEMORY)")
	if err != nil {
		return nil, fmt.Errorf("backup: check: %w", err)
	}
	defer db.Close()
	var check string
	if err := db.QueryRowContext(ctx, "PRAGMA quick_check").Scan(&check); err != nil {
		return nil, fmt.Errorf("backup: check: %w", err)
	}
	if check != "ok" {
		return nil, fmt.Errorf("backup: the copy fails SQLite's quick_check: %s", check)
	}
	rows, err := db.QueryContext(ctx, "SELECT id FROM attachments")
	if err != nil {
		return nil, fmt.Errorf("backup: check: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("backup: check: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// copyMedia copies the files of the attachments ids from the media directory src to dst, through
// blobstore (each file written to a temporary name, flushed, renamed). A file that is gone was
// deleted after the snapshot: it is counted as missing.
func copyMedia(src, dst string, ids []string) (copied, missing int, err error) {
	to, err := blobstore.Open(dst)
	if err != nil {
		return 0, 0, err
	}
	var from *blobstore.Dir // nil: no media directory, every file is missing
	if dirExists(src) {
		if from, err = blobstore.Open(src); err != nil {
			return 0, 0, err
		}
	}
	for _, id := range ids {
		if err := copyBlob(from, to, id); errors.Is(err, fs.ErrNotExist) {
			missing++
			continue
		} else if err != nil {
			return copied, missing, err
		}
		copied++
	}
	return copied, missing, nil
}

func copyBlob(from, to *blobstore.Dir, id string) error {
	if from == nil {
		return fs.ErrNotExist
	}
	f, err := from.Open(id)
	if err != nil {
		return err
	}
	defer f.Close()
	t, err := to.Create()
	if err != nil {
		return err
	}
	defer t.Abort()
	if _, err := t.ReadFrom(f); err != nil {
		return err
	}
	return t.Commit(id)
}

func dirExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

func syncFile(p string) error {
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncDirectory flushes a rename in dir to disk; best effort (not every system can sync a directory).
func syncDirectory(dir string) {
	if f, err := os.Open(dir); err == nil {
		_ = f.Sync()
		f.Close()
	}
}
