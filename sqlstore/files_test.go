//go:build unix

package sqlstore_test

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/sunlamp/sunlamp"
	"github.com/sunlamp/sunlamp/sqlstore"
)

// TestSQLiteFilesPrivate: the database file, its -wal and -shm are 0600 whatever the umask (they
// hold personal data), and a store opened on older 0644 files makes them 0600.
func TestSQLiteFilesPrivate(t *testing.T) {
	old := syscall.Umask(0) // the most permissive umask: nothing may depend on it
	defer syscall.Umask(old)
	path := filepath.Join(t.TempDir(), "sunlamp.db")
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateApp(ctx, sunlamp.App{AccountID: sunlamp.DefaultAccountID, DisplayName: "x"}); err != nil {
		t.Fatal(err)
	}
	checkModes := func(when string) {
		t.Helper()
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatalf("%s: %v", when, err)
			}
			if got := fi.Mode().Perm(); got != 0o600 {
				t.Errorf("%s: %s: got mode %o, want 600", when, filepath.Base(p), got)
			}
		}
	}
	checkModes("new store")
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	st, err = sqlstore.Open(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.CreateApp(ctx, sunlamp.App{AccountID: sunlamp.DefaultAccountID, DisplayName: "y"}); err != nil {
		t.Fatal(err)
	}
	checkModes("reopened 0644 store")
}
