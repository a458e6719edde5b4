package sqlstore

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/sunlamp/sunlamp"
)

// TestInTxRetried: a transaction the database aborted as busy (a lost deadlock) runs again, three
// times in all; other errors and success are answered at once.
func TestInTxRetried(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, c := range []struct {
		name      string
		failures  int   // how many first runs lose
		fail      error // with what
		wantRuns  int
		wantError bool
	}{
		{"a deadlock, then success", 2, sunlamp.ErrBusy, 3, false},
		{"deadlocks every time", 5, sunlamp.ErrBusy, 3, true},
		{"another error", 5, sunlamp.ErrAppNotFound, 1, true},
		{"success", 0, nil, 1, false},
	} {
		runs := 0
		err := s.inTxRetried(ctx, func(t tx) error {
			runs++
			if runs <= c.failures {
				return c.fail
			}
			return nil
		})
		if runs != c.wantRuns || (err != nil) != c.wantError || (err != nil && !errors.Is(err, c.fail)) {
			t.Errorf("%s: ran %d times, error %v; want %d runs, an error %v", c.name, runs, err, c.wantRuns, c.wantError)
		}
	}
}
