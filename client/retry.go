package client

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// RetryPolicy says which failed attempts are tried again and after how long.
//
// A 429 is always retried: the server did not act on the request. A 5xx is retried except for POST
// (a POST that failed with a 500 may have created something; set RetryPOST to retry those too).
// A request that got no response at all (NetworkError) is retried when its method is idempotent
// (GET, HEAD, PUT, DELETE). Other statuses, 4xx included, are never retried.
type RetryPolicy struct {
	// MaxAttempts is the number of attempts including the first; 1 disables retries.
	MaxAttempts int
	// BaseDelay is the backoff before the first retry; it doubles with each further attempt.
	BaseDelay time.Duration
	// MaxDelay caps a computed backoff.
	MaxDelay time.Duration
	// MaxRetryAfter caps the wait a Retry-After header asks for.
	MaxRetryAfter time.Duration
	// RetryPOST retries POST requests on 5xx as well.
	RetryPOST bool
}

// DefaultRetryPolicy returns 6 attempts with a backoff from 250ms up to 20s (full jitter), and
// Retry-After honoured up to 60s.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxAttempts: 6, BaseDelay: 250 * time.Millisecond, MaxDelay: 20 * time.Second, MaxRetryAfter: 60 * time.Second}
}

// NoRetry is a policy that never retries.
func NoRetry() RetryPolicy { return RetryPolicy{MaxAttempts: 1} }

// decide returns whether the attempt-th attempt, which got resp or err, is retried, and after how long.
func (p RetryPolicy) decide(method string, attempt int, resp *Response, err error) (bool, time.Duration) {
	if attempt >= p.MaxAttempts {
		return false, 0
	}
	switch {
	case err != nil:
		var ne *NetworkError
		if !errors.As(err, &ne) || !idempotent(method) {
			return false, 0
		}
	case resp.Status == http.StatusTooManyRequests:
	case resp.Status >= 500 && resp.Status <= 599:
		if method == http.MethodPost && !p.RetryPOST {
			return false, 0
		}
	default:
		return false, 0
	}
	if resp != nil {
		if ra := retryAfter(resp.Header, time.Now()); ra > 0 {
			if p.MaxRetryAfter > 0 && ra > p.MaxRetryAfter {
				ra = p.MaxRetryAfter
			}
			// A little jitter on top, so that clients told the same instant do not return together.
			return true, ra + time.Duration(rand.Int64N(int64(ra/10)+1))
		}
	}
	return true, p.backoff(attempt)
}

// backoff is "full jitter": a uniform wait between 0 and min(MaxDelay, BaseDelay·2^(attempt-1)).
func (p RetryPolicy) backoff(attempt int) time.Duration {
	d := p.BaseDelay
	for i := 1; i < attempt && d < p.MaxDelay; i++ {
		d *= 2
	}
	if p.MaxDelay > 0 && d > p.MaxDelay {
		d = p.MaxDelay
	}
	if d <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(d)) + 1)
}

func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}

// retryAfter returns the wait a Retry-After header asks for (seconds or an HTTP date), 0 when there is none.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// Pacer spaces out the requests of every client that shares it, so that a rate limit seen by one
// request slows the whole run down instead of each worker hammering on alone. On a 429 it stops new
// requests until the Retry-After has passed (1s when the server gives none) and doubles the gap it
// keeps between request starts; every success shrinks that gap by a sixteenth until it is gone.
// The zero Pacer is not usable; call NewPacer.
type Pacer struct {
	mu        sync.Mutex
	until     time.Time     // no request starts before this
	next      time.Time     // the earliest start of the next request
	gap       time.Duration // kept between request starts
	throttles int64
}

// Pacer limits.
const (
	firstPacerGap    = 20 * time.Millisecond // the gap after a first 429
	minPacerGap      = time.Millisecond      // a smaller gap is dropped
	maxPacerGap      = 5 * time.Second
	defaultThrottled = time.Second
)

// NewPacer returns a pacer that does not slow anything down until a 429 is seen.
func NewPacer() *Pacer { return &Pacer{} }

// wait blocks until the caller may start a request.
func (p *Pacer) wait(ctx context.Context, sleep func(context.Context, time.Duration) error) error {
	p.mu.Lock()
	now := time.Now()
	start := now
	if p.until.After(start) {
		start = p.until
	}
	if p.next.After(start) {
		start = p.next
	}
	p.next = start.Add(p.gap)
	p.mu.Unlock()
	return sleep(ctx, start.Sub(now))
}

// throttled records a 429 whose Retry-After asked for ra (0 when absent).
func (p *Pacer) throttled(ra time.Duration) {
	if ra <= 0 {
		ra = defaultThrottled
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.throttles++
	if u := time.Now().Add(ra); u.After(p.until) {
		p.until = u
	}
	p.gap *= 2
	if p.gap < firstPacerGap {
		p.gap = firstPacerGap
	}
	if p.gap > maxPacerGap {
		p.gap = maxPacerGap
	}
}

// succeeded records a 2xx.
func (p *Pacer) succeeded() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gap == 0 {
		return
	}
	p.gap -= p.gap / 16
	if p.gap < minPacerGap {
		p.gap = 0
	}
}

// Throttled returns how many 429 responses the pacer has seen.
func (p *Pacer) Throttled() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.throttles
}

// Gap returns the gap the pacer currently keeps between request starts.
func (p *Pacer) Gap() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.gap
}
