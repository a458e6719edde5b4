package sqlstore

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sunlamp/sunlamp"
)

// TestSQLiteBackgroundCheckpoint: what a write commits reaches the database file within a few
// checkpoint periods, while the log is far below the writer's own checkpoint threshold: the
// background checkpointer copied it, not a writer's commit.
func TestSQLiteBackgroundCheckpoint(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.db")
	s, err := Open(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	app, err := s.CreateApp(ctx, sunlamp.App{DisplayName: "x"})
	if err != nil {
		t.Fatal(err)
	}
	marker := "checkpoint-marker-" + sunlamp.NewID()
	if _, err := s.CreateUser(ctx, sunlamp.User{AppID: app.ID, ExternalID: marker}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * sqliteCheckpointPeriod)
	for {
		db, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(db, []byte(marker)) {
			break
		}
		if time.Now().After(deadline) {
			wal, _ := os.Stat(path + "-wal")
			t.Fatalf("the user written %v ago is not in the database file (the log holds %d bytes, far below %d pages): no checkpoint copied it",
				20*sqliteCheckpointPeriod, wal.Size(), sqliteWriterCheckpointPages)
		}
		time.Sleep(sqliteCheckpointPeriod / 5)
	}
}
