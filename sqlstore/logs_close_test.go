package sqlstore

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"
)

// TestPostgresVacuumStopsAtClose: Close stops the vacuum job, even while it waits to run, and asks
// for none of its own; a request after Close starts nothing.
func TestPostgresVacuumStopsAtClose(t *testing.T) {
	s := openVacuumStore(t)
	v := newPostgresVacuum()
	v.delay = time.Hour // the job waits: Close must not wait for it
	ran := make(chan error, 1)
	v.vacuumed = func(_ time.Duration, err error) { ran <- err }
	v.scrub(context.Background(), s.write, nil)
	start := time.Now()
	if err := v.close(context.Background(), s.write); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("close took %v with a vacuum waiting", d)
	}
	v.scrub(context.Background(), s.write, nil)
	v.mu.Lock()
	running := v.running
	v.mu.Unlock()
	select {
	case err := <-ran:
		t.Errorf("a vacuum ran (%v) after close", err)
	default:
	}
	if running {
		t.Error("a request after close started the job")
	}
}

// TestSQLiteScrubberStopsAtClose: with a reader holding an old snapshot, an erasure's checkpoint
// leaves the log to the background retrier; Close stops it at once rather than leaving it to spin
// against a closed database.
func TestSQLiteScrubberStopsAtClose(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.db")
	s, err := Open(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.write.ExecContext(ctx, "CREATE TABLE scrub_probe (v TEXT)"); err != nil {
		t.Fatal(err)
	}
	reader, err := sql.Open(sqliteDriver, sqliteDSN(path, false))
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	tx, err := reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM scrub_probe").Scan(&n); err != nil { // the snapshot starts
		t.Fatal(err)
	}
	if _, err := s.write.ExecContext(ctx, "INSERT INTO scrub_probe VALUES ('x')"); err != nil {
		t.Fatal(err)
	}
	l := s.d.logs.(*sqliteLogScrubber)
	if err := l.scrub(ctx, s.write, nil); err != nil {
		t.Fatal(err)
	}
	l.mu.Lock()
	pending, done := l.pending, l.done
	l.mu.Unlock()
	if !pending {
		t.Fatal("no retrier with a reader in the way: the test proves nothing")
	}
	start := time.Now()
	if err := s.Close(); err != nil {
		t.Logf("close: %v (the last checkpoint met the reader)", err)
	}
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("the retrier still runs a second after Close")
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %v", d)
	}
	tx.Rollback()
}
