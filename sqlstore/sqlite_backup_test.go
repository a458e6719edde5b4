package sqlstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sunlamp/sunlamp"
	"github.com/sunlamp/sunlamp/sqlstore"
)

// TestBackup copies a store while writers commit to it: the copy is 0600, opens as a store, holds
// everything committed before the backup began and the attachments' bytes, and none of the values
// erased before it (VACUUM INTO leaves no free pages behind).
func TestBackup(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "s.db")
	st, err := sqlstore.Open(ctx, "sqlite:"+src)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	app := mustApp(t, st)
	const erased = "ErasedGivenName-7f3a"
	u, err := st.CreateUser(ctx, sunlamp.User{AppID: app, ExternalID: "to-erase", Profile: sunlamp.Profile{GivenName: erased}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.DeleteUserPersonalInformation(ctx, app, u.ID); err != nil {
		t.Fatal(err)
	}
	att, err := st.CreateAttachment(ctx, sunlamp.Attachment{AppID: app, Filename: "a.txt", MediaType: "text/plain"}, strings.NewReader("attachment bytes"))
	if err != nil {
		t.Fatal(err)
	}
	var before []string
	for i := 0; i < 50; i++ {
		u, err := st.CreateUser(ctx, sunlamp.User{AppID: app, ExternalID: fmt.Sprintf("before-%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		before = append(before, u.ID)
	}

	var wg sync.WaitGroup
	var stop atomic.Bool
	var written atomic.Int64
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				if _, err := st.CreateUser(ctx, sunlamp.User{AppID: app, ExternalID: fmt.Sprintf("during-%d-%d", w, i)}); err != nil {
					t.Error(err)
					return
				}
				written.Add(1)
			}
		}()
	}
	for written.Load() < 50 {
		runtime.Gosched()
	}
	out := filepath.Join(dir, "backups", "copy.db")
	if err := os.Mkdir(filepath.Dir(out), 0o700); err != nil {
		t.Fatal(err)
	}
	res, err := sqlstore.Backup(ctx, "sqlite:"+src, out, "")
	stop.Store(true)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if res.Path != out || res.Attachments != 1 || res.Missing != 0 || res.MediaDir != out+"-media" {
		t.Errorf("got %+v, want the copy at %s with 1 attachment in %s-media", res, out, out)
	}
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("got mode %v, want 0600", fi.Mode().Perm())
	}
	if fi, err := os.Stat(out + "-media"); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("got media folder %v (%v), want 0700", fi, err)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(erased)) {
		t.Errorf("the backup holds a value erased before it was taken")
	}

	cp, err := sqlstore.Open(ctx, "sqlite:"+out)
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Close()
	for _, id := range before {
		if _, err := cp.User(ctx, app, id); err != nil {
			t.Errorf("the copy lacks user %s: %v", id, err)
		}
	}
	_, r, err := cp.OpenAttachment(ctx, att.ID)
	if err != nil {
		t.Fatalf("the copy's attachment: %v", err)
	}
	b, _ := io.ReadAll(r)
	r.Close()
	if string(b) != "attachment bytes" {
		t.Errorf("got attachment %q from the copy, want its bytes", b)
	}

	// Never over an existing file, and never from a database that does not exist.
	if _, err := sqlstore.Backup(ctx, "sqlite:"+src, out, ""); err == nil {
		t.Errorf("got no error backing up over an existing copy")
	}
	if _, err := sqlstore.Backup(ctx, "sqlite:"+filepath.Join(dir, "none.db"), filepath.Join(dir, "x.db"), ""); err == nil {
		t.Errorf("got no error backing up a database that does not exist")
	}
	if _, err := os.Stat(filepath.Join(dir, "none.db")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the backup of a missing database created it: %v", err)
	}
}
