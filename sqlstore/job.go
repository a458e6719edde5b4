package sqlstore

import (
	"context"
	"sync"
	"time"
)

// job is a goroutine of the store's own (the purger, the media janitor, the key listener): started
// by Open, stopped by Close, woken by the code whose commits give it work. It calls run with a
// context that ends at Close and a channel that receives a value for each wake-up (several wake-ups
// before it looks may arrive as one).
type job struct {
	wakeCh chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// startJob starts run in a goroutine of its own.
func startJob(run func(ctx context.Context, wake <-chan struct{})) *job {
	ctx, cancel := context.WithCancel(context.Background())
	j := &job{wakeCh: make(chan struct{}, 1), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(j.done)
		run(ctx, j.wakeCh)
	}()
	return j
}

// wake asks the job for a round now. It never blocks; a nil job (not started) ignores it.
func (j *job) wake() {
	if j == nil {
		return
	}
	select {
	case j.wakeCh <- struct{}{}:
	default:
	}
}

// stop ends the job and waits for it; a nil job is stopped already.
func (j *job) stop() {
	if j == nil {
		return
	}
	j.once.Do(j.cancel)
	<-j.done
}

// everyOrWoken returns a job's run that calls round at each wake-up, and every period when period is
// not 0, until the job stops.
func everyOrWoken(period time.Duration, round func(ctx context.Context)) func(ctx context.Context, wake <-chan struct{}) {
	return func(ctx context.Context, wake <-chan struct{}) {
		var tick <-chan time.Time
		if period > 0 {
			t := time.NewTicker(period)
			defer t.Stop()
			tick = t.C
		}
		for {
			select {
			case <-ctx.Done():
				return
			case <-wake:
			case <-tick:
			}
			round(ctx)
		}
	}
}
