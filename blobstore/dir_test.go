package blobstore

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDir(t *testing.T) {
	d, err := Open(filepath.Join(t.TempDir(), "media"))
	if err != nil {
		t.Fatal(err)
	}
	temps := func() int {
		entries, _ := os.ReadDir(filepath.Join(d.Path(), "tmp"))
		return len(entries)
	}

	// A committed blob reads back; its temporary file is gone.
	tmp, err := d.Create()
	if err != nil {
		t.Fatal(err)
	}
	if n, err := io.Copy(tmp, strings.NewReader("hello")); err != nil || n != 5 {
		t.Fatalf("copy: got %d, %v", n, err)
	}
	if err := tmp.Commit("01ABCDEFGHJKMNPQRSTVWXYZ00"); err != nil {
		t.Fatal(err)
	}
	tmp.Abort() // after Commit: nothing happens
	f, err := d.Open("01ABCDEFGHJKMNPQRSTVWXYZ00")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(f)
	f.Close()
	if string(b) != "hello" || temps() != 0 {
		t.Errorf("got %q and %d temporary files, want hello and none", b, temps())
	}

	// An aborted blob leaves nothing.
	tmp, _ = d.Create()
	tmp.Write([]byte("partial"))
	if temps() != 1 {
		t.Fatalf("got %d temporary files while writing, want 1", temps())
	}
	tmp.Abort()
	if temps() != 0 {
		t.Errorf("got %d temporary files after Abort, want 0", temps())
	}

	// Names cannot leave the directory.
	tmp, _ = d.Create()
	if err := tmp.Commit("../../etc/x"); err == nil {
		t.Error("Commit accepted a path as a name")
	}
	if temps() != 0 {
		t.Errorf("a refused Commit left %d temporary files", temps())
	}
	if _, err := d.Open("../tmp"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open of a path: got %v, want not exist", err)
	}

	var ids []string
	d.Walk(func(id string, _ time.Time) error { ids = append(ids, id); return nil })
	if len(ids) != 1 || ids[0] != "01ABCDEFGHJKMNPQRSTVWXYZ00" {
		t.Errorf("Walk: got %v", ids)
	}
	if err := d.Remove("01ABCDEFGHJKMNPQRSTVWXYZ00"); err != nil {
		t.Fatal(err)
	}
	if err := d.Remove("01ABCDEFGHJKMNPQRSTVWXYZ00"); err != nil {
		t.Errorf("removing a missing blob: %v, want nil", err)
	}
	if _, err := d.Open("01ABCDEFGHJKMNPQRSTVWXYZ00"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open after Remove: got %v, want not exist", err)
	}

	// Temporary files of a crash are swept once old.
	os.WriteFile(filepath.Join(d.Path(), "tmp", "upload-crashed"), []byte("x"), 0o600)
	if n, _ := d.RemoveStaleTemps(time.Hour); n != 0 {
		t.Errorf("removed %d fresh temporary files, want 0", n)
	}
	old := time.Now().Add(-2 * time.Hour)
	os.Chtimes(filepath.Join(d.Path(), "tmp", "upload-crashed"), old, old)
	if n, _ := d.RemoveStaleTemps(time.Hour); n != 1 || temps() != 0 {
		t.Errorf("removed %d stale temporary files (%d left), want 1 (0 left)", n, temps())
	}
}

// TestRemoveOverwrites shows that a removed blob's bytes are overwritten on disk before it is
// unlinked: a file descriptor opened before the removal (the same inode, so the same blocks) reads
// zeros over the whole length afterwards. The same holds for an aborted upload and a stale temporary
// file.
func TestRemoveOverwrites(t *testing.T) {
	d, err := Open(filepath.Join(t.TempDir(), "media"))
	if err != nil {
		t.Fatal(err)
	}
	content := strings.Repeat("secret upload bytes ", 10_000) // several blocks of zeros
	mustBeZeros := func(t *testing.T, f *os.File, what string) {
		t.Helper()
		b, err := io.ReadAll(io.NewSectionReader(f, 0, 1<<30))
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != len(content) {
			t.Errorf("%s: got %d bytes through the open file, want %d (overwritten, not truncated)", what, len(b), len(content))
		}
		if i := strings.IndexFunc(string(b), func(r rune) bool { return r != 0 }); i >= 0 {
			t.Errorf("%s: byte %d is %q after removal, want zeros over the whole file", what, i, b[i])
		}
	}

	tmp, _ := d.Create()
	tmp.Write([]byte(content))
	if err := tmp.Commit("blob-to-remove"); err != nil {
		t.Fatal(err)
	}
	// A download in flight (a Reader of Open) still reads the file after Remove; a descriptor of the
	// same file (standing for the disk blocks) reads zeros once the last Reader closes.
	f, err := d.Open("blob-to-remove")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.Open(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if err := d.Remove("blob-to-remove"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Open("blob-to-remove"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open after Remove: got %v, want not exist", err)
	}
	if b, err := io.ReadAll(f); err != nil || string(b) != content {
		t.Errorf("a reader open before Remove got %d bytes (%v), want the whole file unchanged", len(b), err)
	}
	f.Close()
	mustBeZeros(t, raw, "Remove, after the last reader closed")
	if entries, _ := os.ReadDir(filepath.Join(d.Path(), "tmp")); len(entries) != 0 {
		t.Errorf("the removed blob left %d files in tmp", len(entries))
	}

	// Without a reader, at once.
	tmp, _ = d.Create()
	tmp.Write([]byte(content))
	if err := tmp.Commit("blob-unread"); err != nil {
		t.Fatal(err)
	}
	raw2, err := os.Open(filepath.Join(d.Path(), "ad", "blob-unread"))
	if err != nil {
		t.Fatal(err)
	}
	defer raw2.Close()
	if err := d.Remove("blob-unread"); err != nil {
		t.Fatal(err)
	}
	mustBeZeros(t, raw2, "Remove")

	tmp, _ = d.Create()
	tmp.Write([]byte(content))
	if err := tmp.Flush(); err != nil {
		t.Fatal(err)
	}
	f2, err := os.Open(tmp.f.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer f2.Close()
	tmp.Abort()
	mustBeZeros(t, f2, "Abort")

	stale := filepath.Join(d.Path(), "tmp", "upload-crashed")
	os.WriteFile(stale, []byte(content), 0o600)
	old := time.Now().Add(-2 * time.Hour)
	os.Chtimes(stale, old, old)
	f3, err := os.Open(stale)
	if err != nil {
		t.Fatal(err)
	}
	defer f3.Close()
	if n, _ := d.RemoveStaleTemps(time.Hour); n != 1 {
		t.Errorf("removed %d stale temporary files, want 1", n)
	}
	mustBeZeros(t, f3, "RemoveStaleTemps")
}
