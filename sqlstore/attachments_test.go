package sqlstore

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sunlamp/sunlamp"
	"github.com/sunlamp/sunlamp/blobstore"
)

// TestMediaJanitor shows that on SQLite the files of attachments deleted by a cascade (here DeleteApp,
// which knows nothing of attachments) go without anyone calling PurgeMedia, and that the sweep removes
// what a crash leaves: a file whose row was never committed.
func TestMediaJanitor(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	app, err := s.CreateApp(ctx, sunlamp.App{AccountID: sunlamp.DefaultAccountID, DisplayName: "x"})
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.CreateAttachment(ctx, sunlamp.Attachment{AppID: app.ID, Filename: "a.txt", MediaType: "text/plain"}, strings.NewReader("hello"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := blobstore.Open(s.MediaDir())
	if err != nil {
		t.Fatal(err)
	}
	exists := func(id string) bool {
		f, err := d.Open(id)
		if err == nil {
			f.Close()
		}
		return err == nil
	}
	if !exists(a.ID) {
		t.Fatal("no file for a new attachment")
	}

	// The janitor sweeps too (at its first round, and hourly): stopped here so that what the test's own
	// sweeps remove is all there is to count; started again for the cascade below.
	s.stopMediaJanitor()
	// A crash between the rename and the commit leaves a file with no row.
	orphan := sunlamp.NewAttachmentID()
	tmp, _ := d.Create()
	tmp.Write([]byte("orphan"))
	if err := tmp.Commit(orphan); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.SweepOrphanMedia(ctx); n != 0 || !exists(orphan) {
		t.Fatalf("the sweep removed %d files younger than an hour, want 0", n)
	}
	old := time.Now().Add(-2 * time.Hour)
	for _, id := range []string{orphan, a.ID} {
		os.Chtimes(filepath.Join(s.MediaDir(), strings.ToLower(id[len(id)-2:]), id), old, old)
	}
	if n, _ := s.SweepOrphanMedia(ctx); n != 1 || exists(orphan) || !exists(a.ID) {
		t.Fatalf("sweep: removed %d, orphan there %v, attachment there %v; want 1, false, true", n, exists(orphan), exists(a.ID))
	}

	s.startMediaJanitor()
	if err := s.DeleteApp(ctx, app.ID); err != nil {
		t.Fatal(err)
	}
	s.wakeMediaJanitor()
	trash := func() int {
		var n int
		if err := s.queryRow(ctx, "SELECT count(*) FROM attachment_trash").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// The janitor removes the file, then its trash row.
	deadline := time.Now().Add(10 * time.Second)
	for exists(a.ID) || trash() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("file there %v, %d trash rows, 10s after its app was deleted; want neither", exists(a.ID), trash())
		}
		time.Sleep(5 * time.Millisecond)
	}
}
