package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sunlamp/sunlamp/client"
	"github.com/sunlamp/sunlamp/sqlstore"
)

// TestBackupWhileServing backs up the store of a running server while clients write to it: the copy
// is a private file that opens as a store and holds everything written before the backup began.
func TestBackupWhileServing(t *testing.T) {
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "s.db")
	env := map[string]string{"SUNLAMP_ACCOUNT_KEY_ID": testKeyID, "SUNLAMP_ACCOUNT_KEY_SECRET": testKeySecret}
	url, _, stop := startRun(t, env, "--db", db)
	c, err := client.New(url, client.Basic(testKeyID, testKeySecret))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	app, err := c.CreateApp(ctx, client.AppCreate{DisplayName: "Backup"})
	if err != nil {
		t.Fatal(err)
	}
	var before []string
	for i := 0; i < 20; i++ {
		u, err := c.CreateUser(ctx, app.ID, client.UserCreate{ExternalID: fmt.Sprintf("before-%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		before = append(before, u.ID)
	}
	// Writers keep going while the backup runs.
	var wg sync.WaitGroup
	var stopWriting atomic.Bool
	var written atomic.Int64
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stopWriting.Load(); i++ {
				if _, err := c.CreateUser(ctx, app.ID, client.UserCreate{ExternalID: fmt.Sprintf("during-%d-%d", w, i)}); err != nil {
					t.Error(err)
					return
				}
				written.Add(1)
			}
		}()
	}
	for written.Load() < 20 {
		time.Sleep(time.Millisecond)
	}
	out := filepath.Join(dir, "backup.db")
	var stdout, stderr bytes.Buffer
	err = run(ctx, []string{"backup", "--db", db, "--out", out}, func(string) string { return "" }, strings.NewReader(""), &stdout, &stderr)
	stopWriting.Store(true)
	wg.Wait()
	if err != nil {
		t.Fatalf("backup: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "backed up to "+out) {
		t.Errorf("got output %q, want it to name %s", stdout.String(), out)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("got backup mode %v, want 0600", fi.Mode().Perm())
	}
	if leftovers, _ := filepath.Glob(out + ".tmp-*"); len(leftovers) > 0 {
		t.Errorf("got temporary files left behind: %v", leftovers)
	}
	// A second backup to the same name is refused.
	if err := run(ctx, []string{"backup", "--db", db, "--out", out}, func(string) string { return "" }, strings.NewReader(""), io.Discard, io.Discard); err == nil {
		t.Errorf("got no error backing up over an existing file")
	}
	// The copy opens as a store (no migration to run), and a server on it has every user of before.
	st, err := sqlstore.Open(ctx, "sqlite:"+out)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range before {
		if _, err := st.User(ctx, app.ID, id); err != nil {
			t.Errorf("the backup lacks user %s: %v", id, err)
		}
	}
	st.Close()
	raw, err := sql.Open("sqlite", "file:"+out+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var check string
	if err := raw.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Errorf("got integrity_check %q (%v), want ok", check, err)
	}
}

func TestBackupRefusesPostgres(t *testing.T) {
	var errOut bytes.Buffer
	err := run(context.Background(), []string{"backup", "--db", "postgres://x@127.0.0.1/db", "--out", filepath.Join(t.TempDir(), "b")},
		func(string) string { return "" }, strings.NewReader(""), io.Discard, &errOut)
	if err == nil || !strings.Contains(err.Error(), "pg_dump") {
		t.Errorf("got %v, want an error pointing to pg_dump", err)
	}
}
