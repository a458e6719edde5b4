package sqlstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"
)

// openVacuumStore opens a store on a PostgreSQL schema of its own (SUNLAMP_TEST_POSTGRES_URL; the
// test skips without it), dropped when tb ends. (The internal tests cannot use apitest, which
// imports this package.)
func openVacuumStore(tb testing.TB) *Store {
	tb.Helper()
	base := os.Getenv("SUNLAMP_TEST_POSTGRES_URL")
	if base == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatal("SUNLAMP_TEST_POSTGRES_URL is not set: the PostgreSQL tests must run in CI")
		}
		tb.Skip("SUNLAMP_TEST_POSTGRES_URL is not set: skipping a PostgreSQL-only test")
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { admin.Close() })
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "t_vacuum_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { admin.Exec("DROP SCHEMA " + schema + " CASCADE") })
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	s, err := Open(context.Background(), u.String())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// TestPostgresVacuumDebounced shows that a burst of requests makes one vacuum, after the delay,
// that a request while the job waits or runs makes one more, no sooner than every after the
// previous one started, and that the job ends when no request is left.
func TestPostgresVacuumDebounced(t *testing.T) {
	s := openVacuumStore(t)
	var mu sync.Mutex
	var starts []time.Time
	ran := make(chan error, 10)
	v := newPostgresVacuum()
	v.delay, v.every = 50*time.Millisecond, 400*time.Millisecond
	v.vacuumed = func(_ time.Duration, err error) {
		mu.Lock()
		starts = append(starts, v.last)
		mu.Unlock()
		ran <- err
	}
	t0 := time.Now()
	for range 5 {
		v.scrub(context.Background(), s.write, nil)
	}
	if err := <-ran; err != nil {
		t.Fatalf("vacuum: %v", err)
	}
	v.scrub(context.Background(), s.write, nil) // after the first started: one more
	v.scrub(context.Background(), s.write, nil)
	if err := <-ran; err != nil {
		t.Fatalf("vacuum: %v", err)
	}
	select {
	case <-ran:
		t.Fatal("a third vacuum ran for requests that two covered")
	case <-time.After(600 * time.Millisecond):
	}
	mu.Lock()
	defer mu.Unlock()
	if len(starts) != 2 || starts[0].Sub(t0) < v.delay || starts[1].Sub(starts[0]) < v.every {
		t.Errorf("vacuums started at %v after the first request, want two: after %v, then %v later", starts, v.delay, v.every)
	}
	v.mu.Lock()
	running := v.running
	v.mu.Unlock()
	if running {
		t.Error("the vacuum job is still running with no request left")
	}
}

// BenchmarkPostgresVacuum measures the store's vacuum of the personal tables after one erasure (the
// VACUUM, then the rewrite of the tables under postgresVacuumFullMax), on a database of 10,000
// users, each with a client, a device, a personal conversation with 10 messages, and 10 outbox
// events.
//
//	SUNLAMP_TEST_POSTGRES_URL=... go test ./sqlstore -run '^$' -bench PostgresVacuum -benchtime 10x
func BenchmarkPostgresVacuum(b *testing.B) {
	s := openVacuumStore(b)
	s.d.logs = nil // the benchmark runs the vacuum itself, not the store's job beside it
	ctx := context.Background()
	const users = 10_000
	seed := []string{
		`INSERT INTO apps (id, account_id, display_name, created_at) VALUES ('app_vacuum', 'acct', 'Vacuum', 0)`,
		`INSERT INTO users (id, app_id, external_id, signed_up_at, given_name, surname, email, metadata)
			SELECT 'u' || i, 'app_vacuum', 'ext' || i, 0, 'Given' || i, 'Surname' || i, 'mail' || i || '@example.org', '{"k":"v' || i || '"}'
			FROM generate_series(1, $1) i`,
		`INSERT INTO clients (id, app_id, user_id, type, status, display_name, info, raw)
			SELECT 'c' || i, 'app_vacuum', 'u' || i, 'whatsapp', 'active', 'Name' || i, '{"city":"C' || i || '"}', '{"From":"' || i || '"}'
			FROM generate_series(1, $1) i`,
		`INSERT INTO devices (id, app_id, user_id, client_id, type, guid, status, last_seen, info)
			SELECT 'd' || i, 'app_vacuum', 'u' || i, 'c' || i, 'web', 'g' || i, 'active', 0, '{"ua":"' || i || '"}'
			FROM generate_series(1, $1) i`,
		`INSERT INTO conversations (id, app_id, type, default_user_id, last_updated_at, created_at)
			SELECT 'v' || i, 'app_vacuum', 'personal', 'u' || i, 0, 0 FROM generate_series(1, $1) i`,
		`INSERT INTO participants (id, app_id, conversation_id, user_id, created_at)
			SELECT 'p' || i, 'app_vacuum', 'v' || i, 'u' || i, 0 FROM generate_series(1, $1) i`,
		`INSERT INTO messages (conversation_id, id, app_id, received, author_type, author_user_id, content_type, content, source_type)
			SELECT 'v' || i, 'm' || i || '-' || j, 'app_vacuum', 0, 'user', 'u' || i, 'text', '{"text":"message ' || j || ' of ' || i || '"}', 'api'
			FROM generate_series(1, $1) i, generate_series(1, 10) j`,
		`INSERT INTO events (id, app_id, type, conversation_id, user_id, data, created_at)
			SELECT 'e' || i || '-' || j, 'app_vacuum', 'conversation:message', 'v' || i, 'u' || i, '{"version":1}', 0
			FROM generate_series(1, $1) i, generate_series(1, 10) j`,
		`ANALYZE`,
	}
	for _, q := range seed {
		var args []any
		if q != seed[0] && q != `ANALYZE` {
			args = []any{users}
		}
		if _, err := s.write.ExecContext(ctx, q, args...); err != nil {
			b.Fatalf("seed: %v", err)
		}
	}
	if _, err := s.write.ExecContext(ctx, vacuumSQL(personalTables, true)); err != nil { // the seed's own
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		if _, err := s.DeleteUserPersonalInformation(ctx, "app_vacuum", "ext"+strconv.Itoa(i+1)); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := vacuumPersonalTables(ctx, s.write, personalTables, true); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	// Whether the erased values are still in the users table's file (the tables of 10,000 users
	// are past postgresVacuumFullMax: the plain VACUUM alone). Reading it needs a superuser.
	if _, err := s.write.ExecContext(ctx, "CHECKPOINT"); err != nil {
		b.Logf("no scan of the table file: %v", err)
		return
	}
	var file []byte
	var size int64
	if err := s.write.QueryRowContext(ctx, "SELECT pg_read_binary_file(pg_relation_filepath('users')), pg_total_relation_size('users')").Scan(&file, &size); err != nil {
		b.Logf("no scan of the table file: %v", err)
		return
	}
	left := 0
	for i := range b.N {
		if bytes.Contains(file, []byte("mail"+strconv.Itoa(i+1)+"@example.org")) {
			left++
		}
	}
	b.Logf("users is %d kB with its indexes; after the vacuum, %d of %d erased emails are still in its file", size>>10, left, b.N)
}
