// Package sunlamp holds the domain of Sunlamp, a self-hosted server that speaks the Sunshine
// Conversations REST API v2: its resources, errors, ids and cursors. It knows nothing of HTTP or SQL;
// the api package speaks the wire format and the sqlstore package keeps the data.
package sunlamp

import "time"

// Version is the version of the sunlamp program, printed by `sunlamp version`.
var Version = "0.1.0-dev"

// Millis returns t as integer Unix milliseconds, the form every time is stored in.
func Millis(t time.Time) int64 { return t.UnixMilli() }

// FromMillis returns the UTC time of integer Unix milliseconds ms.
func FromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// Clock tells the time. Production code uses SystemClock; tests inject their own so that schedules
// (webhook retries, retention) are tested without waiting.
type Clock interface {
	Now() time.Time
}

// SystemClock is the Clock of the machine.
type SystemClock struct{}

// Now returns the current time.
func (SystemClock) Now() time.Time { return time.Now() }
