package api

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/sunlamp/sunlamp"
)

// errRateLimited is the answer to a request over the rate limit (Config.RateLimit). The service
// documents no body for its 429s; this is Sunlamp's envelope for them, with Retry-After.
var errRateLimited = &sunlamp.Error{Kind: sunlamp.KindRateLimited, Code: "too_many_requests", Title: "Too many requests, retry later"}

// rateLimiter is a token bucket per key: rate requests a second, and a burst of as many. It runs on
// the system clock (throttling is about real load, not the emulator's virtual time).
type rateLimiter struct {
	rate float64
	mu   sync.Mutex
	keys map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newRateLimiter(perSecond int) *rateLimiter {
	return &rateLimiter{rate: float64(perSecond), keys: map[string]*bucket{}}
}

// take spends a token of keyID's bucket, or says how long until one is there.
func (l *rateLimiter) take(keyID string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.keys[keyID]
	if b == nil {
		if len(l.keys) > 100_000 { // keys are authenticated, so this is a bound that never bites
			clear(l.keys)
		}
		b = &bucket{tokens: l.rate, last: now}
		l.keys[keyID] = b
	}
	b.tokens = math.Min(l.rate, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}

// throttle answers 429 with Retry-After (whole seconds, at least 1) when the request's key is over
// the limit.
func (s *Server) throttle(w http.ResponseWriter, r *http.Request) bool {
	ok, wait := s.limiter.take(principal(r.Context()).ID, time.Now())
	if ok {
		return false
	}
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
	writeJSON(w, http.StatusTooManyRequests, errorBody{Errors: []errorEntry{{errRateLimited.Code, errRateLimited.Title}}})
	return true
}
