package sqlstore

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgreSQL carries the web messenger's live notices (live.go) on channel sunlamp_live.
func init() {
	liveChannels["postgres"] = liveChannel{listen: listenLive, send: sendLive}
}

// sendLive announces payloads with pg_notify, all in one statement.
func sendLive(ctx context.Context, s *Store, payloads []string) error {
	args := make([]any, len(payloads))
	for i, p := range payloads {
		args[i] = p
	}
	q := "SELECT pg_notify('sunlamp_live', p) FROM (VALUES " + strings.TrimSuffix(strings.Repeat("(?::text),", len(payloads)), ",") + ") AS t(p)"
	_, err := s.write.ExecContext(ctx, s.q(q), args...)
	return err
}

// listenLive holds a connection listening on channel sunlamp_live until ctx ends, reconnecting
// after a failure.
func listenLive(ctx context.Context, s *Store, notify func(string)) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		_ = func() error {
			conn, err := pgx.Connect(ctx, s.dsn)
			if err != nil {
				return err
			}
			defer conn.Close(context.WithoutCancel(ctx))
			if _, err := conn.Exec(ctx, "LISTEN sunlamp_live"); err != nil {
				return err
			}
			backoff = 100 * time.Millisecond
			for {
				nt, err := conn.WaitForNotification(ctx)
				if err != nil {
					return err
				}
				notify(nt.Payload)
			}
		}()
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}
