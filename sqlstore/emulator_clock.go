package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/sunlamp/sunlamp"
)

// The emulator clock's offset lives in the database (migration 0013), so that every server process
// sharing it runs one clock. A process keeps the offset in its sunlamp.VirtualClock (an atomic
// read on each Now, no query); a move is written here first, and the processes sharing a PostgreSQL
// database hear of it through the key-change channel they already listen to (payload "clock"), when
// they read the offset again, and after a lost connection (payload "*").

// ClockOffset returns the emulator clock's stored offset; see sunlamp.ClockStore.
func (s *Store) ClockOffset(ctx context.Context) (time.Duration, error) {
	var ms int64
	if err := s.queryRow(ctx, "SELECT offset_ms FROM emulator_clock WHERE id = 1").Scan(&ms); err != nil {
		return 0, fmt.Errorf("read clock: %w", err)
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// AdvanceClock adds d to the stored offset; see sunlamp.ClockStore.
func (s *Store) AdvanceClock(ctx context.Context, d time.Duration) (time.Duration, error) {
	var ms int64
	err := s.inTx(ctx, func(t tx) error {
		return t.queryRow(ctx, "UPDATE emulator_clock SET offset_ms = offset_ms + ? WHERE id = 1 RETURNING offset_ms", d.Milliseconds()).Scan(&ms)
	})
	if err != nil {
		return 0, fmt.Errorf("advance clock: %w", err)
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// SetClockOffset stores offset d unless it is below the stored one; see sunlamp.ClockStore.
func (s *Store) SetClockOffset(ctx context.Context, d time.Duration) (time.Duration, error) {
	ms := d.Milliseconds()
	err := s.inTx(ctx, func(t tx) error {
		var got int64
		err := t.queryRow(ctx, "UPDATE emulator_clock SET offset_ms = ? WHERE id = 1 AND offset_ms <= ? RETURNING offset_ms", ms, ms).Scan(&got)
		if errors.Is(err, sql.ErrNoRows) {
			return sunlamp.ErrClockBackwards
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("set clock: %w", err)
	}
	return d.Truncate(time.Millisecond), nil
}

// StartEmulatorClock sets clock to the offset stored in the database and keeps it there: when
// another process sharing the database moves the clock (PostgreSQL), clock follows and moved is
// called (nil: nothing is called), so that work that became due runs at once.
func StartEmulatorClock(ctx context.Context, s *Store, clock *sunlamp.VirtualClock, moved func()) error {
	off, err := s.ClockOffset(ctx)
	if err != nil {
		return err
	}
	clock.SetOffset(off)
	s.OnKeyChange(func(what string) {
		if what != "clock" && what != "*" {
			return
		}
		// The notice arrives on the listening goroutine, which must not block: read in another.
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			off, err := s.ClockOffset(ctx)
			if err != nil || !clock.SetOffset(off) {
				return
			}
			if moved != nil {
				moved()
			}
		}()
	})
	return nil
}
